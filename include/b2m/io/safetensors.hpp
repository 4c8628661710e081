// b2m/io/safetensors.hpp - Hugging Face .safetensors files: an 8-byte little-endian header
// length N, N bytes of JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets":
// [begin, end]}, "__metadata__": {...}}, then the raw little-endian data (offsets are
// relative to the byte after the header).
//
//   std::vector<io::array> t = io::read_safetensors("model.safetensors");
//   io::write_safetensors("out.safetensors", t);          // atomic
//
// Validation before any tensor is allocated: N fits in the file (and is below 100 MB, as
// the format requires), the header is a JSON object, names are unique, every dtype is
// known, every [begin, end) lies inside the data area and holds exactly
// prod(shape) * itemsize bytes, and tensors do not overlap. Errors are io_error /
// data_error naming the file and the tensor. JSON is parsed by nlohmann-json.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "b2m/io/array.hpp"
#include "b2m/io/zip.hpp"

namespace b2m::io {

namespace detail {
/// safetensors dtype -> numpy descr ("" when unknown).
inline std::string st_to_descr(const std::string& d) {
    if (d == "F32") return "<f4";
    if (d == "F64") return "<f8";
    if (d == "F16") return "<f2";
    if (d == "BF16") return "bf16";
    if (d == "I64") return "<i8";
    if (d == "I32") return "<i4";
    if (d == "I16") return "<i2";
    if (d == "I8") return "|i1";
    if (d == "U8") return "|u1";
    if (d == "U16") return "<u2";
    if (d == "U32") return "<u4";
    if (d == "U64") return "<u8";
    if (d == "BOOL") return "|b1";
    return "";
}
inline std::string descr_to_st(const std::string& d) {
    for (const char* s : {"F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "U16", "U32", "U64", "BOOL"})
        if (st_to_descr(s) == d) return s;
    return "";
}
} // namespace detail

/// Every tensor of the file, in order of their data offsets.
inline std::vector<array> read_safetensors(const std::string& path) {
    std::error_code ec;
    const std::uint64_t fsize = std::filesystem::file_size(path, ec);
    if (ec) throw io_error(path + ": cannot open safetensors file (" + ec.message() + ")");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(path + ": cannot open safetensors file for reading");
    if (fsize < 8) throw io_error(path + ": not a safetensors file (" + std::to_string(fsize) + " bytes; truncated?)");
    unsigned char l8[8];
    detail::read_at(in, 0, reinterpret_cast<char*>(l8), 8, path);
    const std::uint64_t n = detail::le64(l8);
    if (n > 100'000'000ull)
        throw io_error(path + ": not a safetensors file (header length " + std::to_string(n) +
                       " exceeds the format's 100 MB limit; wrong magic?)");
    if (n + 8 > fsize)
        throw io_error(path + ": truncated safetensors file: header claims " + std::to_string(n) +
                       " bytes but the file has " + std::to_string(fsize));
    std::string text(n, '\0');
    detail::read_at(in, 8, text.data(), n, path);
    if (n == 0 || text[0] != '{') throw io_error(path + ": not a safetensors file (header is not a JSON object)");
    std::vector<std::string> keys;
    std::set<std::string> seen;
    std::string dup;
    nlohmann::json h;
    try {
        h = nlohmann::json::parse(text, [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& v) {
            if (ev == nlohmann::json::parse_event_t::key && depth == 1) {
                const std::string k = v.get<std::string>();
                if (!seen.insert(k).second && dup.empty()) dup = k;
            }
            return true;
        });
    } catch (const nlohmann::json::exception& e) {
        throw io_error(path + ": corrupt safetensors header (JSON: " + e.what() + ")");
    }
    if (!dup.empty()) throw io_error(path + ": duplicate tensor '" + dup + "' in the safetensors header");
    if (!h.is_object()) throw io_error(path + ": corrupt safetensors header (not a JSON object)");
    const std::uint64_t data_size = fsize - 8 - n;
    struct span {
        std::uint64_t b, e;
        std::string name;
    };
    std::vector<array> out;
    std::vector<span> spans;
    for (auto it = h.begin(); it != h.end(); ++it) {
        if (it.key() == "__metadata__") continue;
        const std::string what = path + ": tensor '" + it.key() + "'";
        const auto& t = it.value();
        if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") || !t.contains("data_offsets") ||
            !t["dtype"].is_string() || !t["shape"].is_array() || !t["data_offsets"].is_array() ||
            t["data_offsets"].size() != 2)
            throw io_error(what + ": header entry needs dtype, shape and data_offsets [begin, end]");
        array a;
        a.name = it.key();
        a.dtype = detail::st_to_descr(t["dtype"].get<std::string>());
        if (a.dtype.empty())
            throw data_error(what + ": unsupported dtype '" + t["dtype"].get<std::string>() +
                             "' (b2m reads F64 F32 F16 BF16 I64 I32 I16 I8 U8 U16 U32 U64 BOOL)");
        for (const auto& s : t["shape"]) {
            if (!s.is_number_unsigned()) throw io_error(what + ": shape entries must be non-negative integers");
            a.shape.push_back(s.get<std::size_t>());
        }
        const auto& off = t["data_offsets"];
        if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            throw io_error(what + ": data_offsets must be non-negative integers");
        const std::uint64_t b = off[0].get<std::uint64_t>(), e = off[1].get<std::uint64_t>();
        if (b > e || e > data_size)
            throw io_error(what + ": data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                           ") lie outside the " + std::to_string(data_size) + " data bytes of the file (truncated?)");
        std::uint64_t bytes = dtype_size(a.dtype);
        for (auto s : a.shape) {
            if (s != 0 && bytes > data_size / s + 1)
                throw io_error(what + ": shape " + shape_string(a.shape) + " needs more than the file's " +
                               std::to_string(data_size) + " data bytes");
            bytes *= s;
        }
        if (bytes != e - b)
            throw io_error(what + ": shape " + shape_string(a.shape) + " of " + t["dtype"].get<std::string>() +
                           " needs " + std::to_string(bytes) + " bytes but data_offsets span " + std::to_string(e - b));
        spans.push_back({b, e, a.name});
        out.push_back(std::move(a));
    }
    std::vector<std::size_t> order(out.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](auto x, auto y) { return spans[x].b < spans[y].b; });
    for (std::size_t k = 1; k < order.size(); ++k)
        if (spans[order[k]].b < spans[order[k - 1]].e)
            throw io_error(path + ": tensors '" + spans[order[k - 1]].name + "' and '" + spans[order[k]].name +
                           "' overlap in the data area");
    std::vector<array> sorted;
    for (auto i : order) {
        out[i].bytes.resize(spans[i].e - spans[i].b);
        if (!out[i].bytes.empty())
            detail::read_at(in, 8 + n + spans[i].b, out[i].bytes.data(), out[i].bytes.size(),
                            path + ": tensor '" + out[i].name + "'");
        sorted.push_back(std::move(out[i]));
    }
    return sorted;
}

/// Writes arrays (unique names) as .safetensors atomically, data in the given order, the
/// header padded with spaces to a multiple of 8 bytes.
inline void write_safetensors(const std::string& path, const std::vector<array>& arrays,
                              const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
    nlohmann::json h = nlohmann::json::object();
    std::uint64_t off = 0;
    for (const auto& a : arrays) {
        if (h.contains(a.name)) throw io_error(path + ": duplicate tensor '" + a.name + "'");
        const std::string st = detail::descr_to_st(a.dtype);
        if (st.empty()) throw data_error(path + ": tensor '" + a.name + "': dtype '" + a.dtype + "' has no safetensors name");
        if (a.bytes.size() != a.count() * dtype_size(a.dtype))
            throw data_error(path + ": tensor '" + a.name + "': bytes do not match shape " + shape_string(a.shape));
        h[a.name] = {{"dtype", st}, {"shape", a.shape}, {"data_offsets", {off, off + a.bytes.size()}}};
        off += a.bytes.size();
    }
    if (!metadata.empty()) {
        nlohmann::json m = nlohmann::json::object();
        for (const auto& [k, v] : metadata) m[k] = v;
        h["__metadata__"] = m;
    }
    std::string text = h.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string out;
    out.reserve(8 + text.size() + off);
    for (int i = 0; i < 8; ++i) out.push_back(char((std::uint64_t(text.size()) >> (8 * i)) & 0xff));
    out += text;
    for (const auto& a : arrays) out += a.bytes;
    detail::write_file_atomically(path, out);
}

} // namespace b2m::io
