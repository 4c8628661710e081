// b2m/core/thread_env.hpp: apply_thread_env_defaults re-executes the program once with
// OMP_WAIT_POLICY=passive when the user set no wait policy, and leaves the user's choice
// alone. Checked in forked children that re-execute this test binary, restricted to the
// skipped "stage" case below, which reports the environment it was started with.
#include <doctest/doctest.h>

#include <b2m/core/parallel.hpp>
#include <b2m/core/thread_env.hpp>

#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__linux__)
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace {
#if defined(__linux__)
/// Forks; the child sets up the environment (policy == nullptr: unset), calls
/// apply_thread_env_defaults with an argv that reruns this binary on the stage case only, and
/// exits with 42 when the call returned. Returns the child's exit status (-1: abnormal end).
int run_child(const char* policy, const char* expect) {
    const pid_t pid = fork();
    if (pid == 0) {
        unsetenv("B2M_THREAD_ENV");
        unsetenv("GOMP_SPINCOUNT");
        if (policy) setenv("OMP_WAIT_POLICY", policy, 1);
        else unsetenv("OMP_WAIT_POLICY");
        setenv("B2M_TEST_THREAD_ENV_EXPECT", expect, 1);
        static char a0[] = "test_thread_env", a1[] = "--test-case=thread_env stage*", a2[] = "--no-skip",
                    a3[] = "--no-version";
        char* argv[] = {a0, a1, a2, a3, nullptr};
        b2m::apply_thread_env_defaults(argv);
        _exit(42);  // not re-executed
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}
#endif
} // namespace

TEST_CASE("thread_env stage: the environment of a re-executed run" * doctest::skip()) {
    // Run only by run_child (--no-skip): the re-executed image must see passive waiting and
    // the once-only marker.
    const char* expect = std::getenv("B2M_TEST_THREAD_ENV_EXPECT");
    REQUIRE(expect != nullptr);
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    CHECK(std::string(policy ? policy : "(unset)") == expect);
    const char* marker = std::getenv("B2M_THREAD_ENV");
    CHECK(std::string(marker ? marker : "(unset)") == "1");
}

TEST_CASE("apply_thread_env_defaults re-executes once with passive waiting unless a policy is set") {
#if defined(__linux__)
    // No policy: the program is re-executed (the stage case passes: exit 0), not returned to (42).
    CHECK(run_child(nullptr, "passive") == 0);
    // The user's policy wins: no re-execution (42); a re-executed stage would report
    // "active" against the expected "passive" and exit 1.
    CHECK(run_child("active", "passive") == 42);
    // The marker prevents a second re-execution.
    setenv("B2M_THREAD_ENV", "1", 1);
    const char* saved = std::getenv("OMP_WAIT_POLICY");
    const std::string keep = saved ? saved : "";
    unsetenv("OMP_WAIT_POLICY");
    char a0[] = "unused";
    char* argv[] = {a0, nullptr};
    b2m::apply_thread_env_defaults(argv);  // returns: B2M_THREAD_ENV is set
    CHECK(std::getenv("OMP_WAIT_POLICY") == nullptr);
    unsetenv("B2M_THREAD_ENV");
    if (saved) setenv("OMP_WAIT_POLICY", keep.c_str(), 1);
#else
    MESSAGE("not Linux: apply_thread_env_defaults does nothing");
#endif
}

TEST_CASE("set_num_threads turns off dynamic team sizes which the OpenMP OpenBLAS cannot run under") {
#if B2M_HAS_OPENMP
    const int before = b2m::num_threads();
    omp_set_dynamic(1);
    b2m::set_num_threads(2);
    CHECK(omp_get_dynamic() == 0);
    CHECK(b2m::num_threads() == 2);
    b2m::set_num_threads(before);
#else
    MESSAGE("built without OpenMP: nothing to check");
#endif
}
