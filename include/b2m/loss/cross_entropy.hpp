// b2m/loss/cross_entropy.hpp - softmax cross-entropy on logits, mean over the batch.
//
//   loss::cross_entropy(nn::output, data::labels)   class indices, labels[i] in [0, C)
//   loss::cross_entropy(nn::output, data::targets)  soft targets, rows of (B, C)
// L = mean_i [ logsumexp(z_i) * sum_j t_ij - sum_j t_ij z_ij ] (t one-hot for indices).
#pragma once

#include <cmath>
#include <string>
#include <string_view>
#include <type_traits>

#include "b2m/autodiff/rowwise.hpp"
#include "b2m/loss/term_base.hpp"

namespace b2m::loss {

/// The term object of loss::cross_entropy: Target is data::labels_t (class indices) or
/// data::targets_t (soft targets).
template <real T, class Logits, class Target>
class cross_entropy_term : public term_base<cross_entropy_term<T, Logits, Target>, T, Logits> {
    static constexpr bool Soft = std::is_same_v<Target, data::targets_t>;

public:
    static_assert(source_traits<Logits>::from_student, "b2m: cross_entropy's logits must come from the student");

    /// @name Term maths (the hooks of loss::term_base)
    ///@{

    /// Term maths: the name is "cross_entropy(<Logits>)"; the logits have rank 2; value(batch, z)
    /// reads logits z (B, C) and returns mean_i [logsumexp(z_i) sum_j t_ij - sum_j t_ij z_ij], t the
    /// one-hot rows of data::labels (B entries in [0, C): shape_error / data_error otherwise) or
    /// data::targets (B, C); gradient(batch, w, z) adds w / B * (softmax(z_i) sum_j t_ij - t_i) into
    /// the logits' gradient.
    static constexpr std::string_view term_name = "cross_entropy";
    static constexpr int source_rank = 2;

    T value(const data::batch<T>& b, const source_ref<T>& logits) {
        const matrix<T>& z = logits.value;
        const std::size_t n = z.shape(0), c = z.shape(1);
        if (n == 0) throw shape_error(this->name() + ": empty batch");
        if constexpr (Soft) {
            if (b.targets.shape() != z.shape())
                throw_shape_mismatch(this->name(), "logits", z.shape(), "data::targets", b.targets.shape());
        } else {
            if (b.labels.size() != n)
                throw shape_error(this->name() + ": logits have shape " + shape_string(z.shape()) +
                                  " but data::labels has " + std::to_string(b.labels.size()) + " entries");
            for (std::size_t i = 0; i < n; ++i)
                if (b.labels(i) < 0 || std::size_t(b.labels(i)) >= c)
                    throw data_error(this->name() + ": data::labels[" + std::to_string(i) + "] = " +
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

    void gradient(const data::batch<T>& b, T weight, const source_ref<T>& logits) const {
        matrix<T>& g = *logits.grad;
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
    ///@}

    /// Softmax probabilities of the last forward (B, C).
    const matrix<T>& probabilities() const { return p_; }

private:
    matrix<T> p_;
};

/// Softmax cross-entropy of the student's logits against class indices (data::labels).
template <source Logits>
auto cross_entropy(Logits, data::labels_t) {
    return make_term_spec<cross_entropy_term>(source_list<Logits, data::labels_t>{});
}
/// Softmax cross-entropy of the student's logits against soft targets (data::targets, rows of (B, C)).
template <source Logits>
auto cross_entropy(Logits, data::targets_t) {
    return make_term_spec<cross_entropy_term>(source_list<Logits, data::targets_t>{});
}

} // namespace b2m::loss
