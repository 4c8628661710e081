// b2m/train/callback.hpp - what fit() tells its callbacks, and what a callback is.
//
// A callback is any object with at least one of these hooks (each optional):
//   void on_fit_begin(const fit_state&)
//   void on_epoch_begin(const fit_state&)                       may change *s.lr, s.weights
//   void on_step(const fit_state&, std::size_t step, std::size_t steps, double loss)
//   bool on_epoch_end(const fit_state&, const epoch_record&)    false: stop training
//   template <class Archive> void serialize(Archive&)           state kept in checkpoints
// fit() calls each hook a callback has, in the order the callbacks were given.
//
// fit_state      represents: where training is (epoch, plan), the learning rate and term
//                weights a callback may change; owned by fit(), valid during the call.
// epoch_record   represents: what one epoch measured; a plain value.
// fit_report     represents: what one fit() call ran; a plain value.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace b2m::train {

/// What one epoch measured. Validation figures are NaN without validation data;
/// accuracies are NaN when the batch has no labels.
struct epoch_record {
    std::size_t epoch = 0;  ///< 1-based
    double lr = 0;          ///< the learning rate this epoch trained with
    double train_total = 0; ///< the weighted objective, mean over the epoch's training batches (weighted by rows)
    std::vector<double> train_terms; ///< each term's unweighted value, mean over the training batches (weighted by rows)
    /// Argmax accuracy of the student's output on the training labels over the epoch's steps
    /// (weighted by rows), each batch scored by its own step's forward pass: training mode
    /// (dropout on) and the parameters before that step's update, as the running accuracy
    /// of a training loop. NaN when the training data has no labels.
    double train_accuracy = std::numeric_limits<double>::quiet_NaN();
    double val_total = std::numeric_limits<double>::quiet_NaN();      ///< the weighted objective on the validation data (NaN when it lacks the training data's fields)
    std::vector<double> val_terms;  ///< each term's value on the validation data (empty when val_total is NaN)
    double val_accuracy = std::numeric_limits<double>::quiet_NaN();   ///< argmax accuracy on the validation labels
    std::vector<double> weights;  ///< each term's weight during this epoch
    double seconds = 0;           ///< wall-clock time of the epoch (training and validation)
};

/// What one fit() call ran.
struct fit_report {
    std::vector<std::string> term_names; ///< the objective's term names, in order
    std::vector<epoch_record> epochs;  ///< the epochs run by this call
    std::size_t resumed_after = 0;     ///< epoch restored from a checkpoint (0: fresh start)
    bool stopped_early = false;        ///< a callback's on_epoch_end returned false before the planned epochs
};

/// What callbacks see: progress so far, and the learning rate and term weights they may
/// change (on_epoch_begin changes apply to the epoch that begins; on_epoch_end changes to
/// the next one).
struct fit_state {
    std::size_t epoch = 0;          ///< current epoch, 1-based (0 before the first)
    std::size_t epochs = 0;         ///< planned epochs
    std::size_t resumed_after = 0;  ///< epoch restored from a checkpoint (0: fresh start)
    std::vector<std::string> term_names; ///< the objective's term names, in order
    double* lr = nullptr;           ///< the optimiser's learning rate
    double base_lr = 0;             ///< the learning rate when fit() began (or was first run)
    std::span<double> weights;         ///< each term's current weight (a callback may write them)
    std::vector<double> base_weights;  ///< the objective's weights as composed
    bool has_validation = false;       ///< fit() was given validation data
};

/// A type with at least one hook fit() recognises, each with the signature above. A
/// member named like a hook but with another signature does not count (and is rejected
/// by fit; see callback_hooks_are_valid).
template <class C>
concept has_on_fit_begin = requires(C& c, const fit_state& s) { c.on_fit_begin(s); };
template <class C>
concept has_on_epoch_begin = requires(C& c, const fit_state& s) { c.on_epoch_begin(s); };
template <class C>
concept has_on_step = requires(C& c, const fit_state& s, std::size_t i, double l) { c.on_step(s, i, i, l); };
template <class C>
concept has_on_epoch_end = requires(C& c, const fit_state& s, const epoch_record& r) {
    { c.on_epoch_end(s, r) } -> std::same_as<bool>;
};

namespace detail {
/// Detects a member named like a hook, whatever its signature (so a typo'd signature is
/// reported instead of silently ignored). Works for non-template, non-overloaded members.
template <class C>
concept names_on_fit_begin = requires { &C::on_fit_begin; };
template <class C>
concept names_on_epoch_begin = requires { &C::on_epoch_begin; };
template <class C>
concept names_on_step = requires { &C::on_step; };
template <class C>
concept names_on_epoch_end = requires { &C::on_epoch_end; };
} // namespace detail

/// A callback: at least one recognised hook, and no member named like a hook whose
/// signature fit() cannot call.
template <class C>
concept callback = (has_on_fit_begin<C> || has_on_epoch_begin<C> || has_on_step<C> || has_on_epoch_end<C>) &&
                   (has_on_fit_begin<C> || !detail::names_on_fit_begin<C>) &&
                   (has_on_epoch_begin<C> || !detail::names_on_epoch_begin<C>) &&
                   (has_on_step<C> || !detail::names_on_step<C>) &&
                   (has_on_epoch_end<C> || !detail::names_on_epoch_end<C>);

/// One readable message per way a callback can be wrong; fit() calls it for each callback.
template <class C>
constexpr void check_callback() {
    static_assert(has_on_fit_begin<C> || !detail::names_on_fit_begin<C>,
                  "b2m::train::fit: a callback's on_fit_begin must be callable as on_fit_begin(const fit_state&)");
    static_assert(has_on_epoch_begin<C> || !detail::names_on_epoch_begin<C>,
                  "b2m::train::fit: a callback's on_epoch_begin must be callable as on_epoch_begin(const fit_state&)");
    static_assert(has_on_step<C> || !detail::names_on_step<C>,
                  "b2m::train::fit: a callback's on_step must be callable as on_step(const fit_state&, size_t step, "
                  "size_t steps, double loss)");
    static_assert(has_on_epoch_end<C> || !detail::names_on_epoch_end<C>,
                  "b2m::train::fit: a callback's on_epoch_end must be callable as bool on_epoch_end(const fit_state&, "
                  "const epoch_record&)");
    static_assert(has_on_fit_begin<C> || has_on_epoch_begin<C> || has_on_step<C> || has_on_epoch_end<C> ||
                      detail::names_on_fit_begin<C> || detail::names_on_epoch_begin<C> || detail::names_on_step<C> ||
                      detail::names_on_epoch_end<C>,
                  "b2m::train::fit: an argument after the options is not a callback: it has none of on_fit_begin, "
                  "on_epoch_begin, on_step, on_epoch_end");
}

namespace detail {
/// Calls a callback's hook when it has one.
template <class C, class A>
void callback_serialize(C& c, A& ar) {
    if constexpr (requires { c.serialize(ar); }) c.serialize(ar);
}
template <class C>
void callback_begin(C& c, const fit_state& s) {
    if constexpr (has_on_fit_begin<C>) c.on_fit_begin(s);
}
template <class C>
void callback_epoch_begin(C& c, const fit_state& s) {
    if constexpr (has_on_epoch_begin<C>) c.on_epoch_begin(s);
}
template <class C>
void callback_step(C& c, const fit_state& s, std::size_t step, std::size_t steps, double loss) {
    if constexpr (has_on_step<C>) c.on_step(s, step, steps, loss);
}
template <class C>
bool callback_epoch_end(C& c, const fit_state& s, const epoch_record& r) {
    if constexpr (has_on_epoch_end<C>) return c.on_epoch_end(s, r);
    else return true;
}
} // namespace detail

} // namespace b2m::train
