// b2m/nn/image.hpp - the logical shape of an image batch and the shared im2col kernels.
//
// Layout: an image batch (B, C, H, W) is stored as a matrix (B, C*H*W), NCHW inside each
// row: entry (b, c, h, w) is at row b, column (c*H + h)*W + w. Image layers are given the
// shape of their input image (rows are flat, so they cannot infer it) and expose the shape
// of their output, so a chain is written as
//     constexpr nn::image_shape in{.channels = 3, .height = 32, .width = 32};
//     const auto c1 = nn::conv2d({.out_channels = 16, .kernel = 3, .padding = 1}, in);
//     const auto p1 = nn::max_pool2d({.kernel = 2}, c1.output_shape());
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>

#include "b2m/core/error.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::nn {

/// Shape of one image: channels x height x width.
struct image_shape {
    std::size_t channels = 0; ///< C
    std::size_t height = 0;   ///< H
    std::size_t width = 0;    ///< W
    constexpr std::size_t pixels() const { return height * width; }         ///< H*W, pixels per channel.
    constexpr std::size_t size() const { return channels * height * width; } ///< C*H*W, the row width of a batch.
    constexpr bool operator==(const image_shape&) const = default;          ///< Same C, H and W.
};

/// Text "(C=3, H=32, W=32)".
inline std::string to_string(const image_shape& s) {
    return "(C=" + std::to_string(s.channels) + ", H=" + std::to_string(s.height) + ", W=" +
           std::to_string(s.width) + ")";
}

/// Shape of one channel-major signal: channels x length.
struct signal_shape {
    std::size_t channels = 0; ///< C
    std::size_t length = 0;   ///< L, steps per channel
    constexpr std::size_t size() const { return channels * length; } ///< C*L, the row width of a batch.
    constexpr bool operator==(const signal_shape&) const = default; ///< Same C and L.
    /// The same data seen as an image of height 1 (for batch_norm, pooling).
    constexpr image_shape image() const { return {channels, 1, length}; }
};

/// Text "(C=16, L=100)".
inline std::string to_string(const signal_shape& s) {
    return "(C=" + std::to_string(s.channels) + ", L=" + std::to_string(s.length) + ")";
}

/// Output length of a convolution along one axis: floor((n + 2p - d(k-1) - 1) / s) + 1,
/// or 0 when the dilated kernel does not fit in the padded input.
constexpr std::size_t conv_out_size(std::size_t n, std::size_t kernel, std::size_t stride, std::size_t padding,
                                    std::size_t dilation) {
    const std::size_t span = dilation * (kernel - 1) + 1;
    if (stride == 0 || kernel == 0 || n + 2 * padding < span) return 0;
    return (n + 2 * padding - span) / stride + 1;
}

/// Throws shape_error unless x is (batch, s.size()) with batch > 0. `layer` names the layer:
/// a string, or a callable returning one (called only on failure, so the check allocates
/// nothing). When the row width is a multiple of H*W the message says how many channels
/// the rows hold.
template <class T, class Name>
void require_image_rows(Name&& layer, const matrix<T>& x, const image_shape& s) {
    if (x.shape(1) == s.size() && x.shape(0) > 0) return;
    std::string name;
    if constexpr (std::is_invocable_v<Name>) name = layer();
    else name = layer;
    std::string m = name + ": input has shape " + shape_string(x.shape()) + " but the layer expects (batch, C*H*W = " +
                    std::to_string(s.size()) + ") for images " + to_string(s) + " stored NCHW per row";
    if (x.shape(0) == 0) m += " (the batch is empty)";
    else if (s.pixels() > 0 && x.shape(1) % s.pixels() == 0)
        m += "; rows of " + std::to_string(x.shape(1)) + " would be " + std::to_string(x.shape(1) / s.pixels()) +
             " channels of " + std::to_string(s.height) + "x" + std::to_string(s.width) + " instead of " +
             std::to_string(s.channels);
    throw shape_error(m);
}

namespace detail {

/// Geometry of a sliding window: an image (channels x height x width), a square kernel with
/// stride, zero padding and dilation, visiting out_h x out_w positions.
struct window_geometry {
    std::size_t channels, height, width, kernel, stride, padding, dilation, out_h, out_w;
    std::size_t rows() const { return channels * kernel * kernel; }   // im2col rows
    std::size_t positions() const { return out_h * out_w; }
    std::size_t image_size() const { return channels * height * width; }
};

/// Output columns [lo, hi) of a row whose input column ow*stride + off lies inside [0, width).
inline void valid_columns(std::ptrdiff_t off, std::size_t stride, std::size_t width, std::size_t out_w,
                          std::size_t& lo, std::size_t& hi) {
    const std::ptrdiff_t s = std::ptrdiff_t(stride), w = std::ptrdiff_t(width);
    std::ptrdiff_t l = off >= 0 ? 0 : (-off + s - 1) / s;  // first ow with ow*s + off >= 0
    std::ptrdiff_t h = w - off <= 0 ? 0 : (w - off - 1) / s + 1;  // first ow with ow*s + off >= width
    l = std::min<std::ptrdiff_t>(l, std::ptrdiff_t(out_w));
    h = std::max<std::ptrdiff_t>(l, std::min<std::ptrdiff_t>(h, std::ptrdiff_t(out_w)));
    lo = std::size_t(l), hi = std::size_t(h);
}

/// im2col for ns images at img (row stride g.image_size()): col[r, s*P + p] with
/// r = (c*k + ki)*k + kj, p = oh*out_w + ow, P = g.positions(); col has row stride ld.
/// Padding reads as zero. The valid column range of each kernel offset is computed once,
/// so the inner loops are branch-free copies (contiguous with stride 1).
template <real T>
void im2col(const T* img, std::size_t ns, const window_geometry& g, T* col, std::size_t ld) {
    const std::size_t k = g.kernel, P = g.positions(), R = g.rows(), st = g.stride, ow_n = g.out_w;
    const bool same_size = st == 1 && g.out_h == g.height && g.out_w == g.width;
    parallel_for(R * ns, items_per_thread(P), [&](std::size_t b, std::size_t e) {
        for (std::size_t t = b; t < e; ++t) {
            const std::size_t r = t / ns, s = t % ns;
            const std::size_t c = r / (k * k), ki = (r / k) % k, kj = r % k;
            const T* src = img + s * g.image_size() + c * g.height * g.width;
            T* dst = col + r * ld + s * P;
            const std::ptrdiff_t oi = std::ptrdiff_t(ki * g.dilation) - std::ptrdiff_t(g.padding);
            const std::ptrdiff_t oj = std::ptrdiff_t(kj * g.dilation) - std::ptrdiff_t(g.padding);
            std::size_t lo, hi;
            valid_columns(oj, st, g.width, ow_n, lo, hi);
            if (same_size) {
                // Stride 1, output as large as the input: the plane shifted by oi*W + oj as one
                // copy, then the entries of out-of-range rows (outside the copied range) and of
                // wrapped columns (ow < lo or ow >= hi in every row) set to zero.
                const std::ptrdiff_t shift = oi * std::ptrdiff_t(ow_n) + oj, np = std::ptrdiff_t(P);
                const std::ptrdiff_t p0 = std::clamp<std::ptrdiff_t>(-shift, 0, np);
                const std::ptrdiff_t p1 = std::clamp<std::ptrdiff_t>(np - shift, p0, np);
                for (std::ptrdiff_t p = 0; p < p0; ++p) dst[p] = T(0);
                if (p1 > p0) std::copy(src + (p0 + shift), src + (p1 + shift), dst + p0);
                for (std::ptrdiff_t p = p1; p < np; ++p) dst[p] = T(0);
                if (lo > 0 || hi < ow_n)
                    for (std::size_t oh = 0; oh < g.out_h; ++oh) {
                        T* d = dst + oh * ow_n;
                        for (std::size_t ow = 0; ow < lo; ++ow) d[ow] = T(0);
                        for (std::size_t ow = hi; ow < ow_n; ++ow) d[ow] = T(0);
                    }
                continue;
            }
            for (std::size_t oh = 0; oh < g.out_h; ++oh) {
                const std::ptrdiff_t ih = std::ptrdiff_t(oh * st) + oi;
                T* d = dst + oh * ow_n;
                if (ih < 0 || ih >= std::ptrdiff_t(g.height)) {
                    for (std::size_t ow = 0; ow < ow_n; ++ow) d[ow] = T(0);
                    continue;
                }
                for (std::size_t ow = 0; ow < lo; ++ow) d[ow] = T(0);
                if (hi > lo) {  // input column of ow in [lo, hi): lo*st + oj + (ow - lo)*st, inside the row
                    const T* srow = src + std::size_t(ih) * g.width + std::size_t(std::ptrdiff_t(lo * st) + oj);
                    T* dv = d + lo;
                    const std::size_t nv = hi - lo;
                    if (st == 1)
                        for (std::size_t q = 0; q < nv; ++q) dv[q] = srow[q];
                    else
                        for (std::size_t q = 0; q < nv; ++q) dv[q] = srow[q * st];
                }
                for (std::size_t ow = hi; ow < ow_n; ++ow) d[ow] = T(0);
            }
        }
    });
}

/// The adjoint of im2col: img = sum of col entries at the pixels they were read from
/// (img is overwritten; padding entries are dropped).
template <real T>
void col2im(const T* col, std::size_t ld, std::size_t ns, const window_geometry& g, T* img) {
    const std::size_t k = g.kernel, P = g.positions(), st = g.stride, ow_n = g.out_w;
    parallel_for(g.channels * ns, items_per_thread(k * k * P), [&](std::size_t b, std::size_t e) {
        for (std::size_t t = b; t < e; ++t) {
            const std::size_t c = t / ns, s = t % ns;
            T* dst = img + s * g.image_size() + c * g.height * g.width;
            for (std::size_t i = 0; i < g.height * g.width; ++i) dst[i] = T(0);
            for (std::size_t ki = 0; ki < k; ++ki)
                for (std::size_t kj = 0; kj < k; ++kj) {
                    const T* src = col + ((c * k + ki) * k + kj) * ld + s * P;
                    const std::ptrdiff_t oi = std::ptrdiff_t(ki * g.dilation) - std::ptrdiff_t(g.padding);
                    const std::ptrdiff_t oj = std::ptrdiff_t(kj * g.dilation) - std::ptrdiff_t(g.padding);
                    std::size_t lo, hi;
                    valid_columns(oj, st, g.width, ow_n, lo, hi);
                    for (std::size_t oh = 0; oh < g.out_h; ++oh) {
                        const std::ptrdiff_t ih = std::ptrdiff_t(oh * st) + oi;
                        if (ih < 0 || ih >= std::ptrdiff_t(g.height)) continue;
                        if (lo == hi) continue;
                        T* drow = dst + std::size_t(ih) * g.width + std::size_t(std::ptrdiff_t(lo * st) + oj);
                        const T* s_row = src + oh * ow_n + lo;
                        const std::size_t nv = hi - lo;
                        if (st == 1)
                            for (std::size_t q = 0; q < nv; ++q) drow[q] += s_row[q];
                        else
                            for (std::size_t q = 0; q < nv; ++q) drow[q * st] += s_row[q];
                    }
                }
        }
    });
}

/// cm[c, s*P + p] = rows[s*C*P + c*P + p] for ns rows (cm row stride ld): NCHW rows to a
/// channel-major matrix (C, ns*P).
template <real T>
void rows_to_channel_major(const T* rows, std::size_t ns, std::size_t C, std::size_t P, T* cm, std::size_t ld) {
    parallel_for(C * ns, items_per_thread(P), [&](std::size_t b, std::size_t e) {
        for (std::size_t t = b; t < e; ++t) {
            const std::size_t c = t / ns, s = t % ns;
            const T* src = rows + (s * C + c) * P;
            T* dst = cm + c * ld + s * P;
            for (std::size_t p = 0; p < P; ++p) dst[p] = src[p];
        }
    });
}

/// The inverse of rows_to_channel_major, adding bias[c] (when bias != nullptr).
template <real T>
void channel_major_to_rows(const T* cm, std::size_t ld, std::size_t ns, std::size_t C, std::size_t P,
                           const T* bias, T* rows) {
    parallel_for(C * ns, items_per_thread(P), [&](std::size_t b, std::size_t e) {
        for (std::size_t t = b; t < e; ++t) {
            const std::size_t c = t / ns, s = t % ns;
            const T* src = cm + c * ld + s * P;
            T* dst = rows + (s * C + c) * P;
            const T add = bias ? bias[c] : T(0);
            for (std::size_t p = 0; p < P; ++p) dst[p] = src[p] + add;
        }
    });
}

/// Default bound on the entries of an im2col buffer (16 MiB in float). (2^24, which keeps
/// every B2M-Conv layer in one chunk, measured within 1% of this in CPU time per step, for
/// 60 MB more.)
inline constexpr std::size_t default_im2col_budget = std::size_t(1) << 22;

/// Images per chunk so that a (rows x chunk*positions) im2col buffer stays within `budget`
/// entries (at least one image per chunk).
inline std::size_t images_per_chunk(std::size_t batch, std::size_t rows, std::size_t positions,
                                    std::size_t budget = default_im2col_budget) {
    const std::size_t per_image = rows * positions;
    std::size_t n = per_image == 0 ? batch : budget / per_image;
    if (n < 1) n = 1;
    return n < batch ? n : batch;
}

} // namespace detail
} // namespace b2m::nn
