// b2m/train/trainer.hpp - one type composed of (student, objective, optimiser) that
// performs training steps.
//
//   auto student = nn::sequential(nn::dense(784, 256), nn::relu{}, nn::dense(256, 10));
//   auto trainer = train::make_trainer(student, objective, optim::adam({.lr = 1e-3}),
//                                      {.seed = 7});
//   auto r = trainer.step(batch);     // forward, objective, backward, update
//   r.total, r.values[k]              // weighted total and each term's value
//   student.forward(x)                // the trained student: the trainer refers to it
//
// trainer<T, Student, Objective, Optimizer>
//   represents: training of one student by one objective with one optimiser.
//   holds:      the student (Student = S&: a reference to the caller's student, made by
//               make_trainer from a named student, which must outlive the trainer;
//               Student = S: its own student, made from a temporary or std::move(student);
//               copying a trainer of the first kind shares the student), and owns the
//               objective object (its weights and lazily built parts: projection heads,
//               encoders), the optimiser state, the step noise stream and, once built, a
//               copy of the batch it was built with (at most 256 rows; saved in
//               checkpoints so a fresh trainer can load them).
//   requires:   batches of scalar type T with the fields the objective reads.
//   ensures:    misuse visible at compile time (a layer spec as the student, a term reading
//               a tap the student lacks, a wrong rank, a non-objective or non-optimiser
//               argument) fails in make_trainer with one readable message each. A
//               non-finite term throws nonfinite_error naming it before any parameter
//               changes. After the first step with a given batch shape, a step allocates
//               nothing on the heap.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <string>
#include <type_traits>
#include <utility>

#include <xtensor/xview.hpp>

#include "b2m/core/error.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/loss/objective.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/student.hpp"
#include "b2m/optim/clip.hpp"
#include "b2m/train/batch.hpp"
#include "b2m/train/checkpoint.hpp"

namespace b2m::train {

/// Options of a trainer (make_trainer's last argument).
struct trainer_options {
    std::uint64_t seed = 0;      ///< parameter initialisation and step noise (dropout, ...)
    bool init_student = true;    ///< draw the student's parameters from the seed
    double clip_norm = 0.0;      ///< > 0: clip the joint gradient norm to this
};

/// What one step or evaluation of a trainer with K terms measured.
template <std::size_t K, real T>
struct step_result {
    T total = 0;                  ///< weighted sum of the terms
    std::array<T, K> values{};    ///< each term's (unweighted) value
    double grad_norm = 0;         ///< norm before clipping (0 when clipping is off)
};

/// An optimiser spec: builds an optimiser object for float and double (optim::sgd(...),
/// optim::adam(...), optim::adamw(...)).
template <class O>
concept optimizer_spec = requires(const O o) {
    o.template make<float>();
    o.template make<double>();
};

/// Training of one student by one objective with one optimiser (the contract is at the head
/// of this file; build one with make_trainer).
template <real T, class Student, class Objective, class Optimizer>
class trainer {
public:
    using value_type = T; ///< The scalar type of batches, parameters and results.
    using student_type = std::remove_reference_t<Student>; ///< The student's type (without the reference).
    static constexpr std::size_t num_terms = Objective::size; ///< The objective's number of terms.
    using result_type = step_result<num_terms, T>; ///< What step() and evaluate() return.
    /// Rows of the build batch kept for checkpoints.
    static constexpr std::size_t max_build_rows = 256;

    /// Takes (or refers to) the student, owns the objective and optimiser objects; checks at
    /// compile time that the objective's sources exist in the student; with
    /// options.init_student draws the student's parameters from rng(seed).split(0).
    template <class S>
    trainer(S&& s, Objective o, Optimizer opt, trainer_options options)
        : student_(std::forward<S>(s)), objective_(std::move(o)), optimizer_(std::move(opt)), options_(options),
          noise_(rng(options.seed).split(1)) {
        Objective::template check<student_type>();
        if (options.init_student) student_.init(rng(options.seed).split(0));
    }

    /// Creates every lazily built part (the objective's projection heads and encoders,
    /// whose shapes the data decide, and the optimiser state) from the shapes of b, by
    /// evaluating the objective on b (no update, the student's parameters are unchanged).
    /// step() and evaluate() call it on their first batch; load() calls it with the batch
    /// kept in the checkpoint. Later calls do nothing.
    void build(const batch<T>& b) {
        if (built_) return;
        require_batch(b);
        student_.forward(b.x, nn::step_context{.training = false, .noise = nullptr, .lengths = lengths_of(b)});
        objective_.forward(student_, b);
        keep_build_batch(b);
        built_ = true;
        optimizer_.prepare([this](auto&& f) { for_each_trainable_param(f); });
    }
    /// Whether build() has run (parts created, checkpoints complete).
    bool built() const { return built_; }

    /// One training step on b. Requires b.x rows = batch size and the fields the terms read.
    result_type step(const batch<T>& b) {
        require_batch(b);
        if (!built_) build(b);
        const nn::step_context ctx{.training = true, .noise = &noise_, .lengths = lengths_of(b)};
        student_.forward(b.x, ctx);
        result_type r;
        r.total = objective_.forward(student_, b);
        r.values = objective_.values();
        objective_.backward(student_, b);
        student_.backward(false);
        auto visit = [this](auto&& f) { for_each_trainable_param(f); };
        if (options_.clip_norm > 0) r.grad_norm = optim::clip_grad_norm<T>(visit, options_.clip_norm);
        optimizer_.step(visit);
        return r;
    }

    /// The objective on b in evaluation mode (no update, no dropout).
    result_type evaluate(const batch<T>& b) {
        require_batch(b);
        if (!built_) build(b);
        student_.forward(b.x, nn::step_context{.training = false, .noise = nullptr, .lengths = lengths_of(b)});
        result_type r;
        r.total = objective_.forward(student_, b);
        r.values = objective_.values();
        return r;
    }

    /// The student's output for inputs x in evaluation mode.
    const matrix<T>& predict(const matrix<T>& x) {
        return student_.forward(x, nn::step_context{.training = false, .noise = nullptr});
    }
    /// The student's output for b.x in evaluation mode, with b's sequence lengths if it has them.
    const matrix<T>& predict(const batch<T>& b) {
        require_batch(b);
        return student_.forward(b.x, nn::step_context{.training = false, .noise = nullptr, .lengths = lengths_of(b)});
    }

    /// Every learnable matrix: the student's, then the objective's (projection heads, ...).
    template <class F>
    void for_each_param(F&& f) {
        student_.for_each_param(f);
        objective_.for_each_param(f);
    }

    /// What the optimiser updates: for_each_param without the student's frozen layers
    /// (nn::sequential::set_frozen; students without freezing present every parameter).
    template <class F>
    void for_each_trainable_param(F&& f) {
        if constexpr (requires { student_.for_each_trainable_param(f); }) student_.for_each_trainable_param(f);
        else student_.for_each_param(f);
        objective_.for_each_param(f);
    }

    /// Visits the whole training state (the build batch, parameters, layer buffers, the
    /// objective's parameters and term weights, optimiser state, step noise) with ar.tensor / ar.u64 / ar.f64, then
    /// extra(ar) for state of the caller (e.g. fit's epoch counter).
    template <class Archive, class Extra>
    void serialize(Archive& ar, Extra&& extra) {
        visit_build_batch(ar, *build_io_);  // first: load() reads it before the rest
        student_.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>&) { ar.tensor("student." + n, v); });
        student_.for_each_buffer([&](const std::string& n, matrix<T>& v) { ar.tensor("student." + n, v); });
        objective_.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>&) { ar.tensor(n, v); });
        for (std::size_t k = 0; k < num_terms; ++k) {
            double w = double(objective_.weights()[k]);  // term weights may follow a schedule
            ar.f64("objective.weight." + std::to_string(k), w);
            objective_.set_weight(k, T(w));
        }
        optimizer_.serialize(ar);
        ar.u64("noise.seed", noise_.seed);
        ar.u64("noise.counter", noise_.counter);
        extra(ar);
    }

    /// Writes the training state to path atomically (temp file, fsync, rename), with the
    /// batch the trainer was built with (if any), so that load() works on a fresh trainer.
    template <class Extra>
    void save(const std::string& path, Extra&& extra) {
        checkpoint_writer w;
        serialize(w, extra);
        w.write_atomically(path);
    }
    void save(const std::string& path) { save(path, [](auto&) {}); } ///< save() with no extra state.

    /// Restores the state written by save(). Works on a fresh trainer of the same type:
    /// lazily built parts are first built from the batch kept in the checkpoint. Throws
    /// io_error / shape_error, naming the entry, for a corrupt or foreign checkpoint; the
    /// trainer's trained state is unchanged then (it may have been built).
    template <class Extra>
    void load(const std::string& path, Extra&& extra) {
        checkpoint_reader r(path);
        batch<T> kept;
        r.begin(true);
        read_build_batch(r, kept);
        if (!built_ && kept.size() > 0) build(kept);
        optimizer_.prepare([this](auto&& f) { for_each_trainable_param(f); });
        struct restore {
            batch<T>*& p;
            batch<T>* old;
            ~restore() { p = old; }
        } guard{build_io_, build_io_};
        build_io_ = &kept;
        r.begin(false);
        serialize(r, extra);
        r.finish();
        r.begin(true);
        serialize(r, extra);
        if (build_batch_.size() == 0) build_batch_ = kept;
    }
    void load(const std::string& path) { load(path, [](auto&) {}); } ///< load() with no extra state.

    student_type& student() { return student_; }    ///< The student being trained.
    Objective& objective() { return objective_; }    ///< The objective object (weights, values, term parts).
    Optimizer& optimizer() { return optimizer_; }    ///< The optimiser object (its lr is what schedules change).
    rng& noise() { return noise_; }                  ///< The step noise stream (dropout, ...), rng(seed).split(1) at start.
    /// The objective's term names, in order.
    std::array<std::string, num_terms> term_names() const { return objective_.names(); }

private:
    static void require_batch(const batch<T>& b) {
        if (b.x.shape(0) == 0) throw data_error("batch: data::inputs is empty (shape " + shape_string(b.x.shape()) + ")");
        if (b.lengths.size() && b.lengths.size() != b.x.shape(0))
            throw shape_error("batch: sequence lengths has shape " + shape_string(b.lengths.shape()) + " but data::inputs has " +
                              std::to_string(b.x.shape(0)) + " rows");
    }
    static std::span<const std::int64_t> lengths_of(const batch<T>& b) { return {b.lengths.data(), b.lengths.size()}; }
    void keep_build_batch(const batch<T>& b) {
        const std::size_t n = std::min(b.size(), max_build_rows);
        auto rows = [n](const auto& m) {
            using M = std::remove_cvref_t<decltype(m)>;
            if (m.size() == 0) return M();
            return M(xt::view(m, xt::range(0, n)));
        };
        build_batch_.x = rows(b.x);
        build_batch_.labels = rows(b.labels);
        build_batch_.targets = rows(b.targets);
        build_batch_.brain = rows(b.brain);
        build_batch_.stimulus = rows(b.stimulus);
        build_batch_.subject = rows(b.subject);
    }
    /// The build batch in a checkpoint: each field's shape (u64) then its values (index
    /// fields as one row of doubles). With resize, fields take the shapes read (apply pass).
    template <class Archive>
    static void build_fields(Archive& ar, batch<T>& b, bool resize) {
        auto mat = [&](const char* name, matrix<T>& m) {
            std::uint64_t rows = m.shape(0), cols = m.shape(1);
            ar.u64(std::string("build.") + name + ".rows", rows);
            ar.u64(std::string("build.") + name + ".cols", cols);
            if (resize) m = matrix<T>::from_shape({std::size_t(rows), std::size_t(cols)});
            ar.tensor(std::string("build.") + name, m);
        };
        auto idx = [&](const char* name, index_vector& v) {
            std::uint64_t n = v.size();
            ar.u64(std::string("build.") + name + ".size", n);
            if (resize) v = index_vector::from_shape({std::size_t(n)});
            matrix<double> m = matrix<double>::from_shape({1, std::size_t(n)});
            for (std::size_t i = 0; i < v.size(); ++i) m(0, i) = double(v(i));
            ar.tensor(std::string("build.") + name, m);
            for (std::size_t i = 0; i < v.size(); ++i) v(i) = static_cast<typename index_vector::value_type>(m(0, i));
        };
        mat("inputs", b.x);
        idx("labels", b.labels);
        mat("targets", b.targets);
        mat("brain", b.brain);
        idx("stimulus", b.stimulus);
        idx("subject", b.subject);
    }
    template <class Archive>
    static void visit_build_batch(Archive& ar, batch<T>& b) { build_fields(ar, b, false); }
    static void read_build_batch(checkpoint_reader& r, batch<T>& b) { build_fields(r, b, true); }

    Student student_;
    Objective objective_;
    Optimizer optimizer_;
    trainer_options options_;
    rng noise_;
    bool built_ = false;
    batch<T> build_batch_;                 ///< the first rows of the batch build() saw
    batch<T>* build_io_ = &build_batch_;   ///< what serialize visits (load: the file's)
};

/// Composes a trainer computing in the student's value_type.
/// A named student is referred to (the trainer trains it in place: use it directly after
/// fit; it must outlive the trainer); a temporary, std::move(student) or a const student
/// (copied) is owned by the trainer (trainer.student()). Parameters are drawn from options.seed unless
/// options.init_student is false.
/// requires (each a readable compile error): student is an nn::student (not a layer spec
/// or a single layer); objective is a loss term or a weighted sum of them; optimizer is an
/// optimiser spec (optim::sgd / adam / adamw).
template <class Student, class ObjectiveSpec, class OptimizerSpec>
auto make_trainer(Student&& student, const ObjectiveSpec& objective, const OptimizerSpec& optimizer,
                  trainer_options options = {}) {
    using S = std::remove_cvref_t<Student>;
    static_assert(!nn::layer_spec<S>,
                  "b2m::train::make_trainer: the student is a layer spec (e.g. nn::dense(4, 2)); compose a student "
                  "with nn::sequential(spec, ...)");
    static_assert(nn::layer_spec<S> || nn::student<S>,
                  "b2m::train::make_trainer: the first argument is not a student (see nn/student.hpp: an "
                  "nn::sequential of layers)");
    static_assert(loss::objective_like<ObjectiveSpec>,
                  "b2m::train::make_trainer: the second argument is not an objective (a loss term such as "
                  "loss::mse(nn::output, data::targets), or a weighted sum of terms)");
    static_assert(optimizer_spec<OptimizerSpec>,
                  "b2m::train::make_trainer: the third argument is not an optimiser spec (optim::sgd({...}), "
                  "optim::adam({...}) or optim::adamw({...}))");
    if constexpr (nn::student<S> && loss::objective_like<ObjectiveSpec> && optimizer_spec<OptimizerSpec>) {
        using T = typename S::value_type;
        // a named (non-const) student is referred to; a temporary, a moved or a const one is held
        using Held = std::conditional_t<std::is_lvalue_reference_v<Student> &&
                                            !std::is_const_v<std::remove_reference_t<Student>>,
                                        S&, S>;
        auto obj = loss::as_objective(objective).template make<T>();
        auto opt = optimizer.template make<T>();
        return trainer<T, Held, decltype(obj), decltype(opt)>(std::forward<Student>(student), std::move(obj),
                                                              std::move(opt), options);
    }
}

} // namespace b2m::train
