// loss::encoding_alignment with several subjects (ReAlnet's multi-subject form: shared
// encoders, one head per subject onto its own targets) and with the correlation part
// detached (ReAlnet's published code): values against a direct computation, gradients by
// finite differences, and what detaching changes.
#include <doctest/doctest.h>

#include <cmath>

#include <b2m/loss/encoding_alignment.hpp>
#include <b2m/nn/activation.hpp>
#include <b2m/nn/dense.hpp>
#include <b2m/nn/sequential.hpp>

#include "loss_check.hpp"

using namespace b2m;

namespace {
/// 7 trials: subjects 0,1,0,1,1,0,1 with 3 and 5 targets; brain padded to 5 columns.
train::batch<double> two_subject_batch() {
    train::batch<double> b;
    rng r(12);
    b.x = matrix<double>::from_shape({7, 4});
    r.fill_normal(b.x);
    b.brain = matrix<double>::from_shape({7, 5});
    r.fill_normal(b.brain);
    b.subject = index_vector({0, 1, 0, 1, 1, 0, 1});
    for (std::size_t i = 0; i < 7; ++i)
        if (b.subject(i) == 0)
            for (std::size_t j = 3; j < 5; ++j) b.brain(i, j) = 1e6;  // padding: must never be read
    return b;
}
double pearson(const double* a, const double* b, std::size_t n) {
    double ma = 0, mb = 0;
    for (std::size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
    ma /= double(n), mb /= double(n);
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < n; ++i) sab += (a[i] - ma) * (b[i] - mb), saa += (a[i] - ma) * (a[i] - ma), sbb += (b[i] - mb) * (b[i] - mb);
    return sab / std::sqrt(saa * sbb);
}
}  // namespace

TEST_CASE("encoding_alignment with two subjects equals a direct computation - MSE over valid entries, same-subject pairs") {
    auto s = nn::sequential<double>(nn::dense(4, 6), nn::tanh{}, nn::tap<"h">{});
    s.init(rng(1));
    auto b = two_subject_batch();
    auto t = loss::encoding_alignment(nn::tap<"h">{}, data::brain, {.units = 3, .subject_widths = {3, 5}, .seed = 2})
                 .make<double>();
    const double value = loss_check::value(t, s, b);
    // Direct: predictions per subject from the term's own heads and encoder.
    const matrix<double>& h = s.tap<"h">().value();
    const auto& enc = t.encoder(0);
    matrix<double> e = matrix<double>::from_shape({7, 3});
    enc.forward(h.data(), 7, 6, e.data(), 3);
    for (auto& v : e) v = std::max(v, 0.0);
    double sq = 0;
    std::size_t valid = 0;
    std::vector<std::vector<double>> pred(7);
    for (std::size_t i = 0; i < 7; ++i) {
        const std::size_t sub = std::size_t(b.subject(i)), w = sub == 0 ? 3 : 5;
        pred[i].resize(w);
        t.head(sub).forward(e.data() + i * 3, 1, 3, pred[i].data(), w);
        for (std::size_t j = 0; j < w; ++j) sq += (pred[i][j] - b.brain(i, j)) * (pred[i][j] - b.brain(i, j)), ++valid;
    }
    double diag = 0, off = 0;
    std::size_t pairs = 0;
    for (std::size_t i = 0; i < 7; ++i)
        for (std::size_t j = 0; j < 7; ++j) {
            if (b.subject(i) != b.subject(j)) continue;
            const std::size_t w = pred[i].size();
            const double c = pearson(pred[i].data(), b.brain.data() + j * 5, w);
            if (i == j) diag += c;
            else off += c, ++pairs;
        }
    const double expect = sq / double(valid) + 1 - diag / 7 + off / double(pairs);
    CHECK(value == doctest::Approx(expect).epsilon(1e-12));
    CHECK(std::isfinite(value));  // the 1e6 padding was never read
}

TEST_SUITE("gradcheck") {
    TEST_CASE("encoding_alignment gradients with two subjects - input and every head") {
        auto s = nn::sequential<double>(nn::dense(4, 6), nn::tanh{}, nn::tap<"h">{});
        s.init(rng(1));
        auto b = two_subject_batch();
        for (std::size_t j = 3; j < 5; ++j)
            for (std::size_t i = 0; i < 7; ++i)
                if (b.subject(i) == 0) b.brain(i, j) = 0;  // finite padding for the difference quotients
        auto t = loss::encoding_alignment(nn::tap<"h">{}, data::brain, {.units = 3, .subject_widths = {3, 5}, .seed = 2})
                     .make<double>();
        loss_check::check_input_grad(t, s, b);
        loss_check::check_param_grads(t, s, b, {"encoder0.weight", "head0.weight", "head1.weight", "head1.bias"});
    }
}

TEST_CASE("encoding_alignment with the correlation detached - same value, the gradient of the MSE part only") {
    auto s = nn::sequential<double>(nn::dense(4, 6), nn::tanh{}, nn::tap<"h">{});
    s.init(rng(1));
    train::batch<double> b = two_subject_batch();
    b.subject = index_vector();
    for (auto& v : b.brain) v = std::fmod(v, 3.0);
    auto full = loss::encoding_alignment(nn::tap<"h">{}, data::brain, {.units = 3, .seed = 2}).make<double>();
    auto detached = loss::encoding_alignment(nn::tap<"h">{}, data::brain, {.units = 3, .correlation_gradient = false, .seed = 2})
                        .make<double>();
    auto mse_only = loss::encoding_alignment(nn::tap<"h">{}, data::brain, {.units = 3, .correlation = false, .seed = 2})
                        .make<double>();
    const double vf = loss_check::value(full, s, b), vd = loss_check::value(detached, s, b);
    CHECK(vd == doctest::Approx(vf).epsilon(1e-14));
    const matrix<double> gd = loss_check::analytic_input_grad(detached, s, b);
    const matrix<double> gm = loss_check::analytic_input_grad(mse_only, s, b);
    const matrix<double> gf = loss_check::analytic_input_grad(full, s, b);
    CHECK(ad::relative_error(gd, gm) < 1e-12);
    CHECK(ad::relative_error(gd, gf) > 1e-3);  // the correlation part's gradient is really gone
}

TEST_CASE("encoding_alignment subjects - bad ids and a too narrow brain are named") {
    auto s = nn::sequential<double>(nn::dense(4, 6), nn::tanh{}, nn::tap<"h">{});
    s.init(rng(1));
    auto b = two_subject_batch();
    auto t = loss::encoding_alignment(nn::tap<"h">{}, data::brain, {.units = 3, .subject_widths = {3, 5}}).make<double>();
    SUBCASE("subject id out of range") {
        b.subject(2) = 2;
        CHECK_THROWS_WITH_AS(loss_check::value(t, s, b), doctest::Contains("batch.subject[2] = 2"), data_error);
    }
    SUBCASE("brain narrower than the widest subject") {
        b.brain = xt::view(b.brain, xt::all(), xt::range(0, 4));
        CHECK_THROWS_WITH_AS(loss_check::value(t, s, b), doctest::Contains("widest subject has 5 columns"), shape_error);
    }
}
