// tests/mpi/mpi_fit.cpp - data-parallel training (mpi::fit) against train::fit in one
// process with the same global batches, run with mpiexec -n 1, 2 and 3 (3: uneven shards).
// Objectives whose value depends on the whole batch (contrastive InfoNCE over the B x B
// similarities, encoding alignment's correlation part, CKA) must give the same parameters
// as one process: within 1e-5 after 20 steps, and bit for bit with one rank. Parameters
// must be identical on every rank; a checkpoint written with one rank count must resume
// with another; data that differ between ranks stop every rank with the same error.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "b2m/core/rng.hpp"
#include "b2m/data/batch_ops.hpp"
#include "b2m/loss.hpp"
#include "b2m/mpi/comm.hpp"
#include "b2m/mpi/fit.hpp"
#include "b2m/nn.hpp"
#include "b2m/optim/optimizer.hpp"
#include "b2m/train.hpp"

#include "mpi_check.hpp"

using namespace b2m;

namespace {

data::batch<float> make_data(std::size_t n, std::uint64_t seed) {
    rng r(seed);
    data::batch<float> d;
    d.x = matrix<float>::from_shape({n, 10});
    d.brain = matrix<float>::from_shape({n, 12});
    d.labels = index_vector::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t c = r.below(3);
        d.labels(i) = c;
        for (std::size_t j = 0; j < 10; ++j) d.x(i, j) = float(r.normal() + (j % 3 == c ? 1.0 : 0.0));
        for (std::size_t j = 0; j < 12; ++j) d.brain(i, j) = float(0.8 * d.x(i, j % 10) + 0.5 * r.normal());
    }
    return d;
}

auto student() { return nn::sequential(nn::dense(10, 16), nn::relu{}, nn::tap<"h">{}, nn::dense(16, 3)); }

/// Every parameter (student and objective) as name -> values.
template <class Tr>
std::vector<std::pair<std::string, std::vector<float>>> params(Tr& t) {
    std::vector<std::pair<std::string, std::vector<float>>> out;
    t.for_each_param([&](const std::string& n, matrix<float>& v, matrix<float>&) {
        out.emplace_back(n, std::vector<float>(v.begin(), v.end()));
    });
    return out;
}
template <class P>
double max_diff(const P& a, const P& b) {
    if (a.size() != b.size()) return 1e30;
    double m = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
        if (a[k].first != b[k].first || a[k].second.size() != b[k].second.size()) return 1e30;
        for (std::size_t i = 0; i < a[k].second.size(); ++i)
            m = std::max(m, std::abs(double(a[k].second[i]) - double(b[k].second[i])));
    }
    return m;
}
/// True when p is bit-identical on every rank.
template <class P>
bool same_on_all_ranks(const mpi::communicator& c, const P& p) {
    std::uint64_t h = 1469598103934665603ull;
    for (const auto& [n, v] : p) mpi::detail::fnv1a(h, v.data(), v.size() * sizeof(float));
    std::uint64_t lo = h, hi = h;
    MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, c.get());
    MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, c.get());
    return lo == hi;
}

struct counter {
    int* epochs;
    bool on_epoch_end(const train::fit_state&, const train::epoch_record&) {
        ++*epochs;
        return true;
    }
};

template <class Objective>
void compare(const mpi::communicator& world, const Objective& objective, const std::string& label) {
    const auto data = make_data(100, 5), val = make_data(30, 6);
    // 100 trials in global batches of 25 (ranks of 3: 9 + 8 + 8 rows): 4 steps per epoch,
    // 5 epochs = 20 steps.
    const train::fit_options o{.epochs = 5, .batch_size = 25, .shuffle_seed = 3};

    auto ref = train::make_trainer(student(), objective, optim::adam({.lr = 1e-2}), {.seed = 7});
    const auto ref_report = train::fit(ref, data, &val, o);
    const auto p_ref = params(ref);

    auto dp = train::make_trainer(student(), objective, optim::adam({.lr = 1e-2}), {.seed = 7});
    int epochs_seen = 0;
    const auto report = mpi::fit(world, dp, data, &val, o, {}, mpi::on_root(world, counter{&epochs_seen}));
    const auto p_dp = params(dp);
    const double d = max_diff(p_ref, p_dp);
    MPI_CHECK_MSG(d <= 1e-5, label + ": max |param - one process| = " + std::to_string(d));
    if (world.size() == 1) MPI_CHECK_MSG(d == 0, label + ": one rank must equal one process bit for bit");
    MPI_CHECK_MSG(same_on_all_ranks(world, p_dp), label + ": parameters differ between ranks");
    MPI_CHECK(epochs_seen == (world.root() ? 5 : 0));
    // training moved the parameters (the comparison is not between two untouched nets)
    auto fresh = train::make_trainer(student(), objective, optim::adam({.lr = 1e-2}), {.seed = 7});
    fresh.evaluate(data::batch<float>(data));
    MPI_CHECK_MSG(max_diff(params(fresh), p_ref) > 1e-2, label + ": training did not change the parameters");
    // the losses and the validation figures of the whole batch
    const auto& a = report.epochs.back();
    const auto& b = ref_report.epochs.back();
    MPI_CHECK_MSG(std::abs(a.train_total - b.train_total) <= 1e-5 * (1 + std::abs(b.train_total)), label);
    MPI_CHECK_MSG(std::abs(a.val_total - b.val_total) <= 1e-5 * (1 + std::abs(b.val_total)), label);
    MPI_CHECK_MSG(std::abs(a.val_accuracy - b.val_accuracy) <= 1e-12, label);
    if (world.root())
        std::printf("  %s: 20 steps, max |param difference| vs one process %.2e, train loss %.6f vs %.6f\n",
                    label.c_str(), d, a.train_total, b.train_total);
}

/// Trains 3 epochs on all ranks but the last (a smaller job), writes a checkpoint, then
/// resumes to 5 epochs with every rank: the result must match 5 uninterrupted epochs.
template <class Objective>
void resume_with_other_rank_count(const mpi::communicator& world, const Objective& objective) {
    const auto data = make_data(100, 5);
    const std::string path = "mpi_fit_resume_" + std::to_string(world.size()) + ".ckpt";
    if (world.root()) std::filesystem::remove(path);
    world.barrier();
    const train::fit_options full{.epochs = 5, .batch_size = 25, .shuffle_seed = 3};
    auto ref = train::make_trainer(student(), objective, optim::adam({.lr = 1e-2}), {.seed = 7});
    train::fit(ref, data, nullptr, full);

    const int first_ranks = std::max(1, world.size() - 1);
    MPI_Comm sub_c = MPI_COMM_NULL;
    MPI_Comm_split(world.get(), world.rank() < first_ranks ? 0 : MPI_UNDEFINED, world.rank(), &sub_c);
    if (sub_c != MPI_COMM_NULL) {
        mpi::communicator sub(sub_c);
        auto t = train::make_trainer(student(), objective, optim::adam({.lr = 1e-2}), {.seed = 7});
        train::fit_options part = full;
        part.epochs = 3;
        part.checkpoint_path = path;
        mpi::fit(sub, t, data, nullptr, part);
        MPI_Comm_free(&sub_c);
    }
    world.barrier();
    auto t = train::make_trainer(student(), objective, optim::adam({.lr = 1e-2}), {.seed = 7});
    train::fit_options rest = full;
    rest.checkpoint_path = path;
    rest.resume = true;
    const auto rep = mpi::fit(world, t, data, nullptr, rest);
    MPI_CHECK(rep.resumed_after == 3);
    MPI_CHECK(rep.epochs.size() == 2);
    const double d = max_diff(params(ref), params(t));
    MPI_CHECK_MSG(d <= 1e-5, "resume from " + std::to_string(first_ranks) + " ranks with " +
                                 std::to_string(world.size()) + ": max |param difference| " + std::to_string(d));
    if (world.root()) {
        std::printf("  checkpoint of %d rank(s) resumed with %d: max |param difference| vs 5 epochs in one process %.2e\n",
                    first_ranks, world.size(), d);
        std::filesystem::remove(path);
    }
}

} // namespace

int main(int argc, char** argv) {
    mpi::environment env(argc, argv);
    mpi::communicator world;
    const auto ce = loss::cross_entropy(nn::output, data::labels);

    compare(world, ce + 0.5 * loss::contrastive(nn::tap<"h">{}, data::brain, {.learn_tau = true, .dim = 8}),
            "cross-entropy + contrastive (InfoNCE, learnable tau)");
    compare(world, ce + 1.0 * loss::encoding_alignment(nn::tap<"h">{}, data::brain, {.units = 8}),
            "cross-entropy + encoding alignment (MSE + correlation)");
    compare(world, ce + 0.5 * loss::cka_loss(nn::tap<"h">{}, data::brain), "cross-entropy + CKA");
    resume_with_other_rank_count(world, ce + 0.5 * loss::contrastive(nn::tap<"h">{}, data::brain, {.dim = 8}));

    // a batch smaller than the rank count runs whole on every rank: still one process's result
    {
        const auto data = make_data(12, 9);
        const train::fit_options o{.epochs = 3, .batch_size = 2, .shuffle_seed = 1};
        auto obj = ce + 0.5 * loss::contrastive(nn::tap<"h">{}, data::brain, {.dim = 4});
        auto ref = train::make_trainer(student(), obj, optim::sgd({.lr = 0.05}), {.seed = 2});
        train::fit(ref, data, nullptr, o);
        auto t = train::make_trainer(student(), obj, optim::sgd({.lr = 0.05}), {.seed = 2});
        mpi::fit(world, t, data, nullptr, o);
        const double d = max_diff(params(ref), params(t));
        MPI_CHECK_MSG(d <= 1e-5, "batches of 2 rows: " + std::to_string(d));
    }

    // data that differ between ranks: every rank throws the same error (no hang)
    {
        auto data = make_data(40, 5);
        if (world.rank() == world.size() - 1) data.brain(3, 2) += 1.0f;
        auto t = train::make_trainer(student(), ce, optim::sgd({}), {.seed = 1});
        std::string msg;
        try {
            mpi::fit(world, t, data, nullptr, {.epochs = 1, .batch_size = 8});
        } catch (const data_error& e) {
            msg = e.what();
        }
        if (world.size() > 1) MPI_CHECK_MSG(msg.find("differ between ranks") != std::string::npos, msg);
        else MPI_CHECK_MSG(msg.empty(), msg);
    }
    return mpi_check::finish("mpi_fit");
}
