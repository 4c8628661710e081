// tools/formats.cpp - read_array (tools/cli.hpp): the file formats the command line takes,
// chosen by extension: .npy (any byte order, float16, strings; b2m/io/array_file.hpp),
// "file.npz:member", "file.mat:variable" (v5 and v7.3 through matio, b2m/io/mat.hpp, when
// built with B2M_WITH_MATIO), .csv / .tsv (brain::load_csv, one optional header line).
#include "cli.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "b2m/brain/npy.hpp"
#include "b2m/io/array_file.hpp"
#if defined(B2M_HAVE_MATIO)
#include "b2m/io/mat.hpp"
#endif
#if defined(B2M_WITH_IO)
#include "b2m/io/zip.hpp"  // the optional component b2m::io (zlib): .npz members
#endif

namespace b2m::cli {

namespace {

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}
bool ends_with(const std::string& s, const std::string& e) { return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0; }

/// "archive.npz:member" -> (archive.npz, member) when the part before the last ':' names an
/// .npz or .mat; else (spec, "").
std::pair<std::string, std::string> split_member(const std::string& spec) {
    const auto colon = spec.rfind(':');
    if (colon != std::string::npos && colon > 0) {
        const std::string file = spec.substr(0, colon), ext = lower(file);
        if (ends_with(ext, ".npz") || ends_with(ext, ".mat")) return {file, spec.substr(colon + 1)};
    }
    return {spec, ""};
}

/// Prefixes the role ("--stimuli") to an error whose text names the file.
[[noreturn]] void rethrow(const std::string& role, const std::exception& e) {
    throw input_error(role.empty() ? std::string(e.what()) : role + " " + e.what());
}

io::array_data read_csv(const std::string& path, char delimiter) {
    try {
        const auto m = brain::load_csv<double>(path, delimiter);
        io::array_data d;
        d.source = path, d.dtype = "csv", d.shape = {m.shape(0), m.shape(1)};
        d.values.assign(m.begin(), m.end());
        return d;
    } catch (const b2m::error& first) {
        // One header line of column names is allowed: retry without it.
        std::ifstream in(path);
        std::string line;
        std::getline(in, line);
        bool names = false;
        for (char c : line) names = names || std::isalpha(static_cast<unsigned char>(c));
        if (!names || line.find("nan") != std::string::npos || line.find("inf") != std::string::npos) throw;
        const auto m = brain::load_csv<double>(path, delimiter, 1);
        io::array_data d;
        d.source = path, d.dtype = "csv", d.shape = {m.shape(0), m.shape(1)};
        d.values.assign(m.begin(), m.end());
        return d;
    }
}

} // namespace

io::array_data read_array(const std::string& spec, const std::string& role) {
    const auto [file, member] = split_member(spec);
    const std::string ext = lower(file);
    try {
        if (ends_with(ext, ".npz")) {
            if (member.empty())
                throw input_error(file + ": name the array inside the .npz archive, e.g. " + file + ":responses");
#if defined(B2M_WITH_IO)
            io::zip_reader z(file);  // validates the archive (sizes, inflation, CRC)
            std::string names;
            for (const auto& m : z.members()) {
                if (m.name == member + ".npy" || m.name == member) return io::parse_npy_any(z.read(m), file + ":" + member);
                const std::string n = m.name.size() > 4 && m.name.compare(m.name.size() - 4, 4, ".npy") == 0
                                          ? m.name.substr(0, m.name.size() - 4) : m.name;
                names += (names.empty() ? "" : ", ") + n;
            }
            throw input_error(file + ":" + member + ": no array of that name in the archive (it holds: " +
                              (names.empty() ? "nothing" : names) + ")");
#else
            throw input_error(spec + ": this b2m was built without .npz support (component b2m::io, needs zlib); "
                                     "save the array as .npy");
#endif
        }
        if (ends_with(ext, ".mat")) {
#if defined(B2M_HAVE_MATIO)
            std::string var = member;
            if (var.empty()) {
                const auto names = io::mat_variables(file);
                if (names.size() != 1) {
                    std::string list;
                    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
                    throw input_error(file + ": name the variable, e.g. " + file + ":" + (names.empty() ? "x" : names[0]) +
                                      " (the file holds: " + (list.empty() ? "no variables" : list) + ")");
                }
                var = names[0];
            }
            return io::read_mat_variable(file, var);
#else
            throw input_error(spec + ": this b2m was built without MATLAB support (configure with -DB2M_WITH_MATIO=ON and "
                                     "libmatio-dev installed), or save the variable as .npy");
#endif
        }
        if (ends_with(ext, ".csv")) return read_csv(file, ',');
        if (ends_with(ext, ".tsv") || ends_with(ext, ".tab")) return read_csv(file, '\t');
        return io::read_npy_any(file);
    } catch (const b2m::error& e) {
        rethrow(role, e);
    }
}

} // namespace b2m::cli
