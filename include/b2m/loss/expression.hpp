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
#include "b2m/loss/term_base.hpp"

namespace b2m::loss {

/// The term object of loss::expression: builder's autodiff graph evaluated on the sources.
template <real T, class Builder, class... Sources>
class expression_term : public term_base<expression_term<T, Builder, Sources...>, T, Sources...> {
    static constexpr std::size_t N = sizeof...(Sources);
    using function_type = decltype(ad::make_function<T, N>(std::declval<Builder&>()));

public:
    /// Calls builder once with arg<T, 0..N-1> to build the graph (the type is fixed at compile time).
    expression_term(std::string name, Builder builder)
        : name_(std::move(name)), f_(ad::make_function<T, N>(builder)) {}

    /// The name given ("expression" by default).
    std::string name() const { return name_; }

    /// @name Term maths (the hooks of loss::term_base)
    ///@{

    /// Term maths: value(batch, sources...) binds the sources' matrices to the args and returns the
    /// graph's value (b2m::shape_error unless it is 1x1); gradient(batch, w, sources...) adds
    /// w * d(value)/d(source) into every student source's gradient and into the graph's param
    /// gradients; for_each_param visits the graph's param leaves.
    template <class... Refs>
    T value(const data::batch<T>&, const Refs&... sources) {
        inputs_ = {&sources.value...};
        return f_.value(inputs_);
    }
    template <class... Refs>
    void gradient(const data::batch<T>&, T weight, const Refs&... sources) {
        inputs_ = {&sources.value...};
        f_.gradient(inputs_, std::array<matrix<T>*, N>{sources.grad...}, weight);
    }
    template <class F>
    void for_each_param(F&& f) { f_.for_each_param(f); }
    ///@}

private:
    std::string name_;
    function_type f_;
    std::array<const matrix<T>*, N> inputs_{};
};

/// A loss term from builder(arg per source); named "expression" unless renamed with
/// loss::named_expression.
template <class Builder, source... Sources>
auto expression(Builder builder, Sources...) {
    return make_term_spec<expression_term>(source_list<Builder, Sources...>{}, std::string("expression"),
                                           std::move(builder));
}
/// As loss::expression, with the term named name.
template <class Builder, source... Sources>
auto named_expression(std::string name, Builder builder, Sources...) {
    return make_term_spec<expression_term>(source_list<Builder, Sources...>{}, std::move(name), std::move(builder));
}

} // namespace b2m::loss
