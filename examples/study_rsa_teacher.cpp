// Study 4 of issue 7: an RSA teacher. The rsa92 data give RDMs, not responses, so the
// brain term is loss::rdm_target: 1 - Pearson r between the student's correlation-distance
// RDM over a batch of the 92 Kriegeskorte images and the human IT RDM's sub-matrix for
// those images. Trained on 60 of the 92 images, scored on the 32 held-out images' RDM.
//
// Per seed (1..10): a split of the 92 images into 60 training and 32 held-out images,
// stratified by animacy (31 + 29 / 17 + 15), drawn from rng(seed). The conv student of
// examples/study_student.hpp; every trained condition has the autoencoding task term
// (mse to the 2x2-block-mean image) on the 60 training images, full batch, Adam lr 1e-3,
// 150 epochs (= steps), fixed before any evaluation:
//   untrained          the student at initialisation
//   AE                 autoencoding only
//   AE + RDM(hIT)      + 1.0 x rdm_target(embed, human IT RDM)
//   AE + RDM(shuffled) + 1.0 x rdm_target(embed, human IT RDM with its stimulus labels
//                        permuted per seed): same target statistics, wrong images (control)
// Scores on the frozen 128-d "embed" features: Spearman rho between the features' RDM of
// the 32 held-out images and the hIT sub-RDM (the teacher's own measure, images never
// trained on) and the monkey IT sub-RDM (an independent brain), and the fit on the 60
// training images. References per split: pixel features, and mIT itself vs hIT.
// 95% t intervals over seeds (clipped to [-1, 1]), paired differences by seed; the verdict
// states its number of comparisons. Single-threaded, deterministic. The report names the
// data read (folder, each file's size and SHA-256).
// Writes <out>/study_rsa_teacher.md and .svg (held-out rho over epochs).
// Usage: study_rsa_teacher [out_dir=docs/results] [--data DIR] [--smoke]
#include <b2m/loss/mse.hpp>
#include <b2m/loss/rdm_target.hpp>
#include <b2m/optim/optimizer.hpp>
#include <b2m/train/fit.hpp>
#include <b2m/train/trainer.hpp>

#include "study_common.hpp"
#include "study_student.hpp"

using namespace b2m;

namespace {
struct split {
    std::vector<std::size_t> train, test;
};

split make_split(const std::vector<std::int64_t>& animate, std::uint64_t seed) {
    std::vector<std::size_t> a, n;
    for (std::size_t i = 0; i < animate.size(); ++i) (animate[i] ? a : n).push_back(i);
    rng r(seed);
    r.shuffle(a);
    r.shuffle(n);
    split s;
    const std::size_t ka = 31, kn = 29;  // 60 training images, animacy kept in proportion
    for (std::size_t i = 0; i < a.size(); ++i) (i < ka ? s.train : s.test).push_back(a[i]);
    for (std::size_t i = 0; i < n.size(); ++i) (i < kn ? s.train : s.test).push_back(n[i]);
    std::sort(s.train.begin(), s.train.end());
    std::sort(s.test.begin(), s.test.end());
    return s;
}

struct scores {
    double test_human = 0, test_monkey = 0, train_human = 0;
};

struct setup {
    std::size_t epochs = 150, eval_every = 10;
    study::rsa92 r92;
};

template <class Trainer>
scores evaluate(Trainer& t, const setup& s, const split& sp) {
    const auto f = study::embed(t, s.r92.x);
    scores r;
    r.test_human = study::rsa_spearman(brain::take_rows(f, sp.test), study::sub_rdm(s.r92.human_it, sp.test));
    r.test_monkey = study::rsa_spearman(brain::take_rows(f, sp.test), study::sub_rdm(s.r92.monkey_it, sp.test));
    r.train_human = study::rsa_spearman(brain::take_rows(f, sp.train), study::sub_rdm(s.r92.human_it, sp.train));
    return r;
}

struct run_result {
    std::vector<scores> curve;
    std::vector<double> first_terms, last_terms;
};

template <class Trainer>
struct eval_callback {
    Trainer* trainer;
    const setup* s;
    const split* sp;
    run_result* out;
    bool on_epoch_end(const train::fit_state&, const train::epoch_record& r) {
        if (r.epoch % s->eval_every == 0) out->curve.push_back(evaluate(*trainer, *s, *sp));
        return true;
    }
};

template <class Objective>
run_result run(const Objective& objective, const setup& s, const split& sp, const train::batch<float>& data,
               std::uint64_t seed, bool train_it) {
    auto trainer = train::make_trainer(study::make_student(), objective, optim::adam({.lr = 1e-3}), {.seed = seed});
    run_result res;
    res.curve.push_back(evaluate(trainer, s, sp));
    if (!train_it) return res;
    const auto rep = train::fit(trainer, data, nullptr,
                                {.epochs = s.epochs, .batch_size = data.size(), .shuffle_seed = seed + 1000},
                                eval_callback<decltype(trainer)>{&trainer, &s, &sp, &res});
    res.first_terms = rep.epochs.front().train_terms;
    res.last_terms = rep.epochs.back().train_terms;
    return res;
}

const char* metric_name[] = {"held-out 32 images: RDM vs hIT (Spearman)", "held-out 32 images: RDM vs mIT (Spearman)",
                             "60 training images: RDM vs hIT (Spearman)"};
double metric(const scores& s, int m) { return m == 0 ? s.test_human : m == 1 ? s.test_monkey : s.train_human; }
} // namespace

int main(int argc, char** argv) {
    const auto a = study::parse(argc, argv);
    if (!a.sessions.empty() || !a.teacher.empty()) {
        std::fprintf(stderr, "study_rsa_teacher: rsa92 has no sessions; --sessions / --teacher do not apply\n");
        return 2;
    }
    if (!study::have_data(a, {"rsa92/images.npy", "rsa92/rdm_human_it.npy", "rsa92/rdm_monkey_it.npy"})) return study::skip_code;
    set_num_threads(1);  // identical numbers on every rerun
    const auto t0 = std::chrono::steady_clock::now();
    try {
        setup s;
        s.r92 = study::load_rsa92(a.data_dir);
        std::vector<std::uint64_t> seeds;
        for (std::uint64_t k = 1; k <= (a.smoke ? 2u : 10u); ++k) seeds.push_back(k);
        if (a.smoke) s.epochs = 4, s.eval_every = 2;
        const auto animate = s.r92.labels("animate");
        const auto targets = study::downsample2(s.r92.x);
        std::printf("study_rsa_teacher%s: 92 images (60 train / 32 held out per seed), %zu seeds, %zu epochs\n",
                    a.smoke ? " (smoke)" : "", seeds.size(), s.epochs);

        const char* names[] = {"untrained (random features)", "AE", "AE + RDM(hIT)", "AE + RDM(shuffled hIT, control)"};
        std::vector<std::vector<run_result>> res(4);
        std::vector<double> pixel_test, mit_test;
        for (auto seed : seeds) {
            const split sp = make_split(animate, seed);
            train::batch<float> d;
            d.x = brain::take_rows(s.r92.x, sp.train);
            d.targets = brain::take_rows(targets, sp.train);
            d.stimulus = index_vector::from_shape({sp.train.size()});
            for (std::size_t i = 0; i < sp.train.size(); ++i) d.stimulus(i) = std::int64_t(sp.train[i]);
            // Control target: hIT with the images' labels permuted (rng(seed).split(7)).
            std::vector<std::size_t> perm(92);
            std::iota(perm.begin(), perm.end(), std::size_t(0));
            rng(seed).split(7).shuffle(perm);
            const matrix<double> shuffled = study::sub_rdm(s.r92.human_it, perm);

            const auto ae = loss::mse(nn::output, data::targets);
            res[0].push_back(run(ae, s, sp, d, seed, false));
            res[1].push_back(run(ae, s, sp, d, seed, true));
            res[2].push_back(run(ae + 1.0 * loss::rdm_target(nn::tap<"embed">{}, s.r92.human_it), s, sp, d, seed, true));
            res[3].push_back(run(ae + 1.0 * loss::rdm_target(nn::tap<"embed">{}, shuffled), s, sp, d, seed, true));
            pixel_test.push_back(study::rsa_spearman(brain::take_rows(targets, sp.test), study::sub_rdm(s.r92.human_it, sp.test)));
            mit_test.push_back(brain::compare_rdms(study::sub_rdm(s.r92.monkey_it, sp.test), study::sub_rdm(s.r92.human_it, sp.test),
                                                   brain::rdm_compare::spearman));
            std::printf("seed %llu done (%.0f s)\n", (unsigned long long)seed, study::seconds_since(t0));
            std::fflush(stdout);
        }
        auto finals = [&](int c, int m) {
            std::vector<double> v;
            for (const auto& r : res[c]) v.push_back(metric(r.curve.back(), m));
            return v;
        };
        bool ok = true;
        for (int c = 0; c < 4; ++c)
            for (int m = 0; m < 3; ++m)
                for (double v : finals(c, m)) ok = ok && std::isfinite(v);
        for (int c = 1; c < 4; ++c)
            for (const auto& r : res[c])
                for (std::size_t k = 0; k < r.first_terms.size(); ++k) ok = ok && r.last_terms[k] < r.first_terms[k];

        std::string md;
        char buf[4096];
        md += "# Study 4: the human IT RDM as a teacher (RSA teacher)\n\n";
        md += a.smoke ? "**SMOKE RUN (tiny subset; numbers meaningless)**\n\n" : "";
        md += "Command: `cmake --build build --target study_rsa_teacher && ./build/examples/study_rsa_teacher docs/results`"
              " (from the repository root; single-threaded, deterministic per seed).\n\n";
        std::snprintf(buf, sizeof buf,
                      "Brain term: `loss::rdm_target(nn::tap<\"embed\">{}, hIT)` = 1 - Pearson r between the student's "
                      "correlation-distance RDM over the batch and the human IT RDM's sub-matrix for the batch's images "
                      "(include/b2m/loss/rdm_target.hpp). Per seed, the 92 images are split into 60 training and 32 "
                      "held-out images (stratified by animacy). Student: the conv net of study 1 (128-d `embed`). Every "
                      "trained condition has the autoencoding term on the 60 training images (full batch, %zu epochs, "
                      "Adam lr 1e-3); brain terms have weight 1 (all fixed before any evaluation). The control uses the "
                      "hIT RDM with its images' labels permuted (same values, wrong images). Scores: Spearman rho of the "
                      "frozen `embed` RDM (correlation distance) with the hIT / mIT sub-RDMs. Values: mean [95%% t "
                      "interval] over %zu seeds (each seed: its own split, initialisation and control permutation).\n\n",
                      s.epochs, seeds.size());
        md += buf;
        md += "| condition |";
        for (int m = 0; m < 3; ++m) md += std::string(" ") + metric_name[m] + " |";
        md += "\n| --- | --- | --- | --- |\n";
        for (int c = 0; c < 4; ++c) {
            md += std::string("| ") + names[c] + " |";
            for (int m = 0; m < 3; ++m) md += " " + study::ci(finals(c, m), "%.3f", -1, 1) + " |";
            md += "\n";
        }
        md += "| pixels (3x16x16 block means, reference) | " + study::ci(pixel_test, "%.3f", -1, 1) + " | | |\n";
        md += "| monkey IT RDM itself (reference: another brain) | " + study::ci(mit_test, "%.3f", -1, 1) + " | | |\n";
        md += "\nPaired differences by seed (mean [95% CI], d_z):\n\n| comparison |";
        for (int m = 0; m < 3; ++m) md += std::string(" ") + metric_name[m] + " |";
        md += "\n| --- | --- | --- | --- |\n";
        const int pairs[][2] = {{2, 1}, {2, 3}, {1, 0}};
        for (const auto& p : pairs) {
            md += std::string("| ") + names[p[0]] + " - " + names[p[1]] + " |";
            for (int m = 0; m < 3; ++m) md += " " + study::paired(finals(p[0], m), finals(p[1], m), 2.0) + " |";
            md += "\n";
        }
        md += "\n## What came out\n\n4 comparisons below (paired t over seeds, 95% intervals, no multiplicity "
              "correction; the table above holds 9): a single interval excluding 0 is weak evidence on its own.\n\n";
        auto verdict = [&](int c, int b, int m) {
            const auto t = finals(c, m), u = finals(b, m);
            return std::string(study::paired_above(t, u)   ? "higher (paired 95% interval above 0)"
                               : study::paired_below(t, u) ? "**lower** (paired 95% interval below 0)"
                                                           : "not clearly different (paired 95% interval includes 0)");
        };
        md += "- Fit on the training images (hIT): AE + RDM(hIT) vs AE: " + verdict(2, 1, 2) + ".\n";
        md += "- Held-out images, hIT (the claim): AE + RDM(hIT) vs AE: " + verdict(2, 1, 0) +
              "; vs the shuffled-target control: " + verdict(2, 3, 0) + ".\n";
        md += "- Held-out images, mIT (independent brain): AE + RDM(hIT) vs AE: " + verdict(2, 1, 1) + ".\n";
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
        md += "\nPlot: `study_rsa_teacher.svg`, held-out hIT rho over epochs (95% bands over seeds; epoch 0 = untrained).\n\n";
        study::record_note("rsa92: 92 images, human IT and monkey IT RDMs (92 x 92), 12 category labels");
        md += study::data_section(a.data_dir);
        md += std::string(study::reproducibility_note()) + "\n";

        std::filesystem::create_directories(a.out_dir);
        std::vector<double> xs;
        for (std::size_t k = 0; k < res[1][0].curve.size(); ++k) xs.push_back(double(k * s.eval_every));
        report::svg_plot p({.title = "RSA teacher: held-out images' RDM vs human IT",
                            .x_label = "epoch",
                            .y_label = "Spearman rho, 32 held-out images"});
        for (int c = 1; c < 4; ++c) {
            std::vector<std::vector<double>> rows;
            for (const auto& r : res[c]) {
                rows.emplace_back();
                for (const auto& sc : r.curve) rows.back().push_back(sc.test_human);
            }
            p.add(study::band(names[c], xs, rows));
        }
        p.write(a.out_dir + "/study_rsa_teacher.svg");
        study::write_text(a.out_dir + "/study_rsa_teacher.md", md);
        std::printf("%s\nwrote %s/study_rsa_teacher.md (%.0f s)\n", md.c_str(), a.out_dir.c_str(), study::seconds_since(t0));
        if (!ok) {
            std::fprintf(stderr, "study_rsa_teacher: a score is not finite or a training term did not decrease\n");
            return 1;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "study_rsa_teacher: %s\n", e.what());
        return 1;
    }
    return 0;
}
