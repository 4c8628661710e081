// Ridge encoding (../shared/BENCHMARKS.md): X 4000 x 1024, Y 4000 x T targets (float32),
// 10 alphas log-spaced 1e-2..1e5, alpha chosen per target by exact leave-one-out (the
// criterion of scikit-learn's RidgeCV(alphas, alpha_per_target=True) with cv=None, its
// "GCV" path), prediction of the 1000-row test set, Pearson r per target.
// Writes OUT/b2m_ridge_r.npy (r per target) and OUT/b2m_ridge_alpha.npy (chosen alphas).
// Prints key=value: seconds (fit + predict + r), fit_seconds, peak_rss_mb.
//   b2m_ridge --data=DIR --out=DIR [--threads=2]
#include "bench_common.hpp"

#include <b2m/brain/npy.hpp>
#include <b2m/brain/ridge.hpp>
#include <b2m/core/parallel.hpp>

#include <cmath>

using namespace b2m;

int main(int argc, char** argv) {
    const std::string dir = bench::arg(argc, argv, "data", ".");
    const std::string out = bench::arg(argc, argv, "out", ".");
    set_num_threads(int(bench::arg_int(argc, argv, "threads", 2)));

    const auto x = brain::load_npy<float, 2>(dir + "/ridge_x.npy");
    const auto y = brain::load_npy<float, 2>(dir + "/ridge_y.npy");
    const auto xt_ = brain::load_npy<float, 2>(dir + "/ridge_xtest.npy");
    const auto yt = brain::load_npy<float, 2>(dir + "/ridge_ytest.npy");
    std::vector<double> alphas(10);
    // np.logspace(-2, 5, 10): 10 ** (i * step + start), the last exponent exactly 5.
    for (int i = 0; i < 10; ++i) alphas[std::size_t(i)] = std::pow(10.0, i == 9 ? 5.0 : double(i) * (7.0 / 9.0) - 2.0);

    const double t0 = bench::now();
    brain::ridge_cv<float> model({.alphas = alphas, .method = brain::cv_method::leave_one_out});
    model.fit(x, y);
    const double t1 = bench::now();
    const matrix<float> pred = model.predict(xt_);
    // Pearson r per target between prediction and held-out response (double accumulation).
    const std::size_t n = yt.shape(0), t = yt.shape(1);
    std::vector<double> sp(t, 0.0), sy(t, 0.0), spp(t, 0.0), syy(t, 0.0), spy(t, 0.0);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < t; ++j) {
            const double p = pred(i, j), v = yt(i, j);
            sp[j] += p, sy[j] += v, spp[j] += p * p, syy[j] += v * v, spy[j] += p * v;
        }
    xt::xtensor<double, 1> r = xt::zeros<double>({t});
    for (std::size_t j = 0; j < t; ++j) {
        const double c = spy[j] - sp[j] * sy[j] / double(n), vp = spp[j] - sp[j] * sp[j] / double(n),
                     vy = syy[j] - sy[j] * sy[j] / double(n);
        r(j) = vp > 0 && vy > 0 ? c / std::sqrt(vp * vy) : 0.0;
    }
    const double t2 = bench::now();
    xt::xtensor<double, 1> chosen = xt::adapt(model.alpha, {t});
    brain::save_npy(out + "/b2m_ridge_r.npy", r);
    brain::save_npy(out + "/b2m_ridge_alpha.npy", chosen);
    double mean_r = 0;
    for (std::size_t j = 0; j < t; ++j) mean_r += r(j) / double(t);
    std::printf("seconds=%.3f\nfit_seconds=%.3f\npeak_rss_mb=%.1f\nmean_r=%.5f\n", t2 - t0, t1 - t0,
                bench::peak_rss_mb(), mean_r);
    return 0;
}
