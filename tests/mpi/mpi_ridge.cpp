// tests/mpi/mpi_ridge.cpp - ridge_cv split by targets over the ranks of the job (run with
// mpiexec -n 2 and -n 3: an uneven split) against brain::ridge_cv on the whole Y in one
// process (computed here, on every rank, without MPI): the chosen alpha of every target
// must be identical, held-out r within 1e-6, and the gathered .npy written by rank 0
// must hold exactly the per-target r. Bad data in one rank's block must stop every rank
// with the same error.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "b2m/brain/metrics.hpp"
#include "b2m/brain/npy.hpp"
#include "b2m/brain/ridge.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/mpi/comm.hpp"
#include "b2m/mpi/ridge.hpp"

#include "mpi_check.hpp"

using namespace b2m;

namespace {

/// Y = X W + noise with target-dependent noise levels (so the chosen alphas vary).
template <real T>
void make_problem(std::size_t n, std::size_t p, std::size_t t, matrix<T>& x, matrix<T>& y) {
    rng r(11);
    x = matrix<T>::from_shape({n, p});
    y = matrix<T>::from_shape({n, t});
    for (auto& v : x) v = T(r.normal());
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
template <real T>
matrix<T> cols(const matrix<T>& m, std::size_t b, std::size_t e) {
    matrix<T> out = matrix<T>::from_shape({m.shape(0), e - b});
    for (std::size_t i = 0; i < m.shape(0); ++i) std::copy_n(m.data() + i * m.shape(1) + b, e - b, out.data() + i * (e - b));
    return out;
}

template <real T>
void compare(const mpi::communicator& world, brain::ridge_cv_options o, const std::string& label, bool write) {
    const std::size_t n = 90, p = 24, t = 37, ntr = 70;
    matrix<T> x, y;
    make_problem<T>(n, p, t, x, y);
    const matrix<T> xtr = rows(x, 0, ntr), ytr = rows(y, 0, ntr), xte = rows(x, ntr, n), yte = rows(y, ntr, n);

    // one process, the whole Y
    brain::ridge_cv<T> ref(o);
    ref.fit(xtr, ytr);
    const auto r_ref = brain::pearson_columns(yte, ref.predict(xte));

    // sharded by targets; half the ranks pass the full Y, the API's two entry points agree
    mpi::sharded_ridge_cv<T> model(o);
    const auto rg = mpi::shard(t, world);
    if (o.method == brain::cv_method::kfold) model.fit(world, xtr, ytr);
    else model.fit_block(world, xtr, cols(ytr, rg.begin, rg.end), t);
    MPI_CHECK(model.targets.begin == rg.begin && model.targets.end == rg.end);
    const auto alphas = model.all_alphas(world);
    MPI_CHECK_MSG(alphas.size() == t, label);
    std::size_t differ = 0;
    for (std::size_t j = 0; j < std::min(t, alphas.size()); ++j) differ += alphas[j] != ref.alpha[j];
    MPI_CHECK_MSG(differ == 0, label + ": " + std::to_string(differ) + " targets chose another alpha");
    // the alphas are not all the same (the test can tell a wrong split from a right one)
    bool varied = false;
    for (double a : ref.alpha) varied = varied || a != ref.alpha[0];
    MPI_CHECK_MSG(varied || !o.alpha_per_target, label + ": the problem should choose several alphas");

    vector<T> r_local = vector<T>::from_shape({rg.size()});
    if (rg.size()) r_local = brain::pearson_columns(cols(yte, rg.begin, rg.end), model.local.predict(xte));
    double worst = 0;
    for (std::size_t j = 0; j < rg.size(); ++j) worst = std::max(worst, std::abs(double(r_local(j)) - double(r_ref(rg.begin + j))));
    MPI_CHECK_MSG(worst <= 1e-6, label + ": max |r - r_one_process| = " + std::to_string(worst));
    // coefficients too (relative)
    double cw = 0;
    for (std::size_t i = 0; i < p; ++i)
        for (std::size_t j = 0; j < rg.size(); ++j)
            cw = std::max(cw, std::abs(double(model.local.coef(i, j)) - double(ref.coef(i, rg.begin + j))) /
                                  (1e-3 + std::abs(double(ref.coef(i, rg.begin + j)))));
    MPI_CHECK_MSG(cw <= (sizeof(T) == 4 ? 1e-3 : 1e-9), label + ": coef relative difference " + std::to_string(cw));

    if (write) {
        const std::string path = "mpi_ridge_r_" + std::to_string(world.size()) + ".npy";
        model.write_npy(world, path, r_local);
        if (world.root()) {
            const auto back = brain::load_npy<double, 1>(path);
            MPI_CHECK(back.size() == t);
            double w2 = 0;
            for (std::size_t j = 0; j < std::min(t, back.size()); ++j) w2 = std::max(w2, std::abs(back(j) - double(r_ref(j))));
            MPI_CHECK_MSG(w2 <= 1e-6, "written r vs one process: " + std::to_string(w2));
            std::size_t leftovers = 0;
            for (const auto& e : std::filesystem::directory_iterator("."))
                leftovers += e.path().filename().string().find(path + ".tmp") == 0;
            MPI_CHECK_MSG(leftovers == 0, "temporary files left next to " + path);
            std::filesystem::remove(path);
        }
        // a directory that does not exist: every rank gets the error of rank 0
        bool threw = false;
        std::string msg;
        try {
            model.write_npy(world, "no_such_dir_h15/r.npy", r_local);
        } catch (const mpi::agreed_error& e) {
            threw = true;
            msg = e.what();
            MPI_CHECK(e.origin_rank == 0);
        }
        MPI_CHECK_MSG(threw && msg.find("no_such_dir_h15/r.npy") != std::string::npos, msg);
    }
    if (world.root()) std::printf("  %s: alphas identical on %zu targets, max |dr| %.2e\n", label.c_str(), t, worst);
}

} // namespace

int main(int argc, char** argv) {
    mpi::environment env(argc, argv);
    mpi::communicator world;
    const std::vector<double> grid = {1e-2, 1e-1, 1, 10, 100, 1e3, 1e4};

    compare<double>(world, {.alphas = grid}, "double, leave-one-out", true);
    compare<float>(world, {.alphas = grid}, "float, leave-one-out", false);
    compare<double>(world, {.alphas = grid, .method = brain::cv_method::kfold, .folds = 5}, "double, 5-fold", false);
    compare<double>(world, {.alphas = grid, .alpha_per_target = false}, "double, one shared alpha", false);
    compare<float>(world, {.alphas = grid, .block_targets = 5}, "float, blocks of 5 targets", false);

    // more ranks than targets: some ranks hold none
    {
        matrix<double> x, y;
        make_problem<double>(40, 6, 2, x, y);
        mpi::sharded_ridge_cv<double> m({.alphas = grid});
        m.fit(world, x, y);
        brain::ridge_cv<double> ref({.alphas = grid});
        ref.fit(x, y);
        MPI_CHECK(m.all_alphas(world) == ref.alpha);
    }

    // a NaN in the last rank's block: every rank throws the same agreed error
    {
        matrix<double> x, y;
        make_problem<double>(40, 6, 9, x, y);
        y(3, 8) = std::nan("");
        mpi::sharded_ridge_cv<double> m({.alphas = grid});
        std::string msg;
        int origin = -1;
        try {
            m.fit(world, x, y);
        } catch (const mpi::agreed_error& e) {
            msg = e.what();
            origin = e.origin_rank;
        }
        MPI_CHECK_MSG(origin == world.size() - 1, "origin " + std::to_string(origin) + ": " + msg);
        MPI_CHECK_MSG(msg.find("Y") != std::string::npos, msg);
        // the same message on every rank
        std::string root_msg = msg;
        mpi::broadcast(world, root_msg);
        MPI_CHECK(root_msg == msg);
    }
    return mpi_check::finish("mpi_ridge");
}
