// tools/arch.hpp - the students `b2m train --arch`, `features`, `predict` and `score` build,
// and how stimuli are laid out for them (issue #13 / #17: one --arch option).
//
//   mlp        dense(F, 128) relu dense(128, 64) relu tap<hidden> dense(64, C)
//   mlp-small  dense(F, 32) relu tap<hidden> dense(32, C)
//   conv       images (C, H, W) with H, W multiples of 4:
//              conv3x3(C->16) bn relu maxpool2 tap<conv1> conv3x3(16->32) bn relu maxpool2
//              tap<conv2> flatten dense(32*H/4*W/4, 64) relu tap<hidden> dense(64, C)
//   gru        sequences (T, F) with per-trial lengths: gru(F, 64) tap<sequence>
//              last_step tap<hidden> dense(64, C)
// Stimuli for conv: (N, H, W, C) with C in {1, 3, 4} (numpy / PIL layout) is transposed to
// NCHW; uint8 pixels are scaled to [0, 1]. (N, C, H, W) is taken as is with --layout nchw.
// Stimuli for gru: (N, T, F); --lengths L.npy gives each trial's valid steps (default T).
// Weights are PyTorch state_dicts (.npz / .safetensors, io/state_dict.hpp): names of the
// equivalent torch.nn.Sequential (taps are not modules).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"

#include "b2m/core/tensor.hpp"

namespace b2m::cli {

enum class arch_kind { mlp, mlp_small, conv, gru, cornet_z };

/// "mlp" | "mlp-small" | "conv" | "gru" | "cornet-z"; usage_error listing them otherwise.
/// cornet-z (models/cornet_z.hpp: V1, V2, V4, IT taps; square images of any side) is read
/// by features / predict / score; `train` trains mlp, mlp-small, conv and gru.
arch_kind parse_arch(const std::string& s);
std::string arch_name(arch_kind a);
bool arch_is_preset(const std::string& s);  ///< mlp or mlp-small (the classic `train` path)

/// Stimuli laid out for an architecture.
struct arch_input {
    matrix<float> x;                    ///< (N, features) in the student's layout
    std::vector<std::int64_t> lengths;  ///< gru: valid steps per trial (empty otherwise)
    std::size_t features = 0;           ///< mlp: columns
    std::size_t channels = 0, height = 0, width = 0;  ///< conv
    std::size_t steps = 0, step_features = 0;         ///< gru
    std::vector<std::size_t> widths;                  ///< cornet-z: channels of V1, V2, V4, IT (default 64, 128, 256, 512)
    std::string note;                   ///< what was done to the file (scaling, layout), or ""
    std::size_t rows() const { return x.shape(0); }
};

/// Reads `path` (role "--stimuli") for arch a; layout "auto" | "nhwc" | "nchw" (conv only);
/// lengths_path (gru only, may be empty). Errors name the file and its shape.
arch_input load_arch_stimuli(arch_kind a, const std::string& path, const std::string& layout,
                             const std::string& lengths_path);

/// A built student behind a non-template interface (each type instantiated in arch.cpp).
class arch_model {
public:
    virtual ~arch_model() = default;
    /// Tap names in order (e.g. conv1, conv2, hidden).
    virtual std::vector<std::string> taps() const = 0;
    /// The layers as text.
    virtual std::string layers() const = 0;
    /// Strict PyTorch-state_dict load (io::load_state_dict); errors name the file.
    virtual void load_weights(const std::string& path) = 0;
    virtual void save_weights(const std::string& path) = 0;
    /// Evaluation-mode activations of `tap` ("output": the logits) for rows [begin, end)
    /// of in, one row per stimulus (sequence taps flattened (T*H)).
    virtual matrix<float> run(const arch_input& in, std::size_t begin, std::size_t end, const std::string& tap) = 0;
};

/// Builds arch a for `in` with `classes` outputs, parameters drawn from seed.
std::unique_ptr<arch_model> make_arch_model(arch_kind a, const arch_input& in, std::size_t classes, std::uint64_t seed);

/// The number of classes a weights file was saved with: rows of the last module's
/// "weight" (PyTorch Linear (out, in)). input_error naming the file when it has none.
std::size_t classes_in_weights(const std::string& path);

/// Activations of `tap` for all rows in batches of `batch`, with a progress line on stderr
/// when progress is 2 (--progress), or 1 (default) and stderr is a terminal; 0: none.
matrix<float> batched_run(arch_model& m, const arch_input& in, const std::string& tap, std::size_t batch, int progress);

/// The options features / predict / score share: --arch --weights --stimuli --classes
/// --layout --lengths --seed --batch --quiet --progress.
std::vector<option_spec> model_options();
/// A student built from those options, its weights loaded (random from --seed without
/// --weights, with a note on stderr), and the stimuli laid out for it.
struct opened_model {
    arch_kind arch = arch_kind::mlp;
    arch_input in;
    std::unique_ptr<arch_model> model;
    std::size_t classes = 0;
    std::string weights, stimuli;
    int progress = 1;
    std::size_t batch = 256;
};
opened_model open_model(const parsed_args& a);

// ---- commands (cmd_features.cpp, cmd_predict.cpp, cmd_score.cpp) ----------------------
int run_features(const std::vector<std::string>& args);
int run_predict(const std::vector<std::string>& args);
int run_score(const std::vector<std::string>& args);
/// `b2m train --arch conv|gru` (train_arch.cpp); run_train dispatches here.
int run_train_arch(const std::vector<std::string>& args);
/// The value of --arch NAME / --arch=NAME in args, or "".
std::string arch_argument(const std::vector<std::string>& args);

/// Throws input_error naming `role` and path unless path's folder exists and is a folder
/// (checked before any work starts).
void require_output_parent(const std::string& path, const std::string& role);

} // namespace b2m::cli
