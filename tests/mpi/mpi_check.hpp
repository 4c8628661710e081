// tests/mpi/mpi_check.hpp - a minimal check harness for programs run under mpiexec: each
// rank counts failed checks, the job fails (exit 1 on every rank) when any rank failed,
// and rank 0 prints the summary. Failures print on the rank that saw them.
#pragma once

#include <cstdio>
#include <string>

#include "b2m/mpi/comm.hpp"

namespace mpi_check {
inline int failures = 0;
inline int checks = 0;
inline int rank() {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}
inline void check(bool ok, const std::string& what, const char* file, int line) {
    ++checks;
    if (ok) return;
    ++failures;
    std::fprintf(stderr, "%s:%d: rank %d: CHECK failed: %s\n", file, line, rank(), what.c_str());
}
/// Collective: 0 when no rank failed.
inline int finish(const char* name) {
    int total = 0;
    MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank() == 0)
        std::printf("%s: %d ranks, %d checks on rank 0, %d failed checks over all ranks: %s\n", name, size, checks, total,
                    total ? "FAILED" : "passed");
    return total ? 1 : 0;
}
} // namespace mpi_check

#define MPI_CHECK(cond) mpi_check::check(bool(cond), #cond, __FILE__, __LINE__)
#define MPI_CHECK_MSG(cond, msg) mpi_check::check(bool(cond), std::string(#cond) + " (" + (msg) + ")", __FILE__, __LINE__)
