// b2m/report/seed_comparison.hpp - brain-taught vs baseline over several seeds: learning
// curves, epochs to a target accuracy, final held-out accuracy, paired differences with
// 95% confidence intervals, a text table and an SVG plot.
//
//   auto taught = report::run_condition("brain-taught", seeds, [&](std::uint64_t s) { return fit(...); });
//   auto base   = report::run_condition("baseline", seeds, [&](std::uint64_t s) { return fit(...); });
//   auto cmp = report::compare(taught, base, 0.8);   // target accuracy 0.8
//   std::cout << report::format(cmp);
//   report::learning_curves(taught, base).write("curves.svg");
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "b2m/report/censored.hpp"
#include "b2m/report/stats.hpp"
#include "b2m/report/svg_plot.hpp"
#include "b2m/train/fit.hpp"

namespace b2m::report {

/// One condition's per-seed curves (rows: seeds, columns: epochs).
struct condition {
    std::string name;                 ///< the condition's label in tables and plots
    std::vector<std::uint64_t> seeds; ///< the seeds run, in row order
    std::vector<std::vector<double>> accuracy;  ///< held-out accuracy per epoch
    std::vector<std::vector<double>> loss;      ///< training total per epoch
};

/// Runs fit_for_seed(seed) -> train::fit_report for each seed and collects its curves.
/// Requires the reports to carry validation accuracy (validation data with labels).
template <class FitForSeed>
condition run_condition(std::string name, const std::vector<std::uint64_t>& seeds, FitForSeed&& fit_for_seed) {
    condition c{std::move(name), seeds, {}, {}};
    for (auto s : seeds) {
        const train::fit_report r = fit_for_seed(s);
        std::vector<double> acc, loss;
        for (const auto& e : r.epochs) {
            acc.push_back(e.val_accuracy);
            loss.push_back(e.train_total);
        }
        c.accuracy.push_back(std::move(acc));
        c.loss.push_back(std::move(loss));
    }
    return c;
}

/// What compare() measured for a treatment against a baseline (per-seed values and their summaries).
struct comparison {
    ///@{
    /// the two conditions' names
    std::string treatment_name, baseline_name;
    ///@}
    double target = 0; ///< the accuracy whose first epoch is counted
    ///@{
    std::vector<double> treatment_epochs, baseline_epochs;  ///< epochs to target per seed (inf: never)
    ///@}
    ///@{
    std::vector<double> treatment_final, baseline_final;    ///< final accuracy per seed
    ///@}
    ///@{
    /// summaries of the four vectors above (epochs: seeds that reached the target; accuracy clipped to [0, 1])
    summary treatment_epochs_summary, baseline_epochs_summary, treatment_final_summary, baseline_final_summary;
    ///@}
    ///@{
    km_summary treatment_epochs_km, baseline_epochs_km;  ///< censored-data summaries (every seed counts)
    ///@}
    logrank_result epochs_test;                          ///< log-rank: treatment vs baseline epochs to target
    ///@{
    paired_comparison epochs_difference, final_difference;  ///< treatment - baseline
    ///@}
    std::size_t comparisons = 2;  ///< tests behind the verdict (epochs: log-rank; final accuracy: paired t)
};

/// Epochs to `target` accuracy and final accuracy of both conditions, paired by seed.
/// Seeds that never reach the target are right-censored: each condition's epochs are
/// summarised by the Kaplan-Meier median with counts, the conditions compared by a
/// log-rank test; the paired epoch difference uses only seeds where both reached the
/// target (the others are counted in epochs_difference.difference.missing, never given
/// an invented value). Accuracy intervals are clipped to [0, 1] (differences to [-1, 1]).
inline comparison compare(const condition& treatment, const condition& baseline, double target) {
    comparison c;
    c.treatment_name = treatment.name;
    c.baseline_name = baseline.name;
    c.target = target;
    auto collect = [&](const condition& k, std::vector<double>& epochs, std::vector<double>& final) {
        for (const auto& curve : k.accuracy) {
            epochs.push_back(epochs_to_target(curve, target));
            final.push_back(curve.empty() ? NAN : curve.back());
        }
    };
    collect(treatment, c.treatment_epochs, c.treatment_final);
    collect(baseline, c.baseline_epochs, c.baseline_final);
    c.treatment_epochs_summary = summarize(c.treatment_epochs);
    c.baseline_epochs_summary = summarize(c.baseline_epochs);
    c.treatment_final_summary = summarize_within(c.treatment_final, 0.0, 1.0);
    c.baseline_final_summary = summarize_within(c.baseline_final, 0.0, 1.0);
    c.treatment_epochs_km = kaplan_meier(c.treatment_epochs);
    c.baseline_epochs_km = kaplan_meier(c.baseline_epochs);
    c.epochs_test = logrank(c.treatment_epochs, c.baseline_epochs);
    c.epochs_difference = compare_paired(c.treatment_epochs, c.baseline_epochs);
    c.final_difference = compare_paired(c.treatment_final, c.baseline_final);
    c.final_difference.difference.lower_limit = -1.0, c.final_difference.difference.upper_limit = 1.0;
    return c;
}

/// A plain-text table of the comparison (markdown-compatible).
inline std::string format(const comparison& c) {
    char buf[512];
    std::string out;
    auto cell = [&](const summary& s, const char* fmt) {
        char b[96];
        if (s.n == 0) return std::string("never");
        std::snprintf(b, sizeof b, fmt, s.mean, s.low(), s.high());
        std::string r = b;
        if (s.missing) r += " (" + std::to_string(s.missing) + " never)";
        return r;
    };
    auto km = [&](const km_summary& k) {
        char b[96];
        if (std::isnan(k.median)) std::snprintf(b, sizeof b, "median not reached");
        else std::snprintf(b, sizeof b, "median %.0f", k.median);
        return std::string(b) + " (reached " + std::to_string(k.events) + "/" + std::to_string(k.n) + ")";
    };
    auto dz = [](const paired_comparison& p) {
        char b[48];
        if (p.constant_difference) return std::string("every difference equal, d_z undefined");
        std::snprintf(b, sizeof b, "d_z %.2f", p.effect_size);
        return std::string(b);
    };
    std::snprintf(buf, sizeof buf,
                  "| condition | epochs to %.2f accuracy, Kaplan-Meier | final held-out accuracy, mean [95%% CI] |\n", c.target);
    out += buf;
    out += "| --- | --- | --- |\n";
    out += "| " + c.treatment_name + " | " + km(c.treatment_epochs_km) + " | " + cell(c.treatment_final_summary, "%.3f [%.3f, %.3f]") +
           " |\n";
    out += "| " + c.baseline_name + " | " + km(c.baseline_epochs_km) + " | " + cell(c.baseline_final_summary, "%.3f [%.3f, %.3f]") +
           " |\n";
    const auto& e = c.epochs_difference.difference;
    std::string epochs_cell;
    if (std::isnan(c.epochs_test.p)) epochs_cell = "log-rank undefined (no seed reached the target)";
    else {
        std::snprintf(buf, sizeof buf, "log-rank chi2 %.2f, p %.3g", c.epochs_test.chi2, c.epochs_test.p);
        epochs_cell = buf;
    }
    if (e.n >= 2) {
        std::snprintf(buf, sizeof buf, "; %zu seeds reached in both: %+.1f [%+.1f, %+.1f], ", e.n, e.mean, e.low(), e.high());
        epochs_cell += buf + dz(c.epochs_difference);
    }
    const auto& f = c.final_difference.difference;
    std::snprintf(buf, sizeof buf, "%+.3f [%+.3f, %+.3f], ", f.mean, f.low(), f.high());
    out += "| difference (paired by seed) | " + epochs_cell + " | " + buf + dz(c.final_difference) + " |\n";
    out += "\n" + std::to_string(c.comparisons) +
           " comparisons behind this table (epochs to target: log-rank; final accuracy: paired t over seeds); "
           "no correction for multiple comparisons.\n";
    return out;
}

/// Mean held-out accuracy per epoch of each condition with its 95% CI band.
inline svg_plot learning_curves(const condition& a, const condition& b, std::string title = "Held-out accuracy over seeds") {
    svg_plot p({.title = std::move(title), .x_label = "epoch", .y_label = "held-out accuracy (mean, 95% CI)"});
    for (const condition* k : {&a, &b}) {
        series s;
        s.name = k->name;
        const std::size_t epochs = k->accuracy.empty() ? 0 : k->accuracy.front().size();
        for (std::size_t e = 0; e < epochs; ++e) {
            std::vector<double> at;
            for (const auto& curve : k->accuracy)
                if (e < curve.size()) at.push_back(curve[e]);
            const auto st = summarize_within(at, 0.0, 1.0);
            s.x.push_back(double(e + 1));
            s.y.push_back(st.mean);
            s.low.push_back(std::isnan(st.ci95) ? st.mean : st.low());
            s.high.push_back(std::isnan(st.ci95) ? st.mean : st.high());
        }
        p.add(std::move(s));
    }
    return p;
}

} // namespace b2m::report
