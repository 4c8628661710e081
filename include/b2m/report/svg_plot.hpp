// b2m/report/svg_plot.hpp - line plots with confidence bands as standalone SVG files.
//
//   report::svg_plot p({.title = "Held-out accuracy", .x_label = "epoch", .y_label = "accuracy"});
//   p.add({.name = "brain-taught", .x = epochs, .y = mean, .low = lo, .high = hi});
//   p.write("curves.svg");   // atomically (temp file + rename)
//
// The output is well-formed XML (text escaped), with labelled axes, ticks and a legend.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "b2m/core/atomic_write.hpp"
#include "b2m/core/error.hpp"

namespace b2m::report {

/// Labels and size of an svg_plot.
struct plot_options {
    std::string title;          ///< drawn above the plot (escaped)
    std::string x_label = "x";  ///< the horizontal axis label
    std::string y_label = "y";  ///< the vertical axis label
    ///@{
    /// the SVG's width and height in pixels
    int width = 720, height = 440;
    ///@}
};

/// One line; low/high (same length as y, or empty) draw a shaded band.
struct series {
    std::string name; ///< the legend entry
    ///@{
    /// the points (x[i], y[i]) and the band's lower and upper edge at x[i]
    std::vector<double> x, y, low, high;
    ///@}
};

/// XML-escapes s (&, <, >, ", ').
inline std::string xml_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default: out += c;
        }
    }
    return out;
}

/// Writes `text` to path atomically (core/atomic_write.hpp); throws io_error naming path.
inline void write_file_atomically(const std::string& path, const std::string& text) {
    atomic_write(path, text, "SVG plot");
}

/// A line plot with optional shaded bands, rendered as SVG text (axes scaled to the finite data).
class svg_plot {
public:
    explicit svg_plot(plot_options o) : opt_(std::move(o)) {} ///< An empty plot with labels and size o.

    /// Adds a line. Requires x.size() == y.size() and low/high empty or of that size.
    void add(series s) {
        if (s.x.size() != s.y.size() || (!s.low.empty() && s.low.size() != s.y.size()) ||
            (!s.high.empty() && s.high.size() != s.y.size()))
            throw shape_error("svg_plot::add: series '" + s.name + "' has x, y, low, high of different lengths");
        series_.push_back(std::move(s));
    }

    /// The SVG document.
    std::string str() const {
        static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
        double x0 = inf(), x1 = -inf(), y0 = inf(), y1 = -inf();
        for (const auto& s : series_)
            for (std::size_t i = 0; i < s.x.size(); ++i) {
                grow(x0, x1, s.x[i]);
                grow(y0, y1, s.y[i]);
                if (!s.low.empty()) grow(y0, y1, s.low[i]);
                if (!s.high.empty()) grow(y0, y1, s.high[i]);
            }
        if (!(x0 < x1)) { x0 = std::isfinite(x0) ? x0 - 1 : 0; x1 = x0 + 2; }
        if (!(y0 < y1)) { y0 = std::isfinite(y0) ? y0 - 1 : 0; y1 = y0 + 2; }
        const double pad = 0.05 * (y1 - y0);
        y0 -= pad;
        y1 += pad;
        std::size_t longest = 0;
        for (const auto& s : series_) longest = std::max(longest, s.name.size());
        const double L = 70, R = std::max(120.0, 7.0 * double(longest) + 60.0), T = 40, B = 55;
        const double W = opt_.width - L - R, H = opt_.height - T - B;
        auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * W; };
        auto py = [&](double y) { return T + (1 - (y - y0) / (y1 - y0)) * H; };

        std::ostringstream o;
        o.precision(6);
        o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << opt_.width << "\" height=\"" << opt_.height
          << "\" viewBox=\"0 0 " << opt_.width << ' ' << opt_.height << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
          << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
          << "<text x=\"" << opt_.width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
          << xml_escape(opt_.title) << "</text>\n";
        // axes, ticks, grid
        o << "<g stroke=\"black\"><line x1=\"" << L << "\" y1=\"" << T + H << "\" x2=\"" << L + W << "\" y2=\"" << T + H
          << "\"/><line x1=\"" << L << "\" y1=\"" << T << "\" x2=\"" << L << "\" y2=\"" << T + H << "\"/></g>\n";
        const double xs = nice_step(x1 - x0), ys = nice_step(y1 - y0);
        for (double xv = std::ceil(x0 / xs) * xs; xv <= x1 + 1e-9 * xs; xv += xs)
            o << "<line x1=\"" << px(xv) << "\" y1=\"" << T + H << "\" x2=\"" << px(xv) << "\" y2=\"" << T + H + 5
              << "\" stroke=\"black\"/><text x=\"" << px(xv) << "\" y=\"" << T + H + 18 << "\" text-anchor=\"middle\">"
              << tick(xv) << "</text>\n";
        for (double yv = std::ceil(y0 / ys) * ys; yv <= y1 + 1e-9 * ys; yv += ys)
            o << "<line x1=\"" << L << "\" y1=\"" << py(yv) << "\" x2=\"" << L + W << "\" y2=\"" << py(yv)
              << "\" stroke=\"#dddddd\"/><text x=\"" << L - 6 << "\" y=\"" << py(yv) + 4 << "\" text-anchor=\"end\">"
              << tick(yv) << "</text>\n";
        o << "<text x=\"" << L + W / 2 << "\" y=\"" << opt_.height - 12 << "\" text-anchor=\"middle\">"
          << xml_escape(opt_.x_label) << "</text>\n"
          << "<text transform=\"translate(18," << T + H / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
          << xml_escape(opt_.y_label) << "</text>\n";
        // bands, lines, legend
        for (std::size_t k = 0; k < series_.size(); ++k) {
            const auto& s = series_[k];
            const char* c = colors[k % 6];
            if (!s.low.empty() && !s.high.empty()) {
                o << "<polygon fill=\"" << c << "\" fill-opacity=\"0.18\" stroke=\"none\" points=\"";
                for (std::size_t i = 0; i < s.x.size(); ++i) o << px(s.x[i]) << ',' << py(s.high[i]) << ' ';
                for (std::size_t i = s.x.size(); i-- > 0;) o << px(s.x[i]) << ',' << py(s.low[i]) << ' ';
                o << "\"/>\n";
            }
            o << "<polyline fill=\"none\" stroke=\"" << c << "\" stroke-width=\"2\" points=\"";
            for (std::size_t i = 0; i < s.x.size(); ++i)
                if (std::isfinite(s.y[i])) o << px(s.x[i]) << ',' << py(s.y[i]) << ' ';
            o << "\"/>\n";
            const double ly = T + 10 + 20.0 * double(k);
            o << "<line x1=\"" << L + W + 12 << "\" y1=\"" << ly << "\" x2=\"" << L + W + 36 << "\" y2=\"" << ly
              << "\" stroke=\"" << c << "\" stroke-width=\"3\"/><text x=\"" << L + W + 42 << "\" y=\"" << ly + 4
              << "\">" << xml_escape(s.name) << "</text>\n";
        }
        o << "</svg>\n";
        return o.str();
    }

    /// Writes str() to path atomically; throws b2m::io_error naming path.
    void write(const std::string& path) const { write_file_atomically(path, str()); }

private:
    static double inf() { return std::numeric_limits<double>::infinity(); }
    static void grow(double& lo, double& hi, double v) {
        if (!std::isfinite(v)) return;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    /// A round step (1, 2 or 5 times a power of ten) giving about five ticks over range.
    static double nice_step(double range) {
        const double raw = range / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
        const double f = raw / mag;
        return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
    }
    static std::string tick(double v) {
        if (std::abs(v) < 1e-12) v = 0;
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3g", v);
        return buf;
    }
    plot_options opt_;
    std::vector<series> series_;
};

} // namespace b2m::report
