// tools/job.hpp - the b2m program as one MPI job (`mpirun -np N b2m <command> ...`).
//
// Built with B2M_WITH_MPI (target b2m::mpi) and started by an MPI launcher (mpirun, mpiexec,
// srun), b2m initialises MPI; otherwise (or built without MPI) every function here is the
// single-process case and nothing changes. In a job of N > 1 ranks:
//   - only rank 0 prints: the other ranks' stdout goes to /dev/null;
//   - `encode` and `train` share the work (targets / batch rows: train runs mpi::fit, rank 0
//     writes every output file); `train --arch` and the other commands run on rank 0 alone
//     while the other ranks wait (without spinning) for its exit code;
//   - errors: inputs are read by every rank, so a bad file fails on every rank the same
//     way and rank 0 prints the one line; code where ranks can disagree (their own block of
//     targets, rank 0's output files) runs inside job_agree, which turns a failure on any
//     rank into the same error on every rank. A failure that the other ranks do not share
//     within a few seconds is printed by the failing rank, and MPI_Abort stops the job
//     (never a hang).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "b2m/core/tensor.hpp"

namespace b2m::cli {

/// Starts / ends MPI for the program when it runs inside an MPI job (see above).
struct job_session {
    job_session(int& argc, char**& argv);
    ~job_session();
    job_session(const job_session&) = delete;
    job_session& operator=(const job_session&) = delete;
};

int job_rank();  ///< 0 outside a job
int job_size();  ///< 1 outside a job

/// This rank's contiguous block [begin, end) of n items (all of them outside a job).
struct job_range {
    std::size_t begin = 0, end = 0;
};
job_range job_share(std::size_t n);

/// Runs f on every rank and agrees: a failure on any rank becomes the same error on every
/// rank (the message of the lowest failing rank). Collective in a job; just f() outside.
void job_agree(const std::function<void()>& f);

/// Runs f on rank 0 only, inside an agreement: a failure there is thrown on every rank
/// (the same error, exit code kept). Collective in a job; just f() outside.
void job_on_root(const std::function<void()>& f);

/// Inside a shared command: rank 0 alone runs f while the other ranks wait (sleeping, not
/// spinning); returns f's exit code on every rank, and a failure on rank 0 is thrown on
/// every rank as the same error. Just f() outside a job.
int job_run_on_root(const std::function<int()>& f);

/// Concatenates every rank's values on rank 0 in rank order (others get an empty vector).
std::vector<double> job_gather(const std::vector<double>& mine);
/// Sums over ranks, in place, on every rank.
void job_sum(std::vector<double>& v);

/// Runs a command in the job (called by main): see the file comment. `shared` says whether
/// the command splits its work over the ranks. Returns the exit code; throws (on rank 0,
/// or outside a job) what main prints.
int job_run(const char* name, bool shared, int (*run)(const std::vector<std::string>&),
            const std::vector<std::string>& args);

/// One block of `b2m encode` results (targets [c0, c0 + b)) in transit to rank 0.
template <class T>
struct encode_block {
    std::size_t c0 = 0, b = 0;
    vector<T> r, r2;
    std::vector<double> alpha;
    xt::xtensor<double, 2> weights, r2_parts;  // (spaces, b) or empty
    matrix<T> pred;                            // (held out, b)
};
/// Appends a block to `out` as doubles: c0, b, the row counts of weights / r2_parts / pred,
/// then r, r2, alpha, weights, r2_parts, pred (each row-major).
template <class R, class M>
void pack_encode_block(std::vector<double>& out, std::size_t c0, std::size_t b, const R& r, const R& r2,
                       const std::vector<double>& alpha, const xt::xtensor<double, 2>& weights,
                       const xt::xtensor<double, 2>& r2_parts, const M& pred) {
    const std::size_t wr = weights.size() ? weights.shape(0) : 0, sr = r2_parts.size() ? r2_parts.shape(0) : 0;
    const std::size_t pr = pred.size() ? pred.shape(0) : 0;
    for (double v : {double(c0), double(b), double(wr), double(sr), double(pr)}) out.push_back(v);
    for (std::size_t j = 0; j < b; ++j) out.push_back(double(r(j)));
    for (std::size_t j = 0; j < b; ++j) out.push_back(double(r2(j)));
    for (std::size_t j = 0; j < b; ++j) out.push_back(alpha[j]);
    for (std::size_t i = 0; i < wr * b; ++i) out.push_back(weights.data()[i]);
    for (std::size_t i = 0; i < sr * b; ++i) out.push_back(r2_parts.data()[i]);
    for (std::size_t i = 0; i < pr * b; ++i) out.push_back(double(pred.data()[i]));
}
/// Reads the block starting at in[pos] and advances pos past it.
template <class T>
encode_block<T> unpack_encode_block(const std::vector<double>& in, std::size_t& pos) {
    encode_block<T> e;
    auto next = [&] { return in.at(pos++); };
    e.c0 = std::size_t(next()), e.b = std::size_t(next());
    const std::size_t wr = std::size_t(next()), sr = std::size_t(next()), pr = std::size_t(next());
    e.r = vector<T>::from_shape({e.b});
    e.r2 = vector<T>::from_shape({e.b});
    for (std::size_t j = 0; j < e.b; ++j) e.r(j) = T(next());
    for (std::size_t j = 0; j < e.b; ++j) e.r2(j) = T(next());
    for (std::size_t j = 0; j < e.b; ++j) e.alpha.push_back(next());
    if (wr) e.weights = xt::xtensor<double, 2>::from_shape({wr, e.b});
    for (std::size_t i = 0; i < wr * e.b; ++i) e.weights.data()[i] = next();
    if (sr) e.r2_parts = xt::xtensor<double, 2>::from_shape({sr, e.b});
    for (std::size_t i = 0; i < sr * e.b; ++i) e.r2_parts.data()[i] = next();
    e.pred = matrix<T>::from_shape({pr, e.b});
    for (std::size_t i = 0; i < pr * e.b; ++i) e.pred.data()[i] = T(next());
    return e;
}

} // namespace b2m::cli
