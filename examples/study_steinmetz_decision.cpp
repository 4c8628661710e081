// Study (issue 7, study 2): mouse visual-cortex population activity as a teacher for a GRU
// that predicts the outcome of a contrast-discrimination trial (Steinmetz et al. 2019,
// sessions 1-3 of ../shared/data/steinmetz; read its README).
//
//   cmake --build build --target study_steinmetz_decision
//   ./build/examples/study_steinmetz_decision docs/results        # full study, ~1 minute
//   ./build/examples/study_steinmetz_decision --smoke /tmp/out     # 2 seeds x 3 epochs (ctest)
//   options: --data DIR (default B2M_DATA_DIR/steinmetz) --sessions a,b,c (default: every
//   folder of DIR holding spikes.npy, sorted) --seeds N --epochs N
// The report names the data read: folder, sessions, trials, each file's size and SHA-256.
// Writes <out>/steinmetz_decision.md (tables) and <out>/steinmetz_decision.svg (pooled
// accuracy curves), <out>/steinmetz_decision_ce.svg (pooled held-out cross-entropy) and
// <out>/steinmetz_decision_session<k>.svg.
//
// Target. The files hold no choice variable (the README explains why it cannot be derived),
// so the student predicts the trial's outcome: feedback rewarded (+1 -> class 1) or not
// (-1 -> class 0). It is the only behavioural variable recorded, and it is not a function
// of the input: the same contrast pair is rewarded on some trials and not on others.
//
// Input. Two channels over the 39 bins of 10 ms (stimulus onset .. 0.4 s): left and right
// contrast (0, .25, .5, 1), present from onset (bin 0) to the end. No input noise: the
// contrasts are the whole stimulus, and per-trial noise would only give the student a
// trial-identity code with which to memorise individual trials' neural responses.
//
// Student. GRU(2, 32) -> tap "states" (every step) -> last step -> tap "last" ->
// Dense(32, 2); cross-entropy on the outcome; Adam lr 3e-3, gradient-norm clip 5, batch 32,
// 60 epochs. The three conditions share the architecture, the initialisation (trainer
// seed) and the batch order (shuffle seed) for each seed; only the objective differs:
//   baseline:    CE
//   latent:      CE + 1.0 x latent(tap "states", PCs per bin, mse, learnable map W (32 -> 8))
//   contrastive: CE + 0.5 x contrastive(tap "last", trial population response,
//                tau 0.1, projection dim 32, trials with the same contrast pair are positives)
//   latent, shuffled trials (control): the latent condition with the PC trajectories
//                permuted across training trials (a fixed permutation)
// The weights are METHODS.md's defaults (lambda = 1 latent, 0.5 contrastive); nothing was
// tuned (no validation split is needed, and the test split is never used to choose
// anything).
//
// Brain targets, per session (sessions have different neurons, so every session gets its
// own models, reductions and heads; results are reported per session and pooled over
// session x seed pairs). Spike counts are smoothed along time by a Gaussian (sigma 2 bins =
// 20 ms, truncated at 3 sigma, renormalised at the edges); every (trial, bin) is a row of V
// neurons; the rows are z-scored per neuron with training-trial statistics; PCA (8
// components) is fitted on the training rows only and applied to every row; the scores are
// divided by the training standard deviation of PC1 (so PC1 has unit variance and the others
// keep their relative size). The latent target of a trial is its 39 x 8 PC trajectory, (B,
// 39*8) time-major, matched step by step to the GRU's hidden states. The contrastive target
// is the trial's population response: each neuron's z-scored rate averaged over the 39
// bins, then z-scored across training trials.
//
// Split. Per session, 20% of the trials (fixed split seed) are held out for testing; the
// rest train. Held-out accuracy and cross-entropy after every epoch give the learning
// curves. Convergence: epochs until held-out accuracy first reaches the session's target:
// at least the accuracy of the contrast-pair rule (predict the training majority outcome of
// the trial's contrast pair) and strictly above the majority rule (always predict the
// training majority outcome), both fitted on training trials and scored on the same
// held-out trials. Seeds vary initialisation and batch order, not the split, so the
// intervals are over training randomness on a fixed test set.
//
// Deterministic: one thread, counter-based RNG; the same seeds give the same report.
#include <b2m/b2m.hpp>

#include "study_common.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <vector>

using namespace b2m;

namespace {

constexpr std::size_t BINS = 39, IN = 2, HIDDEN = 32, K = 8, BATCH = 32;
constexpr double LR = 3e-3, LAMBDA_LATENT = 1.0, LAMBDA_CON = 0.5, TAU = 0.1, SIGMA_BINS = 2.0;
constexpr double TEST_FRACTION = 0.2;
constexpr std::uint64_t SPLIT_SEED = 20190101;
constexpr std::size_t CON_DIM = 32;

struct session_data {
    std::string name;
    std::size_t trials = 0, neurons = 0, n_train = 0, n_test = 0;
    train::batch<float> train_set, test_set;
    train::batch<float> train_shuffled;  ///< train_set with the latent targets permuted across trials (control)
    double majority_acc = 0, lookup_acc = 0, target = 0;
    double base_logloss = 0, pair_logloss = 0;  ///< held-out cross-entropy of the two reference rules
    double frac_rewarded_train = 0;
    double pcs_variance_explained = 0;  ///< of the z-scored training rows, by the K PCs
    double latent_target_ms = 0;        ///< mean square of the latent targets (training)
    double latent_contrast_r2 = 0;      ///< share of latent-target variance explained by contrast pair x bin means (training)
};

std::int64_t contrast_level(float c) {  // 0, .25, .5, 1 -> 0, 1, 2, 4
    return std::int64_t(std::lround(double(c) * 4.0));
}

/// Reads session `dir`, splits it and builds inputs, labels and brain targets.
session_data load_session(const std::string& dir, const std::string& name) {
    session_data d;
    d.name = name;
    const auto spikes = study::load_recorded<float, 3>(dir + "/spikes.npy");  // (N, V, 39)
    const auto cl = study::load_recorded<float, 1>(dir + "/contrast_left.npy");
    const auto cr = study::load_recorded<float, 1>(dir + "/contrast_right.npy");
    const auto fb = study::load_recorded<float, 1>(dir + "/feedback.npy");
    const std::size_t N = spikes.shape(0), V = spikes.shape(1);
    if (spikes.shape(2) != BINS)
        throw shape_error(dir + "/spikes.npy: expected 39 bins per trial, got shape " + shape_string(spikes.shape()));
    if (cl.size() != N || cr.size() != N || fb.size() != N)
        throw shape_error(dir + ": contrast_left " + shape_string(cl.shape()) + ", contrast_right " +
                          shape_string(cr.shape()) + " and feedback " + shape_string(fb.shape()) +
                          " must have one entry per trial of spikes " + shape_string(spikes.shape()));
    for (std::size_t i = 0; i < N; ++i) {
        if (fb(i) != 1.0f && fb(i) != -1.0f) throw data_error(dir + "/feedback.npy: entry " + std::to_string(i) + " is not +-1");
        for (float c : {cl(i), cr(i)})
            if (!(c >= 0.0f && c <= 1.0f)) throw data_error(dir + ": contrast of trial " + std::to_string(i) + " outside [0, 1]");
    }
    d.trials = N;
    d.neurons = V;

    // Split by trial with a fixed seed.
    std::vector<std::size_t> order(N);
    std::iota(order.begin(), order.end(), 0);
    rng split_rng(SPLIT_SEED);
    split_rng.shuffle(order);
    const std::size_t n_test = std::size_t(std::lround(TEST_FRACTION * double(N)));
    std::vector<std::size_t> test_idx(order.begin(), order.begin() + std::ptrdiff_t(n_test));
    std::vector<std::size_t> train_idx(order.begin() + std::ptrdiff_t(n_test), order.end());
    std::sort(test_idx.begin(), test_idx.end());
    std::sort(train_idx.begin(), train_idx.end());
    d.n_train = train_idx.size();
    d.n_test = test_idx.size();
    if (d.n_train % BATCH == 1)
        throw data_error(name + ": " + std::to_string(d.n_train) + " training trials leave a last batch of 1 (contrastive needs >= 2)");

    // Smoothed rates, rows (trial, bin) x V.
    std::vector<double> kernel;
    const int radius = int(std::ceil(3 * SIGMA_BINS));
    for (int o = -radius; o <= radius; ++o) kernel.push_back(std::exp(-0.5 * double(o * o) / (SIGMA_BINS * SIGMA_BINS)));
    matrix<double> rows = matrix<double>::from_shape({N * BINS, V});
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t v = 0; v < V; ++v)
            for (std::size_t t = 0; t < BINS; ++t) {
                double s = 0, w = 0;
                for (int o = -radius; o <= radius; ++o) {
                    const long u = long(t) + o;
                    if (u < 0 || u >= long(BINS)) continue;
                    const double k = kernel[std::size_t(o + radius)];
                    s += k * double(spikes(i, v, std::size_t(u)));
                    w += k;
                }
                rows(i * BINS + t, v) = s / w;
            }
    auto take_rows = [&](const matrix<double>& m, const std::vector<std::size_t>& idx, std::size_t per) {
        matrix<double> out = matrix<double>::from_shape({idx.size() * per, m.shape(1)});
        for (std::size_t a = 0; a < idx.size(); ++a)
            std::copy_n(m.data() + idx[a] * per * m.shape(1), per * m.shape(1), out.data() + a * per * m.shape(1));
        return out;
    };
    brain::zscore<double> zs;
    zs.fit(take_rows(rows, train_idx, BINS));
    zs.transform_inplace(rows);
    const matrix<double> train_rows = take_rows(rows, train_idx, BINS);
    const auto P = loss::brain_reduction::pca(train_rows, K);
    const matrix<double> pcs = P.transform(rows);  // (N*39, K)
    const matrix<double> train_pcs = P.transform(train_rows);
    double total_var = 0, pc_var = 0, pc1_var = 0;
    {
        const double nr = double(train_rows.shape(0));
        for (std::size_t v = 0; v < V; ++v) {
            double ss = 0;  // columns are centred (z-scored on these rows)
            for (std::size_t r = 0; r < train_rows.shape(0); ++r) ss += train_rows(r, v) * train_rows(r, v);
            total_var += ss / nr;
        }
        for (std::size_t k = 0; k < K; ++k) {
            double ss = 0;
            for (std::size_t r = 0; r < train_pcs.shape(0); ++r) ss += train_pcs(r, k) * train_pcs(r, k);
            pc_var += ss / nr;
            if (k == 0) pc1_var = ss / nr;
        }
    }
    d.pcs_variance_explained = pc_var / total_var;
    const double pc_scale = 1.0 / std::sqrt(pc1_var);

    // Trial-level population response: per-neuron mean over bins of the z-scored rates.
    matrix<double> resp = xt::zeros<double>({N, V});
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t t = 0; t < BINS; ++t)
            for (std::size_t v = 0; v < V; ++v) resp(i, v) += rows(i * BINS + t, v) / double(BINS);
    brain::zscore<double> zr;
    zr.fit(take_rows(resp, train_idx, 1));
    zr.transform_inplace(resp);

    auto fill = [&](const std::vector<std::size_t>& idx, train::batch<float>& b, bool with_brain) {
        const std::size_t n = idx.size();
        b.x = matrix<float>::from_shape({n, BINS * IN});
        b.labels = index_vector::from_shape({n});
        for (std::size_t a = 0; a < n; ++a) {
            const std::size_t i = idx[a];
            for (std::size_t t = 0; t < BINS; ++t) {
                b.x(a, t * IN + 0) = cl(i);
                b.x(a, t * IN + 1) = cr(i);
            }
            b.labels(a) = fb(i) > 0 ? 1 : 0;
        }
        if (!with_brain) return;
        b.targets = matrix<float>::from_shape({n, BINS * K});
        b.brain = matrix<float>::from_shape({n, V});
        b.stimulus = index_vector::from_shape({n});
        for (std::size_t a = 0; a < n; ++a) {
            const std::size_t i = idx[a];
            for (std::size_t t = 0; t < BINS; ++t)
                for (std::size_t k = 0; k < K; ++k) b.targets(a, t * K + k) = float(pcs(i * BINS + t, k) * pc_scale);
            for (std::size_t v = 0; v < V; ++v) b.brain(a, v) = float(resp(i, v));
            b.stimulus(a) = contrast_level(cl(i)) * 5 + contrast_level(cr(i));
        }
    };
    fill(train_idx, d.train_set, true);
    fill(test_idx, d.test_set, false);
    // Control: the same latent targets, assigned to the wrong trials (a fixed permutation of
    // the training trials), so the term keeps its size and statistics but loses the pairing
    // of a trial's contrasts with its population activity.
    d.train_shuffled = d.train_set;
    {
        std::vector<std::size_t> perm(d.n_train);
        std::iota(perm.begin(), perm.end(), 0);
        rng(SPLIT_SEED + 1).shuffle(perm);
        const std::size_t w = d.train_set.targets.shape(1);
        for (std::size_t a = 0; a < d.n_train; ++a)
            std::copy_n(d.train_set.targets.data() + perm[a] * w, w, d.train_shuffled.targets.data() + a * w);
    }

    // Diagnostics of the latent targets: mean square, and the share of their variance that
    // contrast pair x bin means explain (all a student that sees only contrasts can match).
    {
        const auto& z = d.train_set.targets;
        const std::size_t n = z.shape(0), w = z.shape(1);
        std::map<std::int64_t, std::vector<double>> sums;
        std::map<std::int64_t, double> counts;
        std::vector<double> mean(w, 0.0);
        double ms = 0;
        for (std::size_t a = 0; a < n; ++a) {
            auto& s = sums[d.train_set.stimulus(a)];
            s.resize(w, 0.0);
            counts[d.train_set.stimulus(a)] += 1;
            for (std::size_t j = 0; j < w; ++j) {
                s[j] += z(a, j);
                mean[j] += z(a, j) / double(n);
                ms += double(z(a, j)) * z(a, j);
            }
        }
        double sst = 0, sse = 0;
        for (std::size_t a = 0; a < n; ++a) {
            const auto& s = sums[d.train_set.stimulus(a)];
            const double c = counts[d.train_set.stimulus(a)];
            for (std::size_t j = 0; j < w; ++j) {
                sst += (z(a, j) - mean[j]) * (z(a, j) - mean[j]);
                sse += (z(a, j) - s[j] / c) * (z(a, j) - s[j] / c);
            }
        }
        d.latent_target_ms = ms / double(n * w);
        d.latent_contrast_r2 = 1 - sse / sst;
    }

    // Contrast-only reference rules, fitted on training trials, scored on held-out trials.
    std::size_t pos = 0;
    std::map<std::int64_t, std::pair<std::size_t, std::size_t>> by_pair;  // (rewarded, total)
    for (std::size_t a = 0; a < d.n_train; ++a) {
        const bool r = d.train_set.labels(a) == 1;
        pos += r;
        auto& e = by_pair[d.train_set.stimulus(a)];
        e.first += r;
        e.second += 1;
    }
    d.frac_rewarded_train = double(pos) / double(d.n_train);
    const std::int64_t majority = 2 * pos >= d.n_train ? 1 : 0;
    std::size_t hit_major = 0, hit_lookup = 0;
    for (std::size_t a = 0; a < d.n_test; ++a) {
        const std::size_t i = test_idx[a];
        const std::int64_t pair = contrast_level(cl(i)) * 5 + contrast_level(cr(i));
        std::int64_t pred = majority;
        if (auto it = by_pair.find(pair); it != by_pair.end() && 2 * it->second.first != it->second.second)
            pred = 2 * it->second.first > it->second.second ? 1 : 0;
        hit_major += d.test_set.labels(a) == majority;
        hit_lookup += d.test_set.labels(a) == pred;
    }
    d.majority_acc = double(hit_major) / double(d.n_test);
    d.lookup_acc = double(hit_lookup) / double(d.n_test);
    d.target = std::max(d.lookup_acc, d.majority_acc + 1.0 / double(d.n_test));
    // Held-out cross-entropy of the same two rules as probabilities: the training base rate,
    // and the training rate of the trial's contrast pair with add-one smoothing.
    double ll_base = 0, ll_pair = 0;
    for (std::size_t a = 0; a < d.n_test; ++a) {
        const std::size_t i = test_idx[a];
        const std::int64_t pair = contrast_level(cl(i)) * 5 + contrast_level(cr(i));
        const double pb = d.frac_rewarded_train;
        double pp = 0.5;
        if (auto it = by_pair.find(pair); it != by_pair.end())
            pp = (double(it->second.first) + 1.0) / (double(it->second.second) + 2.0);
        const bool y = d.test_set.labels(a) == 1;
        ll_base -= std::log(y ? pb : 1 - pb);
        ll_pair -= std::log(y ? pp : 1 - pp);
    }
    d.base_logloss = ll_base / double(d.n_test);
    d.pair_logloss = ll_pair / double(d.n_test);
    return d;
}

/// Callback: held-out cross-entropy (nats per trial) of the student after every epoch.
template <class Trainer>
struct heldout_cross_entropy {
    Trainer* trainer;
    const train::batch<float>* test;
    std::vector<double>* curve;
    bool on_epoch_end(const train::fit_state&, const train::epoch_record&) {
        const matrix<float>& logits = trainer->predict(test->x);
        double s = 0;
        for (std::size_t i = 0; i < test->size(); ++i) {
            const double l0 = logits(i, 0), l1 = logits(i, 1), m = std::max(l0, l1);
            const double lse = m + std::log(std::exp(l0 - m) + std::exp(l1 - m));
            s += lse - (test->labels(i) == 1 ? l1 : l0);
        }
        curve->push_back(s / double(test->size()));
        return true;
    }
};

template <class Objective>
train::fit_report run(const Objective& objective, const session_data& d, const train::batch<float>& train_set,
                      std::uint64_t seed, std::size_t epochs, std::vector<std::vector<double>>& ce_curves) {
    auto student = nn::sequential(nn::gru(IN, HIDDEN), nn::tap<"states">{}, nn::last_step(HIDDEN), nn::tap<"last">{},
                                  nn::dense(HIDDEN, 2, true, nn::init::fan_in_uniform));
    auto trainer = train::make_trainer(student, objective, optim::adam({.lr = LR}), {.seed = seed, .clip_norm = 5.0});
    ce_curves.emplace_back();
    return train::fit(trainer, train_set, &d.test_set,
                      {.epochs = epochs, .batch_size = BATCH, .shuffle_seed = seed + 1000},
                      heldout_cross_entropy<decltype(trainer)>{&trainer, &d.test_set, &ce_curves.back()});
}

/// Per-seed summaries of one condition on one session.
struct cond_result {
    report::condition curves;
    std::vector<std::vector<double>> ce;  ///< held-out cross-entropy per seed and epoch
    std::vector<double> epochs_to_target, final_acc, mean_acc, final_brain_term, final_ce, mean_ce;
};

cond_result summarise(report::condition c, const std::vector<std::vector<double>>& brain_term_last,
                      std::vector<std::vector<double>> ce, double target) {
    cond_result r;
    for (const auto& e : ce) {
        r.final_ce.push_back(e.back());
        r.mean_ce.push_back(std::accumulate(e.begin(), e.end(), 0.0) / double(e.size()));
    }
    r.ce = std::move(ce);
    for (std::size_t s = 0; s < c.accuracy.size(); ++s) {
        const auto& a = c.accuracy[s];
        r.epochs_to_target.push_back(report::epochs_to_target(a, target));
        r.final_acc.push_back(a.back());
        r.mean_acc.push_back(std::accumulate(a.begin(), a.end(), 0.0) / double(a.size()));
        r.final_brain_term.push_back(brain_term_last.empty() ? NAN : brain_term_last[s].back());
    }
    r.curves = std::move(c);
    return r;
}

std::string fmt(const char* f, double a) {
    char b[64];
    std::snprintf(b, sizeof b, f, a);
    return b;
}
std::string ci(const report::summary& s, const char* f) {
    if (s.n == 0) return "never";
    std::string r = fmt(f, s.mean) + (std::isfinite(s.ci95) ? " [" + fmt(f, s.low()) + ", " + fmt(f, s.high()) + "]"
                                                            : std::string(" (n = 1, no interval)"));
    if (s.missing) r += " (" + std::to_string(s.missing) + " never)";
    return r;
}
std::string diff_cell(const report::paired_comparison& p, const char* f) {
    std::string r = ci(p.difference, f);
    if (std::isfinite(p.effect_size)) r += ", d_z " + fmt("%.2f", p.effect_size);
    else r += ", d_z n/a";
    return r;
}
/// Epochs to target are right-censored (a run that never reached it is known only to need
/// more than the run length): Kaplan-Meier median with counts, log-rank between conditions.
std::string km_cell(const std::vector<double>& epochs_to_target) {
    const auto k = report::kaplan_meier(epochs_to_target);
    return (std::isnan(k.median) ? std::string("not reached") : fmt("%.0f", k.median)) + " (reached " +
           std::to_string(k.events) + "/" + std::to_string(k.n) + ")";
}
std::string logrank_cell(const report::logrank_result& r) {
    if (std::isnan(r.p)) return "log-rank undefined (no run reached the target)";
    return "log-rank chi2 " + fmt("%.2f", r.chi2) + ", p " + fmt("%.3g", r.p);
}
/// An accuracy difference lies in [-1, 1]: its interval is clipped there.
report::paired_comparison accuracy_difference(report::paired_comparison p) {
    p.difference.lower_limit = -1.0, p.difference.upper_limit = 1.0;
    return p;
}

/// Markdown rows for a set of conditions (baseline first) given as per-pair vectors.
std::string condition_table(const std::vector<std::string>& names, const std::vector<cond_result>& rs, std::size_t epochs,
                            const std::string& target_label) {
    std::string out = "| condition | epochs to " + target_label +
                      ", Kaplan-Meier median | reached | final held-out accuracy | mean held-out accuracy over epochs | "
                      "final held-out cross-entropy | mean held-out cross-entropy over epochs |\n";
    out += "| --- | --- | --- | --- | --- | --- | --- |\n";
    for (std::size_t c = 0; c < rs.size(); ++c) {
        const auto& r = rs[c];
        std::size_t reached = 0;
        for (double e : r.epochs_to_target) reached += std::isfinite(e);
        out += "| " + names[c] + " | " + km_cell(r.epochs_to_target) + " | " +
               std::to_string(reached) + "/" + std::to_string(r.epochs_to_target.size()) + " | " +
               ci(report::summarize_within(r.final_acc, 0.0, 1.0), "%.3f") + " | " +
               ci(report::summarize_within(r.mean_acc, 0.0, 1.0), "%.3f") + " | " +
               ci(report::summarize(r.final_ce), "%.3f") + " | " + ci(report::summarize(r.mean_ce), "%.3f") + " |\n";
    }
    std::vector<std::pair<std::size_t, std::size_t>> pairs;  // (treatment, reference)
    for (std::size_t c = 1; c < rs.size(); ++c) pairs.emplace_back(c, 0);
    if (rs.size() >= 4) pairs.emplace_back(1, 3);  // latent vs its shuffled-trials control
    for (auto [c, ref] : pairs) {
        const auto& t = rs[c];
        const auto& b = rs[ref];
        const auto de = report::logrank(t.epochs_to_target, b.epochs_to_target);
        const auto df = accuracy_difference(report::compare_paired(t.final_acc, b.final_acc));
        const auto dm = accuracy_difference(report::compare_paired(t.mean_acc, b.mean_acc));
        const auto dcf = report::compare_paired(t.final_ce, b.final_ce);
        const auto dcm = report::compare_paired(t.mean_ce, b.mean_ce);
        out += "| " + names[c] + " - " + names[ref] + " (paired) | " + logrank_cell(de) + " | | " + diff_cell(df, "%+.3f") +
               " | " + diff_cell(dm, "%+.3f") + " | " + diff_cell(dcf, "%+.3f") + " | " + diff_cell(dcm, "%+.3f") + " |\n";
    }
    return out;
}

/// Mean curve with 95% CI band over all rows of the given conditions.
report::series mean_curve(const std::string& name, const std::vector<const std::vector<double>*>& curves) {
    report::series s;
    s.name = name;
    const std::size_t epochs = curves.front()->size();
    for (std::size_t e = 0; e < epochs; ++e) {
        std::vector<double> at;
        for (const auto* c : curves) at.push_back((*c)[e]);
        const auto st = report::summarize(at);
        s.x.push_back(double(e + 1));
        s.y.push_back(st.mean);
        s.low.push_back(std::isnan(st.ci95) ? st.mean : st.low());
        s.high.push_back(std::isnan(st.ci95) ? st.mean : st.high());
    }
    return s;
}

bool all_finite_in_unit(const cond_result& r) {
    for (const auto& c : r.curves.accuracy)
        for (double a : c)
            if (!(a >= 0 && a <= 1)) return false;
    for (const auto& c : r.curves.loss)
        for (double l : c)
            if (!std::isfinite(l)) return false;
    return true;
}

} // namespace

int run_study(int argc, char** argv) {
    bool smoke = false;
    std::vector<std::string> requested;
    std::string data_dir = std::string(B2M_DATA_DIR) + "/steinmetz", out_dir = "docs/results";
    std::size_t n_seeds = 10, epochs = 60;
    bool seeds_set = false, epochs_set = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--smoke") smoke = true;
        else if (a == "--data" && i + 1 < argc) data_dir = argv[++i];
        else if (a == "--sessions" && i + 1 < argc) requested = study::split_list(argv[++i]);
        else if (a == "--seeds" && i + 1 < argc) n_seeds = std::stoul(argv[++i]), seeds_set = true;
        else if (a == "--epochs" && i + 1 < argc) epochs = std::stoul(argv[++i]), epochs_set = true;
        else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "usage: %s [--smoke] [--data DIR] [--sessions a,b,c] [--seeds N] [--epochs N] [OUT_DIR]\n", argv[0]);
            return 2;
        } else out_dir = a;
    }
    if (smoke) {
        if (!seeds_set) n_seeds = 2;
        if (!epochs_set) epochs = 3;
    }
    if (n_seeds < 2 || epochs < 1) {
        std::fprintf(stderr, "need --seeds >= 2 and --epochs >= 1\n");
        return 2;
    }
    const std::vector<std::string> sessions = study::resolve_sessions(requested, data_dir, "spikes.npy");
    if (sessions.empty()) {
        std::printf("SKIP: no steinmetz session (a folder with spikes.npy) under %s (real data absent); exit code 77\n",
                    data_dir.c_str());
        return 77;  // ctest: skipped
    }
    set_num_threads(1);
    std::filesystem::create_directories(out_dir);
    const auto t0 = std::chrono::steady_clock::now();

    std::vector<std::uint64_t> seeds(n_seeds);
    std::iota(seeds.begin(), seeds.end(), 1);
    const std::vector<std::string> names{"baseline", "latent", "contrastive", "latent, shuffled trials"};

    const auto task = loss::cross_entropy(nn::output, data::labels);
    std::vector<session_data> data;
    std::vector<std::vector<cond_result>> results;  // [session][condition]
    for (const auto& s : sessions) {
        data.push_back(load_session(data_dir + "/" + s, s));
        const auto& d = data.back();
        std::printf("%s: %zu trials (%zu train, %zu test), %zu neurons; held-out majority %.3f, contrast lookup %.3f\n",
                    s.c_str(), d.trials, d.n_train, d.n_test, d.neurons, d.majority_acc, d.lookup_acc);
        std::fflush(stdout);
        std::vector<std::vector<double>> lat_term, con_term, shuf_term, ce_base, ce_lat, ce_con, ce_shuf;
        auto base = report::run_condition("baseline", seeds,
                                          [&](std::uint64_t seed) { return run(task, d, d.train_set, seed, epochs, ce_base); });
        const auto latent_objective = [&](std::uint64_t seed) {
            return task + LAMBDA_LATENT * loss::latent(nn::tap<"states">{}, data::targets, {.steps = BINS, .seed = seed});
        };
        auto lat = report::run_condition("latent", seeds, [&](std::uint64_t seed) {
            const auto r = run(latent_objective(seed), d, d.train_set, seed, epochs, ce_lat);
            std::vector<double> v;
            for (const auto& e : r.epochs) v.push_back(e.train_terms.at(1));
            lat_term.push_back(v);
            return r;
        });
        auto shuf = report::run_condition("latent, shuffled trials", seeds, [&](std::uint64_t seed) {
            const auto r = run(latent_objective(seed), d, d.train_shuffled, seed, epochs, ce_shuf);
            std::vector<double> v;
            for (const auto& e : r.epochs) v.push_back(e.train_terms.at(1));
            shuf_term.push_back(v);
            return r;
        });
        auto con = report::run_condition("contrastive", seeds, [&](std::uint64_t seed) {
            const auto r = run(task + LAMBDA_CON * loss::contrastive(nn::tap<"last">{}, data::brain,
                                                                     {.tau = TAU, .dim = CON_DIM, .seed = seed}),
                               d, d.train_set, seed, epochs, ce_con);
            std::vector<double> v;
            for (const auto& e : r.epochs) v.push_back(e.train_terms.at(1));
            con_term.push_back(v);
            return r;
        });
        std::vector<cond_result> rs;
        rs.push_back(summarise(std::move(base), {}, std::move(ce_base), d.target));
        rs.push_back(summarise(std::move(lat), lat_term, std::move(ce_lat), d.target));
        rs.push_back(summarise(std::move(con), con_term, std::move(ce_con), d.target));
        rs.push_back(summarise(std::move(shuf), shuf_term, std::move(ce_shuf), d.target));
        for (std::size_t c = 0; c < rs.size(); ++c)
            std::printf("  %-24s final held-out accuracy %.3f (mean over seeds)\n", names[c].c_str(),
                        report::summarize(rs[c].final_acc).mean);
        std::fflush(stdout);
        results.push_back(std::move(rs));
    }

    // Pooled over session x seed pairs (for the tables); the verdict compares within
    // sessions: the seeds of one session share its data and split, so they are not
    // independent replicates (session_of: the session of each pooled pair).
    std::vector<cond_result> pooled(names.size());
    std::vector<std::size_t> session_of;
    for (std::size_t k = 0; k < results.size(); ++k) session_of.insert(session_of.end(), results[k][0].final_acc.size(), k);
    for (std::size_t c = 0; c < names.size(); ++c)
        for (const auto& rs : results) {
            const auto& r = rs[c];
            auto app = [](std::vector<double>& a, const std::vector<double>& b) { a.insert(a.end(), b.begin(), b.end()); };
            app(pooled[c].epochs_to_target, r.epochs_to_target);
            app(pooled[c].final_acc, r.final_acc);
            app(pooled[c].mean_acc, r.mean_acc);
            app(pooled[c].final_brain_term, r.final_brain_term);
            app(pooled[c].final_ce, r.final_ce);
            app(pooled[c].mean_ce, r.mean_ce);
        }

    // Report.
    std::string md;
    md += "# Study: mouse population activity as a teacher for a decision GRU (Steinmetz et al. 2019)\n\n";
    md += "Generated by `examples/study_steinmetz_decision.cpp`";
    md += smoke ? " in **smoke mode (not a result)**" : "";
    md += ". Run: `cmake --build build --target study_steinmetz_decision && ./build/examples/study_steinmetz_decision docs/results "
          "--sessions " + study::join(sessions, ",") + (smoke ? " --smoke" : "") + "`.\n\n";
    md += "Setup: " + std::to_string(n_seeds) + " seeds x " + std::to_string(epochs) +
          " epochs x 4 conditions x " + std::to_string(sessions.size()) + " sessions; one model (and one brain reduction / brain head) per session, since neurons "
          "differ between sessions. Student: GRU(2, 32) over the 39 bins of 10 ms, input = left and right contrast from "
          "stimulus onset; output = trial outcome (feedback rewarded or not; the data hold no choice variable). "
          "Adam lr 3e-3, batch 32, clip 5. Conditions share architecture, initialisation and batch order per seed:\n\n";
    md += "- **baseline**: cross-entropy on the outcome.\n";
    md += "- **latent**: + 1.0 x MSE between W h_t (learnable 32 -> 8 map, every step) and the population's top 8 principal "
          "components in bin t (spikes smoothed with a 20 ms Gaussian, z-scored per neuron, PCA fitted on training trials only; "
          "scores scaled so PC1 has unit variance).\n";
    md += "- **contrastive**: + 0.5 x symmetric InfoNCE (tau 0.1, 32-d projections) between the GRU's last state and the "
          "trial's population response (z-scored rate per neuron averaged over the 39 bins); trials with the same contrast "
          "pair are positives.\n";
    md += "- **latent, shuffled trials** (control): the latent condition with each training trial's PC trajectory given to "
          "another training trial (one fixed permutation). Same term, same target statistics, but no pairing of a trial's "
          "contrasts with its own population activity: what the latent term does beyond being an auxiliary regression.\n\n";
    md += "Brain-term weights are METHODS.md's defaults; nothing was tuned, and the held-out trials (20% per session, "
          "fixed split seed " + std::to_string(SPLIT_SEED) + ") were used only for the reported curves. Intervals are 95% t "
          "intervals over seeds (per session) or over session x seed pairs (pooled); they reflect training randomness on a "
          "fixed test split, not test-set sampling (a held-out set of ~45 trials has a binomial standard error of ~0.07 on "
          "accuracy by itself). d_z = mean paired difference / its SD.\n\n";
    md += "Convergence target per session: held-out accuracy at least that of the contrast-pair rule (predict the training "
          "majority outcome of the trial's contrast pair) and strictly above the majority rule (always predict the training "
          "majority outcome; target >= its accuracy + 1 held-out trial), both rules fitted on the training trials only. A seed "
          "that never reaches it within " + std::to_string(epochs) +
          " epochs is right-censored: epochs to target are given as Kaplan-Meier medians with the count that reached it, "
          "and conditions are compared by log-rank tests (never-reached runs are neither dropped nor given a value). Because accuracy on ~45 trials moves in steps of ~0.02 and the majority rule is hard "
          "to beat here, the tables also give the held-out cross-entropy (nats per trial; lower is better), a finer measure "
          "of the same predictions.\n\n";

    md += "## Data per session\n\n";
    md += "| session | trials (train / test) | neurons | rewarded (train) | held-out acc.: majority rule | held-out acc.: "
          "contrast-pair rule | target | held-out CE: base rate | held-out CE: contrast-pair rate | variance of z-scored "
          "rates in 8 PCs | PC-target variance explained by contrast pair x bin (train) |\n";
    md += "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
    for (const auto& d : data)
        md += "| " + d.name + " | " + std::to_string(d.trials) + " (" + std::to_string(d.n_train) + " / " +
              std::to_string(d.n_test) + ") | " + std::to_string(d.neurons) + " | " + fmt("%.3f", d.frac_rewarded_train) +
              " | " + fmt("%.3f", d.majority_acc) + " | " + fmt("%.3f", d.lookup_acc) + " | " + fmt("%.3f", d.target) +
              " | " + fmt("%.3f", d.base_logloss) + " | " + fmt("%.3f", d.pair_logloss) + " | " + fmt("%.3f", d.pcs_variance_explained) + " | " + fmt("%.3f", d.latent_contrast_r2) + " |\n";
    md += "\nCE = cross-entropy in nats per trial; the contrast-pair rate uses add-one smoothing. The last column is the most a student that sees only the contrasts can fit of the latent targets (the "
          "training-set R^2 of the per contrast-pair, per-bin mean trajectory).\n\n";

    md += "## Pooled over sessions (" + std::to_string(sessions.size() * n_seeds) + " session x seed pairs)\n\n";
    md += condition_table(names, pooled, epochs, "target");
    md += "\n![learning curves](steinmetz_decision.svg)\n\n![held-out cross-entropy](steinmetz_decision_ce.svg)\n\n";

    for (std::size_t s = 0; s < sessions.size(); ++s) {
        md += "## " + sessions[s] + " (target " + fmt("%.3f", data[s].target) + ")\n\n";
        md += condition_table(names, results[s], epochs, "target");
        md += "\nFinal training value of the brain term (mean [95% CI] over seeds): latent MSE " +
              ci(report::summarize(results[s][1].final_brain_term), "%.3f") + " (mean square of the targets " +
              fmt("%.3f", data[s].latent_target_ms) + "); contrastive InfoNCE " +
              ci(report::summarize(results[s][2].final_brain_term), "%.3f") + "; shuffled-trials latent MSE " +
              ci(report::summarize(results[s][3].final_brain_term), "%.3f") + ".\n\n";
    }

    // Verdict (computed, not written by hand).
    md += "## Verdict\n\n";
    const std::vector<std::pair<std::size_t, std::size_t>> contrasts{{1, 0}, {2, 0}, {3, 0}, {1, 3}};
    md += std::to_string(contrasts.size() * 4) + " comparisons (" + std::to_string(contrasts.size()) +
          " contrasts x 4 measures), none corrected for multiplicity. Accuracy and cross-entropy: paired differences "
          "averaged within each session, t interval over the " + std::to_string(results.size()) +
          " sessions (df = sessions - 1; the seeds of a session share its data, so session x seed pairs are not "
          "independent). Epochs to target: log-rank stratified by session (runs that never reach the target are "
          "censored, not given a value).\n\n";
    for (auto [c, ref] : contrasts) {
        const auto df = accuracy_difference(report::compare_paired_clustered(pooled[c].final_acc, pooled[ref].final_acc, session_of));
        const auto dm = accuracy_difference(report::compare_paired_clustered(pooled[c].mean_acc, pooled[ref].mean_acc, session_of));
        std::vector<std::vector<double>> ea, eb;
        for (const auto& rs : results) ea.push_back(rs[c].epochs_to_target), eb.push_back(rs[ref].epochs_to_target);
        const auto de = report::logrank_stratified(ea, eb);
        const auto dc = report::compare_paired_clustered(pooled[c].final_ce, pooled[ref].final_ce, session_of);
        const std::string& rn = names[ref];
        auto word = [&rn](const report::paired_comparison& p, bool lower_is_better) {
            if (!std::isfinite(p.difference.ci95) || p.difference.ci95 == 0)
                return std::string(p.difference.mean == 0 ? "identical to " + rn : "undetermined");
            const bool better = lower_is_better ? p.difference.high() < 0 : p.difference.low() > 0;
            const bool worse = lower_is_better ? p.difference.low() > 0 : p.difference.high() < 0;
            return better ? "better than " + rn + " (95% CI excludes 0)"
                          : worse ? "worse than " + rn + " (95% CI excludes 0)"
                                  : "no detectable difference from " + rn + " (95% CI includes 0)";
        };
        md += "- **" + names[c] + (ref ? " vs " + rn : std::string()) + "**: final held-out accuracy " + diff_cell(df, "%+.3f") + " -> " + word(df, false) +
              "; mean accuracy over epochs " + diff_cell(dm, "%+.3f") + " -> " + word(dm, false) + "; epochs to target " +
              logrank_cell(de) + " (observed " + fmt("%.0f", de.observed_a) + " vs expected " + fmt("%.1f", de.expected_a) +
              " reaching it) -> " +
              (std::isnan(de.p) ? std::string("undetermined")
               : de.p < 0.05 ? (de.observed_a > de.expected_a ? "faster than " : "slower than ") + rn + " (p < 0.05)"
                             : "no detectable difference from " + rn + " (p >= 0.05)") +
              "; final held-out cross-entropy " + diff_cell(dc, "%+.3f") +
              " -> " + word(dc, true) + ".\n";
    }
    md += "\nHow to read this: the intervals are not corrected for the many comparisons above, and they cover training "
          "randomness only (fixed split); an effect seen in one session or one metric only is exploratory. Accuracy on "
          "the held-out trials is what the claim is about; if the brain-taught rows do not beat the baseline there, the "
          "brain term did not help on this data.\n";
    double mean_target = 0, mean_majority = 0;
    for (const auto& d : data) mean_target += d.target / double(data.size()), mean_majority += d.majority_acc / double(data.size());
    md += "\nReference: the best contrast-only rule reaches " + fmt("%.3f", mean_target) +
          " held-out accuracy on average over the sessions (majority rule " + fmt("%.3f", mean_majority) + ").\n";
    for (const auto& d : data)
        study::record_note(d.name + ": " + std::to_string(d.trials) + " trials (" + std::to_string(d.n_train) + " train / " +
                           std::to_string(d.n_test) + " held out), " + std::to_string(d.neurons) + " neurons");
    md += "\n" + study::data_section(data_dir);
    md += std::string(study::reproducibility_note()) + "\n";

    const std::string md_path = out_dir + "/steinmetz_decision.md";
    report::write_file_atomically(md_path, md);

    // Learning curves: pooled, and per session.
    {
        report::svg_plot p({.title = "Steinmetz sessions 1-3: held-out outcome accuracy (" + std::to_string(sessions.size() * n_seeds) +
                                     " session x seed runs)",
                            .x_label = "epoch", .y_label = "held-out accuracy (mean, 95% CI)"});
        for (std::size_t c = 0; c < names.size(); ++c) {
            std::vector<const std::vector<double>*> curves;
            for (const auto& rs : results)
                for (const auto& a : rs[c].curves.accuracy) curves.push_back(&a);
            p.add(mean_curve(names[c], curves));
        }
        report::series ref;
        ref.name = "best contrast-only rule (mean target)";
        const double tgt = (data[0].target + data[1].target + data[2].target) / 3.0;
        for (std::size_t e = 1; e <= epochs; ++e) {
            ref.x.push_back(double(e));
            ref.y.push_back(tgt);
        }
        p.add(ref);
        p.write(out_dir + "/steinmetz_decision.svg");
    }
    {
        report::svg_plot p({.title = "Steinmetz sessions 1-3: held-out cross-entropy (" + std::to_string(sessions.size() * n_seeds) +
                                     " session x seed runs)",
                            .x_label = "epoch", .y_label = "held-out cross-entropy, nats (mean, 95% CI)"});
        for (std::size_t c = 0; c < names.size(); ++c) {
            std::vector<const std::vector<double>*> curves;
            for (const auto& rs : results)
                for (const auto& a : rs[c].ce) curves.push_back(&a);
            p.add(mean_curve(names[c], curves));
        }
        report::series ref;
        ref.name = "base-rate rule (mean over sessions)";
        const double v = (data[0].base_logloss + data[1].base_logloss + data[2].base_logloss) / 3.0;
        for (std::size_t e = 1; e <= epochs; ++e) {
            ref.x.push_back(double(e));
            ref.y.push_back(v);
        }
        p.add(ref);
        p.write(out_dir + "/steinmetz_decision_ce.svg");
    }
    for (std::size_t s = 0; s < sessions.size(); ++s) {
        report::svg_plot p({.title = "Steinmetz " + sessions[s] + ": held-out outcome accuracy (" + std::to_string(n_seeds) + " seeds)",
                            .x_label = "epoch", .y_label = "held-out accuracy (mean, 95% CI)"});
        for (std::size_t c = 0; c < names.size(); ++c) {
            std::vector<const std::vector<double>*> curves;
            for (const auto& a : results[s][c].curves.accuracy) curves.push_back(&a);
            p.add(mean_curve(names[c], curves));
        }
        report::series ref;
        ref.name = "best contrast-only rule (target)";
        for (std::size_t e = 1; e <= epochs; ++e) {
            ref.x.push_back(double(e));
            ref.y.push_back(data[s].target);
        }
        p.add(ref);
        p.write(out_dir + "/steinmetz_decision_" + sessions[s] + ".svg");
    }

    std::printf("\n%s\n", md.c_str());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("wrote %s and learning curves (%.1f s)\n", md_path.c_str(), secs);

    bool ok = true;
    for (const auto& rs : results)
        for (const auto& r : rs)
            for (const auto& c : r.ce)
                for (double v : c) ok = ok && std::isfinite(v) && v >= 0;
    for (const auto& rs : results)
        for (const auto& r : rs) ok = ok && all_finite_in_unit(r) && r.curves.accuracy.size() == n_seeds &&
                                     r.curves.accuracy.front().size() == epochs;
    for (std::size_t c = 1; c < names.size(); ++c)
        for (double v : pooled[c].final_brain_term) ok = ok && std::isfinite(v);
    if (!ok) {
        std::fprintf(stderr, "pipeline check failed: non-finite loss or accuracy outside [0, 1]\n");
        return 1;
    }
    return 0;
}

int main(int argc, char** argv) {
    try {
        return run_study(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "study_steinmetz_decision failed: %s\n", e.what());
        return 1;
    }
}
