// Brain-aligned audio encoding (Freteault et al. 2025) on a simulated listener.
//
// A SoundNet-8 student (models/soundnet.hpp, width 4) is pretrained on a sound-category task
// (5 synthetic categories: harmonic tones, noise bursts, AM tones, sweeps, click trains),
// then fine-tuned to predict the listener's parcel BOLD with the paper's temporal-
// convolution encoding head (loss::temporal_encoding: conv5 pooled per volume, Conv1d with
// kernel 5 over volumes), AdamW lr 1e-4 on the backbone (10x on the head), early stopping on
// a validation run. A control fine-tunes identically on BOLD whose volumes are shuffled in
// time within each run (the stimulus-response relation destroyed, its statistics kept).
//
// Measured per seed, before and after alignment, with FROZEN features (no head involved):
//   - encoding R^2 per parcel on a held-out run (ridge on the conv5 features pooled per
//     volume with delays 0..6 volumes, alpha chosen by leave-one-run-out CV on the training
//     runs only), its median, and the median of R^2 / noise ceiling (the ceiling from the two
//     repeated runs);
//   - downstream category accuracy of a logistic probe on conv5 features of held-out clips
//     (the paper's "generalisable improvements" claim).
// Data: sim::auditory_subject (sim/auditory_subject.hpp says how it differs from real fMRI).
// Runs 0-5 train (0 and 1 repeat the same clips), run 6 validation (early stopping), run 7
// test; runs 6 and 7 play clips heard nowhere else; probe clips are separate draws. No
// held-out run enters training or any selection.
//
// Usage: audio_brain_alignment [out_dir=docs/results] [--smoke] [--seeds N] [--frozen]
// Writes out_dir/audio_brain_alignment.md and .svg. Deterministic (one thread).
#include <b2m/b2m.hpp>
#include <b2m/models/soundnet.hpp>
#include <b2m/nn/freeze.hpp>
#include <b2m/report/svg_bars.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

using namespace b2m;

namespace {

struct config {
    std::string out_dir = "docs/results";
    bool smoke = false, frozen = false;
    std::size_t seeds = 5;
    // data
    std::size_t samples = 8192;      // 2.05 s of sound per volume at 4 kHz (TR 2 s)
    std::size_t runs = 8, volumes = 48, parcels = 40;
    double noise = 0.7;
    std::size_t pretrain_clips = 1000, probe_train = 100, probe_test = 500;
    // training
    std::size_t window = 8, train_stride = 4;  // volumes per batch row
    std::size_t pretrain_epochs = 15, align_epochs = 30, patience = 5;
    std::size_t width = 4;
};

constexpr std::size_t train_runs = 6, val_run = 6, test_run = 7;

/// Parameters and buffers (batch-norm running statistics) of a student, by name.
template <class Net>
std::map<std::string, matrix<float>> weights_of(Net& net) {
    std::map<std::string, matrix<float>> m;
    net.for_each_param([&](const std::string& n, matrix<float>& v, matrix<float>&) { m[n] = v; });
    net.for_each_buffer([&](const std::string& n, matrix<float>& v) { m["buffer:" + n] = v; });
    return m;
}
/// Copies every weight of `from` whose name and shape `net` has (soundnet8_features and
/// soundnet8_classifier share layers 0..23 whatever the input length).
template <class Net>
void load_weights(Net& net, const std::map<std::string, matrix<float>>& from) {
    auto copy = [&](const std::string& n, matrix<float>& v) {
        const auto it = from.find(n);
        if (it != from.end() && it->second.shape() == v.shape()) v = it->second;
    };
    net.for_each_param([&](const std::string& n, matrix<float>& v, matrix<float>&) { copy(n, v); });
    net.for_each_buffer([&](const std::string& n, matrix<float>& v) { copy("buffer:" + n, v); });
}

matrix<float> rows(const matrix<double>& m, const std::vector<std::size_t>& idx) {
    matrix<float> out = matrix<float>::from_shape({idx.size(), m.shape(1)});
    for (std::size_t i = 0; i < idx.size(); ++i)
        for (std::size_t j = 0; j < m.shape(1); ++j) out(i, j) = float(m(idx[i], j));
    return out;
}

/// Windows of `w` consecutive volumes of run `run` starting every `stride` volumes: x is the
/// concatenated waveform, brain the volumes' BOLD (time-major).
train::batch<float> windows(const sim::auditory_scan& s, const matrix<double>& bold, const config& c, std::size_t run,
                            std::size_t stride) {
    std::vector<std::size_t> starts;
    for (std::size_t v = 0; v + c.window <= c.volumes; v += stride) starts.push_back(v);
    train::batch<float> b;
    b.x = matrix<float>::from_shape({starts.size(), c.window * c.samples});
    b.brain = matrix<float>::from_shape({starts.size(), c.window * c.parcels});
    for (std::size_t i = 0; i < starts.size(); ++i)
        for (std::size_t k = 0; k < c.window; ++k) {
            const std::size_t row = run * c.volumes + starts[i] + k;
            for (std::size_t t = 0; t < c.samples; ++t) b.x(i, k * c.samples + t) = float(s.waveforms(row, t));
            for (std::size_t j = 0; j < c.parcels; ++j) b.brain(i, k * c.parcels + j) = float(bold(row, j));
        }
    return b;
}
train::batch<float> concat(const std::vector<train::batch<float>>& parts) {
    train::batch<float> b;
    std::size_t n = 0;
    for (const auto& p : parts) n += p.size();
    b.x = matrix<float>::from_shape({n, parts[0].x.shape(1)});
    b.brain = matrix<float>::from_shape({n, parts[0].brain.shape(1)});
    std::size_t r = 0;
    for (const auto& p : parts) {
        std::copy_n(p.x.data(), p.x.size(), b.x.data() + r * b.x.shape(1));
        std::copy_n(p.brain.data(), p.brain.size(), b.brain.data() + r * b.brain.shape(1));
        r += p.size();
    }
    return b;
}

/// conv5 features (channel-major (C, L) per window row) pooled per volume: (volumes of the
/// run, C), from windows of stride = window.
template <class Net>
matrix<double> run_features(Net& net, const sim::auditory_scan& s, const config& c, std::size_t run) {
    const train::batch<float> w = windows(s, s.bold, c, run, c.window);
    net.forward(w.x, nn::step_context{.training = false});
    const matrix<float>& h = net.template tap<"conv5">().value();
    const std::size_t C = 16 * c.width, L = h.shape(1) / C;
    matrix<double> f = xt::zeros<double>({w.size() * c.window, C});
    for (std::size_t i = 0; i < w.size(); ++i)
        for (std::size_t k = 0; k < c.window; ++k) {
            const std::size_t s0 = k * L / c.window, s1 = (k + 1) * L / c.window;
            for (std::size_t ch = 0; ch < C; ++ch) {
                double acc = 0;
                for (std::size_t t = s0; t < s1; ++t) acc += h(i, ch * L + t);
                f(i * c.window + k, ch) = acc / double(s1 - s0);
            }
        }
    return f;
}

struct encoding_score {
    double median_r2 = NAN, median_normalised = NAN;
};

/// Frozen-feature encoding: ridge on run-wise delayed features, alpha by leave-one-run-out
/// CV over the training runs, R^2 per parcel on the test run.
template <class Net>
encoding_score encoding_r2(Net& net, const sim::auditory_scan& s, const config& c, const vector<double>& ceiling) {
    const std::vector<int> delays{0, 1, 2, 3, 4, 5, 6};
    auto design = [&](std::size_t run) { return brain::stack_delays(run_features(net, s, c, run), delays); };
    std::vector<matrix<double>> xs;
    for (std::size_t r = 0; r < train_runs; ++r) xs.push_back(design(r));
    const std::size_t p = xs[0].shape(1), nt = train_runs * c.volumes;
    matrix<double> x = matrix<double>::from_shape({nt, p}), y = matrix<double>::from_shape({nt, c.parcels});
    std::vector<std::size_t> fold(nt);
    for (std::size_t r = 0; r < train_runs; ++r) {
        std::copy_n(xs[r].data(), xs[r].size(), x.data() + r * c.volumes * p);
        std::copy_n(s.bold.data() + r * c.volumes * c.parcels, c.volumes * c.parcels, y.data() + r * c.volumes * c.parcels);
        for (std::size_t v = 0; v < c.volumes; ++v) fold[r * c.volumes + v] = r;
    }
    brain::zscore<double> scaler;
    scaler.fit(x);
    scaler.transform_inplace(x);
    brain::ridge_cv<double> m({.alphas = {1, 10, 100, 1e3, 1e4, 1e5}, .method = brain::cv_method::kfold, .fold_of_row = fold});
    m.fit(x, y);
    matrix<double> xt_ = design(test_run);
    scaler.transform_inplace(xt_);  // training-run statistics
    matrix<double> yt = matrix<double>::from_shape({c.volumes, c.parcels});
    std::copy_n(s.bold.data() + test_run * c.volumes * c.parcels, c.volumes * c.parcels, yt.data());
    const vector<double> r2 = m.score_per_target(xt_, yt);
    encoding_score e;
    e.median_r2 = brain::median(r2);
    e.median_normalised = brain::median(brain::normalise_by_ceiling(r2, ceiling, 0.05));
    return e;
}

/// Category accuracy of a logistic probe on conv5 features (mean over time) of single clips.
template <class Net>
double probe_accuracy(Net& clip_net, const sim::sound_set& train_set, const sim::sound_set& test_set, const config& c) {
    auto feats = [&](const sim::sound_set& set) {
        const std::size_t n = set.waveforms.shape(0), C = 16 * c.width;
        matrix<double> f = matrix<double>::from_shape({n, C});
        const std::size_t chunk = 50;
        for (std::size_t i0 = 0; i0 < n; i0 += chunk) {
            std::vector<std::size_t> idx;
            for (std::size_t i = i0; i < std::min(n, i0 + chunk); ++i) idx.push_back(i);
            clip_net.forward(rows(set.waveforms, idx), nn::step_context{.training = false});
            const matrix<float>& h = clip_net.template tap<"conv5">().value();
            const std::size_t L = h.shape(1) / C;
            for (std::size_t i = 0; i < idx.size(); ++i)
                for (std::size_t ch = 0; ch < C; ++ch) {
                    double acc = 0;
                    for (std::size_t t = 0; t < L; ++t) acc += h(i, ch * L + t);
                    f(idx[i], ch) = acc / double(L);
                }
        }
        return f;
    };
    matrix<double> ftr = feats(train_set), fte = feats(test_set);
    brain::zscore<double> z;
    z.fit(ftr);
    z.transform_inplace(ftr);
    z.transform_inplace(fte);
    std::vector<std::int64_t> ytr(train_set.category.begin(), train_set.category.end()),
        yte(test_set.category.begin(), test_set.category.end());
    brain::logistic_regression<double> lr({.C = 1.0, .max_iter = 2000});
    lr.fit(ftr, ytr);
    return lr.score(fte, yte);
}

struct seed_result {
    double pretrain_accuracy = NAN;
    encoding_score before, aligned, control;
    double probe_before = NAN, probe_aligned = NAN, probe_control = NAN;
    std::size_t epochs_aligned = 0, epochs_control = 0;
};

/// Fine-tunes a window net (initialised from `pretrained`) on train windows of `bold` with
/// early stopping on the validation run; returns the best weights and epochs run.
std::pair<std::map<std::string, matrix<float>>, std::size_t> align(const std::map<std::string, matrix<float>>& pretrained,
                                                                    const sim::auditory_scan& s, const matrix<double>& bold,
                                                                    const config& c, std::uint64_t seed) {
    auto net = models::soundnet8_features<float>({.samples = c.window * c.samples, .width = c.width});
    load_weights(net, pretrained);
    if (c.frozen) nn::freeze(net, "conv4");  // conv1-conv4: only conv5 and the head learn
    const auto objective = loss::temporal_encoding(nn::tap<"conv5">{}, data::brain,
                                                   {.features = 16 * c.width, .volumes = c.window, .targets = c.parcels,
                                                    .kernel = 5, .channels_first = true, .seed = seed});
    auto trainer = train::make_trainer(net, objective,
                                       optim::adamw({.lr = 1e-4, .weight_decay = 1e-2,
                                                     .groups = {{.prefixes = {"objective."}, .lr_scale = 10.0}}}),
                                       {.seed = seed, .init_student = false});
    std::vector<train::batch<float>> parts;
    for (std::size_t r = 0; r < train_runs; ++r) parts.push_back(windows(s, bold, c, r, c.train_stride));
    const train::batch<float> tr = concat(parts);
    const train::batch<float> val = windows(s, bold, c, val_run, c.window);
    rng order(seed + 7);
    std::vector<std::size_t> idx(tr.size());
    double best = INFINITY;
    std::map<std::string, matrix<float>> best_w = weights_of(net);
    std::size_t since = 0, epochs = 0;
    const std::size_t bs = 8;
    train::batch<float> b;
    for (std::size_t e = 0; e < c.align_epochs; ++e) {
        for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
        order.shuffle(idx);
        for (std::size_t k = 0; k + 2 <= idx.size(); k += bs) {
            const std::size_t end = idx.size() - k < bs + 2 ? idx.size() : k + bs;
            train::gather(tr, std::span<const std::size_t>(idx.data() + k, end - k), b);
            trainer.step(b);
            if (end == idx.size()) break;
        }
        ++epochs;
        const double v = trainer.evaluate(val).total;
        if (v < best - 1e-6) best = v, best_w = weights_of(net), since = 0;
        else if (++since >= c.patience) break;
    }
    return {best_w, epochs};
}

seed_result run_seed(const config& c, std::uint64_t seed, const sim::auditory_world& world, const sim::auditory_scan& scan,
                     const matrix<double>& shuffled_bold, const sim::sound_set& pre, const sim::sound_set& probe_tr,
                     const sim::sound_set& probe_te, const vector<double>& ceiling) {
    (void)world;
    seed_result out;
    // 1. Pretrain the clip classifier on the category task.
    auto clip_net = models::soundnet8_classifier<float>({.samples = c.samples, .width = c.width, .classes = 5});
    {
        train::batch<float> d;
        std::vector<std::size_t> all(pre.waveforms.shape(0));
        for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
        d.x = rows(pre.waveforms, all);
        d.labels = pre.category;
        auto trainer = train::make_trainer(clip_net, loss::cross_entropy(nn::output, data::labels),
                                           optim::adam({.lr = 2e-3}), {.seed = seed});
        train::fit(trainer, d, nullptr, {.epochs = c.pretrain_epochs, .batch_size = 32, .shuffle_seed = seed + 1});
        train::batch<float> t;
        std::vector<std::size_t> te(probe_te.waveforms.shape(0));
        for (std::size_t i = 0; i < te.size(); ++i) te[i] = i;
        out.pretrain_accuracy = train::accuracy(trainer.predict(rows(probe_te.waveforms, te)), probe_te.category);
    }
    const auto pretrained = weights_of(clip_net);
    auto window_net = models::soundnet8_features<float>({.samples = c.window * c.samples, .width = c.width});
    load_weights(window_net, pretrained);
    out.before = encoding_r2(window_net, scan, c, ceiling);
    out.probe_before = probe_accuracy(clip_net, probe_tr, probe_te, c);
    // 2. Brain alignment, and the shuffled-time control.
    auto [aligned, ea] = align(pretrained, scan, scan.bold, c, seed);
    auto [control, ec] = align(pretrained, scan, shuffled_bold, c, seed);
    out.epochs_aligned = ea;
    out.epochs_control = ec;
    load_weights(window_net, aligned);
    out.aligned = encoding_r2(window_net, scan, c, ceiling);
    load_weights(clip_net, aligned);
    out.probe_aligned = probe_accuracy(clip_net, probe_tr, probe_te, c);
    load_weights(window_net, control);
    out.control = encoding_r2(window_net, scan, c, ceiling);
    load_weights(clip_net, control);
    out.probe_control = probe_accuracy(clip_net, probe_tr, probe_te, c);
    return out;
}

std::string ci(const report::summary& s, int digits = 3) {
    char buf[96];
    if (s.n < 2) std::snprintf(buf, sizeof buf, "%.*f (n = %zu: no interval)", digits, s.mean, s.n);
    else std::snprintf(buf, sizeof buf, "%.*f [%.*f, %.*f]", digits, s.mean, digits, s.low(), digits, s.high());
    return buf;
}

} // namespace

int main(int argc, char** argv) {
    config c;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--smoke")) c.smoke = true;
        else if (!std::strcmp(argv[i], "--frozen")) c.frozen = true;
        else if (!std::strcmp(argv[i], "--seeds") && i + 1 < argc) c.seeds = std::size_t(std::stoul(argv[++i]));
        else if (argv[i][0] == '-') {
            std::fprintf(stderr, "audio_brain_alignment: unknown option %s\nusage: audio_brain_alignment [out_dir] [--smoke] [--seeds N] [--frozen]\n", argv[i]);
            return 2;
        } else c.out_dir = argv[i];
    }
    if (c.smoke) {
        c.seeds = 1, c.volumes = 24, c.pretrain_clips = 100, c.probe_train = 50, c.probe_test = 50;
        c.pretrain_epochs = 2, c.align_epochs = 2, c.parcels = 10;
    }
    set_num_threads(1);
    sim::auditory_world world({.samples = c.samples, .sample_rate = 4000, .seed = 21});
    sim::auditory_subject listener(world, {.parcels = c.parcels, .noise = c.noise, .tr = 2.0});
    rng r(33);
    const auto scan = listener.scan({.runs = c.runs, .volumes = c.volumes, .repeat_runs = 2}, r);
    rng rc(44);
    const auto pre = world.clips(c.pretrain_clips, rc);
    const auto probe_tr = world.clips(c.probe_train, rc);
    const auto probe_te = world.clips(c.probe_test, rc);
    // Control BOLD: volumes shuffled in time within each run.
    matrix<double> shuffled = scan.bold;
    rng rs(55);
    for (std::size_t run = 0; run < c.runs; ++run) {
        std::vector<std::size_t> perm(c.volumes);
        for (std::size_t v = 0; v < c.volumes; ++v) perm[v] = v;
        rs.shuffle(perm);
        for (std::size_t v = 0; v < c.volumes; ++v)
            std::copy_n(scan.bold.data() + (run * c.volumes + perm[v]) * c.parcels, c.parcels,
                        shuffled.data() + (run * c.volumes + v) * c.parcels);
    }
    // Noise ceiling (reliability per parcel) from the two repeated runs.
    matrix<double> rep = matrix<double>::from_shape({2 * c.volumes, c.parcels});
    std::vector<std::int64_t> ids;
    for (std::size_t v = 0; v < c.volumes; ++v)
        for (std::size_t run = 0; run < 2; ++run) {
            std::copy_n(scan.bold.data() + (run * c.volumes + v) * c.parcels, c.parcels, rep.data() + (2 * v + run) * c.parcels);
            ids.push_back(std::int64_t(v));
        }
    const auto nc = brain::noise_ceiling(rep, ids);
    const vector<double> ceiling = nc.reliability;
    std::printf("audio_brain_alignment: %zu runs x %zu volumes, %zu parcels, noise %.2f; SoundNet-8 width %zu%s; %zu seed(s)\n",
                c.runs, c.volumes, c.parcels, c.noise, c.width, c.frozen ? " (conv1-conv4 frozen)" : "", c.seeds);
    std::printf("median noise ceiling (reliability of one run, from the repeated runs): %.3f\n", brain::median(ceiling));

    std::vector<seed_result> res;
    for (std::size_t s = 0; s < c.seeds; ++s) {
        res.push_back(run_seed(c, 100 + s, world, scan, shuffled, pre, probe_tr, probe_te, ceiling));
        const auto& x = res.back();
        std::printf("seed %zu: pretrain acc %.3f | R2 before %.3f aligned %.3f control %.3f | probe before %.3f aligned %.3f "
                    "control %.3f | epochs %zu / %zu\n",
                    s, x.pretrain_accuracy, x.before.median_r2, x.aligned.median_r2, x.control.median_r2, x.probe_before,
                    x.probe_aligned, x.probe_control, x.epochs_aligned, x.epochs_control);
        std::fflush(stdout);
    }
    auto col = [&](auto f) {
        std::vector<double> v;
        for (const auto& x : res) v.push_back(f(x));
        return v;
    };
    const auto before = col([](const seed_result& x) { return x.before.median_r2; });
    const auto aligned = col([](const seed_result& x) { return x.aligned.median_r2; });
    const auto control = col([](const seed_result& x) { return x.control.median_r2; });
    const auto nbefore = col([](const seed_result& x) { return x.before.median_normalised; });
    const auto naligned = col([](const seed_result& x) { return x.aligned.median_normalised; });
    const auto pbefore = col([](const seed_result& x) { return x.probe_before; });
    const auto paligned = col([](const seed_result& x) { return x.probe_aligned; });
    const auto pcontrol = col([](const seed_result& x) { return x.probe_control; });
    const auto d_align = report::compare_paired(aligned, before), d_ctrl = report::compare_paired(aligned, control);
    const auto d_probe = report::compare_paired(paligned, pbefore), d_probe_c = report::compare_paired(paligned, pcontrol);

    std::string md;
    char line[512];
    md += "# Brain-aligned audio encoding on a simulated listener (Freteault et al. 2025)\n\n";
    md += "Program: `examples/audio_brain_alignment.cpp` (`build/examples/audio_brain_alignment docs/results`). ";
    md += "Data: `sim::auditory_subject` (see `include/b2m/sim/auditory_subject.hpp` for how it differs from real fMRI): ";
    std::snprintf(line, sizeof line,
                  "%zu runs x %zu volumes (TR 2 s, %zu samples of 4 kHz sound per volume), %zu parcels, noise sd %.2f x signal sd. "
                  "Student: SoundNet-8 (width %zu), pretrained %zu epochs on %zu clips (5 categories), then aligned with "
                  "`loss::temporal_encoding` on conv5 (kernel 5 over volumes, causal), windows of %zu volumes, AdamW lr 1e-4 "
                  "(head 1e-3), weight decay 0.01, early stopping on run 6 (patience %zu, at most %zu epochs)%s. "
                  "%zu seeds (network initialisation and batch order; the subject is the same).\n\n",
                  c.runs, c.volumes, c.samples, c.parcels, c.noise, c.width, c.pretrain_epochs, c.pretrain_clips, c.window,
                  c.patience, c.align_epochs, c.frozen ? ", conv1-conv4 frozen" : ", backbone unfrozen", c.seeds);
    md += line;
    md += "**Held-out guarantee.** Runs 0-5 train the student and the evaluation ridge (alpha by leave-one-run-out CV over "
          "runs 0-5); run 6 only decides early stopping; run 7 is only scored. Runs 6 and 7 play clips that occur in no other "
          "run, and the probe's clips are separate draws. The control trains on runs 0-5 with their volumes shuffled in time.\n\n";
    std::snprintf(line, sizeof line, "Median noise ceiling (reliability, from repeated runs 0 and 1): %.3f.\n\n", brain::median(ceiling));
    md += line;
    md += "| measure (mean over seeds, 95% t CI) | before alignment | aligned | shuffled-time control |\n|---|---|---|---|\n";
    md += "| median held-out R^2 (frozen conv5 features, ridge with delays 0-6) | " + ci(report::summarize(before)) + " | " +
          ci(report::summarize(aligned)) + " | " + ci(report::summarize(control)) + " |\n";
    md += "| median R^2 / noise ceiling | " + ci(report::summarize(nbefore)) + " | " + ci(report::summarize(naligned)) + " | " +
          ci(report::summarize(col([](const seed_result& x) { return x.control.median_normalised; }))) + " |\n";
    md += "| category accuracy of a logistic probe (" + std::to_string(c.probe_train) + " train / " +
          std::to_string(c.probe_test) + " test clips) | " + ci(report::summarize_within(pbefore, 0, 1)) + " | " +
          ci(report::summarize_within(paligned, 0, 1)) + " | " + ci(report::summarize_within(pcontrol, 0, 1)) + " |\n\n";
    auto diff_line = [&](const char* what, const report::paired_comparison& d) {
        if (d.difference.n < 2) {
            std::snprintf(line, sizeof line, "- %s: %+.4f (n = %zu seed: no interval, no effect size)\n", what,
                          d.difference.mean, d.difference.n);
            md += line;
            return;
        }
        std::snprintf(line, sizeof line, "- %s: %+.4f [%+.4f, %+.4f], d_z %s (n = %zu seeds)\n", what, d.difference.mean,
                      d.difference.mean - d.difference.ci95, d.difference.mean + d.difference.ci95,
                      std::isfinite(d.effect_size) ? std::to_string(d.effect_size).substr(0, 5).c_str() : "undefined",
                      d.difference.n);
        md += line;
    };
    md += "Paired differences (4 comparisons, each with its own 95% CI; no correction for multiplicity):\n\n";
    diff_line("R^2 aligned - before", d_align);
    diff_line("R^2 aligned - control", d_ctrl);
    diff_line("probe accuracy aligned - before", d_probe);
    diff_line("probe accuracy aligned - control", d_probe_c);
    md += "\nPer seed (pretraining accuracy on held-out clips; median R^2 before / aligned / control; probe accuracy before / "
          "aligned / control; epochs run aligned / control):\n\n";
    for (std::size_t s = 0; s < res.size(); ++s) {
        const auto& x = res[s];
        std::snprintf(line, sizeof line, "- seed %zu: %.3f; %.4f / %.4f / %.4f; %.3f / %.3f / %.3f; %zu / %zu\n", s,
                      x.pretrain_accuracy, x.before.median_r2, x.aligned.median_r2, x.control.median_r2, x.probe_before,
                      x.probe_aligned, x.probe_control, x.epochs_aligned, x.epochs_control);
        md += line;
    }
    const bool helps = d_align.difference.n >= 2 && d_align.difference.mean - d_align.difference.ci95 > 0;
    const bool beats_control = d_ctrl.difference.n >= 2 && d_ctrl.difference.mean - d_ctrl.difference.ci95 > 0;
    md += "\n**Reading.** ";
    md += helps ? "Alignment raises the held-out encoding R^2 of frozen features (the CI of the paired difference excludes 0)"
                : "Alignment does not raise the held-out encoding R^2 of frozen features beyond seed noise";
    md += beats_control ? ", and more than the shuffled-time control does, so the gain comes from the stimulus-response relation. "
                        : "; against the shuffled-time control the difference is not clear. ";
    md += d_probe.difference.mean - d_probe.difference.ci95 > 0
              ? "Category accuracy of the probe improves too.\n"
              : (d_probe.difference.mean + d_probe.difference.ci95 < 0 ? "Category accuracy of the probe gets worse: the alignment "
                                                                         "trades task features for brain-predictive ones.\n"
                                                                       : "Category accuracy of the probe does not change clearly.\n");
    md += "\nReproducibility: the run is single-threaded and seeded; reruns on one machine give identical numbers; other CPUs "
          "(different BLAS kernels) may differ in the last digits.\n";
    std::filesystem::create_directories(c.out_dir);
    const std::string base = c.out_dir + "/audio_brain_alignment";
    report::svg_bars({.title = "Held-out median R^2 (frozen conv5 features), mean over seeds", .y_label = "median R^2",
                      .y_max = 0.1},
                     {{"before", report::summarize(before).mean},
                      {"aligned", report::summarize(aligned).mean},
                      {"control", report::summarize(control).mean}})
        .write(base + ".svg");
    md += "\n![median R^2](audio_brain_alignment.svg)\n";
    report::write_file_atomically(base + ".md", md);
    std::printf("%s", md.c_str());
    // The smoke run checks that everything ran and produced finite numbers.
    for (const auto& x : res)
        if (!std::isfinite(x.before.median_r2) || !std::isfinite(x.aligned.median_r2) || !std::isfinite(x.probe_aligned)) {
            std::fprintf(stderr, "audio_brain_alignment: a measure is not finite\n");
            return 1;
        }
    return 0;
}
