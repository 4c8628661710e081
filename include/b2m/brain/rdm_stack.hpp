// b2m/brain/rdm_stack.hpp - a stack of S RDMs over the same N conditions (subjects,
// sessions, models), with descriptors and NaN marking missing pairs.
//
// Storage: one row per RDM holding the N (N - 1) / 2 dissimilarities of pairs i < j in
// scipy `squareform` / rsatoolbox order: (0,1), (0,2), ..., (0,N-1), (1,2), ... A NaN entry
// is a missing pair; comparisons skip it (brain/rsa_compare.hpp).
//
//   auto data = brain::load_rdm_stack("subjects.npy");        // (S, N, N) or (N, N) or a folder
//   auto boot = data.subsample_patterns({0, 0, 3, 5, ...});  // same-stimulus pairs -> NaN
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "b2m/brain/npy.hpp"
#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/core/tolerance.hpp"

namespace b2m::brain {

/// Index of pair (i, j), i != j, among the N (N - 1) / 2 pairs in squareform order.
inline std::size_t pair_index(std::size_t i, std::size_t j, std::size_t n) {
    if (i > j) std::swap(i, j);
    return i * n - i * (i + 1) / 2 + (j - i - 1);
}

/// S RDMs over the same N conditions, each stored as its upper triangle (squareform order).
struct rdm_stack {
    std::size_t n_cond = 0;                  ///< N, the conditions
    matrix<double> vectors;                  ///< (S, N (N - 1) / 2), NaN = missing pair
    std::vector<std::string> rdm_names;      ///< S descriptors (file names, subject labels)
    std::vector<std::string> pattern_names;  ///< N descriptors (default "0".."N-1")
    std::string measure = "dissimilarity";   ///< e.g. "correlation", "squared euclidean"

    std::size_t n_rdm() const { return vectors.shape(0); }   ///< S, the number of RDMs
    std::size_t n_pairs() const { return vectors.shape(1); } ///< N (N - 1) / 2

    /// RDM s as a vector of length n_pairs().
    std::vector<double> vector(std::size_t s) const {
        std::vector<double> v(n_pairs());
        for (std::size_t p = 0; p < v.size(); ++p) v[p] = vectors(s, p);
        return v;
    }

    /// RDM s as a square (N, N) matrix with a zero diagonal (NaN where missing).
    matrix<double> square(std::size_t s) const {
        matrix<double> m = xt::zeros<double>({n_cond, n_cond});
        for (std::size_t i = 0; i < n_cond; ++i)
            for (std::size_t j = i + 1; j < n_cond; ++j) m(i, j) = m(j, i) = vectors(s, pair_index(i, j, n_cond));
        return m;
    }

    /// Resampled conditions, as rsatoolbox's subsample_pattern: idx is sorted, entry (a, b)
    /// of the result is the original (idx[a], idx[b]), and pairs of the same original
    /// condition become NaN (a model predicts them trivially). Requires idx.size() >= 2 and
    /// every index < N.
    rdm_stack subsample_patterns(std::vector<std::size_t> idx) const {
        if (idx.size() < 2) throw shape_error("rdm_stack::subsample_patterns: need >= 2 conditions, got " + std::to_string(idx.size()));
        std::sort(idx.begin(), idx.end());
        for (auto i : idx)
            if (i >= n_cond)
                throw shape_error("rdm_stack::subsample_patterns: condition " + std::to_string(i) + " out of range for " +
                                  std::to_string(n_cond) + " conditions");
        rdm_stack r;
        r.n_cond = idx.size();
        r.rdm_names = rdm_names, r.measure = measure;
        for (auto i : idx) r.pattern_names.push_back(i < pattern_names.size() ? pattern_names[i] : std::to_string(i));
        const std::size_t np = r.n_cond * (r.n_cond - 1) / 2;
        r.vectors = xt::empty<double>({n_rdm(), np});
        std::vector<std::size_t> map(np);
        for (std::size_t a = 0, p = 0; a < r.n_cond; ++a)
            for (std::size_t b = a + 1; b < r.n_cond; ++b, ++p)
                map[p] = idx[a] == idx[b] ? std::size_t(-1) : pair_index(idx[a], idx[b], n_cond);
        for (std::size_t s = 0; s < n_rdm(); ++s)
            for (std::size_t p = 0; p < np; ++p)
                r.vectors(s, p) = map[p] == std::size_t(-1) ? std::numeric_limits<double>::quiet_NaN() : vectors(s, map[p]);
        return r;
    }

    /// The RDMs idx (repeats allowed, kept in the given order).
    rdm_stack subset_rdms(const std::vector<std::size_t>& idx) const {
        rdm_stack r;
        r.n_cond = n_cond, r.pattern_names = pattern_names, r.measure = measure;
        r.vectors = xt::empty<double>({idx.size(), n_pairs()});
        for (std::size_t k = 0; k < idx.size(); ++k) {
            if (idx[k] >= n_rdm())
                throw shape_error("rdm_stack::subset_rdms: RDM " + std::to_string(idx[k]) + " out of range for " +
                                  std::to_string(n_rdm()) + " RDMs");
            for (std::size_t p = 0; p < n_pairs(); ++p) r.vectors(k, p) = vectors(idx[k], p);
            r.rdm_names.push_back(idx[k] < rdm_names.size() ? rdm_names[idx[k]] : std::to_string(idx[k]));
        }
        return r;
    }
};

/// Builds a stack from square matrices (S, N, N). Requires N >= 3, each matrix symmetric
/// (NaN on both sides or equal within 1e-6 of the largest magnitude) with a zero or NaN
/// diagonal, and no infinities; `name` prefixes every error, which names the RDM and entry.
inline rdm_stack rdm_stack_from_matrices(const tensor<double, 3>& m, const std::string& name = "RDM stack") {
    const std::size_t s = m.shape(0), n = m.shape(1);
    if (n != m.shape(2) || n < 3 || s == 0)
        throw shape_error(name + " has shape " + shape_string(m.shape()) + " but RDMs must be (S, N, N) with S >= 1, N >= 3");
    rdm_stack r;
    r.n_cond = n;
    r.vectors = xt::empty<double>({s, n * (n - 1) / 2});
    for (std::size_t k = 0; k < s; ++k) {
        double scale = 0;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const double v = m(k, i, j);
                if (std::isinf(v))
                    throw data_error(name + ": RDM " + std::to_string(k) + " entry (" + std::to_string(i) + ", " +
                                     std::to_string(j) + ") is infinite");
                if (!std::isnan(v)) scale = std::max(scale, std::abs(v));
            }
        const double tol = rdm_symmetry_rtol * std::max(scale, 1e-300);
        for (std::size_t i = 0; i < n; ++i) {
            const double d = m(k, i, i);
            if (!std::isnan(d) && std::abs(d) > tol)
                throw data_error(name + ": RDM " + std::to_string(k) + " diagonal entry " + std::to_string(i) + " is " +
                                 std::to_string(d) + ", not 0");
            for (std::size_t j = i + 1; j < n; ++j) {
                const double a = m(k, i, j), b = m(k, j, i);
                if (std::isnan(a) != std::isnan(b) || (!std::isnan(a) && std::abs(a - b) > tol))
                    throw data_error(name + ": RDM " + std::to_string(k) + " is not symmetric (entries (" + std::to_string(i) +
                                     ", " + std::to_string(j) + ") and (" + std::to_string(j) + ", " + std::to_string(i) +
                                     ") differ)");
                r.vectors(k, pair_index(i, j, n)) = a;
            }
        }
        r.rdm_names.push_back(std::to_string(k));
    }
    for (std::size_t i = 0; i < n; ++i) r.pattern_names.push_back(std::to_string(i));
    return r;
}

/// Builds a stack from RDM vectors (S, N (N - 1) / 2) in squareform order.
inline rdm_stack rdm_stack_from_vectors(const matrix<double>& v, const std::string& name = "RDM vectors") {
    const std::size_t m = v.shape(1);
    const std::size_t n = std::size_t(std::llround((1 + std::sqrt(1 + 8.0 * double(m))) / 2));
    if (n * (n - 1) / 2 != m || n < 3 || v.shape(0) == 0)
        throw shape_error(name + " has shape " + shape_string(v.shape()) +
                          " but RDM vectors must be (S, N (N - 1) / 2) with N >= 3");
    rdm_stack r;
    r.n_cond = n, r.vectors = v;
    for (std::size_t k = 0; k < v.shape(0); ++k) r.rdm_names.push_back(std::to_string(k));
    for (std::size_t i = 0; i < n; ++i) r.pattern_names.push_back(std::to_string(i));
    return r;
}

/// Concatenates stacks over the same conditions (shape_error naming both otherwise).
inline rdm_stack concat(const rdm_stack& a, const rdm_stack& b) {
    if (a.n_cond != b.n_cond)
        throw shape_error("concat: RDM stacks over " + std::to_string(a.n_cond) + " and " + std::to_string(b.n_cond) +
                          " conditions");
    rdm_stack r = a;
    r.vectors = xt::concatenate(xt::xtuple(a.vectors, b.vectors), 0);
    r.rdm_names.insert(r.rdm_names.end(), b.rdm_names.begin(), b.rdm_names.end());
    return r;
}

/// Loads RDMs from a .npy of shape (S, N, N) or (N, N), or from a folder whose *.npy files
/// (sorted by name) each hold one (N, N) RDM or an (S, N, N) stack. RDM names are
/// "file" or "file[k]". Errors name the file.
inline rdm_stack load_rdm_stack(const std::string& path) {
    namespace fs = std::filesystem;
    auto load_one = [](const std::string& file) {
        const auto h = read_npy_header(file);
        const std::string stem = fs::path(file).stem().string();
        rdm_stack r;
        if (h.shape.size() == 2) {
            const auto m = load_npy<double, 2>(file);
            tensor<double, 3> t = xt::empty<double>({std::size_t(1), m.shape(0), m.shape(1)});
            std::copy(m.begin(), m.end(), t.begin());
            r = rdm_stack_from_matrices(t, file);
            r.rdm_names = {stem};
        } else if (h.shape.size() == 3) {
            r = rdm_stack_from_matrices(load_npy<double, 3>(file), file);
            for (std::size_t k = 0; k < r.n_rdm(); ++k) r.rdm_names[k] = stem + "[" + std::to_string(k) + "]";
        } else {
            throw shape_error(file + ": array has shape " + shape_string(h.shape) + " but an RDM file must be (N, N) or (S, N, N)");
        }
        return r;
    };
    if (fs::is_directory(path)) {
        std::vector<std::string> files;
        for (const auto& e : fs::directory_iterator(path))
            if (e.is_regular_file() && e.path().extension() == ".npy") files.push_back(e.path().string());
        std::sort(files.begin(), files.end());
        if (files.empty()) throw io_error(path + ": folder holds no .npy RDM files");
        rdm_stack r = load_one(files[0]);
        for (std::size_t k = 1; k < files.size(); ++k) {
            auto next = load_one(files[k]);
            if (next.n_cond != r.n_cond)
                throw shape_error(files[k] + ": RDMs over " + std::to_string(next.n_cond) + " conditions but " + files[0] +
                                  " has " + std::to_string(r.n_cond));
            r = concat(r, next);
        }
        return r;
    }
    return load_one(path);
}

} // namespace b2m::brain
