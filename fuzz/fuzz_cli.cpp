// fuzz/fuzz_cli.cpp - libFuzzer harness for the command-line option parser
// (cli::parse_args and the parsed_args accessors of tools/common.cpp, compiled in).
// The input is split at '\0' bytes into argv entries. Contract: a parsed_args, or
// cli::usage_error; every accessor returns a value inside its stated range or throws
// usage_error. Any other exception, crash or UB is a finding.
// fuzz-sources: tools/common.cpp
// fuzz-flags: -fopenmp
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "../tools/cli.hpp"

namespace {
const b2m::cli::command_spec& spec() {
    static const b2m::cli::command_spec s{
        "fuzz", "harness", "[options] A B", {"A", "B"},
        {{"epochs", "N", ""}, {"lr", "X", ""}, {"seed", "S", ""}, {"preset", "NAME", ""},
         {"sizes", "LIST", ""}, {"out", "DIR", ""}, {"quiet", "", ""}, {"threads-x", "N", ""}},
        "", ""};
    return s;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> args(1);
    for (std::size_t i = 0; i < size; ++i) {
        if (data[i] == 0) args.emplace_back();
        else args.back() += char(data[i]);
    }
    using b2m::cli::usage_error;
    b2m::cli::parsed_args p;
    try {
        p = b2m::cli::parse_args(spec(), args);
    } catch (const usage_error&) {
        return 0;
    }
    if (!p.help && p.positional.size() != 2) std::abort();
    try {
        const std::size_t e = p.count("epochs", 5, 1, 1000);
        if (e < 1 || e > 1000) std::abort();
    } catch (const usage_error&) {
    }
    try {
        const double lr = p.real_number("lr", 0.1, 1e-9, 10.0);
        if (!(lr >= 1e-9 && lr <= 10.0)) std::abort();
    } catch (const usage_error&) {
    }
    try {
        (void)p.seed("seed", 0);
    } catch (const usage_error&) {
    }
    try {
        const auto c = p.choice("preset", "mlp", {"mlp", "mlp-small"});
        if (c != "mlp" && c != "mlp-small") std::abort();
    } catch (const usage_error&) {
    }
    try {
        for (double v : p.number_list("sizes", {1.0}))
            if (!(v > 0) || !std::isfinite(v)) std::abort();
    } catch (const usage_error&) {
    }
    try {
        (void)p.required("out");
    } catch (const usage_error&) {
    }
    (void)p.flag("quiet");
    (void)b2m::cli::help_text(spec());
    return 0;
}
