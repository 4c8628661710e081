// fuzz/fuzz_mat.cpp - libFuzzer harness for the MATLAB .mat reader (io/mat.hpp over matio:
// v5 files, plain and zlib-compressed; v7.3 files go to libhdf5).
// Contract under test: any byte string is either read (every numeric variable then holds
// exactly the element count its shape states; text variables one string per element) or
// refused with a b2m::error; never a crash, a hang, an out-of-bounds read, a huge
// allocation or undefined behaviour in b2m's code. matio itself is not instrumented: a
// crash inside it still shows up as a deadly signal with its stack.
// fuzz-flags: -lmatio -lz
#include <cstdint>
#include <cstdlib>

#include "b2m/io/mat.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = b2m_fuzz::as_file(data, size, ".mat");
    try {
        const auto names = b2m::io::mat_variables(path);
        std::size_t tried = 0;
        for (const auto& name : names) {
            if (++tried > 4) break;
            try {
                const auto a = b2m::io::read_mat_variable(path, name);
                std::size_t n = 1;
                for (auto d : a.shape) n *= d;
                if ((a.dtype == "mat-text" ? a.text.size() : a.values.size()) != n) std::abort();
            } catch (const b2m::error&) {
            }
        }
    } catch (const b2m::error&) {
    }
    return 0;
}
