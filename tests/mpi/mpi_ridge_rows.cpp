// tests/mpi/mpi_ridge_rows.cpp - ridge_cv split by samples (mpi::row_sharded_ridge_cv; run
// with mpiexec -n 1, 2 and 3) against brain::ridge_cv on all rows in one process (computed
// here on every rank, without MPI): every target's alpha identical, the CV errors within
// 1e-5 relative (float; 1e-10 double), held-out r within 1e-6, the coefficients the same on every rank; for
// leave-one-out, k-fold (contiguous and explicit folds), one shared alpha, no intercept,
// float and double, and a rank holding no rows. A NaN in one rank's rows stops every rank
// with the same error naming that rank.
#include <cmath>
#include <cstdio>
#include <string>

#include "b2m/brain/metrics.hpp"
#include "b2m/brain/ridge.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/mpi/comm.hpp"
#include "b2m/mpi/ridge_rows.hpp"

#include "mpi_check.hpp"

using namespace b2m;

namespace {

/// Y = X W + noise with target-dependent noise levels (so the chosen alphas vary).
template <real T>
void make_problem(std::size_t n, std::size_t p, std::size_t t, matrix<T>& x, matrix<T>& y) {
    rng r(11);
    x = matrix<T>::from_shape({n, p});
    y = matrix<T>::from_shape({n, t});
    for (auto& v : x) v = T(r.normal() + 0.3);
    matrix<T> w = matrix<T>::from_shape({p, t});
    for (auto& v : w) v = T(r.normal() * 0.3);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < t; ++j) {
            double s = 0;
            for (std::size_t k = 0; k < p; ++k) s += double(x(i, k)) * double(w(k, j));
            const double noise = 0.2 + 3.0 * double(j % 7) / 6.0;
            y(i, j) = T(s + noise * r.normal() + 0.5);
        }
}

template <real T>
matrix<T> rows(const matrix<T>& m, std::size_t b, std::size_t e) {
    matrix<T> out = matrix<T>::from_shape({e - b, m.shape(1)});
    std::copy_n(m.data() + b * m.shape(1), out.size(), out.data());
    return out;
}

/// The rows of rank k: uneven blocks; with `empty_rank`, rank 1 (if any) holds none.
mpi::range my_rows(const mpi::communicator& c, std::size_t n, bool empty_rank) {
    if (!empty_rank || c.size() < 2) return mpi::shard(n, c);
    const std::size_t P = std::size_t(c.size()), k = std::size_t(c.rank());
    if (k == 1) return {0, 0};
    const std::size_t part = k == 0 ? 0 : k - 1;  // the others share all rows
    const mpi::range rg = mpi::block(n, P - 1, part);
    return rg;
}

template <real T>
void compare(const mpi::communicator& world, brain::ridge_cv_options o, const std::string& label, bool empty_rank = false) {
    const std::size_t n = 150, p = 20, t = 29, ntr = 120;
    matrix<T> x, y;
    make_problem<T>(n, p, t, x, y);
    const matrix<T> xtr = rows(x, 0, ntr), ytr = rows(y, 0, ntr), xte = rows(x, ntr, n), yte = rows(y, ntr, n);

    brain::ridge_cv<T> ref(o);
    ref.fit(xtr, ytr);
    const auto r_ref = brain::pearson_columns(yte, ref.predict(xte));

    const mpi::range mine = my_rows(world, ntr, empty_rank);
    mpi::row_sharded_ridge_cv<T> m(o);
    m.fit(world, rows(xtr, mine.begin, mine.end), rows(ytr, mine.begin, mine.end));
    MPI_CHECK_MSG(m.total_rows == ntr, label);
    MPI_CHECK_MSG(m.alpha.size() == t, label);
    std::size_t differ = 0;
    for (std::size_t j = 0; j < std::min(t, m.alpha.size()); ++j) differ += m.alpha[j] != ref.alpha[j];
    MPI_CHECK_MSG(differ == 0, label + ": " + std::to_string(differ) + " targets chose another alpha");
    bool varied = false;
    for (std::size_t j = 1; j < t; ++j) varied = varied || ref.alpha[j] != ref.alpha[0];
    MPI_CHECK_MSG(varied || !o.alpha_per_target, label + ": the reference alphas do not vary (weak test)");
    double cv_rel = 0;
    for (std::size_t a = 0; a < o.alphas.size(); ++a)
        for (std::size_t j = 0; j < t; ++j)
            cv_rel = std::max(cv_rel, std::abs(m.cv_error(a, j) - ref.cv_error(a, j)) / std::abs(ref.cv_error(a, j)));
    const double cv_tol = std::is_same_v<T, float> ? 1e-5 : 1e-10;
    MPI_CHECK_MSG(cv_rel < cv_tol, label + ": CV errors differ by " + std::to_string(cv_rel) + " (relative)");
    const auto r = brain::pearson_columns(yte, m.predict(xte));
    double dr = 0;
    for (std::size_t j = 0; j < t; ++j) dr = std::max(dr, std::abs(double(r(j)) - double(r_ref(j))));
    MPI_CHECK_MSG(dr < 1e-6, label + ": held-out r differs by " + std::to_string(dr));
    // the model is the same on every rank (bitwise): compare a checksum with rank 0's
    double sum = 0;
    for (auto v : m.coef) sum += double(v);
    for (auto v : m.intercept) sum += 3.0 * double(v);
    double root_sum = sum;
    mpi::broadcast(world, &root_sum, 1);
    MPI_CHECK_MSG(sum == root_sum, label + ": the coefficients differ between ranks");
    if (world.root())
        std::printf("%s: %d ranks, max |r - r_one| %.2g, max CV error difference %.2g (relative)\n", label.c_str(),
                    world.size(), dr, cv_rel);
}

} // namespace

int main(int argc, char** argv) {
    mpi::environment env(argc, argv);
    mpi::communicator world;
    const std::vector<double> grid = {1e-2, 0.1, 1, 10, 100, 1e3, 1e4};
    compare<float>(world, {.alphas = grid}, "loo float");
    compare<double>(world, {.alphas = grid}, "loo double");
    compare<float>(world, {.alphas = grid, .method = brain::cv_method::kfold, .folds = 5}, "kfold float");
    compare<double>(world, {.alphas = grid, .method = brain::cv_method::kfold, .folds = 4}, "kfold double");
    {
        std::vector<std::size_t> f(120);
        for (std::size_t i = 0; i < f.size(); ++i) f[i] = (i * 7) % 3;  // interleaved folds, across ranks
        compare<float>(world, {.alphas = grid, .method = brain::cv_method::kfold, .fold_of_row = f}, "kfold explicit folds");
    }
    compare<float>(world, {.alphas = grid, .alpha_per_target = false}, "loo one shared alpha");
    compare<double>(world, {.alphas = grid, .fit_intercept = false}, "loo no intercept");
    compare<float>(world, {.alphas = grid}, "loo, rank 1 holds no rows", true);
    compare<float>(world, {.alphas = grid, .method = brain::cv_method::kfold, .folds = 3}, "kfold, rank 1 holds no rows",
                   true);

    // a NaN in the last rank's rows: every rank throws the same agreed_error naming it
    {
        matrix<float> x, y;
        make_problem<float>(60, 5, 4, x, y);
        const mpi::range mine = mpi::shard(60, world);
        matrix<float> xr = rows(x, mine.begin, mine.end), yr = rows(y, mine.begin, mine.end);
        if (world.rank() == world.size() - 1) yr(0, 2) = std::nanf("");
        std::string what;
        try {
            mpi::row_sharded_ridge_cv<float>({.alphas = grid}).fit(world, xr, yr);
        } catch (const mpi::agreed_error& e) {
            what = e.what();
        }
        const std::string want = "rank " + std::to_string(world.size() - 1);
        MPI_CHECK_MSG(what.find(want) != std::string::npos && what.find("Y") != std::string::npos, what);
    }
    return mpi_check::finish("mpi_ridge_rows");
}
