// Targets beyond memory (issue 20): X bigy_x.npy (n x p), Y bigy_y.npy (n x T float32, e.g.
// 4000 x 200,000 = 3.2 GB) read through a memory map in blocks of targets; per block a ridge
// with the alpha per target by exact leave-one-out on the first 80% of rows, Pearson r on the
// rest; r and the chosen alpha written block by block (npy_block_writer). Prints key=value:
// seconds, peak_rss_mb (to compare with the size of Y), y_mb, mean_r.
//   b2m_bigy --data=DIR --out=DIR [--threads=2] [--block=10000]
#include "bench_common.hpp"

#include <b2m/brain/dataset.hpp>
#include <b2m/brain/metrics.hpp>
#include <b2m/brain/npy.hpp>
#include <b2m/brain/npy_mmap.hpp>
#include <b2m/brain/ridge.hpp>
#include <b2m/core/parallel.hpp>

#include <cmath>

using namespace b2m;

int main(int argc, char** argv) {
    const std::string dir = bench::arg(argc, argv, "data", ".");
    const std::string out = bench::arg(argc, argv, "out", ".");
    set_num_threads(int(bench::arg_int(argc, argv, "threads", 2)));
    const std::size_t block = std::size_t(bench::arg_int(argc, argv, "block", 10000));
    const auto x = brain::load_npy<float, 2>(dir + "/bigy_x.npy");
    brain::npy_mmap y(dir + "/bigy_y.npy");
    const std::size_t n = y.rows(), t = y.cols(), ntr = n * 4 / 5;
    std::vector<std::size_t> tr, te;
    for (std::size_t i = 0; i < n; ++i) (i < ntr ? tr : te).push_back(i);
    const auto xtr = brain::take_rows(x, tr), xte = brain::take_rows(x, te);
    std::vector<double> alphas(10);
    for (int i = 0; i < 10; ++i) alphas[std::size_t(i)] = std::pow(10.0, i == 9 ? 5.0 : double(i) * (7.0 / 9.0) - 2.0);

    const double t0 = bench::now();
    brain::npy_block_writer<double> w_r(out + "/b2m_bigy_r.npy", {t}), w_a(out + "/b2m_bigy_alpha.npy", {t});
    matrix<float> ytr, yte;
    double mean_r = 0;
    for (std::size_t c0 = 0; c0 < t; c0 += block) {
        const std::size_t b = std::min(block, t - c0);
        y.read_columns(c0, b, ytr, &tr);
        y.read_columns(c0, b, yte, &te);
        brain::ridge_cv<float> m({.alphas = alphas, .method = brain::cv_method::leave_one_out});
        m.fit(xtr, ytr);
        const auto r = brain::pearson_columns(yte, m.predict(xte));
        for (std::size_t j = 0; j < b; ++j) mean_r += double(r(j)) / double(t);
        w_r.write_range(c0, r);
        w_a.write_range(c0, m.alpha);
    }
    w_r.commit();
    w_a.commit();
    const double t1 = bench::now();
    std::printf("seconds=%.3f\npeak_rss_mb=%.1f\ny_mb=%.1f\nmean_r=%.5f\ntargets=%zu\n", t1 - t0, bench::peak_rss_mb(),
                double(n) * double(t) * 4.0 / 1048576.0, mean_r, t);
    return 0;
}
