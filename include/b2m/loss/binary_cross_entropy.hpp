// b2m/loss/binary_cross_entropy.hpp - binary cross-entropy on logits (stable), mean over
// all entries: L = mean_ij [ softplus(z_ij) - t_ij z_ij ], t in [0, 1] (PyTorch's
// BCEWithLogitsLoss). Targets come from data::targets with the logits' shape.
#pragma once

#include <string>
#include <string_view>

#include "b2m/autodiff/elementwise.hpp"
#include "b2m/loss/term_base.hpp"

namespace b2m::loss {

/// The term object of loss::binary_cross_entropy(logits, data::targets).
template <real T, class Logits>
class binary_cross_entropy_term : public term_base<binary_cross_entropy_term<T, Logits>, T, Logits> {
public:
    static_assert(source_traits<Logits>::from_student, "b2m: binary_cross_entropy's logits must come from the student");

    /// @name Term maths (the hooks of loss::term_base)
    ///@{

    /// Term maths: the name is "binary_cross_entropy(<Logits>)"; value(batch, z) returns
    /// mean_ij [softplus(z_ij) - t_ij z_ij] for t = data::targets of z's shape (b2m::shape_error
    /// otherwise; data_error for a target outside [0, 1]); gradient(batch, w, z) adds
    /// w / size * (sigmoid(z) - t) into the logits' gradient.
    static constexpr std::string_view term_name = "binary_cross_entropy";

    T value(const data::batch<T>& b, const source_ref<T>& logits) const {
        const matrix<T>& z = logits.value;
        if (b.targets.shape() != z.shape())
            throw_shape_mismatch(this->name(), "logits", z.shape(), "data::targets", b.targets.shape());
        if (z.size() == 0) throw shape_error(this->name() + ": empty batch");
        T total = 0;
        for (std::size_t i = 0; i < z.size(); ++i) {
            const T t = b.targets.data()[i];
            if (!(t >= T(0) && t <= T(1)))
                throw data_error(this->name() + ": data::targets holds " + std::to_string(t) + " at flat index " +
                                 std::to_string(i) + ", outside [0, 1]");
            total += ad::fn::softplus{}.value(z.data()[i]) - t * z.data()[i];
        }
        return total / T(z.size());
    }

    void gradient(const data::batch<T>& b, T weight, const source_ref<T>& logits) const {
        const matrix<T>& z = logits.value;
        T* g = logits.grad->data();
        const T scale = weight / T(z.size());
        for (std::size_t i = 0; i < z.size(); ++i)
            g[i] += scale * (ad::fn::sigmoid{}.value(z.data()[i]) - b.targets.data()[i]);
    }
    ///@}
};

/// Binary cross-entropy of the student's logits against data::targets in [0, 1] (same shape).
template <source Logits>
auto binary_cross_entropy(Logits, data::targets_t) {
    return make_term_spec<binary_cross_entropy_term>(source_list<Logits>{});
}

} // namespace b2m::loss
