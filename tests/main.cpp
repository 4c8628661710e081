// The doctest main of every b2m test program. One addition to doctest's own main: a run
// whose filters select no test case fails (exit 3) instead of passing, so a ctest entry
// whose name doctest cannot match (a renamed case, a name the filter syntax splits) cannot
// pass without running anything. Queries (--list-test-cases, --count, --help) are unchanged.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

namespace {
bool run_ended = false;           // test_run_end was reported: a real run, not a query
unsigned cases_selected = 0;      // test cases that passed the filters in that run

struct selection_listener : doctest::IReporter {
    explicit selection_listener(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats& s) override {
        run_ended = true;
        cases_selected = s.numTestCasesPassingFilters;
    }
    void test_case_start(const doctest::TestCaseData&) override {}
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("b2m_selection", 1, selection_listener);
} // namespace

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    const int result = context.run();
    if (context.shouldExit()) return result;
    if (run_ended && cases_selected == 0) {
        std::fprintf(stderr, "%s: no test case matches the filters given (%d arguments): nothing was tested\n",
                     argc > 0 ? argv[0] : "test", argc - 1);
        return result != 0 ? result : 3;
    }
    return result;
}
