// tools/data_options.hpp - what `b2m train` and `b2m compare` share beyond cli.hpp (whose
// defaults and training options they both use): the held-out split (random, by stimulus or
// group, or given), the split written out, checks of the output folder before any work, and
// unscaled-input warnings.
// Definitions in data_options.cpp.
//
// Splits (one of):
//   default             seeded random trials: --val-fraction F (or --held-out N), --split-seed S
//   --stimulus-ids I    as above, but whole stimuli go to one side: trials sharing an id in
//                       I (one per trial; numbers or strings) are never separated; the ids
//                       also make trials of one stimulus contrastive positives (batch.stimulus)
//   --groups G          the same grouping without the contrastive meaning (e.g. session, run)
//   --split S           the split given: one value per trial, 1 = held out, 0 = training
//   --test-rows R       the held-out rows given: 0-based row indices
// With --split/--test-rows and --stimulus-ids/--groups, a stimulus (group) found on both
// sides is an error naming it. The split used is always written to DIR/split.npy (int8,
// one value per trial in input order, 1 = held out), so a result can be reproduced
// elsewhere (e.g. sklearn: test = np.load("split.npy") == 1).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cli.hpp"

namespace b2m::cli {

/// The split options (add to a command_spec's options).
std::vector<option_spec> split_options();

/// The split chosen from the options for n trials, and what it was made from.
struct split_choice {
    split rows;
    std::string method;                ///< e.g. "random by stimulus (--stimulus-ids ids.npy)"
    std::string stimulus_path, groups_path, split_path, test_rows_path;
    index_vector stimulus;             ///< stimulus index per trial (empty without --stimulus-ids)
    std::size_t stimuli = 0;           ///< distinct stimulus ids (or groups)
    double val_fraction = 0;
    std::uint64_t split_seed = 0;
};

/// Reads the split options. allow_empty: --val-fraction 0 (no held-out trials) is allowed.
/// Throws usage_error for conflicting options, input_error naming a bad file.
split_choice choose_split(const parsed_args& a, std::size_t n, bool allow_empty);

/// Writes DIR/split.npy (int8 (n,), 1 = held out) atomically; returns its path.
std::string write_split(const std::string& dir, const split_choice& c, std::size_t n);

/// The split as a JSON object for report.json.
json_object split_json(const split_choice& c, const std::string& file);

/// Creates the output folder and checks that a file can be written in it, before any work
/// (input_error naming the folder otherwise).
void prepare_output_dir(const std::string& dir);

/// Stimuli that are clearly unscaled: an integer dtype of 8 bits (pixels 0..255) is
/// divided by 255 (returns a note); values whose largest magnitude is >= 100 get a warning
/// naming the file. Returns the message for stderr ("" when nothing to say).
std::string check_scale(matrix<float>& x, const std::string& dtype, const std::string& path, bool no_scale);

/// Whether to draw the progress output (on stderr): --progress forces it, --quiet stops
/// it, else only when stderr is a terminal.
bool progress_wanted(const parsed_args& a);

/// Writes label_names.json (index -> original string label) when labels were strings;
/// returns its path or "".
std::string write_label_names(const std::string& dir, const std::vector<std::string>& names);

} // namespace b2m::cli
