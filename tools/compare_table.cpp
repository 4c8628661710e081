// tools/compare_table.cpp - definitions of tools/compare_table.hpp.
#include "compare_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace b2m::cli {

namespace {

std::string fmt(const char* f, double a) {
    char b[64];
    std::snprintf(b, sizeof b, f, a);
    return b;
}

/// "12.3, range 9-15 (4 of 5 seeds)" / "9 (1 of 5 seeds)" / "never (0 of 5 seeds)".
std::string epochs_cell(const std::vector<double>& per_seed) {
    std::vector<double> hit;
    for (double e : per_seed)
        if (std::isfinite(e)) hit.push_back(e);
    const std::string of = std::to_string(hit.size()) + " of " + std::to_string(per_seed.size()) + " seeds";
    if (hit.empty()) return "never (" + of + ")";
    const auto [lo, hi] = std::minmax_element(hit.begin(), hit.end());
    double m = 0;
    for (double e : hit) m += e;
    m /= double(hit.size());
    if (hit.size() == 1) return fmt("%.0f", m) + " (" + of + ")";
    return fmt("%.1f", m) + ", range " + fmt("%.0f", *lo) + "-" + fmt("%.0f", *hi) + " (" + of + ")";
}

/// "0.812 [0.790, 0.834]" / "0.812 (one seed: no interval)".
std::string mean_ci_cell(const report::summary& s, const char* ff) {
    if (s.n == 0) return "cannot be computed (no finite values)";
    std::string r = fmt(ff, s.mean);
    if (s.n < 2 || !std::isfinite(s.ci95)) return r + " (" + std::to_string(s.n) + " value" + (s.n == 1 ? "" : "s") + ": no interval)";
    return r + " [" + fmt(ff, s.low()) + ", " + fmt(ff, s.high()) + "]";
}

std::string effect(const report::paired_comparison& p) {
    if (!std::isfinite(p.effect_size)) return p.difference.n < 2 ? "" : ", d_z undefined (no spread)";
    return ", d_z " + fmt("%.2f", p.effect_size);
}

} // namespace

std::string compare_table(const report::comparison& c, std::size_t epochs) {
    std::string out;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "| condition (difference: brain-taught - baseline) | epochs to %.2f held-out accuracy: mean, range (seeds that reached it) | final held-out accuracy, mean [95%% CI] |\n",
                  c.target);
    out += buf;
    out += "| --- | --- | --- |\n";
    out += "| " + c.treatment_name + " | " + epochs_cell(c.treatment_epochs) + " | " + mean_ci_cell(c.treatment_final_summary, "%.3f") + " |\n";
    out += "| " + c.baseline_name + " | " + epochs_cell(c.baseline_epochs) + " | " + mean_ci_cell(c.baseline_final_summary, "%.3f") + " |\n";
    bool any_never = false, any_hit = false;
    for (const auto* v : {&c.treatment_epochs, &c.baseline_epochs})
        for (double e : *v) (std::isfinite(e) ? any_hit : any_never) = true;
    std::string epochs_diff;
    if (!any_hit) epochs_diff = "cannot be computed (no seed reached the target)";
    else {
        epochs_diff = mean_ci_cell(c.epochs_difference.difference, "%+.1f") + effect(c.epochs_difference);
        if (any_never) epochs_diff += "; a seed that never reached it counts as " + std::to_string(epochs + 1) + " epochs";
    }
    out += "| difference (paired by seed) | " + epochs_diff + " | " +
           mean_ci_cell(c.final_difference.difference, "%+.3f") + effect(c.final_difference) + " |\n";
    return out;
}

std::string compare_verdict(const report::comparison& c, std::size_t epochs, std::size_t seeds) {
    auto hits = [](const std::vector<double>& v) {
        std::size_t k = 0;
        for (double e : v) k += std::isfinite(e);
        return k;
    };
    const std::size_t ht = hits(c.treatment_epochs), hb = hits(c.baseline_epochs);
    char buf[400];
    std::snprintf(buf, sizeof buf, "target %.2f held-out accuracy reached by %zu of %zu brain-taught and %zu of %zu baseline seeds", c.target,
                  ht, seeds, hb, seeds);
    std::string v = buf;
    if (ht + hb == 0) return v + "; try a lower --target or more --epochs";
    const auto& d = c.epochs_difference.difference;
    if (d.n == 0) return v;
    const bool floor = ht < seeds || hb < seeds;
    std::snprintf(buf, sizeof buf, "; paired by seed%s, the brain-taught student needed %.1f epochs %s on average", 
                  floor ? (" (never = " + std::to_string(epochs + 1) + " epochs, a floor)").c_str() : "", std::abs(d.mean),
                  d.mean < 0 ? "fewer" : "more");
    if (d.mean == 0) return v + "; paired by seed, both needed the same number of epochs on average";
    v += buf;
    if (d.n < 2 || !std::isfinite(d.ci95)) v += " (one seed: no confidence interval)";
    else if (d.low() <= 0 && d.high() >= 0) v += " (95% CI includes 0: no clear difference)";
    return v;
}

std::string curves_csv(const report::condition& a, const report::condition& b) {
    std::string out = "condition,seed,epoch,held_out_accuracy,train_loss\r\n";
    auto quote = [](const std::string& s) {
        std::string q = "\"";
        for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        return q + "\"";
    };
    char buf[96];
    for (const report::condition* k : {&a, &b})
        for (std::size_t s = 0; s < k->accuracy.size(); ++s)
            for (std::size_t e = 0; e < k->accuracy[s].size(); ++e) {
                const double loss = s < k->loss.size() && e < k->loss[s].size() ? k->loss[s][e] : NAN;
                std::snprintf(buf, sizeof buf, ",%llu,%zu,%.17g,%.17g\r\n", static_cast<unsigned long long>(k->seeds[s]), e + 1,
                              k->accuracy[s][e], loss);
                out += quote(k->name) + buf;
            }
    return out;
}

} // namespace b2m::cli
