// b2m/autodiff/matmul.hpp - C = op(A) * op(B) through OpenBLAS, transposes read in place.
#pragma once

#include <utility>

#include "b2m/autodiff/node_base.hpp"
#include "b2m/core/gemm.hpp"

namespace b2m::ad {

/// op(A) * op(B), op = transpose when TransA / TransB. Inner dimensions must agree
/// (shape_error naming both operands otherwise).
template <bool TransA, bool TransB, expression A, expression B>
struct matmul_node : node_base<matmul_node<TransA, TransB, A, B>, A, B> {
    using node_base<matmul_node, A, B>::node_base; ///< Takes both operands.

    /// y = op(x) op(z), shape (rows of op(x), columns of op(z)); throws b2m::shape_error naming
    /// both shapes when the inner dimensions differ.
    template <class T>
    void eval(matrix<T>& y, const matrix<T>& x, const matrix<T>& z) {
        gemm<T>(x, z, y, TransA, TransB, T(1), T(0), "left operand of ad::matmul", "right operand of ad::matmul");
    }
    // y = op(x) op(z): d op(x) = g op(z)^T, d op(z) = op(x)^T g.
    /// dL/dx = g op(z)^T (transposed when TransA).
    template <class T>
    void grad_a(matrix<T>& gx, const matrix<T>& g, const matrix<T>&, const matrix<T>&, const matrix<T>& z) {
        if constexpr (!TransA) gemm<T>(g, z, gx, false, !TransB);
        else gemm<T>(z, g, gx, TransB, true);
    }
    /// dL/dz = op(x)^T g (transposed when TransB).
    template <class T>
    void grad_b(matrix<T>& gz, const matrix<T>& g, const matrix<T>&, const matrix<T>& x, const matrix<T>&) {
        if constexpr (!TransB) gemm<T>(x, g, gz, !TransA, false);
        else gemm<T>(g, x, gz, true, TransA);
    }
};

/// A * B.
template <expression A, expression B> auto matmul(A a, B b) { return matmul_node<false, false, A, B>(std::move(a), std::move(b)); }
/// op(A) * op(B) with compile-time transposes, e.g. matmul<false, true>(a, b) = A B^T.
template <bool TransA, bool TransB, expression A, expression B>
auto matmul(A a, B b) { return matmul_node<TransA, TransB, A, B>(std::move(a), std::move(b)); }

} // namespace b2m::ad
