// A consumer built against b2m taken with add_subdirectory: one GEMM through b2m.
#include <b2m/core/gemm.hpp>

#include <cstdio>

int main() {
    b2m::matrix<double> a = {{1, 2}, {3, 4}}, b = {{5, 6}, {7, 8}};
    b2m::matrix<double> c = xt::zeros<double>({2, 2});
    b2m::gemm(a, b, c);
    std::printf("b2m via add_subdirectory: c(1,1) = %g\n", c(1, 1));
    return c(1, 1) == 50 ? 0 : 1;
}
