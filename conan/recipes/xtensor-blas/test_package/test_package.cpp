// Uses BLAS (dot) and LAPACK (solve): x = A^-1 b must reproduce b when multiplied back.
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xtensor.hpp>

#include <cmath>
#include <iostream>

int main() {
    xt::xtensor<double, 2> a = {{4.0, 1.0}, {2.0, 3.0}};
    xt::xtensor<double, 1> b = {1.0, 2.0};
    xt::xtensor<double, 1> x = xt::linalg::solve(a, b);
    xt::xtensor<double, 1> back = xt::linalg::dot(a, x);
    const double err = std::abs(back(0) - b(0)) + std::abs(back(1) - b(1));
    std::cout << "xtensor-blas: solve/dot residual " << err << "\n";
    return err < 1e-12 ? 0 : 1;
}
