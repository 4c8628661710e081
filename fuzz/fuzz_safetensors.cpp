// fuzz/fuzz_safetensors.cpp - libFuzzer harness for io/safetensors.hpp (an 8-byte header
// length, a JSON header, raw little-endian data).
// Contract under test: any byte string is either read (every tensor then holds exactly
// the element count its shape states) or refused with a b2m::error; never a crash, a hang,
// an out-of-bounds read, a huge allocation or undefined behaviour.
#include <cstdint>
#include <cstdlib>

#include "b2m/io/safetensors.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = b2m_fuzz::as_file(data, size, ".safetensors");
    try {
        const auto arrays = b2m::io::read_safetensors(path);
        for (const auto& a : arrays) {
            std::size_t n = 1;
            for (auto d : a.shape) n *= d;
            if (a.count() != n) std::abort();
        }
    } catch (const b2m::error&) {
    }
    return 0;
}
