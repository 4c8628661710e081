// b2m/io/array.hpp - a named n-dimensional array as weight files hold it (dtype, shape,
// raw little-endian bytes), its .npy encoding in memory, and conversion to float/double.
//
//   io::array a = io::parse_npy(bytes, "w.npz: member '0.weight'");  // validated header
//   std::vector<double> v = a.values<double>("w.npz: tensor '0.weight'");   // C order
//   std::string npy = io::to_npy(a);                                  // .npy file bytes
//
// dtype strings are numpy's descr: "<f4" "<f8" "<f2" "<i8" "<i4" "<i2" "|i1" "|u1" "<u2"
// "<u4" "<u8" "|b1", plus "bf16" (bfloat16, from safetensors). parse_npy checks the magic,
// version (1, 2, 3), the header dictionary, and that the bytes hold exactly
// header + count * itemsize (no allocation is sized from an unchecked number).
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "b2m/brain/npy.hpp"
#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::io {

/// One array: dtype (numpy descr), shape, and its elements' bytes in C order.
struct array {
    std::string name;               ///< the array's name in its file (npz member, safetensors key)
    std::string dtype;              ///< numpy descr, e.g. "<f4", or "bf16" (see the head of this file)
    std::vector<std::size_t> shape; ///< the array's shape (empty: a scalar)
    std::string bytes;              ///< count() elements of dtype, little-endian, C order

    /// The number of elements (the product of shape).
    std::size_t count() const {
        std::size_t n = 1;
        for (auto s : shape) n *= s;
        return n;
    }
    /// The elements converted to T, C order. Throws data_error naming `what` for a dtype
    /// b2m does not convert.
    template <real T>
    std::vector<T> values(const std::string& what) const;
};

/// Bytes per element of a dtype, or 0 when b2m does not know it.
inline std::size_t dtype_size(const std::string& d) {
    if (d == "bf16") return 2;
    if (d == "<f2") return 2;
    return brain::detail::npy_itemsize(d);
}

namespace detail {
inline float half_to_float(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
    if (exp == 0) {
        if (mant == 0) bits = sign;
        else {  // subnormal: normalise
            int e = -1;
            do {
                ++e;
                mant <<= 1;
            } while ((mant & 0x400u) == 0);
            bits = sign | (std::uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}
template <class S, class T>
void convert_from(const std::string& bytes, std::vector<T>& out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
        S v;
        std::memcpy(&v, bytes.data() + i * sizeof(S), sizeof(S));
        out[i] = T(v);
    }
}
} // namespace detail

template <real T>
std::vector<T> array::values(const std::string& what) const {
    const std::size_t n = count();
    if (bytes.size() != n * dtype_size(dtype) || dtype_size(dtype) == 0)
        throw data_error(what + ": " + std::to_string(bytes.size()) + " bytes do not hold " + std::to_string(n) +
                         " elements of dtype '" + dtype + "'");
    std::vector<T> out(n);
    if (dtype == "<f4") detail::convert_from<float>(bytes, out);
    else if (dtype == "<f8") detail::convert_from<double>(bytes, out);
    else if (dtype == "<i8") detail::convert_from<std::int64_t>(bytes, out);
    else if (dtype == "<i4") detail::convert_from<std::int32_t>(bytes, out);
    else if (dtype == "<i2") detail::convert_from<std::int16_t>(bytes, out);
    else if (dtype == "|i1") detail::convert_from<std::int8_t>(bytes, out);
    else if (dtype == "|u1" || dtype == "|b1") detail::convert_from<std::uint8_t>(bytes, out);
    else if (dtype == "<u2") detail::convert_from<std::uint16_t>(bytes, out);
    else if (dtype == "<u4") detail::convert_from<std::uint32_t>(bytes, out);
    else if (dtype == "<u8") detail::convert_from<std::uint64_t>(bytes, out);
    else if (dtype == "<f2" || dtype == "bf16") {
        for (std::size_t i = 0; i < n; ++i) {
            std::uint16_t h;
            std::memcpy(&h, bytes.data() + 2 * i, 2);
            if (dtype == "<f2") out[i] = T(detail::half_to_float(h));
            else {
                const std::uint32_t b = std::uint32_t(h) << 16;
                float f;
                std::memcpy(&f, &b, 4);
                out[i] = T(f);
            }
        }
    } else
        throw data_error(what + ": unsupported dtype '" + dtype + "'");
    return out;
}

/// Reorders a Fortran-order buffer of element size `item` and shape `shape` to C order.
inline std::string fortran_to_c(const std::string& src, const std::vector<std::size_t>& shape, std::size_t item) {
    std::string dst(src.size(), '\0');
    const std::size_t r = shape.size();
    std::size_t n = 1;
    for (auto s : shape) n *= s;
    std::vector<std::size_t> idx(r, 0), cstride(r, 1), fstride(r, 1);
    for (std::size_t k = r; k-- > 1;) cstride[k - 1] = cstride[k] * shape[k];
    for (std::size_t k = 1; k < r; ++k) fstride[k] = fstride[k - 1] * shape[k - 1];
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t c = 0, f = 0;
        for (std::size_t k = 0; k < r; ++k) {
            c += idx[k] * cstride[k];
            f += idx[k] * fstride[k];
        }
        std::memcpy(dst.data() + c * item, src.data() + f * item, item);
        for (std::size_t k = r; k-- > 0;) {
            if (++idx[k] < shape[k]) break;
            idx[k] = 0;
        }
    }
    return dst;
}

/// Parses the bytes of a .npy file held in memory. `what` names it in errors (e.g.
/// "w.npz: member 'x.npy'"). Returns the array in C order (a Fortran-order array is
/// reordered). Throws io_error (corrupt, truncated, oversized) or data_error (dtype).
inline array parse_npy(const std::string& b, const std::string& what) {
    if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0)
        throw io_error(what + ": not a .npy array (bad magic bytes; " + std::to_string(b.size()) + " bytes)");
    const auto u = [&](std::size_t i) { return std::size_t(static_cast<unsigned char>(b[i])); };
    const int version = int(u(6));
    std::size_t hlen = 0, prefix = 0;
    if (version == 1) {
        hlen = u(8) | (u(9) << 8);
        prefix = 10;
    } else if (version == 2 || version == 3) {
        if (b.size() < 12) throw io_error(what + ": truncated .npy header");
        hlen = u(8) | (u(9) << 8) | (u(10) << 16) | (u(11) << 24);
        prefix = 12;
    } else {
        throw io_error(what + ": unsupported .npy format version " + std::to_string(version));
    }
    if (prefix + hlen > b.size())
        throw io_error(what + ": truncated .npy: header claims " + std::to_string(hlen) + " bytes but " +
                       std::to_string(b.size()) + " are present");
    const std::string text = b.substr(prefix, hlen);
    const auto open = text.find('{'), close = text.rfind('}');
    if (open == std::string::npos || close == std::string::npos || close < open)
        throw io_error(what + ": corrupt .npy header (no {...} dictionary)");
    const std::string dict = text.substr(open, close - open + 1);
    array a;
    std::string descr = brain::detail::npy_value(dict, "descr", what);
    if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"') || descr.back() != descr.front())
        throw io_error(what + ": corrupt .npy header: descr " + descr + " is not a quoted string");
    a.dtype = descr.substr(1, descr.size() - 2);
    if (a.dtype.size() == 3 && a.dtype[0] == '=') a.dtype[0] = '<';
    if (a.dtype == "<u1" || a.dtype == "<i1" || a.dtype == "<b1") a.dtype[0] = '|';
    const std::size_t item = dtype_size(a.dtype);
    if (item == 0)
        throw data_error(what + ": unsupported dtype '" + a.dtype +
                         "' (b2m reads <f2 <f4 <f8 |u1 |i1 <i2 <i4 <i8 <u2 <u4 <u8 |b1; big-endian is not supported)");
    const std::string fo = brain::detail::npy_value(dict, "fortran_order", what);
    if (fo != "True" && fo != "False") throw io_error(what + ": corrupt .npy header: fortran_order is '" + fo + "'");
    const std::string sh = brain::detail::npy_value(dict, "shape", what);
    if (sh.size() < 2 || sh.front() != '(' || sh.back() != ')')
        throw io_error(what + ": corrupt .npy header: shape '" + sh + "' is not a tuple");
    const std::string body = sh.substr(1, sh.size() - 2);
    for (std::size_t pos = 0; pos < body.size();) {
        auto comma = body.find(',', pos);
        if (comma == std::string::npos) comma = body.size();
        const std::string it = brain::detail::trim(body.substr(pos, comma - pos));
        pos = comma + 1;
        if (it.empty()) continue;
        char* end = nullptr;
        errno = 0;
        const unsigned long long v = std::strtoull(it.c_str(), &end, 10);
        if (errno != 0 || end == it.c_str() || *end != '\0' || it[0] == '-')
            throw io_error(what + ": corrupt .npy header: shape entry '" + it + "'");
        a.shape.push_back(std::size_t(v));
    }
    const std::size_t avail = b.size() - prefix - hlen;
    std::size_t bytes = item;
    for (auto s : a.shape) {
        if (s != 0 && bytes > avail / s + 1)
            throw io_error(what + ": truncated .npy: shape " + shape_string(a.shape) + " needs more than the " +
                           std::to_string(avail) + " data bytes present");
        bytes *= s;
    }
    if (bytes != avail)
        throw io_error(what + ": " + (bytes > avail ? "truncated" : "oversized") + " .npy: shape " +
                       shape_string(a.shape) + " of " + a.dtype + " needs " + std::to_string(bytes) +
                       " data bytes but " + std::to_string(avail) + " are present");
    a.bytes = b.substr(prefix + hlen);
    if (fo == "True" && a.shape.size() > 1) a.bytes = fortran_to_c(a.bytes, a.shape, item);
    return a;
}

/// The .npy (version 1.0, C order) encoding of a.
inline std::string to_npy(const array& a) {
    std::string shape = "(";
    for (std::size_t i = 0; i < a.shape.size(); ++i) shape += std::to_string(a.shape[i]) + (a.shape.size() == 1 ? "," : i + 1 < a.shape.size() ? ", " : "");
    shape += ")";
    if (a.dtype == "bf16") throw data_error("io::to_npy: '" + a.name + "': numpy has no bfloat16 dtype");
    std::string h = "{'descr': '" + a.dtype + "', 'fortran_order': False, 'shape': " + shape + ", }";
    const std::size_t total = 10 + h.size() + 1;
    h.append((64 - total % 64) % 64, ' ');
    h += '\n';
    std::string out = "\x93NUMPY";
    out.push_back(char(1));
    out.push_back(char(0));
    out.push_back(char(h.size() & 0xff));
    out.push_back(char((h.size() >> 8) & 0xff));
    out += h;
    out += a.bytes;
    return out;
}

/// An array named `name` holding `values` (C order) with dtype float32 or float64 as given.
template <class T>
array make_array(std::string name, const std::vector<std::size_t>& shape, const std::vector<T>& values) {
    array a;
    a.name = std::move(name);
    a.shape = shape;
    if constexpr (std::is_same_v<T, float>) a.dtype = "<f4";
    else if constexpr (std::is_same_v<T, double>) a.dtype = "<f8";
    else if constexpr (std::is_same_v<T, std::int64_t>) a.dtype = "<i8";
    else static_assert(sizeof(T) == 0, "io::make_array: float, double or int64_t");
    a.bytes.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
    return a;
}

} // namespace b2m::io
