// b2m/brain/btl.hpp - brain-mediated transfer learning (Nishida et al., AAAI 2020).
//
//   encoding:  R_hat = ridge_cv(features -> brain)        fitted on the encoding stimuli
//   BTL:       task model on R_hat(task stimuli)          (brain space)
//   standard:  the same task model on the raw features    (feature space)
// Scores are on held-out task stimuli: mean Pearson r over label columns (regression) or
// accuracy (classification). Per subject: one encoding model per subject's brain data;
// the feature-space baseline is shared.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "b2m/brain/logistic.hpp"
#include "b2m/brain/metrics.hpp"
#include "b2m/brain/ridge.hpp"
#include "b2m/brain/zscore.hpp"

namespace b2m::brain {

/// The task model of brain transfer learning: ridge regression or logistic classification.
enum class task_kind { regression, classification };

/// Options of brain transfer learning (btl): the encoding model and the task model.
struct btl_options {
    ridge_cv_options encoding{};            ///< features -> brain (alpha per target)
    ridge_cv_options task_ridge{.alphas = {0.01, 0.1, 1, 10, 100, 1000, 1e4}};  ///< regression task model
    logistic_options task_logistic{};       ///< classification task model
    task_kind task = task_kind::regression; ///< which task model (and task_ridge or task_logistic) is used
    bool standardise_inputs = true;  ///< z-score task-model inputs with task-training statistics
};

/// Task data: features of the task stimuli and their labels (regression: (n, outputs)
/// values; classification: (n, 1) class indices 0..K-1).
template <real T>
struct btl_task {
    ///@{
    /// the task's training features (n, p) and labels, and its test features (m, p) and labels
    matrix<T> train_features, train_labels, test_features, test_labels;
    ///@}
};

/// Scores of the task model on predicted brain responses and on the raw features.
template <real T>
struct btl_result {
    double brain_score = 0;     ///< BTL: task model on predicted brain responses
    double feature_score = 0;   ///< standard TL: same task model on raw features
    matrix<T> predicted_brain_test;  ///< encoding-model prediction for the test stimuli
};

namespace detail {
inline std::vector<std::int64_t> btl_classes(const auto& m, const char* what) {
    if (m.shape(1) != 1) throw shape_error(std::string("btl: classification ") + what + " must have shape (n, 1), got " + shape_string(m.shape()));
    std::vector<std::int64_t> c(m.shape(0));
    for (std::size_t i = 0; i < c.size(); ++i) {
        const double v = double(m(i, 0));
        if (v < 0 || v != std::floor(v)) throw data_error(std::string("btl: ") + what + " holds a non-class value " + std::to_string(v));
        c[i] = std::int64_t(v);
    }
    return c;
}

template <real T>
double btl_task_score(matrix<T> train_in, matrix<T> test_in, const btl_task<T>& task, const btl_options& o) {
    if (o.standardise_inputs) {
        zscore<T> z;
        z.fit(train_in);
        z.transform_inplace(train_in);
        z.transform_inplace(test_in);
    }
    if (o.task == task_kind::classification) {
        logistic_regression<T> m(o.task_logistic);
        m.fit(train_in, btl_classes(task.train_labels, "train_labels"));
        return m.score(test_in, btl_classes(task.test_labels, "test_labels"));
    }
    ridge_cv<T> m(o.task_ridge);
    m.fit(train_in, task.train_labels);
    const auto r = pearson_columns(task.test_labels, m.predict(test_in));
    double s = 0;
    for (auto v : r) s += double(v);
    return s / double(r.size());
}
} // namespace detail

/// Score of the task model on the raw features (the standard transfer-learning baseline).
template <real T>
double feature_space_score(const btl_task<T>& task, const btl_options& o = {}) {
    return detail::btl_task_score(task.train_features, task.test_features, task, o);
}

/// BTL for one subject. encoding_features (m, p) and brain (m, voxels) are the encoding
/// stimuli; task features must have the same p columns (shape_error otherwise).
template <real T>
btl_result<T> brain_mediated_transfer(const matrix<T>& encoding_features, const matrix<T>& brain, const btl_task<T>& task,
                                      const btl_options& o = {}) {
    if (task.train_features.shape(1) != encoding_features.shape(1) || task.test_features.shape(1) != encoding_features.shape(1))
        throw_shape_mismatch("btl: task features and encoding features differ in width", "task.train_features",
                             task.train_features.shape(), "encoding_features", encoding_features.shape());
    if (task.train_labels.shape(0) != task.train_features.shape(0) || task.test_labels.shape(0) != task.test_features.shape(0))
        throw_shape_mismatch("btl: label rows differ from feature rows", "task.train_labels", task.train_labels.shape(),
                             "task.train_features", task.train_features.shape());
    ridge_cv<T> enc(o.encoding);
    enc.fit(encoding_features, brain);
    btl_result<T> res;
    res.predicted_brain_test = enc.predict(task.test_features);
    res.brain_score = detail::btl_task_score(enc.predict(task.train_features), res.predicted_brain_test, task, o);
    res.feature_score = feature_space_score(task, o);
    return res;
}

/// BTL for each subject's brain data (same encoding stimuli for all subjects).
template <real T>
std::vector<btl_result<T>> brain_mediated_transfer(const matrix<T>& encoding_features, const std::vector<matrix<T>>& brains,
                                                   const btl_task<T>& task, const btl_options& o = {}) {
    std::vector<btl_result<T>> out;
    for (const auto& b : brains) out.push_back(brain_mediated_transfer(encoding_features, b, task, o));
    return out;
}

} // namespace b2m::brain
