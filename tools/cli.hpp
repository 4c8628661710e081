// tools/cli.hpp - what the b2m subcommands share: option parsing with --help text
// (parse_command), the defaults and the option specs several commands use, .npy loading
// that names the file in every error, a seeded train/held-out split, and a small JSON
// writer. Definitions in common.cpp (compiled once).
//
// Errors: a usage mistake throws cli::usage_error (exit code 2); a bad input file throws
// cli::input_error (a b2m::error) whose what() starts with the file's role and path, e.g.
//   "--labels y.npy: label at index 3 is -1 (labels must be class indices 0..C-1)".
// main() prints exactly one line "b2m <command>: error: <what>" on stderr.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "b2m/core/error.hpp"
#include "b2m/core/tensor.hpp"
#include "b2m/io/array_file.hpp"
#include "b2m/train/batch.hpp"

namespace b2m::cli {

/// A mistake in the command line (unknown option, missing value, bad number).
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A file that cannot be used; what() names the file.
struct input_error : b2m::error {
    using b2m::error::error;
};

// ---- options ---------------------------------------------------------------------------

struct option_spec {
    std::string name;        ///< without the leading "--"
    std::string value_name;  ///< e.g. "N"; empty: a flag without a value
    std::string help;
};

struct command_spec {
    std::string name;                     ///< e.g. "train"
    std::string summary;                  ///< one line
    std::string usage;                    ///< after "b2m <name> "
    std::vector<std::string> positionals; ///< names of the required positional arguments
    std::vector<option_spec> options;
    std::string details;                  ///< paragraphs after the options
    std::string example;                  ///< one or more command lines
};

/// A parsed command line. Accessors throw usage_error naming the option on bad values.
class parsed_args {
public:
    std::vector<std::string> positional;
    std::map<std::string, std::string> values;
    std::set<std::string> flags;
    bool help = false;

    bool has(const std::string& name) const { return values.count(name) || flags.count(name); }
    bool flag(const std::string& name) const { return flags.count(name) > 0; }
    std::string text(const std::string& name, const std::string& fallback) const;
    /// The value of a required option (usage_error "--name is required" if absent).
    std::string required(const std::string& name) const;
    double real_number(const std::string& name, double fallback, double lo, double hi) const;
    std::size_t count(const std::string& name, std::size_t fallback, std::size_t lo, std::size_t hi) const;
    std::uint64_t seed(const std::string& name, std::uint64_t fallback) const;
    /// One of `choices` (usage_error listing them otherwise).
    std::string choice(const std::string& name, const std::string& fallback, const std::vector<std::string>& choices) const;
    /// A comma-separated list of positive numbers.
    std::vector<double> number_list(const std::string& name, const std::vector<double>& fallback) const;
};

/// Parses args (argv after the command name) against spec. "--name value", "--name=value"
/// and flags; "-h"/"--help" sets help. Requires exactly spec.positionals.size() positional
/// arguments unless help. Throws usage_error for anything else.
parsed_args parse_args(const command_spec& spec, const std::vector<std::string>& args);

/// Applies --threads N (BLAS and OpenMP threads) when given.
void apply_threads(const parsed_args& a);
inline const option_spec threads_option{"threads", "N",
                                        "threads for BLAS and OpenMP (default: all cores; small data often run faster with 1)"};

/// The --help text of a command: usage, summary, options, details, example.
std::string help_text(const command_spec& spec);

/// What every command does first: parse_args(spec, args); with -h/--help, print
/// help_text(spec) on stdout and return nothing (the command then exits 0); otherwise apply
/// --threads (when the command has it) and return the arguments. Throws usage_error as
/// parse_args does. Use: `const auto a = parse_command(spec, args); if (!a) return 0;`.
std::optional<parsed_args> parse_command(const command_spec& spec, const std::vector<std::string>& args);

// ---- defaults --------------------------------------------------------------------------

/// The CLI's defaults, each written once: the commands read their options with these and
/// their help texts print them (default_text), so a default and its help cannot drift apart.
namespace defaults {
inline constexpr std::uint64_t seed = 0;           ///< --seed, --split-seed
inline constexpr double weight = 1.0;              ///< --weight of the brain term (train, compare)
inline constexpr std::size_t epochs = 30;          ///< --epochs (train, compare)
inline constexpr std::size_t batch = 32;           ///< --batch, the training mini-batch
inline constexpr double lr = 5e-3;                 ///< --lr, Adam's learning rate
inline constexpr double tau = 1.0;                 ///< --tau, the contrastive temperature
inline constexpr double val_fraction = 0.2;        ///< --val-fraction held out
inline constexpr const char* preset = "mlp-small"; ///< --preset
inline constexpr std::size_t seeds = 5;           ///< --seeds per condition of compare
inline constexpr double target = 0.8;              ///< --target accuracy of compare
inline constexpr std::size_t folds = 5;            ///< --folds of the encoding models' CV
inline constexpr std::size_t bootstrap = 1000;     ///< --bootstrap draws of rsa
inline constexpr double level = 0.95;              ///< confidence level of rsa's intervals
/// --alphas: the ridge penalties to choose from (encode, score).
inline const std::vector<double> alphas{1e-2, 1e-1, 1, 10, 100, 1e3, 1e4, 1e5, 1e6};
} // namespace defaults

/// --seed S: "<what> (default 0)", e.g. seed_option("seed of the bootstrap").
option_spec seed_option(const std::string& what);
/// The options of a training run, their defaults in the help: --weight, --tau, --epochs,
/// --batch, --lr (train, train --arch, compare).
std::vector<option_spec> training_options();
/// The values of training_options(), each checked against its range (usage_error naming
/// the option): weight in [0, 1e6], tau in [1e-4, 1e4], lr in [1e-9, 10], epochs in
/// [1, 1e6], batch in [min_batch, 1e6].
struct training_values {
    double weight = 0, tau = 0, lr = 0;
    std::size_t epochs = 0, batch = 0;
};
training_values read_training_options(const parsed_args& a, std::size_t min_batch = 1);
/// The held-out options: --val-fraction (allow_none: 0 holds out nothing), --held-out,
/// --split-seed (train, train --arch, compare).
std::vector<option_spec> held_out_options(bool allow_none);
/// The option lists one after the other (a command's own options around shared ones).
std::vector<option_spec> options_of(std::initializer_list<std::vector<option_spec>> parts);

/// A default as the help texts print it: whole numbers plainly, powers of ten >= 1000 as
/// 1eK, others shortest ("0.005"); a list comma-separated ("0.01,0.1,1,10,100,1e3,...").
std::string default_text(double v);
std::string default_text(const std::vector<double>& v);

// ---- files -----------------------------------------------------------------------------

/// Loads a numeric .npy as (rows, columns): rank 2 as is, higher ranks flattened after the
/// first axis, rank 1 as one column when allow_vector. Requires a non-empty, finite array.
/// `role` (e.g. "--stimuli") prefixes every error together with the path.
/// Any format read_array takes; dtype (if given) receives the file's dtype (e.g. "|u1").
matrix<double> load_matrix(const std::string& path, const std::string& role, bool allow_vector,
                           std::string* dtype = nullptr);

/// One array from `spec`: "x.npy" (any byte order, float16, strings), "a.npz:member",
/// "m.mat:variable" (v5 / v7.3, when built with matio), "t.csv" / "t.tsv" (numbers, one
/// optional header line). Errors are input_error "<role> <file>[:<name>]: <problem>".
io::array_data read_array(const std::string& spec, const std::string& role);

/// Loads class labels: shape (n,) or (n, 1), whole numbers >= 0. classes = 0: infer
/// max + 1 (must be >= 2 and <= 100000); else every label must be < classes.
/// Returns the labels and sets classes to the number of classes.
/// String labels (numpy '<U', MATLAB cellstr) are mapped to 0..K-1 in sorted order; names
/// (if given) receives the strings by class index (empty for numeric labels).
index_vector load_labels(const std::string& path, const std::string& role, std::size_t& classes,
                         std::vector<std::string>* names = nullptr);

/// Throws input_error unless both files hold the same number of trials (rows).
void require_same_trials(const std::string& role_a, const std::string& path_a, std::size_t rows_a,
                         const std::string& role_b, const std::string& path_b, std::size_t rows_b);

/// Creates the folder (and parents); input_error naming it on failure.
void make_output_dir(const std::string& dir);

/// Writes text to path atomically (temp file + rename); io_error naming path.
void write_text_atomically(const std::string& path, const std::string& text);

/// One line: newlines and tabs of s replaced by spaces, trailing spaces trimmed.
std::string one_line(std::string s);

/// The items of a comma-separated list, empty items dropped ("a,,b" -> a, b).
std::vector<std::string> comma_list(const std::string& s);

/// The command as typed, for the reports: "b2m <command> <args...>" (args space-separated).
std::string command_line(const std::string& command, const std::vector<std::string>& args);

// ---- data ------------------------------------------------------------------------------

/// A seeded split of n trials into training and held-out rows (held-out: round(fraction * n),
/// at least 1 when fraction > 0). Requires 0 <= fraction < 1 and >= 2 training rows
/// (usage_error otherwise). Both lists are sorted.
struct split {
    std::vector<std::size_t> train, held_out;
};
/// held_out_count > 0 holds out exactly that many trials instead (fraction ignored).
split split_trials(std::size_t n, double fraction, std::uint64_t seed, const std::string& what,
                   std::size_t held_out_count = 0);

/// Rows idx of every non-empty field of b.
train::batch<float> take_rows(const train::batch<float>& b, const std::vector<std::size_t>& idx);

/// Stimuli, labels and (optionally) brain responses of the same trials, from the options
/// --stimuli, --labels, --brain and --classes; every file checked (input_error naming it).
struct labelled_data {
    train::batch<float> all;   ///< x, labels, brain (empty without --brain)
    std::size_t features = 0, classes = 0;
    std::string stimuli_path, labels_path, brain_path;
    std::string stimuli_dtype;              ///< the stimuli file's dtype (e.g. "|u1")
    std::vector<std::string> label_names;   ///< class index -> string label (string labels only)
};
labelled_data load_labelled(const parsed_args& a, bool brain_required);

/// Casts to float; input_error naming the file if a value overflows float.
matrix<float> to_float(const matrix<double>& m, const std::string& role, const std::string& path);

// ---- output ----------------------------------------------------------------------------

/// A JSON object built key by key (keys in insertion order). NaN/Inf become null. Rendered
/// by nlohmann-json: every double is written so that it reads back bit for bit.
class json_object {
public:
    json_object& add(const std::string& key, double v);
    json_object& add(const std::string& key, std::int64_t v);
    json_object& add(const std::string& key, std::size_t v) {  // unsigned: 2^64-1 stays 18446744073709551615
        items_.push_back({key, std::to_string(v), {}});
        return *this;
    }
    json_object& add(const std::string& key, int v) { return add(key, std::int64_t(v)); }
    json_object& add(const std::string& key, bool v);
    json_object& add(const std::string& key, const std::string& v);
    json_object& add(const std::string& key, const char* v) { return add(key, std::string(v)); }
    json_object& add(const std::string& key, const std::vector<double>& v);
    json_object& add(const std::string& key, const std::vector<std::string>& v);
    json_object& add(const std::string& key, const json_object& v);
    std::string str(int indent = 0) const;  ///< indent: ignored (always 2 spaces per level)
    nlohmann::ordered_json value() const;   ///< the object as an nlohmann value

    static std::string quote(const std::string& s);
    static std::string number(double v);

private:
    struct item {
        std::string key, scalar;             // scalar: the rendered value, unless nested
        std::vector<json_object> nested;     // one element for a nested object
    };
    std::vector<item> items_;
};

// ---- commands --------------------------------------------------------------------------

int run_train(const std::vector<std::string>& args);
int run_encode(const std::vector<std::string>& args);
int run_rsa(const std::vector<std::string>& args);
/// `b2m rsa --data STACK --models ...` (tools/cmd_rsa_stack.cpp); run_rsa dispatches to it.
int run_rsa_stack(const std::vector<std::string>& args);
int run_compare(const std::vector<std::string>& args);
int run_simulate(const std::vector<std::string>& args);

} // namespace b2m::cli
