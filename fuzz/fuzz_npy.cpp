// fuzz/fuzz_npy.cpp - libFuzzer harness for brain::read_npy_header / load_npy.
// Contract under test: any byte string is either loaded (and then has exactly the shape
// and count its header states) or refused with a b2m::error; never a crash, a hang, an
// out-of-bounds read or undefined behaviour. Any other exception is a finding.
#include <cstdint>
#include <cstdlib>

#include "b2m/brain/npy.hpp"
#include "fuzz_common.hpp"

namespace {
template <class T, std::size_t N>
void try_load(const std::string& path, const b2m::brain::npy_header& h) {
    try {
        const auto t = b2m::brain::load_npy<T, N>(path);
        if (t.size() != h.count()) std::abort();
        for (std::size_t d = 0; d < N; ++d)
            if (t.shape(d) != h.shape[d]) std::abort();
    } catch (const b2m::error&) {
    }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = b2m_fuzz::as_file(data, size, ".npy");
    b2m::brain::npy_header h;
    try {
        h = b2m::brain::read_npy_header(path);
    } catch (const b2m::error&) {
        return 0;
    }
    if (h.data_offset + h.count() * h.itemsize > size) std::abort();  // validated size must hold
    switch (h.shape.size()) {
    case 1: try_load<double, 1>(path, h); try_load<float, 1>(path, h); break;
    case 2: try_load<double, 2>(path, h); try_load<float, 2>(path, h); break;
    case 3: try_load<float, 3>(path, h); break;
    case 4: try_load<double, 4>(path, h); break;
    default: try_load<double, 2>(path, h);  // rank mismatch must be a shape_error
    }
    return 0;
}
