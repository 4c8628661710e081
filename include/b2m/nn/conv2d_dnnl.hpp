// b2m/nn/conv2d_dnnl.hpp - the oneDNN backend of nn::conv2d in float (optional component
// b2m::dnnl, CMake option B2M_WITH_DNNL; Debian: libdnnl-dev). Empty unless B2M_WITH_DNNL
// is defined non-zero: the core never needs oneDNN. All translation units of a program must
// agree on B2M_WITH_DNNL (it changes the layout of nn::conv2d_layer), which linking
// b2m::dnnl to the whole program ensures.
//
// detail::dnnl_conv runs one conv2d layer's forward, backward-data and backward-weights
// (+ bias) through oneDNN primitives on b2m's own buffers: the input and output rows are
// NCHW and the weight (C_out, C_in*k*k) is OIHW, exactly oneDNN's nchw / oihw. The
// primitives choose their own (blocked) layouts; the operands are reordered to and from
// them inside the layer (a blocked kernel plus its reorders measured faster than oneDNN's
// plain-layout path, which is im2col + GEMM). Primitives, reorders, the internal buffers and
// one user-managed scratchpad are created once per (batch size, thread count) and kept;
// the steps after it create nothing. oneDNN 2.6's execute itself still makes a few small
// transient heap allocations per call (its argument map), which b2m cannot avoid.
// Threads: the OpenMP build of oneDNN runs on b2m's OpenMP team (set_num_threads); the
// thread count is part of the cache key because oneDNN partitions the work when a primitive
// is created.
#pragma once

#if defined(B2M_WITH_DNNL) && B2M_WITH_DNNL

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/core/parallel.hpp"

namespace b2m::nn::detail {

/// One conv2d layer's oneDNN state (float). Copying gives a fresh, unprepared state.
class dnnl_conv {
public:
    struct geometry {
        std::size_t in_channels, height, width, out_channels, kernel, stride, padding, dilation, out_h, out_w;
        bool bias;
    };

    dnnl_conv() = default;
    explicit dnnl_conv(const geometry& g) : g_(g) {}
    dnnl_conv(const dnnl_conv& o) : g_(o.g_) {}
    dnnl_conv& operator=(const dnnl_conv& o) {
        if (this != &o) {
            g_ = o.g_;
            s_.reset();
        }
        return *this;
    }
    dnnl_conv(dnnl_conv&&) = default;
    dnnl_conv& operator=(dnnl_conv&&) = default;

    /// y (B, C_out*H_out*W_out) = conv(x (B, C_in*H*W), w (C_out, C_in*k*k)) + b (C_out;
    /// ignored without bias). Prepares the primitives when B or the thread count changed.
    void forward(const float* x, std::size_t B, const float* w, const float* b, float* y) {
        prepare(B);
        state& s = *s_;
        s.usrc.set_data_handle(const_cast<float*>(x));
        s.uw.set_data_handle(const_cast<float*>(w));
        s.udst.set_data_handle(y);
        if (g_.bias) s.ub.set_data_handle(const_cast<float*>(b));
        if (s.src_reorder) run(s.src_reorder, {{DNNL_ARG_FROM, s.usrc}, {DNNL_ARG_TO, s.src}}, s);
        if (s.wf_reorder) run(s.wf_reorder, {{DNNL_ARG_FROM, s.uw}, {DNNL_ARG_TO, s.wf}}, s);
        arg_list a{{DNNL_ARG_SRC, s.src}, {DNNL_ARG_WEIGHTS, s.wf}, {DNNL_ARG_DST, s.dst}};
        if (g_.bias) a.push(DNNL_ARG_BIAS, s.ub);
        run(s.fwd, a, s);
        if (s.dst_reorder) run(s.dst_reorder, {{DNNL_ARG_FROM, s.dst}, {DNNL_ARG_TO, s.udst}}, s);
    }

    /// After forward of the same batch x: adds dL/dw into gw and dL/db into gb (when
    /// `weights`), writes dL/dx into gx (when gx is not null). gy is dL/dy, NCHW rows.
    void backward(const float* x, const float* gy, const float* w, float* gw, float* gb, float* gx, bool weights) {
        state& s = *s_;
        s.udiff_dst.set_data_handle(const_cast<float*>(gy));
        if (weights) {
            if (s.dd_reorder) run(s.dd_reorder, {{DNNL_ARG_FROM, s.udiff_dst}, {DNNL_ARG_TO, s.diff_dst}}, s);
            if (s.bw_src_reorder) {
                s.usrc.set_data_handle(const_cast<float*>(x));
                run(s.bw_src_reorder, {{DNNL_ARG_FROM, s.usrc}, {DNNL_ARG_TO, s.bw_src}}, s);
            } else if (!s.src_reorder) {
                s.usrc.set_data_handle(const_cast<float*>(x));  // bw_src is the user's x itself
            }
            arg_list a{{DNNL_ARG_SRC, s.bw_src}, {DNNL_ARG_DIFF_DST, s.diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, s.diff_w}};
            if (g_.bias) a.push(DNNL_ARG_DIFF_BIAS, s.diff_b);
            run(s.bww, a, s);
            s.ugw.set_data_handle(gw);
            run(s.gw_accumulate, {{DNNL_ARG_FROM, s.diff_w}, {DNNL_ARG_TO, s.ugw}}, s);  // gw += diff_w
            if (g_.bias) {
                const float* db = static_cast<const float*>(s.diff_b.get_data_handle());
                for (std::size_t c = 0; c < g_.out_channels; ++c) gb[c] += db[c];
            }
        }
        if (gx) {
            if (s.dd_reorder && !weights && s.diff_dst_d.get() == s.diff_dst.get())
                run(s.dd_reorder, {{DNNL_ARG_FROM, s.udiff_dst}, {DNNL_ARG_TO, s.diff_dst}}, s);
            s.uw.set_data_handle(const_cast<float*>(w));
            if (s.wd_reorder)  // null when the forward's reordered weights serve (unchanged since)
                run(s.wd_reorder, {{DNNL_ARG_FROM, s.uw}, {DNNL_ARG_TO, s.wd}}, s);
            if (s.dd_d_reorder) run(s.dd_d_reorder, {{DNNL_ARG_FROM, s.udiff_dst}, {DNNL_ARG_TO, s.diff_dst_d}}, s);
            s.udiff_src.set_data_handle(gx);
            run(s.bwd, {{DNNL_ARG_DIFF_DST, s.diff_dst_d}, {DNNL_ARG_WEIGHTS, s.wd}, {DNNL_ARG_DIFF_SRC, s.diff_src}}, s);
            if (s.ds_reorder) run(s.ds_reorder, {{DNNL_ARG_FROM, s.diff_src}, {DNNL_ARG_TO, s.udiff_src}}, s);
        }
    }

private:
    using md = dnnl::memory::desc;
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;

    // Arguments of one execution in a fixed array: the C API takes it without a copy.
    struct arg_list {
        std::array<dnnl_exec_arg_t, 8> a{};
        int n = 0;
        arg_list(std::initializer_list<std::pair<int, const dnnl::memory&>> l) {
            for (const auto& [k, m] : l) push(k, m);
        }
        void push(int k, const dnnl::memory& m) { a[std::size_t(n++)] = {k, m.get()}; }
    };

    // A primitive and its view of the shared scratchpad (empty primitive: not needed).
    struct prim {
        dnnl::primitive p;
        dnnl::memory::desc pad_md;
        dnnl::memory pad;
        explicit operator bool() const { return bool(p); }
    };

    struct state {
        std::size_t batch = 0;
        int threads = 0;
        dnnl::engine eng;
        dnnl::stream strm;
        dnnl::memory usrc, uw, ub, udst, udiff_dst, udiff_src, ugw;      // b2m's buffers (plain layouts)
        dnnl::memory src, wf, dst, bw_src, diff_dst, diff_dst_d, diff_w, diff_b, wd, diff_src;  // the primitives' operands
        dnnl::memory pad_buf;  // one user-managed scratchpad, shared (the primitives run one at a time)
        prim fwd, bww, bwd, gw_accumulate, src_reorder, wf_reorder, dst_reorder, dd_reorder, dd_d_reorder,
            bw_src_reorder, wd_reorder, ds_reorder;
    };

    static void run(const prim& p, arg_list a, state& s) {
        if (p.pad) a.push(DNNL_ARG_SCRATCHPAD, p.pad);
        const dnnl_status_t st = dnnl_primitive_execute(p.p.get(), s.strm.get(), a.n, a.a.data());
        if (st != dnnl_success)
            throw error("nn::conv2d (oneDNN backend): primitive execution failed with status " + std::to_string(int(st)));
    }

    void prepare(std::size_t B) {
        const int threads = num_threads();
        if (s_ && s_->batch == B && s_->threads == threads) return;
        try {
            build(B, threads);
        } catch (const dnnl::error& e) {
            s_.reset();
            throw error("nn::conv2d (oneDNN backend): cannot create the primitives for batch " + std::to_string(B) +
                        " (input " + std::to_string(g_.in_channels) + "x" + std::to_string(g_.height) + "x" +
                        std::to_string(g_.width) + ", kernel " + std::to_string(g_.kernel) + "): " + e.what());
        }
    }

    void build(std::size_t B, int threads) {
        using namespace dnnl;
        auto d = [](std::size_t v) { return memory::dim(v); };
        const memory::dims src_dims{d(B), d(g_.in_channels), d(g_.height), d(g_.width)};
        const memory::dims w_dims{d(g_.out_channels), d(g_.in_channels), d(g_.kernel), d(g_.kernel)};
        const memory::dims dst_dims{d(B), d(g_.out_channels), d(g_.out_h), d(g_.out_w)};
        const memory::dims b_dims{d(g_.out_channels)};
        const memory::dims strides{d(g_.stride), d(g_.stride)}, dil{d(g_.dilation - 1), d(g_.dilation - 1)};
        const memory::dims pad{d(g_.padding), d(g_.padding)};
        const md usrc_md(src_dims, dt::f32, tag::nchw), uw_md(w_dims, dt::f32, tag::oihw),
            udst_md(dst_dims, dt::f32, tag::nchw), ub_md(b_dims, dt::f32, tag::x);
        const md src_any(src_dims, dt::f32, tag::any), w_any(w_dims, dt::f32, tag::any),
            dst_any(dst_dims, dt::f32, tag::any), b_any(b_dims, dt::f32, tag::any);

        auto s = std::make_unique<state>();
        s->batch = B;
        s->threads = threads;
        s->eng = engine(engine::kind::cpu, 0);
        s->strm = stream(s->eng);
        primitive_attr attr;
        attr.set_scratchpad_mode(scratchpad_mode::user);

        const auto fd = g_.bias ? convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                                            src_any, w_any, b_any, dst_any, strides, dil, pad, pad)
                                : convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                                            src_any, w_any, dst_any, strides, dil, pad, pad);
        const convolution_forward::primitive_desc fpd(fd, attr, s->eng);
        const auto wd = g_.bias ? convolution_backward_weights::desc(algorithm::convolution_direct, src_any, w_any,
                                                                     b_any, dst_any, strides, dil, pad, pad)
                                : convolution_backward_weights::desc(algorithm::convolution_direct, src_any, w_any,
                                                                     dst_any, strides, dil, pad, pad);
        const convolution_backward_weights::primitive_desc wpd(wd, attr, s->eng, fpd);
        const convolution_backward_data::desc dd(algorithm::convolution_direct, src_any, w_any, dst_any, strides, dil,
                                                 pad, pad);
        const convolution_backward_data::primitive_desc dpd(dd, attr, s->eng, fpd);

        std::size_t pad_bytes = 0;
        auto make = [&](prim& p, const primitive& q, const memory::desc& pad_md) {
            p.p = q;
            p.pad_md = pad_md;
            pad_bytes = std::max(pad_bytes, pad_md.get_size());
        };
        // An operand in the primitive's layout `want`: the user's memory itself when the
        // layouts agree, else an own buffer and a reorder (from user to it, or back).
        auto operand = [&](const md& want, dnnl::memory& user, const md& user_md, dnnl::memory& inner,
                           prim& re, bool to_user) {
            if (!user) user = memory(user_md, s->eng, nullptr);
            if (want == user_md) {
                inner = user;
                re = prim{};
                return;
            }
            inner = memory(want, s->eng);
            const reorder::primitive_desc rpd = to_user ? reorder::primitive_desc(s->eng, want, s->eng, user_md, attr)
                                                        : reorder::primitive_desc(s->eng, user_md, s->eng, want, attr);
            make(re, reorder(rpd), rpd.scratchpad_desc());
        };
        operand(fpd.src_desc(), s->usrc, usrc_md, s->src, s->src_reorder, false);
        operand(fpd.weights_desc(), s->uw, uw_md, s->wf, s->wf_reorder, false);
        operand(fpd.dst_desc(), s->udst, udst_md, s->dst, s->dst_reorder, true);
        if (g_.bias) s->ub = memory(ub_md, s->eng, nullptr);
        if (g_.bias && !(fpd.bias_desc() == ub_md))
            throw error("nn::conv2d (oneDNN backend): unexpected bias layout");
        // backward-weights: its source is the forward's when the layouts agree
        if (wpd.src_desc() == fpd.src_desc()) {
            s->bw_src = s->src;
            s->bw_src_reorder = prim{};
        } else {
            dnnl::memory dummy_user = s->usrc;
            operand(wpd.src_desc(), dummy_user, usrc_md, s->bw_src, s->bw_src_reorder, false);
        }
        operand(wpd.diff_dst_desc(), s->udiff_dst, udst_md, s->diff_dst, s->dd_reorder, false);
        s->diff_w = memory(wpd.diff_weights_desc(), s->eng);  // never b2m's gw: oneDNN overwrites, b2m accumulates
        if (g_.bias) s->diff_b = memory(wpd.diff_bias_desc(), s->eng);
        s->ugw = memory(uw_md, s->eng, nullptr);
        {
            post_ops po;
            po.append_sum(1.f);
            primitive_attr acc;  // a new attribute: copies of a primitive_attr share one object
            acc.set_scratchpad_mode(scratchpad_mode::user);
            acc.set_post_ops(po);
            const reorder::primitive_desc rpd(s->eng, wpd.diff_weights_desc(), s->eng, uw_md, acc);
            make(s->gw_accumulate, reorder(rpd), rpd.scratchpad_desc());
        }
        // backward-data: its diff_dst is backward-weights' when the layouts agree
        if (dpd.diff_dst_desc() == wpd.diff_dst_desc()) {
            s->diff_dst_d = s->diff_dst;
            s->dd_d_reorder = prim{};
        } else {
            operand(dpd.diff_dst_desc(), s->udiff_dst, udst_md, s->diff_dst_d, s->dd_d_reorder, false);
        }
        if (dpd.weights_desc() == fpd.weights_desc()) {
            s->wd = s->wf;  // reordered by the forward, and the weights have not changed since
            s->wd_reorder = prim{};
        } else {
            operand(dpd.weights_desc(), s->uw, uw_md, s->wd, s->wd_reorder, false);
        }
        operand(dpd.diff_src_desc(), s->udiff_src, usrc_md, s->diff_src, s->ds_reorder, true);

        make(s->fwd, convolution_forward(fpd), fpd.scratchpad_desc());
        make(s->bww, convolution_backward_weights(wpd), wpd.scratchpad_desc());
        make(s->bwd, convolution_backward_data(dpd), dpd.scratchpad_desc());
        s->pad_buf = memory(md({memory::dim(std::max<std::size_t>(pad_bytes, 64))}, dt::u8, tag::a), s->eng);
        for (prim* p : {&s->fwd, &s->bww, &s->bwd, &s->gw_accumulate, &s->src_reorder, &s->wf_reorder,
                        &s->dst_reorder, &s->dd_reorder, &s->dd_d_reorder, &s->bw_src_reorder, &s->wd_reorder, &s->ds_reorder})
            if (*p && p->pad_md.get_size() > 0) p->pad = memory(p->pad_md, s->eng, s->pad_buf.get_data_handle());
        s_ = std::move(s);
    }

    geometry g_{};
    std::unique_ptr<state> s_;
};

} // namespace b2m::nn::detail

#endif  // B2M_WITH_DNNL
