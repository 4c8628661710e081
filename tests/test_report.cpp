// Seed statistics against hand computations; SVG output is well-formed XML with labels.
#include <doctest/doctest.h>

#include <b2m/report.hpp>

#include <cmath>
#include <regex>
#include <stack>
#include <vector>

using namespace b2m::report;

TEST_CASE("mean, sd and the 95% t interval") {
    const std::vector<double> v{1.0, 2.0, 4.0, 5.0};
    const auto s = summarize(v);
    CHECK(s.mean == doctest::Approx(3.0));
    CHECK(s.sd == doctest::Approx(std::sqrt(10.0 / 3.0)));
    CHECK(s.ci95 == doctest::Approx(3.182446305284263 * std::sqrt(10.0 / 3.0) / 2.0));
    const std::vector<double> with_inf{1.0, INFINITY, 3.0};
    const auto t = summarize(with_inf);
    CHECK(t.n == 2);
    CHECK(t.missing == 1);
    CHECK(t.mean == doctest::Approx(2.0));
    CHECK(std::isnan(summarize(std::vector<double>{7.0}).ci95));
}

TEST_CASE("paired comparison and epochs to target") {
    const std::vector<double> treat{0.9, 0.8, 0.85}, base{0.7, 0.75, 0.6};
    const auto c = compare_paired(treat, base);
    CHECK(c.difference.mean == doctest::Approx((0.2 + 0.05 + 0.25) / 3));
    CHECK(c.effect_size == doctest::Approx(c.difference.mean / c.difference.sd));
    const std::vector<double> curve{0.2, 0.5, 0.81, 0.79, 0.9};
    CHECK(epochs_to_target(curve, 0.8) == 3.0);
    CHECK(std::isinf(epochs_to_target(curve, 0.95)));
}

TEST_CASE("the SVG is well-formed XML with escaped labels, axes and a legend") {
    svg_plot p({.title = "acc <brain> & \"baseline\"", .x_label = "epoch", .y_label = "held-out accuracy"});
    p.add({.name = "brain-taught", .x = {1, 2, 3}, .y = {0.5, 0.7, 0.8}, .low = {0.4, 0.6, 0.7}, .high = {0.6, 0.8, 0.9}});
    p.add({.name = "baseline", .x = {1, 2, 3}, .y = {0.4, 0.5, 0.6}});
    const std::string svg = p.str();
    CHECK(svg.find("acc &lt;brain&gt; &amp; &quot;baseline&quot;") != std::string::npos);
    CHECK(svg.find(">epoch</text>") != std::string::npos);
    CHECK(svg.find(">held-out accuracy</text>") != std::string::npos);
    CHECK(svg.find(">brain-taught</text>") != std::string::npos);
    CHECK(svg.find(">baseline</text>") != std::string::npos);
    // every opened element is closed, in order
    std::stack<std::string> open;
    const std::regex tag("<(/?)([a-zA-Z]+)[^>]*?(/?)>");
    bool balanced = true;
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator(); ++it) {
        const auto& m = *it;
        if (m[3] == "/") continue;
        if (m[1] == "/") {
            if (open.empty() || open.top() != m[2]) balanced = false;
            else open.pop();
        } else {
            open.push(m[2]);
        }
    }
    CHECK(balanced);
    CHECK(open.empty());
    CHECK_THROWS_AS(p.add({.name = "bad", .x = {1, 2}, .y = {1}}), b2m::shape_error);
}
