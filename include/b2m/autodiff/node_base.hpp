// b2m/autodiff/node_base.hpp - what every autodiff op node shares, written once, so a new
// op is its maths and nothing else.
//
// An op node with one operand A (or two, A and B) derives from node_base<Derived, A>
// (node_base<Derived, A, B>) and supplies its forward and backward maths only:
//
//     template <ad::expression A>
//     struct twice_node : ad::node_base<twice_node<A>, A> {
//         using ad::node_base<twice_node<A>, A>::node_base;  // the constructor taking the operand
//         /// y = 2 x.
//         template <class T>
//         void eval(matrix<T>& y, const matrix<T>& x) {
//             ensure_shape_like(y, x);
//             for (std::size_t i = 0; i < x.size(); ++i) y.data()[i] = T(2) * x.data()[i];
//         }
//         /// dL/dx = 2 g.
//         template <class T>
//         void grad_a(matrix<T>& gx, const matrix<T>& g, const matrix<T>& /*y*/, const matrix<T>& /*x*/) {
//             for (std::size_t i = 0; i < g.size(); ++i) gx.data()[i] = T(2) * g.data()[i];
//         }
//     };
//
// Derived's hooks (public; called by the base only):
//   eval(y, x[, z])          sizes y (ensure_shape) and writes the value from the operands'
//                            values x = a's, z = b's;
//   grad_a(gx, g, y, x[, z]) writes dL/dx into gx (already shaped like x), given g = dL/dy
//                            and the last forward's y, x, z; grad_b(gz, g, y, x, z) likewise
//                            for b. A hook is instantiated only for an operand with a gradient.
// The base supplies the rest of the node interface (node.hpp): value_type (the operands'
// element type, which must agree), has_grad (true when an operand has one), the public
// operands a (and b), the value buffer and value(), forward(ctx) (a's forward, then b's,
// then eval), backward(g, ctx) (for each operand with a gradient, a first: its gradient
// buffer, grad_a / grad_b, then the operand's backward), for_each_param (a's, then b's).
// Buffers are resized only when a shape changes: steady-state evaluation allocates nothing.
#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "b2m/autodiff/node.hpp"

namespace b2m::ad {

namespace detail {
/// The operands of a node, as the public members a (and b).
template <class... Operands>
struct operands;
template <class A>
struct operands<A> {
    A a;
};
template <class A, class B>
struct operands<A, B> {
    A a;
    B b;
};
} // namespace detail

/// The base of an op node with operands A (and B): the node interface around Derived's
/// maths (eval, grad_a, grad_b; see the head of b2m/autodiff/node_base.hpp).
/// The operands are the public members a (and b).
template <class Derived, expression... Operands>
class node_base : public node_tag, public detail::operands<Operands...> {
    static_assert(sizeof...(Operands) == 1 || sizeof...(Operands) == 2,
                  "b2m::ad::node_base: a node has one or two operands");
    using first = std::tuple_element_t<0, std::tuple<Operands...>>;

public:
    /// The element type, the same for every operand.
    using value_type = value_type_t<first>;
    /// True when an operand has a gradient (backward then reaches it).
    static constexpr bool has_grad = (Operands::has_grad || ...);

    /// Evaluates a, then b, and returns the value Derived::eval computes from theirs.
    template <class Ctx>
    const matrix<value_type>& forward(const Ctx& ctx) {
        const matrix<value_type>& x = this->a.forward(ctx);
        if constexpr (sizeof...(Operands) == 1) {
            self().eval(y_, x);
        } else {
            const matrix<value_type>& z = this->b.forward(ctx);
            self().eval(y_, x, z);
        }
        return y_;
    }
    /// Requires g = dL/d(value) shaped like the last forward's value; for a, then b, when it
    /// has a gradient, passes Derived::grad_a (grad_b) of g to its backward.
    template <class Ctx>
    void backward(const matrix<value_type>& g, const Ctx& ctx) {
        if constexpr (has_grad)
            [&]<std::size_t... I>(std::index_sequence<I...>) { (pull<I>(g, ctx), ...); }(
                std::index_sequence_for<Operands...>{});
    }
    /// The value of the last forward.
    const matrix<value_type>& value() const { return y_; }
    /// Visits a's, then b's parameters (f(name, value, grad) for each param leaf).
    template <class F>
    void for_each_param(F&& fun) {
        this->a.for_each_param(fun);
        if constexpr (sizeof...(Operands) == 2) this->b.for_each_param(fun);
    }

    /// Takes ownership of the operands (a, then b).
    explicit node_base(Operands... ops) : detail::operands<Operands...>{std::move(ops)...} {}

private:
    static_assert((std::is_same_v<value_type, value_type_t<Operands>> && ...),
                  "b2m::ad: all operands of a node must have the same scalar type");

    Derived& self() { return static_cast<Derived&>(*this); }
    template <std::size_t I>
    auto& operand() {
        if constexpr (I == 0) return this->a;
        else return this->b;
    }
    // dL/d(operand I) into grads_[I] by Derived's hook, then the operand's backward.
    template <std::size_t I, class Ctx>
    void pull(const matrix<value_type>& g, const Ctx& ctx) {
        auto& op = operand<I>();
        if constexpr (std::remove_cvref_t<decltype(op)>::has_grad) {
            matrix<value_type>& gx = grads_[I];
            ensure_shape_like(gx, op.value());
            auto hook = [&](const auto&... v) {
                if constexpr (I == 0) self().grad_a(gx, g, y_, v...);
                else self().grad_b(gx, g, y_, v...);
            };
            if constexpr (sizeof...(Operands) == 1) hook(this->a.value());
            else hook(this->a.value(), this->b.value());
            op.backward(gx, ctx);
        }
    }

    matrix<value_type> y_;
    std::array<matrix<value_type>, sizeof...(Operands)> grads_;
};

} // namespace b2m::ad
