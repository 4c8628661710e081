// b2m/nn/sequential.hpp - a chain of layers composed at compile time into one student type.
//
//   auto net = b2m::nn::sequential(nn::dense(784, 256), nn::relu{}, nn::tap<"embed">{},
//                                  nn::dense(256, 10));          // float
//   auto net64 = b2m::nn::sequential<double>(...);                 // double
//
// The layers live in a Boost.Hana tuple; forward and backward are unrolled at compile
// time. Objectives read net.output() and net.tap<"embed">().value() after forward, add
// their gradients into net.output_grad() and net.tap<"embed">().grad(), then backward()
// propagates everything to the parameters. Naming a tap that does not exist is a
// compile error.
#pragma once

#include <boost/hana/at.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>

#include <cstddef>
#include <string>
#include <utility>

#include "b2m/nn/layer.hpp"
#include "b2m/nn/tap.hpp"

namespace b2m::nn {

template <real T, class... Layers>
class sequential_t {
    static_assert(sizeof...(Layers) > 0, "b2m::nn::sequential needs at least one layer");
    static constexpr std::size_t npos = std::size_t(-1);

public:
    using value_type = T;
    static constexpr std::size_t size = sizeof...(Layers);

    explicit sequential_t(Layers... layers) : layers_(std::move(layers)...) {}

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
        boost::hana::for_each(layers_, [&](auto& l) { cur = &l.forward(*cur, c); });
        out_ = cur;
        ensure_shape_like(out_grad_, *cur);
        out_grad_.fill(T(0));
        return *cur;
    }

    /// Back-propagates output_grad() and every tap's grad() into the parameter gradients.
    /// Returns dL/d(input) when need_input_grad (else an empty matrix).
    const matrix<T>& backward(bool need_input_grad = false) {
        const matrix<T>* g = &out_grad_;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((g = &boost::hana::at_c<size - 1 - I>(layers_).backward(*g, (size - 1 - I) > 0 || need_input_grad)),
             ...);
        }(std::make_index_sequence<size>{});
        return *g;
    }

    const matrix<T>& output() const { return *out_; }
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

    template <std::size_t I>
    auto& layer() { return boost::hana::at_c<I>(layers_); }

    /// Index of the tap named Name, or npos.
    template <fixed_string Name>
    static constexpr std::size_t tap_index() {
        std::size_t found = npos, i = 0;
        (((detail::tap_name_of<Layers>::is_tap && tap_name_matches<Layers, Name>() ? (found = i) : 0), ++i), ...);
        return found;
    }
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
    template <fixed_string Name>
    static constexpr int tap_rank() { return rank_at<tap_index<Name>()>(); }
    static constexpr int output_rank() { return rank_at<size>(); }

private:
    template <class L, fixed_string Name>
    static constexpr bool tap_name_matches() {
        if constexpr (detail::tap_name_of<L>::is_tap) return detail::tap_name_of<L>::name == Name;
        else return false;
    }
    boost::hana::tuple<Layers...> layers_;
    const matrix<T>* out_ = nullptr;
    matrix<T> out_grad_;
};

/// Composes layer specs into a student computing in T (default float).
template <real T = float, layer_spec... Specs>
auto sequential(const Specs&... specs) {
    return sequential_t<T, decltype(specs.template make<T>())...>(specs.template make<T>()...);
}

} // namespace b2m::nn
