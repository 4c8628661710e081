// b2m/brain/logistic.hpp - multinomial logistic regression (L2), a task model for BTL.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::brain {

/// Options of logistic_regression.
struct logistic_options {
    double C = 1.0;               ///< inverse regularisation, as sklearn: C * sum CE + 0.5 ||W||^2
    std::size_t max_iter = 1000;  ///< the most gradient iterations
    double tol = 1e-6;            ///< stop when ||gradient||_inf of the mean loss < tol
};

/// Softmax regression with an unpenalised intercept, minimising
///   mean_i CE(softmax(x_i W + b), y_i) + ||W||^2 / (2 C n)   (sklearn's objective / (C n)),
/// by accelerated gradient descent with step 1/L (L a guaranteed bound, lipschitz_bound). Convex,
/// so the optimum does not depend on the start.
template <real T>
struct logistic_regression {
    logistic_options options{}; ///< as given to the constructor
    matrix<T> coef;        ///< (features, classes)
    vector<T> intercept;   ///< (classes)
    /// the number of classes K (labels are 0..K-1);
    std::size_t classes = 0, iterations = 0; ///< the iterations the last fit ran

    logistic_regression() = default;
    explicit logistic_regression(logistic_options o) : options(o) {} ///< Unfitted, with options o.

    /// An upper bound (not an estimate) of the Lipschitz constant of the gradient of the mean
    /// cross-entropy w.r.t. (W, b): 0.5 lambda_max(A^T A) / n with A = [X 1], where
    /// lambda_max(A^T A) = ||A||_2^2 <= min(||A||_F^2, ||A||_1 ||A||_inf). (A power-iteration
    /// value approaches lambda_max from below, so 1/L from it can overshoot.) O(n p).
    static double lipschitz_bound(const matrix<T>& x) {
        const std::size_t n = x.shape(0), p = x.shape(1);
        double fro = double(n), row_max = 0;  // the column of ones: n to ||A||_F^2, 1 to each row sum
        std::vector<double> col(p + 1, 0.0);
        col[p] = double(n);
        for (std::size_t i = 0; i < n; ++i) {
            double row = 1;
            for (std::size_t j = 0; j < p; ++j) {
                const double a = std::abs(double(x(i, j)));
                fro += a * a, row += a, col[j] += a;
            }
            row_max = std::max(row_max, row);
        }
        const double col_max = *std::max_element(col.begin(), col.end());
        return 0.5 * std::min(fro, col_max * row_max) / double(n);
    }

    /// labels: class index per row in [0, K). Requires X finite, rows == labels, K >= 2 (data_error).
    logistic_regression& fit(const matrix<T>& x, const std::vector<std::int64_t>& labels) {
        require_finite("logistic_regression X", x);
        const std::size_t n = x.shape(0), p = x.shape(1);
        if (labels.size() != n)
            throw shape_error("logistic_regression.fit: " + std::to_string(labels.size()) + " labels for X of shape " +
                              shape_string(x.shape()));
        std::int64_t kmax = -1;
        for (auto l : labels) {
            if (l < 0) throw data_error("logistic_regression.fit: negative class label " + std::to_string(l));
            kmax = std::max(kmax, l);
        }
        classes = std::size_t(kmax + 1);
        if (classes < 2) throw data_error("logistic_regression.fit: need >= 2 classes, labels hold " + std::to_string(classes));
        const double l2 = 1.0 / (options.C * double(n));
        // Step 1/L with L a guaranteed Lipschitz bound of the gradient (see lipschitz_bound).
        const double step = 1.0 / (lipschitz_bound(x) + l2);
        const std::size_t k = classes;
        matrix<T> w = xt::zeros<T>({p, k}), wprev = w, look = w, grad = w, logits, prob;
        vector<T> b = xt::zeros<T>({k}), bprev = b, blook = b, gb = b;
        double t = 1;
        for (iterations = 0; iterations < options.max_iter; ++iterations) {
            gemm<T>(x, look, logits);
            prob = logits;
            for (std::size_t i = 0; i < n; ++i) {
                double m = -1e300;
                for (std::size_t c = 0; c < k; ++c) m = std::max(m, double(prob(i, c) + blook(c)));
                double z = 0;
                for (std::size_t c = 0; c < k; ++c) z += std::exp(double(prob(i, c) + blook(c)) - m);
                for (std::size_t c = 0; c < k; ++c) prob(i, c) = T(std::exp(double(prob(i, c) + blook(c)) - m) / z);
                prob(i, std::size_t(labels[i])) -= T(1);  // d CE / d logits
            }
            gemm<T>(x, prob, grad, true, false, T(1.0 / double(n)));
            double gmax = 0;
            for (std::size_t c = 0; c < k; ++c) {
                double s = 0;
                for (std::size_t i = 0; i < n; ++i) s += double(prob(i, c));
                gb(c) = T(s / double(n));
                gmax = std::max(gmax, std::abs(s / double(n)));
            }
            for (std::size_t i = 0; i < grad.size(); ++i) {
                grad.data()[i] += T(l2 * double(look.data()[i]));
                gmax = std::max(gmax, std::abs(double(grad.data()[i])));
            }
            if (gmax < options.tol) break;
            const double tn = 0.5 * (1 + std::sqrt(1 + 4 * t * t)), mom = (t - 1) / tn;
            t = tn;
            for (std::size_t i = 0; i < w.size(); ++i) {
                const T nw = T(double(look.data()[i]) - step * double(grad.data()[i]));
                look.data()[i] = T(double(nw) + mom * (double(nw) - double(w.data()[i])));
                w.data()[i] = nw;
            }
            for (std::size_t c = 0; c < k; ++c) {
                const T nb = T(double(blook(c)) - step * double(gb(c)));
                blook(c) = T(double(nb) + mom * (double(nb) - double(b(c))));
                b(c) = nb;
            }
        }
        coef = look, intercept = blook;
        return *this;
    }

    /// Class scores X coef + intercept, shape (rows, classes).
    matrix<T> decision_function(const matrix<T>& x) const {
        if (coef.size() == 0) throw data_error("logistic_regression: not fitted");
        if (x.shape(1) != coef.shape(0))
            throw_shape_mismatch("logistic_regression: feature counts differ", "X", x.shape(), "coef", coef.shape());
        matrix<T> s;
        gemm<T>(x, coef, s);
        for (std::size_t i = 0; i < s.shape(0); ++i)
            for (std::size_t c = 0; c < s.shape(1); ++c) s(i, c) += intercept(c);
        return s;
    }
    /// The most likely class (argmax of decision_function) of each row of x (n, features).
    std::vector<std::int64_t> predict(const matrix<T>& x) const {
        const auto s = decision_function(x);
        std::vector<std::int64_t> out(s.shape(0));
        for (std::size_t i = 0; i < s.shape(0); ++i) {
            std::size_t best = 0;
            for (std::size_t c = 1; c < s.shape(1); ++c)
                if (s(i, c) > s(i, best)) best = c;
            out[i] = std::int64_t(best);
        }
        return out;
    }
    /// Fraction of rows classified correctly.
    double score(const matrix<T>& x, const std::vector<std::int64_t>& labels) const {
        const auto p = predict(x);
        if (p.size() != labels.size()) throw shape_error("logistic_regression.score: label count differs from X rows");
        std::size_t ok = 0;
        for (std::size_t i = 0; i < p.size(); ++i) ok += p[i] == labels[i];
        return double(ok) / double(p.size());
    }
};

} // namespace b2m::brain
