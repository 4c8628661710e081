// tools/job.cpp - see job.hpp.
#include "job.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <thread>

#include "cli.hpp"

#if defined(B2M_WITH_MPI)
#include "b2m/mpi/comm.hpp"
#endif

namespace b2m::cli {

#if defined(B2M_WITH_MPI)

namespace {
bool active = false;                 // MPI initialised by this program
MPI_Comm errors_comm = MPI_COMM_NULL;  // a duplicate of the world for error agreement only
mpi::communicator world() { return mpi::communicator(MPI_COMM_WORLD); }

int exit_code_of(const std::exception_ptr& p) {
    try {
        std::rethrow_exception(p);
    } catch (const usage_error&) {
        return 2;
    } catch (...) {
        return 1;
    }
}

/// Seconds a failing rank waits for every rank to fail the same way before aborting.
double error_wait_seconds() {
    const char* v = std::getenv("B2M_MPI_ERROR_WAIT");
    return v ? std::atof(v) : 10.0;
}

/// Waits (sleeping, not spinning) for a non-blocking request, up to `seconds` (< 0: forever).
bool wait_for(MPI_Request& r, double seconds) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
        int done = 0;
        MPI_Test(&r, &done, MPI_STATUS_IGNORE);
        if (done) return true;
        if (seconds >= 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

[[noreturn]] void abort_job(const char* name, const std::string& what, int code) {
    std::fflush(stdout);
    std::fprintf(stderr, "b2m %s: error: %s (rank %d of %d; stopping every rank)\n", name, one_line(what).c_str(),
                 job_rank(), job_size());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
}
} // namespace

job_session::job_session(int& argc, char**& argv) {
    if (!mpi::launched_by_mpi()) return;
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready) {
        int provided = 0;
        MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    }
    active = true;
    MPI_Comm_dup(MPI_COMM_WORLD, &errors_comm);
    if (job_rank() != 0 && !std::freopen("/dev/null", "w", stdout))
        std::fprintf(stderr, "b2m: rank %d cannot silence its output\n", job_rank());
}
job_session::~job_session() {
    if (!active) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
        if (errors_comm != MPI_COMM_NULL) MPI_Comm_free(&errors_comm);
        MPI_Finalize();
    }
}

int job_rank() { return active ? world().rank() : 0; }
int job_size() { return active ? world().size() : 1; }

job_range job_share(std::size_t n) {
    if (!active) return {0, n};
    const auto r = mpi::shard(n, world());
    return {r.begin, r.end};
}

void job_agree(const std::function<void()>& f) {
    if (!active) return f();
    mpi::agree(world(), f, exit_code_of);
}

void job_on_root(const std::function<void()>& f) {
    job_agree([&] {
        if (job_rank() == 0) f();
    });
}

int job_run_on_root(const std::function<int()>& f) {
    if (!active || job_size() == 1) return f();
    int status[2] = {0, 0};  // exit code, failed
    std::string message;
    if (job_rank() == 0) {
        try {
            status[0] = f();
        } catch (const std::exception& e) {
            message = e.what();
            status[0] = exit_code_of(std::current_exception());
            status[1] = 1;
        } catch (...) {
            message = "unexpected error";
            status[0] = 1, status[1] = 1;
        }
    }
    MPI_Request r;
    MPI_Ibcast(status, 2, MPI_INT, 0, errors_comm, &r);
    wait_for(r, -1);
    if (status[1]) {
        mpi::broadcast(mpi::communicator(errors_comm), message, 0);
        throw mpi::agreed_error(message, status[0], 0);
    }
    return status[0];
}

std::vector<double> job_gather(const std::vector<double>& mine) {
    if (!active) return mine;
    return mpi::gather_to_root(world(), mine);
}
void job_sum(std::vector<double>& v) {
    if (active) mpi::allreduce_sum(world(), v.data(), v.size());
}

int job_run(const char* name, bool shared, int (*run)(const std::vector<std::string>&),
            const std::vector<std::string>& args) {
    if (!active || job_size() == 1) {
        try {
            return run(args);
        } catch (const mpi::agreed_error& e) {
            if (e.code == 2) throw usage_error(e.what());
            throw;
        }
    }
    const bool root = job_rank() == 0;
    if (!shared) {
        // Rank 0 runs the command; the others wait for its exit code.
        int code = 0;
        std::exception_ptr failure;
        if (root) {
            try {
                code = run(args);
            } catch (...) {
                failure = std::current_exception();
                code = exit_code_of(failure);
            }
        }
        MPI_Request r;
        MPI_Ibcast(&code, 1, MPI_INT, 0, errors_comm, &r);
        wait_for(r, -1);
        if (failure) std::rethrow_exception(failure);
        return code;
    }
    try {
        const int code = run(args);
        return code;
    } catch (const mpi::agreed_error& e) {
        // every rank holds the same error: rank 0 prints it
        if (!root) return e.code;
        if (e.code == 2) throw usage_error(e.what());
        throw;
    } catch (...) {
        // Failed outside an agreement. If every rank fails (e.g. the same bad input file,
        // read by all), they all reach this barrier: rank 0 prints, all exit. Otherwise the
        // others are busy or blocked in a collective: print here and stop the job.
        const std::exception_ptr p = std::current_exception();
        const int code = exit_code_of(p);
        std::string what = "unexpected error";
        try {
            std::rethrow_exception(p);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        MPI_Request r;
        MPI_Ibarrier(errors_comm, &r);
        if (wait_for(r, error_wait_seconds())) {
            if (root) std::rethrow_exception(p);
            return code;
        }
        abort_job(name, what, code);
    }
}

#else  // without MPI: one process

job_session::job_session(int&, char**&) {}
job_session::~job_session() {}
int job_rank() { return 0; }
int job_size() { return 1; }
job_range job_share(std::size_t n) { return {0, n}; }
void job_agree(const std::function<void()>& f) { f(); }
void job_on_root(const std::function<void()>& f) { f(); }
int job_run_on_root(const std::function<int()>& f) { return f(); }
std::vector<double> job_gather(const std::vector<double>& mine) { return mine; }
void job_sum(std::vector<double>&) {}
int job_run(const char*, bool, int (*run)(const std::vector<std::string>&), const std::vector<std::string>& args) {
    return run(args);
}

#endif

} // namespace b2m::cli
