// fit(): seeded batches, callbacks, checkpoints (label: reliability) and resume.
#include <doctest/doctest.h>

#include <b2m/b2m.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace b2m;

namespace {
/// A learnable 3-class problem: labels from the sign pattern of two input features.
train::batch<float> make_data(std::size_t n, std::uint64_t seed) {
    train::batch<float> d;
    d.x = matrix<float>::from_shape({n, 6});
    rng(seed).fill_normal(d.x);
    d.labels = index_vector::from_shape({n});
    d.brain = matrix<float>::from_shape({n, 3});
    for (std::size_t i = 0; i < n; ++i) {
        d.labels(i) = d.x(i, 0) > 0.5f ? 2 : (d.x(i, 1) > 0 ? 1 : 0);
        for (std::size_t j = 0; j < 3; ++j) d.brain(i, j) = std::tanh(d.x(i, j) + d.x(i, (j + 1) % 6));
    }
    return d;
}
auto make_trainer(std::uint64_t seed) {
    auto net = nn::sequential(nn::dense(6, 16), nn::relu{}, nn::dropout{0.1}, nn::tap<"h">{}, nn::dense(16, 3));
    return train::make_trainer(std::move(net), loss::cross_entropy(nn::output, data::labels) + 0.3 * loss::mse(nn::output, data::brain),
                               optim::adam({.lr = 1e-2}), {.seed = seed});
}
std::string temp_path(const char* name) { return (std::filesystem::temp_directory_path() / name).string(); }
} // namespace

TEST_CASE("fit learns, reports per-term values and validation accuracy") {
    // the mse term reads a (B, 4) brain against a (B, 3) output: a named error
    auto bad = make_trainer(1);
    const auto d = make_data(256, 1), v = make_data(128, 2);
    auto wide = d;
    wide.brain = xt::zeros<float>({256, 4});
    CHECK_THROWS_WITH_AS(train::fit(bad, wide, &v, {.epochs = 1}),
                         doctest::Contains("nn::output has shape (64, 3) but data::brain has shape (64, 4)"), shape_error);

    auto net = nn::sequential(nn::dense(6, 16), nn::relu{}, nn::tap<"h">{}, nn::dense(16, 3));
    auto t = train::make_trainer(net, loss::cross_entropy(nn::output, data::labels) + 0.3 * loss::mse(nn::tap<"h">{}, data::inputs),
                                 optim::adam({.lr = 1e-2}), {.seed = 1});
    // tap h is (B, 16) and inputs (B, 6): also a shape error naming both
    CHECK_THROWS_WITH_AS(train::fit(t, d, &v, {.epochs = 1}), doctest::Contains("data::inputs has shape"), shape_error);

    auto good = train::make_trainer(nn::sequential(nn::dense(6, 16), nn::relu{}, nn::dense(16, 3)),
                                    loss::cross_entropy(nn::output, data::labels), optim::adam({.lr = 1e-2}), {.seed = 1});
    const auto report = train::fit(good, d, &v, {.epochs = 15, .batch_size = 32, .shuffle_seed = 3});
    REQUIRE(report.epochs.size() == 15);
    CHECK(report.epochs.back().train_total < 0.5 * report.epochs.front().train_total);
    CHECK(report.epochs.back().val_accuracy > 0.85);
    CHECK(report.term_names[0] == "cross_entropy(nn::output)");
}

TEST_CASE("inconsistent data is named before training starts") {
    auto t = make_trainer(1);
    auto d = make_data(64, 1);
    d.brain = xt::zeros<float>({63, 3});
    CHECK_THROWS_WITH_AS(train::fit(t, d, nullptr, {.epochs = 1}),
                         doctest::Contains("data::brain has shape (63, 3) but data::inputs has 64 rows"), shape_error);
    d = make_data(64, 1);
    d.x(5, 2) = std::nanf("");
    CHECK_THROWS_AS(train::fit(t, d, nullptr, {.epochs = 1}), data_error);
}

TEST_SUITE("reliability") {
    TEST_CASE("resume refuses a checkpoint past the planned epochs and leaves the trainer unchanged") {
        const auto d = make_data(64, 5);
        const std::string path = temp_path("b2m_test_resume_past.ckpt");
        std::filesystem::remove(path);
        auto first = make_trainer(4);
        train::fit(first, d, nullptr, {.epochs = 3, .batch_size = 32, .checkpoint_path = path});
        REQUIRE(std::filesystem::exists(path));
        auto fresh = make_trainer(4);
        const matrix<float> before = fresh.predict(d.x);
        CHECK_THROWS_WITH_AS(train::fit(fresh, d, nullptr, {.epochs = 2, .batch_size = 32, .checkpoint_path = path, .resume = true}),
                             doctest::Contains("is at epoch 3, past the 2 planned epochs"), data_error);
        CHECK(fresh.predict(d.x) == before);
        // At exactly the planned epochs there is nothing left to do: an empty report, no error.
        const auto rep = train::fit(fresh, d, nullptr, {.epochs = 3, .batch_size = 32, .checkpoint_path = path, .resume = true});
        CHECK(rep.resumed_after == 3);
        CHECK(rep.epochs.empty());
        std::filesystem::remove(path);
    }

    TEST_CASE("resume from a checkpoint continues the same trajectory bit for bit") {
        const auto d = make_data(200, 5);
        const std::string path = temp_path("b2m_test_resume.ckpt");
        std::filesystem::remove(path);
        auto opts = train::fit_options{.epochs = 6, .batch_size = 32, .shuffle_seed = 9};

        auto full = make_trainer(4);
        train::early_stopping es_full{.patience = 100};
        train::fit(full, d, nullptr, opts, es_full, train::lr_schedule<optim::reduce_on_plateau>{{.factor = 0.5, .patience = 0}});

        auto first = make_trainer(4);
        auto o1 = opts;
        o1.epochs = 3;
        o1.checkpoint_path = path;
        train::early_stopping es1{.patience = 100};
        train::fit(first, d, nullptr, o1, es1, train::lr_schedule<optim::reduce_on_plateau>{{.factor = 0.5, .patience = 0}});
        REQUIRE(std::filesystem::exists(path));

        auto resumed = make_trainer(4);  // a fresh process would start like this
        auto o2 = opts;
        o2.checkpoint_path = path;
        o2.resume = true;
        train::early_stopping es2{.patience = 100};
        const auto rep = train::fit(resumed, d, nullptr, o2, es2,
                                    train::lr_schedule<optim::reduce_on_plateau>{{.factor = 0.5, .patience = 0}});
        CHECK(rep.resumed_after == 3);
        CHECK(rep.epochs.size() == 3);
        CHECK(resumed.predict(d.x) == full.predict(d.x));
        CHECK(resumed.optimizer().lr == full.optimizer().lr);
        CHECK(es2.best == es_full.best);
        std::filesystem::remove(path);
    }

    TEST_CASE("a save that fails midway leaves the previous checkpoint readable") {
        const auto d = make_data(64, 5);
        const std::string path = temp_path("b2m_test_fault.ckpt");
        auto t = make_trainer(1);
        train::fit(t, d, nullptr, {.epochs = 1, .batch_size = 32});
        t.save(path);
        const auto saved = t.predict(d.x);
        train::fit(t, d, nullptr, {.epochs = 2, .batch_size = 32});
        train::detail::checkpoint_fail_after_bytes = 100;
        CHECK_THROWS_WITH_AS(t.save(path), doctest::Contains("the previous checkpoint is unchanged"), io_error);
        train::detail::checkpoint_fail_after_bytes = 0;
        CHECK_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));
        auto other = make_trainer(2);
        other.evaluate(d);
        other.load(path);
        CHECK(other.predict(d.x) == saved);
        std::filesystem::remove(path);
    }

    TEST_CASE("loading a checkpoint into a different student, or a corrupt one, is a clear error") {
        const auto d = make_data(64, 5);
        const std::string path = temp_path("b2m_test_foreign.ckpt");
        auto t = make_trainer(1);
        train::fit(t, d, nullptr, {.epochs = 1, .batch_size = 32});
        t.save(path);
        auto wider = train::make_trainer(nn::sequential(nn::dense(6, 32), nn::relu{}, nn::dense(32, 3)),
                                         loss::cross_entropy(nn::output, data::labels) + 0.3 * loss::mse(nn::output, data::brain),
                                         optim::adam({}), {.seed = 1});
        const auto before = wider.predict(d.x);
        CHECK_THROWS_WITH_AS(wider.load(path), doctest::Contains("'student.0.weight' has shape (6, 16) but this trainer's has shape (6, 32)"),
                             shape_error);
        CHECK(wider.predict(d.x) == before);  // unchanged
        auto deeper = train::make_trainer(nn::sequential(nn::dense(6, 16), nn::relu{}, nn::layer_norm{16}, nn::dense(16, 3)),
                                          loss::cross_entropy(nn::output, data::labels), optim::adam({}), {.seed = 1});
        CHECK_THROWS_AS(deeper.load(path), io_error);
        // corrupt one byte in the middle
        std::string bytes;
        {
            std::ifstream in(path, std::ios::binary);
            std::stringstream ss;
            ss << in.rdbuf();
            bytes = ss.str();
        }
        bytes[bytes.size() / 2] ^= 0x5a;
        std::ofstream(path, std::ios::binary) << bytes;
        CHECK_THROWS_WITH_AS(t.load(path), doctest::Contains("checksum mismatch"), io_error);
        std::ofstream(path, std::ios::binary) << bytes.substr(0, 20);
        CHECK_THROWS_AS(t.load(path), io_error);
        CHECK_THROWS_WITH_AS(t.load(path + ".missing"), doctest::Contains("cannot open"), io_error);
        std::filesystem::remove(path);
    }

    TEST_CASE("a non-finite loss during fit names the term and keeps the last good checkpoint") {
        auto d = make_data(64, 5);
        const std::string path = temp_path("b2m_test_nan.ckpt");
        std::filesystem::remove(path);
        auto t = make_trainer(1);
        train::fit(t, d, nullptr, {.epochs = 1, .batch_size = 32, .checkpoint_path = path});
        const auto good = t.predict(d.x);
        auto poisoned = d;
        poisoned.brain(3, 1) = 1e30f;  // finite input, overflowing loss
        CHECK_THROWS_WITH_AS(train::fit(t, poisoned, nullptr, {.epochs = 3, .batch_size = 32, .checkpoint_path = path, .resume = true}),
                             doctest::Contains("'mse(nn::output, data::brain)' is not finite"), nonfinite_error);
        auto back = make_trainer(1);
        back.evaluate(d);
        back.load(path, [](auto& ar) {
            std::uint64_t e = 0;
            double lr = 0;
            ar.u64("fit.epoch", e);
            ar.f64("fit.base_lr", lr);
        });
        CHECK(back.predict(d.x) == good);
        std::filesystem::remove(path);
    }
}

TEST_CASE("csv_log writes a header and a row per epoch - early stopping stops") {
    const auto d = make_data(64, 5);
    const std::string path = temp_path("b2m_test_log.csv");
    std::filesystem::remove(path);
    auto t = make_trainer(1);
    const auto rep = train::fit(t, d, &d, {.epochs = 50, .batch_size = 64}, train::csv_log{path},
                                train::early_stopping{.patience = 2, .min_delta = 10.0});
    CHECK(rep.stopped_early);
    CHECK(rep.epochs.size() == 3);
    std::ifstream in(path);
    std::string header, line;
    std::getline(in, header);
    CHECK(header.rfind("epoch,lr,weight_cross_entropy,weight_mse,train_loss,train_cross_entropy,train_mse,val_loss,", 0) == 0);
    std::size_t rows = 0;
    while (std::getline(in, line)) ++rows;
    CHECK(rows == 3);
    std::filesystem::remove(path);
}

TEST_CASE("validation data without the brain field is scored by accuracy only") {
    const auto d = make_data(256, 5);
    const auto with_brain = make_data(64, 6);
    auto without = with_brain;
    without.brain = matrix<float>();  // held-out stimuli without recordings
    auto a = make_trainer(1), b = make_trainer(1);
    const auto ra = train::fit(a, d, &with_brain, {.epochs = 8, .batch_size = 32});
    const auto rb = train::fit(b, d, &without, {.epochs = 8, .batch_size = 32}, train::early_stopping{.patience = 10});
    REQUIRE(rb.epochs.size() == 8);
    CHECK(std::isfinite(ra.epochs[0].val_total));
    CHECK(std::isnan(rb.epochs[0].val_total));
    for (std::size_t e = 0; e < 8; ++e) CHECK(ra.epochs[e].val_accuracy == rb.epochs[e].val_accuracy);
    CHECK(rb.epochs.back().val_accuracy > rb.epochs.front().val_accuracy);
}

TEST_CASE("train_accuracy is each step's argmax accuracy on the labels - NaN without labels") {
    const auto d = make_data(200, 7);
    // lr 0: the parameters never change, so every step's forward pass is the initial
    // student's prediction (no dropout), whatever the batch order and size
    auto frozen = train::make_trainer(nn::sequential(nn::dense(6, 16), nn::relu{}, nn::dense(16, 3)),
                                      loss::cross_entropy(nn::output, data::labels), optim::sgd({.lr = 0}), {.seed = 5});
    const auto fr = train::fit(frozen, d, nullptr, {.epochs = 2, .batch_size = 48, .shuffle_seed = 2});
    const double expected = data::accuracy(frozen.predict(d.x), d.labels);
    REQUIRE(fr.epochs.size() == 2);
    for (const auto& e : fr.epochs) {
        REQUIRE_FALSE(std::isnan(e.train_accuracy));
        CHECK(e.train_accuracy == doctest::Approx(expected).epsilon(1e-12));
    }
    // learning: the running accuracy rises, and ends close to the trained student's
    auto learner = train::make_trainer(nn::sequential(nn::dense(6, 16), nn::relu{}, nn::dense(16, 3)),
                                       loss::cross_entropy(nn::output, data::labels), optim::adam({.lr = 1e-2}), {.seed = 1});
    const auto lr = train::fit(learner, d, nullptr, {.epochs = 15, .batch_size = 32, .shuffle_seed = 3});
    CHECK(lr.epochs.back().train_accuracy > lr.epochs.front().train_accuracy + 0.2);
    CHECK(lr.epochs.back().train_accuracy > 0.85);
    CHECK(lr.epochs.back().train_accuracy <= 1.0);
    // no labels in the training data (a brain-only objective): NaN
    auto unlabelled = d;
    unlabelled.labels = index_vector();
    auto regressor = train::make_trainer(nn::sequential(nn::dense(6, 16), nn::relu{}, nn::dense(16, 3)),
                                         loss::mse(nn::output, data::brain), optim::adam({.lr = 1e-2}), {.seed = 1});
    const auto rr = train::fit(regressor, unlabelled, nullptr, {.epochs = 1, .batch_size = 32});
    CHECK(std::isnan(rr.epochs[0].train_accuracy));
}

TEST_CASE("batch plans never leave a single trial alone, and drop_last drops the rest") {
    const train::batch_plan p{65, 32};
    REQUIRE(p.count() == 2);
    CHECK(p.end(0) == 32);
    CHECK(p.begin(1) == 32);
    CHECK(p.end(1) == 65);  // the 65th trial joins the last batch
    const train::batch_plan q{70, 32};
    CHECK(q.count() == 3);
    CHECK(q.end(2) - q.begin(2) == 6);
    const train::batch_plan d{70, 32, true};
    CHECK(d.count() == 2);
    CHECK(d.end(1) == 64);
    CHECK(train::batch_plan{10, 32}.count() == 1);
    CHECK(train::batch_plan{64, 32}.count() == 2);

    // a contrastive term (needs >= 2 trials per batch) trains on 65 trials in batches of 32
    auto d65 = make_data(65, 3);
    auto net = nn::sequential(nn::dense(6, 8), nn::relu{}, nn::tap<"h">{}, nn::dense(8, 3));
    auto t = train::make_trainer(net, loss::cross_entropy(nn::output, data::labels) +
                                          0.5 * loss::contrastive(nn::tap<"h">{}, data::brain, {.dim = 4}),
                                 optim::adam({}), {.seed = 1});
    const auto v = make_data(33, 4);
    const auto rep = train::fit(t, d65, &v, {.epochs = 2, .batch_size = 32});
    CHECK(std::isfinite(rep.epochs.back().val_total));
}

namespace {
/// Sequences of 6 steps x 2 features, lengths 2..6; padded steps hold large garbage.
train::batch<double> variable_length_batch(std::size_t n, std::uint64_t seed) {
    rng r(seed);
    train::batch<double> b;
    b.x = matrix<double>::from_shape({n, 12});
    b.labels = index_vector::from_shape({n});
    b.lengths = index_vector::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) {
        b.lengths(i) = std::int64_t(2 + r.below(5));
        for (std::size_t j = 0; j < 12; ++j) b.x(i, j) = j / 2 < std::size_t(b.lengths(i)) ? r.normal() : 50 * r.normal();
        b.labels(i) = b.x(i, 0) > 0 ? 1 : 0;
    }
    return b;
}
template <class E>
double max_abs(const E& e) {
    return xt::amax(xt::abs(e))();
}
auto gru_student() {
    return nn::sequential<double>(nn::gru(2, 5), nn::last_step(5), nn::dense(5, 2));
}
}  // namespace

TEST_CASE("sequence lengths in the batch equal set_lengths on the recurrent layer") {
    const auto b = variable_length_batch(16, 3);
    auto with_batch = train::make_trainer(gru_student(), loss::cross_entropy(nn::output, data::labels), optim::adam({.lr = 1e-2}),
                                          {.seed = 4});
    auto by_hand = train::make_trainer(gru_student(), loss::cross_entropy(nn::output, data::labels), optim::adam({.lr = 1e-2}),
                                       {.seed = 4});
    train::batch<double> unmasked = b;
    unmasked.lengths = index_vector();
    const std::span<const std::int64_t> len(b.lengths.data(), b.lengths.size());
    for (int step = 0; step < 3; ++step) {
        const double v1 = with_batch.step(b).total;
        by_hand.student().layer<0>().set_lengths(len);
        const double v2 = by_hand.step(unmasked).total;
        CHECK(v1 == v2);
    }
    std::vector<double> p1, p2;
    with_batch.for_each_param([&](const std::string&, matrix<double>& w, matrix<double>&) { p1.insert(p1.end(), w.begin(), w.end()); });
    by_hand.for_each_param([&](const std::string&, matrix<double>& w, matrix<double>&) { p2.insert(p2.end(), w.begin(), w.end()); });
    CHECK(p1 == p2);

    // The lengths matter (the padding is garbage), and a later batch without lengths runs
    // every step again instead of keeping the last batch's lengths.
    const matrix<double> masked = with_batch.predict(b);
    const matrix<double> full = with_batch.predict(unmasked.x);
    CHECK(max_abs(masked - full) > 1e-3);
    by_hand.student().layer<0>().clear_lengths();
    CHECK(max_abs(full - by_hand.predict(unmasked.x)) == 0.0);
}

TEST_CASE("fit trains variable-length sequences from the batch and checks their count") {
    const auto data = variable_length_batch(64, 5), val = variable_length_batch(32, 6);
    auto trainer = train::make_trainer(gru_student(), loss::cross_entropy(nn::output, data::labels), optim::adam({.lr = 1e-2}),
                                       {.seed = 4});
    auto manual = train::make_trainer(gru_student(), loss::cross_entropy(nn::output, data::labels), optim::adam({.lr = 1e-2}),
                                      {.seed = 4});
    const auto report = train::fit(trainer, data, &val, {.epochs = 1, .batch_size = 64, .shuffle = false});
    manual.step(data);
    CHECK(max_abs(trainer.predict(val) - manual.predict(val)) == 0.0);
    // Validation accuracy is computed with the validation batch's lengths.
    CHECK(report.epochs.back().val_accuracy == doctest::Approx(data::accuracy(manual.predict(val), val.labels)));

    auto bad = data;
    bad.lengths = index_vector::from_shape({63});
    CHECK_THROWS_WITH_AS(train::fit(trainer, bad, nullptr, {.epochs = 1, .batch_size = 64}),
                         doctest::Contains("sequence lengths has shape (63)"), shape_error);
}
