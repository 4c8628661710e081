// b2m/mpi/comm.hpp - the MPI pieces b2m's scale-out uses: start-up, a communicator handle,
// typed collectives on b2m matrices, even shards of a range, and error agreement.
//
//   b2m::mpi::environment env(argc, argv);   // MPI_Init_thread (FUNNELED) ... MPI_Finalize
//   b2m::mpi::communicator world;            // MPI_COMM_WORLD
//   auto [b, e] = b2m::mpi::shard(targets, world);   // this rank's block of [0, targets)
//   b2m::mpi::agree(world, [&] { load_inputs(); });   // an error on any rank -> on every rank
//
// Error agreement (the rule that keeps jobs from hanging): code between collectives that can
// throw on some ranks only (reading files, checking data) runs inside agree(). Every rank
// then learns whether any rank failed; if so every rank throws mpi::agreed_error with the
// message of the lowest failing rank (and its exit code), so all ranks stop the same way
// and only one line needs printing (rank 0's). An exception that escapes elsewhere while
// other ranks wait in a collective cannot be agreed on: abort_on_error() prints it once and
// calls MPI_Abort, which stops every rank (never a hang).
// Threads: MPI is called only from the thread that initialised it (MPI_THREAD_FUNNELED);
// OpenMP regions never call MPI.
#pragma once

// The C API only: keep the deprecated MPI C++ bindings out (they do not compile warning-free).
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"

namespace b2m::mpi {

/// MPI_Init_thread / MPI_Finalize, unless MPI was already initialised by someone else.
/// ensures: MPI is initialised with at least MPI_THREAD_FUNNELED while the object lives.
class environment {
public:
    /// Initialises MPI with the program's arguments (which MPI may edit), unless already initialised.
    environment(int& argc, char**& argv) { init(&argc, &argv); }
    environment() { init(nullptr, nullptr); }
    environment(const environment&) = delete;
    environment& operator=(const environment&) = delete;
    ~environment() {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (owner_ && !finalized) MPI_Finalize();
    }

private:
    void init(int* argc, char*** argv) {
        int ready = 0;
        MPI_Initialized(&ready);
        if (ready) return;
        int provided = 0;
        MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        owner_ = true;
    }
    bool owner_ = false;
};

/// True when this process was started by an MPI launcher (mpirun/mpiexec, srun with PMI/PMIx),
/// or B2M_MPI=1 is set. Lets a program call MPI_Init only when it is part of a job.
inline bool launched_by_mpi() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
        if (std::getenv(v)) return true;
    const char* f = std::getenv("B2M_MPI");
    return f && std::string(f) == "1";
}

/// A non-owning communicator handle (default: MPI_COMM_WORLD). Requires MPI initialised.
class communicator {
public:
    communicator() : c_(MPI_COMM_WORLD) {}
    explicit communicator(MPI_Comm c) : c_(c) {} ///< Refers to c (not owned: the caller frees it after use).
    MPI_Comm get() const { return c_; }          ///< The MPI handle, for calls b2m does not wrap.
    /// This process's rank in [0, size()).
    int rank() const {
        int r = 0;
        MPI_Comm_rank(c_, &r);
        return r;
    }
    /// The number of ranks.
    int size() const {
        int s = 1;
        MPI_Comm_size(c_, &s);
        return s;
    }
    bool root() const { return rank() == 0; }  ///< Whether this is rank 0.
    void barrier() const { MPI_Barrier(c_); } ///< Collective: returns once every rank has called it.

private:
    MPI_Comm c_;
};

template <class T>
MPI_Datatype datatype() {
    if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
    else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
    else if constexpr (std::is_same_v<T, int>) return MPI_INT;
    else if constexpr (std::is_same_v<T, std::uint64_t>) return MPI_UINT64_T;
    else if constexpr (std::is_same_v<T, std::int64_t>) return MPI_INT64_T;
    else if constexpr (std::is_same_v<T, char>) return MPI_CHAR;
    else static_assert(sizeof(T) == 0, "b2m::mpi::datatype: unsupported element type");
}

/// [begin, end) of part `part` when n items are split into `parts` contiguous blocks whose
/// sizes differ by at most one (the first n % parts blocks are one larger).
struct range {
    /// The first index;
    std::size_t begin = 0, end = 0; ///< one past the last index (begin <= end).
    std::size_t size() const { return end - begin; } ///< end - begin.
};
inline range block(std::size_t n, std::size_t parts, std::size_t part) {
    const std::size_t q = n / parts, r = n % parts;
    const std::size_t b = part * q + std::min(part, r);
    return {b, b + q + (part < r ? 1 : 0)};
}
/// This rank's block of [0, n).
inline range shard(std::size_t n, const communicator& c) { return block(n, std::size_t(c.size()), std::size_t(c.rank())); }

namespace detail {
inline void check_count(std::size_t n, const char* who) {
    if (n > std::size_t(std::numeric_limits<int>::max()))
        throw data_error(std::string(who) + ": " + std::to_string(n) +
                         " elements exceed one MPI message (2^31 - 1); split the data");
}
} // namespace detail

/// In-place sum over ranks of data[0..n) (every rank gets the same result).
template <class T>
void allreduce_sum(const communicator& c, T* data, std::size_t n) {
    if (c.size() == 1 || n == 0) return;
    detail::check_count(n, "mpi::allreduce_sum");
    MPI_Allreduce(MPI_IN_PLACE, data, int(n), datatype<T>(), MPI_SUM, c.get());
}
template <class T>
T allreduce_max(const communicator& c, T v) {
    T out = v;
    MPI_Allreduce(&v, &out, 1, datatype<T>(), MPI_MAX, c.get());
    return out;
}
template <class T>
void broadcast(const communicator& c, T* data, std::size_t n, int root = 0) {
    if (c.size() == 1 || n == 0) return;
    detail::check_count(n, "mpi::broadcast");
    MPI_Bcast(data, int(n), datatype<T>(), root, c.get());
}
inline void broadcast(const communicator& c, std::string& s, int root = 0) {
    std::uint64_t n = s.size();
    broadcast(c, &n, 1, root);
    s.resize(n);
    broadcast(c, s.data(), n, root);
}

/// Concatenates every rank's rows in rank order: local is (rows_r, cols) on rank r,
/// full becomes (sum rows, cols) on every rank. Requires the same cols on every rank
/// (counts are exchanged, so uneven rows are fine).
template <real T>
void allgather_rows(const communicator& c, const matrix<T>& local, matrix<T>& full, std::vector<int>& counts,
                    std::vector<int>& displs) {
    const int p = c.size();
    const std::size_t cols = local.shape(1);
    int mine = int(local.size());
    detail::check_count(local.size(), "mpi::allgather_rows");
    counts.resize(std::size_t(p));
    displs.resize(std::size_t(p));
    MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, c.get());
    std::size_t total = 0;
    for (int r = 0; r < p; ++r) displs[std::size_t(r)] = int(total), total += std::size_t(counts[std::size_t(r)]);
    detail::check_count(total, "mpi::allgather_rows");
    ensure_shape(full, cols ? total / cols : 0, cols);
    MPI_Allgatherv(local.data(), mine, datatype<T>(), full.data(), counts.data(), displs.data(), datatype<T>(),
                   c.get());
}

/// Concatenates every rank's values on `root` (rank order); other ranks get an empty vector.
template <class T>
std::vector<T> gather_to_root(const communicator& c, const std::vector<T>& local, int root = 0) {
    const int p = c.size();
    int mine = int(local.size());
    detail::check_count(local.size(), "mpi::gather_to_root");
    std::vector<int> counts(static_cast<std::size_t>(p)), displs(static_cast<std::size_t>(p));
    MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, root, c.get());
    std::size_t total = 0;
    if (c.rank() == root)
        for (int r = 0; r < p; ++r) displs[std::size_t(r)] = int(total), total += std::size_t(counts[std::size_t(r)]);
    std::vector<T> out(c.rank() == root ? total : 0);
    MPI_Gatherv(local.data(), mine, datatype<T>(), out.data(), counts.data(), displs.data(), datatype<T>(), root,
                c.get());
    return out;
}
/// Like gather_to_root, on every rank.
template <class T>
std::vector<T> allgather(const communicator& c, const std::vector<T>& local) {
    const int p = c.size();
    int mine = int(local.size());
    detail::check_count(local.size(), "mpi::allgather");
    std::vector<int> counts(static_cast<std::size_t>(p)), displs(static_cast<std::size_t>(p));
    MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, c.get());
    std::size_t total = 0;
    for (int r = 0; r < p; ++r) displs[std::size_t(r)] = int(total), total += std::size_t(counts[std::size_t(r)]);
    std::vector<T> out(total);
    MPI_Allgatherv(local.data(), mine, datatype<T>(), out.data(), counts.data(), displs.data(), datatype<T>(),
                   c.get());
    return out;
}

/// The error every rank throws after agree() found a failure on some rank.
struct agreed_error : b2m::error {
    int code = 1;         ///< exit code chosen by the classifier on the failing rank
    int origin_rank = 0;  ///< the lowest rank that failed
    /// Carries the failing rank's message, exit code and rank.
    agreed_error(const std::string& what, int code_, int origin) : b2m::error(what), code(code_), origin_rank(origin) {}
};

/// Default classification of a failure into an exit code: 1.
inline int default_exit_code(const std::exception_ptr&) { return 1; }

/// Runs f() on every rank, then agrees: if f threw on any rank, every rank throws
/// agreed_error carrying the what() and classify(exception) of the lowest failing rank.
/// Collective: every rank of c must call it (with its own f). Returns normally on every
/// rank only when f succeeded on every rank.
template <class F, class Classify = int (*)(const std::exception_ptr&)>
void agree(const communicator& c, F&& f, Classify classify = default_exit_code) {
    std::string message;
    int code = 0;
    try {
        f();
    } catch (const std::bad_alloc&) {
        message = "out of memory (the data are too large for this machine)";
        code = classify(std::current_exception());
        if (code == 0) code = 1;
    } catch (const std::exception& e) {
        message = e.what();
        code = classify(std::current_exception());
        if (code == 0) code = 1;
    } catch (...) {
        message = "unexpected error";
        code = 1;
    }
    if (c.size() == 1) {
        if (code) throw agreed_error(message, code, 0);
        return;
    }
    // The lowest failing rank: min over (failed ? rank : size).
    const int me = code ? c.rank() : c.size();
    int first = me;
    MPI_Allreduce(&me, &first, 1, MPI_INT, MPI_MIN, c.get());
    if (first == c.size()) return;
    broadcast(c, message, first);
    broadcast(c, &code, 1, first);
    throw agreed_error(message, code, first);
}

/// Runs f(); an exception escaping it is printed once as "<prefix>error: <what>" (from the
/// failing rank, on stderr) and ends the whole job with MPI_Abort(code) when there is more
/// than one rank (other ranks may be blocked in a collective). agreed_error is rethrown
/// untouched (every rank holds it; the caller prints it on rank 0 and exits normally).
template <class F>
auto abort_on_error(const communicator& c, const std::string& prefix, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const agreed_error&) {
        throw;
    } catch (const std::exception& e) {
        if (c.size() == 1) throw;
        std::fflush(stdout);
        std::fprintf(stderr, "%serror: %s (rank %d of %d; stopping every rank)\n", prefix.c_str(), e.what(), c.rank(),
                     c.size());
        std::fflush(stderr);
        MPI_Abort(c.get(), 1);
        throw;  // not reached
    }
}

} // namespace b2m::mpi
