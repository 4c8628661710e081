// b2m/mpi/data_parallel.hpp - data-parallel training steps over MPI ranks that compute
// exactly what one process computes on the same global batch.
//
//   auto trainer = train::make_trainer(student, objective, optim::adam({.lr = 1e-3}), {.seed = 7});
//   mpi::distributed_trainer dp(world, trainer);   // same seed on every rank
//   dp.step(global_batch);                          // the same global batch on every rank
//
// One step on a global batch of B rows (identical on every rank, e.g. drawn from the same
// seeded plan), on rank k of P:
//   1. the student runs forward on rank k's contiguous block of rows, mpi::block(B, P, k);
//   2. every activation an objective term reads (nn::output, each nn::tap<...>) is
//      all-gathered into the full (B, d) matrix, lazily, the first time a term reads it;
//      data sources (brain rows, labels, targets) come from the global batch itself;
//   3. every rank evaluates the whole objective on the full batch (so InfoNCE over B x B
//      similarities, CKA, RSA and correlation terms see the whole batch, not a shard), and
//      its backward writes the full (B, d) source gradients; each rank keeps its own rows
//      and back-propagates them through its part of the student;
//   4. the student's parameter gradients (each rank's share of the full-batch gradient)
//      are summed over ranks with ONE allreduce of one flat buffer (bucketing every
//      parameter into one message); the objective's own parameters (projection heads,
//      learnable temperatures) already hold the full-batch gradient on every rank;
//   5. clipping and the optimiser step run on every rank with identical gradients, so the
//      parameters stay identical (no broadcast needed).
// The result equals train::trainer::step on the whole batch up to floating-point rounding
// (sums split over ranks); with one rank it is the same computation bit for bit.
// Costs per step: one all-gather per source read (B x d values), one allreduce of all the
// student's parameters; the objective is computed redundantly on every rank (its cost is
// usually small next to the student's).
// Batch norm: per-rank statistics over the rank's rows by default (then the running
// statistics differ between ranks and rank 0's are checkpointed); with
// distributed_options::sync_batch_norm every batch_norm layer of the student sums its
// training statistics over the ranks (an allreduce of the per-channel sums and the count,
// then of the squared deviations, in forward; of the two gradient sums in backward), so
// the step equals one process on the global batch and the running statistics agree.
// Not identical to one process: random layers (dropout masks are drawn per rank from the
// same noise stream). The gradient allreduce does not overlap with backward.
// Requires: every rank constructs the same trainer (same seed, same options) and calls
// the same sequence of step / evaluate / predict with the same global batches.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/fixed_string.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/data/batch.hpp"
#include "b2m/mpi/comm.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/optim/clip.hpp"

namespace b2m::mpi {

/// What objective terms see instead of the student: the same sources (nn::output and the
/// taps, with the same compile-time ranks), holding the rows of every rank. A source is
/// all-gathered the first time a term reads it after begin(); finish() adds this rank's
/// rows of the full-batch gradients into the student's own gradient buffers.
template <class Student>
class gathered_student {
public:
    /// @name Student sources (what loss::source_traits reads; the same as Student's)
    ///@{

    /// The student's scalar type; output_rank, has_tap and tap_rank are Student's (compile time).
    using value_type = typename Student::value_type;
    using T = value_type;

    static constexpr int output_rank() { return Student::output_rank(); }
    template <fixed_string Name>
    static constexpr bool has_tap() { return Student::template has_tap<Name>(); }
    template <fixed_string Name>
    static constexpr int tap_rank() { return Student::template tap_rank<Name>(); }
    ///@}

    /// One gathered source: value() is the (B, d) activation of the whole batch, grad() its
    /// gradient buffer (zeroed when gathered).
    class source_slot {
    public:
        const matrix<T>& value() const { return full_; } ///< The whole batch's activation (B, d).
        matrix<T>& grad() { return grad_; }              ///< Its gradient buffer (B, d), zeroed when gathered.

    private:
        friend class gathered_student;
        std::string_view name_;
        const matrix<T>* local_ = nullptr;
        matrix<T>* local_grad_ = nullptr;
        matrix<T> full_, grad_;
        std::size_t row0_ = 0;
        bool ready_ = false;
    };

    /// Starts a step: the student has just run forward on this rank's rows.
    /// replicated: every rank ran the whole batch (batches smaller than the rank count), so
    /// nothing is gathered.
    void begin(Student& s, const communicator& c, bool replicated = false) {
        student_ = &s;
        comm_ = c;
        replicated_ = replicated;
        output_.ready_ = false;
        for (auto& t : taps_) t.ready_ = false;
    }

    /// The whole batch's output (B, d), all-gathered on the first call after begin().
    const matrix<T>& output() { return gathered(output_, student_->output(), &student_->output_grad()).full_; }
    /// The gradient buffer of output() (B, d), zeroed when gathered; finish() passes this rank's rows on.
    matrix<T>& output_grad() { return gathered(output_, student_->output(), &student_->output_grad()).grad_; }

    /// The gathered slot of tap Name (requires the student to have it), gathered on first use after begin().
    template <fixed_string Name>
    source_slot& tap() {
        source_slot* slot = nullptr;
        for (auto& t : taps_)
            if (t.name_ == Name.view()) slot = &t;
        if (!slot) {
            slot = &taps_.emplace_back();
            slot->name_ = Name.view();
        }
        auto& real = student_->template tap<Name>();
        return gathered(*slot, real.value(), &real.grad());
    }

    /// Adds this rank's rows of every gathered source's gradient into the student's
    /// gradient buffers (output_grad, tap grads). Call after the objective's backward.
    void finish() {
        scatter(output_);
        for (auto& t : taps_) scatter(t);
    }

private:
    source_slot& gathered(source_slot& s, const matrix<T>& local, matrix<T>* local_grad) {
        if (s.ready_) return s;
        s.local_ = &local;
        s.local_grad_ = local_grad;
        if (replicated_) {
            ensure_shape_like(s.full_, local);
            std::copy_n(local.data(), local.size(), s.full_.data());
            s.row0_ = 0;
        } else {
            allgather_rows(comm_, local, s.full_, counts_, displs_);
            const std::size_t cols = local.shape(1);
            s.row0_ = cols ? std::size_t(displs_[std::size_t(comm_.rank())]) / cols : 0;
        }
        ensure_shape_like(s.grad_, s.full_);
        s.grad_.fill(T(0));
        s.ready_ = true;
        return s;
    }
    void scatter(source_slot& s) {
        if (!s.ready_ || !s.local_grad_) return;
        matrix<T>& g = *s.local_grad_;
        const std::size_t rows = s.local_->shape(0), cols = s.local_->shape(1);
        if (g.shape(0) != rows || g.shape(1) != cols) ensure_shape(g, rows, cols), g.fill(T(0));
        const T* src = s.grad_.data() + s.row0_ * cols;
        T* dst = g.data();
        for (std::size_t i = 0; i < rows * cols; ++i) dst[i] += src[i];
    }

    Student* student_ = nullptr;
    communicator comm_{};
    source_slot output_;
    std::deque<source_slot> taps_;  ///< stable addresses; grows once per tap name
    std::vector<int> counts_, displs_;
    bool replicated_ = false;
};

/// Options of mpi::distributed_trainer.
struct distributed_options {
    double clip_norm = 0.0;  ///< > 0: clip the joint gradient norm (pass the trainer's clip_norm)
    bool sync_batch_norm = false;  ///< batch norm statistics over the global batch (see above)
};

/// A trainer made by train::make_trainer, run data-parallel over the ranks of a
/// communicator. It offers what train::fit uses of a trainer (step, evaluate, predict,
/// student().output(), optimizer(), objective(), term_names(), save, load), so
/// train::fit(dp, ...) trains data-parallel (see mpi/fit.hpp). Every batch given to it is
/// the GLOBAL batch, identical on every rank; outputs it returns are those of the whole
/// batch. Collective: every call must be made on every rank, in the same order.
template <class Trainer>
class distributed_trainer {
public:
    /// @name The trainer's types (as in train::trainer)
    ///@{

    /// The local trainer's value_type, number of terms, result_type and student type.
    using value_type = typename Trainer::value_type;
    using T = value_type;
    static constexpr std::size_t num_terms = Trainer::num_terms;
    using result_type = typename Trainer::result_type;
    using student_type = std::remove_cvref_t<decltype(std::declval<Trainer&>().student())>;
    ///@}

    /// Refers to t (which must outlive this object) and c; with o.sync_batch_norm installs an
    /// allreduce in the student's batch norm layers (b2m::error when the student cannot take one).
    distributed_trainer(const communicator& c, Trainer& t, distributed_options o = {}) : comm_(c), tr_(&t), opt_(o) {
        if (!opt_.sync_batch_norm) return;
        using reducer = std::function<void(T*, std::size_t)>;
        if constexpr (requires(student_type& s, const reducer& f) { s.set_batch_norm_reducer(f); }) {
            const communicator cc = c;
            t.student().set_batch_norm_reducer(reducer([cc](T* v, std::size_t n) { allreduce_sum(cc, v, n); }));
            synced_ = true;
        } else {
            throw error("mpi::distributed_trainer: sync_batch_norm needs a student with set_batch_norm_reducer "
                        "(nn::sequential)");
        }
    }
    /// Removes the batch norm reducers it installed (the trainer may go on in one process).
    ~distributed_trainer() {
        if constexpr (requires(student_type& s) { s.set_batch_norm_reducer(std::function<void(T*, std::size_t)>{}); }) {
            if (synced_) tr_->student().set_batch_norm_reducer(std::function<void(T*, std::size_t)>{});
        }
    }
    distributed_trainer(const distributed_trainer&) = delete;
    distributed_trainer& operator=(const distributed_trainer&) = delete;

    /// One data-parallel step on the global batch b (see the header comment).
    result_type step(const data::batch<T>& b) {
        require_rows(b);
        auto& s = tr_->student();
        const nn::step_context ctx{.training = true, .noise = &tr_->noise()};
        s.forward(local_rows(b.x), ctx);
        view_.begin(s, comm_, replicated_);
        result_type r;
        r.total = tr_->objective().forward(view_, b);
        r.values = tr_->objective().values();
        tr_->objective().backward(view_, b);
        view_.finish();
        s.backward(false);
        allreduce_student_grads();
        auto visit = [this](auto&& f) {
            if constexpr (requires { tr_->for_each_trainable_param(f); }) tr_->for_each_trainable_param(f);
            else tr_->for_each_param(f);
        };
        if (opt_.clip_norm > 0) r.grad_norm = optim::clip_grad_norm<T>(visit, opt_.clip_norm);
        tr_->optimizer().step(visit);
        return r;
    }

    /// The objective on the global batch b in evaluation mode (no update).
    result_type evaluate(const data::batch<T>& b) {
        require_rows(b);
        tr_->student().forward(local_rows(b.x), nn::step_context{.training = false, .noise = nullptr});
        view_.begin(tr_->student(), comm_, replicated_);
        result_type r;
        r.total = tr_->objective().forward(view_, b);
        r.values = tr_->objective().values();
        return r;
    }

    /// The student's output for all rows of x (every rank computes its block).
    const matrix<T>& predict(const matrix<T>& x) {
        if (x.shape(0) == 0) throw data_error("mpi::distributed_trainer::predict: x is empty");
        tr_->student().forward(local_rows(x), nn::step_context{.training = false, .noise = nullptr});
        view_.begin(tr_->student(), comm_, replicated_);
        return view_.output();
    }

    /// What train::fit reads after evaluate/predict: the whole batch's output.
    struct student_view {
        distributed_trainer* dp; ///< The trainer viewed.
        const matrix<T>& output() const { return dp->view_.output(); } ///< The whole batch's output (B, d).
    };
    student_view student() { return {this}; } ///< What train::fit reads as the student (output() only).

    auto& optimizer() { return tr_->optimizer(); }    ///< The local trainer's optimiser (identical on every rank).
    auto& objective() { return tr_->objective(); }    ///< The local trainer's objective object.
    auto term_names() const { return tr_->term_names(); } ///< The objective's term names, in order.
    Trainer& local() { return *tr_; }                  ///< The trainer this rank runs.
    const communicator& comm() const { return comm_; } ///< The communicator of the ranks.
    /// Bytes of the gradient allreduce per step (the student's parameters).
    std::size_t allreduce_bytes() {
        std::size_t n = 0;
        tr_->student().for_each_param([&](const std::string&, matrix<T>&, matrix<T>& g) { n += g.size(); });
        return n * sizeof(T);
    }

    /// Rank 0 writes the checkpoint (atomically, through train::trainer::save); a failure
    /// there is thrown on every rank. The state is the same on every rank and holds nothing
    /// rank-specific, so a run can resume with another number of ranks.
    template <class Extra>
    void save(const std::string& path, Extra&& extra) {
        agree(comm_, [&] {
            if (comm_.root()) tr_->save(path, extra);
        });
    }
    void save(const std::string& path) { save(path, [](auto&) {}); } ///< save() with no extra state.
    /// Every rank reads the checkpoint (a shared file system); an error on any rank is
    /// thrown on every rank.
    template <class Extra>
    void load(const std::string& path, Extra&& extra) {
        agree(comm_, [&] { tr_->load(path, extra); });
    }
    void load(const std::string& path) { load(path, [](auto&) {}); } ///< load() with no extra state.

private:
    /// Checks b and, on the first batch, lets the trainer build its lazily sized parts
    /// (projection heads, optimiser state; kept for checkpoints) from the whole batch, as
    /// train::trainer::step does; this is local work, the same on every rank.
    void require_rows(const data::batch<T>& b) {
        if (b.x.shape(0) == 0) throw data_error("batch: data::inputs is empty (shape " + shape_string(b.x.shape()) + ")");
        if (b.lengths.size())
            throw data_error("mpi::distributed_trainer: variable-length batches (data::batch::lengths) are not supported over "
                             "ranks yet; pad the sequences or train in one process");
        if constexpr (requires { tr_->build(b); tr_->built(); }) {
            if (!tr_->built()) tr_->build(b);
        }
    }
    /// This rank's block of rows of x (copied into a member buffer: no allocation once sized).
    /// A batch with fewer rows than ranks is run whole on every rank (replicated_), and only
    /// rank 0's gradients enter the sum.
    const matrix<T>& local_rows(const matrix<T>& x) {
        replicated_ = x.shape(0) < std::size_t(comm_.size());
        const range rg = replicated_ ? range{0, x.shape(0)}
                                     : block(x.shape(0), std::size_t(comm_.size()), std::size_t(comm_.rank()));
        const std::size_t cols = x.shape(1);
        ensure_shape(x_local_, rg.size(), cols);
        std::copy_n(x.data() + rg.begin * cols, rg.size() * cols, x_local_.data());
        return x_local_;
    }
    void allreduce_student_grads() {
        if (comm_.size() == 1) return;
        std::size_t n = 0;
        tr_->student().for_each_param([&](const std::string&, matrix<T>&, matrix<T>& g) { n += g.size(); });
        if (flat_.size() != n) flat_.assign(n, T(0));
        std::size_t at = 0;
        const bool contribute = !replicated_ || comm_.root();
        tr_->student().for_each_param([&](const std::string&, matrix<T>&, matrix<T>& g) {
            if (contribute) std::copy_n(g.data(), g.size(), flat_.data() + at);
            else std::fill_n(flat_.data() + at, g.size(), T(0));
            at += g.size();
        });
        allreduce_sum(comm_, flat_.data(), n);
        at = 0;
        tr_->student().for_each_param([&](const std::string&, matrix<T>&, matrix<T>& g) {
            std::copy_n(flat_.data() + at, g.size(), g.data());
            at += g.size();
        });
    }

    communicator comm_;
    Trainer* tr_;
    distributed_options opt_;
    gathered_student<student_type> view_;
    matrix<T> x_local_;
    std::vector<T> flat_;
    bool replicated_ = false;
    bool synced_ = false;
};

} // namespace b2m::mpi
