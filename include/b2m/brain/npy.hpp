// b2m/brain/npy.hpp - .npy and CSV files, validated before a byte of data is trusted.
//
// load_npy<T, N>(path) parses the header itself (magic, version 1/2/3, descr, fortran_order,
// shape) and checks the file size against shape x itemsize before reading, so a truncated
// or corrupt file or an unsupported dtype is an io_error / data_error naming the file and
// the problem, never a crash or garbage. The data are then viewed with xt::adapt in the
// file's layout (C or Fortran) and converted with xt::cast to the requested T, which is
// what xt::load_npy cannot do (it requires the exact dtype, rejects version 3 and does
// not check the size). save_npy writes with xt::dump_npy to a temporary file in the same
// folder and renames it over the target (atomic on POSIX).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xnpy.hpp>

#include "b2m/core/atomic_write.hpp"
#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::brain {

/// What a .npy header says. data_offset is where the array bytes start.
struct npy_header {
    int version = 1;               ///< the format's major version (1, 2 or 3)
    std::string descr;             ///< e.g. "<f4"
    bool fortran_order = false;    ///< column-major data
    std::vector<std::size_t> shape; ///< the array's shape (empty: a scalar)
    std::size_t itemsize = 0;      ///< bytes per element
    std::size_t data_offset = 0;   ///< byte offset of the data in the file
    /// The number of elements (the product of shape).
    std::size_t count() const {
        std::size_t n = 1;
        for (auto s : shape) n *= s;
        return n;
    }
};

namespace detail {

inline std::size_t npy_itemsize(const std::string& descr) {
    static const char* ok[] = {"<f4", "<f8", "|u1", "|i1", "<i2", "<i4", "<i8", "<u2", "<u4", "<u8", "|b1"};
    for (const char* d : ok)
        if (descr == d) return std::size_t(descr[2] - '0');
    return 0;
}

inline std::string trim(std::string s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

/// The text after 'key': up to the next top-level ',' or '}' (tuples kept whole).
inline std::string npy_value(const std::string& h, const std::string& key, const std::string& file) {
    const auto k = h.find("'" + key + "'");
    if (k == std::string::npos) throw io_error(file + ": corrupt .npy header: no '" + key + "' key in " + h);
    auto c = h.find(':', k);
    if (c == std::string::npos) throw io_error(file + ": corrupt .npy header: no ':' after '" + key + "'");
    ++c;
    int depth = 0;
    std::size_t e = c;
    for (; e < h.size(); ++e) {
        if (h[e] == '(') ++depth;
        else if (h[e] == ')') --depth;
        else if ((h[e] == ',' || h[e] == '}') && depth == 0) break;
    }
    return trim(h.substr(c, e - c));
}

} // namespace detail

/// Reads and validates the header of `path`. Guarantees: the dtype is one b2m converts
/// (<f4 <f8 |u1 |i1 <i2 <i4 <i8 <u2 <u4 <u8 |b1), the shape parses, and the file holds
/// exactly header + count() * itemsize bytes. Throws io_error (missing, truncated, corrupt)
/// or data_error (unsupported dtype), each naming the file.
inline npy_header read_npy_header(const std::string& path) {
    std::error_code ec;
    const auto fsize = std::filesystem::file_size(path, ec);
    if (ec) throw io_error(path + ": cannot open .npy file (" + ec.message() + ")");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(path + ": cannot open .npy file for reading");
    unsigned char pre[10] = {};
    in.read(reinterpret_cast<char*>(pre), 8);
    if (in.gcount() < 8 || std::memcmp(pre, "\x93NUMPY", 6) != 0)
        throw io_error(path + ": not a .npy file (bad magic bytes; file has " + std::to_string(fsize) + " bytes)");
    npy_header h;
    h.version = pre[6];
    std::size_t hlen = 0, prefix = 0;
    if (h.version == 1) {
        unsigned char l[2] = {};
        in.read(reinterpret_cast<char*>(l), 2);
        if (in.gcount() < 2) throw io_error(path + ": truncated .npy header");
        hlen = std::size_t(l[0]) | (std::size_t(l[1]) << 8);
        prefix = 10;
    } else if (h.version == 2 || h.version == 3) {
        unsigned char l[4] = {};
        in.read(reinterpret_cast<char*>(l), 4);
        if (in.gcount() < 4) throw io_error(path + ": truncated .npy header");
        hlen = std::size_t(l[0]) | (std::size_t(l[1]) << 8) | (std::size_t(l[2]) << 16) | (std::size_t(l[3]) << 24);
        prefix = 12;
    } else {
        throw io_error(path + ": unsupported .npy format version " + std::to_string(int(pre[6])) + "." +
                       std::to_string(int(pre[7])) + " (b2m reads 1.0, 2.0, 3.0)");
    }
    if (prefix + hlen > fsize)
        throw io_error(path + ": truncated .npy file: header claims " + std::to_string(hlen) + " bytes but the file has " +
                       std::to_string(fsize));
    std::string text(hlen, '\0');
    in.read(text.data(), std::streamsize(hlen));
    if (std::size_t(in.gcount()) != hlen) throw io_error(path + ": truncated .npy header");
    const auto open = text.find('{'), close = text.rfind('}');
    if (open == std::string::npos || close == std::string::npos || close < open)
        throw io_error(path + ": corrupt .npy header (no {...} dictionary): " + detail::trim(text));
    const std::string dict = text.substr(open, close - open + 1);

    std::string descr = detail::npy_value(dict, "descr", path);
    if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"') || descr.back() != descr.front())
        throw io_error(path + ": corrupt .npy header: descr " + descr + " is not a quoted string");
    h.descr = descr.substr(1, descr.size() - 2);
    if (h.descr == "=f4" || h.descr == "=f8") h.descr[0] = '<';  // native = little-endian here
    h.itemsize = detail::npy_itemsize(h.descr);
    if (h.itemsize == 0)
        throw data_error(path + ": unsupported .npy dtype '" + h.descr +
                         "' (b2m reads <f4 <f8 |u1 |i1 <i2 <i4 <i8 <u2 <u4 <u8 |b1)");

    const std::string fo = detail::npy_value(dict, "fortran_order", path);
    if (fo == "True") h.fortran_order = true;
    else if (fo == "False") h.fortran_order = false;
    else throw io_error(path + ": corrupt .npy header: fortran_order is '" + fo + "'");

    const std::string sh = detail::npy_value(dict, "shape", path);
    if (sh.size() < 2 || sh.front() != '(' || sh.back() != ')')
        throw io_error(path + ": corrupt .npy header: shape '" + sh + "' is not a tuple");
    std::string body = sh.substr(1, sh.size() - 2);
    std::size_t pos = 0;
    while (pos < body.size()) {
        auto comma = body.find(',', pos);
        if (comma == std::string::npos) comma = body.size();
        const std::string item = detail::trim(body.substr(pos, comma - pos));
        pos = comma + 1;
        if (item.empty()) continue;
        char* end = nullptr;
        errno = 0;
        const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
        if (errno != 0 || end == item.c_str() || *end != '\0' || item[0] == '-')
            throw io_error(path + ": corrupt .npy header: shape entry '" + item + "' in " + sh);
        h.shape.push_back(std::size_t(v));
    }
    h.data_offset = prefix + hlen;
    // Guard the size product against overflow before comparing with the file size. An
    // array with a zero dimension holds no bytes whatever its other dimensions are.
    const bool empty = std::find(h.shape.begin(), h.shape.end(), std::size_t(0)) != h.shape.end();
    std::size_t bytes = empty ? 0 : h.itemsize;
    for (auto s : h.shape) {
        if (empty) break;
        if (bytes > fsize / s + 1)
            throw io_error(path + ": truncated .npy file: shape " + shape_string(h.shape) + " needs more than the " +
                           std::to_string(fsize) + " bytes present");
        bytes *= s;
    }
    if (h.data_offset + bytes != fsize)
        throw io_error(path + ": " + (h.data_offset + bytes > fsize ? "truncated" : "oversized") +
                       " .npy file: shape " + shape_string(h.shape) + " of " + h.descr + " needs " +
                       std::to_string(h.data_offset + bytes) + " bytes but the file has " + std::to_string(fsize));
    return h;
}

namespace detail {
/// Reads the data of a validated .npy (stream at its data offset) stored as Src into out.
/// A C-order file already holding T is read straight into out's buffer (no second copy:
/// peak memory is the array itself); anything else goes through one buffer of Src.
template <class Src, real T, std::size_t N>
void npy_read(std::ifstream& in, const npy_header& h, const std::string& path, tensor<T, N>& out) {
    std::array<std::size_t, N> shape{};
    std::copy(h.shape.begin(), h.shape.end(), shape.begin());
    auto read_into = [&](void* dst, std::size_t bytes) {
        in.read(static_cast<char*>(dst), std::streamsize(bytes));
        if (std::size_t(in.gcount()) != bytes) throw io_error(path + ": truncated .npy data (read failed)");
    };
    if constexpr (std::is_same_v<Src, T>) {
        if (!h.fortran_order) {
            out = tensor<T, N>::from_shape(shape);
            read_into(out.data(), out.size() * sizeof(T));
            return;
        }
    }
    std::vector<Src> buf(h.count());
    read_into(buf.data(), buf.size() * sizeof(Src));
    if (h.fortran_order)
        out = xt::cast<T>(xt::adapt<xt::layout_type::column_major>(buf.data(), buf.size(), xt::no_ownership(), shape));
    else
        out = xt::cast<T>(xt::adapt<xt::layout_type::row_major>(buf.data(), buf.size(), xt::no_ownership(), shape));
}
} // namespace detail

/// Loads an N-dimensional .npy as a row-major tensor<T, N>, converting any supported dtype
/// (bool -> 0/1) and either memory order. Requires: the file's rank is N (else shape_error
/// naming the file and its shape). Does not check finiteness (see require_finite).
template <real T, std::size_t N>
tensor<T, N> load_npy(const std::string& path) {
    const npy_header h = read_npy_header(path);
    if (h.shape.size() != N)
        throw shape_error(path + ": .npy array has shape " + shape_string(h.shape) + " (rank " +
                          std::to_string(h.shape.size()) + ") but rank " + std::to_string(N) + " was requested");
    std::ifstream in(path, std::ios::binary);
    in.seekg(std::streamoff(h.data_offset));
    tensor<T, N> out;
    const std::string& d = h.descr;
    if (d == "<f4") detail::npy_read<float>(in, h, path, out);
    else if (d == "<f8") detail::npy_read<double>(in, h, path, out);
    else if (d == "|u1" || d == "|b1") detail::npy_read<std::uint8_t>(in, h, path, out);
    else if (d == "|i1") detail::npy_read<std::int8_t>(in, h, path, out);
    else if (d == "<i2") detail::npy_read<std::int16_t>(in, h, path, out);
    else if (d == "<i4") detail::npy_read<std::int32_t>(in, h, path, out);
    else if (d == "<i8") detail::npy_read<std::int64_t>(in, h, path, out);
    else if (d == "<u2") detail::npy_read<std::uint16_t>(in, h, path, out);
    else if (d == "<u4") detail::npy_read<std::uint32_t>(in, h, path, out);
    else detail::npy_read<std::uint64_t>(in, h, path, out);
    if (d == "|b1")
        for (auto& v : out) v = v != T(0) ? T(1) : T(0);
    return out;
}

/// Writes `t` as .npy (C order, dtype of its value type) atomically (core/atomic_write.hpp:
/// a temporary file, fsync, rename). Throws io_error naming the path if writing fails; the
/// previous file at `path`, if any, is then untouched.
template <class E>
void save_npy(const std::string& path, const E& t) {
    std::string bytes;
    try {
        bytes = xt::dump_npy(t);
    } catch (const std::exception& e) {
        throw io_error(path + ": cannot write .npy (" + e.what() + ")");
    }
    atomic_write(path, bytes, ".npy file");
}

/// Loads a numeric CSV as a (rows, cols) matrix. Skips `skip_rows` leading lines, blank
/// lines and lines starting with '#'. Every row must have the same number of cells and
/// every cell must parse as a number ("nan"/"inf" parse; check with require_finite).
/// Throws io_error naming the file, line and cell otherwise. (xt::load_csv does not check
/// either, so the parse is ours.)
template <real T>
matrix<T> load_csv(const std::string& path, char delimiter = ',', std::size_t skip_rows = 0) {
    std::ifstream in(path);
    if (!in) throw io_error(path + ": cannot open CSV file");
    std::vector<T> values;
    std::size_t rows = 0, cols = 0, lineno = 0;
    std::string line;
    while (std::getline(in, line)) {
        ++lineno;
        if (lineno <= skip_rows) continue;
        const std::string t = detail::trim(line);
        if (t.empty() || t[0] == '#') continue;
        std::size_t n = 0, pos = 0;
        while (true) {
            auto e = t.find(delimiter, pos);
            const std::string cell = detail::trim(t.substr(pos, e == std::string::npos ? std::string::npos : e - pos));
            char* end = nullptr;
            const double v = std::strtod(cell.c_str(), &end);
            if (cell.empty() || *end != '\0')
                throw io_error(path + ": line " + std::to_string(lineno) + ", cell " + std::to_string(n + 1) +
                               ": '" + cell + "' is not a number");
            values.push_back(T(v));
            ++n;
            if (e == std::string::npos) break;
            pos = e + 1;
        }
        if (rows == 0) cols = n;
        else if (n != cols)
            throw io_error(path + ": line " + std::to_string(lineno) + " has " + std::to_string(n) +
                           " cells but the first row has " + std::to_string(cols));
        ++rows;
    }
    if (rows == 0) throw data_error(path + ": CSV file holds no data rows");
    matrix<T> m = matrix<T>::from_shape({rows, cols});
    std::copy(values.begin(), values.end(), m.begin());
    return m;
}

} // namespace b2m::brain
