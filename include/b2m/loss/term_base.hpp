// b2m/loss/term_base.hpp - what every objective term object shares, written once, so a new
// term is its maths and nothing else; and term_spec_of, the one spec every term uses.
//
// A term object (the contract at the head of loss/objective.hpp) derives from
// term_base<Derived, T, Sources...>, naming the sources it reads, and writes its maths
// on the sources' matrices:
//
//     template <real T, class A>
//     class sse_term : public loss::term_base<sse_term<T, A>, T, A> {
//     public:
//         static constexpr std::string_view term_name = "sse";    // name(): "sse(<A>)"
//         static_assert(loss::source_traits<A>::from_student, "sse reads a student source");
//         T value(const data::batch<T>&, const loss::source_ref<T>& a) {       // L
//             T s = 0;
//             for (std::size_t i = 0; i < a.value.size(); ++i) s += a.value.data()[i] * a.value.data()[i];
//             return s;
//         }
//         void gradient(const data::batch<T>&, T weight, const loss::source_ref<T>& a) {  // += w dL
//             for (std::size_t i = 0; i < a.value.size(); ++i) a.grad->data()[i] += weight * 2 * a.value.data()[i];
//         }
//     };
//     template <loss::source A>
//     auto sse(A) { return loss::make_term_spec<sse_term>(loss::source_list<A>{}); }
//
// The base supplies the term interface around that maths:
//   name()              term_name followed by the sources' names, "sse(nn::tap<\"h\">)"
//   check<Student>()    every source exists in Student with rank source_rank (0: any)
//   forward(student, b) value(b, source_ref of each source...), the sources in order
//   backward(student, b, w)  gradient(b, w, source_ref of each source...)
//   for_each_param(f)   visits nothing
// A derived term hides any of these by declaring its own (a term with parameters declares
// for_each_param; a term whose name depends on its options declares name(), usually with
// call_name). A source_ref's grad is nullptr for a batch field (data::brain, ...): the
// gradient goes only into the student's sources. Constraints on the sources' roles (a side
// must be the student's, a target a batch field) are static_asserts in the term's class.
// Neither forward nor backward allocates: a step builds no string unless it throws.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "b2m/core/tensor.hpp"
#include "b2m/data/batch.hpp"
#include "b2m/loss/objective.hpp"
#include "b2m/loss/source.hpp"

namespace b2m::loss {

/// One source as a term's maths sees it during a step: its matrix, the buffer its gradient is
/// added into, its logical rank and its name (for error messages).
template <real T>
struct source_ref {
    const matrix<T>& value; ///< The source's matrix this step (valid after the student's forward).
    matrix<T>* grad;        ///< Where dL/d(value) is added, shaped like value; nullptr for a batch field.
    int rank;               ///< Logical rank: 2 (batch, features) or 3 (batch, time, features) stored (B, T*F).
    std::string (*name)();  ///< The source's name, "nn::tap<\"h\">" (call it only on error paths: it allocates).
};

/// The sources a term reads, in order, as one template argument (for make_term_spec).
template <class... Sources>
struct source_list {};

/// The term interface around a term's maths (see the head of this file).
/// Requires: Derived derives from term_base<Derived, T, Sources...>, each of Sources is a
/// loss::source, and Derived provides either term_name and the value / gradient hooks, or
/// its own name() / forward / backward.
template <class Derived, real T, class... Sources>
class term_base {
public:
    /// @name Term interface defaults (a derived term hides any of them by declaring its own)
    ///@{

    /// The logical rank check() requires of every source (0: any); a term declares its own to
    /// require, e.g., 2 ((batch, features)).
    static constexpr int source_rank = 0;
    /// "<Derived::term_name>(<source>, ...)", the sources in order, e.g. "mse(nn::output, data::brain)".
    std::string name() const { return call_name(Derived::term_name); }
    /// Compile time: every source exists in Student with rank Derived::source_rank (static_assert,
    /// see loss::check_source).
    template <class Student>
    static constexpr void check() {
        (check_source<Student, Sources, Derived::source_rank>(), ...);
    }
    /// Derived's value(batch, source_ref...), one source_ref per source in order (after the
    /// student's forward of b).
    template <class Student>
    T forward(Student& s, const data::batch<T>& b) {
        return self().value(b, ref<Sources>(s, b)...);
    }
    /// Derived's gradient(batch, weight, source_ref...) (after forward of b): adds weight *
    /// dL/d(source) into each non-null grad and weight * dL/d(parameter) into the term's parameters.
    template <class Student>
    void backward(Student& s, const data::batch<T>& b, T weight) {
        self().gradient(b, weight, ref<Sources>(s, b)...);
    }
    /// Visits nothing (a term without parameters).
    template <class F>
    void for_each_param(F&&) {}
    ///@}

protected:
    /// "<fn>(<source 1>, ..., <source n><suffix>)", e.g. call_name("latent", " reduced").
    static std::string call_name(std::string_view fn, std::string_view suffix = {}) {
        std::string s(fn);
        s += '(';
        std::size_t k = 0;
        ((s += (k++ ? ", " : ""), s += source_traits<Sources>::name()), ...);
        s += suffix;
        s += ')';
        return s;
    }
    /// Source S of student s and batch b as the maths sees it (grad nullptr for a batch field).
    template <class S, class Student>
    static source_ref<T> ref(Student& s, const data::batch<T>& b) {
        using tr = source_traits<S>;
        matrix<T>* g = nullptr;
        if constexpr (tr::from_student) g = tr::grad(s);
        return {tr::value(s, b), g, tr::template rank<Student>(), &tr::name};
    }
    /// The term this base belongs to.
    Derived& self() { return static_cast<Derived&>(*this); }
};

/// The spec of a term object Term<T, S...> for Sources = source_list<S...>: keeps Term's
/// constructor arguments (its options) and makes the object for any scalar type.
/// loss::mse(a, b) returns term_spec_of<mse_term, source_list<A, B>>; loss::contrastive(a, b, o)
/// one with Args = contrastive_options.
template <template <class, class...> class Term, class Sources, class... Args>
struct term_spec_of : term_spec_tag {
    std::tuple<Args...> args; ///< Term's constructor arguments (copied into every object made).
    /// The term object for scalar type T: Term<T, S...>(args...) (throws as that constructor does).
    template <real T>
    auto make() const { return make_from<T>(Sources{}); }

private:
    template <real T, class... S>
    Term<T, S...> make_from(source_list<S...>) const {
        return std::apply([](const Args&... a) { return Term<T, S...>(a...); }, args);
    }
};

/// The spec of Term reading sources S..., whose objects are constructed from args.
template <template <class, class...> class Term, class... S, class... Args>
auto make_term_spec(source_list<S...>, Args... args) {
    return term_spec_of<Term, source_list<S...>, Args...>{{}, {std::move(args)...}};
}

} // namespace b2m::loss
