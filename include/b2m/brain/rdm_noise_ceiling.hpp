// b2m/brain/rdm_noise_ceiling.hpp - noise ceilings of a stack of subject RDMs (Nili et al.
// 2014), as rsatoolbox's boot_noise_ceiling / cv_noise_ceiling define them:
//   lower bound: mean over subjects of compare(pool(all other subjects), subject)
//   upper bound: mean over subjects of compare(pool(all subjects), subject)
// pool() is the RDM that the comparator scores best on average (rsatoolbox's pool_rdm):
//   cosine, cosine_cov      mean of RDMs scaled to unit root-mean-square
//   corr, corr_cov          mean of z-scored RDMs (std with ddof 0), minus its minimum
//   rank methods            mean of the tie-averaged ranks (NaN pairs kept NaN)
// A pair missing (NaN) in any pooled RDM is NaN in the pool. "Subjects" are the groups of
// rdm_groups (default: each RDM its own group), so a bootstrap sample that repeats a
// subject leaves out all its copies together.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "b2m/brain/rdm_stack.hpp"
#include "b2m/brain/rsa.hpp"
#include "b2m/brain/rsa_compare.hpp"
#include "b2m/core/error.hpp"

namespace b2m::brain {

/// The pooled RDM of `rdms` for `method` (a stack of one RDM). Requires >= 1 RDM.
inline rdm_stack pool_rdms(const rdm_stack& rdms, rsa_method method) {
    const std::size_t s = rdms.n_rdm(), m = rdms.n_pairs();
    if (s == 0) throw shape_error("pool_rdms: empty RDM stack");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> sum(m, 0.0);
    for (std::size_t k = 0; k < s; ++k) {
        std::vector<double> v = rdms.vector(k);
        std::vector<double> ok;
        for (double x : v)
            if (!std::isnan(x)) ok.push_back(x);
        if (is_rank_method(method)) {
            const auto r = rank_average(ok);
            for (std::size_t p = 0, q = 0; p < m; ++p)
                if (!std::isnan(v[p])) v[p] = r[q++];
        } else if (method == rsa_method::cosine || method == rsa_method::cosine_cov) {
            double ms = 0;
            for (double x : ok) ms += x * x;
            const double scale = std::sqrt(ms / double(ok.size()));
            for (auto& x : v) x /= scale;
        } else {  // corr, corr_cov
            double mean = 0, var = 0;
            for (double x : ok) mean += x;
            mean /= double(ok.size());
            for (double x : ok) var += (x - mean) * (x - mean);
            const double sd = std::sqrt(var / double(ok.size()));
            for (auto& x : v) x = (x - mean) / sd;
        }
        for (std::size_t p = 0; p < m; ++p) sum[p] += v[p];
    }
    rdm_stack r;
    r.n_cond = rdms.n_cond, r.pattern_names = rdms.pattern_names, r.measure = rdms.measure;
    r.rdm_names = {"pooled"};
    r.vectors = xt::empty<double>({std::size_t(1), m});
    double mn = std::numeric_limits<double>::infinity();
    for (std::size_t p = 0; p < m; ++p) {
        r.vectors(0, p) = std::isnan(sum[p]) ? nan : sum[p] / double(s);
        if (!std::isnan(sum[p])) mn = std::min(mn, r.vectors(0, p));
    }
    if (method == rsa_method::corr || method == rsa_method::corr_cov)
        for (std::size_t p = 0; p < m; ++p) r.vectors(0, p) -= mn;
    return r;
}

/// The noise ceiling of an RDM comparison: the range a true model's mean score should fall in.
struct rdm_ceiling {
    /// the lower bound (each subject's RDM against the others' mean);
    double lower = 0, upper = 0; ///< the upper bound (against the mean of all, itself included).
};

/// Leave-one-group-out noise ceiling (rsatoolbox's boot_noise_ceiling). groups[k] is RDM
/// k's subject (empty: every RDM its own). Requires >= 2 groups (data_error otherwise).
inline rdm_ceiling rdm_noise_ceiling(const rdm_stack& rdms, rsa_method method, std::vector<std::size_t> groups = {}) {
    if (groups.empty())
        for (std::size_t k = 0; k < rdms.n_rdm(); ++k) groups.push_back(k);
    if (groups.size() != rdms.n_rdm())
        throw shape_error("rdm_noise_ceiling: " + std::to_string(groups.size()) + " group labels for " +
                          std::to_string(rdms.n_rdm()) + " RDMs");
    std::map<std::size_t, std::vector<std::size_t>> members;
    for (std::size_t k = 0; k < groups.size(); ++k) members[groups[k]].push_back(k);
    if (members.size() < 2)
        throw data_error("rdm_noise_ceiling: needs RDMs of >= 2 subjects, got " + std::to_string(members.size()));
    const rdm_stack all = pool_rdms(rdms, method);
    double lo = 0, hi = 0;
    for (const auto& [g, test_idx] : members) {
        std::vector<std::size_t> train_idx;
        for (std::size_t k = 0; k < groups.size(); ++k)
            if (groups[k] != g) train_idx.push_back(k);
        const rdm_stack test = rdms.subset_rdms(test_idx);
        lo += mean_compare(pool_rdms(rdms.subset_rdms(train_idx), method), test, method);
        hi += mean_compare(all, test, method);
    }
    return {lo / double(members.size()), hi / double(members.size())};
}

} // namespace b2m::brain
