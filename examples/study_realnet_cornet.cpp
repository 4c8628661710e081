// Study: ReAlnet's multi-layer encoding alignment on a CORnet-Z, taught by macaque V4
// (../shared/data/v4, all seven sessions pooled through per-session heads).
//
// A small CORnet-Z (models/cornet_z.hpp: V1, V2, V4, IT areas, 16-32-64-128 channels, 32x32
// input) is first trained on a label task, then fine-tuned on the task plus
//   beta * L_gen = encoding alignment of the four area taps to the V4 responses
//                  (loss::encoding_alignment, shared encoders, one head per session)
// in three conditions that differ only in the alignment term:
//   task        beta = 0 (the same number of further task epochs: the baseline)
//   L_gen       MSE + correlation term, gradients through both
//   detached    MSE + correlation term detached (ReAlnet's published code)
// The label task: the dominant orientation of each image (4 classes: the orientation bin of
// 0/45/90/135 degrees holding the most gradient energy), a label derived from the pixels,
// since the V4 images carry no category labels; it stands in for ReAlnet's ImageNet labels.
// Held out, per session: 20% of the images (grouped by stimulus id, so repeated images stay
// on one side) and 25% of the neurons; neither is used for training or any choice. Measured
// with frozen features of the held-out images: encoding r of the held-out neurons (5-fold
// ridge within the held-out images, per tap V4 and IT; median over neurons of all sessions),
// RSA (Spearman) of the IT tap's RDM over the 92 rsa92 images with the human and monkey IT
// RDMs, and task accuracy on the held-out images (the accuracy cost). Repeated images are
// found from identical pixels; the report names the data read (folder, sessions, images,
// repeats, each file's size and SHA-256) and counts held-out images that are near copies
// of another session's training images.
// Usage: study_realnet_cornet [out_dir=docs/results] [--data DIR] [--sessions a,b,c] [--smoke]
// --sessions: v4 session folders (default: every folder under DIR/v4, sorted; the report
// of docs/results uses all seven). --smoke: the first session and the one with the
// smallest images.npy, 200 images each, 1 seed.
// Writes out_dir/study_realnet_cornet.md and .svg; exits 77 (skipped) without the data.
#include <b2m/b2m.hpp>
#include <b2m/models/cornet_z.hpp>
#include <b2m/report/svg_bars.hpp>

#include <map>

#include "study_common.hpp"

using namespace b2m;
using namespace study;

namespace {

constexpr double BETA = 1.0;

/// Dominant orientation class of NCHW 3x32x32 rows: argmax over 4 bins (0, 45, 90, 135
/// degrees) of the summed squared gradient magnitude of the grey image.
std::vector<std::int64_t> orientation_labels(const matrix<float>& x) {
    std::vector<std::int64_t> out;
    constexpr std::size_t H = 32, W = 32;
    const double pi = std::numbers::pi;
    for (std::size_t i = 0; i < x.shape(0); ++i) {
        auto g = [&](std::size_t h, std::size_t w) {
            return (x(i, h * W + w) + x(i, (H + h) * W + w) + x(i, (2 * H + h) * W + w)) / 3.0;
        };
        double bins[4] = {0, 0, 0, 0};
        for (std::size_t h = 1; h + 1 < H; ++h)
            for (std::size_t w = 1; w + 1 < W; ++w) {
                const double gx = g(h, w + 1) - g(h, w - 1), gy = g(h + 1, w) - g(h - 1, w);
                double th = std::atan2(gy, gx);
                if (th < 0) th += pi;
                bins[std::size_t(std::lround(th / (pi / 4))) % 4] += gx * gx + gy * gy;
            }
        out.push_back(std::int64_t(std::max_element(bins, bins + 4) - bins));
    }
    return out;
}

struct pooled {
    train::batch<float> train;                      // training images of every session
    std::vector<v4_session> test;                   // held-out images (all neurons) per session
    std::vector<std::vector<std::size_t>> held_neurons, train_neurons;
    std::vector<std::size_t> widths;                // training neurons per session
    std::vector<std::int64_t> test_labels;
    matrix<float> test_x;
};

pooled load_all(const std::string& root, const std::vector<std::string>& names, bool smoke) {
    pooled p;
    std::vector<matrix<float>> xs, bs;
    std::vector<std::int64_t> sub;
    for (std::size_t s = 0; s < names.size(); ++s) {
        v4_session v = load_v4(root, names[s]);
        record_note(describe(v) + (smoke ? "; smoke: first 200 rows" : ""));
        if (smoke) {
            std::vector<std::size_t> keep;
            for (std::size_t i = 0; i < std::min<std::size_t>(200, v.x.shape(0)); ++i) keep.push_back(i);
            v = take(v, keep);
        }
        const auto fold = brain::group_folds(v.ids, 5, 11 + s);  // fold 0 = held-out images
        std::vector<std::size_t> tr, te;
        for (std::size_t i = 0; i < fold.size(); ++i) (fold[i] == 0 ? te : tr).push_back(i);
        const std::size_t V = v.responses.shape(1);
        std::vector<std::size_t> perm(V);
        std::iota(perm.begin(), perm.end(), 0);
        rng(500 + s).shuffle(perm);
        const std::size_t nh = V / 4;
        p.held_neurons.emplace_back(perm.begin(), perm.begin() + nh);
        p.train_neurons.emplace_back(perm.begin() + nh, perm.end());
        std::sort(p.held_neurons.back().begin(), p.held_neurons.back().end());
        std::sort(p.train_neurons.back().begin(), p.train_neurons.back().end());
        p.widths.push_back(V - nh);
        // Training brain: training neurons of training images, z-scored with training statistics.
        matrix<float> r = brain::take_rows(v.responses, tr);
        matrix<float> rn = matrix<float>::from_shape({tr.size(), V - nh});
        for (std::size_t i = 0; i < tr.size(); ++i)
            for (std::size_t j = 0; j < V - nh; ++j) rn(i, j) = r(i, p.train_neurons.back()[j]);
        xs.push_back(brain::take_rows(v.x, tr));
        bs.push_back(zscored(rn));
        for (std::size_t i = 0; i < tr.size(); ++i) sub.push_back(std::int64_t(s));
        p.test.push_back(take(v, te));
    }
    std::size_t n = 0, wmax = 0;
    for (const auto& x : xs) n += x.shape(0);
    for (auto w : p.widths) wmax = std::max(wmax, w);
    p.train.x = matrix<float>::from_shape({n, 3072});
    p.train.brain = xt::zeros<float>({n, wmax});
    p.train.subject = index_vector::from_shape({n});
    std::size_t r0 = 0;
    for (std::size_t s = 0; s < xs.size(); ++s) {
        for (std::size_t i = 0; i < xs[s].shape(0); ++i) {
            std::copy_n(xs[s].data() + i * 3072, 3072, p.train.x.data() + (r0 + i) * 3072);
            std::copy_n(bs[s].data() + i * p.widths[s], p.widths[s], p.train.brain.data() + (r0 + i) * wmax);
            p.train.subject(r0 + i) = std::int64_t(s);
        }
        r0 += xs[s].shape(0);
    }
    const auto lab = orientation_labels(p.train.x);
    p.train.labels = index_vector::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) p.train.labels(i) = lab[i];
    std::size_t nt = 0;
    for (const auto& t : p.test) nt += t.x.shape(0);
    p.test_x = matrix<float>::from_shape({nt, 3072});
    std::size_t k = 0;
    for (const auto& t : p.test) {
        std::copy_n(t.x.data(), t.x.size(), p.test_x.data() + k * 3072);
        k += t.x.shape(0);
    }
    p.test_labels = orientation_labels(p.test_x);
    // Leakage across sessions: held-out images that are near copies (mean absolute pixel
    // difference < 1 grey level) of a training image of any session. Counted and reported.
    std::size_t copies = 0;
    for (const auto& t : p.test) copies += near_copies_of(t, p.train.x).size();
    record_note(std::to_string(copies) + " of " + std::to_string(p.test_x.shape(0)) +
                " held-out images are near copies (mean absolute pixel difference < 1 grey level) of a training image "
                "of some session (kept; " + std::string(copies ? "their encoding r may be slightly optimistic" : "no leakage") +
                ")");
    return p;
}

enum class condition { task, lgen, detached };
const char* name_of(condition c) { return c == condition::task ? "task" : c == condition::lgen ? "L_gen" : "detached"; }

struct result {
    double accuracy = NAN, r_v4 = NAN, r_it = NAN, rsa_human = NAN, rsa_monkey = NAN;
};

template <class Net>
matrix<float> tap_features(Net& net, const matrix<float>& x, const char* which) {
    net.forward(x, nn::step_context{.training = false});
    if (std::string(which) == "V4") return net.template tap<"V4">().value();
    return net.template tap<"IT">().value();
}

template <class Net>
result evaluate(Net& net, const pooled& p, const rsa92& r92, std::uint64_t seed) {
    result out;
    std::vector<std::int64_t> pred;
    const matrix<float>& logits = net.forward(p.test_x, nn::step_context{.training = false});
    std::size_t hit = 0;
    for (std::size_t i = 0; i < p.test_labels.size(); ++i) {
        const float* row = logits.data() + i * logits.shape(1);
        hit += std::int64_t(std::max_element(row, row + logits.shape(1)) - row) == p.test_labels[i];
    }
    out.accuracy = double(hit) / double(p.test_labels.size());
    for (const char* tap : {"V4", "IT"}) {
        std::vector<double> all;
        for (std::size_t s = 0; s < p.test.size(); ++s) {
            const auto& t = p.test[s];
            matrix<float> held = matrix<float>::from_shape({t.responses.shape(0), p.held_neurons[s].size()});
            for (std::size_t i = 0; i < held.shape(0); ++i)
                for (std::size_t j = 0; j < held.shape(1); ++j) held(i, j) = t.responses(i, p.held_neurons[s][j]);
            const auto r = encoding_r(tap_features(net, t.x, tap), held, t.ids, 5, seed);
            all.insert(all.end(), r.begin(), r.end());
        }
        (std::string(tap) == "V4" ? out.r_v4 : out.r_it) = median(all);
    }
    const matrix<float> f = tap_features(net, r92.x, "IT");
    out.rsa_human = rsa_spearman(f, r92.human_it);
    out.rsa_monkey = rsa_spearman(f, r92.monkey_it);
    return out;
}

} // namespace

int main(int argc, char** argv) {
    const args a = parse(argc, argv);
    if (!a.teacher.empty()) {
        std::fprintf(stderr, "study_realnet_cornet: --teacher does not apply (every session teaches)\n");
        return 2;
    }
    std::vector<std::string> need{"rsa92/images.npy", "rsa92/rdm_human_it.npy", "rsa92/rdm_monkey_it.npy"};
    if (!have_data(a, need)) return skip_code;
    std::vector<std::string> sessions;
    try {
        sessions = resolve_sessions(a.sessions, a.data_dir + "/v4", "responses.npy");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "study_realnet_cornet: %s\n", e.what());
        return 2;
    }
    if (sessions.empty()) {
        std::printf("SKIP: no v4 session (a folder with responses.npy) under %s/v4; exit code 77\n", a.data_dir.c_str());
        return skip_code;
    }
    if (a.smoke && sessions.size() > 2) {  // the first session and the one with the smallest images.npy
        std::size_t best = 1;
        for (std::size_t s = 2; s < sessions.size(); ++s)
            if (std::filesystem::file_size(a.data_dir + "/v4/" + sessions[s] + "/images.npy") <
                std::filesystem::file_size(a.data_dir + "/v4/" + sessions[best] + "/images.npy"))
                best = s;
        sessions = {sessions[0], sessions[best]};
    }
    set_num_threads(1);
    const auto t0 = std::chrono::steady_clock::now();
    const pooled p = load_all(a.data_dir, sessions, a.smoke);
    const rsa92 r92 = load_rsa92(a.data_dir);
    const std::size_t seeds = a.smoke ? 1 : 5, pre_epochs = a.smoke ? 1 : 8, align_epochs = a.smoke ? 1 : 6;
    std::size_t counts[4] = {0, 0, 0, 0};
    for (auto l : p.test_labels) ++counts[l];
    const double majority = double(*std::max_element(counts, counts + 4)) / double(p.test_labels.size());
    std::printf("study_realnet_cornet: %zu sessions, %zu training images, %zu held-out images; majority class %.3f\n",
                p.test.size(), p.train.size(), p.test_x.shape(0), majority);
    std::map<condition, std::vector<result>> res;
    std::vector<result> pretrained;
    const std::vector<condition> conds{condition::task, condition::lgen, condition::detached};
    for (std::size_t k = 0; k < seeds; ++k) {
        const std::uint64_t seed = 300 + k;
        auto net = models::cornet_z<float>({.image = 32, .channels = {16, 32, 64, 128}, .classes = 4});
        const auto task = loss::cross_entropy(nn::output, data::labels);
        {
            auto trainer = train::make_trainer(net, task, optim::adam({.lr = 1e-3}), {.seed = seed});
            train::fit(trainer, p.train, nullptr, {.epochs = pre_epochs, .batch_size = 64, .shuffle_seed = seed});
        }
        std::map<std::string, matrix<float>> w0;
        net.for_each_param([&](const std::string& n, matrix<float>& v, matrix<float>&) { w0[n] = v; });
        pretrained.push_back(evaluate(net, p, r92, seed));
        for (auto c : conds) {
            net.for_each_param([&](const std::string& n, matrix<float>& v, matrix<float>&) { v = w0[n]; });
            const train::fit_options fo{.epochs = align_epochs, .batch_size = 64, .shuffle_seed = seed + 1};
            const auto opt = optim::adam({.lr = 5e-4});
            const train::trainer_options to{.seed = seed, .init_student = false};
            const auto ea = [&](bool grad) {
                return loss::encoding_alignment(
                    loss::taps(nn::tap<"V1">{}, nn::tap<"V2">{}, nn::tap<"V4">{}, nn::tap<"IT">{}), data::brain,
                    {.units = 64, .correlation_gradient = grad, .subject_widths = p.widths, .seed = seed});
            };
            if (c == condition::task) {
                auto trainer = train::make_trainer(net, task, opt, to);
                train::fit(trainer, p.train, nullptr, fo);
            } else {
                auto trainer = train::make_trainer(net, task + BETA * ea(c == condition::lgen), opt, to);
                train::fit(trainer, p.train, nullptr, fo);
            }
            res[c].push_back(evaluate(net, p, r92, seed));
            const auto& x = res[c].back();
            std::printf("seed %zu %-9s accuracy %.3f  held-out neurons r: V4 tap %.3f, IT tap %.3f  RSA hIT %.3f mIT %.3f\n", k,
                        name_of(c), x.accuracy, x.r_v4, x.r_it, x.rsa_human, x.rsa_monkey);
            std::fflush(stdout);
        }
    }
    auto col = [&](const std::vector<result>& v, double result::*f) {
        std::vector<double> out;
        for (const auto& x : v) out.push_back(x.*f);
        return out;
    };
    std::string md = "# Study: ReAlnet's multi-layer encoding alignment on CORnet-Z, taught by V4\n\n";
    char line[1400];
    std::snprintf(line, sizeof line,
                  "Program: `examples/study_realnet_cornet.cpp`, run as `study_realnet_cornet docs/results --sessions %s%s`. "
                  "Data: v4 (%zu sessions pooled, one encoding head per session; see Data used) and ../shared/data/rsa92 (RSA only). Student: models::cornet_z (32x32, "
                  "channels 16/32/64/128), label task = dominant orientation of the image (4 classes, majority class "
                  "%.3f of the held-out images), pretrained %zu epochs (Adam 1e-3), then %zu epochs (Adam 5e-4) per "
                  "condition from the same pretrained weights; encoding alignment on taps V1, V2, V4, IT (64 units each), "
                  "beta = %.1f. %zu seeds.\n\n",
                  join(sessions, ",").c_str(), a.smoke ? " --smoke" : "", p.test.size(), majority, pre_epochs, align_epochs,
                  BETA, seeds);
    md += line;
    md += "**Held-out guarantee.** Per session, 20% of the images (grouped by stimulus id: repeated images stay on one "
          "side) and 25% of the neurons (a fixed draw) are held out before anything is trained: no held-out image or "
          "neuron enters training, the z-scoring or any setting. Encoding r of the held-out neurons is measured by "
          "5-fold ridge within the held-out images on frozen features; the 92 rsa92 images are never trained on.\n\n";
    md += "| condition | task accuracy (held-out images) | held-out neurons, median r, V4 tap | IT tap | RSA IT tap vs hIT | vs mIT |\n"
          "|---|---|---|---|---|---|\n";
    auto row = [&](const char* name, const std::vector<result>& v) {
        const auto acc = report::summarize_within(col(v, &result::accuracy), 0, 1);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3f [%.3f, %.3f]", acc.mean, acc.low(), acc.high());
        md += std::string("| ") + name + " | " + buf + " | " + ci(col(v, &result::r_v4), "%.3f", -1, 1) + " | " +
              ci(col(v, &result::r_it), "%.3f", -1, 1) + " | " + ci(col(v, &result::rsa_human), "%.3f", -1, 1) + " | " +
              ci(col(v, &result::rsa_monkey), "%.3f", -1, 1) + " |\n";
    };
    row("pretrained (before)", pretrained);
    for (auto c : conds) row(name_of(c), res[c]);
    md += "\nPaired differences (mean [95% t CI], d_z over seeds; 2 comparisons x 5 measures + 1 = 11, no multiplicity "
          "correction; the reading below rests on 2 of them):\n\n";
    for (auto c : {condition::lgen, condition::detached}) {
        md += std::string("- ") + name_of(c) + " - task: accuracy " +
              paired(col(res[c], &result::accuracy), col(res[condition::task], &result::accuracy), 1.0) + "; r V4 tap " +
              paired(col(res[c], &result::r_v4), col(res[condition::task], &result::r_v4), 2.0) + "; r IT tap " +
              paired(col(res[c], &result::r_it), col(res[condition::task], &result::r_it), 2.0) + "; RSA hIT " +
              paired(col(res[c], &result::rsa_human), col(res[condition::task], &result::rsa_human), 2.0) + "; RSA mIT " +
              paired(col(res[c], &result::rsa_monkey), col(res[condition::task], &result::rsa_monkey), 2.0) + "\n";
    }
    md += "- L_gen - detached (gradients through the correlation term or not): r V4 tap " +
          paired(col(res[condition::lgen], &result::r_v4), col(res[condition::detached], &result::r_v4), 2.0) + "\n";
    md += "\n**Reading.** ";
    const bool gain = paired_above(col(res[condition::lgen], &result::r_v4), col(res[condition::task], &result::r_v4));
    md += gain ? "Alignment raises the held-out-neuron encoding r of the V4 tap over task-only fine-tuning. "
               : "Alignment does not clearly raise the held-out-neuron encoding r of the V4 tap over task-only fine-tuning. ";
    md += paired_below(col(res[condition::lgen], &result::accuracy), col(res[condition::task], &result::accuracy))
              ? "It costs task accuracy. "
              : "Its task-accuracy cost is within seed noise. ";
    md += "Whether the correlation term carries gradients is compared in the last line above.\n";
    record_note("rsa92: 92 images with human IT and monkey IT RDMs (RSA only)");
    md += "\n" + data_section(a.data_dir);
    md += std::string(reproducibility_note()) + "\n";
    std::filesystem::create_directories(a.out_dir);
    report::svg_bars({.title = "Held-out neurons: median encoding r of the V4 tap (mean over seeds)", .y_label = "median r",
                      .y_max = 0.5},
                     {{"pretrained", mean(col(pretrained, &result::r_v4))},
                      {"task", mean(col(res[condition::task], &result::r_v4))},
                      {"L_gen", mean(col(res[condition::lgen], &result::r_v4))},
                      {"detached", mean(col(res[condition::detached], &result::r_v4))}})
        .write(a.out_dir + "/study_realnet_cornet.svg");
    md += "\n![encoding r](study_realnet_cornet.svg)\n";
    write_text(a.out_dir + "/study_realnet_cornet.md", md);
    std::printf("%s\n(%.0f s)\n", md.c_str(), seconds_since(t0));
    for (auto c : conds)
        for (const auto& x : res[c])
            if (!std::isfinite(x.accuracy) || !std::isfinite(x.r_v4)) return 1;
    return 0;
}
