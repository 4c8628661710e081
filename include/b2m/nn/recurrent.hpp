// b2m/nn/recurrent.hpp - recurrent layers over sequence batches: simple RNN (tanh), GRU
// and LSTM, with backpropagation through time.
//
//   nn::gru(8, 128)                                   // F = 8 inputs, H = 128 hidden units
//   nn::lstm(8, 64, {.learn_initial_state = true})    // learnable h0 (and c0)
//
// Input (B, T*F) (see nn/sequence.hpp; T = columns / F), output every step's hidden state
// (B, T*H), logical rank 3, so objectives can tap any step or all of them.
//
// Equations and parameters follow PyTorch (torch.nn.RNN / GRU / LSTM, one layer,
// batch_first), with the weights stored transposed so that pre-activations are x W:
//   weight_ih (F, G*H) = weight_ih_l0^T,  weight_hh (H, G*H) = weight_hh_l0^T,
//   bias_ih, bias_hh (1, G*H); gate blocks in PyTorch's order:
//   rnn  (G=1): h = tanh(x W_ih + b_ih + h' W_hh + b_hh)
//   gru  (G=3, r z n): r = s(x W_ir + b_ir + h' W_hr + b_hr), z = s(... z ...),
//                      n = tanh(x W_in + b_in + r * (h' W_hn + b_hn)), h = (1 - z) n + z h'
//   lstm (G=4, i f g o): c = f c' + i g, h = o tanh(c)
// Initial state: zero by default; with learn_initial_state a learnable (1, H) row "h0"
// (and "c0" for the LSTM) shared by all sequences; or, per batch, a provided (B, H)
// state set by set_initial_state() whose gradient initial_state_grad() returns after
// backward.
//
// Variable lengths: set_lengths(len) before forward (one entry per row, 0 <= len[b] <= T;
// it stays in force until clear_lengths() or another set_lengths). For steps t >= len[b],
// the state is carried unchanged (h(b,t) = h(b,len[b]-1)), the inputs x(b,t) are ignored
// and get zero gradient, and those steps add nothing to the parameter gradients. Hence the
// last step of the output is every row's final valid state (nn::last_step needs no
// lengths). Gradients flowing into the carried copies reach the last valid state, as the
// copy semantics require.
//
// Cost per forward: one GEMM (B*T, F) x (F, G*H) for all input projections, then per step
// one product (B, H) x (H, G*H) reading h(t-1) in place from the output, and one fused
// element-wise pass. Backward: per step one product (B, G*H) x (G*H, H); the weight and
// input gradients are GEMMs over all steps at once (bias gradients ride along as one more
// output row). The per-step products use W_hh packed
// once per forward / backward and the register-blocked kernel of core/small_gemm.hpp
// (OpenBLAS would re-pack W_hh on each of the T calls); rows are independent in the
// recurrence, so each thread runs its rows through all steps in one parallel region, and
// the cell loops are compiled for the CPU's vector width. Steady state allocates nothing.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/fast_exp.hpp"
#include "b2m/core/gemm.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/small_gemm.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_base.hpp"
#include "b2m/nn/sequence.hpp"

namespace b2m::nn {

namespace detail {
template <class T>
inline T rec_exp(T x) {
    return fast_exp(x);
}
template <class T>
inline T rec_sigmoid(T x) {
    return T(1) / (T(1) + rec_exp(-x));  // exp overflow (double) gives 1/inf = 0, not NaN
}
template <class T>
inline T rec_tanh(T x) {
    if constexpr (std::is_same_v<T, double>) return std::tanh(x);
    else return T(2) / (T(1) + rec_exp(T(-2) * x)) - T(1);
}
} // namespace detail

/// Per-row kernels of the three cells. Each works on one sequence row and one step:
/// xp = x W_ih + b_ih (G*H), hp = h' W_hh without bias (G*H), cache = what backward needs.
/// backward gets dh = dL/dh(t) (total), dc = dL/dc(t) (LSTM); it writes dg = dL/d(xp),
/// dhp = dL/d(hp) (GRU only, else equal to dg), and leaves in dh (and dc) the part of
/// dL/dh(t-1) (dL/dc(t-1)) that does not pass through W_hh.
struct rnn_cell {
    /// @name Cell interface (stated at rnn_cell)
    ///@{

    /// Cell interface: `gates` G pre-activation blocks of H per unit, `cache` H-sized blocks
    /// per row and step that backward reads, `has_c` (a cell state c, LSTM), `separate_hp`
    /// (dL/d(hp) differs from dL/d(xp): dhp is written), `name` of the spec in errors;
    /// static forward / backward are the per-row kernels described at rnn_cell.
    static constexpr std::size_t gates = 1, cache = 0;
    static constexpr bool has_c = false, separate_hp = false;
    static constexpr const char* name = "nn::rnn";
    template <class T>
    static void forward(std::size_t H, const T* xp, const T* hp, const T* bhh, const T*, const T*, T* h, T*, T*) {
#pragma omp simd
        for (std::size_t j = 0; j < H; ++j) h[j] = detail::rec_tanh(xp[j] + hp[j] + bhh[j]);
    }
    template <class T>
    static void backward(std::size_t H, T* dh, T*, const T*, const T* h, const T*, const T*, const T*, T* dg, T*) {
#pragma omp simd
        for (std::size_t j = 0; j < H; ++j) {
            dg[j] = dh[j] * (T(1) - h[j] * h[j]);
            dh[j] = T(0);
        }
    }
    ///@}
};

/// GRU cell (G = 3, gates r z n in PyTorch's order; cache r, z, n, h' W_hn + b_hn).
struct gru_cell {
    /// @name Cell interface (stated at rnn_cell)
    ///@{

    /// Cell interface: `gates` G pre-activation blocks of H per unit, `cache` H-sized blocks
    /// per row and step that backward reads, `has_c` (a cell state c, LSTM), `separate_hp`
    /// (dL/d(hp) differs from dL/d(xp): dhp is written), `name` of the spec in errors;
    /// static forward / backward are the per-row kernels described at rnn_cell.
    static constexpr std::size_t gates = 3, cache = 4;  // r, z, n, hn = h' W_hn + b_hn
    static constexpr bool has_c = false, separate_hp = true;
    static constexpr const char* name = "nn::gru";
    template <class T>
    static void forward(std::size_t H, const T* xp, const T* hp, const T* bhh, const T* hprev, const T*, T* h, T*,
                        T* cache) {
        T *cr = cache, *cz = cache + H, *cn = cache + 2 * H, *chn = cache + 3 * H;
#pragma omp simd
        for (std::size_t j = 0; j < H; ++j) {
            const T r = detail::rec_sigmoid(xp[j] + hp[j] + bhh[j]);
            const T z = detail::rec_sigmoid(xp[H + j] + hp[H + j] + bhh[H + j]);
            const T hn = hp[2 * H + j] + bhh[2 * H + j];
            const T n = detail::rec_tanh(xp[2 * H + j] + r * hn);
            h[j] = n + z * (hprev[j] - n);
            cr[j] = r;
            cz[j] = z;
            cn[j] = n;
            chn[j] = hn;
        }
    }
    template <class T>
    static void backward(std::size_t H, T* dh, T*, const T* cache, const T*, const T* hprev, const T*, const T*,
                         T* dg, T* dhp) {
        const T *cr = cache, *cz = cache + H, *cn = cache + 2 * H, *chn = cache + 3 * H;
#pragma omp simd
        for (std::size_t j = 0; j < H; ++j) {
            const T r = cr[j], z = cz[j], n = cn[j], d = dh[j];
            const T dn_pre = d * (T(1) - z) * (T(1) - n * n);
            const T dz_pre = d * (hprev[j] - n) * z * (T(1) - z);
            const T dr_pre = dn_pre * chn[j] * r * (T(1) - r);
            dg[j] = dr_pre;
            dg[H + j] = dz_pre;
            dg[2 * H + j] = dn_pre;
            dhp[j] = dr_pre;
            dhp[H + j] = dz_pre;
            dhp[2 * H + j] = dn_pre * r;
            dh[j] = d * z;
        }
    }
    ///@}
};

/// LSTM cell (G = 4, gates i f g o in PyTorch's order; cache i, f, g, o, tanh(c)).
struct lstm_cell {
    /// @name Cell interface (stated at rnn_cell)
    ///@{

    /// Cell interface: `gates` G pre-activation blocks of H per unit, `cache` H-sized blocks
    /// per row and step that backward reads, `has_c` (a cell state c, LSTM), `separate_hp`
    /// (dL/d(hp) differs from dL/d(xp): dhp is written), `name` of the spec in errors;
    /// static forward / backward are the per-row kernels described at rnn_cell.
    static constexpr std::size_t gates = 4, cache = 5;  // i, f, g, o, tanh(c)
    static constexpr bool has_c = true, separate_hp = false;
    static constexpr const char* name = "nn::lstm";
    template <class T>
    static void forward(std::size_t H, const T* xp, const T* hp, const T* bhh, const T*, const T* cprev, T* h, T* c,
                        T* cache) {
#pragma omp simd
        for (std::size_t j = 0; j < H; ++j) {
            const T i = detail::rec_sigmoid(xp[j] + hp[j] + bhh[j]);
            const T f = detail::rec_sigmoid(xp[H + j] + hp[H + j] + bhh[H + j]);
            const T g = detail::rec_tanh(xp[2 * H + j] + hp[2 * H + j] + bhh[2 * H + j]);
            const T o = detail::rec_sigmoid(xp[3 * H + j] + hp[3 * H + j] + bhh[3 * H + j]);
            const T cc = f * cprev[j] + i * g;
            const T tc = detail::rec_tanh(cc);
            c[j] = cc;
            h[j] = o * tc;
            cache[j] = i;
            cache[H + j] = f;
            cache[2 * H + j] = g;
            cache[3 * H + j] = o;
            cache[4 * H + j] = tc;
        }
    }
    template <class T>
    static void backward(std::size_t H, T* dh, T* dc, const T* cache, const T*, const T*, const T* cprev, const T*,
                         T* dg, T*) {
#pragma omp simd
        for (std::size_t j = 0; j < H; ++j) {
            const T i = cache[j], f = cache[H + j], g = cache[2 * H + j], o = cache[3 * H + j], tc = cache[4 * H + j];
            const T d = dh[j];
            const T dcc = dc[j] + d * o * (T(1) - tc * tc);
            dg[j] = dcc * g * i * (T(1) - i);
            dg[H + j] = dcc * cprev[j] * f * (T(1) - f);
            dg[2 * H + j] = dcc * i * (T(1) - g * g);
            dg[3 * H + j] = d * tc * o * (T(1) - o);
            dc[j] = dcc * f;
            dh[j] = T(0);
        }
    }
    ///@}
};

/// Options of the recurrent specs.
struct recurrent_options {
    bool learn_initial_state = false;  ///< learnable (1, H) h0 (and c0), shared by all rows
};

/// The layer object of nn::rnn / gru / lstm (Cell: rnn_cell, gru_cell, lstm_cell) for scalar
/// type T: holds and owns the parameters of the header comment (weight_ih (F, G*H), weight_hh
/// (H, G*H), bias_ih, bias_hh (1, G*H), h0 and c0 (1, H)), their gradients and every forward /
/// backward buffer but the output and input gradient, which with the pointer to the last input
/// are nn::layer_base's; keeps pointers to any set_initial_state matrices.
template <real T, class Cell>
class recurrent_layer : public layer_base<recurrent_layer<T, Cell>, T> {
    using base = layer_base<recurrent_layer<T, Cell>, T>;
    using base::x_, base::y_, base::gx_;
    static constexpr std::size_t G = Cell::gates;

public:
    /// Layer interface (b2m/nn/layer.hpp): rank_out 3; forward takes x (B, T*F) (T = columns / F,
    /// b2m::shape_error otherwise) and returns every step's hidden state (B, T*H), honouring the
    /// lengths (step_context::lengths, else set_lengths); backward takes gy (B, T*H)
    /// (b2m::shape_error otherwise), adds the parameter gradients through time and returns
    /// dL/dx (B, T*F) (empty when !need_input_grad);
    /// for_each_param visits weight_ih, weight_hh, bias_ih, bias_hh and, with
    /// learn_initial_state, h0 (and c0 for the LSTM).
    static constexpr int rank_out = 3;

    /// Requires in, hidden > 0 (b2m::shape_error otherwise); parameters unset until init.

    recurrent_layer(std::size_t in, std::size_t hidden, recurrent_options o) : F_(in), H_(hidden), opt_(o) {
        if (in == 0 || hidden == 0)
            throw shape_error(std::string(Cell::name) + ": input and hidden features must be positive");
        const std::size_t gh = G * H_;
        w_ih_ = xt::zeros<T>({F_, gh});
        gw_ih_ = xt::zeros<T>({F_, gh});
        w_hh_ = xt::zeros<T>({H_, gh});
        gw_hh_ = xt::zeros<T>({H_, gh});
        b_ih_ = xt::zeros<T>({std::size_t(1), gh});
        gb_ih_ = xt::zeros<T>({std::size_t(1), gh});
        b_hh_ = xt::zeros<T>({std::size_t(1), gh});
        gb_hh_ = xt::zeros<T>({std::size_t(1), gh});
        h0_ = xt::zeros<T>({std::size_t(1), H_});
        gh0_ = xt::zeros<T>({std::size_t(1), H_});
        c0_ = xt::zeros<T>({std::size_t(1), H_});
        gc0_ = xt::zeros<T>({std::size_t(1), H_});
    }

    /// PyTorch's initialisation: every weight and bias U(+-1/sqrt(H)); h0, c0 zero.
    void init(rng& r) {
        const double a = 1.0 / std::sqrt(double(H_));
        r.fill_uniform(w_ih_, -a, a);
        r.fill_uniform(w_hh_, -a, a);
        r.fill_uniform(b_ih_, -a, a);
        r.fill_uniform(b_hh_, -a, a);
        h0_.fill(T(0));
        c0_.fill(T(0));
    }

    /// Per-row valid lengths for the following forwards (copied; 0 <= len[b] <= T, checked
    /// at forward together with len.size() == batch).
    void set_lengths(std::span<const std::int64_t> len) {
        lengths_.assign(len.begin(), len.end());
        has_lengths_ = true;
    }
    /// Every step of every row is valid again (undoes set_lengths).
    void clear_lengths() { has_lengths_ = lengths_from_batch_ = false; }

    /// Uses h0 (and c0 for the LSTM), each (B, H), as the initial state of the following
    /// forwards instead of zeros / the learnable row. Not copied: they must outlive the
    /// forward and backward that use them. Pass nullptr to go back to the default.
    void set_initial_state(const matrix<T>* h0, const matrix<T>* c0 = nullptr) {
        given_h0_ = h0;
        given_c0_ = c0;
    }
    /// dL/dh0 (B, H) of the last backward (also when h0 is zero or learnable).
    const matrix<T>& initial_state_grad() const { return dh_; }
    /// dL/dc0 (B, H) of the last backward (LSTM).
    const matrix<T>& initial_cell_grad() const { return dc_; }

    /// Layer interface (see rank_out).
    const matrix<T>& forward(const matrix<T>& x, const step_context& ctx) {
        const std::size_t steps = sequence_steps([this] { return name(); }, x, F_);
        const std::size_t B = x.shape(0), H = H_, gh = G * H_, bt = B * steps;
        take_batch_lengths(ctx);
        this->begin_forward(x, B, steps * H);
        T_ = steps;
        check_lengths(B);
        ensure_shape(xp_, bt, gh);
        ensure_shape(hp_, B, gh);
        ensure_shape(h0b_, B, H);
        if constexpr (Cell::cache > 0) ensure_shape(cache_, bt, Cell::cache * H);
        if constexpr (Cell::has_c) {
            ensure_shape(c_, bt, H);
            ensure_shape(c0b_, B, H);
        }
        fill_initial(given_h0_, h0_, h0b_, "initial state h0");
        if constexpr (Cell::has_c) fill_initial(given_c0_, c0_, c0b_, "initial cell state c0");

        // All input projections at once: xp (B*T, G*H) = x (B*T, F) W_ih + b_ih.
        for (std::size_t r = 0; r < bt; ++r) std::copy_n(b_ih_.data(), gh, xp_.data() + r * gh);
        gemm_raw<T>(false, false, bt, gh, F_, T(1), x.data(), F_, w_ih_.data(), gh, T(1), xp_.data(), gh);

        // The recurrence of one row never reads another row: each thread runs its rows
        // through every step (no synchronisation per step), with W_hh packed once here.
        pack_b(whh_packed_, false, H, gh, w_hh_.data(), gh);
        parallel_for(B, rows_per_thread(steps), [&](std::size_t b0, std::size_t b1) {
            simd_dispatch([&](auto vb) B2M_SIMD_INLINE { forward_rows<decltype(vb)::value>(b0, b1, steps); },
                          whh_packed_.vector_bytes);
        });
        return y_;
    }

    /// Layer interface (see rank_out); requires the forward of the same batch before it.
    const matrix<T>& backward(const matrix<T>& gy, bool need_input_grad) {
        const std::size_t steps = T_, B = y_.shape(0), H = H_, gh = G * H_, bt = B * steps;
        this->check_output_grad(gy);
        ensure_shape(dg_, bt, gh);
        if constexpr (Cell::separate_hp) ensure_shape(dhp_, bt, gh);
        matrix<T>& dhp = Cell::separate_hp ? dhp_ : dg_;
        ensure_shape(dh_, B, H);
        dh_.fill(T(0));
        if constexpr (Cell::has_c) {
            ensure_shape(dc_, B, H);
            dc_.fill(T(0));
        }
        pack_b(whh_t_packed_, true, gh, H, w_hh_.data(), gh);  // W_hh^T (G*H, H)
        parallel_for(B, rows_per_thread(steps), [&](std::size_t b0, std::size_t b1) {
            simd_dispatch([&](auto vb) B2M_SIMD_INLINE { backward_rows<decltype(vb)::value>(gy, b0, b1, steps); },
                          whh_t_packed_.vector_bytes);
        });
        if (opt_.learn_initial_state && given_h0_ == nullptr) add_column_sums(dh_, gh0_);
        if constexpr (Cell::has_c)
            if (opt_.learn_initial_state && given_c0_ == nullptr) add_column_sums(dc_, gc0_);

        // Weight and bias gradients over all steps at once. Inputs carry a column of ones
        // so that each bias gradient (a column sum) comes out of its weight GEMM as one
        // more output row: hprev_ = [h(t-1) 1] (B*T, H+1), the output shifted by one step
        // with h0 first; xaug_ = [x 1] (B*T, F+1).
        const std::size_t F = F_;
        ensure_shape(hprev_, bt, H + 1);
        ensure_shape(xaug_, bt, F + 1);
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t t = 0; t < steps; ++t) {
                const std::size_t row = b * steps + t;
                const T* src = t == 0 ? h0b_.data() + b * H : y_.data() + (row - 1) * H;
                T* dst = hprev_.data() + row * (H + 1);
                std::copy_n(src, H, dst);
                dst[H] = T(1);
                T* xd = xaug_.data() + row * (F + 1);
                std::copy_n(x_->data() + row * F, F, xd);
                xd[F] = T(1);
            }
        // The blocked A^T B kernel of core/small_gemm.hpp (1.7x OpenBLAS's sgemm on the
        // 129 x 384 x 3200 shape of B2M-GRU's dW_hh, which OpenBLAS packs whole per call).
        ensure_shape(wgrad_, std::max(H, F) + 1, gh);
        wgrad_.fill(T(0));
        gemm_tn_accumulate<T>(H + 1, gh, bt, hprev_.data(), H + 1, dhp.data(), gh, wgrad_.data(), gh, pack_work_);
        add_rows(wgrad_.data(), H, gh, gw_hh_.data(), gb_hh_.data());
        wgrad_.fill(T(0));
        gemm_tn_accumulate<T>(F + 1, gh, bt, xaug_.data(), F + 1, dg_.data(), gh, wgrad_.data(), gh, pack_work_);
        add_rows(wgrad_.data(), F, gh, gw_ih_.data(), gb_ih_.data());
        if (this->skip_input_grad(need_input_grad)) return gx_;
        matrix<T>& gx = this->begin_backward(gy);  // (B, T*F)
        gemm_raw<T>(false, true, bt, F_, gh, T(1), dg_.data(), gh, w_ih_.data(), gh, T(0), gx.data(), F_);
        return gx;
    }

    /// Layer interface (see rank_out).
    template <class F>
    void for_each_param(F&& f) {
        f("weight_ih", w_ih_, gw_ih_);
        f("weight_hh", w_hh_, gw_hh_);
        f("bias_ih", b_ih_, gb_ih_);
        f("bias_hh", b_hh_, gb_hh_);
        if (opt_.learn_initial_state) {
            f("h0", h0_, gh0_);
            if constexpr (Cell::has_c) f("c0", c0_, gc0_);
        }
    }

    /// Text naming the layer, e.g. "nn::gru(F, H)", for messages.
    std::string name() const {
        return std::string(Cell::name) + "(" + std::to_string(F_) + ", " + std::to_string(H_) + ")";
    }
    std::size_t in_features() const { return F_; }      ///< F, input features per step.
    std::size_t hidden_features() const { return H_; }  ///< H, hidden units.
    matrix<T>& weight_ih() { return w_ih_; } ///< (F, G*H), PyTorch's weight_ih_l0 transposed.
    matrix<T>& weight_hh() { return w_hh_; } ///< (H, G*H), PyTorch's weight_hh_l0 transposed.
    matrix<T>& bias_ih() { return b_ih_; }   ///< (1, G*H).
    matrix<T>& bias_hh() { return b_hh_; }   ///< (1, G*H).
    matrix<T>& h0() { return h0_; } ///< Learnable initial hidden state (1, H), zero and unused without learn_initial_state.
    matrix<T>& c0() { return c0_; } ///< Learnable initial cell state (1, H) of the LSTM, as h0.

private:
    // A row costs T * (2 H G*H + cell) operations: one parallel region per sequence pays
    // for itself from a few rows per thread.
    std::size_t rows_per_thread(std::size_t steps) const {
        return items_per_thread(steps * (2 * H_ + 16) * G * H_);
    }

    /// Forward recurrence of rows [b0, b1) over all steps: hp = h(t-1) W_hh (packed,
    /// register-blocked), then the cell, per step; compiled for vector width VB.
    template <int VB>
    B2M_SIMD_INLINE void forward_rows(std::size_t b0, std::size_t b1, std::size_t steps) {
        const std::size_t H = H_, gh = G * H_, m = b1 - b0;
        const T* bhh = b_hh_.data();
        for (std::size_t t = 0; t < steps; ++t) {
            const std::size_t ldh = t == 0 ? H : steps * H;
            const T* hprev0 = t == 0 ? h0b_.data() + b0 * H : y_.data() + (b0 * steps + t - 1) * H;
            small_gemm_packed<VB>(m, hprev0, ldh, whh_packed_, hp_.data() + b0 * gh, gh, false);
            for (std::size_t b = b0; b < b1; ++b) {
                const std::size_t row = b * steps + t;
                const T* hp_b = hprev0 + (b - b0) * ldh;
                T* h = y_.data() + row * H;
                const T* cp_b = nullptr;
                T* c = nullptr;
                if constexpr (Cell::has_c) {
                    cp_b = t == 0 ? c0b_.data() + b * H : c_.data() + (row - 1) * H;
                    c = c_.data() + row * H;
                }
                if (has_lengths_ && t >= std::size_t(lengths_[b])) {
                    std::copy_n(hp_b, H, h);
                    if constexpr (Cell::has_c) std::copy_n(cp_b, H, c);
                    continue;
                }
                T* cache = nullptr;
                if constexpr (Cell::cache > 0) cache = cache_.data() + row * Cell::cache * H;
                Cell::forward(H, xp_.data() + row * gh, hp_.data() + b * gh, bhh, hp_b, cp_b, h, c, cache);
            }
        }
    }

    /// Backpropagation through time of rows [b0, b1): per step (last first) the cell's
    /// backward, then dL/dh(t-1) += dL/d(hp(t)) W_hh^T (packed) for these rows.
    template <int VB>
    B2M_SIMD_INLINE void backward_rows(const matrix<T>& gy, std::size_t b0, std::size_t b1, std::size_t steps) {
        const std::size_t H = H_, gh = G * H_, m = b1 - b0;
        matrix<T>& dhp = Cell::separate_hp ? dhp_ : dg_;
        for (std::size_t t = steps; t-- > 0;) {
            for (std::size_t b = b0; b < b1; ++b) {
                const std::size_t row = b * steps + t;
                T* dh = dh_.data() + b * H;
                const T* g = gy.data() + row * H;
#pragma omp simd
                for (std::size_t j = 0; j < H; ++j) dh[j] += g[j];
                if (has_lengths_ && t >= std::size_t(lengths_[b])) {  // carried copy: pass through
                    std::fill_n(dg_.data() + row * gh, gh, T(0));
                    if constexpr (Cell::separate_hp) std::fill_n(dhp_.data() + row * gh, gh, T(0));
                    continue;
                }
                const T* hprev = t == 0 ? h0b_.data() + b * H : y_.data() + (row - 1) * H;
                T* dc = nullptr;
                const T *cprev = nullptr, *c = nullptr, *cache = nullptr;
                if constexpr (Cell::has_c) {
                    dc = dc_.data() + b * H;
                    cprev = t == 0 ? c0b_.data() + b * H : c_.data() + (row - 1) * H;
                    c = c_.data() + row * H;
                }
                if constexpr (Cell::cache > 0) cache = cache_.data() + row * Cell::cache * H;
                T* dhp_row = Cell::separate_hp ? dhp_.data() + row * gh : nullptr;
                Cell::backward(H, dh, dc, cache, y_.data() + row * H, hprev, cprev, c, dg_.data() + row * gh,
                               dhp_row);
            }
            // dL/dh(t-1) += dL/d(hp(t)) W_hh^T, the rows of step t read in place.
            small_gemm_packed<VB>(m, dhp.data() + (b0 * steps + t) * gh, steps * gh, whh_t_packed_,
                                  dh_.data() + b0 * H, H, true);
        }
    }
    /// A batch's lengths (step_context::lengths) hold for its forward and backward; a later
    /// batch without lengths runs every step again (set_lengths stays in force until cleared).
    void take_batch_lengths(const step_context& ctx) {
        if (!ctx.lengths.empty()) {
            lengths_.assign(ctx.lengths.begin(), ctx.lengths.end());  // no allocation once sized
            has_lengths_ = lengths_from_batch_ = true;
        } else if (lengths_from_batch_) {
            has_lengths_ = lengths_from_batch_ = false;
        }
    }
    void check_lengths(std::size_t B) const {
        if (!has_lengths_) return;
        if (lengths_.size() != B)
            throw shape_error(name() + ": set_lengths gave " + std::to_string(lengths_.size()) +
                              " lengths but the input has " + std::to_string(B) + " rows");
        for (std::size_t b = 0; b < B; ++b)
            if (lengths_[b] < 0 || std::size_t(lengths_[b]) > T_)
                throw data_error(name() + ": length " + std::to_string(lengths_[b]) + " of row " + std::to_string(b) +
                                 " is outside [0, " + std::to_string(T_) + "] steps");
    }
    void fill_initial(const matrix<T>* given, const matrix<T>& learned, matrix<T>& dst, const char* what) const {
        const std::size_t B = dst.shape(0);
        if (given != nullptr) {
            if (given->shape(0) != B || given->shape(1) != H_)
                throw shape_error(name() + ": the " + what + " given by set_initial_state has shape " +
                                  shape_string(given->shape()) + " but the batch needs (" + std::to_string(B) + ", " +
                                  std::to_string(H_) + ")");
            std::copy_n(given->data(), B * H_, dst.data());
        } else if (opt_.learn_initial_state) {
            for (std::size_t b = 0; b < B; ++b) std::copy_n(learned.data(), H_, dst.data() + b * H_);
        } else {
            dst.fill(T(0));
        }
    }
    /// w += src rows 0..rows-1, bias += src row `rows` (each row n wide).
    static void add_rows(const T* src, std::size_t rows, std::size_t n, T* w, T* bias) {
        for (std::size_t i = 0; i < rows * n; ++i) w[i] += src[i];
        for (std::size_t j = 0; j < n; ++j) bias[j] += src[rows * n + j];
    }
    static void add_column_sums(const matrix<T>& src, matrix<T>& dst) {
        const std::size_t n = src.shape(1);
        for (std::size_t b = 0; b < src.shape(0); ++b)
            for (std::size_t j = 0; j < n; ++j) dst.data()[j] += src.data()[b * n + j];
    }

    std::size_t F_, H_, T_ = 0;
    recurrent_options opt_;
    matrix<T> w_ih_, gw_ih_, w_hh_, gw_hh_, b_ih_, gb_ih_, b_hh_, gb_hh_, h0_, gh0_, c0_, gc0_;
    matrix<T> xp_, hp_, h0b_, c0b_, cache_, c_;                      // forward buffers
    matrix<T> dg_, dhp_, dh_, dc_, hprev_, xaug_, wgrad_;            // backward buffers
    packed_b<T> whh_packed_, whh_t_packed_;                         // W_hh, W_hh^T packed
    std::vector<T> pack_work_;                                      // gemm_tn_accumulate's panels
    const matrix<T>* given_h0_ = nullptr;
    const matrix<T>* given_c0_ = nullptr;
    std::vector<std::int64_t> lengths_;
    bool has_lengths_ = false;
    bool lengths_from_batch_ = false;
};

template <real T>
using rnn_layer = recurrent_layer<T, rnn_cell>;
template <real T>
using gru_layer = recurrent_layer<T, gru_cell>;
template <real T>
using lstm_layer = recurrent_layer<T, lstm_cell>;

/// Spec shared by nn::rnn, nn::gru and nn::lstm: `in` features per step, `hidden` units.
template <class Cell>
struct recurrent {
    std::size_t in = 0;         ///< F, input features per step.
    std::size_t hidden = 0;     ///< H, hidden units.
    recurrent_options options{}; ///< Initial-state options.

    /// in_ and hidden_ must be positive (checked by make()).
    recurrent(std::size_t in_, std::size_t hidden_, recurrent_options o = {}) : in(in_), hidden(hidden_), options(o) {}
    /// The layer object for scalar type T.
    template <real T>
    recurrent_layer<T, Cell> make() const { return recurrent_layer<T, Cell>(in, hidden, options); }
};

using rnn = recurrent<rnn_cell>;
using gru = recurrent<gru_cell>;
using lstm = recurrent<lstm_cell>;

} // namespace b2m::nn
