// b2m/report/rsa_plots.hpp - RSA pictures as standalone SVG documents (strings; write them
// with report::write_file_atomically): an RDM heat map (optionally rank-transformed), the
// classical MDS of an RDM, and the model-comparison bar chart with the noise-ceiling band
// and pairwise-test brackets (the layout of rsatoolbox's plot_model_comparison).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "b2m/brain/linalg.hpp"
#include "b2m/brain/rsa.hpp"
#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/report/svg_plot.hpp"

namespace b2m::report {

namespace detail {
inline std::string num(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f", v);
    return b;
}
/// A perceptually ordered blue-white-red-ish ramp (viridis-like endpoints), t in [0, 1].
inline std::string ramp(double t) {
    t = std::clamp(t, 0.0, 1.0);
    static const double c[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    const double x = t * 4;
    const int i = std::min(3, int(x));
    const double f = x - i;
    char b[16];
    std::snprintf(b, sizeof b, "#%02x%02x%02x", int(c[i][0] + f * (c[i + 1][0] - c[i][0])),
                  int(c[i][1] + f * (c[i + 1][1] - c[i][1])), int(c[i][2] + f * (c[i + 1][2] - c[i][2])));
    return b;
}
} // namespace detail

/// Options of the RDM heat map.
struct rdm_plot_options {
    std::string title;  ///< drawn above the map (escaped)
    bool rank = false;  ///< colour by rank percentile of the off-diagonal entries
    int size = 520;     ///< width and height of the SVG in pixels
};

/// Heat map of a square RDM (NaN cells grey). rank: colours are percentiles of the
/// tie-averaged ranks of the pairs i < j (rsatoolbox's show_rdm(rank transform)).
/// Requires a square matrix >= 2 x 2.
inline std::string rdm_heatmap_svg(const matrix<double>& rdm, const rdm_plot_options& o = {}) {
    const std::size_t n = rdm.shape(0);
    if (n < 2 || rdm.shape(1) != n) throw shape_error("rdm_heatmap_svg: RDM has shape " + shape_string(rdm.shape()) + " (need square >= 2)");
    matrix<double> v = rdm;
    std::vector<double> off;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i + 1; j < n; ++j)
            if (!std::isnan(rdm(i, j))) off.push_back(rdm(i, j));
    double lo = 0, hi = 1;
    if (o.rank && !off.empty()) {
        const auto r = brain::rank_average(off);
        std::size_t q = 0;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = i + 1; j < n; ++j)
                if (!std::isnan(rdm(i, j))) v(i, j) = v(j, i) = (r[q++] - 1) / std::max<double>(1, double(off.size()) - 1);
    } else if (!off.empty()) {
        lo = std::min(0.0, *std::min_element(off.begin(), off.end()));
        hi = *std::max_element(off.begin(), off.end());
        if (hi <= lo) hi = lo + 1;
    }
    const int margin = 40, bar = 70;
    const double cell = double(o.size - 2 * margin) / double(n);
    std::ostringstream s;
    s << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << o.size + bar
      << "\" height=\"" << o.size << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    s << "<text x=\"" << margin << "\" y=\"24\" font-size=\"14\">" << xml_escape(o.title) << "</text>\n";
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            const double x = v(i, j);
            const std::string col = std::isnan(x) ? "#bbbbbb" : i == j ? detail::ramp(0) : detail::ramp((x - lo) / (hi - lo));
            s << "<rect x=\"" << detail::num(margin + cell * double(j)) << "\" y=\"" << detail::num(margin + cell * double(i))
              << "\" width=\"" << detail::num(cell + 0.05) << "\" height=\"" << detail::num(cell + 0.05) << "\" fill=\"" << col << "\"/>\n";
        }
    const int bx = o.size - margin + 20, bh = o.size - 2 * margin;
    for (int k = 0; k < 50; ++k)
        s << "<rect x=\"" << bx << "\" y=\"" << detail::num(margin + bh * (49 - k) / 50.0) << "\" width=\"16\" height=\""
          << detail::num(bh / 50.0 + 0.5) << "\" fill=\"" << detail::ramp(k / 49.0) << "\"/>\n";
    s << "<text x=\"" << bx + 20 << "\" y=\"" << margin + 10 << "\">" << (o.rank ? "100%" : detail::num(hi)) << "</text>\n";
    s << "<text x=\"" << bx + 20 << "\" y=\"" << o.size - margin << "\">" << (o.rank ? "0%" : detail::num(lo)) << "</text>\n";
    s << "<text x=\"" << bx - 4 << "\" y=\"" << margin - 8 << "\">" << (o.rank ? "rank" : "dissimilarity") << "</text>\n";
    s << "</svg>\n";
    return s.str();
}

/// Classical (Torgerson) MDS: the 2-D coordinates (N, 2) from the top two eigenvectors of
/// -1/2 J D^2 J scaled by sqrt(eigenvalue) (negative eigenvalues clipped to 0). NaN entries
/// are replaced by the mean dissimilarity. Requires a square matrix >= 3 x 3.
inline matrix<double> classical_mds(const matrix<double>& rdm) {
    const std::size_t n = rdm.shape(0);
    if (n < 3 || rdm.shape(1) != n) throw shape_error("classical_mds: RDM has shape " + shape_string(rdm.shape()) + " (need square >= 3)");
    double mean = 0;
    std::size_t cnt = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j)
            if (i != j && !std::isnan(rdm(i, j))) mean += rdm(i, j), ++cnt;
    mean = cnt ? mean / double(cnt) : 0;
    matrix<double> b = xt::empty<double>({n, n});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            const double d = i == j ? 0 : std::isnan(rdm(i, j)) ? mean : rdm(i, j);
            b(i, j) = -0.5 * d * d;
        }
    std::vector<double> rm(n, 0.0);
    double gm = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) rm[i] += b(i, j) / double(n), gm += b(i, j) / double(n * n);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) b(i, j) = b(i, j) - rm[i] - rm[j] + gm;
    auto [w, v] = brain::checked_eigh(b, "MDS: the double-centred squared dissimilarities");  // ascending
    matrix<double> x = xt::empty<double>({n, std::size_t(2)});
    for (std::size_t c = 0; c < 2; ++c) {
        const std::size_t k = n - 1 - c;
        const double s = std::sqrt(std::max(0.0, double(w(k))));
        double sign = 0;  // fix the sign: largest-magnitude coordinate positive
        for (std::size_t i = 0; i < n; ++i)
            if (std::abs(v(i, k)) > std::abs(sign)) sign = v(i, k);
        for (std::size_t i = 0; i < n; ++i) x(i, c) = v(i, k) * s * (sign < 0 ? -1 : 1);
    }
    return x;
}

/// Options of mds_svg.
struct mds_plot_options {
    std::string title;                ///< drawn above the scatter (escaped)
    std::vector<std::string> labels;  ///< optional, one per condition (drawn next to points)
    std::vector<int> groups;          ///< optional, colour index per condition
    int size = 520;                   ///< width and height of the SVG in pixels
};

/// Scatter of classical_mds(rdm).
inline std::string mds_svg(const matrix<double>& rdm, const mds_plot_options& o = {}) {
    const auto x = classical_mds(rdm);
    const std::size_t n = x.shape(0);
    double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
    for (std::size_t i = 0; i < n; ++i)
        x0 = std::min(x0, x(i, 0)), x1 = std::max(x1, x(i, 0)), y0 = std::min(y0, x(i, 1)), y1 = std::max(y1, x(i, 1));
    const double span = std::max({x1 - x0, y1 - y0, 1e-12});
    const int margin = 40;
    const double sc = double(o.size - 2 * margin) / span;
    static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
    std::ostringstream s;
    s << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << o.size << "\" height=\""
      << o.size << "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    s << "<text x=\"" << margin << "\" y=\"24\" font-size=\"14\">" << xml_escape(o.title) << "</text>\n";
    for (std::size_t i = 0; i < n; ++i) {
        const double px = margin + (x(i, 0) - x0) * sc, py = o.size - margin - (x(i, 1) - y0) * sc;
        const int g = i < o.groups.size() ? o.groups[i] : 0;
        s << "<circle cx=\"" << detail::num(px) << "\" cy=\"" << detail::num(py) << "\" r=\"4\" fill=\"" << colors[std::abs(g) % 6] << "\"/>\n";
        if (i < o.labels.size())
            s << "<text x=\"" << detail::num(px + 5) << "\" y=\"" << detail::num(py - 5) << "\">" << xml_escape(o.labels[i]) << "</text>\n";
    }
    s << "<text x=\"" << o.size / 2 - 30 << "\" y=\"" << o.size - 10 << "\">dimension 1</text>\n";
    s << "<text x=\"12\" y=\"" << o.size / 2 << "\" transform=\"rotate(-90 12 " << o.size / 2 << ")\">dimension 2</text>\n";
    s << "</svg>\n";
    return s.str();
}

/// The model-comparison bar chart: one bar per model (value with [low, high] error bar), the
/// noise ceiling as a grey band from nc_lower to nc_upper, and a bracket above each pair in
/// `brackets` (e.g. pairs whose difference is significant after correction).
struct model_bars {
    ///@{
    /// the chart's title, the vertical axis label, and a note explaining the brackets
    std::string title, y_label = "RDM correlation", bracket_note;
    ///@}
    std::vector<std::string> names; ///< one per model, in bar order
    ///@{
    /// per model: the bar's value and its error bar's lower and upper end
    std::vector<double> value, low, high;
    ///@}
    ///@{
    /// the noise ceiling's lower and upper bound (NaN: no band)
    double nc_lower = std::numeric_limits<double>::quiet_NaN(), nc_upper = std::numeric_limits<double>::quiet_NaN();
    ///@}
    std::vector<std::pair<std::size_t, std::size_t>> brackets; ///< pairs of model indices to bracket
    ///@{
    /// the SVG's width and height in pixels
    int width = 720, height = 480;
    ///@}
};

/// Requires names, value, low, high of equal length >= 1 (shape_error).
inline std::string model_bars_svg(const model_bars& m) {
    const std::size_t k = m.names.size();
    if (k == 0 || m.value.size() != k || m.low.size() != k || m.high.size() != k)
        throw shape_error("model_bars_svg: names, value, low, high must have the same length >= 1");
    for (auto [a, b] : m.brackets)
        if (a >= k || b >= k) throw shape_error("model_bars_svg: bracket refers to model " + std::to_string(std::max(a, b)));
    double top = 0, bottom = 0;
    for (std::size_t i = 0; i < k; ++i) {
        for (double v : {m.value[i], m.low[i], m.high[i]})
            if (std::isfinite(v)) top = std::max(top, v), bottom = std::min(bottom, v);
    }
    if (std::isfinite(m.nc_upper)) top = std::max(top, m.nc_upper);
    if (std::isfinite(m.nc_lower)) bottom = std::min(bottom, m.nc_lower);
    const double unit = std::max(top - bottom, 1e-9);
    const double bracket_step = 0.07 * unit;
    const double ymax = top + bracket_step * double(m.brackets.size() + 1), ymin = bottom;
    const int l = 70, r = 20, t = 50, b = 90;
    const double pw = m.width - l - r, ph = m.height - t - b;
    auto Y = [&](double v) { return t + ph * (ymax - v) / (ymax - ymin); };
    const double slot = pw / double(k);
    auto X = [&](std::size_t i) { return l + slot * (double(i) + 0.5); };
    std::ostringstream s;
    s << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << m.width << "\" height=\""
      << m.height << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    s << "<text x=\"" << l << "\" y=\"24\" font-size=\"14\">" << xml_escape(m.title) << "</text>\n";
    if (std::isfinite(m.nc_lower) && std::isfinite(m.nc_upper))
        s << "<rect x=\"" << l << "\" y=\"" << detail::num(Y(m.nc_upper)) << "\" width=\"" << detail::num(pw) << "\" height=\""
          << detail::num(std::max(1.0, Y(m.nc_lower) - Y(m.nc_upper))) << "\" fill=\"#cccccc\" opacity=\"0.7\"><title>noise ceiling "
          << detail::num(m.nc_lower) << " to " << detail::num(m.nc_upper) << "</title></rect>\n"
          << "<text x=\"" << m.width - r - 4 << "\" y=\"" << detail::num(Y(m.nc_upper) - 4) << "\" text-anchor=\"end\" fill=\"#555\">noise ceiling</text>\n";
    // axis and ticks
    s << "<line x1=\"" << l << "\" y1=\"" << t << "\" x2=\"" << l << "\" y2=\"" << t + ph << "\" stroke=\"black\"/>\n";
    s << "<line x1=\"" << l << "\" y1=\"" << detail::num(Y(0)) << "\" x2=\"" << l + pw << "\" y2=\"" << detail::num(Y(0)) << "\" stroke=\"black\"/>\n";
    const double step = std::pow(10.0, std::floor(std::log10(unit / 2)));
    const double tick = unit / step > 10 ? 5 * step : unit / step > 4 ? 2 * step : step;
    for (double v = std::ceil(ymin / tick) * tick; v <= top + 1e-12; v += tick)
        s << "<line x1=\"" << l - 5 << "\" y1=\"" << detail::num(Y(v)) << "\" x2=\"" << l << "\" y2=\"" << detail::num(Y(v))
          << "\" stroke=\"black\"/><text x=\"" << l - 8 << "\" y=\"" << detail::num(Y(v) + 4) << "\" text-anchor=\"end\">" << detail::num(v)
          << "</text>\n";
    s << "<text x=\"16\" y=\"" << t + ph / 2 << "\" transform=\"rotate(-90 16 " << t + ph / 2 << ")\" text-anchor=\"middle\">"
      << xml_escape(m.y_label) << "</text>\n";
    for (std::size_t i = 0; i < k; ++i) {
        const double bw = slot * 0.6, x = X(i);
        const double y0 = Y(0), y1 = Y(m.value[i]);
        s << "<rect x=\"" << detail::num(x - bw / 2) << "\" y=\"" << detail::num(std::min(y0, y1)) << "\" width=\"" << detail::num(bw)
          << "\" height=\"" << detail::num(std::abs(y1 - y0)) << "\" fill=\"#1f77b4\"><title>" << xml_escape(m.names[i]) << ": "
          << m.value[i] << "</title></rect>\n";
        if (std::isfinite(m.low[i]) && std::isfinite(m.high[i]))
            s << "<line x1=\"" << detail::num(x) << "\" y1=\"" << detail::num(Y(m.low[i])) << "\" x2=\"" << detail::num(x) << "\" y2=\""
              << detail::num(Y(m.high[i])) << "\" stroke=\"black\" stroke-width=\"1.5\"/>\n";
        s << "<text x=\"" << detail::num(x) << "\" y=\"" << t + ph + 18 << "\" text-anchor=\"middle\">" << xml_escape(m.names[i]) << "</text>\n";
    }
    for (std::size_t q = 0; q < m.brackets.size(); ++q) {
        const auto [a, c] = m.brackets[q];
        const double y = Y(top + bracket_step * double(q + 1));
        s << "<path d=\"M" << detail::num(X(a)) << "," << detail::num(y + 6) << " V" << detail::num(y) << " H" << detail::num(X(c))
          << " V" << detail::num(y + 6) << "\" fill=\"none\" stroke=\"black\"/>\n";
    }
    if (!m.bracket_note.empty())
        s << "<text x=\"" << l << "\" y=\"" << m.height - 12 << "\" fill=\"#555\">" << xml_escape(m.bracket_note) << "</text>\n";
    s << "</svg>\n";
    return s.str();
}

} // namespace b2m::report
