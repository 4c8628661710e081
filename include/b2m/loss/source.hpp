// b2m/loss/source.hpp - what an objective term can read: the student's output
// (nn::output), a named tap (nn::tap<"embed">{}), or a batch field (data::targets,
// data::brain, data::inputs). Student sources carry a gradient buffer; data does not.
#pragma once

#include <string>
#include <type_traits>

#include "b2m/nn/tap.hpp"
#include "b2m/data/batch.hpp"

namespace b2m::loss {

template <class S>
struct source_traits;  ///< undefined for anything that is not a source

/// The student's output as a source (the last layer's activations).
template <>
struct source_traits<nn::output_t> {
    /// @name Source interface (every source_traits specialisation, see the head of b2m/loss/source.hpp)
    ///@{

    /// Source interface: from_student is true when the matrix is the student's (then it has a
    /// gradient buffer), false for a batch field; name() names the source in error messages;
    /// valid<Student>() says whether Student provides it; rank<Student>() is its logical rank
    /// (2: (batch, features), 3: (batch, time, features)); value(student, batch) is the matrix
    /// (valid after the student's forward); grad(student) points to the buffer, shaped like
    /// value, that a term adds dL/d(value) into, or is nullptr for data (no gradient).
    static constexpr bool from_student = true;
    static std::string name() { return "nn::output"; }
    template <class Student> static constexpr bool valid() { return true; }
    template <class Student> static constexpr int rank() { return Student::output_rank(); }
    template <class Student, class B>
    static const auto& value(Student& s, const B&) { return s.output(); }
    template <class Student>
    static auto* grad(Student& s) { return &s.output_grad(); }
    ///@}
};

/// The value of the student's tap named Name as a source (valid only when the student has it).
template <fixed_string Name>
struct source_traits<nn::tap<Name>> {
    /// @name Source interface (every source_traits specialisation, see the head of b2m/loss/source.hpp)
    ///@{

    /// Source interface: as for source_traits<nn::output_t>: value is the tap's value, grad its
    /// gradient buffer; valid and rank are the student's has_tap<Name>() and tap_rank<Name>().
    static constexpr bool from_student = true;
    static std::string name() { return "nn::tap<\"" + std::string(Name.view()) + "\">"; }
    template <class Student> static constexpr bool valid() { return Student::template has_tap<Name>(); }
    template <class Student> static constexpr int rank() { return Student::template tap_rank<Name>(); }
    template <class Student, class B>
    static const auto& value(Student& s, const B&) { return s.template tap<Name>().value(); }
    template <class Student>
    static auto* grad(Student& s) { return &s.template tap<Name>().grad(); }
    ///@}
};

#define B2M_DATA_SOURCE(tag, field)                                                                \
    /** A batch field (rank 2, no gradient) as a source. */                                     \
    template <>                                                                                    \
    struct source_traits<data::tag> {                                                              \
        /** @name Source interface (see source_traits<nn::output_t>) */                           \
        /** @{ */                                                                                  \
        /** Source interface: value is the batch field, grad is nullptr, rank is 2. */            \
        static constexpr bool from_student = false;                                                \
        static std::string name() { return std::string("data::") + data::tag::name; }             \
        template <class Student> static constexpr bool valid() { return true; }                   \
        template <class Student> static constexpr int rank() { return 2; }                         \
        template <class Student, class B>                                                          \
        static const auto& value(Student&, const B& b) { return b.field; }                         \
        template <class Student>                                                                   \
        static std::nullptr_t grad(Student&) { return nullptr; }                                   \
        /** @} */                                                                                  \
    };
B2M_DATA_SOURCE(inputs_t, x)
B2M_DATA_SOURCE(targets_t, targets)
B2M_DATA_SOURCE(brain_t, brain)
#undef B2M_DATA_SOURCE

/// A type an objective term can read a matrix from.
template <class S>
concept source = requires { source_traits<std::remove_cvref_t<S>>::from_student; };

/// Compile-time check that Student provides source S with logical rank Rank (0: any rank).
template <class Student, class S, int Rank>
constexpr void check_source() {
    using tr = source_traits<S>;
    static_assert(tr::template valid<Student>(),
                  "b2m: an objective term reads an nn::tap<\"...\"> that the student does not contain");
    if constexpr (tr::template valid<Student>() && Rank != 0)
        static_assert(tr::template rank<Student>() == Rank,
                      "b2m: an objective term reads a source of the wrong rank (e.g. a (batch, time, features) "
                      "sequence tap given to a loss that takes (batch, features))");
}

} // namespace b2m::loss
