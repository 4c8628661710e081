// b2m/train/checkpoint.hpp - checkpoint files: the whole training state, written atomically.
//
// A checkpoint is a sequence of named entries (matrices, integers, reals) produced by a
// `serialize(Archive&)` visit, followed by an FNV-1a checksum. Writing goes to
// "<path>.tmp", is flushed and fsync'ed, then renamed over <path>: a crash or a failed
// write leaves the previous checkpoint intact. Reading validates the whole file (magic,
// checksum, every entry's name, kind and shape) before changing anything, so a corrupt
// or foreign checkpoint is a clear error and leaves the trainer as it was.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "b2m/core/atomic_write.hpp"
#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::train {

namespace detail {
inline constexpr char checkpoint_magic[8] = {'B', '2', 'M', 'C', 'K', 'P', 'T', '1'};
enum class entry_kind : std::uint8_t { tensor = 1, u64 = 2, f64 = 3 };

inline std::uint64_t fnv1a(const char* p, std::size_t n) {
    std::uint64_t h = 1469598103934665603ULL;
    for (std::size_t i = 0; i < n; ++i) h = (h ^ std::uint8_t(p[i])) * 1099511628211ULL;
    return h;
}

/// Test hook: when non-zero, a checkpoint write fails with io_error after this many bytes
/// (simulates a full disk or a crash midway).
inline std::size_t checkpoint_fail_after_bytes = 0;
} // namespace detail

/// Collects entries in memory; write_atomically() puts them on disk.
class checkpoint_writer {
public:
    /// @name Archive interface (what serialize(Archive&) visits; see the head of b2m/train/checkpoint.hpp)
    ///@{

    /// Archive interface (writer): tensor(name, m), u64(name, v) and f64(name, v) append an
    /// entry named name holding m (its element size and 2-D shape, then its values), v as a
    /// 64-bit integer, or v as a double; the arguments are not changed.
    template <real T>
    void tensor(const std::string& name, matrix<T>& m) {
        head(name, detail::entry_kind::tensor);
        put<std::uint64_t>(sizeof(T));
        put<std::uint64_t>(m.shape(0));
        put<std::uint64_t>(m.shape(1));
        if (m.size()) bytes_.append(reinterpret_cast<const char*>(m.data()), m.size() * sizeof(T));  // empty: data() may be null
    }
    void u64(const std::string& name, std::uint64_t& v) {
        head(name, detail::entry_kind::u64);
        put(v);
    }
    void f64(const std::string& name, double& v) {
        head(name, detail::entry_kind::f64);
        put(v);
    }
    ///@}

    /// Writes magic + entries + checksum to path atomically (core/atomic_write.hpp).
    /// Throws io_error naming the file on any failure; the previous file is then unchanged.
    void write_atomically(const std::string& path) const {
        std::string out(detail::checkpoint_magic, 8);
        out += bytes_;
        const std::uint64_t sum = detail::fnv1a(out.data(), out.size());
        out.append(reinterpret_cast<const char*>(&sum), sizeof sum);
        // the fault-injection hook of this header drives the shared one of atomic_write
        const std::size_t saved = b2m::detail::atomic_write_fail_after_bytes;
        b2m::detail::atomic_write_fail_after_bytes = detail::checkpoint_fail_after_bytes;
        try {
            atomic_write(path, out, "checkpoint");
        } catch (...) {
            b2m::detail::atomic_write_fail_after_bytes = saved;
            throw;
        }
        b2m::detail::atomic_write_fail_after_bytes = saved;
    }

private:
    template <class V>
    void put(V v) { bytes_.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void head(const std::string& name, detail::entry_kind k) {
        put(k);
        put<std::uint32_t>(std::uint32_t(name.size()));
        bytes_ += name;
    }
    std::string bytes_;
};

/// Reads a checkpoint file. Use in two passes: with apply = false every entry is checked
/// against what the visit expects (nothing changes); with apply = true values are copied.
class checkpoint_reader {
public:
    /// Reads the whole file; throws b2m::io_error naming it when it is missing, too short, not a
    /// b2m checkpoint or fails the checksum.
    explicit checkpoint_reader(const std::string& path) : path_(path) {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw io_error("checkpoint '" + path + "': cannot open (missing or unreadable)");
        data_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        if (data_.size() < 16 || std::memcmp(data_.data(), detail::checkpoint_magic, 8) != 0)
            throw io_error("checkpoint '" + path + "': not a b2m checkpoint (bad magic or too short)");
        std::uint64_t sum;
        std::memcpy(&sum, data_.data() + data_.size() - 8, 8);
        if (sum != detail::fnv1a(data_.data(), data_.size() - 8))
            throw io_error("checkpoint '" + path + "': checksum mismatch (truncated or corrupt file)");
        end_ = data_.size() - 8;
    }

    /// Starts a pass; apply = false only validates.
    void begin(bool apply) {
        pos_ = 8;
        apply_ = apply;
    }
    /// Requires the whole file to have been visited.
    void finish() const {
        if (pos_ != end_)
            throw io_error("checkpoint '" + path_ + "': has entries this trainer does not expect (saved from a different student or objective)");
    }

    /// @name Archive interface (what serialize(Archive&) visits; see the head of b2m/train/checkpoint.hpp)
    ///@{

    /// Archive interface (reader): tensor(name, m), u64(name, v) and f64(name, v) read the next
    /// entry, which must be named name and of that kind (b2m::io_error otherwise, and for an
    /// element size other than sizeof(T)); a tensor must have m's shape (b2m::shape_error
    /// naming both). In an applying pass (begin(true)) the value is copied into m / v; in a
    /// checking pass nothing changes.
    template <real T>
    void tensor(const std::string& name, matrix<T>& m) {
        head(name, detail::entry_kind::tensor);
        const auto elem = get<std::uint64_t>(name), rows = get<std::uint64_t>(name), cols = get<std::uint64_t>(name);
        if (elem != sizeof(T))
            throw io_error("checkpoint '" + path_ + "': entry '" + name + "' holds " + std::to_string(elem * 8) +
                           "-bit values but this trainer computes in " + std::to_string(sizeof(T) * 8) + "-bit");
        if (rows != m.shape(0) || cols != m.shape(1))
            throw shape_error("checkpoint '" + path_ + "': entry '" + name + "' has shape (" + std::to_string(rows) + ", " +
                              std::to_string(cols) + ") but this trainer's has shape " + shape_string(m.shape()) +
                              " (saved from a different student?)");
        need(rows * cols * sizeof(T), name);
        if (apply_ && rows * cols != 0) std::memcpy(m.data(), data_.data() + pos_, rows * cols * sizeof(T));  // (200, 0): data() null
        pos_ += rows * cols * sizeof(T);
    }
    void u64(const std::string& name, std::uint64_t& v) {
        head(name, detail::entry_kind::u64);
        const auto x = get<std::uint64_t>(name);
        if (apply_) v = x;
    }
    void f64(const std::string& name, double& v) {
        head(name, detail::entry_kind::f64);
        const auto x = get<double>(name);
        if (apply_) v = x;
    }
    ///@}

private:
    void need(std::size_t n, const std::string& name) const {
        if (pos_ + n > end_) throw io_error("checkpoint '" + path_ + "': ends inside entry '" + name + "'");
    }
    template <class V>
    V get(const std::string& name) {
        need(sizeof(V), name);
        V v;
        std::memcpy(&v, data_.data() + pos_, sizeof v);
        pos_ += sizeof v;
        return v;
    }
    void head(const std::string& name, detail::entry_kind k) {
        if (pos_ >= end_)
            throw io_error("checkpoint '" + path_ + "': has no entry '" + name +
                           "' (saved from a different student or objective)");
        const auto kind = get<detail::entry_kind>(name);
        const auto len = get<std::uint32_t>(name);
        need(len, name);
        const std::string found(data_.data() + pos_, len);
        pos_ += len;
        if (found != name || kind != k)
            throw io_error("checkpoint '" + path_ + "': expected entry '" + name + "' but found '" + found +
                           "' (saved from a different student or objective)");
    }
    std::string path_;
    std::string data_;
    std::size_t pos_ = 8, end_ = 0;
    bool apply_ = false;
};

/// The value of the u64 entry `name` of a checkpoint file (e.g. "fit.epoch"), found by
/// walking the entries without knowing the trainer that wrote them; nullopt when there is
/// no such entry. Validates magic, checksum and every entry header on the way; throws
/// io_error naming the file when the file is not a valid checkpoint. For a caller that
/// must check a value (the saved epoch against the planned epochs) before resuming.
inline std::optional<std::uint64_t> checkpoint_u64(const std::string& path, const std::string& name) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error("checkpoint '" + path + "': cannot open (missing or unreadable)");
    const std::string d{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (d.size() < 16 || std::memcmp(d.data(), detail::checkpoint_magic, 8) != 0)
        throw io_error("checkpoint '" + path + "': not a b2m checkpoint (bad magic or too short)");
    std::uint64_t sum;
    std::memcpy(&sum, d.data() + d.size() - 8, 8);
    if (sum != detail::fnv1a(d.data(), d.size() - 8))
        throw io_error("checkpoint '" + path + "': checksum mismatch (truncated or corrupt file)");
    const std::size_t end = d.size() - 8;
    std::size_t pos = 8;
    auto need = [&](std::uint64_t n) {
        if (n > end - pos) throw io_error("checkpoint '" + path + "': corrupt entry table (an entry runs past the end)");
    };
    auto get = [&](auto& v) {
        need(sizeof v);
        std::memcpy(&v, d.data() + pos, sizeof v);
        pos += sizeof v;
    };
    while (pos < end) {
        std::uint8_t kind;
        std::uint32_t len;
        get(kind);
        get(len);
        need(len);
        const std::string found(d.data() + pos, len);
        pos += len;
        if (kind == std::uint8_t(detail::entry_kind::u64) || kind == std::uint8_t(detail::entry_kind::f64)) {
            std::uint64_t v;
            get(v);
            if (found == name && kind == std::uint8_t(detail::entry_kind::u64)) return v;
        } else if (kind == std::uint8_t(detail::entry_kind::tensor)) {
            std::uint64_t elem, rows, cols;
            get(elem), get(rows), get(cols);
            if (elem != 4 && elem != 8) throw io_error("checkpoint '" + path + "': entry '" + found + "' has " + std::to_string(elem) + "-byte values");
            const std::uint64_t room = end - pos;  // checked without overflowing rows * cols * elem
            if (rows && (cols > room / rows || rows * cols > room / elem))
                throw io_error("checkpoint '" + path + "': ends inside entry '" + found + "'");
            pos += rows * cols * elem;
        } else {
            throw io_error("checkpoint '" + path + "': entry '" + found + "' has unknown kind " + std::to_string(int(kind)));
        }
    }
    return std::nullopt;
}

} // namespace b2m::train
