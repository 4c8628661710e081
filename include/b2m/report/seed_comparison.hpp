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

#include "b2m/report/stats.hpp"
#include "b2m/report/svg_plot.hpp"
#include "b2m/train/fit.hpp"

namespace b2m::report {

/// One condition's per-seed curves (rows: seeds, columns: epochs).
struct condition {
    std::string name;
    std::vector<std::uint64_t> seeds;
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

struct comparison {
    std::string treatment_name, baseline_name;
    double target = 0;
    std::vector<double> treatment_epochs, baseline_epochs;  ///< epochs to target per seed (inf: never)
    std::vector<double> treatment_final, baseline_final;    ///< final accuracy per seed
    summary treatment_epochs_summary, baseline_epochs_summary, treatment_final_summary, baseline_final_summary;
    paired_comparison epochs_difference, final_difference;  ///< treatment - baseline
};

/// Epochs to `target` accuracy and final accuracy of both conditions, paired by seed.
/// A seed that never reaches the target counts max_epochs + 1 in the paired difference
/// (a conservative floor) and is reported as missing in the per-condition summaries.
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
    c.treatment_final_summary = summarize(c.treatment_final);
    c.baseline_final_summary = summarize(c.baseline_final);
    auto floor_never = [](std::vector<double> v, const condition& k) {
        const double cap = k.accuracy.empty() ? 0 : double(k.accuracy.front().size() + 1);
        for (auto& x : v)
            if (std::isinf(x)) x = cap;
        return v;
    };
    c.epochs_difference = compare_paired(floor_never(c.treatment_epochs, treatment), floor_never(c.baseline_epochs, baseline));
    c.final_difference = compare_paired(c.treatment_final, c.baseline_final);
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
    std::snprintf(buf, sizeof buf, "| condition | epochs to %.2f accuracy, mean [95%% CI] | final held-out accuracy, mean [95%% CI] |\n",
                  c.target);
    out += buf;
    out += "| --- | --- | --- |\n";
    out += "| " + c.treatment_name + " | " + cell(c.treatment_epochs_summary, "%.1f [%.1f, %.1f]") + " | " +
           cell(c.treatment_final_summary, "%.3f [%.3f, %.3f]") + " |\n";
    out += "| " + c.baseline_name + " | " + cell(c.baseline_epochs_summary, "%.1f [%.1f, %.1f]") + " | " +
           cell(c.baseline_final_summary, "%.3f [%.3f, %.3f]") + " |\n";
    std::snprintf(buf, sizeof buf,
                  "| difference (paired by seed) | %+.1f [%+.1f, %+.1f], d_z %.2f | %+.3f [%+.3f, %+.3f], d_z %.2f |\n",
                  c.epochs_difference.difference.mean, c.epochs_difference.difference.low(),
                  c.epochs_difference.difference.high(), c.epochs_difference.effect_size, c.final_difference.difference.mean,
                  c.final_difference.difference.low(), c.final_difference.difference.high(), c.final_difference.effect_size);
    out += buf;
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
            const auto st = summarize(at);
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
