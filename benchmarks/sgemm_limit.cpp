// The GEMM-bound limit of each workload (../shared/BENCHMARKS.md): the matrix products one
// training step (ridge: one fit + predict) must do, each timed with OpenBLAS sgemm alone on
// its exact shape and transposition. The limit is the sum of those times; a workload's
// fraction_of_gemm_limit = limit seconds / measured seconds per step (1.0 = nothing but
// GEMM at OpenBLAS speed).
// Prints key=value: gemm_seconds (per step), gemm_gflop (per step), gemm_gflops (rate); for
// ridge also gemm_seconds_two_pass / gemm_gflop_two_pass (the products of the earlier
// two-pass fit, for comparison with figures measured against that limit).
//   sgemm_limit --workload=mlp|gru|conv|ridge [--threads=2] [--ridge-targets=20000] [--batch=64 (conv)]
#include "bench_common.hpp"

#include <b2m/core/gemm.hpp>
#include <b2m/core/parallel.hpp>
#include <b2m/core/rng.hpp>

#include <algorithm>
#include <vector>

using namespace b2m;

namespace {
struct shape {
    bool ta, tb;
    std::size_t m, n, k;
    double count;  // how many times a step does this product
};

std::vector<shape> mlp_shapes() {
    const std::size_t B = 256;
    return {
        // forward: student, task head, projection heads, similarity S = u v^T
        {false, false, B, 512, 784, 1}, {false, false, B, 256, 512, 1}, {false, false, B, 10, 256, 1},
        {false, false, B, 128, 256, 1}, {false, false, B, 128, 2000, 1}, {false, true, B, B, 128, 1},
        // backward: dS -> du, dv; heads (weights; input grad of the student head only)
        {false, false, B, 128, B, 1}, {true, false, B, 128, B, 1},
        {true, false, 256, 128, B, 1}, {false, true, B, 256, 128, 1}, {true, false, 2000, 128, B, 1},
        // task head, dense 2 (weights + input grad), dense 1 (weights only: no input grad)
        {true, false, 256, 10, B, 1}, {false, true, B, 256, 10, 1},
        {true, false, 512, 256, B, 1}, {false, true, B, 512, 256, 1}, {true, false, 784, 512, B, 1},
    };
}

std::vector<shape> gru_shapes() {
    const std::size_t B = 64, T = 50, F = 8, H = 128, G = 3 * H, K = 32;
    return {
        {false, false, B * T, G, F, 1},      // input projections of all steps
        {false, false, B, G, H, T - 1},      // h(t-1) W_hh for t >= 1 (h(-1) = 0)
        {false, false, B * T, K, H, 1},      // latent head at every step
        {false, false, B, 2, H, 1},          // decision head
        {true, false, H, 2, B, 1}, {false, true, B, H, 2, 1},          // decision head backward
        {true, false, H, K, B * T, 1}, {false, true, B * T, H, K, 1},  // latent head backward
        {false, true, B, H, G, T - 1},       // dh(t-1) = dgates W_hh^T
        {true, false, H, G, B * (T - 1), 1}, // dW_hh
        {true, false, F, G, B * T, 1},       // dW_ih (no input gradient)
    };
}

/// B2M-Conv (batch B): the im2col products of the four convolutions over the whole batch
/// (forward W col, dW = dY col^T, dcol = W^T dY; no input gradient for V1), the three
/// encoders, the head C and the decoder.
std::vector<shape> conv_shapes(std::size_t B = 64) {
    struct conv { std::size_t co, r, p; bool input_grad; };
    const conv convs[] = {{64, 3 * 49, 32 * 32, false}, {128, 64 * 9, 16 * 16, true},
                          {256, 128 * 9, 8 * 8, true}, {512, 256 * 9, 4 * 4, true}};
    std::vector<shape> v;
    for (const conv& c : convs) {
        v.push_back({false, false, c.co, B * c.p, c.r, 1});             // Y = W col
        v.push_back({false, true, c.co, c.r, B * c.p, 1});              // dW = dY col^T
        if (c.input_grad) v.push_back({true, false, c.r, B * c.p, c.co, 1});  // dcol = W^T dY
    }
    for (std::size_t f : {std::size_t(128 * 64), std::size_t(256 * 16), std::size_t(512 * 4)}) {
        v.push_back({false, false, B, 128, f, 1});  // encoder
        v.push_back({true, false, f, 128, B, 1});   // its weight gradient
        v.push_back({false, true, B, f, 128, 1});   // its input gradient
    }
    v.push_back({false, false, B, 100, 384, 1});  // head C, forward and backward
    v.push_back({true, false, 384, 100, B, 1});
    v.push_back({false, true, B, 384, 100, 1});
    v.push_back({false, false, B, 100, 512, 1});  // decoder
    v.push_back({true, false, 512, 100, B, 1});
    v.push_back({false, true, B, 512, 100, 1});
    return v;
}

// The GEMMs of b2m_ridge's fit (ridge_cv::fit_pearson, exact LOO with an alpha per target,
// keep_coef = false): one pass over blocks of targets, per block Z = U^T Yc, one
// n x block x p product per alpha (the LOO residual, made in place from the previous
// alpha's), the test predictions ((X_test - mean) V) diag(.) Z; once, (X_test - mean) V.
std::vector<shape> ridge_shapes(std::size_t targets) {
    const std::size_t n = 4000, p = 1024, nte = 1000, na = 10;
    const std::size_t block = std::min<std::size_t>(targets, (std::size_t(32) << 20) / (n * sizeof(float)));
    const double blocks = double(targets) / double(block);
    return {
        {true, false, p, block, n, blocks},          // Z = U^T Y
        {false, false, n, block, p, na * blocks},    // the LOO residual, one product per alpha
        {false, false, nte, block, p, blocks},       // test predictions
        {false, false, nte, p, p, 1},                // (X_test - mean) V, once
    };
}

// The GEMMs of the two-pass fit that b2m_ridge ran before (LOO errors, then the fit again
// with coefficients, then model.predict): printed as gemm_seconds_two_pass for comparison.
std::vector<shape> ridge_two_pass_shapes(std::size_t targets) {
    const std::size_t n = 4000, p = 1024, nte = 1000, na = 10;
    const std::size_t block = std::min<std::size_t>(targets, (std::size_t(32) << 20) / (n * sizeof(float)));
    const double blocks = double(targets) / double(block);
    return {
        {true, false, p, block, n, 2 * blocks},          // Z = U^T Y (LOO pass and final fit)
        {false, false, n, block, p, (1 + na) * blocks},  // residual Y - U Z, and U diag(f_a) Z per alpha
        {false, false, p, block, p, blocks},             // coefficients V diag(.) Z
        {false, false, nte, block, p, blocks},           // test predictions
    };
}

/// Median over 5 trials of the seconds of one call of this product.
double time_shape(const shape& s) {
    const std::size_t ar = s.ta ? s.k : s.m, ac = s.ta ? s.m : s.k, br = s.tb ? s.n : s.k, bc = s.tb ? s.k : s.n;
    matrix<float> a = matrix<float>::from_shape({ar, ac}), b = matrix<float>::from_shape({br, bc}),
                  c = xt::zeros<float>({s.m, s.n});
    rng r(1);
    r.fill_normal(a);
    r.fill_normal(b);
    auto call = [&] { gemm_raw<float>(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), ac, b.data(), bc, 1.0f, c.data(), s.n); };
    call();
    const double t0 = bench::now();
    call();
    const double once = std::max(bench::now() - t0, 1e-7);
    const long reps = std::max<long>(1, long(0.02 / once));  // ~20 ms per trial
    std::vector<double> trials;
    for (int trial = 0; trial < 5; ++trial) {
        const double s0 = bench::now();
        for (long i = 0; i < reps; ++i) call();
        trials.push_back((bench::now() - s0) / double(reps));
    }
    std::sort(trials.begin(), trials.end());
    return trials[2];
}
} // namespace

int main(int argc, char** argv) {
    const std::string w = bench::arg(argc, argv, "workload", "mlp");
    set_num_threads(int(bench::arg_int(argc, argv, "threads", 2)));
    std::vector<shape> shapes;
    if (w == "mlp") shapes = mlp_shapes();
    else if (w == "gru") shapes = gru_shapes();
    else if (w == "conv") shapes = conv_shapes(std::size_t(bench::arg_int(argc, argv, "batch", 64)));
    else if (w == "ridge") shapes = ridge_shapes(std::size_t(bench::arg_int(argc, argv, "ridge-targets", 20000)));
    else {
        std::fprintf(stderr, "sgemm_limit: unknown workload '%s' (mlp, gru, conv, ridge)\n", w.c_str());
        return 2;
    }
    // each distinct product timed once
    std::vector<std::pair<shape, double>> timed;
    auto seconds_of = [&](const shape& s) {
        for (const auto& [t, sec] : timed)
            if (t.ta == s.ta && t.tb == s.tb && t.m == s.m && t.n == s.n && t.k == s.k) return sec;
        timed.emplace_back(s, time_shape(s));
        return timed.back().second;
    };
    auto total = [&](const std::vector<shape>& list, double& seconds, double& flop) {
        seconds = 0, flop = 0;
        for (const auto& s : list) {
            seconds += s.count * seconds_of(s);
            flop += s.count * 2.0 * double(s.m) * double(s.n) * double(s.k);
        }
    };
    double seconds = 0, flop = 0;
    total(shapes, seconds, flop);
    std::printf("gemm_seconds=%.6f\ngemm_gflop=%.4f\ngemm_gflops=%.2f\n", seconds, flop * 1e-9, flop * 1e-9 / seconds);
    if (w == "ridge") {
        total(ridge_two_pass_shapes(std::size_t(bench::arg_int(argc, argv, "ridge-targets", 20000))), seconds, flop);
        std::printf("gemm_seconds_two_pass=%.6f\ngemm_gflop_two_pass=%.4f\n", seconds, flop * 1e-9);
    }
    return 0;
}
