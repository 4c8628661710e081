// b2m/io/mat_layout.hpp - checks the element layout of a MATLAB v5/v7 .mat file before matio
// reads it.
//
// What it represents: the v5 format is a 128-byte header followed by data elements, each a
// tag (type, byte count) and its bytes; a variable (miMATRIX) nests sub-elements (flags,
// dimensions, name, data), and a v7 variable is one miCOMPRESSED element holding a zlib
// stream of such a miMATRIX. matio trusts the byte counts it reads: a text variable whose
// data tag declares 1.8 GB in a 300-byte file makes it allocate and clear 1.8 GB (found by
// fuzz/fuzz_mat.cpp). check_mat_file reads the header and walks every tag first.
//
// Requires: nothing of the file (any bytes are handled); v7.3 files are HDF5 and are only
// recognised here.
// Ensures: returns normally only if every element and sub-element (recursively, inside
// compressed streams too) fits inside its parent, and every compressed stream inflates to
// exactly the size its tag declares, within zlib's largest possible ratio; otherwise
// throws io_error naming the file, the byte offset and the sizes. Reads only the tags of
// plain variables; holds one compressed variable and its inflated form in memory at a time.
//
// OPTIONAL COMPONENT: part of b2m::formats (links zlib, as matio does).
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include "b2m/core/error.hpp"

namespace b2m::io {

namespace detail {

inline constexpr std::uint32_t mat_mi_matrix = 14;
inline constexpr std::uint32_t mat_mi_compressed = 15;

struct mat_layout_walker {
    std::string path;
    bool swap = false;

    std::uint32_t u32(const char* p) const {
        std::uint32_t v;
        std::memcpy(&v, p, 4);
        if (swap) v = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
        return v;
    }

    [[noreturn]] void fail(std::string_view where, std::uint64_t offset, const std::string& problem) const {
        throw io_error(path + ": not a valid .mat file: " + std::string(where) + " at byte " + std::to_string(offset) + " " +
                       problem);
    }

    /// Walks the elements in [begin, begin + size) of a source read through `tag(offset, buf)`
    /// (8 bytes) and `bytes(offset, n)` (a std::string of n bytes); offsets are the source's,
    /// `base` maps them to the file's for errors; depth bounds nesting (cells of cells).
    template <class Source>
    void walk(const Source& src, std::uint64_t begin, std::uint64_t size, std::uint64_t base, int depth, bool padded) const {
        if (depth > 32) fail("a variable", base + begin, "nests more than 32 levels of cells or structs");
        std::uint64_t pos = 0;
        char t[8];
        while (pos < size) {
            if (size - pos < 8) fail("a data element", base + begin + pos, "is cut short (" + std::to_string(size - pos) + " bytes left)");
            src.tag(begin + pos, t);
            const std::uint32_t type = u32(t);
            if (type >> 16) {  // small element: 2-byte count, 2-byte type, up to 4 bytes of data
                const std::uint32_t n = type >> 16;
                if (n > 4) fail("a small data element", base + begin + pos, "declares " + std::to_string(n) + " bytes (at most 4)");
                pos += 8;
                continue;
            }
            const std::uint64_t n = u32(t + 4), left = size - pos - 8;
            if (n > left)
                fail("a data element", base + begin + pos,
                     "declares " + std::to_string(n) + " bytes but only " + std::to_string(left) + " remain");
            if (type == mat_mi_matrix) {
                check_matrix_size(src, begin + pos + 8, n, base);
                walk(src, begin + pos + 8, n, base, depth + 1, true);
            }
            else if (type == mat_mi_compressed) walk_compressed(src.bytes(begin + pos + 8, n), base + begin + pos + 8, depth);
            pos += 8 + n;
            if (padded && n % 8) pos += 8 - n % 8;  // elements are padded to 8 bytes
            if (pos > size) pos = size;             // the last element's padding may be absent
        }
    }

    /// A variable's dimensions against its bytes: every element of a dense array takes at least
    /// one byte and every cell or struct element at least one 8-byte tag (matio allocates
    /// the cells' table from the dimensions alone). Sparse arrays are bounded by their data.
    template <class Source>
    void check_matrix_size(const Source& src, std::uint64_t begin, std::uint64_t n, std::uint64_t base) const {
        if (n == 0) return;  // an empty cell
        if (n < 16) fail("a variable", base + begin, "of " + std::to_string(n) + " bytes has no array flags");
        char t[8];
        src.tag(begin + 8, t);
        const std::uint32_t cls = u32(t) & 0xffu;
        if (n < 24) fail("a variable", base + begin, "of " + std::to_string(n) + " bytes has no dimensions");
        src.tag(begin + 16, t);
        const std::uint32_t dims_type = u32(t);
        if (dims_type >> 16) return;  // dimensions in a small element: at most one 4-byte dimension
        const std::uint64_t dims_bytes = u32(t + 4);
        if (dims_bytes > n - 24 || dims_bytes > 4 * 64 || dims_bytes % 4)
            fail("a variable's dimensions", base + begin + 16, "take " + std::to_string(dims_bytes) + " bytes");
        const std::string d = src.bytes(begin + 24, dims_bytes);
        std::uint64_t count = 1;
        for (std::uint64_t k = 0; k < dims_bytes; k += 4) {
            const std::uint64_t dim = u32(d.data() + k);
            if (dim != 0 && count > n / dim) count = n + 1;
            else count *= dim;
        }
        const std::uint64_t per_element = (cls == 1 || cls == 2 || cls == 3) ? 8 : 1;  // cell, struct, object
        if (cls != 5 && count > n / per_element)
            fail("a variable", base + begin,
                 "declares more elements than its " + std::to_string(n) + " bytes can hold (array class " + std::to_string(cls) + ")");
    }

    /// Inflates a compressed variable (at most zlib's largest ratio, 1032:1, of its bytes) and
    /// walks it.
    void walk_compressed(const std::string& body, std::uint64_t offset, int depth) const;
};

/// Elements held in memory (an inflated variable).
struct mat_memory_source {
    const std::string& data;
    void tag(std::uint64_t at, char* out) const { std::memcpy(out, data.data() + at, 8); }
    std::string bytes(std::uint64_t at, std::uint64_t n) const { return data.substr(at, n); }
};

/// Elements read from the file by position: only tags and compressed variables are read.
struct mat_file_source {
    std::ifstream& in;
    const std::string& path;
    void tag(std::uint64_t at, char* out) const {
        in.seekg(std::streamoff(at));
        if (!in.read(out, 8)) throw io_error(path + ": read error at byte " + std::to_string(at));
    }
    std::string bytes(std::uint64_t at, std::uint64_t n) const {
        std::string s(n, '\0');
        in.seekg(std::streamoff(at));
        if (!in.read(s.data(), std::streamsize(n))) throw io_error(path + ": read error at byte " + std::to_string(at));
        return s;
    }
};

inline void mat_layout_walker::walk_compressed(const std::string& body, std::uint64_t offset, int depth) const {
    const std::uint64_t n = body.size(), limit = n * 1032u + 1024u;
    std::string out;
    z_stream zs{};
    if (inflateInit(&zs) != Z_OK) fail("a compressed variable", offset, "could not start zlib");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
    zs.avail_in = uInt(n);
    char chunk[1 << 14];
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(chunk);
        zs.avail_out = sizeof chunk;
        rc = inflate(&zs, Z_NO_FLUSH);
        const std::string msg = zs.msg ? zs.msg : "bad data";
        const bool stalled = rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0;  // input used up before the end
        if (rc == Z_OK || rc == Z_STREAM_END) out.append(chunk, sizeof chunk - zs.avail_out);
        if ((rc != Z_OK && rc != Z_STREAM_END) || stalled || out.size() > limit) {
            inflateEnd(&zs);
            if (out.size() > limit) fail("a compressed variable", offset, "inflates past " + std::to_string(limit) + " bytes from " + std::to_string(n));
            if (stalled) fail("a compressed variable", offset, "ends before its zlib stream does");
            fail("a compressed variable", offset, "does not inflate (zlib: " + msg + ")");
        }
    }
    inflateEnd(&zs);
    walk(mat_memory_source{out}, 0, out.size(), offset, depth, false);
}

}  // namespace detail

/// The kinds of .mat file b2m hands to matio.
enum class mat_version { v5, v73 };

/// Reads the 128-byte header before matio sees the file (matio's own v4 fallback trusts sizes
/// in any short or unknown file). Ensures: a v5/v7 file has passed the layout walk (see the
/// file comment); a v7.3 file (HDF5) is only recognised; anything else is an io_error.
inline mat_version check_mat_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw io_error(path + ": cannot open .mat file");
    const std::uint64_t size = std::uint64_t(in.tellg());
    if (size < 128)
        throw io_error(path + ": not a MATLAB .mat file b2m reads (v5/v7 or v7.3): " + std::to_string(size) +
                       " bytes, under the 128-byte header");
    unsigned char h[4];
    in.seekg(124);
    in.read(reinterpret_cast<char*>(h), 4);
    detail::mat_layout_walker w{path, false};
    if (h[2] == 'M' && h[3] == 'I') w.swap = true;
    else if (!(h[2] == 'I' && h[3] == 'M'))
        throw io_error(path + ": not a MATLAB .mat file b2m reads (v5/v7 or v7.3): no endian mark at byte 126 (MATLAB v4 "
                              "files are not read: save with -v7 or -v7.3)");
    const unsigned version = w.swap ? (h[0] << 8 | h[1]) : (h[1] << 8 | h[0]);
    if (version == 0x0200) return mat_version::v73;
    if (version != 0x0100)
    {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%04x", version);
        throw io_error(path + ": unknown .mat version " + hex + " (b2m reads v5/v7, 0x0100, and v7.3, 0x0200)");
    }
    w.walk(detail::mat_file_source{in, path}, 128, size - 128, 0, 0, false);  // top-level elements are not padded
    return mat_version::v5;
}

}  // namespace b2m::io
