// Study 1 of issue 7: macaque V4 as a teacher of a small conv student (../shared/data/v4,
// Cowley et al.), evaluated on neurons and images it never saw.
//
// Student (examples/study_student.hpp): conv(3->8)-bn-relu-maxpool, conv(8->16)-bn-relu-
// maxpool, conv(16->32)-relu, 4x4 average pooling -> flatten -> tap "embed" (128 = 32
// channels x 2x2) -> dense(128, 768).
// Task term (every trained condition): autoencoding, mse(output, 2x2-block-mean image,
// 3x16x16). Conditions, all on the same training images (every image of the teacher
// session, by default the first session: 190925; its neurons z-scored), the same seeds and
// batches:
//   untrained    the student at initialisation (random features)
//   AE           autoencoding only
//   AE + contrastive          + 1.0 x contrastive(embed, brain) (InfoNCE, tau 0.1, heads to 64-d;
//                               images shown more than once are positives of each other; repeats
//                               are found from identical pixels, not from folder names)
//   AE + encoding alignment   + 1.0 x encoding_alignment(embed, brain) (128 units, mse + correlation)
// Weights, epochs and learning rate were fixed before looking at any evaluation number.
// Evaluation of the frozen "embed" features:
//   (a) encoding of the neurons of the other sessions (not used in training; the report
//       of docs/results uses 190927, 190928, 190929): out-of-fold ridge (5 folds by
//       stimulus, alpha per neuron by inner 5-fold CV), held-out Pearson r per neuron, median
//       over their neurons; held-out images that are near copies of a training image (mean
//       absolute pixel difference < 1 grey level, e.g. 190929 image0487 ~ 190925 image0421)
//       are left out;
//   (b) RSA with the 92 Kriegeskorte images: Spearman rho between the features'
//       correlation-distance RDM and the human IT / monkey IT RDMs;
//   (c) few-shot classification of the 92 images (animate vs inanimate, face vs not):
//       5 training images per class, balanced held-out test, logistic regression, mean
//       accuracy over 100 draws.
// Seeds 1..5 (student initialisation, heads, batch order); 95% t intervals over seeds
// (clipped to the metric's range) and paired differences (brain-taught - AE) by seed; the
// verdict states its number of comparisons. Single-threaded, so reruns of one binary on one
// machine give identical numbers. Writes <out>/study_v4_vision.md (with the data read:
// folder, sessions, images, repeats, each file's size and SHA-256), .svg (held-out encoding
// r over epochs) and _rsa.svg (RSA with human IT over epochs).
// Usage: study_v4_vision [out_dir=docs/results] [--data DIR] [--sessions T,H1,H2,...]
//                        [--teacher T] [--smoke]
// --sessions: v4 session folders (default: every folder under DIR/v4, sorted); the
// teacher (default: the first) trains, the others are held out. --smoke: the last held-out
// session only, subsets of images.
#include <b2m/loss/contrastive.hpp>
#include <b2m/loss/encoding_alignment.hpp>
#include <b2m/loss/mse.hpp>
#include <b2m/optim/optimizer.hpp>
#include <b2m/train/fit.hpp>
#include <b2m/train/trainer.hpp>

#include "study_common.hpp"
#include "study_student.hpp"

using namespace b2m;

namespace {
using study::embed;

struct setup {
    bool smoke = false;
    std::size_t epochs = 20, eval_every = 5, few_shot_repeats = 100;
    train::batch<float> train_set;
    std::vector<study::v4_session> held_out;
    study::rsa92 r92;
};

/// Every evaluation of one student state.
struct scores {
    double encoding = 0, rsa_human = 0, rsa_monkey = 0, animate = 0, face = 0;
};

double eval_seconds = 0;

template <class Trainer>
scores evaluate(Trainer& t, const setup& s) {
    const auto t0 = std::chrono::steady_clock::now();
    struct timer {
        std::chrono::steady_clock::time_point t0;
        ~timer() { eval_seconds += study::seconds_since(t0); }
    } tm{t0};
    scores r;
    std::vector<double> all;
    for (const auto& h : s.held_out) {
        const auto rr = study::encoding_r(embed(t, h.x), h.responses, h.ids, 5, 17);
        all.insert(all.end(), rr.begin(), rr.end());
    }
    r.encoding = study::median(all);
    const auto f92 = embed(t, s.r92.x);
    r.rsa_human = study::rsa_spearman(f92, s.r92.human_it);
    r.rsa_monkey = study::rsa_spearman(f92, s.r92.monkey_it);
    r.animate = study::mean(study::few_shot(f92, s.r92.labels("animate"), 5, s.few_shot_repeats, 31));
    r.face = study::mean(study::few_shot(f92, s.r92.labels("face"), 5, s.few_shot_repeats, 37));
    return r;
}

struct run_result {
    std::vector<scores> curve;            ///< at epochs 0, eval_every, 2 eval_every, ...
    std::vector<double> first_terms, last_terms;  ///< training term values, first and last epoch
};

template <class Trainer>
struct eval_callback {
    Trainer* trainer;
    const setup* s;
    run_result* out;
    bool on_epoch_end(const train::fit_state&, const train::epoch_record& r) {
        if (r.epoch % s->eval_every == 0) out->curve.push_back(evaluate(*trainer, *s));
        return true;
    }
};

template <class Objective>
run_result run(const Objective& objective, const setup& s, std::uint64_t seed, bool train_it) {
    auto trainer = train::make_trainer(study::make_student(), objective, optim::adam({.lr = 1e-3}), {.seed = seed});
    run_result res;
    res.curve.push_back(evaluate(trainer, s));
    if (!train_it) return res;
    const auto rep = train::fit(trainer, s.train_set, nullptr,
                                {.epochs = s.epochs, .batch_size = 64, .shuffle_seed = seed + 1000},
                                eval_callback<decltype(trainer)>{&trainer, &s, &res});
    res.first_terms = rep.epochs.front().train_terms;
    res.last_terms = rep.epochs.back().train_terms;
    return res;
}

/// The range of each metric (correlations [-1, 1], accuracies [0, 1]): intervals are clipped to it.
const double metric_low[] = {-1, -1, -1, 0, 0};
const char* metric_name[] = {"held-out V4 encoding r (median over neurons of unseen sessions)",
                             "RSA with human IT (Spearman)", "RSA with monkey IT (Spearman)",
                             "few-shot animate vs inanimate (5/class, accuracy)", "few-shot face vs not (5/class, accuracy)"};
double metric(const scores& s, int m) {
    switch (m) {
    case 0: return s.encoding;
    case 1: return s.rsa_human;
    case 2: return s.rsa_monkey;
    case 3: return s.animate;
    default: return s.face;
    }
}
} // namespace

int main(int argc, char** argv) {
    const auto a = study::parse(argc, argv);
    if (!study::have_data(a, {"rsa92/rdm_human_it.npy"})) return study::skip_code;
    set_num_threads(1);  // identical numbers on every rerun (no thread-count-dependent sums)
    const auto t0 = std::chrono::steady_clock::now();
    try {
        const auto sessions = study::resolve_sessions(a.sessions, a.data_dir + "/v4", "responses.npy");
        if (sessions.empty()) {
            std::printf("SKIP: no v4 session (a folder with responses.npy) under %s/v4; exit code 77\n", a.data_dir.c_str());
            return study::skip_code;
        }
        const std::string teacher_name = a.teacher.empty() ? sessions.front() : a.teacher;
        std::vector<std::string> held_names;
        for (const auto& n : sessions)
            if (n != teacher_name) held_names.push_back(n);
        if (held_names.empty()) throw data_error("study_v4_vision: need at least one held-out session besides the teacher " + teacher_name);
        setup s;
        s.smoke = a.smoke;
        const std::vector<std::uint64_t> seeds = a.smoke ? std::vector<std::uint64_t>{1, 2}
                                                         : std::vector<std::uint64_t>{1, 2, 3, 4, 5};
        if (a.smoke) s.epochs = 2, s.eval_every = 1, s.few_shot_repeats = 10;
        // Teacher: every row of its session (repeats share a stimulus id).
        auto teacher = study::load_v4(a.data_dir, teacher_name);
        study::record_note("teacher " + study::describe(teacher) + (a.smoke ? "; smoke: first 256 rows" : ""));
        if (a.smoke) {
            std::vector<std::size_t> keep(256);
            std::iota(keep.begin(), keep.end(), std::size_t(0));
            teacher = study::take(teacher, keep);
        }
        s.train_set.x = teacher.x;
        s.train_set.targets = study::downsample2(teacher.x);
        s.train_set.brain = study::zscored(teacher.responses);
        s.train_set.stimulus = index_vector::from_shape({teacher.ids.size()});
        for (std::size_t i = 0; i < teacher.ids.size(); ++i) s.train_set.stimulus(i) = teacher.ids[i];
        // Held-out sessions (other neurons, other images), without near copies of training images.
        for (const auto& name : held_names) {
            if (a.smoke && name != held_names.back()) continue;
            auto h = study::load_v4(a.data_dir, name);
            const auto copies = study::near_copies_of(h, teacher.x);
            std::vector<std::size_t> keep;
            std::string left_out;
            for (std::size_t i = 0; i < h.x.shape(0); ++i)
                if (std::binary_search(copies.begin(), copies.end(), i)) {
                    char nm[32];
                    std::snprintf(nm, sizeof nm, "image%04zu", i + 1);  // the v4 README's 1-based names
                    left_out += (left_out.empty() ? "" : ", ") + std::string(nm);
                } else keep.push_back(i);
            if (a.smoke) keep.resize(std::min<std::size_t>(300, keep.size()));
            study::record_note("held out " + study::describe(h) + "; left out as near copies of a training image: " +
                               (left_out.empty() ? std::string("none") : left_out) +
                               (a.smoke ? "; smoke: " + std::to_string(keep.size()) + " rows" : std::string()));
            s.held_out.push_back(study::take(h, keep));
        }
        s.r92 = study::load_rsa92(a.data_dir);
        std::size_t held_neurons = 0;
        for (const auto& h : s.held_out) held_neurons += h.responses.shape(1);
        std::printf("study_v4_vision%s: teacher %s (%zu images, %zu neurons), %zu held-out neurons (%s), %zu seeds, %zu epochs\n",
                    a.smoke ? " (smoke)" : "", teacher_name.c_str(), s.train_set.size(), s.train_set.brain.shape(1),
                    held_neurons, study::join(held_names).c_str(), seeds.size(), s.epochs);

        const auto ae = loss::mse(nn::output, data::targets);
        const auto con = loss::contrastive(nn::tap<"embed">{}, data::brain, {.tau = 0.1, .dim = 64});
        const auto enc = loss::encoding_alignment(nn::tap<"embed">{}, data::brain, {.units = 128});
        const char* names[] = {"untrained (random features)", "AE", "AE + contrastive", "AE + encoding alignment"};
        std::vector<std::vector<run_result>> res(4);
        for (auto seed : seeds) {
            res[0].push_back(run(ae, s, seed, false));
            res[1].push_back(run(ae, s, seed, true));
            res[2].push_back(run(ae + 1.0 * con, s, seed, true));
            res[3].push_back(run(ae + 1.0 * enc, s, seed, true));
            std::printf("seed %llu done (%.0f s, of which evaluation %.0f s)\n", (unsigned long long)seed,
                        study::seconds_since(t0), eval_seconds);
            std::fflush(stdout);
        }

        // Pixel reference (seed-free): the 3x16x16 block-mean image as features.
        scores pix;
        {
            std::vector<double> all;
            for (const auto& h : s.held_out) {
                const auto rr = study::encoding_r(study::downsample2(h.x), h.responses, h.ids, 5, 17);
                all.insert(all.end(), rr.begin(), rr.end());
            }
            pix.encoding = study::median(all);
            const auto f = study::downsample2(s.r92.x);
            pix.rsa_human = study::rsa_spearman(f, s.r92.human_it);
            pix.rsa_monkey = study::rsa_spearman(f, s.r92.monkey_it);
            pix.animate = study::mean(study::few_shot(f, s.r92.labels("animate"), 5, s.few_shot_repeats, 31));
            pix.face = study::mean(study::few_shot(f, s.r92.labels("face"), 5, s.few_shot_repeats, 37));
        }

        // Final values per condition and metric (rows: seeds).
        auto finals = [&](int c, int m) {
            std::vector<double> v;
            for (const auto& r : res[c]) v.push_back(metric(r.curve.back(), m));
            return v;
        };
        bool ok = true;
        for (int c = 0; c < 4; ++c)
            for (int m = 0; m < 5; ++m)
                for (double v : finals(c, m)) ok = ok && std::isfinite(v);
        // End-to-end checks: every trained condition lowered its autoencoding loss and the
        // brain terms decreased (the pipeline learns; says nothing about the effect size).
        for (int c = 1; c < 4; ++c)
            for (const auto& r : res[c])
                for (std::size_t k = 0; k < r.first_terms.size(); ++k) ok = ok && r.last_terms[k] < r.first_terms[k];

        std::string md;
        char buf[4096];
        md += "# Study 1: macaque V4 as a teacher of a conv student\n\n";
        md += a.smoke ? "**SMOKE RUN (tiny subset; numbers meaningless)**\n\n" : "";
        md += "Command: `cmake --build build --target study_v4_vision && ./build/examples/study_v4_vision docs/results "
              "--sessions " + study::join(sessions, ",") + (a.teacher.empty() ? "" : " --teacher " + teacher_name) +
              (a.smoke ? " --smoke" : "") + "` (from the repository root; single-threaded, deterministic per seed).\n\n";
        std::string held_list = study::join(held_names);
        if (a.smoke) held_list = held_names.back();
        std::snprintf(buf, sizeof buf,
                      "Student: 3 conv layers (8/16/32 channels, batch norm, max pooling), 4x4 average pooling to a "
                      "128-d `embed` tap, dense decoder to a 3x16x16 image. Training: %zu images of V4 session %s "
                      "(teacher: %zu neurons, z-scored; repeated images, found by identical pixels, are positives of each other), %zu epochs, batch 64, Adam lr 1e-3, seeds %zu. Every trained "
                      "condition has the same autoencoding term (AE, mse to the 2x2-block-mean image); the brain-taught "
                      "students add one brain term on `embed` with weight 1 (fixed before any evaluation). Evaluation on "
                      "frozen `embed` features: (a) out-of-fold ridge encoding of %zu neurons of sessions never used in "
                      "training (%s; 5 folds by image, alpha per neuron by inner CV; median Pearson r over neurons; "
                      "held-out images that are near copies of a training image left out, see Data used); (b) "
                      "Spearman rho of the features' correlation-distance RDM of the 92 Kriegeskorte images with the human "
                      "and monkey IT RDMs; (c) few-shot classification of the 92 images with 5 training images per class "
                      "(balanced test, logistic regression, C = 1, mean over %zu draws; chance 0.5). Values: mean [95%% "
                      "t interval] over seeds.\n\n",
                      s.train_set.size(), teacher_name.c_str(), s.train_set.brain.shape(1), s.epochs, seeds.size(),
                      held_neurons, held_list.c_str(), s.few_shot_repeats);
        md += buf;
        md += "| condition |";
        for (int m = 0; m < 5; ++m) md += std::string(" ") + metric_name[m] + " |";
        md += "\n| --- | --- | --- | --- | --- | --- |\n";
        for (int c = 0; c < 4; ++c) {
            md += std::string("| ") + names[c] + " |";
            for (int m = 0; m < 5; ++m) md += " " + study::ci(finals(c, m), "%.3f", metric_low[m], 1.0) + " |";
            md += "\n";
        }
        md += "| pixels (3x16x16 block means, reference) |";
        for (int m = 0; m < 5; ++m) {
            std::snprintf(buf, sizeof buf, " %.3f |", metric(pix, m));
            md += buf;
        }
        md += "\n\nPaired differences by seed (mean [95% CI], d_z):\n\n| comparison |";
        for (int m = 0; m < 5; ++m) md += std::string(" ") + metric_name[m] + " |";
        md += "\n| --- | --- | --- | --- | --- | --- |\n";
        const int pairs[][2] = {{2, 1}, {3, 1}, {1, 0}, {2, 0}, {3, 0}};
        for (const auto& p : pairs) {
            md += std::string("| ") + names[p[0]] + " - " + names[p[1]] + " |";
            for (int m = 0; m < 5; ++m) md += " " + study::paired(finals(p[0], m), finals(p[1], m), 1.0 - metric_low[m]) + " |";
            md += "\n";
        }
        // Verdict per brain term, in words.
        md += "\n## What came out\n\n10 comparisons below (2 brain terms x 5 metrics, each a paired t over seeds with a "
              "95% interval, no multiplicity correction; the table above holds 25): one interval excluding 0 on its own is "
              "weak evidence.\n\n";
        for (int c : {2, 3}) {
            std::string better, worse, same;
            for (int m = 0; m < 5; ++m) {
                const auto t = finals(c, m), b = finals(1, m);
                std::string& dst = study::paired_above(t, b) ? better : study::paired_below(t, b) ? worse : same;
                dst += std::string(dst.empty() ? "" : "; ") + metric_name[m];
            }
            md += std::string("- **") + names[c] + "** vs AE alone: ";
            md += better.empty() ? "helps on no metric (no paired 95% interval above 0)" : "better on " + better;
            if (!worse.empty()) md += "; **worse** on " + worse;
            if (!same.empty()) md += "; no clear difference on " + same;
            md += ".\n";
        }
        md += "\nTraining term values (mean over seeds), first -> last epoch:\n\n";
        for (int c = 1; c < 4; ++c) {
            std::snprintf(buf, sizeof buf, "- %s:", names[c]);
            md += buf;
            for (std::size_t k = 0; k < res[c][0].first_terms.size(); ++k) {
                double f = 0, l = 0;
                for (const auto& r : res[c]) f += r.first_terms[k] / double(seeds.size()), l += r.last_terms[k] / double(seeds.size());
                std::snprintf(buf, sizeof buf, " term %zu %.4f -> %.4f;", k + 1, f, l);
                md += buf;
            }
            md += "\n";
        }
        md += "\nPlots: `study_v4_vision.svg` (held-out encoding r over epochs), `study_v4_vision_rsa.svg` (RSA with "
              "human IT over epochs); bands are 95% intervals over seeds; epoch 0 is the untrained student.\n\n";
        study::record_note("rsa92: 92 images with human IT and monkey IT RDMs and category labels (RSA and few-shot)");
        md += study::data_section(a.data_dir);
        md += std::string(study::reproducibility_note()) + "\n";

        // Curves over epochs.
        std::filesystem::create_directories(a.out_dir);
        std::vector<double> xs;
        for (std::size_t k = 0; k < res[1][0].curve.size(); ++k) xs.push_back(double(k * s.eval_every));
        for (int m : {0, 1}) {
            report::svg_plot p({.title = m == 0 ? "V4 study: encoding of unseen V4 sessions from frozen features"
                                                : "V4 study: RSA of the 92 images with human IT",
                                .x_label = "epoch",
                                .y_label = m == 0 ? "median held-out Pearson r" : "Spearman rho with hIT RDM"});
            for (int c = 1; c < 4; ++c) {
                std::vector<std::vector<double>> rows;
                for (const auto& r : res[c]) {
                    rows.emplace_back();
                    for (const auto& sc : r.curve) rows.back().push_back(metric(sc, m));
                }
                p.add(study::band(names[c], xs, rows));
            }
            report::series px{.name = "pixels (reference)", .x = {xs.front(), xs.back()},
                              .y = {metric(pix, m), metric(pix, m)}, .low = {}, .high = {}};
            p.add(px);
            p.write(a.out_dir + (m == 0 ? "/study_v4_vision.svg" : "/study_v4_vision_rsa.svg"));
        }
        study::write_text(a.out_dir + "/study_v4_vision.md", md);
        std::printf("%s", md.c_str());
        std::printf("\nwrote %s/study_v4_vision.md (%.0f s)\n", a.out_dir.c_str(), study::seconds_since(t0));
        if (!ok) {
            std::fprintf(stderr, "study_v4_vision: a metric is not finite or a training term did not decrease\n");
            return 1;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "study_v4_vision: %s\n", e.what());
        return 1;
    }
    return 0;
}
