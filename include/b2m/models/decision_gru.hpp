// b2m/models/decision_gru.hpp - the B2M decision GRU: a one-layer GRU over a trial's
// stimulus sequence, the last step's state read out into choice logits (as in
// examples/gru_decision.cpp and the Steinmetz study).
//
//   auto net = models::decision_gru<float>({.features = 8, .hidden = 64, .classes = 2});
//
// Input (B, T*features) sequences (nn/sequence.hpp); output (B, classes). Layers
// (torch.nn.Sequential indices): [0] gru(features, hidden) tap "states" (B, T*hidden)
// [1] last step [2] linear(hidden, classes). PyTorch twin: nn.GRU(batch_first=True) as
// module 0 (weight_ih_l0, ...), a last-step module 1, nn.Linear as module 2.
#pragma once

#include "b2m/nn/dense.hpp"
#include "b2m/nn/last_step.hpp"
#include "b2m/nn/recurrent.hpp"
#include "b2m/nn/sequential.hpp"
#include "b2m/nn/tap.hpp"

namespace b2m::models {

/// Sizes of models::decision_gru.
struct decision_gru_options {
    std::size_t features = 8;  ///< Inputs per time step.
    std::size_t hidden = 64;   ///< GRU hidden units (width of tap "states" per step).
    std::size_t classes = 2;   ///< Output logits of the decision read from the last step.
};

template <real T = float>
auto decision_gru(const decision_gru_options& o = {}) {
    return nn::sequential<T>(nn::gru(o.features, o.hidden), nn::tap<"states">{}, nn::last_step(o.hidden),
                             nn::dense(o.hidden, o.classes, true, nn::init::fan_in_uniform));
}

} // namespace b2m::models
