// b2m/loss/contrastive.hpp - Brain Contrastive Transfer: InfoNCE between projections of a
// student tap and of the brain response (METHODS.md section 1).
//
//   auto objective = loss::cross_entropy(nn::output, data::labels)
//                  + 0.5 * loss::contrastive(nn::tap<"embed">{}, data::brain, {.tau = 0.1, .dim = 128});
//
// With u_i = g(h_i), v_j = f(b_j) (learnable linear heads, or the identity), and
// s = 1 / tau:
//   S_ij = s * cos(u_i, v_j)        (similarity::cosine, rows L2-normalised with eps 1e-12)
//   S_ij = s * u_i . v_j            (similarity::dot)
//   L_row = mean_i [ logsumexp_j S_ij - mean_{j in P(i)} S_ij ]     (P(i): positives of row i)
//   L_col = mean_j [ logsumexp_i S_ij - mean_{i in P(j)} S_ij ]
//   L = 0.5 (L_row + L_col)  (symmetric, default)   or   L = L_row   (one-sided: student -> brain)
// Positives: trials i, j are positives when batch.stimulus[i] == batch.stimulus[j] (several
// trials of one stimulus), else only i == j (batch.stimulus empty, or use_stimulus = false).
// With one positive per row this is exactly CLIP's symmetric cross-entropy on S.
// Temperature: fixed (tau), or learnable (learn_tau): parameter theta = log tau, initialised
// to log(tau); the effective temperature is max(exp(theta), tau_min) and its gradient is
// zero while clamped (as torch.clamp).
// Heads are created on the first forward (V is known then) and drawn from rng(seed):
// student head uses rng(seed).split(0), brain head(s) rng(seed).split(1).
// Several subjects: set subject_widths = {V_0, V_1, ...}; the batch's brain matrix is then
// padded to the widest subject (trial i uses the first V_{subject[i]} columns) and
// batch.subject gives each trial's subject; each subject has its own brain head.
// Requires: a batch of at least 2 trials (else data_error); tap rank 2.
// Cost per step: the two head GEMMs, two B x B x dim GEMMs, and 2 B^2 exp; no allocation
// after the first step with a given batch size.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "b2m/core/fast_exp.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/core/small_gemm.hpp"
#include "b2m/loss/linear_head.hpp"
#include "b2m/loss/term_base.hpp"
#include "b2m/loss/row_normalize.hpp"

namespace b2m::loss {

enum class similarity { cosine, dot };

/// Options of loss::contrastive (the header comment gives the maths).
struct contrastive_options {
    double tau = 0.1;                ///< temperature (initial value when learnable)
    bool learn_tau = false;          ///< learn log(tau)
    double tau_min = 0.01;           ///< clamp of the learnable temperature
    std::size_t dim = 128;           ///< projection dimension (when a side is projected)
    bool project_student = true;     ///< learnable head g on the tap (else identity)
    bool project_brain = true;       ///< learnable head f on the brain (else identity)
    bool bias = true;                ///< heads have a bias (like nn.Linear)
    similarity sim = similarity::cosine; ///< cosine or dot-product similarity S
    bool symmetric = true;           ///< false: one-sided student -> brain (L_row only)
    bool use_stimulus = true;        ///< trials sharing batch.stimulus are positives
    std::vector<std::size_t> subject_widths{};  ///< one brain head per subject (padded brain)
    std::uint64_t seed = 0;          ///< heads' initialisation stream
};

/// The term object of loss::contrastive(A, B): holds and owns the student head g, the brain
/// head f (or one per subject), log tau and their gradients, created on the first forward,
/// plus its per-batch buffers.
template <real T, class A, class B>
class contrastive_term : public term_base<contrastive_term<T, A, B>, T, A, B> {
public:
    static_assert(source_traits<A>::from_student || source_traits<B>::from_student,
                  "b2m: contrastive needs at least one side from the student");

    /// Requires tau > 0 finite, tau_min > 0 when learnt, dim > 0 when a side is projected,
    /// subject_widths (all > 0) only with project_brain and a brain side from the batch
    /// (b2m::error otherwise).
    explicit contrastive_term(contrastive_options o) : opt_(std::move(o)) {
        if (!(opt_.tau > 0) || !std::isfinite(opt_.tau))
            throw error("loss::contrastive: tau must be positive and finite (got " + std::to_string(opt_.tau) + ")");
        if (opt_.learn_tau && !(opt_.tau_min > 0))
            throw error("loss::contrastive: tau_min must be positive");
        if ((opt_.project_student || opt_.project_brain) && opt_.dim == 0)
            throw error("loss::contrastive: dim must be positive");
        if (!opt_.subject_widths.empty() && !opt_.project_brain)
            throw error("loss::contrastive: subject_widths needs project_brain (one head per subject)");
        for (std::size_t w : opt_.subject_widths)
            if (w == 0) throw error("loss::contrastive: subject_widths holds a zero width");
        if (!opt_.subject_widths.empty() && source_traits<B>::from_student)
            throw error("loss::contrastive: per-subject brain heads (subject_widths) read a batch field, not the student");
        log_tau_ = matrix<T>({{T(std::log(opt_.tau))}});
        glog_tau_ = xt::zeros<T>({std::size_t(1), std::size_t(1)});
    }

    /// @name Term maths (the hooks of loss::term_base)
    ///@{

    /// Term maths: the name is "contrastive(<A>, <B>)"; both sources have rank 2; value(batch, a, b)
    /// creates the heads if needed (prepare) and returns L of the header comment, throwing
    /// b2m::shape_error when the row counts or a head's width differ and b2m::data_error for
    /// fewer than 2 trials; gradient(batch, w, a, b) adds w dL into the student side's gradient,
    /// the heads' and (learnt, unclamped) log tau's; for_each_param visits "student_head.*",
    /// "brain_head.*" (per subject "brain_head.subject<s>.*") and "log_tau" when learnt.
    static constexpr std::string_view term_name = "contrastive";
    static constexpr int source_rank = 2;

    T value(const data::batch<T>& batch, const source_ref<T>& sa, const source_ref<T>& sb) {
        const matrix<T>& h = sa.value;
        const matrix<T>& b = sb.value;
        const std::size_t n = h.shape(0);
        if (b.shape(0) != n)
            throw_shape_mismatch(this->name() + ": rows (trials) differ", sa.name(), h.shape(), sb.name(), b.shape());
        if (n < 2)
            throw data_error(this->name() + ": needs a batch of at least 2 trials to contrast (got " + std::to_string(n) +
                             "; " + sa.name() + " has shape " + shape_string(h.shape()) + ")");
        prepare(h, b);
        // Projections u (n x du), v (n x dv).
        const T* u = h.data();
        const T* v = b.data();
        std::size_t du = h.shape(1), dv = b.shape(1), ldv = b.shape(1);
        if (opt_.project_student) {
            ensure_shape(u_, n, opt_.dim);
            g_.forward(h.data(), n, h.shape(1), u_.data(), opt_.dim);
            u = u_.data();
            du = opt_.dim;
        }
        if (opt_.project_brain) {
            if (!fs_.empty()) fs_.forward(this->name(), b, batch.subject, v_);
            else {
                ensure_shape(v_, n, opt_.dim);
                f_.forward(b.data(), n, b.shape(1), v_.data(), opt_.dim);
            }
            v = v_.data();
            dv = ldv = opt_.dim;
        }
        if (du != dv)
            throw shape_error(this->name() + ": the student side has " + std::to_string(du) +
                              " features but the brain side " + std::to_string(dv) +
                              " (project a side, or use equal widths)");
        if (opt_.sim == similarity::cosine) {
            ensure_shape(un_, n, du);
            ensure_shape(vn_, n, du);
            nu_.resize(n);
            nv_.resize(n);
            detail::normalize_rows<T>(u, n, du, du, false, eps(), un_.data(), nu_.data());
            detail::normalize_rows<T>(v, n, du, ldv, false, eps(), vn_.data(), nv_.data());
            uh_ = un_.data();
            vh_ = vn_.data();
        } else {
            uh_ = u;
            vh_ = v;
            if (ldv != du) throw shape_error(this->name() + ": identity brain side must be contiguous");
        }
        d_ = du;
        scale_ = T(1) / tau();
        ensure_shape(s_, n, n);
        gemm_raw<T>(false, true, n, n, du, scale_, uh_, du, vh_, du, T(0), s_.data(), n);
        return softmax_loss(batch, n);
    }

    void gradient(const data::batch<T>&, T weight, const source_ref<T>& sa, const source_ref<T>& sb) {
        const matrix<T>& h = sa.value;
        const matrix<T>& b = sb.value;
        const std::size_t n = s_.shape(0), d = d_;
        const T alpha = weight * scale_;
        // d(uh) = alpha G vh ; d(vh) = alpha G^T uh
        ensure_shape(guh_, n, d);
        ensure_shape(gvh_, n, d);
        gemm_raw<T>(false, false, n, d, n, alpha, g_mat_.data(), n, vh_, d, T(0), guh_.data(), d);
        gemm_raw<T>(true, false, n, d, n, alpha, g_mat_.data(), n, uh_, d, T(0), gvh_.data(), d);
        const T* gu = guh_.data();
        const T* gv = gvh_.data();
        if (opt_.sim == similarity::cosine) {
            ensure_shape(gu_, n, d);
            ensure_shape(gv_, n, d);
            gu_.fill(T(0));
            gv_.fill(T(0));
            detail::normalize_rows_backward<T>(un_.data(), nu_.data(), guh_.data(), n, d, false, eps(), T(1),
                                               gu_.data(), d);
            detail::normalize_rows_backward<T>(vn_.data(), nv_.data(), gvh_.data(), n, d, false, eps(), T(1),
                                               gv_.data(), d);
            gu = gu_.data();
            gv = gv_.data();
        }
        // Student side.
        if (sa.grad) {
            matrix<T>& gh = *sa.grad;
            if (opt_.project_student) g_.backward(h.data(), n, h.shape(1), gu, d, T(1), gh.data(), gh.shape(1));
            else add_into(gh.data(), gu, n * d);
        } else if (opt_.project_student) {
            g_.backward(h.data(), n, h.shape(1), gu, d, T(1), nullptr, 0);
        }
        // Brain side.
        if (opt_.project_brain) {
            if (!fs_.empty()) {
                ensure_shape(gv_full_, n, d);
                std::copy_n(gv, n * d, gv_full_.data());
                fs_.backward(gv_full_, T(1));  // per-subject heads read batch data only (see constructor)
            } else {
                T* gb = sb.grad ? sb.grad->data() : nullptr;
                f_.backward(b.data(), n, b.shape(1), gv, d, T(1), gb, sb.grad ? b.shape(1) : 0);
            }
        } else if (sb.grad) {
            add_into(sb.grad->data(), gv, n * d);
        }
        // Temperature: S = exp(-theta) * sims, dL/dtheta = -sum G .* S (zero while clamped).
        if (opt_.learn_tau && T(std::exp(log_tau_(0, 0))) > T(opt_.tau_min)) glog_tau_(0, 0) -= weight * gs_dot_;
    }
    ///@}

    /// The temperature used by the next forward.
    T tau() const {
        return opt_.learn_tau ? std::max(T(std::exp(log_tau_(0, 0))), T(opt_.tau_min)) : T(opt_.tau);
    }

    /// Term interface: visits the heads' parameters and log tau (see gradient above).
    template <class F>
    void for_each_param(F&& f) {
        g_.for_each_param(f, "student_head.");
        f_.for_each_param(f, "brain_head.");
        fs_.for_each_param(f, "brain_head.");
        if (opt_.learn_tau) f("log_tau", log_tau_, glog_tau_);
    }

    /// Creates the heads for inputs of these widths (done by the first forward); rng(seed).
    void prepare(const matrix<T>& h, const matrix<T>& b) {
        if (prepared_) {
            if (opt_.project_student && h.shape(1) != g_.in_features())
                throw shape_error(this->name() + ": " + source_traits<A>::name() + " has shape " + shape_string(h.shape()) +
                                  " but the student head was built for " + std::to_string(g_.in_features()) +
                                  " features");
            if (opt_.project_brain && fs_.empty() && b.shape(1) != f_.in_features())
                throw shape_error(this->name() + ": " + source_traits<B>::name() + " has shape " + shape_string(b.shape()) +
                                  " but the brain head was built for " + std::to_string(f_.in_features()) +
                                  " columns");
            return;
        }
        rng r(opt_.seed);
        if (opt_.project_student) {
            g_ = linear_head<T>(h.shape(1), opt_.dim, opt_.bias);
            rng r0 = r.split(0);
            g_.init(r0);
        }
        if (opt_.project_brain) {
            rng r1 = r.split(1);
            if (opt_.subject_widths.empty()) {
                f_ = linear_head<T>(b.shape(1), opt_.dim, opt_.bias);
                f_.init(r1);
            } else {
                fs_ = subject_heads<T>(opt_.subject_widths, opt_.dim, opt_.bias);
                fs_.init(r1);
            }
        }
        prepared_ = true;
    }

    linear_head<T>& student_head() { return g_; }   ///< g (empty before prepare or without project_student).
    linear_head<T>& brain_head() { return f_; }     ///< f (empty before prepare, without project_brain or with subjects).
    subject_heads<T>& brain_heads() { return fs_; } ///< Per-subject f (empty without subject_widths).
    matrix<T>& log_tau() { return log_tau_; }       ///< theta = log tau (1 x 1), learnt with learn_tau.
    /// The last similarity matrix S (n x n, already divided by tau).
    const matrix<T>& similarities() const { return s_; }

private:
    static T eps() { return T(row_norm_eps); }
    static void add_into(T* dst, const T* src, std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) dst[i] += src[i];
    }
    bool positive(const std::int64_t* stim, std::size_t i, std::size_t j) const {
        return stim ? stim[i] == stim[j] : i == j;
    }

    /// Value of the InfoNCE loss on s_; writes G = dL/dS into g_mat_ and sum(G .* S) into gs_dot_.
    T softmax_loss(const data::batch<T>& batch, std::size_t n) {
        const std::int64_t* stim = nullptr;
        if (opt_.use_stimulus && batch.stimulus.size() > 0) {
            if (batch.stimulus.size() != n)
                throw shape_error(this->name() + ": batch.stimulus has " + std::to_string(batch.stimulus.size()) +
                                  " entries but the batch has " + std::to_string(n) + " trials");
            stim = batch.stimulus.data();
        }
        count_.resize(n);
        if (stim == nullptr) std::fill(count_.begin(), count_.end(), T(1));  // only i == j
        else
            for (std::size_t i = 0; i < n; ++i) {
                std::size_t c = 0;
                for (std::size_t j = 0; j < n; ++j) c += positive(stim, i, j);
                count_[i] = T(c);
            }
        ensure_shape(g_mat_, n, n);
        const T wr = (opt_.symmetric ? T(0.5) : T(1)) / T(n);
        const T wc = (opt_.symmetric ? T(0.5) : T(0)) / T(n);
        const T* S = s_.data();
        T* G = g_mat_.data();
        if (n > 0) {  // One exp per entry, shared by the row and the column softmax, when no entry is
            // more than 80 below the largest (no exp then underflows; cosine similarities
            // over tau >= 0.025 always qualify); else the two-exp passes below.
            T smax = S[0], smin = S[0];
            simd_dispatch([&](auto) B2M_SIMD_INLINE {
#pragma omp simd reduction(max : smax) reduction(min : smin)
                for (std::size_t k = 0; k < n * n; ++k) smax = std::max(smax, S[k]), smin = std::min(smin, S[k]);
            });
            if (std::isfinite(smax) && std::isfinite(smin) && smax - smin < T(80))
                return softmax_loss_fused(stim, n, wr, wc, smax);
        }
        // Row softmax: G_ij = wr (p_ij - [pos] / |P(i)|); accumulate the row losses.
        row_loss_.resize(n);
        parallel_for(n, items_per_thread(4 * n), [&](std::size_t lo, std::size_t hi) {
            for (std::size_t i = lo; i < hi; ++i) {
                const T* si = S + i * n;
                T* gi = G + i * n;
                T m = -std::numeric_limits<T>::infinity();
                for (std::size_t j = 0; j < n; ++j) m = std::max(m, si[j]);
                T sum = 0;
                for (std::size_t j = 0; j < n; ++j) sum += (gi[j] = std::exp(si[j] - m));
                const T lse = m + std::log(sum), inv = wr / sum, pinv = T(1) / count_[i];
                T possum = 0;
                for (std::size_t j = 0; j < n; ++j) {
                    const bool p = positive(stim, i, j);
                    if (p) possum += si[j];
                    gi[j] = gi[j] * inv - (p ? wr * pinv : T(0));
                }
                row_loss_[i] = lse - possum * pinv;
            }
        });
        T loss_row = 0;
        for (std::size_t i = 0; i < n; ++i) loss_row += row_loss_[i];
        loss_row /= T(n);
        T loss = opt_.symmetric ? T(0.5) * loss_row : loss_row;
        if (opt_.symmetric) {
            // Column softmax, computed in row order: column maxima, then sums.
            colmax_.assign(n, -std::numeric_limits<T>::infinity());
            colsum_.assign(n, T(0));
            for (std::size_t i = 0; i < n; ++i) {
                const T* si = S + i * n;
                for (std::size_t j = 0; j < n; ++j) colmax_[j] = std::max(colmax_[j], si[j]);
            }
            ensure_shape(pcol_, n, n);
            T* P = pcol_.data();
            for (std::size_t i = 0; i < n; ++i) {
                const T* si = S + i * n;
                T* pi = P + i * n;
                for (std::size_t j = 0; j < n; ++j) colsum_[j] += (pi[j] = std::exp(si[j] - colmax_[j]));
            }
            T loss_col = 0;
            for (std::size_t j = 0; j < n; ++j) {
                loss_col += colmax_[j] + std::log(colsum_[j]);
                colsum_[j] = wc / colsum_[j];  // now the scale of column j's probabilities
            }
            for (std::size_t i = 0; i < n; ++i) {
                const T* si = S + i * n;
                const T* pi = P + i * n;
                T* gi = G + i * n;
                for (std::size_t j = 0; j < n; ++j) {
                    T g = pi[j] * colsum_[j];
                    if (positive(stim, i, j)) {
                        g -= wc / count_[j];
                        loss_col -= si[j] / count_[j];
                    }
                    gi[j] += g;
                }
            }
            loss += T(0.5) * loss_col / T(n);
        }
        T gs = 0;
        for (std::size_t k = 0; k < n * n; ++k) gs += G[k] * S[k];
        gs_dot_ = gs;
        return loss;
    }

    /// softmax_loss in three passes over S with one exp per entry: E_ij = exp(S_ij - m_i)
    /// (m_i the row maximum) gives the row softmax E / rowsum and, scaled by
    /// exp(m_i - M) (M the global maximum, so no overflow), the column softmax; then
    /// G = E (wr / rowsum_i + wc exp(m_i - M) / colsum_j) - the positives' terms.
    /// Requires every S_ij >= M - 80 (checked by the caller). Vectorised at the CPU's width.
    T softmax_loss_fused(const std::int64_t* stim, std::size_t n, T wr, T wc, T smax) {
        const T* S = s_.data();
        T* G = g_mat_.data();
        row_loss_.resize(n);   // row maxima m_i
        colmax_.resize(n);     // row sums
        colsum_.resize(n);     // column sums, then wc / column sum
        const bool sym = opt_.symmetric;
        T gs = 0;
        simd_dispatch([&](auto) B2M_SIMD_INLINE {
            T* cs = colsum_.data();
            for (std::size_t j = 0; j < n; ++j) cs[j] = T(0);
            for (std::size_t i = 0; i < n; ++i) {
                const T* si = S + i * n;
                T* gi = G + i * n;
                T m = si[0];
#pragma omp simd reduction(max : m)
                for (std::size_t j = 0; j < n; ++j) m = std::max(m, si[j]);
                T sum = 0;
#pragma omp simd reduction(+ : sum)
                for (std::size_t j = 0; j < n; ++j) {
                    const T e = fast_exp(si[j] - m);
                    gi[j] = e;
                    sum += e;
                }
                if (sym) {
                    const T ei = fast_exp(m - smax);
#pragma omp simd
                    for (std::size_t j = 0; j < n; ++j) cs[j] += gi[j] * ei;
                }
                row_loss_[i] = m;
                colmax_[i] = sum;
            }
            if (sym)
                for (std::size_t j = 0; j < n; ++j) cs[j] = wc / cs[j];
            for (std::size_t i = 0; i < n; ++i) {
                const T* si = S + i * n;
                T* gi = G + i * n;
                const T a = wr / colmax_[i], ei = sym ? fast_exp(row_loss_[i] - smax) : T(0);
                T acc = 0;
                if (sym) {
#pragma omp simd reduction(+ : acc)
                    for (std::size_t j = 0; j < n; ++j) {
                        const T g = gi[j] * (a + ei * cs[j]);
                        gi[j] = g;
                        acc += g * si[j];
                    }
                } else {
#pragma omp simd reduction(+ : acc)
                    for (std::size_t j = 0; j < n; ++j) {
                        const T g = gi[j] * a;
                        gi[j] = g;
                        acc += g * si[j];
                    }
                }
                gs += acc;
            }
        });
        // The positives: G_ij -= wr / |P(i)| + wc / |P(j)|, and their similarities in the loss.
        double loss_row = 0, loss_col = 0;
        for (std::size_t i = 0; i < n; ++i) loss_row += double(row_loss_[i]) + std::log(double(colmax_[i]));
        if (sym)
            for (std::size_t j = 0; j < n; ++j) loss_col += double(smax) + std::log(double(wc) / double(colsum_[j]));
        auto pos = [&](std::size_t i, std::size_t j) {
            const T sij = S[i * n + j], d = wr / count_[i] + wc / count_[j];
            G[i * n + j] -= d;
            gs -= d * sij;
            loss_row -= double(sij) / double(count_[i]);
            loss_col -= double(sij) / double(count_[j]);
        };
        if (stim == nullptr)
            for (std::size_t i = 0; i < n; ++i) pos(i, i);
        else
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t j = 0; j < n; ++j)
                    if (stim[i] == stim[j]) pos(i, j);
        gs_dot_ = gs;
        const T lr = T(loss_row / double(n));
        return sym ? T(0.5) * lr + T(0.5 * loss_col / double(n)) : lr;
    }

    contrastive_options opt_;
    bool prepared_ = false;
    linear_head<T> g_, f_;
    subject_heads<T> fs_;
    matrix<T> log_tau_, glog_tau_;
    matrix<T> u_, v_, un_, vn_, s_, g_mat_, pcol_, guh_, gvh_, gu_, gv_, gv_full_;
    std::vector<T> nu_, nv_, count_, row_loss_, colmax_, colsum_;
    const T* uh_ = nullptr;
    const T* vh_ = nullptr;
    std::size_t d_ = 0;
    T scale_ = 1, gs_dot_ = 0;
};

/// Contrastive (InfoNCE) transfer between source a (a student tap) and b (data::brain).
template <source A, source B>
auto contrastive(A, B, contrastive_options options = {}) {
    return make_term_spec<contrastive_term>(source_list<A, B>{}, std::move(options));
}

} // namespace b2m::loss
