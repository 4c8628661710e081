// tests/cli_run.hpp - what the CLI tests share: a scratch folder per test case and running
// the b2m program in it with its output captured.
//
// run_b2m needs B2M_CLI_PATH (the b2m binary; tests/CMakeLists.txt defines it for the CLI tests
// when the program is built).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

namespace b2m_test {

/// A fresh folder <tmp>/b2m_cli_<pid>_<name>, removed with everything in it at scope exit.
struct scratch {
    std::filesystem::path dir;
    explicit scratch(const std::string& name)
        : dir(std::filesystem::temp_directory_path() / ("b2m_cli_" + std::to_string(::getpid()) + "_" + name)) {
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
    }
    ~scratch() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    scratch(const scratch&) = delete;
    scratch& operator=(const scratch&) = delete;
    std::string operator/(const std::string& f) const { return (dir / f).string(); }
};

/// The whole file as bytes ("" when it cannot be read).
inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct process_result {
    int code = -1;  ///< exit code; -1 if the process was killed by a signal (a crash)
    std::string out, err;
};

#ifdef B2M_CLI_PATH
/// Runs `b2m args` (args are shell words) in the scratch folder, stdin from /dev/null,
/// stdout and stderr captured through files of the folder (so neither is a terminal).
inline process_result run_b2m(const scratch& s, const std::string& args) {
    const std::string out = s / "stdout.txt", err = s / "stderr.txt";
    const std::string cmd =
        "cd '" + s.dir.string() + "' && '" B2M_CLI_PATH "' " + args + " >'" + out + "' 2>'" + err + "' </dev/null";
    const int st = std::system(cmd.c_str());
    process_result r;
    r.code = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
    r.out = read_text(out);
    r.err = read_text(err);
    return r;
}
#endif

}  // namespace b2m_test
