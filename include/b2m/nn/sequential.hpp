// b2m/nn/sequential.hpp - a chain of layers composed at compile time into one student type.
//
//   auto net = b2m::nn::sequential(nn::dense(784, 256), nn::relu{}, nn::tap<"embed">{},
//                                  nn::dense(256, 10));          // float
//   auto net64 = b2m::nn::sequential<double>(...);                 // double
//
// Shapes flow (nn/shape_flow.hpp): the specs are made in order, and an image layer whose
// input shape was left out gets the output shape of the layers before it:
//   nn::sequential(nn::conv2d({.out_channels = 8, .kernel = 3}, {1, 28, 28}), nn::relu{},
//                  nn::max_pool2d({.kernel = 2}), nn::flatten{}, nn::dense(nn::inferred, 10));
// A shape given explicitly must equal what flows in; a mismatch, or a left-out shape that
// nothing before provides, is a shape_error "nn::sequential: layer <i>: ..." naming both
// shapes, thrown when the student is built.
//
// The layers live in a Boost.Hana tuple; forward and backward are unrolled at compile
// time. A dense layer followed by an element-wise activation runs as one step (bias and
// activation in the pass after the GEMM; the activation's derivative and the bias gradient
// in one pass before the backward GEMMs: core/affine.hpp), leaving both layers as if each
// had run alone (the same outputs; gradients equal up to float rounding). Objectives read net.output() and
// net.tap<"embed">().value() after forward, add their gradients into net.output_grad()
// and net.tap<"embed">().grad(), then backward() propagates everything to the parameters.
// Naming a tap that does not exist is a compile error.
//
// Fine-tuning (nn/freeze.hpp selects layers by tap block or index range): set_frozen(i)
// freezes layer i. A frozen layer's parameters are not presented by
// for_each_trainable_param (what the trainer hands the optimiser: no update, no optimiser
// state, no weight decay) and receive no gradient: layers that support set_trainable skip
// their weight-gradient products, and backward stops below the lowest trainable layer
// (nothing beneath it is computed). set_batch_norm_eval(true) keeps every batch_norm layer
// on its running statistics (not updated) even in training steps.
#pragma once

#include <boost/hana/at.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <string>
#include <tuple>
#include <utility>

#include "b2m/core/error.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/shape_flow.hpp"
#include "b2m/nn/tap.hpp"

namespace b2m::nn {

/// A student: the layers Layers... applied in order to rows of T (what nn::sequential makes).
/// Owns its layers (parameters, gradients, buffers) and the output gradient; after the first
/// forward with a given batch shape, forward and backward allocate nothing.
/// Requires: at least one layer, each an nn::layer_object<T>.
template <real T, class... Layers>
class sequential_t {
    static_assert(sizeof...(Layers) > 0, "b2m::nn::sequential needs at least one layer");
    static_assert((layer_object<Layers, T> && ...),
                  "b2m::nn::sequential: a layer's spec made an object that is not an nn::layer_object<T> (see "
                  "nn/layer.hpp: rank_out, init(rng&), forward(x, step_context), backward(gy, bool))");
    static constexpr std::size_t npos = std::size_t(-1);

public:
    using value_type = T;  ///< the scalar type of every parameter and activation
    static constexpr std::size_t size = sizeof...(Layers);  ///< number of layers (taps included)

    /// Takes the made layers (nn::sequential makes them from specs, passing shapes along) and
    /// records which have parameters; no parameter is drawn until init().
    explicit sequential_t(Layers... layers) : layers_(std::move(layers)...) {
        std::size_t i = 0;
        boost::hana::for_each(layers_, [&](auto& l) {
            l.for_each_param([&](const std::string&, matrix<T>&, matrix<T>&) { has_params_[i] = true; });
            ++i;
        });
        update_first_trainable();
    }

    /// Draws every layer's parameters from r (layer i uses r.split(i)).
    void init(const rng& r) {
        std::size_t i = 0;
        boost::hana::for_each(layers_, [&](auto& l) {
            rng ri = r.split(i++);
            l.init(ri);
        });
    }

    /// Runs the chain on x (rows = batch items). x must stay alive until backward().
    const matrix<T>& forward(const matrix<T>& x, const step_context& c = {}) {
        const matrix<T>* cur = &x;
        forward_from<0>(cur, c);
        out_ = cur;
        ensure_shape_like(out_grad_, *cur);
        out_grad_.fill(T(0));
        return *cur;
    }

    /// Back-propagates output_grad() and every tap's grad() into the parameter gradients.
    /// Returns dL/d(input) when need_input_grad (else an empty matrix).
    /// Layers below the lowest trainable layer are skipped unless need_input_grad.
    const matrix<T>& backward(bool need_input_grad = false) {
        const matrix<T>* g = &out_grad_;
        const std::size_t first = first_trainable_;
        bool go = true;
        backward_from<size>(g, go, first, need_input_grad);
        if (zero_after_backward_) zero_frozen_grads();
        if (!go) {
            ensure_shape(empty_, 0, 0);
            return empty_;
        }
        return *g;
    }

    /// The last forward's output (rows x output width); valid until the next forward.
    const matrix<T>& output() const { return *out_; }
    /// dL/d(output) that objectives add into (zeroed by each forward, shaped like output());
    /// backward() propagates it.
    matrix<T>& output_grad() { return out_grad_; }

    /// Calls f(name, value, grad) for every parameter, names like "2.weight".
    template <class F>
    void for_each_param(F&& f) {
        std::size_t i = 0;
        boost::hana::for_each(layers_, [&](auto& l) {
            const std::string prefix = std::to_string(i++) + ".";
            l.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>& g) { f(prefix + n, v, g); });
        });
    }

    /// Like for_each_param, without the parameters of frozen layers (what an optimiser
    /// should update).
    template <class F>
    void for_each_trainable_param(F&& f) {
        std::size_t i = 0;
        boost::hana::for_each(layers_, [&](auto& l) {
            const std::size_t k = i++;
            if (frozen_[k]) return;
            const std::string prefix = std::to_string(k) + ".";
            l.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>& g) { f(prefix + n, v, g); });
        });
    }

    /// Freezes (frozen = true) or unfreezes layer i (0-based, taps and parameter-free layers
    /// count). Requires i < size (shape_error). Takes effect at the next backward.
    void set_frozen(std::size_t i, bool frozen = true) {
        if (i >= size)
            throw shape_error("nn::sequential::set_frozen: layer index " + std::to_string(i) + " is out of range (the student has " +
                              std::to_string(size) + " layers)");
        frozen_[i] = frozen;
        zero_after_backward_ = false;
        std::size_t k = 0;
        boost::hana::for_each(layers_, [&](auto& l) {
            const std::size_t j = k++;
            if constexpr (requires { l.set_trainable(true); }) {
                l.set_trainable(!frozen_[j]);
            } else {
                if (frozen_[j] && has_params_[j]) zero_after_backward_ = true;
            }
        });
        update_first_trainable();
    }
    /// Whether layer i is frozen (set_frozen); false for i >= size.
    bool frozen(std::size_t i) const { return i < size && frozen_[i]; }
    /// Whether layer i has learnable parameters.
    bool has_params(std::size_t i) const { return i < size && has_params_[i]; }
    /// The lowest layer with trainable parameters (size if none): backward stops there.
    std::size_t first_trainable() const { return first_trainable_; }

    /// on: every batch_norm layer normalises with its running statistics and leaves them
    /// unchanged, also in training steps (as PyTorch's bn.eval() during fine-tuning).
    void set_batch_norm_eval(bool on) {
        boost::hana::for_each(layers_, [&](auto& l) {
            if constexpr (requires { l.set_eval(true); }) l.set_eval(on);
        });
    }

    /// Gives every batch_norm layer a reducer that sums its training statistics over the
    /// replicas of a data-parallel step (synchronised batch norm; an empty function: off).
    /// Returns the number of layers that took it.
    template <class F>
    std::size_t set_batch_norm_reducer(const F& sum) {
        std::size_t k = 0;
        boost::hana::for_each(layers_, [&](auto& l) {
            if constexpr (requires { l.set_reducer(sum); }) l.set_reducer(sum), ++k;
        });
        return k;
    }

    /// Calls f(name, value) for every non-learned state matrix of layers that have one
    /// (e.g. batch_norm's running statistics), names like "3.running_mean".
    template <class F>
    void for_each_buffer(F&& f) {
        std::size_t i = 0;
        boost::hana::for_each(layers_, [&](auto& l) {
            const std::string prefix = std::to_string(i++) + ".";
            if constexpr (requires { l.for_each_buffer([](const std::string&, matrix<T>&) {}); })
                l.for_each_buffer([&](const std::string& n, matrix<T>& v) { f(prefix + n, v); });
        });
    }

    /// Layer I (0-based, taps counted); I >= size is a compile error.
    template <std::size_t I>
    auto& layer() { return boost::hana::at_c<I>(layers_); }

    /// Index of the tap named Name, or npos.
    template <fixed_string Name>
    static constexpr std::size_t tap_index() {
        std::size_t found = npos, i = 0;
        (((detail::tap_name_of<Layers>::is_tap && tap_name_matches<Layers, Name>() ? (found = i) : 0), ++i), ...);
        return found;
    }
    /// Whether this student contains nn::tap<Name> (for compile-time checks of objectives).
    template <fixed_string Name>
    static constexpr bool has_tap() { return tap_index<Name>() != npos; }

    /// The tap named Name. A name not in this student is a compile error.
    template <fixed_string Name>
    auto& tap() {
        constexpr std::size_t i = tap_index<Name>();
        static_assert(i != npos, "b2m: the objective names an nn::tap<\"...\"> that this student does not contain "
                                 "(the missing name is in the instantiation of tap<Name> above)");
        return boost::hana::at_c<i>(layers_);
    }

    /// Logical rank of the activation entering layer I (2 for the input; a tap keeps the
    /// rank of what enters it). rank_at<size>() is the output's rank.
    template <std::size_t I>
    static constexpr int rank_at() {
        constexpr int ranks[] = {Layers::rank_out...};
        int r = 2;
        for (std::size_t k = 0; k < I; ++k)
            if (ranks[k] != 0) r = ranks[k];
        return r;
    }
    /// Logical rank of the activation at tap Name (2 rows x features, 3 sequences, 4 images).
    template <fixed_string Name>
    static constexpr int tap_rank() { return rank_at<tap_index<Name>()>(); }
    /// Logical rank of the output (as tap_rank).
    static constexpr int output_rank() { return rank_at<size>(); }

private:
    /// Whether layer I computes layer I + 1 in its own passes (nn::dense followed by an
    /// element-wise activation: bias + activation after the GEMM, the activation's
    /// derivative + the bias gradient in one pass before the backward GEMMs).
    template <std::size_t I>
    static constexpr bool fused_pair() {
        if constexpr (I + 1 >= size) return false;
        else
            return requires(typename std::tuple_element<I, std::tuple<Layers...>>::type & l,
                            typename std::tuple_element<I + 1, std::tuple<Layers...>>::type & next, const matrix<T>& x,
                            const matrix<T>& gy, const step_context& c) {
                l.forward_fused(x, next, c);
                l.backward_fused(gy, next, true);
            };
    }
    /// Whether layer I is the activation of a fused pair (I - 1, I).
    template <std::size_t I>
    static constexpr bool fused_below() {
        if constexpr (I == 0) return false;
        else return fused_pair<I - 1>();
    }
    template <std::size_t I>
    void forward_from(const matrix<T>*& cur, const step_context& c) {
        if constexpr (I < size) {
            if constexpr (fused_pair<I>()) {
                cur = &boost::hana::at_c<I>(layers_).forward_fused(*cur, boost::hana::at_c<I + 1>(layers_), c);
                forward_from<I + 2>(cur, c);
            } else {
                cur = &boost::hana::at_c<I>(layers_).forward(*cur, c);
                forward_from<I + 1>(cur, c);
            }
        }
    }
    /// Back-propagates through layers K-1, K-2, ..., 0 (a fused pair as one step); `go`
    /// turns false below the lowest layer that needs to run (see backward()).
    template <std::size_t K>
    void backward_from(const matrix<T>*& g, bool& go, std::size_t first, bool need_input_grad) {
        if constexpr (K > 0) {
            constexpr std::size_t I = K - 1;
            if constexpr (fused_below<I>()) {
                // Layer I (parameter-free) runs exactly when layer I - 1 does.
                go = go && (need_input_grad || I - 1 >= first);
                if (go)
                    g = &boost::hana::at_c<I - 1>(layers_).backward_fused(*g, boost::hana::at_c<I>(layers_),
                                                                          I - 1 > first || need_input_grad);
                backward_from<K - 2>(g, go, first, need_input_grad);
            } else {
                go = go && (need_input_grad || I >= first);
                if (go) g = &boost::hana::at_c<I>(layers_).backward(*g, I > first || need_input_grad);
                backward_from<K - 1>(g, go, first, need_input_grad);
            }
        }
    }
    template <class L, fixed_string Name>
    static constexpr bool tap_name_matches() {
        if constexpr (detail::tap_name_of<L>::is_tap) return detail::tap_name_of<L>::name == Name;
        else return false;
    }
    void update_first_trainable() {
        first_trainable_ = size;
        for (std::size_t i = 0; i < size; ++i)
            if (has_params_[i] && !frozen_[i]) {
                first_trainable_ = i;
                break;
            }
    }
    /// Frozen layers without set_trainable computed their gradients: discard them.
    void zero_frozen_grads() {
        std::size_t k = 0;
        boost::hana::for_each(layers_, [&](auto& l) {
            if (frozen_[k++]) l.for_each_param([](const std::string&, matrix<T>&, matrix<T>& g) { g.fill(T(0)); });
        });
    }
    boost::hana::tuple<Layers...> layers_;
    const matrix<T>* out_ = nullptr;
    matrix<T> out_grad_, empty_;
    std::array<bool, size> frozen_{}, has_params_{};
    std::size_t first_trainable_ = 0;
    bool zero_after_backward_ = false;
};

namespace detail {
template <class S>
concept keeps_flow = requires { requires bool(S::keeps_shape); };
template <class S>
concept sets_flow = requires(const S s, const flow_shape& f) {
    { s.output_flow(f) } -> std::same_as<flow_shape>;
};
template <class S>
concept takes_flow = requires(const S s, const flow_shape& f) {
    { s.with_input(f) } -> std::same_as<S>;
};

/// Makes the layers of a chain in order, passing each spec what flows out of the specs
/// before it (nn/shape_flow.hpp). A shape_error from spec I becomes
/// "nn::sequential: layer I: <message> (<where the shape entering layer I comes from>)".
struct flow_builder {
    static constexpr std::size_t none = std::size_t(-1);
    flow_shape flow{};
    std::size_t from = none;  // the layer whose output `flow` is (none: nothing before)
    bool from_undeclared = false;  // layer `from` does not declare its output (flow unknown)

    template <real T, std::size_t I, class S>
    auto make(const S& spec) {
        try {
            if constexpr (takes_flow<S>) return advance<T, I>(spec.with_input(flow));
            else return advance<T, I>(spec);
        } catch (const shape_error& e) {
            rethrow_at(I, e);
        }
    }

    /// What comes after each spec (out of line of the per-layer templates: they stay small,
    /// which keeps the compile time of long chains down).
    void set(const flow_shape& f, std::size_t i) { flow = f, from = i, from_undeclared = false; }
    void end(std::size_t i) { flow = {}, from = i, from_undeclared = true; }
    [[noreturn]] [[gnu::noinline, gnu::cold]] void rethrow_at(std::size_t i, const shape_error& e) const {
        const std::string where =
            from == none ? std::string(i == 0 ? "it is the first layer" : "no layer before it gives a shape")
            : from_undeclared ? "layer " + std::to_string(from) + " before it does not declare its output shape"
                              : "the shape entering it is the output of layer " + std::to_string(from);
        throw shape_error("nn::sequential: layer " + std::to_string(i) + ": " + e.what() + " (" + where + ")");
    }

private:
    template <real T, std::size_t I, class S>
    auto advance(const S& spec) {
        auto layer = spec.template make<T>();
        if constexpr (sets_flow<S>) set(spec.output_flow(flow), I);
        else if constexpr (!keeps_flow<S>) end(I);
        return layer;
    }
};
} // namespace detail

/// Composes layer specs into a student computing in T (default float). The specs are made
/// in order; an image layer whose input shape was left out takes the output shape of the
/// layers before it, and a shape given explicitly is checked against it (nn/shape_flow.hpp;
/// shape_error "nn::sequential: layer <i>: ..." naming both shapes).
template <real T = float, layer_spec... Specs>
auto sequential(const Specs&... specs) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
        detail::flow_builder b;
        // Braced initialisation evaluates left to right: spec I sees the flow of specs < I.
        return sequential_t<T, decltype(specs.template make<T>())...>{b.template make<T, I>(specs)...};
    }(std::index_sequence_for<Specs...>{});
}

} // namespace b2m::nn
