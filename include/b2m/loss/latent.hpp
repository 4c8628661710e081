// b2m/loss/latent.hpp - Brain Latent Transfer (METHODS.md section 2): regression of a
// student tap onto a brain-derived latent through a learnable linear map W.
//
//   // targets already reduced (batch.targets holds z, (B, K) or (B, T*K)):
//   loss::latent(nn::tap<"z_mean">{}, data::targets, {.kind = loss::latent_loss::mse})
//   // reduction applied to every batch (batch.brain holds b, (B, V) or (B, T*V)):
//   auto P = loss::brain_reduction::pca(train_brain, 32);
//   loss::latent(nn::tap<"h">{}, data::brain, P, {.steps = 50})
//
// Sequences: a rank-3 tap (B, T, H) is stored (B, T*H); with steps = T the term reads it
// as B*T rows of H features and the targets as B*T rows of K (every time step is a
// sample; the same W is applied at each step). A rank-2 tap uses steps = 1 (default 0 =
// infer 1; a rank-3 tap requires steps).
//   mse:    L = mean over B*T*K entries of (W h + w0 - z)^2
//   cosine: L = mean over B*T rows of 1 - cos(W h + w0, z)      (rows L2-normalised, eps 1e-12)
// map = false regresses the tap itself (requires H == K), e.g. a VAE's latent mean onto z.
// W is created on the first forward (H, K known then) from rng(seed), like nn.Linear.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "b2m/core/gemm.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/loss/brain_reduction.hpp"
#include "b2m/loss/linear_head.hpp"
#include "b2m/loss/term_base.hpp"
#include "b2m/loss/row_normalize.hpp"

namespace b2m::loss {

/// The latent term's discrepancy: mse (mean squared error) or cosine (mean 1 - cosine per row).
enum class latent_loss { mse, cosine };

/// Options of loss::latent (see the head of this file).
struct latent_options {
    latent_loss kind = latent_loss::mse; ///< mse over all entries or 1 - cosine per row
    bool map = true;          ///< learnable linear map W (else the tap is regressed directly)
    bool bias = true;         ///< W has a bias
    std::size_t steps = 0;    ///< time steps T of a sequence tap (0: 1 for a rank-2 tap)
    std::uint64_t seed = 0;   ///< W's initialisation stream
};

/// The term object of loss::latent: regresses student source A (through W) onto the latent from Z.
template <real T, class A, class Z>
class latent_term : public term_base<latent_term<T, A, Z>, T, A, Z> {
public:
    static_assert(source_traits<A>::from_student, "b2m: latent's first source must come from the student");
    static_assert(!source_traits<Z>::from_student, "b2m: latent's target must be a batch field");

    /// Keeps the options; with a fitted reduction, keeps it cast to T (it is applied to Z every batch).
    latent_term(latent_options o, const std::optional<brain_reduction>& reduction) : opt_(o) {
        if (reduction) {
            has_reduction_ = true;
            reduction->cast<T>(pm_, pshift_);
        }
    }

    /// @name Term interface (the concept at the head of b2m/loss/objective.hpp)
    ///@{

    /// Term interface (around the maths below): name() is "latent(<A>, <Z>[ reduced])"; check<Student>()
    /// requires A the student's with rank <= 3 (and Z a batch field).
    std::string name() const { return this->call_name("latent", has_reduction_ ? " reduced" : ""); }

    template <class Student>
    static constexpr void check() {
        term_base<latent_term, T, A, Z>::template check<Student>();
        if constexpr (source_traits<A>::template valid<Student>())
            static_assert(source_traits<A>::template rank<Student>() <= 3,
                          "b2m: latent reads (batch, features) or (batch, time, features) taps");
    }
    ///@}

    /// @name Term maths (the hooks of loss::term_base)
    ///@{

    /// Term maths: value(batch, a, z) reads h (B, T*H) and z (B, T*K) (or b (B, T*V) reduced to z),
    /// builds W (H -> K) on the first call, and returns the mse or cosine loss of W h + w0 against z
    /// over the B*T rows (see the head of this file; throws b2m::shape_error / b2m::error on
    /// mismatched rows, widths or steps); gradient(batch, w, a, z) adds w * dL/dh into A's gradient
    /// and w * dL/dW into W's; for_each_param visits W as "map.*".
    T value(const data::batch<T>&, const source_ref<T>& a, const source_ref<T>& zs) {
        const matrix<T>& h = a.value;
        const matrix<T>& zb = zs.value;
        const std::size_t n = h.shape(0);
        std::size_t steps = opt_.steps;
        if (steps == 0) {
            if (a.rank == 3)
                throw error(name() + ": the tap is a sequence (batch, time, features); set latent_options.steps");
            steps = 1;
        }
        if (zb.shape(0) != n)
            throw_shape_mismatch(name() + ": rows (trials) differ", a.name(), h.shape(), zs.name(), zb.shape());
        if (h.shape(1) % steps != 0 || zb.shape(1) % steps != 0)
            throw shape_error(name() + ": " + a.name() + " has shape " + shape_string(h.shape()) + " and " + zs.name() +
                              " has shape " + shape_string(zb.shape()) +
                              "; both widths must be multiples of steps = " + std::to_string(steps));
        rows_ = n * steps;
        hd_ = h.shape(1) / steps;
        const T* z = zb.data();
        k_ = zb.shape(1) / steps;
        if (has_reduction_) {
            if (k_ != pm_.shape(0))
                throw shape_error(name() + ": " + zs.name() + " has shape " + shape_string(zb.shape()) + " (" +
                                  std::to_string(k_) + " columns per step) but the reduction reads " +
                                  std::to_string(pm_.shape(0)) + " columns");
            k_ = pm_.shape(1);
            ensure_shape(zr_, rows_, k_);
            for (std::size_t r = 0; r < rows_; ++r)
                for (std::size_t c = 0; c < k_; ++c) zr_(r, c) = pshift_(0, c);
            gemm_raw<T>(false, false, rows_, k_, pm_.shape(0), T(1), zb.data(), pm_.shape(0), pm_.data(), k_, T(1),
                        zr_.data(), k_);
            z = zr_.data();
        }
        z_ = z;
        if (opt_.map) {
            if (w_.empty()) {
                w_ = linear_head<T>(hd_, k_, opt_.bias);
                rng r(opt_.seed);
                w_.init(r);
            } else if (w_.in_features() != hd_ || w_.out_features() != k_) {
                throw shape_error(name() + ": the map was built for " + std::to_string(w_.in_features()) + " -> " +
                                  std::to_string(w_.out_features()) + " features per step but this batch has " +
                                  std::to_string(hd_) + " -> " + std::to_string(k_));
            }
            ensure_shape(y_, rows_, k_);
            w_.forward(h.data(), rows_, hd_, y_.data(), k_);
            yp_ = y_.data();
        } else {
            if (hd_ != k_)
                throw_shape_mismatch(name() + ": without a map the tap and the latent need equal widths", a.name(),
                                     h.shape(), "latent", std::array{n, steps * k_});
            yp_ = h.data();
        }
        if (opt_.kind == latent_loss::mse) {
            double total = 0;  // double even for float tensors (long sums drift in float)
            for (std::size_t i = 0; i < rows_ * k_; ++i) {
                const double d = double(yp_[i]) - double(z_[i]);
                total += d * d;
            }
            return T(total / double(rows_ * k_));
        }
        ensure_shape(yn_, rows_, k_);
        ensure_shape(zn_, rows_, k_);
        ny_.resize(rows_);
        nz_.resize(rows_);
        detail::normalize_rows<T>(yp_, rows_, k_, k_, false, T(row_norm_eps), yn_.data(), ny_.data());
        detail::normalize_rows<T>(z_, rows_, k_, k_, false, T(row_norm_eps), zn_.data(), nz_.data());
        double total = 0;
        for (std::size_t r = 0; r < rows_; ++r) {
            double c = 0;
            for (std::size_t j = 0; j < k_; ++j) c += double(yn_(r, j)) * double(zn_(r, j));
            total += 1.0 - c;
        }
        return T(total / double(rows_));
    }

    void gradient(const data::batch<T>&, T weight, const source_ref<T>& a, const source_ref<T>&) {
        const matrix<T>& h = a.value;
        matrix<T>& gh = *a.grad;
        ensure_shape(gy_, rows_, k_);
        if (opt_.kind == latent_loss::mse) {
            const T scale = T(2) * weight / T(rows_ * k_);
            for (std::size_t i = 0; i < rows_ * k_; ++i) gy_.data()[i] = scale * (yp_[i] - z_[i]);
        } else {
            ensure_shape(gyn_, rows_, k_);
            const T scale = -weight / T(rows_);
            for (std::size_t i = 0; i < rows_ * k_; ++i) gyn_.data()[i] = scale * zn_.data()[i];
            gy_.fill(T(0));
            detail::normalize_rows_backward<T>(yn_.data(), ny_.data(), gyn_.data(), rows_, k_, false, T(row_norm_eps), T(1),
                                               gy_.data(), k_);
        }
        if (opt_.map) w_.backward(h.data(), rows_, hd_, gy_.data(), k_, T(1), gh.data(), hd_);
        else
            for (std::size_t i = 0; i < rows_ * k_; ++i) gh.data()[i] += gy_.data()[i];
    }

    template <class F>
    void for_each_param(F&& f) { w_.for_each_param(f, "map."); }
    ///@}

    /// The learnable map W (empty before the first forward, unused when options.map is false).
    linear_head<T>& map() { return w_; }
    /// The latent targets of the last forward, (B*T, K) row-major.
    const T* latent() const { return z_; }

private:
    latent_options opt_;
    bool has_reduction_ = false;
    matrix<T> pm_, pshift_;
    linear_head<T> w_;
    matrix<T> zr_, y_, yn_, zn_, gy_, gyn_;
    std::vector<T> ny_, nz_;
    const T* z_ = nullptr;
    const T* yp_ = nullptr;
    std::size_t rows_ = 0, hd_ = 0, k_ = 0;
};

/// Regresses tap a onto the latent z held in a batch field (data::targets, or data::brain).
template <source A, source Z>
auto latent(A, Z, latent_options options = {}) {
    return make_term_spec<latent_term>(source_list<A, Z>{}, options, std::optional<brain_reduction>{});
}
/// Regresses tap a onto P(b) for the batch field b (data::brain) and a fitted reduction P.
template <source A, source Z>
auto latent(A, Z, brain_reduction reduction, latent_options options = {}) {
    if (reduction.empty()) throw error("loss::latent: the brain reduction is empty (fit it first)");
    return make_term_spec<latent_term>(source_list<A, Z>{}, options,
                                       std::optional<brain_reduction>(std::move(reduction)));
}

} // namespace b2m::loss
