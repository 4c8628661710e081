// b2m/optim/param_groups.hpp - per-parameter-group learning rates and weight decay
// (torch.optim's param_groups), e.g. a smaller rate for a pretrained backbone:
//
//   optim::adam({.lr = 1e-3, .groups = {{.prefixes = optim::layer_prefixes(0, 7), .lr_scale = 0.1}}})
//
// A parameter belongs to the first group one of whose prefixes starts its name (names as
// the student's for_each_param gives them, e.g. "3.weight"); it then steps with
// lr * lr_scale (so schedules, which change lr, keep the ratio) and the group's weight
// decay (weight_decay < 0: the optimiser's). Parameters in no group use lr and the
// optimiser's weight decay. Groups are resolved once, on the optimiser's first step.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "b2m/core/error.hpp"

namespace b2m::optim {

/// One parameter group: the parameters whose names start with one of its prefixes.
struct param_group {
    std::vector<std::string> prefixes;  ///< name prefixes, e.g. "0." for layer 0
    double lr_scale = 1.0;              ///< multiplies the optimiser's (scheduled) lr; >= 0
    double weight_decay = -1.0;         ///< < 0: the optimiser's weight decay
};

/// The settings of one parameter after resolving the groups.
struct param_setting {
    double lr_scale = 1.0;     ///< multiplies the optimiser's lr for this parameter
    double weight_decay = 0.0; ///< this parameter's weight decay
};

/// Requires lr_scale >= 0 and finite in every group (error naming the group).
inline param_setting resolve_group(const std::vector<param_group>& groups, const std::string& name, double weight_decay) {
    for (std::size_t g = 0; g < groups.size(); ++g) {
        const auto& grp = groups[g];
        if (!(grp.lr_scale >= 0.0) || grp.lr_scale > 1e300)
            throw error("optim: parameter group " + std::to_string(g) + " has lr_scale " + std::to_string(grp.lr_scale) +
                        " (must be finite and >= 0)");
        for (const auto& p : grp.prefixes)
            if (name.compare(0, p.size(), p) == 0)
                return {grp.lr_scale, grp.weight_decay >= 0.0 ? grp.weight_decay : weight_decay};
    }
    return {1.0, weight_decay};
}

/// Prefixes "first.", ..., "last." naming the layers first..last of an nn::sequential.
/// Requires first <= last (error).
inline std::vector<std::string> layer_prefixes(std::size_t first, std::size_t last) {
    if (first > last)
        throw error("optim::layer_prefixes: first layer " + std::to_string(first) + " is after the last " + std::to_string(last));
    std::vector<std::string> out;
    for (std::size_t i = first; i <= last; ++i) out.push_back(std::to_string(i) + ".");
    return out;
}

} // namespace b2m::optim
