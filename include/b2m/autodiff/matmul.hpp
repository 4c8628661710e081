// b2m/autodiff/matmul.hpp - C = op(A) * op(B) through OpenBLAS, transposes read in place.
#pragma once

#include <utility>

#include "b2m/autodiff/node.hpp"
#include "b2m/core/gemm.hpp"

namespace b2m::ad {

/// op(A) * op(B), op = transpose when TransA / TransB. Inner dimensions must agree
/// (shape_error naming both operands otherwise).
template <bool TransA, bool TransB, expression A, expression B>
struct matmul_node : node_tag {
    /// @name Node interface (the concept in b2m/autodiff/node.hpp)
    ///@{

    /// Node interface: forward(ctx) returns y = op(x) op(z), x = a.forward(ctx), z = b.forward(ctx),
    /// shape (rows of op(x), columns of op(z)); throws b2m::shape_error naming both shapes when the
    /// inner dimensions differ. backward(g, ctx) requires g shaped like y and passes dL/dx (shape of
    /// x) to a and dL/dz (shape of z) to b, for the operands that have gradients; value() is y of
    /// the last forward; for_each_param visits A's, then B's parameters.
    using value_type = value_type_t<A>;
    using T = value_type;
    static constexpr bool has_grad = A::has_grad || B::has_grad;
    A a; ///< The left operand.
    B b; ///< The right operand.

    /// Takes both operands.
    matmul_node(A a_, B b_) : a(std::move(a_)), b(std::move(b_)) {}

    template <class Ctx>
    const matrix<T>& forward(const Ctx& ctx) {
        const matrix<T>& x = a.forward(ctx);
        const matrix<T>& z = b.forward(ctx);
        gemm<T>(x, z, y_, TransA, TransB, T(1), T(0), "left operand of ad::matmul", "right operand of ad::matmul");
        return y_;
    }
    template <class Ctx>
    void backward(const matrix<T>& g, const Ctx& ctx) {
        const matrix<T>& x = a.value();
        const matrix<T>& z = b.value();
        // C = op(A) op(B): d op(A) = G op(B)^T, d op(B) = op(A)^T G.
        if constexpr (A::has_grad) {
            if constexpr (!TransA) gemm<T>(g, z, ga_, false, !TransB);
            else gemm<T>(z, g, ga_, TransB, true);
            a.backward(ga_, ctx);
        }
        if constexpr (B::has_grad) {
            if constexpr (!TransB) gemm<T>(x, g, gb_, !TransA, false);
            else gemm<T>(g, x, gb_, true, TransA);
            b.backward(gb_, ctx);
        }
    }
    const matrix<T>& value() const { return y_; }
    template <class F>
    void for_each_param(F&& fun) {
        a.for_each_param(fun);
        b.for_each_param(fun);
    }
    ///@}

private:
    matrix<T> y_, ga_, gb_;
};

/// A * B.
template <expression A, expression B> auto matmul(A a, B b) { return matmul_node<false, false, A, B>(std::move(a), std::move(b)); }
/// op(A) * op(B) with compile-time transposes, e.g. matmul<false, true>(a, b) = A B^T.
template <bool TransA, bool TransB, expression A, expression B>
auto matmul(A a, B b) { return matmul_node<TransA, TransB, A, B>(std::move(a), std::move(b)); }

} // namespace b2m::ad
