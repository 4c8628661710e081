// fuzz/fuzz_npz.cpp - libFuzzer harness for the weight reader of .npz archives
// (io/zip.hpp + io/npz.hpp: stored and deflated members, each a .npy).
// Contract under test: any byte string is either read (every array then holds exactly the
// element count its shape states) or refused with a b2m::error; never a crash, a hang, an
// out-of-bounds read, a huge allocation or undefined behaviour.
// fuzz-flags: -lz
#include <cstdint>
#include <cstdlib>

#include "b2m/io/npz.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = b2m_fuzz::as_file(data, size, ".npz");
    try {
        const auto arrays = b2m::io::read_npz(path);
        for (const auto& a : arrays) {
            std::size_t n = 1;
            for (auto d : a.shape) n *= d;
            if (a.count() != n) std::abort();
        }
    } catch (const b2m::error&) {
    }
    return 0;
}
