// tools/b2m.cpp - the b2m command: dispatch to the subcommands and turn every error into
// one line on stderr and a non-zero exit code (2: usage, 1: data or run-time error).
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "arch.hpp"
#include "cli.hpp"
#include "job.hpp"

#include "b2m/config.hpp"
#include "b2m/core/thread_env.hpp"

namespace {

struct command {
    const char* name;
    const char* summary;
    int (*run)(const std::vector<std::string>&);
};

const command commands[] = {
    {"train", "train a student on .npy stimuli and labels, optionally taught by brain responses", b2m::cli::run_train},
    {"compare", "brain-taught vs baseline students over several seeds: table and SVG learning curves", b2m::cli::run_compare},
    {"encode", "ridge encoding model (features -> responses) with CV alpha: held-out r per target", b2m::cli::run_encode},
    {"rsa", "compare two representations (or RDMs) of the same stimuli, with a bootstrap CI", b2m::cli::run_rsa},
    {"simulate", "write a simulated subject's stimuli, labels and brain responses as .npy", b2m::cli::run_simulate},
    {"features", "a trained student's activations at one tap for every stimulus (float32 .npy)", b2m::cli::run_features},
    {"predict", "a trained student's outputs (logits, predicted classes) for new stimuli", b2m::cli::run_predict},
    {"score", "every tap of a student vs brain responses: ridge predictivity, RSA, CKA (table, CSV, JSON, SVG)", b2m::cli::run_score},
};

void overview(std::FILE* out) {
    std::fprintf(out, "b2m %s - brain-taught students and brain-likeness from the command line\n\n"
                      "usage: b2m <command> [options]      b2m help <command>      b2m --version (-V)\n\ncommands:\n",
                 b2m::version_string);
    for (const auto& c : commands) std::fprintf(out, "  %-9s %s\n", c.name, c.summary);
}

} // namespace

int main(int argc, char** argv) {
    // OMP_WAIT_POLICY=passive unless the user chose a policy (re-executes once; see
    // b2m/core/thread_env.hpp): spinning OpenMP waiters slow a shared machine 5-11x.
    b2m::apply_thread_env_defaults(argv);
    b2m::cli::job_session job(argc, argv);  // MPI when started by mpirun / srun (see job.hpp)
    if (argc < 2) {
        overview(stderr);
        return 2;
    }
    const std::string name = argv[1];
    if (name == "help" && argc >= 3) {  // b2m help CMD = b2m CMD --help
        for (const auto& c : commands)
            if (argv[2] == std::string(c.name)) return c.run({"--help"});
        std::fprintf(stderr, "b2m: error: no command '%s' to show help for (see 'b2m --help')\n", b2m::cli::one_line(argv[2]).c_str());
        return 2;
    }
    if (name == "-h" || name == "--help" || name == "help") {
        overview(stdout);
        return 0;
    }
    if (name == "--version" || name == "-V" || name == "version") {
        std::printf("b2m %s\n", b2m::version_string);
        return 0;
    }
    const command* cmd = nullptr;
    for (const auto& c : commands)
        if (name == c.name) cmd = &c;
    if (!cmd) {
        std::string list;
        for (const auto& c : commands) list += (list.empty() ? "" : ", ") + std::string(c.name);
        std::fprintf(stderr, "b2m: error: unknown command '%s' (commands: %s; see 'b2m --help')\n",
                     b2m::cli::one_line(name).c_str(), list.c_str());
        return 2;
    }
    const std::vector<std::string> args(argv + 2, argv + argc);
    auto fail = [&](const char* what) {
        std::fflush(stdout);
        std::fprintf(stderr, "b2m %s: error: %s\n", cmd->name, b2m::cli::one_line(what).c_str());
    };
    try {
        // encode (targets) and train (batch rows) share their work over the ranks of an MPI
        // job; the others run on rank 0
        const bool shared = name == "encode" || name == "train";
        return b2m::cli::job_run(cmd->name, shared, cmd->run, args);
    } catch (const b2m::cli::usage_error& e) {
        fail(e.what());
        return 2;
    } catch (const b2m::error& e) {
        fail(e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        fail("out of memory (the data are too large for this machine)");
        return 1;
    } catch (const std::exception& e) {
        fail(e.what());
        return 1;
    } catch (...) {
        fail("unexpected error");
        return 1;
    }
}
