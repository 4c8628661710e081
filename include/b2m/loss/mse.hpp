// b2m/loss/mse.hpp - mean squared error between two sources, mean over all entries:
// L = mean_ij (a_ij - b_ij)^2. Either side may come from the student (gets a gradient)
// or from the batch.
#pragma once

#include <string>

#include "b2m/loss/objective.hpp"

namespace b2m::loss {

/// The term object of loss::mse(A, B) (see mse_spec).
template <real T, class A, class B>
class mse_term {
public:
    /// @name Term interface (the concept at the head of b2m/loss/objective.hpp)
    ///@{

    /// Term interface: name() is "mse(<A>, <B>)"; check<Student>() requires both sources to exist
    /// and at least one to be the student's; forward(student, batch) returns mean_ij (a_ij - b_ij)^2
    /// (summed in double), throwing b2m::shape_error when the shapes differ or are empty;
    /// backward(student, batch, w) adds w * 2 (a - b) / size into a's gradient and its negative into
    /// b's (for the student's sides); for_each_param visits nothing (no parameters).
    std::string name() const { return "mse(" + source_traits<A>::name() + ", " + source_traits<B>::name() + ")"; }

    template <class Student>
    static constexpr void check() {
        check_source<Student, A, 0>();
        check_source<Student, B, 0>();
        static_assert(source_traits<A>::from_student || source_traits<B>::from_student,
                      "b2m: mse needs at least one side from the student");
    }

    template <class Student>
    T forward(Student& s, const data::batch<T>& b) {
        const matrix<T>& x = source_traits<A>::value(s, b);
        const matrix<T>& y = source_traits<B>::value(s, b);
        if (x.shape() != y.shape())
            throw_shape_mismatch(name(), source_traits<A>::name(), x.shape(), source_traits<B>::name(), y.shape());
        if (x.size() == 0) throw shape_error(name() + ": empty operands");
        double total = 0;  // double even for float: a float sum of 3.2M squares drifts by 1e-4
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double d = double(x.data()[i]) - double(y.data()[i]);
            total += d * d;
        }
        return T(total / double(x.size()));
    }

    template <class Student>
    void backward(Student& s, const data::batch<T>& b, T weight) {
        const matrix<T>& x = source_traits<A>::value(s, b);
        const matrix<T>& y = source_traits<B>::value(s, b);
        const T scale = T(2) * weight / T(x.size());
        if constexpr (source_traits<A>::from_student) {
            T* g = source_traits<A>::grad(s)->data();
            for (std::size_t i = 0; i < x.size(); ++i) g[i] += scale * (x.data()[i] - y.data()[i]);
        }
        if constexpr (source_traits<B>::from_student) {
            T* g = source_traits<B>::grad(s)->data();
            for (std::size_t i = 0; i < x.size(); ++i) g[i] -= scale * (x.data()[i] - y.data()[i]);
        }
    }
    template <class F>
    void for_each_param(F&&) {}
    ///@}
};

/// The spec loss::mse(a, b) returns: reads sources A and B (the same shape).
template <class A, class B>
struct mse_spec : term_spec_tag {
    /// The term object for scalar type T.
    template <real T>
    mse_term<T, A, B> make() const { return {}; }
};

/// Mean squared error between sources a and b (one of them the student's).
template <source A, source B>
auto mse(A, B) { return mse_spec<A, B>{}; }

} // namespace b2m::loss
