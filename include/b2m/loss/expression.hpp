// b2m/loss/expression.hpp - a user-written loss: an autodiff expression of its sources.
//
//   auto cosine_to_brain = loss::expression(
//       [](auto h, auto b) { return 1.0 - ad::mean(ad::sum(ad::l2_normalize(h) * ad::l2_normalize(b),
//                                                          ad::axis::cols)); },
//       nn::tap<"embed">{}, data::brain);
//
// The builder receives one ad::arg leaf per source, in order, and returns a scalar (1x1)
// expression; the gradient comes from the expression graph, no backward to write.
// Learnable matrices inside the expression (ad::param) are trained with the student.
#pragma once

#include <array>
#include <string>
#include <tuple>
#include <utility>

#include "b2m/autodiff/function.hpp"
#include "b2m/loss/objective.hpp"

namespace b2m::loss {

/// The term object of loss::expression: builder's autodiff graph evaluated on the sources.
template <real T, class Builder, class... Sources>
class expression_term {
    static constexpr std::size_t N = sizeof...(Sources);
    using function_type = decltype(ad::make_function<T, N>(std::declval<Builder&>()));

public:
    /// Calls builder once with arg<T, 0..N-1> to build the graph (the type is fixed at compile time).
    expression_term(std::string name, Builder builder)
        : name_(std::move(name)), f_(ad::make_function<T, N>(builder)) {}

    /// @name Term interface (the concept at the head of b2m/loss/objective.hpp)
    ///@{

    /// Term interface: name() is the name given ("expression" by default); check<Student>() requires
    /// every source to exist; forward(student, batch) binds the sources' matrices to the args and
    /// returns the graph's value (b2m::shape_error unless it is 1x1); backward(student, batch, w) adds
    /// w * d(value)/d(source) into every student source's gradient and into the graph's param
    /// gradients; for_each_param visits the graph's param leaves.
    std::string name() const { return name_; }

    template <class Student>
    static constexpr void check() { (check_source<Student, Sources, 0>(), ...); }

    template <class Student>
    T forward(Student& s, const data::batch<T>& b) {
        bind(s, b);
        return f_.value(inputs_);
    }
    template <class Student>
    void backward(Student& s, const data::batch<T>& b, T weight) {
        bind(s, b);
        std::array<matrix<T>*, N> grads{};
        std::size_t k = 0;
        ((grads[k++] = grad_of<Sources>(s)), ...);
        f_.gradient(inputs_, grads, weight);
    }
    template <class F>
    void for_each_param(F&& f) { f_.for_each_param(f); }
    ///@}

private:
    template <class Student>
    void bind(Student& s, const data::batch<T>& b) {
        std::size_t k = 0;
        ((inputs_[k++] = &source_traits<Sources>::value(s, b)), ...);
    }
    template <class S, class Student>
    static matrix<T>* grad_of(Student& s) {
        if constexpr (source_traits<S>::from_student) return source_traits<S>::grad(s);
        else return nullptr;
    }
    std::string name_;
    function_type f_;
    std::array<const matrix<T>*, N> inputs_{};
};

template <class Builder, class... Sources>
/// The spec loss::expression / loss::named_expression returns.
struct expression_spec : term_spec_tag {
    std::string name; ///< The term's name in logs and parameter names.
    Builder builder;  ///< Called with one ad::arg per source; returns a scalar expression.
    /// The term object for scalar type T.
    template <real T>
    expression_term<T, Builder, Sources...> make() const { return {name, builder}; }
};

/// A loss term from builder(arg per source); named "expression" unless renamed with
/// loss::named_expression.
template <class Builder, source... Sources>
auto expression(Builder builder, Sources...) {
    return expression_spec<Builder, Sources...>{{}, "expression", std::move(builder)};
}
/// As loss::expression, with the term named name.
template <class Builder, source... Sources>
auto named_expression(std::string name, Builder builder, Sources...) {
    return expression_spec<Builder, Sources...>{{}, std::move(name), std::move(builder)};
}

} // namespace b2m::loss
