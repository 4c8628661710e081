// Banded ridge (issue 20): two feature spaces (banded_x0/x1.npy), Y banded_y.npy (float32),
// the fixed candidate list banded_gammas.npy x banded_alphas.npy, 5-fold CV (sklearn KFold(5)
// order), intercept, on the first `samples` rows; Pearson r of the held-out rows - the same
// problem as peer_himalaya_banded.py. Writes OUT/b2m_banded_{r,candidate,alpha}.npy.
// Prints key=value: seconds (fit + predict + r), fit_seconds, peak_rss_mb, mean_r.
//   b2m_banded --data=DIR --out=DIR [--threads=2]
#include "bench_common.hpp"

#include <b2m/brain/banded_ridge.hpp>
#include <b2m/brain/dataset.hpp>
#include <b2m/brain/metrics.hpp>
#include <b2m/brain/npy.hpp>
#include <b2m/core/parallel.hpp>

using namespace b2m;

int main(int argc, char** argv) {
    const std::string dir = bench::arg(argc, argv, "data", ".");
    const std::string out = bench::arg(argc, argv, "out", ".");
    set_num_threads(int(bench::arg_int(argc, argv, "threads", 2)));
    const auto meta = brain::load_npy<double, 1>(dir + "/banded_meta.npy");
    const std::size_t ntr = std::size_t(meta(0)), nte = std::size_t(meta(1));
    std::vector<std::size_t> tr(ntr), te(nte);
    for (std::size_t i = 0; i < ntr; ++i) tr[i] = i;
    for (std::size_t i = 0; i < nte; ++i) te[i] = ntr + i;
    std::vector<matrix<float>> xtr, xte;
    for (int k = 0; k < 2; ++k) {
        const auto x = brain::load_npy<float, 2>(dir + "/banded_x" + std::to_string(k) + ".npy");
        xtr.push_back(brain::take_rows(x, tr));
        xte.push_back(brain::take_rows(x, te));
    }
    matrix<float> ytr, yte;
    {
        const auto y = brain::load_npy<float, 2>(dir + "/banded_y.npy");
        ytr = brain::take_rows(y, tr);
        yte = brain::take_rows(y, te);
    }
    const auto g = brain::load_npy<double, 2>(dir + "/banded_gammas.npy");
    const auto al = brain::load_npy<double, 1>(dir + "/banded_alphas.npy");
    brain::banded_ridge_options o;
    o.alphas.assign(al.begin(), al.end());
    for (std::size_t c = 0; c < g.shape(0); ++c) o.candidates.push_back({g(c, 0), g(c, 1)});
    o.folds = 5;

    const double t0 = bench::now();
    brain::banded_ridge_cv<float> model(o);
    model.fit(xtr, ytr);
    const double t1 = bench::now();
    const auto r = brain::pearson_columns(yte, model.predict(xte));
    const double t2 = bench::now();
    const std::size_t t = r.size();
    xt::xtensor<double, 1> rd = xt::cast<double>(r), cand = xt::zeros<double>({t}), alpha = xt::zeros<double>({t});
    double mean_r = 0;
    for (std::size_t j = 0; j < t; ++j) cand(j) = double(model.best_candidate[j]), alpha(j) = model.best_alpha[j], mean_r += rd(j) / double(t);
    brain::save_npy(out + "/b2m_banded_r.npy", rd);
    brain::save_npy(out + "/b2m_banded_candidate.npy", cand);
    brain::save_npy(out + "/b2m_banded_alpha.npy", alpha);
    std::printf("seconds=%.3f\nfit_seconds=%.3f\npeak_rss_mb=%.1f\nmean_r=%.5f\n", t2 - t0, t1 - t0, bench::peak_rss_mb(), mean_r);
    return 0;
}
