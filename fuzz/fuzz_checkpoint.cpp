// fuzz/fuzz_checkpoint.cpp - libFuzzer harness for train::checkpoint_reader.
// The checksum would stop almost every mutation at the door, so when the first byte is odd
// the harness wraps the rest as magic + body + the correct FNV-1a checksum: the entry
// parser itself is then reached. The reader is visited the way a trainer visits it (a
// validating pass, then an applying pass) with a fixed schema, then with a second schema.
// Contract: a b2m::error, or success with every value in place; nothing else.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "b2m/train/checkpoint.hpp"
#include "fuzz_common.hpp"

namespace {
template <class R>
void visit_a(R& ar, b2m::matrix<float>& w, b2m::matrix<double>& b, std::uint64_t& epoch, double& lr) {
    ar.tensor("w", w);
    ar.tensor("b", b);
    ar.u64("fit.epoch", epoch);
    ar.f64("lr", lr);
}
template <class R>
void visit_b(R& ar, std::uint64_t& epoch, b2m::matrix<float>& big) {
    ar.u64("fit.epoch", epoch);
    ar.tensor("big", big);
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string bytes;
    if (data[0] & 1) {
        bytes.assign(b2m::train::detail::checkpoint_magic, 8);
        bytes.append(reinterpret_cast<const char*>(data + 1), size - 1);
        const std::uint64_t sum = b2m::train::detail::fnv1a(bytes.data(), bytes.size());
        bytes.append(reinterpret_cast<const char*>(&sum), sizeof sum);
    } else {
        bytes.assign(reinterpret_cast<const char*>(data + 1), size - 1);
    }
    const std::string& path =
        b2m_fuzz::as_file(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), ".ckpt");
    try {  // the generic entry walk used to check a saved epoch before resuming
        (void)b2m::train::checkpoint_u64(path, "fit.epoch");
    } catch (const b2m::error&) {
    }
    try {
        b2m::train::checkpoint_reader r(path);
        b2m::matrix<float> w = b2m::matrix<float>::from_shape({2, 3});
        b2m::matrix<double> b = b2m::matrix<double>::from_shape({1, 3});
        std::uint64_t epoch = 0;
        double lr = 0;
        try {
            r.begin(false);
            visit_a(r, w, b, epoch, lr);
            r.finish();
            r.begin(true);
            visit_a(r, w, b, epoch, lr);
            r.finish();
        } catch (const b2m::error&) {
        }
        b2m::matrix<float> big = b2m::matrix<float>::from_shape({8, 8});
        r.begin(false);
        visit_b(r, epoch, big);
        r.finish();
        r.begin(true);
        visit_b(r, epoch, big);
        r.finish();
    } catch (const b2m::error&) {
    }
    return 0;
}
