// b2m/loss/cross_entropy.hpp - softmax cross-entropy on logits, mean over the batch.
//
//   loss::cross_entropy(nn::output, data::labels)   class indices, labels[i] in [0, C)
//   loss::cross_entropy(nn::output, data::targets)  soft targets, rows of (B, C)
// L = mean_i [ logsumexp(z_i) * sum_j t_ij - sum_j t_ij z_ij ] (t one-hot for indices).
#pragma once

#include <cmath>
#include <string>

#include "b2m/autodiff/rowwise.hpp"
#include "b2m/loss/objective.hpp"

namespace b2m::loss {

/// The term object of loss::cross_entropy: Soft false reads data::labels, true data::targets.
template <real T, class Logits, bool Soft>
class cross_entropy_term {
public:
    /// @name Term interface (the concept at the head of b2m/loss/objective.hpp)
    ///@{

    /// Term interface: name() is "cross_entropy(<Logits>)"; check<Student>() requires the logits to
    /// be the student's, rank 2; forward(student, batch) reads logits z (B, C) and returns
    /// mean_i [logsumexp(z_i) sum_j t_ij - sum_j t_ij z_ij], t the one-hot rows of data::labels (B
    /// entries in [0, C): shape_error / data_error otherwise) or data::targets (B, C); backward(student,
    /// batch, w) adds w / B * (softmax(z_i) sum_j t_ij - t_i) into the logits' gradient;
    /// for_each_param visits nothing.
    std::string name() const { return "cross_entropy(" + source_traits<Logits>::name() + ")"; }

    template <class Student>
    static constexpr void check() {
        static_assert(source_traits<Logits>::from_student, "b2m: cross_entropy's logits must come from the student");
        check_source<Student, Logits, 2>();
    }

    template <class Student>
    T forward(Student& s, const data::batch<T>& b) {
        const matrix<T>& z = source_traits<Logits>::value(s, b);
        const std::size_t n = z.shape(0), c = z.shape(1);
        if (n == 0) throw shape_error(name() + ": empty batch");
        if constexpr (Soft) {
            if (b.targets.shape() != z.shape())
                throw_shape_mismatch(name(), "logits", z.shape(), "data::targets", b.targets.shape());
        } else {
            if (b.labels.size() != n)
                throw shape_error(name() + ": logits have shape " + shape_string(z.shape()) + " but data::labels has " +
                                  std::to_string(b.labels.size()) + " entries");
            for (std::size_t i = 0; i < n; ++i)
                if (b.labels(i) < 0 || std::size_t(b.labels(i)) >= c)
                    throw data_error(name() + ": data::labels[" + std::to_string(i) + "] = " +
                                     std::to_string(b.labels(i)) + " is outside [0, " + std::to_string(c) + ")");
        }
        ensure_shape(p_, n, c);
        T total = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const T* zi = z.data() + i * c;
            const T lse = ad::detail::row_logsumexp(zi, c);
            for (std::size_t j = 0; j < c; ++j) p_(i, j) = std::exp(zi[j] - lse);
            if constexpr (Soft) {
                const T* ti = b.targets.data() + i * c;
                for (std::size_t j = 0; j < c; ++j) total += ti[j] * (lse - zi[j]);
            } else {
                total += lse - zi[b.labels(i)];
            }
        }
        return total / T(n);
    }

    template <class Student>
    void backward(Student& s, const data::batch<T>& b, T weight) {
        matrix<T>& g = *source_traits<Logits>::grad(s);
        const std::size_t n = p_.shape(0), c = p_.shape(1);
        const T scale = weight / T(n);
        for (std::size_t i = 0; i < n; ++i) {
            if constexpr (Soft) {
                const T* ti = b.targets.data() + i * c;
                T mass = 0;
                for (std::size_t j = 0; j < c; ++j) mass += ti[j];
                for (std::size_t j = 0; j < c; ++j) g(i, j) += scale * (p_(i, j) * mass - ti[j]);
            } else {
                for (std::size_t j = 0; j < c; ++j) g(i, j) += scale * p_(i, j);
                g(i, b.labels(i)) -= scale;
            }
        }
    }
    template <class F>
    void for_each_param(F&&) {}
    /// Softmax probabilities of the last forward (B, C).
    const matrix<T>& probabilities() const { return p_; }
    ///@}

private:
    matrix<T> p_;
};

/// The spec loss::cross_entropy(logits, data::labels / data::targets) returns.
template <class Logits, bool Soft>
struct cross_entropy_spec : term_spec_tag {
    /// The term object for scalar type T.
    template <real T>
    cross_entropy_term<T, Logits, Soft> make() const { return {}; }
};

template <source Logits>
auto cross_entropy(Logits, data::labels_t) { return cross_entropy_spec<Logits, false>{}; }
template <source Logits>
auto cross_entropy(Logits, data::targets_t) { return cross_entropy_spec<Logits, true>{}; }

} // namespace b2m::loss
