// b2m/report/svg_bars.hpp - a bar chart (one bar per named value) as a standalone SVG file.
//
//   report::svg_bars({.title = "tap V4", .y_label = "score"},
//                    {{"ridge r", 0.41}, {"RSA", 0.22}, {"CKA", 0.35}}).write("V4.svg");
//
// Well-formed XML (text escaped); the value is printed above each bar; a non-finite value
// is drawn as no bar with the label "n/a". The y axis spans [min(0, values), max(y_max,
// values)] with a line at 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "b2m/report/svg_plot.hpp"

namespace b2m::report {

/// Labels and size of an svg_bars chart.
struct bar_options {
    std::string title;              ///< drawn above the chart (escaped)
    std::string y_label = "value";  ///< the vertical axis label
    double y_max = 1.0;  ///< the axis reaches at least this high
    ///@{
    /// the SVG's width and height in pixels
    int width = 560, height = 380;
    ///@}
};

/// A bar chart of (label, value) pairs as SVG text; a non-finite value gets no bar and the label "n/a".
class svg_bars {
public:
    /// One bar per pair, in order.
    svg_bars(bar_options o, std::vector<std::pair<std::string, double>> bars) : o_(std::move(o)), bars_(std::move(bars)) {}

    /// The SVG document; the axis spans 0 (or the smallest value) to max(y_max, the largest value).
    std::string str() const {
        double lo = 0, hi = o_.y_max;
        for (const auto& [n, v] : bars_)
            if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
        if (hi <= lo) hi = lo + 1;
        const double left = 70, right = 20, top = 40, bottom = 60;
        const double pw = o_.width - left - right, ph = o_.height - top - bottom;
        auto ypos = [&](double v) { return top + ph * (hi - v) / (hi - lo); };
        std::ostringstream s;
        s.precision(6);
        s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << o_.width << "\" height=\"" << o_.height
          << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
        s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
        s << "<text x=\"" << o_.width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << xml_escape(o_.title)
          << "</text>\n";
        // y axis with 5 ticks
        s << "<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << top + ph
          << "\" stroke=\"black\"/>\n";
        for (int k = 0; k <= 4; ++k) {
            const double v = lo + (hi - lo) * k / 4.0, y = ypos(v);
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.2f", v);
            s << "<line x1=\"" << left - 4 << "\" y1=\"" << y << "\" x2=\"" << left << "\" y2=\"" << y << "\" stroke=\"black\"/>"
              << "<text x=\"" << left - 7 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << buf << "</text>\n";
        }
        s << "<text transform=\"translate(16," << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
          << xml_escape(o_.y_label) << "</text>\n";
        s << "<line x1=\"" << left << "\" y1=\"" << ypos(0) << "\" x2=\"" << left + pw << "\" y2=\"" << ypos(0)
          << "\" stroke=\"black\"/>\n";
        const std::size_t n = std::max<std::size_t>(bars_.size(), 1);
        const double slot = pw / double(n), bw = slot * 0.6;
        for (std::size_t i = 0; i < bars_.size(); ++i) {
            const auto& [name, v] = bars_[i];
            const double cx = left + slot * (double(i) + 0.5);
            char buf[32];
            if (std::isfinite(v)) {
                const double y0 = ypos(std::max(0.0, v)), y1 = ypos(std::min(0.0, v));
                s << "<rect x=\"" << cx - bw / 2 << "\" y=\"" << y0 << "\" width=\"" << bw << "\" height=\"" << std::max(y1 - y0, 0.5)
                  << "\" fill=\"#4c72b0\"/>\n";
                std::snprintf(buf, sizeof buf, "%.3f", v);
            } else {
                std::snprintf(buf, sizeof buf, "n/a");
            }
            const double ty = std::isfinite(v) ? (v >= 0 ? ypos(v) - 5 : ypos(v) + 14) : ypos(0) - 5;
            s << "<text x=\"" << cx << "\" y=\"" << ty << "\" text-anchor=\"middle\">" << buf << "</text>\n";
            s << "<text x=\"" << cx << "\" y=\"" << top + ph + 20 << "\" text-anchor=\"middle\">" << xml_escape(name) << "</text>\n";
        }
        s << "</svg>\n";
        return s.str();
    }

    /// Writes the chart to path atomically (io_error naming path on failure).
    void write(const std::string& path) const { write_file_atomically(path, str()); }

private:
    bar_options o_;
    std::vector<std::pair<std::string, double>> bars_;
};

} // namespace b2m::report
