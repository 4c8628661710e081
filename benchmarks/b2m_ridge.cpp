// Ridge encoding (../shared/BENCHMARKS.md): X 4000 x 1024, Y 4000 x T targets (float32),
// 10 alphas log-spaced 1e-2..1e5, alpha chosen per target by exact leave-one-out (the
// criterion of scikit-learn's RidgeCV(alphas, alpha_per_target=True) with cv=None, its
// "GCV" path), prediction of the 1000-row test set, Pearson r per target.
// Only the scores are needed, so the fit is ridge_cv::fit_pearson with keep_coef = false:
// one pass over blocks of targets (LOO errors, alphas, test predictions and r of a block
// from one Z = U^T Yc), never the whole (features x targets) coefficients nor the whole
// (test rows x targets) prediction; peak memory is the inputs plus a few block buffers.
// Writes OUT/b2m_ridge_r.npy (r per target) and OUT/b2m_ridge_alpha.npy (chosen alphas).
// Prints key=value: seconds (fit + predict + r, one call), fit_seconds (the same call: the
// prediction and r are made while fitting), peak_rss_mb, mean_r, and the memory against the
// inputs as this program holds them (all float32, read whole): input_bytes = X + Y + X_test
// + Y_test, train_bytes = X + Y, rss_after_load_bytes, peak_rss_bytes and the ratios
// peak_rss_over_inputs, peak_rss_over_train; one "RESULT ridge ..." line of the same on stderr.
//   b2m_ridge --data=DIR --out=DIR [--threads=2]
#include "bench_common.hpp"

#include <b2m/brain/npy.hpp>
#include <b2m/brain/ridge.hpp>
#include <b2m/core/parallel.hpp>

#include <cmath>
#include <cstdio>
#include <unistd.h>

using namespace b2m;

namespace {
/// Resident set size now, from /proc/self/statm (0 where it cannot be read).
double current_rss_bytes() {
    long pages = 0, resident = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return double(resident) * double(sysconf(_SC_PAGESIZE));
}
} // namespace

int main(int argc, char** argv) {
    const std::string dir = bench::arg(argc, argv, "data", ".");
    const std::string out = bench::arg(argc, argv, "out", ".");
    set_num_threads(int(bench::arg_int(argc, argv, "threads", 2)));

    const auto x = brain::load_npy<float, 2>(dir + "/ridge_x.npy");
    const auto y = brain::load_npy<float, 2>(dir + "/ridge_y.npy");
    const auto xt_ = brain::load_npy<float, 2>(dir + "/ridge_xtest.npy");
    const auto yt = brain::load_npy<float, 2>(dir + "/ridge_ytest.npy");
    const double rss_after_load = current_rss_bytes();
    std::vector<double> alphas(10);
    // np.logspace(-2, 5, 10): 10 ** (i * step + start), the last exponent exactly 5.
    for (int i = 0; i < 10; ++i) alphas[std::size_t(i)] = std::pow(10.0, i == 9 ? 5.0 : double(i) * (7.0 / 9.0) - 2.0);

    const double t0 = bench::now();
    brain::ridge_cv<float> model({.alphas = alphas, .method = brain::cv_method::leave_one_out, .keep_coef = false});
    const std::vector<double> rv = model.fit_pearson(x, y, xt_, yt);
    const double t2 = bench::now();
    const std::size_t t = yt.shape(1);
    xt::xtensor<double, 1> r = xt::adapt(rv, {t});
    xt::xtensor<double, 1> chosen = xt::adapt(model.alpha, {t});
    brain::save_npy(out + "/b2m_ridge_r.npy", r);
    brain::save_npy(out + "/b2m_ridge_alpha.npy", chosen);
    double mean_r = 0;
    for (std::size_t j = 0; j < t; ++j) mean_r += r(j) / double(t);
    const double peak = bench::peak_rss_mb() * 1048576.0;
    const double train = double(x.size() + y.size()) * sizeof(float);
    const double inputs = train + double(xt_.size() + yt.size()) * sizeof(float);
    std::printf("seconds=%.3f\nfit_seconds=%.3f\npeak_rss_mb=%.1f\nmean_r=%.5f\n", t2 - t0, t2 - t0, peak / 1048576.0, mean_r);
    std::printf("input_bytes=%.0f\ntrain_bytes=%.0f\nrss_after_load_bytes=%.0f\npeak_rss_bytes=%.0f\n"
                "peak_rss_over_inputs=%.3f\npeak_rss_over_train=%.3f\n",
                inputs, train, rss_after_load, peak, peak / inputs, peak / train);
    std::fprintf(stderr, "RESULT ridge targets=%zu seconds=%.3f peak_rss_bytes=%.0f input_bytes=%.0f peak_rss_over_inputs=%.3f "
                 "train_bytes=%.0f peak_rss_over_train=%.3f rss_after_load_bytes=%.0f\n",
                 t, t2 - t0, peak, inputs, peak / inputs, train, peak / train, rss_after_load);
    return 0;
}
