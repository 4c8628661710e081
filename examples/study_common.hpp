// examples/study_common.hpp - shared pieces of the real-data studies (study_*.cpp):
// command line, data loading (v4 sessions, rsa92), image conversion, frozen-feature
// evaluations (held-out encoding, RSA, few-shot classification) and report formatting.
// Not a library header: the studies include it by relative path.
#pragma once

#include <b2m/brain/dataset.hpp>
#include <b2m/brain/logistic.hpp>
#include <b2m/brain/metrics.hpp>
#include <b2m/brain/npy.hpp>
#include <b2m/brain/ridge.hpp>
#include <b2m/brain/rsa.hpp>
#include <b2m/brain/zscore.hpp>
#include <b2m/core/parallel.hpp>
#include <b2m/core/rng.hpp>
#include <b2m/report/stats.hpp>
#include <b2m/report/svg_plot.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

namespace study {
using namespace b2m;

/// study_x [out_dir=docs/results] [--data DIR] [--smoke]
struct args {
    std::string out_dir = "docs/results";
    std::string data_dir = B2M_DATA_DIR;
    bool smoke = false;
};

inline args parse(int argc, char** argv) {
    args a;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--smoke") == 0) a.smoke = true;
        else if (std::strcmp(argv[i], "--data") == 0 && i + 1 < argc) a.data_dir = argv[++i];
        else a.out_dir = argv[i];
    }
    return a;
}

/// True when every listed file exists under the data dir; else prints why and returns false
/// (the caller then exits with skip_code, which ctest reports as skipped).
inline constexpr int skip_code = 77;
inline bool have_data(const args& a, const std::vector<std::string>& files) {
    for (const auto& f : files)
        if (!std::filesystem::exists(a.data_dir + "/" + f)) {
            std::printf("SKIP: %s not found under %s (real data absent; see README \"Real data\"); exit code 77\n", f.c_str(), a.data_dir.c_str());
            return false;
        }
    return true;
}

/// Images (N, H, W, 3) uint8 NHWC (loaded as float 0..255) -> (N, 3*H*W) NCHW rows,
/// standardised with fixed constants: (p / 255 - 0.5) / 0.25.
inline matrix<float> to_nchw(const tensor<float, 4>& img) {
    const std::size_t n = img.shape(0), H = img.shape(1), W = img.shape(2), C = img.shape(3);
    matrix<float> x = matrix<float>::from_shape({n, C * H * W});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t h = 0; h < H; ++h)
            for (std::size_t w = 0; w < W; ++w)
                for (std::size_t c = 0; c < C; ++c) x(i, (c * H + h) * W + w) = (img(i, h, w, c) / 255.f - 0.5f) / 0.25f;
    return x;
}

/// NCHW rows of 3x32x32 images -> 2x2 block means (3x16x16 = 768), the autoencoding target.
inline matrix<float> downsample2(const matrix<float>& x) {
    const std::size_t n = x.shape(0);
    matrix<float> y = xt::zeros<float>({n, std::size_t(768)});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t h = 0; h < 32; ++h)
                for (std::size_t w = 0; w < 32; ++w) y(i, (c * 16 + h / 2) * 16 + w / 2) += 0.25f * x(i, (c * 32 + h) * 32 + w);
    return y;
}

struct v4_session {
    std::string name;
    matrix<float> x;                 ///< (N, 3072) NCHW standardised
    matrix<float> responses;         ///< (N, neurons) spikes / 100 ms, repeat-averaged
    std::vector<std::int64_t> ids;   ///< stimulus id per row: byte-identical repeats share one
};

/// Loads v4/<name>; repeats listed in the v4 README share a stimulus id
/// (190925: image0901-1200 = image0001-0300; 210621: 0101 = 0536, 0425 = 0697).
inline v4_session load_v4(const std::string& root, const std::string& name) {
    v4_session s;
    s.name = name;
    const std::string dir = root + "/v4/" + name;
    s.x = to_nchw(brain::load_npy<float, 4>(dir + "/images.npy"));
    s.responses = brain::load_npy<float, 2>(dir + "/responses.npy");
    require_finite("v4 " + name + " responses", s.responses);
    if (s.x.shape(0) != s.responses.shape(0))
        throw_shape_mismatch("v4 " + name + ": image and response counts differ", "images", s.x.shape(), "responses",
                             s.responses.shape());
    const std::size_t n = s.x.shape(0);
    s.ids.resize(n);
    std::iota(s.ids.begin(), s.ids.end(), std::int64_t(0));
    if (name == "190925")
        for (std::size_t i = 900; i < std::min<std::size_t>(n, 1200); ++i) s.ids[i] = std::int64_t(i - 900);
    if (name == "210621" && n >= 697) s.ids[535] = 100, s.ids[696] = 424;
    return s;
}

/// Keeps rows `keep` of a session (e.g. to drop an image that also appears in training).
inline v4_session take(const v4_session& s, const std::vector<std::size_t>& keep) {
    v4_session t;
    t.name = s.name;
    t.x = brain::take_rows(s.x, keep);
    t.responses = brain::take_rows(s.responses, keep);
    for (auto k : keep) t.ids.push_back(s.ids[k]);
    return t;
}

/// Column z-scores of a whole matrix (for brain targets of training data).
inline matrix<float> zscored(const matrix<float>& m) {
    brain::zscore<float> z;
    z.fit(m);
    return z.transform(m);
}

struct rsa92 {
    matrix<float> x;                  ///< (92, 3072) NCHW standardised
    matrix<double> human_it, monkey_it;
    std::vector<std::string> category_names;
    matrix<float> categories;         ///< (92, 12) 0/1
    std::vector<std::int64_t> labels(const std::string& cat) const {
        for (std::size_t j = 0; j < category_names.size(); ++j)
            if (category_names[j] == cat) {
                std::vector<std::int64_t> l(categories.shape(0));
                for (std::size_t i = 0; i < l.size(); ++i) l[i] = categories(i, j) > 0.5f ? 1 : 0;
                return l;
            }
        throw data_error("rsa92: no category named '" + cat + "' in category_labels.txt");
    }
};

inline rsa92 load_rsa92(const std::string& root) {
    rsa92 r;
    const std::string dir = root + "/rsa92";
    r.x = to_nchw(brain::load_npy<float, 4>(dir + "/images.npy"));
    r.human_it = brain::load_npy<double, 2>(dir + "/rdm_human_it.npy");
    r.monkey_it = brain::load_npy<double, 2>(dir + "/rdm_monkey_it.npy");
    r.categories = brain::load_npy<float, 2>(dir + "/categories.npy");
    std::ifstream f(dir + "/category_labels.txt");
    for (std::string line; std::getline(f, line);)
        if (!line.empty()) r.category_names.push_back(line);
    if (r.category_names.size() != r.categories.shape(1))
        throw data_error("rsa92: category_labels.txt has " + std::to_string(r.category_names.size()) +
                         " names for categories.npy of shape " + shape_string(r.categories.shape()));
    return r;
}

/// Per-neuron Pearson r of out-of-fold ridge predictions: `folds` outer folds grouped by
/// stimulus id (repeats stay on one side); inside each training fold the features are
/// z-scored with training statistics and alpha is chosen per neuron by exact leave-one-out
/// when every image is unique, else by 5-fold CV grouped by stimulus.
inline std::vector<double> encoding_r(const matrix<float>& features, const matrix<float>& responses,
                                      const std::vector<std::int64_t>& ids, std::size_t folds, std::uint64_t seed) {
    const std::size_t n = features.shape(0), V = responses.shape(1);
    const auto fold = brain::group_folds(ids, folds, seed);
    matrix<float> pred = xt::zeros<float>({n, V});
    for (std::size_t f = 0; f < folds; ++f) {
        std::vector<std::size_t> tr, te;
        for (std::size_t i = 0; i < n; ++i) (fold[i] == f ? te : tr).push_back(i);
        matrix<float> xtr = brain::take_rows(features, tr), xte = brain::take_rows(features, te);
        brain::zscore<float> z;
        z.fit(xtr);
        z.transform_inplace(xtr);
        z.transform_inplace(xte);
        std::vector<std::int64_t> idtr;
        for (auto i : tr) idtr.push_back(ids[i]);
        brain::ridge_cv_options o;
        o.alphas = {1, 10, 100, 1e3, 1e4, 1e5};
        auto sorted = idtr;
        std::sort(sorted.begin(), sorted.end());
        if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
            o.method = brain::cv_method::kfold;
            o.fold_of_row = brain::group_folds(idtr, 5, seed + 1);
        }
        brain::ridge_cv<float> m(o);
        m.fit(xtr, brain::take_rows(responses, tr));
        const auto p = m.predict(xte);
        for (std::size_t k = 0; k < te.size(); ++k)
            for (std::size_t j = 0; j < V; ++j) pred(te[k], j) = p(k, j);
    }
    const auto r = brain::pearson_columns(responses, pred);
    return std::vector<double>(r.begin(), r.end());
}

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    if (v.empty()) return std::nan("");
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

/// Spearman rho between the correlation-distance RDM of `features` rows and `brain_rdm`.
inline double rsa_spearman(const matrix<float>& features, const matrix<double>& brain_rdm) {
    const matrix<double> f = xt::cast<double>(features);
    return brain::compare_rdms(brain::rdm(f), brain_rdm, brain::rdm_compare::spearman);
}

/// The sub-matrix of a square matrix at rows/columns idx.
inline matrix<double> sub_rdm(const matrix<double>& m, const std::vector<std::size_t>& idx) {
    matrix<double> s = matrix<double>::from_shape({idx.size(), idx.size()});
    for (std::size_t i = 0; i < idx.size(); ++i)
        for (std::size_t j = 0; j < idx.size(); ++j) s(i, j) = m(idx[i], idx[j]);
    return s;
}

/// Few-shot binary classification from frozen features: each of `repeats` draws (rng(seed)
/// split r) takes k training items per class, and a balanced test set (all remaining items
/// of the smaller class and as many random ones of the larger); features are z-scored with
/// the training items' statistics; L2 logistic regression (C = 1, fixed a priori).
/// Returns the accuracy of each draw (chance 0.5).
inline std::vector<double> few_shot(const matrix<float>& features, const std::vector<std::int64_t>& labels, std::size_t k,
                                    std::size_t repeats, std::uint64_t seed) {
    std::vector<std::size_t> pos, neg;
    for (std::size_t i = 0; i < labels.size(); ++i) (labels[i] ? pos : neg).push_back(i);
    std::vector<double> acc;
    for (std::size_t rep = 0; rep < repeats; ++rep) {
        rng r = rng(seed).split(rep);
        auto p = pos, q = neg;
        r.shuffle(p);
        r.shuffle(q);
        const std::size_t nt = std::min(p.size(), q.size()) - k;
        std::vector<std::size_t> tr, te;
        std::vector<std::int64_t> ltr, lte;
        for (std::size_t i = 0; i < k; ++i) tr.push_back(p[i]), ltr.push_back(1), tr.push_back(q[i]), ltr.push_back(0);
        for (std::size_t i = 0; i < nt; ++i) te.push_back(p[k + i]), lte.push_back(1), te.push_back(q[k + i]), lte.push_back(0);
        matrix<float> xtr = brain::take_rows(features, tr), xte = brain::take_rows(features, te);
        brain::zscore<float> z;
        z.fit(xtr);
        z.transform_inplace(xtr);
        z.transform_inplace(xte);
        brain::logistic_regression<float> m({.C = 1.0, .max_iter = 500, .tol = 1e-5});
        m.fit(xtr, ltr);
        acc.push_back(m.score(xte, lte));
    }
    return acc;
}

inline double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? std::nan("") : s / double(v.size());
}

/// "0.123 [0.100, 0.146]" (mean and 95% t interval over the values).
inline std::string ci(const std::vector<double>& v, const char* f = "%.3f") {
    const auto s = report::summarize(v);
    char a[32], b[32], c[32], out[128];
    std::snprintf(a, sizeof a, f, s.mean);
    std::snprintf(b, sizeof b, f, s.low());
    std::snprintf(c, sizeof c, f, s.high());
    std::snprintf(out, sizeof out, "%s [%s, %s]", a, b, c);
    return out;
}

/// Paired difference a - b over seeds: "+0.012 [-0.003, +0.027], d_z 0.85".
inline std::string paired(const std::vector<double>& a, const std::vector<double>& b) {
    const auto c = report::compare_paired(a, b);
    char out[160];
    std::snprintf(out, sizeof out, "%+.3f [%+.3f, %+.3f], d_z %.2f", c.difference.mean, c.difference.low(),
                  c.difference.high(), c.effect_size);
    return out;
}
/// True when the paired 95% interval of a - b lies above 0.
inline bool paired_above(const std::vector<double>& a, const std::vector<double>& b) {
    return report::compare_paired(a, b).difference.low() > 0;
}
inline bool paired_below(const std::vector<double>& a, const std::vector<double>& b) {
    return report::compare_paired(a, b).difference.high() < 0;
}

/// A mean curve with its 95% band over seeds (rows: seeds, columns: points at x).
inline report::series band(std::string name, const std::vector<double>& x, const std::vector<std::vector<double>>& rows) {
    report::series s;
    s.name = std::move(name);
    for (std::size_t e = 0; e < x.size(); ++e) {
        std::vector<double> at;
        for (const auto& r : rows)
            if (e < r.size()) at.push_back(r[e]);
        const auto st = report::summarize(at);
        s.x.push_back(x[e]);
        s.y.push_back(st.mean);
        s.low.push_back(std::isnan(st.ci95) ? st.mean : st.low());
        s.high.push_back(std::isnan(st.ci95) ? st.mean : st.high());
    }
    return s;
}

inline void write_text(const std::string& path, const std::string& text) { report::write_file_atomically(path, text); }

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace study
