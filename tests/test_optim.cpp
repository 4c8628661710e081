// Optimisers against torch.optim trajectories (tests/fixtures/make_optim_fixtures.py),
// clipping and schedules.
#include <doctest/doctest.h>

#include <b2m/core/rng.hpp>
#include <b2m/core/small_gemm.hpp>
#include <b2m/optim.hpp>

#include <xtensor/xmath.hpp>
#include <xtensor/xsort.hpp>

#include <map>
#include <string>
#include <vector>

using namespace b2m;

namespace {
const double c[4][3] = {{1.0, 0.5, -0.3}, {0.2, -1.0, 0.7}, {0.9, 0.1, 0.4}, {-0.5, 0.3, 1.1}};
const double d[4][3] = {{0.1, -0.2, 0.3}, {0.0, 0.4, -0.1}, {0.2, 0.2, 0.2}, {-0.3, 0.1, 0.0}};

/// Four steps with g_t = p * c_t + d_t from p0 = [0.5, -1, 2], as the fixture script does.
template <class Opt>
matrix<double> run(Opt opt) {
    matrix<double> p = {{0.5, -1.0, 2.0}};
    matrix<double> g = xt::zeros<double>({1, 3});
    auto visit = [&](auto&& f) { f("p", p, g); };
    for (int t = 0; t < 4; ++t) {
        for (int i = 0; i < 3; ++i) g(0, i) = p(0, i) * c[t][i] + d[t][i];
        opt.step(visit);
        for (int i = 0; i < 3; ++i) CHECK(g(0, i) == 0.0);  // consumed gradients are zeroed
    }
    return p;
}

void check_close(const matrix<double>& p, std::vector<double> expected) {
    for (int i = 0; i < 3; ++i) CHECK(p(0, i) == doctest::Approx(expected[i]).epsilon(1e-12));
}
} // namespace

TEST_CASE("SGD, momentum, weight decay and Nesterov follow torch.optim.SGD") {
    check_close(run(optim::sgd{{.lr = 0.1}}.make<double>()), {0.4210116, -1.0501989000000003, 1.6037657599999997});
    check_close(run(optim::sgd{{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01}}.make<double>()),
                {0.20690034549049996, -1.107545245411, 1.3544676282119998});
    check_close(run(optim::sgd{{.lr = 0.1, .momentum = 0.9, .nesterov = true}}.make<double>()),
                {0.16888798986, -1.12990391349, 1.083130721096});
}

TEST_CASE("Adam (L2) and AdamW (decoupled) follow torch.optim") {
    check_close(run(optim::adam{{.lr = 0.1}}.make<double>()), {0.20316999742493078, -0.9819288408478796, 1.8843472945271764});
    check_close(run(optim::adam{{.lr = 0.1, .weight_decay = 0.1}}.make<double>()),
                {0.19235118240058124, -0.9504439504152357, 1.8604002138451499});
    check_close(run(optim::adamw{{.lr = 0.1, .weight_decay = 0.1}}.make<double>()),
                {0.18893282655401128, -0.9442905368220388, 1.804823087226746});
}

TEST_CASE("gradient-norm clipping scales all gradients together") {
    matrix<double> a = xt::zeros<double>({1, 2}), b = xt::zeros<double>({1, 1});
    matrix<double> ga = {{3.0, 0.0}}, gb = {{4.0}};
    auto visit = [&](auto&& f) {
        f("a", a, ga);
        f("b", b, gb);
    };
    CHECK(optim::clip_grad_norm<double>(visit, 1.0) == doctest::Approx(5.0));
    CHECK(ga(0, 0) == doctest::Approx(0.6).epsilon(1e-6));
    CHECK(gb(0, 0) == doctest::Approx(0.8).epsilon(1e-6));
    CHECK(optim::clip_grad_norm<double>(visit, 10.0) == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(ga(0, 0) == doctest::Approx(0.6).epsilon(1e-6));  // below the bound: unchanged
}

TEST_CASE("learning-rate schedules") {
    optim::step_lr s{.step_size = 2, .gamma = 0.5};
    CHECK(s.next(1.0, 0, 0) == 1.0);
    CHECK(s.next(1.0, 1, 0) == 0.5);
    CHECK(s.next(1.0, 3, 0) == 0.25);
    optim::cosine cs{.t_max = 10, .eta_min = 0.0};
    CHECK(cs.next(1.0, 4, 0) == doctest::Approx(0.5));
    CHECK(cs.next(1.0, 9, 0) == doctest::Approx(0.0));
    optim::reduce_on_plateau p{.factor = 0.5, .patience = 1};
    CHECK(p.next(1.0, 0, 10.0) == 1.0);
    CHECK(p.next(1.0, 1, 10.0) == 1.0);  // one bad epoch: within patience
    CHECK(p.next(1.0, 2, 10.0) == 0.5);  // two: reduce
    CHECK(p.next(1.0, 3, 5.0) == 0.5);   // improvement resets
}

TEST_CASE("float Adam and AdamW over several parameters agree with double on every instruction set") {
    // Parameters of odd sizes (the largest spans several threads' slices), one in a group
    // with its own lr scale and weight decay; 5 steps with given gradients (bounded away
    // from 0, where Adam's update m / sqrt(v) is ill-conditioned), float against the same
    // optimiser in double (checked against torch.optim above). Relative to the largest
    // parameter entry; the consumed gradients are zeroed.
    const std::vector<std::size_t> sizes = {70001, 3, 129, 17};
    auto run_all = [&](auto spec, auto tag, std::vector<matrix<double>>& out) {
        using T = decltype(tag);
        auto opt = spec.template make<T>();
        std::vector<matrix<T>> p, g;
        for (std::size_t k = 0; k < sizes.size(); ++k) {
            matrix<double> init = matrix<double>::from_shape({1, sizes[k]});
            rng(40 + k).fill_normal(init);
            p.push_back(xt::cast<T>(init));
            g.push_back(xt::zeros<T>({std::size_t(1), sizes[k]}));
        }
        const char* names[] = {"0.weight", "1.weight", "2.bias", "3.bias"};
        auto visit = [&](auto&& f) {
            for (std::size_t k = 0; k < p.size(); ++k) f(names[k], p[k], g[k]);
        };
        for (int t = 0; t < 5; ++t) {
            for (std::size_t k = 0; k < p.size(); ++k)
                for (std::size_t i = 0; i < sizes[k]; ++i)
                    g[k](0, i) = T(((i + k + std::size_t(t)) % 2 ? 1 : -1) * (0.05 + 0.01 * double((i * 7 + k) % 13)));
            opt.step(visit);
            for (std::size_t k = 0; k < p.size(); ++k) REQUIRE(xt::amax(xt::abs(g[k]))() == T(0));
        }
        out.clear();
        for (auto& v : p) out.push_back(xt::cast<double>(v));
    };
    const std::vector<optim::param_group> groups = {{.prefixes = {"1."}, .lr_scale = 0.5, .weight_decay = 0.2}};
    const simd_isa best = active_simd_isa();
    const int threads0 = num_threads();
    for (int decoupled = 0; decoupled < 2; ++decoupled) {
        CAPTURE(decoupled);
        const optim::adam_options o{.lr = 0.05, .weight_decay = 0.01, .groups = groups};
        std::vector<matrix<double>> ref, got;
        if (decoupled) run_all(optim::adamw{o}, double{}, ref);
        else run_all(optim::adam{o}, double{}, ref);
        for (simd_isa isa : {simd_isa::sse2, simd_isa::avx2, simd_isa::avx512}) {
            if (int(isa) > int(best)) continue;
            for (int threads : {1, 2}) {
                CAPTURE(int(isa));
                CAPTURE(threads);
                set_simd_isa(isa);
                set_num_threads(threads);
                if (decoupled) run_all(optim::adamw{o}, float{}, got);
                else run_all(optim::adam{o}, float{}, got);
                double err = 0, scale = 0;
                for (std::size_t k = 0; k < ref.size(); ++k) {
                    err = std::max(err, double(xt::amax(xt::abs(got[k] - ref[k]))()));
                    scale = std::max(scale, double(xt::amax(xt::abs(ref[k]))()));
                }
                CHECK(err / scale < 1e-5);
            }
        }
    }
    set_simd_isa(best);
    set_num_threads(threads0);
}
