// b2m/loss/mse.hpp - mean squared error between two sources, mean over all entries:
// L = mean_ij (a_ij - b_ij)^2. Either side may come from the student (gets a gradient)
// or from the batch.
#pragma once

#include <string>
#include <string_view>

#include "b2m/loss/term_base.hpp"

namespace b2m::loss {

/// The term object of loss::mse(A, B).
template <real T, class A, class B>
class mse_term : public term_base<mse_term<T, A, B>, T, A, B> {
public:
    static_assert(source_traits<A>::from_student || source_traits<B>::from_student,
                  "b2m: mse needs at least one side from the student");

    /// @name Term maths (the hooks of loss::term_base)
    ///@{

    /// Term maths: the name is "mse(<A>, <B>)"; value(batch, a, b) returns mean_ij (a_ij - b_ij)^2
    /// (summed in double), throwing b2m::shape_error when the shapes differ or are empty;
    /// gradient(batch, w, a, b) adds w * 2 (a - b) / size into a's gradient and its negative into
    /// b's (for the student's sides).
    static constexpr std::string_view term_name = "mse";

    T value(const data::batch<T>&, const source_ref<T>& a, const source_ref<T>& b) const {
        const matrix<T>& x = a.value;
        const matrix<T>& y = b.value;
        if (x.shape() != y.shape()) throw_shape_mismatch(this->name(), a.name(), x.shape(), b.name(), y.shape());
        if (x.size() == 0) throw shape_error(this->name() + ": empty operands");
        double total = 0;  // double even for float: a float sum of 3.2M squares drifts by 1e-4
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double d = double(x.data()[i]) - double(y.data()[i]);
            total += d * d;
        }
        return T(total / double(x.size()));
    }

    void gradient(const data::batch<T>&, T weight, const source_ref<T>& a, const source_ref<T>& b) const {
        const T* x = a.value.data();
        const T* y = b.value.data();
        const std::size_t n = a.value.size();
        const T scale = T(2) * weight / T(n);
        if (a.grad)
            for (std::size_t i = 0; i < n; ++i) a.grad->data()[i] += scale * (x[i] - y[i]);
        if (b.grad)
            for (std::size_t i = 0; i < n; ++i) b.grad->data()[i] -= scale * (x[i] - y[i]);
    }
    ///@}
};

/// Mean squared error between sources a and b (one of them the student's).
template <source A, source B>
auto mse(A, B) { return make_term_spec<mse_term>(source_list<A, B>{}); }

} // namespace b2m::loss
