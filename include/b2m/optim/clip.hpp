// b2m/optim/clip.hpp - gradient-norm clipping over all parameters together.
#pragma once

#include <cmath>
#include <string>

#include "b2m/core/tensor.hpp"

namespace b2m::optim {

/// Scales every gradient visit(f) presents so that their joint L2 norm is at most
/// max_norm (like torch.nn.utils.clip_grad_norm_). Returns the norm before clipping.
/// Requires max_norm > 0.
template <real T, class Visit>
double clip_grad_norm(Visit&& visit, double max_norm) {
    double sq = 0;
    visit([&](const std::string&, matrix<T>&, matrix<T>& g) {
        for (std::size_t i = 0; i < g.size(); ++i) sq += double(g.data()[i]) * double(g.data()[i]);
    });
    const double norm = std::sqrt(sq);
    if (norm > max_norm) {
        const T scale = T(max_norm / (norm + 1e-6));
        visit([&](const std::string&, matrix<T>&, matrix<T>& g) {
            for (std::size_t i = 0; i < g.size(); ++i) g.data()[i] *= scale;
        });
    }
    return norm;
}

} // namespace b2m::optim
