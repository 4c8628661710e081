// b2m/brain/npy_mmap.hpp - targets beyond memory: a (rows, columns) .npy read through a
// memory map one block of columns at a time, and .npy outputs written one block at a time.
//
// npy_mmap maps a validated float32/float64 .npy (C or Fortran order, rank 1 or 2; rank 1 is
// one column) read-only and copies a block of columns (optionally a subset of rows) into a
// matrix<T>, converting the dtype. After each copy every mapped page of the file is released with
// madvise(MADV_DONTNEED): they leave this process's resident set (the kernel's page cache may
// keep them), so the resident memory of a pass over all columns is about one block, not the
// file. A 4000 x 200,000 float32 file (3.2 GB) read in blocks of 5,000 columns touches about
// 4000 x 5,000 x 4 bytes = 80 MB (plus page rounding: one page per row and block at least).
//
// npy_block_writer creates `path.tmp.<pid>` with a .npy v1.0 header for the final shape and
// takes blocks of columns (pwrite at their offsets); commit() checks every column was written
// and renames it over `path` (atomic on POSIX); a writer destroyed uncommitted removes its
// temporary file, so a failed run never leaves a half-written output.
// POSIX only (mmap, madvise, pwrite).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "b2m/brain/npy.hpp"

#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::brain {

/// Read-only memory map of a float .npy, read in column blocks.
class npy_mmap {
public:
    /// Requires a valid .npy of dtype <f4 or <f8 and rank 1 or 2 (io_error / data_error naming
    /// the file otherwise).
    explicit npy_mmap(const std::string& path) : path_(path) {
        header_ = read_npy_header(path);
        if (header_.descr != "<f4" && header_.descr != "<f8")
            throw data_error(path + ": memory-mapped reading needs float32 or float64 (<f4, <f8), the file holds " +
                             header_.descr);
        if (header_.shape.empty() || header_.shape.size() > 2)
            throw data_error(path + ": memory-mapped reading needs shape (rows,) or (rows, columns), the file has " +
                             shape_string(header_.shape));
        rows_ = header_.shape[0];
        cols_ = header_.shape.size() == 2 ? header_.shape[1] : 1;
        fd_ = ::open(path.c_str(), O_RDONLY);
        if (fd_ < 0) throw io_error(path + ": cannot open for memory mapping (" + std::strerror(errno) + ")");
        size_ = header_.data_offset + rows_ * cols_ * header_.itemsize;
        if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
            if (p == MAP_FAILED) {
                const std::string why = std::strerror(errno);
                ::close(fd_);
                throw io_error(path + ": cannot memory-map (" + why + ")");
            }
            base_ = static_cast<const unsigned char*>(p);
        }
    }
    npy_mmap(const npy_mmap&) = delete;
    npy_mmap& operator=(const npy_mmap&) = delete;
    ~npy_mmap() {
        if (base_) ::munmap(const_cast<unsigned char*>(base_), size_);
        if (fd_ >= 0) ::close(fd_);
    }

    std::size_t rows() const { return rows_; }            ///< The matrix's rows.
    std::size_t cols() const { return cols_; }            ///< The matrix's columns.
    const npy_header& header() const { return header_; } ///< The file's parsed header.
    const std::string& path() const { return path_; }    ///< The file mapped.

    /// out (rows listed in `rows`, or all rows; b columns) = columns [c0, c0 + b) as T.
    /// Requires c0 + b <= cols() and row indices < rows() (shape_error naming the file).
    /// Non-finite values are a data_error naming the file, row and column.
    template <real T>
    void read_columns(std::size_t c0, std::size_t b, matrix<T>& out, const std::vector<std::size_t>* rows = nullptr) {
        if (c0 + b > cols_)
            throw shape_error(path_ + ": columns [" + std::to_string(c0) + ", " + std::to_string(c0 + b) +
                              ") requested from shape " + shape_string(header_.shape));
        const std::size_t n = rows ? rows->size() : rows_;
        ensure_shape(out, n, b);
        if (header_.descr == "<f4") copy<float>(c0, b, out, rows);
        else copy<double>(c0, b, out, rows);
        release(c0, b, rows);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < b; ++j)
                if (!std::isfinite(double(out(i, j))))
                    throw data_error(path_ + ": non-finite value at row " + std::to_string(rows ? (*rows)[i] : i) +
                                     ", column " + std::to_string(c0 + j));
    }

private:
    template <class Src, real T>
    void copy(std::size_t c0, std::size_t b, matrix<T>& out, const std::vector<std::size_t>* rows) const {
        const Src* d = reinterpret_cast<const Src*>(base_ + header_.data_offset);
        const std::size_t n = rows ? rows->size() : rows_;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t src = rows ? (*rows)[i] : i;
            if (src >= rows_)
                throw shape_error(path_ + ": row " + std::to_string(src) + " requested from shape " + shape_string(header_.shape));
            T* o = out.data() + i * b;
            Src tmp;
            for (std::size_t j = 0; j < b; ++j) {
                const std::size_t at = header_.fortran_order ? (c0 + j) * rows_ + src : src * cols_ + c0 + j;
                std::memcpy(&tmp, d + at, sizeof(Src));  // the data offset need not align Src
                o[j] = T(tmp);
            }
        }
    }

    /// Drops every mapped page of the file from the resident set. Releasing only the byte
    /// ranges just read is not enough: the kernel's fault-around maps neighbouring pages (of
    /// other columns) too, and those would accumulate to the whole file over a pass.
    void release(std::size_t, std::size_t, const std::vector<std::size_t>*) const {
        if (base_ && size_ > 0) ::madvise(const_cast<unsigned char*>(base_), size_, MADV_DONTNEED);
    }

    std::string path_;
    npy_header header_;
    std::size_t rows_ = 0, cols_ = 0, size_ = 0;
    int fd_ = -1;
    const unsigned char* base_ = nullptr;
};

/// A .npy of fixed shape (rank 1 or 2) and dtype T written in column blocks (see the file comment).
template <real T>
class npy_block_writer {
public:
    /// Requires rank 1 or 2 (data_error); io_error naming `path` if the temporary cannot be created.
    npy_block_writer(const std::string& path, std::vector<std::size_t> shape) : path_(path), shape_(std::move(shape)) {
        if (shape_.empty() || shape_.size() > 2) throw data_error(path + ": npy_block_writer needs rank 1 or 2");
        rows_ = shape_.size() == 2 ? shape_[0] : 1;
        cols_ = shape_.back();
        tmp_ = path + ".tmp." + std::to_string(::getpid());
        fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd_ < 0) throw io_error(path + ": cannot create " + tmp_ + " (" + std::strerror(errno) + ")");
        std::string dict = std::string("{'descr': '") + (sizeof(T) == 4 ? "<f4" : "<f8") +
                           "', 'fortran_order': False, 'shape': (" + std::to_string(shape_[0]) +
                           (shape_.size() == 1 ? "," : ", " + std::to_string(shape_[1])) + "), }";
        std::size_t total = 10 + dict.size() + 1;
        const std::size_t pad = (64 - total % 64) % 64;
        dict += std::string(pad, ' ') + "\n";
        std::string head = "\x93NUMPY";
        head += char(1);
        head += char(0);
        head += char(dict.size() & 0xff);
        head += char((dict.size() >> 8) & 0xff);
        head += dict;
        offset_ = head.size();
        put(head.data(), head.size(), 0);
        // size the file now: a crash leaves a temporary, never a short final file
        if (::ftruncate(fd_, off_t(offset_ + rows_ * cols_ * sizeof(T))) != 0) fail("cannot size");
        written_.assign(cols_, false);
    }
    npy_block_writer(const npy_block_writer&) = delete;
    npy_block_writer& operator=(const npy_block_writer&) = delete;
    ~npy_block_writer() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) {
            std::error_code ec;
            std::filesystem::remove(tmp_, ec);
        }
    }

    /// Columns [c0, c0 + block.shape(1)) of every row; block has rows() rows (1 for rank 1).
    template <real S>
    void write_columns(std::size_t c0, const matrix<S>& block) {
        const std::size_t b = block.shape(1);
        if (block.shape(0) != rows_ || c0 + b > cols_)
            throw shape_error(path_ + ": block of shape " + shape_string(block.shape()) + " at column " + std::to_string(c0) +
                              " does not fit shape " + shape_string(shape_));
        std::vector<T> row(b);
        for (std::size_t i = 0; i < rows_; ++i) {
            for (std::size_t j = 0; j < b; ++j) row[j] = T(block(i, j));
            put(row.data(), b * sizeof(T), offset_ + (i * cols_ + c0) * sizeof(T));
        }
        for (std::size_t j = 0; j < b; ++j) written_[c0 + j] = true;
    }
    /// Rank 1: values[0..n) at [c0, c0 + n).
    template <class V>
    void write_range(std::size_t c0, const V& values) {
        matrix<T> m = matrix<T>::from_shape({std::size_t(1), std::size_t(values.size())});
        std::size_t j = 0;
        for (auto v : values) m(0, j++) = T(v);
        write_columns(c0, m);
    }
    /// Publishes the file. Requires every column written (data_error naming the file).
    void commit() {
        for (std::size_t j = 0; j < cols_; ++j)
            if (!written_[j]) throw data_error(path_ + ": column " + std::to_string(j) + " was never written");
        if (::fsync(fd_) != 0) fail("cannot flush");
        ::close(fd_);
        fd_ = -1;
        std::error_code ec;
        std::filesystem::rename(tmp_, path_, ec);
        if (ec) throw io_error(path_ + ": cannot rename " + tmp_ + " into place (" + ec.message() + ")");
        committed_ = true;
    }
    const std::string& path() const { return path_; } ///< The final file (written under a temporary name until commit).

private:
    void put(const void* p, std::size_t bytes, std::size_t at) {
        const char* c = static_cast<const char*>(p);
        while (bytes > 0) {
            const ssize_t w = ::pwrite(fd_, c, bytes, off_t(at));
            if (w <= 0) fail("cannot write");
            c += w, bytes -= std::size_t(w), at += std::size_t(w);
        }
    }
    [[noreturn]] void fail(const char* what) { throw io_error(path_ + ": " + what + " " + tmp_ + " (" + std::strerror(errno) + ")"); }

    std::string path_, tmp_;
    std::vector<std::size_t> shape_;
    std::size_t rows_ = 0, cols_ = 0, offset_ = 0;
    int fd_ = -1;
    bool committed_ = false;
    std::vector<bool> written_;
};

} // namespace b2m::brain
