// TEST_SUITE("cli"): `b2m train --arch/--init/--freeze`, `b2m features`, `b2m predict`,
// `b2m score` (issue #13 items 3-5, issue #17 --arch), run as a separate process on tiny
// synthetic data written into a scratch folder. Checks against independent computations:
// features against the same student loaded from student.npz in this process; the conv
// layout/scaling against a hand-transposed float copy; GRU lengths against padding
// garbage; score's RSA and CKA against brain::compare_rdms / linear_cka on the features;
// frozen layers bit-identical in the written student.npz.
#include <doctest/doctest.h>

#include "cli_run.hpp"

#include <b2m/brain/cka.hpp>
#include <b2m/brain/metrics.hpp>
#include <b2m/brain/npy.hpp>
#include <b2m/brain/repeats.hpp>
#include <b2m/brain/rsa.hpp>
#include <b2m/core/rng.hpp>
#include <b2m/nn.hpp>
#ifdef B2M_WITH_IO
#include <b2m/io/state_dict.hpp>
#endif

#include <xtensor/xnpy.hpp>
#include <xtensor/xview.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace b2m;
namespace fs = std::filesystem;

#if defined(B2M_CLI_PATH) && defined(B2M_WITH_IO)
namespace {

using b2m_test::process_result;
using b2m_test::read_text;
using b2m_test::run_b2m;
using b2m_test::scratch;

brain::npy_header npy_header_of(const std::string& path) {
    using namespace brain;
    using namespace brain::detail;
    return read_npy_header(path);
}

std::size_t lines(const std::string& s) {
    std::size_t n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

/// Labelled 2-class data: x (n, f) normal, label = sign of a fixed projection.
void write_mlp_data(const scratch& s, std::size_t n, std::size_t f) {
    matrix<float> x = matrix<float>::from_shape({n, f});
    rng(1).fill_normal(x, 0.0, 1.0);
    xt::xtensor<std::int64_t, 1> y = xt::zeros<std::int64_t>({n});
    for (std::size_t i = 0; i < n; ++i) y(i) = x(i, 0) + 0.5 * x(i, 1) > 0 ? 1 : 0;
    xt::dump_npy(s / "X.npy", x);
    xt::dump_npy(s / "y.npy", y);
}

auto mlp_small(std::size_t f, std::size_t c) {
    return nn::sequential(nn::dense(f, 32), nn::relu{}, nn::tap<"hidden">{}, nn::dense(32, c));
}

double max_abs_diff(const matrix<float>& a, const matrix<float>& b) {
    REQUIRE(a.shape() == b.shape());
    return double(xt::amax(xt::abs(a - b))());
}

} // namespace

TEST_SUITE("cli") {

TEST_CASE("features and predict of a student train wrote match the library forward pass") {
    scratch s("features");
    write_mlp_data(s, 80, 6);
    auto r = run_b2m(s, "train --stimuli X.npy --labels y.npy --preset mlp-small --epochs 3 --quiet --out run");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    REQUIRE(fs::exists(s / "run/student.npz"));
    // The same student loaded here, through the library.
    auto net = mlp_small(6, 2);
    io::load_state_dict(net, s / "run/student.npz");
    const matrix<float> x = brain::load_npy<float, 2>(s / "X.npy");
    net.forward(x, {.training = false});
    SUBCASE("features writes the tap's values as float32") {
        r = run_b2m(s, "features --arch mlp-small --weights run/student.npz --stimuli X.npy --tap hidden --batch 7 --out F.npy");
        REQUIRE_MESSAGE(r.code == 0, r.err);
        const auto header = npy_header_of(s / "F.npy");
        CHECK(header.descr == "<f4");
        const matrix<float> f = brain::load_npy<float, 2>(s / "F.npy");
        CHECK(f.shape(0) == 80);
        CHECK(f.shape(1) == 32);
        CHECK(max_abs_diff(f, net.tap<"hidden">().value()) <= 1e-6);
    }
    SUBCASE("predict writes the logits and their argmax classes and reports the accuracy") {
        r = run_b2m(s, "predict --arch mlp-small --weights run/student.npz --stimuli X.npy --out P.npy --classes-out C.npy --labels y.npy");
        REQUIRE_MESSAGE(r.code == 0, r.err);
        const matrix<float> p = brain::load_npy<float, 2>(s / "P.npy");
        CHECK(max_abs_diff(p, net.output()) <= 1e-6);
        const auto c = xt::load_npy<std::int64_t>(s / "C.npy");
        for (std::size_t i = 0; i < 80; ++i) CHECK(c(i) == (p(i, 1) > p(i, 0) ? 1 : 0));
        CHECK(r.out.find("accuracy") != std::string::npos);
    }
}

TEST_CASE("features: bad taps or weights of another student or a missing output folder are one-line errors") {
    scratch s("feature_errors");
    write_mlp_data(s, 40, 6);
    auto r = run_b2m(s, "train --stimuli X.npy --labels y.npy --preset mlp-small --epochs 1 --quiet --out run");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    r = run_b2m(s, "features --arch mlp-small --weights run/student.npz --stimuli X.npy --tap V4 --out F.npy");
    CHECK(r.code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("'V4'") != std::string::npos);
    CHECK(r.err.find("hidden") != std::string::npos);
    r = run_b2m(s, "features --arch mlp --weights run/student.npz --stimuli X.npy --out F.npy");
    CHECK(r.code == 1);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("run/student.npz") != std::string::npos);
    r = run_b2m(s, "features --arch mlp-small --weights run/student.npz --stimuli X.npy --out nodir/F.npy");
    CHECK(r.code == 1);
    CHECK(r.err.find("nodir") != std::string::npos);
    r = run_b2m(s, "features --arch conv --classes 2 --stimuli X.npy --out F.npy");
    CHECK(r.code == 1);
    CHECK(r.err.find("(40, 6)") != std::string::npos);
    CHECK_FALSE(fs::exists(s / "F.npy"));
}

TEST_CASE("conv: uint8 NHWC images are scaled and laid out as the float NCHW images they stand for") {
    scratch s("conv_layout");
    const std::size_t n = 12, H = 8, W = 8, C = 3;
    xt::xtensor<std::uint8_t, 4> img = xt::zeros<std::uint8_t>({n, H, W, C});
    xt::xtensor<float, 4> nchw = xt::zeros<float>({n, C, H, W});
    rng r(5);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t h = 0; h < H; ++h)
            for (std::size_t w = 0; w < W; ++w)
                for (std::size_t c = 0; c < C; ++c) {
                    const auto v = std::uint8_t(r.below(256));
                    img(i, h, w, c) = v;
                    nchw(i, c, h, w) = float(v) / 255.0f;
                }
    xt::dump_npy(s / "img.npy", img);
    xt::dump_npy(s / "img_nchw.npy", nchw);
    auto a = run_b2m(s, "features --arch conv --classes 4 --seed 3 --stimuli img.npy --tap conv1 --out A.npy");
    REQUIRE_MESSAGE(a.code == 0, a.err);
    CHECK(a.err.find("scaled") != std::string::npos);
    auto b = run_b2m(s, "features --arch conv --classes 4 --seed 3 --stimuli img_nchw.npy --layout nchw --tap conv1 --out B.npy");
    REQUIRE_MESSAGE(b.code == 0, b.err);
    const matrix<float> fa = brain::load_npy<float, 2>(s / "A.npy"), fb = brain::load_npy<float, 2>(s / "B.npy");
    CHECK(fa.shape(1) == 16 * 4 * 4);
    CHECK(max_abs_diff(fa, fb) <= 1e-6);
    CHECK(xt::amax(xt::abs(fa))() > 0.0f);
}

TEST_CASE("train --arch conv then fine-tune with --init and --freeze: the frozen block is bit-identical in student.npz") {
    scratch s("conv_finetune");
    const std::size_t n = 40;
    xt::xtensor<std::uint8_t, 4> img = xt::zeros<std::uint8_t>({n, std::size_t(8), std::size_t(8), std::size_t(1)});
    xt::xtensor<std::int64_t, 1> y = xt::zeros<std::int64_t>({n});
    rng r(8);
    for (std::size_t i = 0; i < n; ++i) {
        y(i) = std::int64_t(i % 2);
        for (std::size_t h = 0; h < 8; ++h)
            for (std::size_t w = 0; w < 8; ++w) img(i, h, w, 0) = std::uint8_t((y(i) ? h * 30 : w * 30) + r.below(20));
    }
    xt::dump_npy(s / "img.npy", img);
    xt::dump_npy(s / "y.npy", y);
    auto t = run_b2m(s, "train --arch conv --stimuli img.npy --labels y.npy --epochs 2 --batch 8 --quiet --out run1");
    REQUIRE_MESSAGE(t.code == 0, t.err);
    for (const char* f : {"params", "student.npz", "log.csv", "report.json"}) CHECK(fs::exists(s / (std::string("run1/") + f)));
    CHECK(lines(read_text(s / "run1/log.csv")) == 3);
    t = run_b2m(s, "train --arch conv --init run1/student.npz --freeze conv1 --stimuli img.npy --labels y.npy --epochs 2 "
                   "--batch 8 --lr 0.05 --quiet --out run2");
    REQUIRE_MESSAGE(t.code == 0, t.err);
    const auto before = io::read_weights(s / "run1/student.npz");
    const auto after = io::read_weights(s / "run2/student.npz");
    REQUIRE(before.size() == after.size());
    std::size_t same = 0, changed = 0;
    for (std::size_t k = 0; k < before.size(); ++k) {
        REQUIRE(before[k].name == after[k].name);
        const bool conv1 = before[k].name.rfind("0.", 0) == 0 || before[k].name.rfind("1.", 0) == 0;
        const bool identical = before[k].bytes == after[k].bytes;
        if (conv1) {
            // conv (module 0) and batch norm (module 1) of the block conv1: frozen. The batch
            // norm's running statistics still move in training mode (as PyTorch with
            // requires_grad=False), so compare the learned tensors only.
            if (before[k].name.find("running") == std::string::npos && before[k].name.find("num_batches") == std::string::npos) {
                CHECK_MESSAGE(identical, before[k].name);
                same += identical;
            }
        } else if (before[k].name.find("weight") != std::string::npos) {
            changed += !identical;
        }
    }
    CHECK(same == 4);  // 0.weight 0.bias 1.weight 1.bias
    CHECK(changed >= 3);
    const std::string rep = read_text(s / "run2/report.json");
    CHECK(rep.find("\"freeze\": \"conv1\"") != std::string::npos);
    // --init with weights of another architecture: one line naming the file.
    write_mlp_data(s, 40, 6);
    t = run_b2m(s, "train --stimuli X.npy --labels y.npy --preset mlp-small --epochs 1 --quiet --out mlp");
    REQUIRE_MESSAGE(t.code == 0, t.err);
    t = run_b2m(s, "train --arch conv --init mlp/student.npz --stimuli img.npy --labels y.npy --epochs 1 --quiet --out run3");
    CHECK(t.code == 1);
    CHECK(lines(t.err) == 1);
    CHECK(t.err.find("mlp/student.npz") != std::string::npos);
    t = run_b2m(s, "train --arch conv --freeze V9 --stimuli img.npy --labels y.npy --epochs 1 --quiet --out run4");
    CHECK(t.code == 2);
    CHECK(t.err.find("'V9'") != std::string::npos);
}

TEST_CASE("gru: --lengths are honoured (steps past a trial's length do not change its features)") {
    scratch s("gru");
    const std::size_t n = 30, T = 6, F = 3;
    xt::xtensor<float, 3> x = xt::zeros<float>({n, T, F});
    xt::xtensor<std::int64_t, 1> len = xt::zeros<std::int64_t>({n}), y = len;
    rng r(2);
    for (std::size_t i = 0; i < n; ++i) {
        len(i) = std::int64_t(2 + i % 5);
        y(i) = std::int64_t(i % 2);
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t f = 0; f < F; ++f) x(i, t, f) = float(r.uniform() - 0.5 + (y(i) ? 0.3 : -0.3));
    }
    xt::xtensor<float, 3> x2 = x;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t t = std::size_t(len(i)); t < T; ++t)
            for (std::size_t f = 0; f < F; ++f) x2(i, t, f) = 100.0f;
    xt::dump_npy(s / "x.npy", x);
    xt::dump_npy(s / "x2.npy", x2);
    xt::dump_npy(s / "len.npy", len);
    xt::dump_npy(s / "y.npy", y);
    auto t = run_b2m(s, "train --arch gru --stimuli x.npy --lengths len.npy --labels y.npy --epochs 2 --batch 8 --quiet --out run");
    REQUIRE_MESSAGE(t.code == 0, t.err);
    auto a = run_b2m(s, "features --arch gru --weights run/student.npz --stimuli x.npy --lengths len.npy --out A.npy");
    REQUIRE_MESSAGE(a.code == 0, a.err);
    auto b = run_b2m(s, "features --arch gru --weights run/student.npz --stimuli x2.npy --lengths len.npy --out B.npy");
    REQUIRE_MESSAGE(b.code == 0, b.err);
    auto c = run_b2m(s, "features --arch gru --weights run/student.npz --stimuli x2.npy --out C.npy");
    REQUIRE_MESSAGE(c.code == 0, c.err);
    const matrix<float> fa = brain::load_npy<float, 2>(s / "A.npy"), fb = brain::load_npy<float, 2>(s / "B.npy"),
                        fc = brain::load_npy<float, 2>(s / "C.npy");
    CHECK(fa.shape(1) == 64);
    CHECK(max_abs_diff(fa, fb) == 0.0);
    CHECK(max_abs_diff(fa, fc) > 1e-3);  // control: without lengths the garbage steps count
    auto bad = run_b2m(s, "features --arch gru --weights run/student.npz --stimuli x.npy --lengths y.npy --out D.npy");
    CHECK(bad.code == 1);
    CHECK(bad.err.find("y.npy") != std::string::npos);
}

TEST_CASE("score: predictivity split by stimulus and ceiled with RSA and CKA equal to independent computations (CSV JSON SVG)") {
    scratch s("score");
    write_mlp_data(s, 60, 6);
    auto t = run_b2m(s, "train --stimuli X.npy --labels y.npy --preset mlp-small --epochs 2 --quiet --out run");
    REQUIRE_MESSAGE(t.code == 0, t.err);
    auto f = run_b2m(s, "features --arch mlp-small --weights run/student.npz --stimuli X.npy --tap hidden --out F.npy");
    REQUIRE_MESSAGE(f.code == 0, f.err);
    const matrix<float> feat = brain::load_npy<float, 2>(s / "F.npy");
    // 30 stimuli shown twice (rows i and i + 30 are the same stimulus): responses are a
    // linear map of the hidden features plus trial noise.
    const std::size_t S = 30, V = 8;
    matrix<float> x_all = brain::load_npy<float, 2>(s / "X.npy");
    matrix<float> x_rep = matrix<float>::from_shape({2 * S, 6});
    for (std::size_t i = 0; i < 2 * S; ++i) xt::row(x_rep, i) = xt::row(x_all, i % S);
    xt::dump_npy(s / "Xrep.npy", x_rep);
    matrix<float> w = matrix<float>::from_shape({32, V}), noise = matrix<float>::from_shape({2 * S, V});
    rng(4).fill_normal(w, 0.0, 1.0);
    rng(6).fill_normal(noise, 0.0, 0.3);
    matrix<float> resp = matrix<float>::from_shape({2 * S, V});
    for (std::size_t i = 0; i < 2 * S; ++i)
        for (std::size_t v = 0; v < V; ++v) {
            float acc = 0;
            for (std::size_t k = 0; k < 32; ++k) acc += feat(i % S, k) * w(k, v);
            resp(i, v) = acc + noise(i, v);
        }
    xt::xtensor<std::int64_t, 1> ids = xt::zeros<std::int64_t>({2 * S});
    for (std::size_t i = 0; i < 2 * S; ++i) ids(i) = std::int64_t(100 + i % S);
    xt::dump_npy(s / "R.npy", resp);
    xt::dump_npy(s / "ids.npy", ids);
    auto r = run_b2m(s, "score --arch mlp-small --weights run/student.npz --stimuli Xrep.npy --responses R.npy "
                        "--stimulus-ids ids.npy --folds 5 --out sc");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("hidden") != std::string::npos);
    const std::string csv = read_text(s / "sc/score.csv");
    CHECK(lines(csv) == 2);  // header + the one tap
    CHECK(csv.rfind("tap,features,predictivity_median_r,noise_ceiling,ceiled,rsa_spearman,cka_linear\n", 0) == 0);
    std::vector<std::string> cells;
    {
        std::stringstream row(csv.substr(csv.find('\n') + 1));
        std::string c;
        while (std::getline(row, c, ',')) cells.push_back(c);
    }
    REQUIRE(cells.size() == 7);
    const double median_r = std::stod(cells[2]), ceiling = std::stod(cells[3]), ceiled = std::stod(cells[4]),
                 rsa = std::stod(cells[5]), cka = std::stod(cells[6]);
    CHECK(median_r > 0.8);  // the responses are a linear map of this tap
    CHECK(ceiling > 0.8);
    CHECK(ceiled == doctest::Approx(median_r / ceiling).epsilon(1e-9));
    // RSA and CKA on the repeat-averaged responses, computed here from the features.
    std::vector<std::int64_t> idv(ids.begin(), ids.end());
    const auto avg = brain::average_repeats(matrix<double>(xt::cast<double>(resp)), idv);
    const matrix<double> fd = xt::cast<double>(xt::view(feat, xt::range(0, S), xt::all()));
    CHECK(rsa == doctest::Approx(brain::compare_rdms(brain::rdm(fd), brain::rdm(avg.mean))).epsilon(1e-9));
    CHECK(cka == doctest::Approx(brain::linear_cka(fd, avg.mean)).epsilon(1e-9));
    // Folds: one per stimulus, every fold used.
    const auto folds = xt::load_npy<std::int64_t>(s / "sc/folds.npy");
    CHECK(folds.size() == S);
    for (std::int64_t k = 0; k < 5; ++k) CHECK(xt::sum(xt::equal(folds, k))() >= 1);
    const std::string svg = read_text(s / "sc/hidden.svg");
    CHECK(svg.rfind("<svg", 0) == 0);
    CHECK(svg.find("</svg>") != std::string::npos);
    CHECK(svg.find("CKA") != std::string::npos);
    const std::string json = read_text(s / "sc/score.json");
    CHECK(json.find("\"predictivity_median_r\"") != std::string::npos);
    // Control: responses permuted across stimuli (a stimulus's two trials keep sharing one
    // response pattern) are not predicted when the folds keep repeats together.
    matrix<float> shuffled = resp;
    for (std::size_t i = 0; i < 2 * S; ++i) xt::row(shuffled, i) = xt::row(resp, (i * 7 + 3) % (2 * S));
    xt::dump_npy(s / "Rs.npy", shuffled);
    auto row_of = [&](const std::string& file) {
        const std::string text = read_text(file);
        std::stringstream row(text.substr(text.find('\n') + 1));
        std::vector<std::string> out;
        std::string c;
        while (std::getline(row, c, ',')) out.push_back(c);
        return out;
    };
    r = run_b2m(s, "score --arch mlp-small --weights run/student.npz --stimuli Xrep.npy --responses Rs.npy --stimulus-ids ids.npy --out sc2");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const auto c2 = row_of(s / "sc2/score.csv");
    REQUIRE(c2.size() >= 3);
    CHECK(std::stod(c2[2]) < 0.3);
    // Without --stimulus-ids every trial is its own stimulus: no repeats, no ceiling.
    r = run_b2m(s, "score --arch mlp-small --weights run/student.npz --stimuli Xrep.npy --responses R.npy --out sc4");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const auto c4 = row_of(s / "sc4/score.csv");
    REQUIRE(c4.size() >= 5);
    CHECK(c4[3].empty());
    CHECK(c4[4].empty());
    CHECK(r.out.find("noise ceiling: n/a") != std::string::npos);
    // Bad RDM shape: one line naming the file and both shapes.
    xt::xtensor<double, 2> bad_rdm = xt::zeros<double>({5, 5});
    xt::dump_npy(s / "rdm.npy", bad_rdm);
    r = run_b2m(s, "score --arch mlp-small --weights run/student.npz --stimuli Xrep.npy --responses R.npy --stimulus-ids ids.npy "
                   "--rdm rdm.npy --out sc3");
    CHECK(r.code == 1);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("rdm.npy") != std::string::npos);
    CHECK(r.err.find("(30, 30)") != std::string::npos);
}

} // TEST_SUITE
#endif
