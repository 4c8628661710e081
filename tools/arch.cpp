// tools/arch.cpp - the --arch students for features / predict / score (forward only), and
// how stimuli files are laid out for them. See arch.hpp.
#include "arch.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <span>
#include <unistd.h>

#include "arch_students.hpp"

#include <xtensor/xview.hpp>

#include "b2m/brain/npy.hpp"
#include "b2m/io/state_dict.hpp"
#include "b2m/nn/freeze.hpp"

namespace b2m::cli {

arch_kind parse_arch(const std::string& s) {
    if (s == "mlp") return arch_kind::mlp;
    if (s == "mlp-small") return arch_kind::mlp_small;
    if (s == "conv") return arch_kind::conv;
    if (s == "gru") return arch_kind::gru;
    if (s == "cornet-z") return arch_kind::cornet_z;
    throw usage_error("option --arch: '" + s + "' is not one of mlp, mlp-small, conv, gru, cornet-z");
}
std::string arch_name(arch_kind a) {
    switch (a) {
    case arch_kind::mlp: return "mlp";
    case arch_kind::mlp_small: return "mlp-small";
    case arch_kind::conv: return "conv";
    case arch_kind::cornet_z: return "cornet-z";
    default: return "gru";
    }
}
bool arch_is_preset(const std::string& s) { return s == "mlp" || s == "mlp-small"; }

std::string arch_argument(const std::vector<std::string>& args) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--") break;
        if (args[i] == "--arch" && i + 1 < args.size()) return args[i + 1];
        if (args[i].rfind("--arch=", 0) == 0) return args[i].substr(7);
    }
    return "";
}

namespace {

/// The .npy header (brain/npy.hpp; read_npy_header moved out of brain::detail in #17).
brain::npy_header npy_header_of(const std::string& path) {
    using namespace brain;
    using namespace brain::detail;
    return read_npy_header(path);
}

std::string shape_text(const std::vector<std::size_t>& s) {
    std::string out = "(";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + (s.size() == 1 ? ",)" : ")");
}

} // namespace

arch_input load_arch_stimuli(arch_kind a, const std::string& path, const std::string& layout, const std::string& lengths_path) {
    if (layout != "auto" && layout != "nhwc" && layout != "nchw")
        throw usage_error("option --layout: '" + layout + "' is not one of auto, nhwc, nchw");
    arch_input in;
    std::vector<std::size_t> shape;
    std::string descr;
    try {
        const auto h = npy_header_of(path);
        shape = h.shape;
        descr = h.descr;
    } catch (const b2m::error& e) {
        throw input_error("--stimuli " + path + ": " + e.what());
    }
    const matrix<double> flat = load_matrix(path, "--stimuli", false);
    const std::size_t n = flat.shape(0);
    const bool is_u8 = descr == "|u1" || descr == "<u1" || descr == "u1";
    if (a == arch_kind::mlp || a == arch_kind::mlp_small) {
        in.x = to_float(flat, "--stimuli", path);
        in.features = in.x.shape(1);
        if (is_u8) {
            in.x /= 255.0f;
            in.note = "uint8 values scaled to [0, 1]";
        }
        return in;
    }
    if (a == arch_kind::conv || a == arch_kind::cornet_z) {
        if (shape.size() != 4)
            throw input_error("--stimuli " + path + ": --arch " + arch_name(a) + " needs images (N, H, W, C) or (N, C, H, W), the file has shape " +
                              shape_text(shape));
        const bool small_last = shape[3] == 1 || shape[3] == 3 || shape[3] == 4;
        const bool nhwc = layout == "nhwc" || (layout == "auto" && small_last);
        in.channels = nhwc ? shape[3] : shape[1];
        in.height = nhwc ? shape[1] : shape[2];
        in.width = nhwc ? shape[2] : shape[3];
        if (a == arch_kind::cornet_z && (in.height != in.width || in.height < 8))
            throw input_error("--stimuli " + path + ": --arch cornet-z needs square images of side >= 8; the file has shape " +
                              shape_text(shape) + (nhwc ? " read as NHWC" : " read as NCHW"));
        if (a == arch_kind::conv && (in.height < 4 || in.width < 4 || in.height % 4 || in.width % 4))
            throw input_error("--stimuli " + path + ": --arch conv needs image height and width that are multiples of 4 (two 2x2 "
                              "poolings); the file has shape " + shape_text(shape) + (nhwc ? " read as NHWC" : " read as NCHW"));
        const std::size_t C = in.channels, H = in.height, W = in.width, P = H * W;
        in.x = matrix<float>::from_shape({n, C * P});
        const float scale = is_u8 ? 1.0f / 255.0f : 1.0f;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t c = 0; c < C; ++c)
                for (std::size_t p = 0; p < P; ++p)
                    in.x(i, c * P + p) = float(nhwc ? flat(i, p * C + c) : flat(i, c * P + p)) * scale;
        in.note = std::string(nhwc ? "images (N, H, W, C) laid out as (N, C, H, W)" : "images read as (N, C, H, W)") +
                  (is_u8 ? ", uint8 pixels scaled to [0, 1]" : "");
        if (!is_u8) {
            double mx = 0;
            for (double v : flat) mx = std::max(mx, std::abs(v));
            if (mx > 20)
                std::fprintf(stderr, "b2m: warning: --stimuli %s: values up to %g look unscaled (pixels 0..255 stored as float?); "
                                     "scale them to [0, 1] or store them as uint8\n", path.c_str(), mx);
        }
        return in;
    }
    // gru
    if (shape.size() != 3)
        throw input_error("--stimuli " + path + ": --arch gru needs sequences (N, T, F), the file has shape " + shape_text(shape));
    in.steps = shape[1];
    in.step_features = shape[2];
    in.x = to_float(flat, "--stimuli", path);
    if (is_u8) in.x /= 255.0f;
    in.lengths.assign(n, std::int64_t(in.steps));
    if (!lengths_path.empty()) {
        const matrix<double> l = load_matrix(lengths_path, "--lengths", true);
        if (l.shape(1) != 1 || l.shape(0) != n)
            throw input_error("--lengths " + lengths_path + ": needs one length per trial, shape (" + std::to_string(n) +
                              ",), the file has shape " + shape_string(l.shape()));
        for (std::size_t i = 0; i < n; ++i) {
            const double v = l(i, 0);
            if (!(v >= 1 && v <= double(in.steps)) || v != std::floor(v))
                throw input_error("--lengths " + lengths_path + ": length at index " + std::to_string(i) + " is " +
                                  json_object::number(v) + " (must be a whole number in 1.." + std::to_string(in.steps) + ")");
            in.lengths[i] = std::int64_t(v);
        }
        in.note = "sequences with per-trial lengths from " + lengths_path;
    }
    return in;
}

namespace {

template <class L>
const matrix<float>* tap_value_of(L& l) {
    if constexpr (requires { l.value(); l.grad(); }) return &l.value();
    else return nullptr;
}

template <class Student>
class model_impl final : public arch_model {
public:
    model_impl(Student s, std::string layers) : s_(std::move(s)), layers_(std::move(layers)) {}
    std::vector<std::string> taps() const override {
        std::vector<std::string> out;
        for (const auto& n : nn::tap_names(s_))
            if (!n.empty()) out.push_back(n);
        return out;
    }
    std::string layers() const override { return layers_; }
    void load_weights(const std::string& path) override {
        try {
            io::load_state_dict(s_, path);
        } catch (const b2m::error& e) {
            // CORnet-Z: also the official repository's names (V1.conv.weight, ...), with or
            // without DataParallel's "module." prefix.
            if constexpr (requires { models::cornet_z_torch_names(); }) {
                if (layers_.rfind("CORnet-Z", 0) == 0) {
                    for (const char* prefix : {"", "module."}) {
                        try {
                            io::load_state_dict(s_, path, {.prefix = prefix, .names = models::cornet_z_torch_names()});
                            return;
                        } catch (const b2m::error&) {
                        }
                    }
                }
            }
            throw input_error("--weights " + path + ": " + e.what());
        }
    }
    void save_weights(const std::string& path) override { io::save_state_dict(s_, path); }
    matrix<float> run(const arch_input& in, std::size_t b, std::size_t e, const std::string& tap) override {
        const matrix<float> x = xt::view(in.x, xt::range(b, e), xt::all());
        set_student_lengths(s_, in, b, e);
        const matrix<float>& y = s_.forward(x, nn::step_context{.training = false, .noise = nullptr});
        if (tap == "output") return y;
        const auto names = nn::tap_names(s_);
        const matrix<float>* v = nullptr;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((names[I] == tap ? void(v = tap_value_of(s_.template layer<I>())) : void()), ...);
        }(std::make_index_sequence<Student::size>{});
        if (!v) {
            std::string list;
            for (const auto& t : taps()) list += t + ", ";
            throw usage_error("option --tap: this student has no tap '" + tap + "' (its taps: " + list + "output)");
        }
        return *v;
    }

private:
    Student s_;
    std::string layers_;
};

} // namespace

std::unique_ptr<arch_model> make_arch_model(arch_kind a, const arch_input& in, std::size_t classes, std::uint64_t seed) {
    const std::string layers = arch_layers(a, in, classes);
    return with_arch_student(a, in, classes, [&](auto s) -> std::unique_ptr<arch_model> {
        s.init(rng(seed));
        return std::make_unique<model_impl<decltype(s)>>(std::move(s), layers);
    });
}

std::size_t classes_in_weights(const std::string& path) {
    std::vector<io::array> arrays;
    try {
        arrays = io::read_weights(path);
    } catch (const b2m::error& e) {
        throw input_error("--weights " + path + ": " + e.what());
    }
    long best = -1;
    std::size_t classes = 0;
    for (const auto& t : arrays) {
        const auto dot = t.name.find('.');
        if (dot == std::string::npos || t.name.substr(dot) != ".weight" || t.shape.size() != 2) continue;
        const std::string idx = t.name.substr(0, dot);
        if (idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos) continue;
        const long k = std::stol(idx);
        if (k > best) best = k, classes = t.shape[0];
    }
    if (best < 0)  // names not of the nn::sequential kind: the last matrix named *.weight
        for (const auto& t : arrays)
            if (t.shape.size() == 2 && t.name.size() > 7 && t.name.compare(t.name.size() - 7, 7, ".weight") == 0) best = 0, classes = t.shape[0];
    if (best < 0 || classes == 0)
        throw input_error("--weights " + path + ": no '<index>.weight' matrix to take the number of classes from (give --classes)");
    return classes;
}

matrix<float> batched_run(arch_model& m, const arch_input& in, const std::string& tap, std::size_t batch, int progress) {
    const std::size_t n = in.rows();
    matrix<float> out;
    const bool show = progress == 2 || (progress == 1 && isatty(fileno(stderr)));
    for (std::size_t b = 0; b < n; b += batch) {
        const std::size_t e = std::min(n, b + batch);
        const matrix<float> y = m.run(in, b, e, tap);
        if (b == 0) out = matrix<float>::from_shape({n, y.shape(1)});
        xt::view(out, xt::range(b, e), xt::all()) = y;
        if (show) std::fprintf(stderr, "\r  %s: %zu / %zu stimuli", tap.c_str(), e, n);
    }
    if (show) std::fprintf(stderr, "\n");
    return out;
}

std::vector<option_spec> model_options() {
    return {{"arch", "NAME", "student: mlp | mlp-small | conv | gru (required)"},
            {"weights", "W.npz", "the student's weights, a PyTorch state_dict (.npz / .safetensors) as `b2m train` writes "
                                 "(student.npz); without it: random initialisation from --seed"},
            {"stimuli", "X.npy", "stimuli, one row per trial: (N, F) for mlp, images (N, H, W, C) or (N, C, H, W) for conv "
                                 "(uint8 scaled to [0, 1]), sequences (N, T, F) for gru (required)"},
            {"classes", "C", "outputs of the student (default: read from --weights)"},
            {"layout", "L", "conv images: auto | nhwc | nchw (default auto: NHWC when the last axis is 1, 3 or 4)"},
            {"lengths", "L.npy", "gru: valid steps per trial, (N,) (default: all T)"},
            {"widths", "A,B,C,D", "cornet-z: channels of V1, V2, V4, IT (default 64,128,256,512)"},
            seed_option("seed of the random initialisation without --weights"),
            {"batch", "N", "stimuli per forward pass (default 256)"},
            {"quiet", "", "no progress output"},
            {"progress", "", "progress on stderr even when it is not a terminal"},
            threads_option};
}

opened_model open_model(const parsed_args& a) {
    opened_model m;
    m.arch = parse_arch(a.required("arch"));
    m.stimuli = a.required("stimuli");
    m.weights = a.text("weights", "");
    m.batch = a.count("batch", 256, 1, 1000000);
    m.progress = a.flag("quiet") ? 0 : a.flag("progress") ? 2 : 1;
    const std::uint64_t seed = a.seed("seed", defaults::seed);
    if (a.has("lengths") && m.arch != arch_kind::gru) throw usage_error("--lengths is for --arch gru");
    std::size_t classes = a.count("classes", 0, 0, 100000);
    if (classes == 0) {
        if (m.weights.empty()) throw usage_error("--classes C is needed without --weights");
        classes = classes_in_weights(m.weights);
    }
    m.classes = classes;
    m.in = load_arch_stimuli(m.arch, m.stimuli, a.text("layout", "auto"), a.text("lengths", ""));
    if (a.has("widths")) {
        if (m.arch != arch_kind::cornet_z) throw usage_error("--widths is for --arch cornet-z");
        for (double w : a.number_list("widths", {}))
            if (w != std::floor(w) || w < 1 || w > 65536) throw usage_error("option --widths: '" + json_object::number(w) + "' is not a channel count");
            else m.in.widths.push_back(std::size_t(w));
        if (m.in.widths.size() != 4) throw usage_error("option --widths needs 4 channel counts (V1, V2, V4, IT)");
    }
    if (!m.in.note.empty() && m.progress) std::fprintf(stderr, "b2m: --stimuli %s: %s\n", m.stimuli.c_str(), m.in.note.c_str());
    m.model = make_arch_model(m.arch, m.in, classes, seed);
    if (!m.weights.empty()) m.model->load_weights(m.weights);
    else if (m.progress) std::fprintf(stderr, "b2m: note: no --weights: random initialisation from seed %llu\n", (unsigned long long)seed);
    return m;
}

void require_output_parent(const std::string& path, const std::string& role) {
    namespace fs = std::filesystem;
    const fs::path p(path);
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw input_error(role + " " + path + ": the folder '" + dir.string() + "' does not exist (create it first)");
    if (::access(dir.c_str(), W_OK) != 0)
        throw input_error(role + " " + path + ": the folder '" + dir.string() + "' is not writable");
}

} // namespace b2m::cli
