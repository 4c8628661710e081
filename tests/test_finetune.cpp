// Fine-tuning controls: frozen layers (no gradient, no optimiser state, no weight decay, no
// weight-gradient GEMM, no backward below the lowest trainable layer), selection by tap
// name and index range, per-group learning rates and weight decay, batch norm kept in
// evaluation mode.
#include <doctest/doctest.h>

#include <b2m/b2m.hpp>
#include <b2m/models/cornet_z.hpp>
#include <b2m/nn/freeze.hpp>
#include <b2m/optim/param_groups.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace b2m;

namespace {

/// Identity layer counting its backward calls (observable: was backward run below here?).
struct counting_layer {
    static inline int backward_calls = 0;
    template <real T>
    struct object {
        static constexpr int rank_out = 0;
        matrix<T> empty;
        void init(rng&) {}
        const matrix<T>& forward(const matrix<T>& x, const nn::step_context&) { return x; }
        const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
            ++backward_calls;
            return need_input_grad ? gy : empty;
        }
        template <class F>
        void for_each_param(F&&) {}
    };
    template <real T>
    object<T> make() const { return {}; }
};

train::batch<float> toy_batch(std::size_t n = 32) {
    train::batch<float> b;
    b.x = matrix<float>::from_shape({n, 6});
    b.labels = index_vector::from_shape({n});
    rng r(11);
    r.fill_normal(b.x, 0.0, 1.0);
    for (std::size_t i = 0; i < n; ++i) b.labels(i) = (b.x(i, 0) + b.x(i, 1) > 0 ? 1 : 0) + (b.x(i, 2) > 0.5 ? 1 : 0);
    return b;
}

// layers: 0 dense, 1 counting, 2 relu, 3 tap V1, 4 dense, 5 relu, 6 tap V2, 7 dense
auto toy_student() {
    return nn::sequential(nn::dense(6, 12), counting_layer{}, nn::relu{}, nn::tap<"V1">{}, nn::dense(12, 10), nn::relu{},
                          nn::tap<"V2">{}, nn::dense(10, 3));
}

template <class Student>
std::vector<matrix<float>> params_of(Student& s) {
    std::vector<matrix<float>> out;
    s.for_each_param([&](const std::string&, matrix<float>& v, matrix<float>&) { out.push_back(v); });
    return out;
}

/// Counts the tensors an optimiser writes into a checkpoint.
struct counting_archive {
    std::size_t tensors = 0, optimizer_tensors = 0;
    template <class M>
    void tensor(const std::string& name, M&) {
        ++tensors;
        if (name.rfind("optimizer.", 0) == 0) ++optimizer_tensors;
    }
    void u64(const std::string&, std::uint64_t&) {}
    void f64(const std::string&, double&) {}
};

} // namespace

TEST_CASE("freezing by tap name selects the tap block or by index range and bad selections are named") {
    auto net = toy_student();
    const auto v1 = nn::tap_block(net, "V1");
    CHECK(v1.first == 0);
    CHECK(v1.last == 3);
    const auto v2 = nn::tap_block(net, "V2");
    CHECK(v2.first == 4);
    CHECK(v2.last == 6);
    const auto sel = nn::select_layers(net, "V2,0-1,7");
    REQUIRE(sel.size() == 3);
    CHECK(sel[1].first == 0);
    CHECK(sel[1].last == 1);
    CHECK(sel[2].first == 7);
    try {
        nn::freeze(net, "V1,IT");
        FAIL("unknown tap accepted");
    } catch (const error& e) {
        const std::string m = e.what();
        CHECK(m.find("'IT'") != std::string::npos);
        CHECK(m.find("V1, V2") != std::string::npos);
    }
    CHECK_FALSE(net.frozen(0));  // nothing changed by the failed call
    CHECK_THROWS_AS(nn::freeze(net, "3-9"), shape_error);
    CHECK_THROWS_AS(nn::freeze(net, "5-2"), shape_error);
    CHECK_THROWS_AS(nn::freeze(net, "V1,,V2"), error);
    CHECK(nn::param_prefixes(net, "V1") == std::vector<std::string>{"0.", "1.", "2.", "3."});
}

TEST_CASE("a frozen backbone is bit-identical after training with no optimiser state and backward stops above it") {
    const auto b = toy_batch();
    auto t = train::make_trainer(toy_student(), loss::cross_entropy(nn::output, data::labels),
                                 optim::adamw({.lr = 1e-2, .weight_decay = 0.1}), {.seed = 5});
    nn::freeze(t.student(), "V1");
    CHECK(t.student().first_trainable() == 4);
    const auto before = params_of(t.student());
    counting_layer::backward_calls = 0;
    float first = 0, last = 0;
    for (int i = 0; i < 60; ++i) {
        last = t.step(b).total;
        if (i == 0) first = last;
    }
    CHECK(last < first);  // the rest still learns
    const auto after = params_of(t.student());
    REQUIRE(after.size() == 6);
    CHECK(after[0] == before[0]);  // layer 0 weight: frozen (AdamW's weight decay would change it)
    CHECK(after[1] == before[1]);  // layer 0 bias
    for (std::size_t k = 2; k < 6; ++k) CHECK_FALSE(after[k] == before[k]);
    CHECK(counting_layer::backward_calls == 0);
    // Frozen layer 0's gradient buffers were never written.
    t.student().template layer<0>().for_each_param([](const std::string&, matrix<float>&, matrix<float>& g) {
        CHECK(xt::amax(xt::abs(g))() == 0.0f);
    });
    counting_archive ar;
    t.optimizer().serialize(ar);
    CHECK(ar.optimizer_tensors == 2 * 4);  // m and v for the 4 trainable tensors only

    // Control: without freezing the counting layer's backward runs and every tensor has state.
    auto u = train::make_trainer(toy_student(), loss::cross_entropy(nn::output, data::labels),
                                 optim::adamw({.lr = 1e-2, .weight_decay = 0.1}), {.seed = 5});
    const auto ub = params_of(u.student());
    counting_layer::backward_calls = 0;
    u.step(b);
    CHECK(counting_layer::backward_calls == 1);
    CHECK_FALSE(params_of(u.student())[0] == ub[0]);
    counting_archive ar2;
    u.optimizer().serialize(ar2);
    CHECK(ar2.optimizer_tensors == 2 * 6);
}

TEST_CASE("a frozen middle layer passes gradients through without computing its own (no weight GEMM)") {
    const auto b = toy_batch(8);
    auto frozen = toy_student(), free = toy_student();
    frozen.init(rng(3));
    free.init(rng(3));
    nn::freeze(frozen, "4");
    CHECK(frozen.first_trainable() == 0);
    auto run = [&](auto& net) {
        net.forward(b.x, {.training = true});
        // d(sum of outputs)/d(output) = 1
        net.output_grad().fill(1.0f);
        net.backward(false);
    };
    run(frozen);
    run(free);
    // Layer 4 (frozen dense) wrote no gradient; the unfrozen twin's is non-zero.
    frozen.template layer<4>().for_each_param([](const std::string&, matrix<float>&, matrix<float>& g) {
        CHECK(xt::amax(xt::abs(g))() == 0.0f);
    });
    float free_norm = 0;
    free.template layer<4>().for_each_param([&](const std::string&, matrix<float>&, matrix<float>& g) {
        free_norm += xt::amax(xt::abs(g))();
    });
    CHECK(free_norm > 0.0f);
    // Layer 0 below it gets exactly the gradient it gets without freezing.
    std::vector<matrix<float>> ga, gb;
    frozen.template layer<0>().for_each_param([&](const std::string&, matrix<float>&, matrix<float>& g) { ga.push_back(g); });
    free.template layer<0>().for_each_param([&](const std::string&, matrix<float>&, matrix<float>& g) { gb.push_back(g); });
    REQUIRE(ga.size() == 2);
    CHECK(ga[0] == gb[0]);
    CHECK(ga[1] == gb[1]);
    CHECK(xt::amax(xt::abs(ga[0]))() > 0.0f);
    // Trainable parameters exclude layer 4's; all parameters still include it (for saving).
    std::vector<std::string> trainable, all;
    frozen.for_each_trainable_param([&](const std::string& n, matrix<float>&, matrix<float>&) { trainable.push_back(n); });
    frozen.for_each_param([&](const std::string& n, matrix<float>&, matrix<float>&) { all.push_back(n); });
    CHECK(trainable == std::vector<std::string>{"0.weight", "0.bias", "7.weight", "7.bias"});
    CHECK(all.size() == 6);
    // Unfreezing restores the gradient.
    frozen.set_frozen(4, false);
    run(frozen);
    frozen.template layer<4>().for_each_param([](const std::string&, matrix<float>&, matrix<float>& g) {
        CHECK(xt::amax(xt::abs(g))() > 0.0f);
    });
}

TEST_CASE("frozen conv and batch-norm layers compute no weight gradients and the gradient below is unchanged") {
    const nn::image_shape in{.channels = 2, .height = 6, .width = 6};
    auto make = [&] {
        return nn::sequential(nn::dense(5, 72), nn::conv2d({.out_channels = 3, .kernel = 3, .padding = 1}, in),
                              nn::batch_norm(nn::image_shape{.channels = 3, .height = 6, .width = 6}), nn::relu{},
                              nn::flatten{}, nn::dense(108, 2));
    };
    auto a = make(), c = make();
    a.init(rng(9));
    c.init(rng(9));
    nn::freeze_range(a, 1, 2);
    matrix<float> x = matrix<float>::from_shape({4, 5});
    rng(2).fill_normal(x, 0.0, 1.0);
    a.forward(x, {.training = true});
    a.output_grad().fill(1.0f);
    a.backward(false);
    c.forward(x, {.training = true});
    c.output_grad().fill(1.0f);
    c.backward(false);
    a.template layer<1>().for_each_param([](const std::string&, matrix<float>&, matrix<float>& g) {
        CHECK(xt::amax(xt::abs(g))() == 0.0f);
    });
    a.template layer<2>().for_each_param([](const std::string&, matrix<float>&, matrix<float>& g) {
        CHECK(xt::amax(xt::abs(g))() == 0.0f);
    });
    std::vector<matrix<float>> ga, gc;
    a.template layer<0>().for_each_param([&](const std::string&, matrix<float>&, matrix<float>& g) { ga.push_back(g); });
    c.template layer<0>().for_each_param([&](const std::string&, matrix<float>&, matrix<float>& g) { gc.push_back(g); });
    CHECK(ga[0] == gc[0]);
    CHECK(xt::amax(xt::abs(ga[0]))() > 0.0f);
}

TEST_CASE("parameter groups: a group's lr scale and weight decay equal a separate optimiser with those settings") {
    auto run = [](auto opt_a, auto opt_b, auto opt_grouped) {
        matrix<double> p1 = {{0.5, -1.0, 2.0}}, p2 = {{0.3, 0.2, -0.7}};
        matrix<double> q1 = p1, q2 = p2, g1 = xt::zeros<double>({1, 3}), g2 = g1, h1 = g1, h2 = g1;
        for (int t = 0; t < 5; ++t) {
            for (int i = 0; i < 3; ++i) {
                g1(0, i) = h1(0, i) = 0.3 * p1(0, i) + 0.1 * (t + i);
                g2(0, i) = h2(0, i) = -0.2 * p2(0, i) + 0.05 * (t - i);
                h1(0, i) = 0.3 * q1(0, i) + 0.1 * (t + i);
                h2(0, i) = -0.2 * q2(0, i) + 0.05 * (t - i);
            }
            opt_a.step([&](auto&& f) { f("backbone.w", p1, g1); });
            opt_b.step([&](auto&& f) { f("head.w", p2, g2); });
            opt_grouped.step([&](auto&& f) {
                f("backbone.w", q1, h1);
                f("head.w", q2, h2);
            });
        }
        for (int i = 0; i < 3; ++i) {
            CHECK(q1(0, i) == doctest::Approx(p1(0, i)).epsilon(1e-13));
            CHECK(q2(0, i) == doctest::Approx(p2(0, i)).epsilon(1e-13));
        }
        CHECK(std::abs(q1(0, 0) - 0.5) > 1e-6);
    };
    const std::vector<optim::param_group> groups{{.prefixes = {"backbone."}, .lr_scale = 0.1, .weight_decay = 0.0}};
    run(optim::adamw({.lr = 1e-3 * 0.1, .weight_decay = 0.0}).make<double>(),
        optim::adamw({.lr = 1e-3, .weight_decay = 0.05}).make<double>(),
        optim::adamw({.lr = 1e-3, .weight_decay = 0.05, .groups = groups}).make<double>());
    run(optim::adam({.lr = 2e-2 * 0.1}).make<double>(), optim::adam({.lr = 2e-2, .weight_decay = 0.01}).make<double>(),
        optim::adam({.lr = 2e-2, .weight_decay = 0.01, .groups = groups}).make<double>());
    run(optim::sgd({.lr = 0.1 * 0.1, .momentum = 0.9}).make<double>(),
        optim::sgd({.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01}).make<double>(),
        optim::sgd({.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .groups = groups}).make<double>());
    CHECK(optim::layer_prefixes(2, 4) == std::vector<std::string>{"2.", "3.", "4."});
    CHECK_THROWS_AS(optim::layer_prefixes(4, 2), error);
    CHECK_THROWS_AS(optim::resolve_group({{.prefixes = {"a"}, .lr_scale = -1}}, "a.w", 0.0), error);
}

TEST_CASE("a group with lr scale 0 leaves its parameters unchanged while the rest trains") {
    const auto b = toy_batch();
    auto net = toy_student();
    const auto prefixes = nn::param_prefixes(net, "V1");
    auto t = train::make_trainer(std::move(net), loss::cross_entropy(nn::output, data::labels),
                                 optim::adam({.lr = 1e-2, .groups = {{.prefixes = prefixes, .lr_scale = 0.0}}}), {.seed = 1});
    const auto before = params_of(t.student());
    for (int i = 0; i < 5; ++i) t.step(b);
    const auto after = params_of(t.student());
    CHECK(after[0] == before[0]);
    CHECK_FALSE(after[2] == before[2]);
}

TEST_CASE("batch norm kept in eval mode: running statistics unchanged and training output equals evaluation output") {
    auto net = nn::sequential(nn::dense(6, 4), nn::batch_norm(4), nn::relu{}, nn::dense(4, 3));
    net.init(rng(4));
    auto& bn = net.template layer<1>();
    bn.running_mean().fill(0.3f);
    bn.running_var().fill(2.0f);
    net.set_batch_norm_eval(true);
    const auto b = toy_batch(16);
    const matrix<float> y_eval = net.forward(b.x, {.training = false});
    const matrix<float> y_train = net.forward(b.x, {.training = true});
    CHECK(y_train == y_eval);
    auto t = train::make_trainer(std::move(net), loss::cross_entropy(nn::output, data::labels), optim::adam({.lr = 1e-2}),
                                 {.seed = 4, .init_student = false});
    const matrix<float> gamma0 = t.student().template layer<1>().gamma();
    for (int i = 0; i < 5; ++i) t.step(b);
    auto& bn2 = t.student().template layer<1>();
    CHECK(xt::all(xt::equal(bn2.running_mean(), 0.3f)));
    CHECK(xt::all(xt::equal(bn2.running_var(), 2.0f)));
    CHECK_FALSE(bn2.gamma() == gamma0);  // gamma, beta still learn
    // Control: back in training mode the statistics move.
    t.student().set_batch_norm_eval(false);
    t.step(b);
    CHECK_FALSE(xt::all(xt::equal(bn2.running_mean(), 0.3f)));
}

TEST_CASE("batch norm in eval mode during training: input gradient matches finite differences (double)") {
    auto net = nn::sequential<double>(nn::batch_norm(3));
    net.init(rng(1));
    auto& bn = net.template layer<0>();
    bn.running_mean() = matrix<double>{{0.1, -0.2, 0.3}};
    bn.running_var() = matrix<double>{{0.5, 1.5, 2.0}};
    bn.gamma() = matrix<double>{{1.2, -0.7, 0.4}};
    net.set_batch_norm_eval(true);
    matrix<double> x = {{0.2, 1.0, -0.4}, {1.1, -0.3, 0.8}};
    const matrix<double> w = {{0.3, -1.2, 0.5}, {0.9, 0.4, -0.6}};
    auto loss = [&](const matrix<double>& xx) {
        const auto& y = net.forward(xx, {.training = true});
        return double(xt::sum(y * w)());
    };
    loss(x);
    net.output_grad() = w;
    const matrix<double> gx = net.backward(true);
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j) {
            matrix<double> xp = x, xm = x;
            xp(i, j) += 1e-6;
            xm(i, j) -= 1e-6;
            CHECK(gx(i, j) == doctest::Approx((loss(xp) - loss(xm)) / 2e-6).epsilon(1e-8));
        }
}

TEST_CASE("CORnet-Z: freezing the areas V1 and V2 by tap name keeps them bit-identical while V4 and IT and the decoder learn") {
    auto net = models::cornet_z<float>({.image = 16, .channels = {4, 4, 4, 4}, .classes = 3});
    train::batch<float> b;
    b.x = matrix<float>::from_shape({12, 3 * 16 * 16});
    rng(7).fill_normal(b.x, 0.0, 1.0);
    b.labels = index_vector::from_shape({12});
    for (std::size_t i = 0; i < 12; ++i) b.labels(i) = i % 3;
    auto t = train::make_trainer(std::move(net), loss::cross_entropy(nn::output, data::labels), optim::adam({.lr = 1e-2}),
                                 {.seed = 2});
    const auto ranges = nn::freeze(t.student(), "V1,V2");
    REQUIRE(ranges.size() == 2);
    CHECK(ranges[0].first == 0);
    CHECK(ranges[0].last == 3);
    CHECK(ranges[1].first == 4);
    CHECK(ranges[1].last == 7);
    CHECK(t.student().first_trainable() == 8);
    const auto before = params_of(t.student());
    for (int i = 0; i < 3; ++i) t.step(b);
    const auto after = params_of(t.student());
    REQUIRE(after.size() == 10);  // 4 convs and the decoder, weight and bias each
    for (std::size_t k = 0; k < 4; ++k) CHECK(after[k] == before[k]);       // V1, V2
    for (std::size_t k = 4; k < 10; ++k) CHECK_FALSE(after[k] == before[k]);  // V4, IT, decoder
}
