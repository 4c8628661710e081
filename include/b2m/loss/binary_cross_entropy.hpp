// b2m/loss/binary_cross_entropy.hpp - binary cross-entropy on logits (stable), mean over
// all entries: L = mean_ij [ softplus(z_ij) - t_ij z_ij ], t in [0, 1] (PyTorch's
// BCEWithLogitsLoss). Targets come from data::targets with the logits' shape.
#pragma once

#include <string>

#include "b2m/autodiff/elementwise.hpp"
#include "b2m/loss/objective.hpp"

namespace b2m::loss {

/// The term object of loss::binary_cross_entropy(logits, data::targets).
template <real T, class Logits>
class binary_cross_entropy_term {
public:
    /// @name Term interface (the concept at the head of b2m/loss/objective.hpp)
    ///@{

    /// Term interface: name() is "binary_cross_entropy(<Logits>)"; check<Student>() requires the
    /// logits to be the student's; forward(student, batch) returns mean_ij [softplus(z_ij) - t_ij z_ij]
    /// for t = data::targets of z's shape (b2m::shape_error otherwise; data_error for a target
    /// outside [0, 1]); backward(student, batch, w) adds w / size * (sigmoid(z) - t) into the logits'
    /// gradient; for_each_param visits nothing.
    std::string name() const { return "binary_cross_entropy(" + source_traits<Logits>::name() + ")"; }

    template <class Student>
    static constexpr void check() {
        static_assert(source_traits<Logits>::from_student, "b2m: binary_cross_entropy's logits must come from the student");
        check_source<Student, Logits, 0>();
    }

    template <class Student>
    T forward(Student& s, const data::batch<T>& b) {
        const matrix<T>& z = source_traits<Logits>::value(s, b);
        if (b.targets.shape() != z.shape())
            throw_shape_mismatch(name(), "logits", z.shape(), "data::targets", b.targets.shape());
        if (z.size() == 0) throw shape_error(name() + ": empty batch");
        T total = 0;
        for (std::size_t i = 0; i < z.size(); ++i) {
            const T t = b.targets.data()[i];
            if (!(t >= T(0) && t <= T(1)))
                throw data_error(name() + ": data::targets holds " + std::to_string(t) + " at flat index " +
                                 std::to_string(i) + ", outside [0, 1]");
            total += ad::fn::softplus{}.value(z.data()[i]) - t * z.data()[i];
        }
        return total / T(z.size());
    }

    template <class Student>
    void backward(Student& s, const data::batch<T>& b, T weight) {
        const matrix<T>& z = source_traits<Logits>::value(s, b);
        T* g = source_traits<Logits>::grad(s)->data();
        const T scale = weight / T(z.size());
        for (std::size_t i = 0; i < z.size(); ++i)
            g[i] += scale * (ad::fn::sigmoid{}.value(z.data()[i]) - b.targets.data()[i]);
    }
    template <class F>
    void for_each_param(F&&) {}
    ///@}
};

/// The spec loss::binary_cross_entropy(logits, data::targets) returns.
template <class Logits>
struct binary_cross_entropy_spec : term_spec_tag {
    /// The term object for scalar type T.
    template <real T>
    binary_cross_entropy_term<T, Logits> make() const { return {}; }
};

template <source Logits>
auto binary_cross_entropy(Logits, data::targets_t) { return binary_cross_entropy_spec<Logits>{}; }

} // namespace b2m::loss
