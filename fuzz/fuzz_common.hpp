// fuzz/fuzz_common.hpp - what the libFuzzer harnesses share: the input as a file on disk
// (b2m's loaders take paths), one file per process, removed at exit.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace b2m_fuzz {

/// Writes data to a per-process temporary file and returns its path.
inline const std::string& as_file(const std::uint8_t* data, std::size_t size, const char* suffix) {
    static const std::string path = [&] {
        const char* dir = std::getenv("TMPDIR");
        std::string p = std::string(dir && *dir ? dir : "/tmp") + "/b2m_fuzz_" + std::to_string(::getpid()) + suffix;
        static std::string keep;
        keep = p;
        std::atexit([] { std::remove(keep.c_str()); });
        return p;
    }();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();
    if (size && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
    return path;
}

} // namespace b2m_fuzz
