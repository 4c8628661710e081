// b2m/train/trainer.hpp - one type composed of (student, objective, optimiser) that
// performs training steps.
//
//   auto trainer = train::make_trainer(student, objective, optim::adam({.lr = 1e-3}),
//                                      {.seed = 7});
//   auto r = trainer.step(batch);     // forward, objective, backward, update
//   r.total, r.values[k]              // weighted total and each term's value
//
// Misuse visible at compile time (a term reading a tap the student lacks, a wrong rank)
// fails when make_trainer is instantiated. A non-finite term throws nonfinite_error naming
// it before any parameter changes. After the first step with a given batch shape, a step
// allocates nothing on the heap.
#pragma once

#include <array>
#include <string>
#include <utility>

#include "b2m/core/error.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/loss/objective.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/optim/clip.hpp"
#include "b2m/train/batch.hpp"
#include "b2m/train/checkpoint.hpp"

namespace b2m::train {

struct trainer_options {
    std::uint64_t seed = 0;      ///< parameter initialisation and step noise (dropout, ...)
    bool init_student = true;    ///< draw the student's parameters from the seed
    double clip_norm = 0.0;      ///< > 0: clip the joint gradient norm to this
};

template <std::size_t K, real T>
struct step_result {
    T total = 0;                  ///< weighted sum of the terms
    std::array<T, K> values{};    ///< each term's (unweighted) value
    double grad_norm = 0;         ///< norm before clipping (0 when clipping is off)
};

template <real T, class Student, class Objective, class Optimizer>
class trainer {
public:
    using value_type = T;
    static constexpr std::size_t num_terms = Objective::size;
    using result_type = step_result<num_terms, T>;

    trainer(Student s, Objective o, Optimizer opt, trainer_options options)
        : student_(std::move(s)), objective_(std::move(o)), optimizer_(std::move(opt)), options_(options),
          noise_(rng(options.seed).split(1)) {
        Objective::template check<Student>();
        if (options.init_student) student_.init(rng(options.seed).split(0));
    }

    /// One training step on b. Requires b.x rows = batch size and the fields the terms read.
    result_type step(const batch<T>& b) {
        require_batch(b);
        const nn::step_context ctx{.training = true, .noise = &noise_};
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
        student_.forward(b.x, nn::step_context{.training = false, .noise = nullptr});
        result_type r;
        r.total = objective_.forward(student_, b);
        r.values = objective_.values();
        return r;
    }

    /// The student's output for inputs x in evaluation mode.
    const matrix<T>& predict(const matrix<T>& x) {
        return student_.forward(x, nn::step_context{.training = false, .noise = nullptr});
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

    /// Visits the whole training state (parameters, layer buffers, the objective's
    /// parameters, optimiser state, step noise) with ar.tensor / ar.u64 / ar.f64, then
    /// extra(ar) for state of the caller (e.g. fit's epoch counter).
    template <class Archive, class Extra>
    void serialize(Archive& ar, Extra&& extra) {
        student_.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>&) { ar.tensor("student." + n, v); });
        student_.for_each_buffer([&](const std::string& n, matrix<T>& v) { ar.tensor("student." + n, v); });
        objective_.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>&) { ar.tensor(n, v); });
        optimizer_.serialize(ar);
        ar.u64("noise.seed", noise_.seed);
        ar.u64("noise.counter", noise_.counter);
        extra(ar);
    }

    /// Writes the training state to path atomically (temp file + rename). Requires at
    /// least one step (so lazily created heads and optimiser state exist).
    template <class Extra>
    void save(const std::string& path, Extra&& extra) {
        checkpoint_writer w;
        serialize(w, extra);
        w.write_atomically(path);
    }
    void save(const std::string& path) { save(path, [](auto&) {}); }

    /// Restores the state written by save(). Requires a trainer of the same type whose
    /// objective has seen a batch (step or evaluate), so lazily created heads exist. Throws
    /// io_error / shape_error, naming the entry, for a corrupt or foreign checkpoint; the
    /// trainer is unchanged then.
    template <class Extra>
    void load(const std::string& path, Extra&& extra) {
        checkpoint_reader r(path);
        optimizer_.prepare([this](auto&& f) { for_each_trainable_param(f); });
        r.begin(false);
        serialize(r, extra);
        r.finish();
        r.begin(true);
        serialize(r, extra);
    }
    void load(const std::string& path) { load(path, [](auto&) {}); }

    Student& student() { return student_; }
    Objective& objective() { return objective_; }
    Optimizer& optimizer() { return optimizer_; }
    rng& noise() { return noise_; }
    std::array<std::string, num_terms> term_names() const { return objective_.names(); }

private:
    static void require_batch(const batch<T>& b) {
        if (b.x.shape(0) == 0) throw data_error("batch: data::inputs is empty (shape " + shape_string(b.x.shape()) + ")");
    }
    Student student_;
    Objective objective_;
    Optimizer optimizer_;
    trainer_options options_;
    rng noise_;
};

/// Composes a trainer computing in the student's value_type.
template <class Student, loss::objective_like ObjectiveSpec, class OptimizerSpec>
auto make_trainer(Student student, const ObjectiveSpec& objective, const OptimizerSpec& optimizer,
                  trainer_options options = {}) {
    using T = typename Student::value_type;
    auto obj = loss::as_objective(objective).template make<T>();
    auto opt = optimizer.template make<T>();
    return trainer<T, Student, decltype(obj), decltype(opt)>(std::move(student), std::move(obj), std::move(opt),
                                                             options);
}

} // namespace b2m::train
