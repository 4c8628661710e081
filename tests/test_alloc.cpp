// Heap allocations per training step after warm-up must be zero (label: alloc).
// This executable replaces the global operator new to count allocations.
#include <doctest/doctest.h>

#include <b2m/b2m.hpp>

#include "b2m/testing/allocation_counter.hpp"

using namespace b2m;

namespace {
/// Allocations made by `steps` calls of step() after `warmup` calls.
template <class Step>
long count_allocations(Step&& step, int warmup = 2, int steps = 10) {
    for (int i = 0; i < warmup; ++i) step();
    return b2m::testing::count_heap_allocations([&] {
        for (int i = 0; i < steps; ++i) step();
    });
}
} // namespace

TEST_SUITE("alloc") {
    TEST_CASE("the counter sees allocations") {
        static std::vector<int>* escape = nullptr;
        const long before = b2m::testing::heap_allocations.load();
        escape = new std::vector<int>(10);
        CHECK(b2m::testing::heap_allocations.load() - before >= 1);
        delete escape;
    }

    TEST_CASE("MLP with Adam, cross-entropy and a tap objective: zero allocations per step") {
        auto net = nn::sequential(nn::dense(64, 128), nn::relu{}, nn::dropout{0.1}, nn::layer_norm{128},
                                  nn::tap<"embed">{}, nn::dense(128, 10));
        auto objective = loss::cross_entropy(nn::output, data::labels) + 0.5 * loss::mse(nn::tap<"embed">{}, data::brain);
        auto trainer = train::make_trainer(net, objective, optim::adam({.lr = 1e-3}), {.seed = 1, .clip_norm = 5.0});
        train::batch<float> b;
        b.x = matrix<float>::from_shape({32, 64});
        b.brain = matrix<float>::from_shape({32, 128});
        rng r(2);
        r.fill_normal(b.x);
        r.fill_normal(b.brain);
        b.labels = index_vector::from_shape({32});
        for (std::size_t i = 0; i < 32; ++i) b.labels(i) = std::int64_t(i % 10);
        CHECK(count_allocations([&] { trainer.step(b); }) == 0);
    }

    TEST_CASE("SGD with momentum and an autodiff expression loss: zero allocations per step") {
        auto net = nn::sequential(nn::dense(16, 32), nn::gelu{}, nn::tap<"h">{}, nn::dense(32, 4));
        auto cosine = loss::expression(
            [](auto h, auto r) { return 1.0 - ad::mean(ad::sum(ad::l2_normalize(h) * ad::l2_normalize(r), ad::axis::cols)); },
            nn::tap<"h">{}, data::brain);
        auto trainer = train::make_trainer(net, loss::cross_entropy(nn::output, data::labels) + cosine,
                                           optim::sgd({.lr = 0.01, .momentum = 0.9}), {.seed = 1});
        train::batch<float> b;
        b.x = xt::ones<float>({8, 16});
        b.brain = xt::ones<float>({8, 32});
        b.labels = index_vector::from_shape({8});
        b.labels.fill(1);
        CHECK(count_allocations([&] { trainer.step(b); }) == 0);
    }

    TEST_CASE("conv student with batch norm and pooling: zero allocations per step") {
        constexpr nn::image_shape in{.channels = 3, .height = 16, .width = 16};
        const auto c1 = nn::conv2d({.out_channels = 8, .kernel = 3, .padding = 1}, in);
        const auto p1 = nn::max_pool2d({.kernel = 2}, c1.output_shape());
        const auto c2 = nn::conv2d({.out_channels = 16, .kernel = 3, .stride = 2, .padding = 1}, p1.output_shape());
        const auto a2 = nn::avg_pool2d({.kernel = 2, .stride = 1}, c2.output_shape());
        auto net = nn::sequential(c1, nn::batch_norm(c1.output_shape()), nn::relu{}, p1, c2, nn::relu{}, a2,
                                  nn::tap<"maps">{}, nn::global_avg_pool(a2.output_shape()), nn::batch_norm(16),
                                  nn::dense(16, 4));
        auto trainer = train::make_trainer(net, loss::cross_entropy(nn::output, data::labels), optim::adam({.lr = 1e-3}),
                                           {.seed = 1});
        train::batch<float> b;
        b.x = matrix<float>::from_shape({8, 3 * 16 * 16});
        rng(3).fill_normal(b.x);
        b.labels = index_vector::from_shape({8});
        for (std::size_t i = 0; i < 8; ++i) b.labels(i) = std::int64_t(i % 4);
        CHECK(count_allocations([&] { trainer.step(b); }) == 0);
    }

    TEST_CASE("VAE with reparameterisation and KL: zero allocations per step") {
        constexpr std::size_t k = 4;
        const auto up = nn::conv_transpose2d({.out_channels = 1, .kernel = 4, .stride = 2, .padding = 1},
                                             {.channels = 8, .height = 4, .width = 4});
        auto vae = nn::sequential(nn::dense(64, 32), nn::relu{}, nn::dense(32, 2 * k), nn::tap<"stats">{},
                                  nn::reparameterize{k}, nn::dense(k, 128), nn::relu{}, up, nn::sigmoid{});
        auto objective = loss::mse(nn::output, data::inputs) + 0.01 * loss::kl_normal(nn::tap<"stats">{});
        auto trainer = train::make_trainer(vae, objective, optim::adam({.lr = 1e-3}), {.seed = 1});
        train::batch<float> b;
        b.x = matrix<float>::from_shape({8, 64});
        rng(4).fill_uniform(b.x, 0.0, 1.0);
        CHECK(count_allocations([&] { trainer.step(b); }) == 0);
    }

    TEST_CASE("GRU student with lengths and a last_step head: zero allocations per step") {
        const std::size_t B = 16, T = 12, F = 8, H = 32;
        auto net = nn::sequential(nn::gru(F, H, {.learn_initial_state = true}), nn::tap<"states">{},
                                  nn::time_distributed(nn::dense(H, H)), nn::last_step(H), nn::dense(H, 2));
        auto trainer = train::make_trainer(net, loss::cross_entropy(nn::output, data::labels), optim::adam({.lr = 1e-3}),
                                           {.seed = 1});
        train::batch<float> b;
        b.x = matrix<float>::from_shape({B, T * F});
        rng(2).fill_normal(b.x);
        b.labels = index_vector::from_shape({B});
        for (std::size_t i = 0; i < B; ++i) b.labels(i) = std::int64_t(i % 2);
        std::vector<std::int64_t> len(B);
        for (std::size_t i = 0; i < B; ++i) len[i] = std::int64_t(1 + i % T);
        CHECK(count_allocations([&] {
                  trainer.student().layer<0>().set_lengths(len);
                  trainer.step(b);
              }) == 0);
    }

    TEST_CASE("contrastive brain transfer with projection heads: zero allocations per step") {
        auto net = nn::sequential(nn::dense(32, 64), nn::relu{}, nn::tap<"h">{}, nn::dense(64, 4));
        auto objective = loss::cross_entropy(nn::output, data::labels) +
                         0.5 * loss::contrastive(nn::tap<"h">{}, data::brain, {.tau = 0.1, .dim = 16});
        auto trainer = train::make_trainer(net, objective, optim::adam({.lr = 1e-3}), {.seed = 1});
        train::batch<float> b;
        b.x = matrix<float>::from_shape({16, 32});
        b.brain = matrix<float>::from_shape({16, 50});
        rng(5).fill_normal(b.x);
        rng(6).fill_normal(b.brain);
        b.labels = index_vector::from_shape({16});
        for (std::size_t i = 0; i < 16; ++i) b.labels(i) = std::int64_t(i % 4);
        CHECK(count_allocations([&] { trainer.step(b); }) == 0);
    }
}
