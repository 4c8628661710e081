// b2m/data/batch_ops.hpp - a whole data set as one data::batch, validated, and mini-batches
// gathered from it by row index.
#pragma once

#include <algorithm>
#include <span>
#include <string>

#include "b2m/core/error.hpp"
#include "b2m/data/batch.hpp"

namespace b2m::data {

/// Checks that every non-empty field of d has d.x's row count and finite values; throws
/// data_error / shape_error naming `what` and the field. Requires nothing.
template <real T>
void validate(const batch<T>& d, const std::string& what) {
    const std::size_t n = d.x.shape(0);
    if (n == 0 || d.x.size() == 0) throw data_error(what + ": data::inputs is empty (shape " + shape_string(d.x.shape()) + ")");
    require_finite(what + " data::inputs", d.x);
    auto rows = [&](const char* field, std::size_t r, const auto& shape) {
        if (r != n)
            throw shape_error(what + ": " + field + " has shape " + shape_string(shape) + " but data::inputs has " +
                              std::to_string(n) + " rows");
    };
    if (d.targets.size()) {
        rows("data::targets", d.targets.shape(0), d.targets.shape());
        require_finite(what + " data::targets", d.targets);
    }
    if (d.brain.size()) {
        rows("data::brain", d.brain.shape(0), d.brain.shape());
        require_finite(what + " data::brain", d.brain);
    }
    if (d.labels.size()) rows("data::labels", d.labels.size(), d.labels.shape());
    if (d.stimulus.size()) rows("stimulus ids", d.stimulus.size(), d.stimulus.shape());
    if (d.subject.size()) rows("subject ids", d.subject.size(), d.subject.shape());
    if (d.lengths.size()) rows("sequence lengths", d.lengths.size(), d.lengths.shape());
    for (std::size_t i = 0; i < d.lengths.size(); ++i)
        if (d.lengths(i) < 0) throw data_error(what + ": sequence length " + std::to_string(d.lengths(i)) + " of row " + std::to_string(i) + " is negative");
    for (std::size_t i = 0; i < d.labels.size(); ++i)
        if (d.labels(i) < 0) throw data_error(what + ": data::labels[" + std::to_string(i) + "] is negative");
}

namespace detail {
template <class M>
void gather_rows(const M& from, std::span<const std::size_t> idx, M& to) {
    if (from.size() == 0) {  // a field this data set does not have: leave it empty
        if (to.size() != 0) to = M();
        return;
    }
    const std::size_t w = from.size() / from.shape(0);
    if constexpr (M::rank == 2) ensure_shape(to, idx.size(), w);
    else if (to.size() != idx.size()) to.resize({idx.size()});
    for (std::size_t i = 0; i < idx.size(); ++i) std::copy_n(from.data() + idx[i] * w, w, to.data() + i * w);
}
} // namespace detail

/// Copies rows idx of every non-empty field of `from` into `to` (fields empty in `from`
/// become empty), reusing to's buffers (no allocation once `to` has held a batch of
/// this size and these fields).
template <real T>
void gather(const batch<T>& from, std::span<const std::size_t> idx, batch<T>& to) {
    detail::gather_rows(from.x, idx, to.x);
    detail::gather_rows(from.labels, idx, to.labels);
    detail::gather_rows(from.targets, idx, to.targets);
    detail::gather_rows(from.brain, idx, to.brain);
    detail::gather_rows(from.stimulus, idx, to.stimulus);
    detail::gather_rows(from.subject, idx, to.subject);
    detail::gather_rows(from.lengths, idx, to.lengths);
}

/// True when both data sets carry the same fields (so the same objective applies to both).
template <real T>
bool same_fields(const batch<T>& a, const batch<T>& b) {
    return (a.labels.size() > 0) == (b.labels.size() > 0) && (a.targets.size() > 0) == (b.targets.size() > 0) &&
           (a.brain.size() > 0) == (b.brain.size() > 0) && (a.stimulus.size() > 0) == (b.stimulus.size() > 0) &&
           (a.subject.size() > 0) == (b.subject.size() > 0) && (a.lengths.size() > 0) == (b.lengths.size() > 0);
}

/// Fraction of rows whose largest logit is at the label. Requires labels.size() == rows.
template <real T>
double accuracy(const matrix<T>& logits, const index_vector& labels) {
    std::size_t hit = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const T* r = logits.data() + i * logits.shape(1);
        hit += std::int64_t(std::max_element(r, r + logits.shape(1)) - r) == labels(i);
    }
    return labels.size() ? double(hit) / double(labels.size()) : 0.0;
}

} // namespace b2m::data
