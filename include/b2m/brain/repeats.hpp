// b2m/brain/repeats.hpp - trial averaging over repeated presentations of a stimulus.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::brain {

/// The trial responses averaged per stimulus (over its repeated presentations).
template <real T>
struct repeat_average {
    matrix<T> mean;                    ///< (stimuli, columns), stimuli in order of first appearance
    std::vector<std::int64_t> ids;     ///< stimulus id of each row of mean
    std::vector<std::size_t> counts;   ///< trials averaged into each row
};

/// Averages the rows of `responses` (trials, columns) that share a stimulus id.
/// Requires ids.size() == trials (shape_error) and at least one trial (data_error).
template <real T>
repeat_average<T> average_repeats(const matrix<T>& responses, const std::vector<std::int64_t>& ids) {
    if (responses.shape(0) == 0) throw data_error("average_repeats: responses are empty");
    if (ids.size() != responses.shape(0))
        throw shape_error("average_repeats: " + std::to_string(ids.size()) + " stimulus ids but responses have shape " +
                          shape_string(responses.shape()));
    std::unordered_map<std::int64_t, std::size_t> row;
    repeat_average<T> r;
    for (auto id : ids)
        if (row.emplace(id, r.ids.size()).second) r.ids.push_back(id);
    const std::size_t c = responses.shape(1);
    std::vector<double> acc(r.ids.size() * c, 0.0);
    r.counts.assign(r.ids.size(), 0);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::size_t k = row[ids[i]];
        ++r.counts[k];
        for (std::size_t j = 0; j < c; ++j) acc[k * c + j] += double(responses(i, j));
    }
    r.mean = matrix<T>::from_shape({r.ids.size(), c});
    for (std::size_t k = 0; k < r.ids.size(); ++k)
        for (std::size_t j = 0; j < c; ++j) r.mean(k, j) = T(acc[k * c + j] / double(r.counts[k]));
    return r;
}

} // namespace b2m::brain
