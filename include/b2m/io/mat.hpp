// b2m/io/mat.hpp - one variable of a MATLAB .mat file: v5 (scipy.io.savemat, MATLAB's
// default up to -v7) and v7.3 (HDF5) through matio, which reads v7.3 with libhdf5.
//
// OPTIONAL COMPONENT: needs matio (Debian: libmatio-dev, built with HDF5). Use it through
// the CMake target b2m::formats (option B2M_WITH_MATIO), which links matio and defines
// B2M_HAVE_MATIO; b2m's core headers never include this one.
//
// read_mat_variable(path, name) returns the variable as io::array_data in C order with
// MATLAB's dimensions (a row or column vector, 1 x n or n x 1, becomes shape (n,)):
// numeric and logical arrays as double; a char matrix as one string per row (trailing
// blanks removed); a cell array of strings (cellstr) as its strings. Errors name the file,
// the variable and the problem, e.g.
//   "data.mat:resp: variable not found (the file holds: images, labels)".
// The declared element count is checked (no overflow, at most max_elements) before matio
// allocates the data.
#pragma once

#include <matio.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/io/array_file.hpp"
#include "b2m/io/mat_layout.hpp"

namespace b2m::io {

namespace detail {

/// matio reports problems through a log function; keep the last message for our error
/// (instead of matio printing to stderr).
inline std::string& mat_last_message() {
    thread_local std::string m;
    return m;
}
inline void mat_log(int, char* message) { mat_last_message() = message ? message : ""; }
inline void mat_quiet_log() {
    static const bool once = (Mat_LogInitFunc("b2m", &mat_log), true);
    (void)once;
}

struct mat_closer {
    void operator()(mat_t* m) const { Mat_Close(m); }
};
struct matvar_freer {
    void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using mat_ptr = std::unique_ptr<mat_t, mat_closer>;
using matvar_ptr = std::unique_ptr<matvar_t, matvar_freer>;

inline std::string mat_class_name(matio_classes c) {
    switch (c) {
    case MAT_C_CELL: return "cell array";
    case MAT_C_STRUCT: return "struct";
    case MAT_C_OBJECT: return "object";
    case MAT_C_SPARSE: return "sparse matrix";
    case MAT_C_FUNCTION: return "function handle";
    case MAT_C_OPAQUE: return "opaque object";
    default: return "class " + std::to_string(int(c));
    }
}

/// Shape with MATLAB's trailing singleton dimensions kept but vectors squeezed to (n,).
inline std::vector<std::size_t> mat_shape(const matvar_t* v) {
    std::vector<std::size_t> s(v->dims, v->dims + v->rank);
    if (s.size() == 2 && (s[0] == 1 || s[1] == 1)) return {s[0] * s[1]};
    return s;
}

/// Column-major element k of numeric data of matio class c, as double.
inline double mat_number(const void* data, matio_classes c, std::size_t k) {
    switch (c) {
    case MAT_C_DOUBLE: return static_cast<const double*>(data)[k];
    case MAT_C_SINGLE: return static_cast<const float*>(data)[k];
    case MAT_C_INT8: return static_cast<const std::int8_t*>(data)[k];
    case MAT_C_UINT8: return static_cast<const std::uint8_t*>(data)[k];
    case MAT_C_INT16: return static_cast<const std::int16_t*>(data)[k];
    case MAT_C_UINT16: return static_cast<const std::uint16_t*>(data)[k];
    case MAT_C_INT32: return static_cast<const std::int32_t*>(data)[k];
    case MAT_C_UINT32: return static_cast<const std::uint32_t*>(data)[k];
    case MAT_C_INT64: return double(static_cast<const std::int64_t*>(data)[k]);
    case MAT_C_UINT64: return double(static_cast<const std::uint64_t*>(data)[k]);
    default: return 0;
    }
}

/// The characters of a char variable's column-major element k as UTF-8.
inline void mat_append_char(std::string& s, const matvar_t* v, std::size_t k) {
    if (v->data_type == MAT_T_UINT16 || v->data_type == MAT_T_UTF16)
        append_utf8(s, static_cast<const std::uint16_t*>(v->data)[k]);
    else if (v->data_type == MAT_T_UINT32 || v->data_type == MAT_T_UTF32)
        append_utf8(s, static_cast<const std::uint32_t*>(v->data)[k]);
    else
        s += static_cast<const char*>(v->data)[k];
}

/// A char variable (rows x length) as its rows, trailing blanks and NULs removed.
inline std::vector<std::string> mat_char_rows(const matvar_t* v, const std::string& where) {
    if (v->rank != 2) throw data_error(where + ": char array of rank " + std::to_string(v->rank) + " (expected rows x length)");
    const std::size_t rows = v->dims[0], len = v->dims[1];
    if (rows > (std::size_t(1) << 24))  // each row becomes a string, even an empty one
        throw data_error(where + ": char array of " + std::to_string(rows) + " rows (b2m reads at most 2^24 strings)");
    std::vector<std::string> out(rows);
    if (rows * len == 0) return out;
    if (!v->data) throw io_error(where + ": char data could not be read");
    const std::size_t unit = (v->data_type == MAT_T_UINT16 || v->data_type == MAT_T_UTF16)   ? 2
                             : (v->data_type == MAT_T_UINT32 || v->data_type == MAT_T_UTF32) ? 4
                                                                                              : 1;
    if (v->nbytes / unit < rows * len)
        throw io_error(where + ": char data holds " + std::to_string(v->nbytes) + " bytes, fewer than its " +
                       std::to_string(rows) + " x " + std::to_string(len) + " characters need");
    if (rows == 1 && v->data_type == MAT_T_UTF8) {  // one row of UTF-8: its bytes (more than its characters)
        out[0].assign(static_cast<const char*>(v->data), v->nbytes);
        while (!out[0].empty() && (out[0].back() == ' ' || out[0].back() == '\0')) out[0].pop_back();
        return out;
    }
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < len; ++c) mat_append_char(out[r], v, r + c * rows);
        while (!out[r].empty() && (out[r].back() == ' ' || out[r].back() == '\0')) out[r].pop_back();
    }
    return out;
}

} // namespace detail

/// The largest element count read_mat_variable accepts before reading (2^31: 16 GiB of doubles).
inline constexpr std::size_t mat_max_elements = std::size_t(1) << 31;

/// Names of the variables in a .mat file (io_error naming the file if it is not one).
inline std::vector<std::string> mat_variables(const std::string& path) {
    detail::mat_quiet_log();
    if (!std::filesystem::exists(path)) throw io_error(path + ": cannot open .mat file (no such file)");
    check_mat_file(path);  // before matio: it trusts the sizes it reads
    detail::mat_ptr mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
    if (!mat) throw io_error(path + ": not a MATLAB .mat file that matio can open (v5/v7 or v7.3 HDF5)");
    std::vector<std::string> names;
    while (matvar_t* v = Mat_VarReadNextInfo(mat.get())) {
        detail::matvar_ptr hold(v);
        if (v->name) names.emplace_back(v->name);
    }
    return names;
}

/// Reads variable `name` of the .mat file at path (v5 or v7.3). See the file comment.
inline array_data read_mat_variable(const std::string& path, const std::string& name) {
    detail::mat_quiet_log();
    const std::string where = path + ":" + name;
    const auto names = mat_variables(path);
    bool found = false;
    for (const auto& n : names) found = found || n == name;
    if (!found) {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        throw data_error(where + ": variable not found (the file holds: " + (list.empty() ? "no variables" : list) + ")");
    }
    detail::mat_ptr mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
    if (!mat) throw io_error(path + ": cannot reopen .mat file");
    detail::matvar_ptr info(Mat_VarReadInfo(mat.get(), name.c_str()));
    if (!info) throw io_error(where + ": cannot read the variable's header (" + detail::mat_last_message() + ")");
    // Sizes before any data is allocated.
    std::size_t count = 1;
    for (int a = 0; a < info->rank; ++a) {
        const std::size_t d = info->dims[a];
        if (d != 0 && count > mat_max_elements / d)
            throw data_error(where + ": declared size is too large (more than " + std::to_string(mat_max_elements) + " elements)");
        count *= d;
    }
    if (info->isComplex) throw data_error(where + ": complex values are not supported");
    const matio_classes cls = info->class_type;
    const bool numeric = cls == MAT_C_DOUBLE || cls == MAT_C_SINGLE || cls == MAT_C_INT8 || cls == MAT_C_UINT8 ||
                         cls == MAT_C_INT16 || cls == MAT_C_UINT16 || cls == MAT_C_INT32 || cls == MAT_C_UINT32 ||
                         cls == MAT_C_INT64 || cls == MAT_C_UINT64;
    if (!numeric && cls != MAT_C_CHAR && cls != MAT_C_CELL)
        throw data_error(where + ": is a " + detail::mat_class_name(cls) +
                         "; b2m reads numeric or logical arrays, char arrays and cell arrays of strings");
    info.reset();
    Mat_Rewind(mat.get());
    detail::matvar_ptr v(Mat_VarRead(mat.get(), name.c_str()));
    if (!v) throw io_error(where + ": cannot read the variable (" + detail::mat_last_message() + ")");

    array_data out;
    out.source = where;
    if (numeric) {
        out.dtype = cls == MAT_C_UINT8 && !v->isLogical ? "uint8" : "mat";
        out.shape = detail::mat_shape(v.get());
        if (count > 0 && !v->data) throw io_error(where + ": the data could not be read");
        if (count > 0 && (v->data_size <= 0 || v->nbytes / std::size_t(v->data_size) < count))
            throw io_error(where + ": the data hold " + std::to_string(v->nbytes) + " bytes, fewer than its " +
                           std::to_string(count) + " elements need");
        out.values.resize(count);
        // MATLAB is column-major: element (i0, i1, ...) at i0 + d0 * (i1 + d1 * ...).
        const std::size_t rank = std::size_t(v->rank);
        std::vector<std::size_t> idx(rank, 0), stride(rank, 1);
        for (std::size_t a = 1; a < rank; ++a) stride[a] = stride[a - 1] * v->dims[a - 1];
        for (std::size_t flat = 0; flat < count; ++flat) {
            std::size_t src = 0;
            for (std::size_t a = 0; a < rank; ++a) src += idx[a] * stride[a];
            out.values[flat] = detail::mat_number(v->data, cls, src);
            for (std::size_t a = rank; a-- > 0;) {
                if (++idx[a] < std::size_t(v->dims[a])) break;
                idx[a] = 0;
            }
        }
        if (v->isLogical)
            for (auto& x : out.values) x = x != 0 ? 1.0 : 0.0;
        return out;
    }
    out.dtype = "mat-text";
    if (cls == MAT_C_CHAR) {
        out.text = detail::mat_char_rows(v.get(), where);
        out.shape = {out.text.size()};
        return out;
    }
    // Cell array: every cell must be a char row (cellstr).
    out.text.resize(count);
    for (std::size_t k = 0; k < count; ++k) {
        const matvar_t* c = Mat_VarGetCell(v.get(), int(k));
        if (!c || c->class_type != MAT_C_CHAR)
            throw data_error(where + ": cell " + std::to_string(k + 1) + " is not a string (b2m reads cell arrays of strings only)");
        const auto rows = detail::mat_char_rows(c, where + "{" + std::to_string(k + 1) + "}");
        if (rows.size() > 1)
            throw data_error(where + ": cell " + std::to_string(k + 1) + " holds " + std::to_string(rows.size()) +
                             " rows of text (expected one string)");
        out.text[k] = rows.empty() ? std::string() : rows.front();
    }
    out.shape = detail::mat_shape(v.get());
    if (out.shape.size() != 1)
        throw data_error(where + ": cell array of shape " + shape_string(out.shape) + " (expected a vector of strings)");
    return out;
}

} // namespace b2m::io
