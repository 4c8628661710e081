// fuzz/fuzz_csv.cpp - libFuzzer harness for brain::load_csv.
// The first byte picks the delimiter (',', ';', '\t', ' ') and the rows to skip (0-3); the
// rest is the file. Loaded: a rectangular matrix with rows x cols cells. Otherwise a
// b2m::error. Anything else (crash, UB, other exception) is a finding.
#include <cstdint>
#include <cstdlib>

#include "b2m/brain/npy.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static const char delims[] = {',', ';', '\t', ' '};
    const char delim = delims[data[0] & 3];
    const std::size_t skip = (data[0] >> 2) & 3;
    const std::string& path = b2m_fuzz::as_file(data + 1, size - 1, ".csv");
    try {
        const auto m = b2m::brain::load_csv<double>(path, delim, skip);
        if (m.shape(0) == 0 || m.size() != m.shape(0) * m.shape(1)) std::abort();
        const auto f = b2m::brain::load_csv<float>(path, delim, skip);
        if (f.shape(0) != m.shape(0) || f.shape(1) != m.shape(1)) std::abort();
    } catch (const b2m::error&) {
    }
    return 0;
}
