// b2m/io/zip.hpp - zip archives (the container of numpy's .npz), read and written with
// zlib for deflate.
//
//   io::zip_reader z("weights.npz");            // reads and validates the central directory
//   for (auto& m : z.members()) ...            // name, method, sizes, offsets
//   std::string bytes = z.read("0.weight.npy");
//   io::write_zip("out.npz", {{"a.npy", bytes_a}, ...}, /*compress=*/true);   // atomic
//
// Reading validates before it allocates: the end-of-central-directory record and every
// central entry must lie inside the file, every member's data (local header + compressed
// size) must lie inside the file, a stored member's sizes must agree, a deflated member's
// declared size must be one deflate can produce from its compressed size (ratio <= 1032),
// names must be unique, and a member's CRC-32 must match after reading. Zip64 extra fields
// in entries (numpy writes them in local headers) are read; an archive that needs the
// zip64 end-of-directory record (more than 65535 members or a directory beyond 4 GiB),
// encryption, or a method other than stored/deflate is rejected with an io_error naming
// the file and the member. Every error is one io_error naming the file (and the member).
// Writing: stored or deflated members, no zip64 (a member over 4 GiB is an io_error), to
// "<path>.tmp.<pid>" first and then renamed over path (atomic on POSIX).
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "b2m/core/atomic_write.hpp"
#include "b2m/core/error.hpp"

namespace b2m::io {

/// One member of a zip archive as its central directory describes it.
struct zip_member {
    std::string name;                   ///< the member's path inside the archive
    std::uint16_t method = 0;           ///< 0 stored, 8 deflate
    std::uint32_t crc = 0;              ///< CRC-32 of the uncompressed bytes
    std::uint64_t compressed_size = 0;  ///< bytes stored in the archive
    std::uint64_t size = 0;             ///< uncompressed
    std::uint64_t header_offset = 0;    ///< of the local file header
};

namespace detail {

inline std::uint16_t le16(const unsigned char* p) { return std::uint16_t(p[0] | (p[1] << 8)); }
inline std::uint32_t le32(const unsigned char* p) {
    return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
}
inline std::uint64_t le64(const unsigned char* p) { return std::uint64_t(le32(p)) | (std::uint64_t(le32(p + 4)) << 32); }
inline void put16(std::string& s, std::uint32_t v) {
    s.push_back(char(v & 0xff));
    s.push_back(char((v >> 8) & 0xff));
}
inline void put32(std::string& s, std::uint32_t v) {
    put16(s, v & 0xffff);
    put16(s, v >> 16);
}

/// Reads n bytes at offset off of an open file; the caller checked off + n <= file size.
inline void read_at(std::ifstream& in, std::uint64_t off, char* dst, std::size_t n, const std::string& what) {
    in.clear();
    in.seekg(std::streamoff(off));
    in.read(dst, std::streamsize(n));
    if (std::size_t(in.gcount()) != n) throw io_error(what + ": read failed (file changed or unreadable)");
}

/// Writes `bytes` to path atomically (core/atomic_write.hpp: temporary file, fsync, rename).
inline void write_file_atomically(const std::string& path, const std::string& bytes) {
    b2m::atomic_write(path, bytes, "file");
}

/// Largest output deflate can produce from n compressed bytes (ratio 1032:1 plus slack).
inline std::uint64_t max_inflated_size(std::uint64_t n) { return n * 1032u + 1024u; }

} // namespace detail

/// Reads a zip archive's directory on construction; members are read on demand.
class zip_reader {
public:
    /// Opens and validates path. Throws io_error naming the file on any defect listed above.
    explicit zip_reader(std::string path) : path_(std::move(path)) {
        std::error_code ec;
        const auto fs = std::filesystem::file_size(path_, ec);
        if (ec) throw io_error(path_ + ": cannot open zip archive (" + ec.message() + ")");
        size_ = fs;
        in_.open(path_, std::ios::binary);
        if (!in_) throw io_error(path_ + ": cannot open zip archive for reading");
        if (size_ < 22) throw io_error(path_ + ": not a zip archive (" + std::to_string(size_) + " bytes; truncated?)");
        unsigned char magic[4];
        detail::read_at(in_, 0, reinterpret_cast<char*>(magic), 4, path_);
        if (detail::le32(magic) != 0x04034b50u && detail::le32(magic) != 0x06054b50u)
            throw io_error(path_ + ": not a zip archive (bad magic bytes)");
        // End of central directory: the last 22..(22 + 65535) bytes.
        const std::uint64_t tail = std::min<std::uint64_t>(size_, 22 + 65535);
        std::vector<unsigned char> t(tail);
        detail::read_at(in_, size_ - tail, reinterpret_cast<char*>(t.data()), tail, path_);
        std::int64_t eocd = -1;
        for (std::int64_t i = std::int64_t(tail) - 22; i >= 0; --i)
            if (detail::le32(&t[std::size_t(i)]) == 0x06054b50u) {
                eocd = i;
                break;
            }
        if (eocd < 0)
            throw io_error(path_ + ": truncated or corrupt zip archive (no end-of-central-directory record)");
        const unsigned char* e = &t[std::size_t(eocd)];
        const std::uint16_t n_entries = detail::le16(e + 10);
        const std::uint32_t cd_size = detail::le32(e + 12), cd_off = detail::le32(e + 16);
        if (n_entries == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu)
            throw io_error(path_ + ": zip64 archive (more than 65535 members or over 4 GiB of directory offsets); "
                                   "b2m reads plain zip archives only");
        if (detail::le16(e + 4) != 0 || detail::le16(e + 6) != 0)
            throw io_error(path_ + ": multi-disk zip archives are not supported");
        const std::uint64_t eocd_pos = size_ - tail + std::uint64_t(eocd);
        if (std::uint64_t(cd_off) + cd_size > eocd_pos)
            throw io_error(path_ + ": truncated or corrupt zip archive: the central directory (" +
                           std::to_string(cd_size) + " bytes at " + std::to_string(cd_off) +
                           ") does not fit before its end record at " + std::to_string(eocd_pos));
        std::vector<unsigned char> cd(cd_size);
        if (cd_size) detail::read_at(in_, cd_off, reinterpret_cast<char*>(cd.data()), cd_size, path_);
        std::size_t p = 0;
        std::set<std::string> seen;
        for (std::size_t k = 0; k < n_entries; ++k) {
            if (p + 46 > cd.size() || detail::le32(&cd[p]) != 0x02014b50u)
                throw io_error(path_ + ": corrupt zip central directory (entry " + std::to_string(k) + " of " +
                               std::to_string(n_entries) + ")");
            const unsigned char* c = &cd[p];
            zip_member m;
            const std::uint16_t flags = detail::le16(c + 8);
            m.method = detail::le16(c + 10);
            m.crc = detail::le32(c + 16);
            m.compressed_size = detail::le32(c + 20);
            m.size = detail::le32(c + 24);
            const std::size_t nl = detail::le16(c + 28), xl = detail::le16(c + 30), cl = detail::le16(c + 32);
            m.header_offset = detail::le32(c + 42);
            if (p + 46 + nl + xl + cl > cd.size())
                throw io_error(path_ + ": corrupt zip central directory (entry " + std::to_string(k) + " overruns it)");
            m.name.assign(reinterpret_cast<const char*>(c + 46), nl);
            // Zip64 extra field: the 64-bit values replace the 0xffffffff ones, in order.
            for (std::size_t x = 0; x + 4 <= xl;) {
                const unsigned char* f = c + 46 + nl + x;
                const std::size_t id = detail::le16(f), len = detail::le16(f + 2);
                if (x + 4 + len > xl) break;
                if (id == 0x0001) {
                    std::size_t q = 4;
                    auto take = [&](std::uint64_t& v) {
                        if (v != 0xffffffffu) return;
                        if (q + 8 > 4 + len) throw io_error(path_ + ": member '" + m.name + "': corrupt zip64 field");
                        v = detail::le64(f + q);
                        q += 8;
                    };
                    take(m.size);
                    take(m.compressed_size);
                    take(m.header_offset);
                }
                x += 4 + len;
            }
            if (flags & 1u) throw io_error(path_ + ": member '" + m.name + "' is encrypted");
            if (m.method != 0 && m.method != 8)
                throw io_error(path_ + ": member '" + m.name + "' uses compression method " + std::to_string(m.method) +
                               " (b2m reads stored and deflate)");
            if (m.method == 0 && m.size != m.compressed_size)
                throw io_error(path_ + ": member '" + m.name + "' is stored but declares " + std::to_string(m.size) +
                               " bytes uncompressed and " + std::to_string(m.compressed_size) + " compressed");
            if (m.method == 8 && m.size > detail::max_inflated_size(m.compressed_size))
                throw io_error(path_ + ": member '" + m.name + "' claims " + std::to_string(m.size) +
                               " bytes inflated from " + std::to_string(m.compressed_size) +
                               " compressed, more than deflate can produce (corrupt header)");
            if (m.header_offset + 30 + m.compressed_size > cd_off)
                throw io_error(path_ + ": member '" + m.name + "' (" + std::to_string(m.compressed_size) +
                               " bytes at offset " + std::to_string(m.header_offset) +
                               ") does not fit in the file before the central directory (truncated?)");
            if (!seen.insert(m.name).second)
                throw io_error(path_ + ": duplicate member '" + m.name + "' in zip archive");
            members_.push_back(std::move(m));
            p += 46 + nl + xl + cl;
        }
        cd_off_ = cd_off;
    }

    const std::string& path() const { return path_; }                     ///< The archive's file.
    const std::vector<zip_member>& members() const { return members_; } ///< Every member, in central-directory order.
    /// The member called name, or nullptr.
    const zip_member* find(const std::string& name) const {
        for (const auto& m : members_)
            if (m.name == name) return &m;
        return nullptr;
    }

    /// The uncompressed bytes of member `name` (io_error naming the file and the member when
    /// it is absent, does not fit, does not inflate to its declared size, or fails its CRC).
    std::string read(const std::string& name) {
        const zip_member* m = find(name);
        if (!m) throw io_error(path_ + ": no member '" + name + "' in zip archive");
        return read(*m);
    }
    /// The uncompressed bytes of member m (one of members()); throws as read(name).
    std::string read(const zip_member& m) {
        const std::string what = path_ + ": member '" + m.name + "'";
        unsigned char lh[30];
        detail::read_at(in_, m.header_offset, reinterpret_cast<char*>(lh), 30, what);
        if (detail::le32(lh) != 0x04034b50u) throw io_error(what + ": corrupt local header (bad signature)");
        const std::uint64_t data = m.header_offset + 30 + detail::le16(lh + 26) + detail::le16(lh + 28);
        if (data + m.compressed_size > cd_off_)
            throw io_error(what + ": data (" + std::to_string(m.compressed_size) + " bytes at " + std::to_string(data) +
                           ") run past the end of the member area (truncated?)");
        if (m.size >= 0xffffffffu)
            throw io_error(what + ": members of 4 GiB or more are not supported (" + std::to_string(m.size) + " bytes)");
        std::string out;
        if (m.method == 0) {
            out.resize(m.size);
            if (m.size) detail::read_at(in_, data, out.data(), m.size, what);
        } else {
            std::vector<char> comp(m.compressed_size);
            if (m.compressed_size) detail::read_at(in_, data, comp.data(), comp.size(), what);
            out.resize(m.size);
            z_stream zs{};
            if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw io_error(what + ": zlib inflateInit failed");
            zs.next_in = reinterpret_cast<Bytef*>(comp.data());
            zs.avail_in = uInt(comp.size());
            zs.next_out = reinterpret_cast<Bytef*>(out.data());
            zs.avail_out = uInt(out.size());
            int rc = inflate(&zs, Z_FINISH);
            if (rc == Z_BUF_ERROR && zs.avail_out == 0) {
                // Output full before the end of the stream: allow one spare byte to tell an
                // end-of-block-only remainder from a member longer than declared.
                unsigned char spare[1];
                zs.next_out = spare;
                zs.avail_out = 1;
                rc = inflate(&zs, Z_FINISH);
                if (zs.avail_out == 0) {
                    inflateEnd(&zs);
                    throw io_error(what + ": inflates to more than its declared " + std::to_string(m.size) + " bytes");
                }
            }
            const auto produced = zs.total_out;
            inflateEnd(&zs);
            if (rc != Z_STREAM_END)
                throw io_error(what + ": compressed data do not inflate (corrupt deflate stream" +
                               (zs.msg ? std::string(": ") + zs.msg : std::string()) + ")");
            if (produced != m.size)
                throw io_error(what + ": inflates to " + std::to_string(produced) + " bytes but declares " +
                               std::to_string(m.size));
        }
        const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(out.data()), uInt(out.size()));
        if (crc != m.crc) throw io_error(what + ": CRC-32 mismatch (corrupt data)");
        return out;
    }

private:
    std::string path_;
    std::ifstream in_;
    std::uint64_t size_ = 0, cd_off_ = 0;
    std::vector<zip_member> members_;
};

/// Writes a zip archive of (name, bytes) members atomically; compress = true deflates each
/// member (zlib level 6, as numpy's savez_compressed), else stores it (as numpy's savez).
/// Requires unique names and members under 4 GiB (io_error otherwise, naming the member).
inline void write_zip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& members,
                      bool compress) {
    std::string out, cd;
    std::set<std::string> seen;
    for (const auto& [name, bytes] : members) {
        if (!seen.insert(name).second) throw io_error(path + ": duplicate member '" + name + "'");
        if (bytes.size() >= 0xffffffffu || name.size() > 0xffff)
            throw io_error(path + ": member '" + name + "' is too large for a plain zip archive (zip64 not written)");
        std::string data;
        if (compress) {
            z_stream zs{};
            if (deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                throw io_error(path + ": zlib deflateInit failed");
            data.resize(deflateBound(&zs, uLong(bytes.size())));
            zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
            zs.avail_in = uInt(bytes.size());
            zs.next_out = reinterpret_cast<Bytef*>(data.data());
            zs.avail_out = uInt(data.size());
            const int rc = ::deflate(&zs, Z_FINISH);
            data.resize(zs.total_out);
            deflateEnd(&zs);
            if (rc != Z_STREAM_END) throw io_error(path + ": member '" + name + "': deflate failed");
        }
        const std::string& payload = compress ? data : bytes;
        const std::uint32_t crc = std::uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), uInt(bytes.size())));
        if (out.size() + 30 + name.size() + payload.size() >= 0xffffffffu)
            throw io_error(path + ": archive would exceed 4 GiB (zip64 not written)");
        const std::uint32_t offset = std::uint32_t(out.size());
        const std::uint16_t method = compress ? 8 : 0;
        // local header
        detail::put32(out, 0x04034b50u);
        detail::put16(out, 20);
        detail::put16(out, 0);
        detail::put16(out, method);
        detail::put16(out, 0);
        detail::put16(out, 0x21);  // 1980-01-01
        detail::put32(out, crc);
        detail::put32(out, std::uint32_t(payload.size()));
        detail::put32(out, std::uint32_t(bytes.size()));
        detail::put16(out, std::uint32_t(name.size()));
        detail::put16(out, 0);
        out += name;
        out += payload;
        // central entry
        detail::put32(cd, 0x02014b50u);
        detail::put16(cd, 20);
        detail::put16(cd, 20);
        detail::put16(cd, 0);
        detail::put16(cd, method);
        detail::put16(cd, 0);
        detail::put16(cd, 0x21);
        detail::put32(cd, crc);
        detail::put32(cd, std::uint32_t(payload.size()));
        detail::put32(cd, std::uint32_t(bytes.size()));
        detail::put16(cd, std::uint32_t(name.size()));
        detail::put16(cd, 0);
        detail::put16(cd, 0);
        detail::put16(cd, 0);
        detail::put16(cd, 0);
        detail::put32(cd, 0);
        detail::put32(cd, offset);
        cd += name;
    }
    if (members.size() >= 0xffff) throw io_error(path + ": more than 65534 members (zip64 not written)");
    const std::uint32_t cd_off = std::uint32_t(out.size());
    out += cd;
    detail::put32(out, 0x06054b50u);
    detail::put16(out, 0);
    detail::put16(out, 0);
    detail::put16(out, std::uint32_t(members.size()));
    detail::put16(out, std::uint32_t(members.size()));
    detail::put32(out, std::uint32_t(cd.size()));
    detail::put32(out, cd_off);
    detail::put16(out, 0);
    detail::write_file_atomically(path, out);
}

} // namespace b2m::io
