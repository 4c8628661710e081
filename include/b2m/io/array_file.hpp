// b2m/io/array_file.hpp - any .npy numpy writes, as numbers (double) or text.
//
// brain/npy.hpp reads the little-endian numeric dtypes straight into a typed tensor. This
// reader takes what scientists' files hold besides: big-endian data ('>f8', '>i4', ...),
// float16 ('<f2'), and strings ('<U', unicode; '|S', bytes) such as class names. It reads
// a file or a .npy held in memory (a member of an .npz archive), checks the declared size
// against the bytes present before allocating, and names the source in every error:
//   "<source>: unsupported .npy dtype '<c16' (complex numbers)".
// Fortran-order arrays are returned in C order. No dependency beyond the standard library.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::io {

/// An array read from a file, in C order: numbers (any numeric dtype, as double) or text.
struct array_data {
    std::string source;               ///< the file (or "archive.npz:member") named in errors
    std::string dtype;                ///< the file's dtype, e.g. ">f8", "<U5"
    std::vector<std::size_t> shape;   ///< the array's shape (empty: a scalar)
    std::vector<double> values;       ///< numeric dtypes (bool as 0/1)
    std::vector<std::string> text;    ///< string dtypes, UTF-8, trailing NULs removed
    /// Whether the array holds strings (then text, not values, has the elements).
    bool is_text() const { return !text.empty() || (dtype.size() > 1 && (dtype[1] == 'U' || dtype[1] == 'S')); }
    /// The number of elements (the product of shape).
    std::size_t count() const {
        std::size_t n = 1;
        for (auto s : shape) n *= s;
        return n;
    }
};

namespace detail {

inline std::string npy_trim(std::string s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

/// The text of key's value in a .npy header dictionary ("'descr': '<f4', ...").
inline std::string npy_dict_value(const std::string& dict, const std::string& key, const std::string& source) {
    std::size_t k = dict.find("'" + key + "'");
    if (k == std::string::npos) k = dict.find("\"" + key + "\"");
    if (k == std::string::npos) throw io_error(source + ": corrupt .npy header: no '" + key + "' in " + dict);
    std::size_t p = dict.find(':', k);
    if (p == std::string::npos) throw io_error(source + ": corrupt .npy header near '" + key + "'");
    ++p;
    while (p < dict.size() && dict[p] == ' ') ++p;
    std::size_t e = p;
    if (p < dict.size() && dict[p] == '(') e = dict.find(')', p) + 1;
    else if (p < dict.size() && (dict[p] == '\'' || dict[p] == '"')) e = dict.find(dict[p], p + 1) + 1;
    else
        while (e < dict.size() && dict[e] != ',' && dict[e] != '}') ++e;
    if (e == 0 || e > dict.size()) throw io_error(source + ": corrupt .npy header near '" + key + "'");
    return npy_trim(dict.substr(p, e - p));
}

/// IEEE 754 half -> double (subnormals, infinities and NaN included).
inline double half_to_double(std::uint16_t h) {
    const int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    double v;
    if (exp == 0) v = std::ldexp(double(frac), -24);
    else if (exp == 31) v = frac ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
    else v = std::ldexp(double(frac | 0x400), exp - 25);
    return sign ? -v : v;
}

inline void append_utf8(std::string& s, std::uint32_t c) {
    if (c < 0x80) s += char(c);
    else if (c < 0x800) s += char(0xc0 | (c >> 6)), s += char(0x80 | (c & 0x3f));
    else if (c < 0x10000) s += char(0xe0 | (c >> 12)), s += char(0x80 | ((c >> 6) & 0x3f)), s += char(0x80 | (c & 0x3f));
    else
        s += char(0xf0 | (c >> 18)), s += char(0x80 | ((c >> 12) & 0x3f)), s += char(0x80 | ((c >> 6) & 0x3f)),
            s += char(0x80 | (c & 0x3f));
}

/// What a dtype string means: kind ('f', 'i', 'u', 'b', 'U', 'S'), bytes per item,
/// big-endian or not. io_error naming source for anything else.
struct npy_dtype {
    char kind = 0;
    std::size_t itemsize = 0;
    bool big_endian = false;
};

inline npy_dtype parse_npy_dtype(const std::string& d, const std::string& source) {
    const std::string supported =
        " (b2m reads float16/32/64, (u)int8..64 and bool in either byte order, and strings '<U'/'|S')";
    if (d.size() < 3) throw data_error(source + ": unsupported .npy dtype '" + d + "'" + supported);
    npy_dtype t;
    const char order = d[0];
    if (order != '<' && order != '>' && order != '|' && order != '=')
        throw data_error(source + ": unsupported .npy dtype '" + d + "'" + supported);
    t.big_endian = order == '>';
    t.kind = d[1];
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(d.c_str() + 2, &end, 10);
    if (errno || *end != '\0' || n == 0 || n > (1ull << 20))
        throw data_error(source + ": unsupported .npy dtype '" + d + "'" + supported);
    switch (t.kind) {
    case 'f':
        if (n != 2 && n != 4 && n != 8) throw data_error(source + ": unsupported .npy dtype '" + d + "' (float of " + std::to_string(n) + " bytes)" + supported);
        t.itemsize = n;
        break;
    case 'i':
    case 'u':
        if (n != 1 && n != 2 && n != 4 && n != 8) throw data_error(source + ": unsupported .npy dtype '" + d + "'" + supported);
        t.itemsize = n;
        break;
    case 'b':
        if (n != 1) throw data_error(source + ": unsupported .npy dtype '" + d + "'" + supported);
        t.itemsize = 1;
        break;
    case 'U': t.itemsize = 4 * n; break;
    case 'S': t.itemsize = n; break;
    case 'c': throw data_error(source + ": unsupported .npy dtype '" + d + "' (complex numbers)" + supported);
    case 'O':
        throw data_error(source + ": .npy holds Python objects (dtype 'O', pickled); save a numeric or string array instead");
    default: throw data_error(source + ": unsupported .npy dtype '" + d + "'" + supported);
    }
    return t;
}

template <class U>
U load_uint(const unsigned char* p, std::size_t n, bool big) {
    U v = 0;
    for (std::size_t i = 0; i < n; ++i) v = U(v | (U(p[big ? n - 1 - i : i]) << (8 * i)));
    return v;
}

inline double decode_number(const unsigned char* p, const npy_dtype& t) {
    switch (t.kind) {
    case 'f':
        if (t.itemsize == 2) return half_to_double(load_uint<std::uint16_t>(p, 2, t.big_endian));
        if (t.itemsize == 4) {
            const auto u = load_uint<std::uint32_t>(p, 4, t.big_endian);
            float f;
            std::memcpy(&f, &u, 4);
            return f;
        } else {
            const auto u = load_uint<std::uint64_t>(p, 8, t.big_endian);
            double f;
            std::memcpy(&f, &u, 8);
            return f;
        }
    case 'u': return double(load_uint<std::uint64_t>(p, t.itemsize, t.big_endian));
    case 'i': {
        std::uint64_t u = load_uint<std::uint64_t>(p, t.itemsize, t.big_endian);
        if (t.itemsize < 8 && (u >> (8 * t.itemsize - 1)) & 1) u |= ~std::uint64_t(0) << (8 * t.itemsize);  // sign-extend
        return double(std::int64_t(u));
    }
    default: return *p != 0 ? 1.0 : 0.0;  // 'b'
    }
}

inline std::string decode_text(const unsigned char* p, const npy_dtype& t) {
    std::string s;
    if (t.kind == 'S') {
        s.assign(reinterpret_cast<const char*>(p), t.itemsize);
    } else {
        for (std::size_t i = 0; i < t.itemsize; i += 4) append_utf8(s, load_uint<std::uint32_t>(p + i, 4, t.big_endian));
    }
    while (!s.empty() && s.back() == '\0') s.pop_back();
    return s;
}

/// Parses a .npy header from its first bytes. `available` is the size of the whole file or
/// buffer; the declared array must fit it exactly (checked before any allocation).
/// Returns the data offset; fills out's dtype and shape.
inline std::size_t parse_npy_header(const unsigned char* pre, std::size_t pre_size, std::size_t available,
                                    const std::string& source, array_data& out, bool& fortran, npy_dtype& t,
                                    const std::string& header_text) {
    (void)pre_size;
    const std::string& text = header_text;
    const auto open = text.find('{'), close = text.rfind('}');
    if (open == std::string::npos || close == std::string::npos || close < open)
        throw io_error(source + ": corrupt .npy header (no {...} dictionary)");
    const std::string dict = text.substr(open, close - open + 1);
    std::string descr = npy_dict_value(dict, "descr", source);
    if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"') || descr.back() != descr.front())
        throw io_error(source + ": corrupt .npy header: descr " + descr + " is not a quoted string (structured dtypes are not supported)");
    out.dtype = descr.substr(1, descr.size() - 2);
    t = parse_npy_dtype(out.dtype, source);
    const std::string fo = npy_dict_value(dict, "fortran_order", source);
    if (fo == "True") fortran = true;
    else if (fo == "False") fortran = false;
    else throw io_error(source + ": corrupt .npy header: fortran_order is '" + fo + "'");
    const std::string sh = npy_dict_value(dict, "shape", source);
    if (sh.size() < 2 || sh.front() != '(' || sh.back() != ')')
        throw io_error(source + ": corrupt .npy header: shape '" + sh + "' is not a tuple");
    const std::string body = sh.substr(1, sh.size() - 2);
    std::size_t pos = 0;
    while (pos < body.size()) {
        auto comma = body.find(',', pos);
        if (comma == std::string::npos) comma = body.size();
        const std::string item = npy_trim(body.substr(pos, comma - pos));
        pos = comma + 1;
        if (item.empty()) continue;
        char* end = nullptr;
        errno = 0;
        const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
        if (errno != 0 || end == item.c_str() || *end != '\0' || item[0] == '-')
            throw io_error(source + ": corrupt .npy header: shape entry '" + item + "' in " + sh);
        out.shape.push_back(std::size_t(v));
    }
    const std::size_t offset = (pre[6] == 1 ? 10 : 12) + text.size();
    std::size_t bytes = t.itemsize;
    const std::size_t room = available > offset ? available - offset : 0;
    for (auto s : out.shape) {
        if (s != 0 && bytes > room / s + 1)
            throw io_error(source + ": truncated .npy: shape " + shape_string(out.shape) + " of " + out.dtype +
                           " needs more than the " + std::to_string(available) + " bytes present");
        bytes *= s;
    }
    if (offset + bytes != available)
        throw io_error(source + ": " + (offset + bytes > available ? "truncated" : "oversized") + " .npy: shape " +
                       shape_string(out.shape) + " of " + out.dtype + " needs " + std::to_string(offset + bytes) +
                       " bytes but there are " + std::to_string(available));
    return offset;
}

/// Header length and prefix size from the first 12 bytes (magic checked).
inline std::size_t npy_prefix(const unsigned char* pre, std::size_t got, std::size_t available, const std::string& source,
                              std::size_t& header_len) {
    if (got < 10 || std::memcmp(pre, "\x93NUMPY", 6) != 0)
        throw io_error(source + ": not a .npy file (bad magic bytes; " + std::to_string(available) + " bytes)");
    if (pre[6] == 1) {
        header_len = std::size_t(pre[8]) | (std::size_t(pre[9]) << 8);
        return 10;
    }
    if ((pre[6] == 2 || pre[6] == 3) && got >= 12) {
        header_len = std::size_t(pre[8]) | (std::size_t(pre[9]) << 8) | (std::size_t(pre[10]) << 16) | (std::size_t(pre[11]) << 24);
        return 12;
    }
    throw io_error(source + ": unsupported .npy format version " + std::to_string(int(pre[6])) + "." +
                   std::to_string(int(pre[7])) + " (b2m reads 1.0, 2.0, 3.0)");
}

/// Decodes count items of raw data (file order) into out (C order).
inline void decode_npy_data(const unsigned char* raw, const npy_dtype& t, bool fortran, array_data& out) {
    const std::size_t n = out.count(), rank = out.shape.size();
    // src(flat C index): the item's position in the file.
    std::vector<std::size_t> stride(rank, 1), idx(rank, 0);
    if (fortran)
        for (std::size_t a = 1; a < rank; ++a) stride[a] = stride[a - 1] * out.shape[a - 1];
    const bool text = t.kind == 'U' || t.kind == 'S';
    if (text) out.text.resize(n);
    else out.values.resize(n);
    for (std::size_t flat = 0; flat < n; ++flat) {
        std::size_t src = flat;
        if (fortran) {
            src = 0;
            for (std::size_t a = 0; a < rank; ++a) src += idx[a] * stride[a];
            for (std::size_t a = rank; a-- > 0;) {
                if (++idx[a] < out.shape[a]) break;
                idx[a] = 0;
            }
        }
        const unsigned char* p = raw + src * t.itemsize;
        if (text) out.text[flat] = decode_text(p, t);
        else out.values[flat] = decode_number(p, t);
    }
}

} // namespace detail

/// Parses a whole .npy held in memory. `source` names it in errors.
/// ensures: shape and dtype as declared; the declared size equals bytes.size().
inline array_data parse_npy_any(std::string_view bytes, const std::string& source) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t hlen = 0;
    const std::size_t prefix = detail::npy_prefix(p, bytes.size(), bytes.size(), source, hlen);
    if (prefix + hlen > bytes.size()) throw io_error(source + ": truncated .npy header");
    array_data out;
    out.source = source;
    bool fortran = false;
    detail::npy_dtype t;
    const std::size_t offset = detail::parse_npy_header(p, prefix, bytes.size(), source, out, fortran, t,
                                                        std::string(bytes.substr(prefix, hlen)));
    detail::decode_npy_data(p + offset, t, fortran, out);
    return out;
}

/// Reads a .npy file (any byte order, float16, strings). The header is read and the
/// declared size compared with the file size before the data buffer is allocated.
inline array_data read_npy_any(const std::string& path) {
    std::error_code ec;
    const auto fsize = std::size_t(std::filesystem::file_size(path, ec));
    if (ec) throw io_error(path + ": cannot open .npy file (" + ec.message() + ")");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(path + ": cannot open .npy file for reading");
    unsigned char pre[12] = {};
    in.read(reinterpret_cast<char*>(pre), 12);
    std::size_t hlen = 0;
    const std::size_t prefix = detail::npy_prefix(pre, std::size_t(in.gcount()), fsize, path, hlen);
    if (prefix + hlen > fsize)
        throw io_error(path + ": truncated .npy file: header claims " + std::to_string(hlen) + " bytes but the file has " +
                       std::to_string(fsize));
    std::string header(hlen, '\0');
    in.seekg(std::streamoff(prefix));
    in.read(header.data(), std::streamsize(hlen));
    if (std::size_t(in.gcount()) != hlen) throw io_error(path + ": truncated .npy header");
    array_data out;
    out.source = path;
    bool fortran = false;
    detail::npy_dtype t;
    const std::size_t offset = detail::parse_npy_header(pre, prefix, fsize, path, out, fortran, t, header);
    std::vector<unsigned char> raw(fsize - offset);
    in.read(reinterpret_cast<char*>(raw.data()), std::streamsize(raw.size()));
    if (std::size_t(in.gcount()) != raw.size()) throw io_error(path + ": truncated .npy data (read failed)");
    detail::decode_npy_data(raw.data(), t, fortran, out);
    return out;
}

} // namespace b2m::io
