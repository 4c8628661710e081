// b2m/loss/objective.hpp - objective terms and their compile-time weighted sum.
//
//   auto objective = loss::cross_entropy(nn::output, data::labels)
//                  + 0.5 * loss::mse(nn::tap<"embed">{}, data::brain);
//
// A term *spec* (what loss::cross_entropy(...) returns) derives from term_spec_tag and
// builds, with make<T>(), a term *object* providing:
//   std::string name() const
//   template <class Student> static constexpr void check()      static_asserts on sources
//   template <class Student> T forward(Student&, const data::batch<T>&)   the term's value
//   template <class Student> void backward(Student&, const data::batch<T>&, T weight)
//        adds weight * d(value)/d(source) into the student's output/tap gradients and
//        into the term's own parameter gradients (projection heads, temperature, ...)
//   template <class F> void for_each_param(F&&)                 f(name, value, grad)
// forward runs after the student's forward of the same batch; backward after forward.
// b2m's terms derive from loss::term_base (loss/term_base.hpp), which supplies all of this
// but the maths, and their specs are loss::term_spec_of; a term written by hand may too.
// The objective is the weighted sum of its terms; it keeps each term's last value.
#pragma once

#include <boost/hana/at.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>

#include <array>
#include <cmath>
#include <concepts>
#include <string>
#include <type_traits>
#include <utility>

#include "b2m/core/error.hpp"
#include "b2m/loss/source.hpp"
#include "b2m/data/batch.hpp"

namespace b2m::loss {

/// Base of every term spec.
struct term_spec_tag {};

template <class S>
concept term_spec = std::derived_from<std::remove_cvref_t<S>, term_spec_tag>;

/// The objective object: terms for scalar type T with their weights.
template <real T, class... Terms>
class objective_t {
public:
    static constexpr std::size_t size = sizeof...(Terms); ///< The number of terms.
    using value_type = T;                                   ///< The scalar type of values and weights.

    /// Term k gets weights[k] (also its base weight).
    objective_t(std::array<T, size> weights, Terms... terms)
        : weights_(weights), base_weights_(weights), terms_(std::move(terms)...) {}

    /// Compile-time: every term's sources exist in Student with the ranks it needs (static_assert).
    template <class Student>
    static constexpr void check() {
        (Terms::template check<Student>(), ...);
    }

    /// Evaluates every term. Throws nonfinite_error naming the first non-finite term
    /// (its value is kept in values()). Returns the weighted sum.
    template <class Student>
    T forward(Student& s, const data::batch<T>& b) {
        T total = 0;
        std::size_t k = 0;
        boost::hana::for_each(terms_, [&](auto& t) {
            const T v = t.forward(s, b);
            values_[k] = v;
            if (!std::isfinite(v))
                throw nonfinite_error("objective term '" + t.name() + "' is not finite (" + std::to_string(v) +
                                      "); the step was not applied");
            total += weights_[k] * v;
            ++k;
        });
        return total;
    }
    /// After forward on the same batch: adds weight_k * d(term k)/d(source) into the student's
    /// output/tap gradients and the terms' parameter gradients (a term of weight 0 is skipped).
    template <class Student>
    void backward(Student& s, const data::batch<T>& b) {
        std::size_t k = 0;
        boost::hana::for_each(terms_, [&](auto& t) {
            if (weights_[k] != T(0)) t.backward(s, b, weights_[k]);
            ++k;
        });
    }
    /// Calls f(name, value, grad) for every parameter of every term, named
    /// "objective.<k>.<the parameter's name in term k>" (built in a reused member buffer).
    template <class F>
    void for_each_param(F&& f) {
        std::size_t k = 0;
        boost::hana::for_each(terms_, [&](auto& t) {
            const std::string prefix = "objective." + std::to_string(k++) + ".";
            // The full name is built in a reused member buffer: no allocation per step.
            t.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>& g) {
                name_buf_.assign(prefix);
                name_buf_.append(n);
                f(name_buf_, v, g);
            });
        });
    }

    /// Names of the terms, in order.
    std::array<std::string, size> names() const {
        std::array<std::string, size> out;
        std::size_t k = 0;
        boost::hana::for_each(terms_, [&](const auto& t) { out[k++] = t.name(); });
        return out;
    }
    /// Each term's value at the last forward (unweighted; 0 before any).
    const std::array<T, size>& values() const { return values_; }
    /// The current weights (base weights unless set_weight changed them).
    const std::array<T, size>& weights() const { return weights_; }
    /// The weights the objective was composed with (schedules scale these).
    const std::array<T, size>& base_weights() const { return base_weights_; }
    /// Sets term k's weight from the next forward/backward on (a weight schedule).
    /// Requires k < size and a finite w.
    void set_weight(std::size_t k, T w) {
        if (k >= size) throw error("objective: no term " + std::to_string(k) + " (it has " + std::to_string(size) + ")");
        if (!std::isfinite(w)) throw data_error("objective: the weight of term " + std::to_string(k) + " must be finite");
        weights_[k] = w;
    }
    /// Term object I (I < size, checked at compile time), e.g. to read a head's parameters.
    template <std::size_t I>
    auto& term() { return boost::hana::at_c<I>(terms_); }

private:
    std::array<T, size> weights_, base_weights_;
    boost::hana::tuple<Terms...> terms_;
    std::array<T, size> values_{};
    std::string name_buf_;  ///< for_each_param's parameter names (capacity kept across steps)
};

/// The spec of a weighted sum of term specs.
template <class... Specs>
struct objective {
    static constexpr std::size_t size = sizeof...(Specs); ///< The number of terms.
    std::array<double, size> weights;                     ///< weights[k] multiplies term k.
    boost::hana::tuple<Specs...> specs;                   ///< The term specs, in order.

    /// Builds the objective object for scalar type T (each spec's make<T>(), the weights cast to T).
    template <real T>
    auto make() const {
        std::array<T, size> w;
        for (std::size_t k = 0; k < size; ++k) w[k] = T(weights[k]);
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            return objective_t<T, decltype(boost::hana::at_c<I>(specs).template make<T>())...>(
                w, boost::hana::at_c<I>(specs).template make<T>()...);
        }(std::make_index_sequence<size>{});
    }
};

template <class O>
struct is_objective : std::false_type {};
template <class... S>
struct is_objective<objective<S...>> : std::true_type {};

/// A term spec or an objective: anything that can be summed and weighted.
template <class X>
concept objective_like = term_spec<X> || is_objective<std::remove_cvref_t<X>>::value;

/// Turns a term spec into a one-term objective (weight 1); leaves objectives as they are.
template <objective_like X>
auto as_objective(const X& x) {
    if constexpr (is_objective<X>::value) return x;
    else return objective<X>{{1.0}, boost::hana::make_tuple(x)};
}

template <objective_like A, objective_like B>
auto operator+(const A& a, const B& b) {
    const auto oa = as_objective(a);
    const auto ob = as_objective(b);
    return [&]<std::size_t... I, std::size_t... J>(std::index_sequence<I...>, std::index_sequence<J...>) {
        using result = objective<std::remove_cvref_t<decltype(boost::hana::at_c<I>(oa.specs))>...,
                                 std::remove_cvref_t<decltype(boost::hana::at_c<J>(ob.specs))>...>;
        return result{{oa.weights[I]..., ob.weights[J]...},
                      boost::hana::make_tuple(boost::hana::at_c<I>(oa.specs)..., boost::hana::at_c<J>(ob.specs)...)};
    }(std::make_index_sequence<decltype(oa)::size>{}, std::make_index_sequence<decltype(ob)::size>{});
}

template <objective_like A>
auto operator*(double w, const A& a) {
    auto o = as_objective(a);
    for (auto& x : o.weights) x *= w;
    return o;
}
template <objective_like A>
auto operator*(const A& a, double w) { return w * a; }

} // namespace b2m::loss
