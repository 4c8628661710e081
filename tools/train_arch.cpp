// tools/train_arch.cpp - `b2m train --arch conv|gru`: the image and sequence students of
// tools/arch.hpp, trained like the MLP presets (cross-entropy, optionally a brain term on
// the tap "hidden"), with fine-tuning controls: --init weights, --freeze layers,
// --backbone layers at a smaller learning rate, --bn-eval. Writes DIR/params (checkpoint),
// DIR/student.npz (PyTorch state_dict), DIR/log.csv, DIR/report.json.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <span>

#include "arch.hpp"
#include "arch_students.hpp"
#include "cli.hpp"
#include "students.hpp"

#include "b2m/config.hpp"
#include "b2m/core/parallel.hpp"
#include "b2m/io/state_dict.hpp"
#include "b2m/loss/contrastive.hpp"
#include "b2m/loss/cross_entropy.hpp"
#include "b2m/loss/latent.hpp"
#include "b2m/nn/freeze.hpp"
#include "b2m/optim/optimizer.hpp"
#include "b2m/train/trainer.hpp"

namespace b2m::cli {

namespace {

const command_spec& train_arch_spec() {
    static const command_spec spec{
        "train",
        "Train a conv (images) or GRU (sequences) student on labels, optionally taught by brain responses.",
        "--arch conv|gru --stimuli X.npy --labels y.npy [--brain B.npy] [options] --out DIR",
        {},
        options_of({
            {{"arch", "NAME", "conv (images (N, H, W, C) or (N, C, H, W)) | gru (sequences (N, T, F)) | cornet-z (square images; "
                               "labels only) (required here)"},
             {"widths", "A,B,C,D", "cornet-z: channels of V1, V2, V4, IT (default 64,128,256,512)"},
             {"stimuli", "X.npy", "images or sequences, one per trial (required); uint8 pixels are scaled to [0, 1]"},
             {"labels", "y.npy", "class index per trial (required)"},
             {"brain", "B.npy", "brain response per trial, (trials, targets)"},
             {"classes", "C", "number of classes (default: largest label + 1)"},
             {"layout", "L", "conv: auto | nhwc | nchw (default auto: NHWC when the last axis is 1, 3 or 4)"},
             {"lengths", "L.npy", "gru: valid steps per trial (default: all)"},
             {"objective", "NAME", "brain objective on the tap 'hidden': none | contrastive | mse (default contrastive with --brain)"}},
            training_options(),
            {seed_option("seed of initialisation and data order")},
            held_out_options(true),
            {{"init", "W.npz", "start from these weights (PyTorch state_dict .npz / .safetensors, strict)"},
             {"freeze", "LAYERS", "freeze layers: tap names (the block ending at the tap, e.g. conv1,conv2) or indices 0-3"},
             {"backbone", "LAYERS", "layers trained at --backbone-lr-scale times the learning rate (same syntax as --freeze)"},
             {"backbone-lr-scale", "S", "learning-rate factor of --backbone (default 0.1)"},
             {"bn-eval", "", "keep batch norm on its running statistics while training (fine-tuning)"},
             {"quiet", "", "no progress output"},
             threads_option,
             {"out", "DIR", "output folder (required): params, student.npz, log.csv, report.json"}},
        }),
        "Students (see `b2m features --help` for the taps):\n"
        "  conv  conv3x3(C->16) bn relu maxpool2 tap<conv1> conv3x3(16->32) bn relu maxpool2 tap<conv2>\n"
        "        flatten dense(32*H/4*W/4, 64) relu tap<hidden> dense(64, classes)\n"
        "  gru   gru(F, 64) tap<sequence> last_step tap<hidden> dense(64, classes)\n"
        "  cornet-z  V1 V2 V4 IT (conv relu maxpool, tap each), global average pool, dense(classes)\n"
        "        (CORnet-Z, models/cornet_z.hpp; --freeze V1,V2 freezes those areas: layers 0-7)\n"
        "Layer indices for --freeze / --backbone count every layer, taps included (conv: conv1 = 0-4,\n"
        "conv2 = 5-9). A frozen layer gets no gradient, optimiser state or weight decay; training\n"
        "computes nothing below the lowest trainable layer. student.npz holds the weights under the\n"
        "names of the equivalent torch.nn.Sequential (taps are not modules).",
        "  b2m train --arch conv --stimuli images.npy --labels labels.npy --epochs 20 --out run1\n"
        "  b2m train --arch conv --init run1/student.npz --freeze conv1 --stimuli images2.npy --labels labels2.npy --out run2\n"
        "  b2m train --arch cornet-z --init cornet_z.npz --freeze V1,V2 --stimuli images.npy --labels labels.npy --out run3"};
    return spec;
}

struct loop_result {
    std::vector<double> train_loss, val_loss, val_acc;
    double train_accuracy = 0, seconds = 0;
    std::vector<std::string> frozen;
    std::size_t trainable_tensors = 0, all_tensors = 0;
};

std::vector<std::int64_t> take(const std::vector<std::int64_t>& v, const std::vector<std::size_t>& idx) {
    std::vector<std::int64_t> out;
    if (v.empty()) return out;
    for (auto i : idx) out.push_back(v[i]);
    return out;
}

template <class Student>
void set_lengths(Student& s, const std::vector<std::int64_t>& len, std::size_t b, std::size_t e) {
    if constexpr (requires { s.template layer<0>().set_lengths(std::span<const std::int64_t>()); }) {
        if (len.empty()) s.template layer<0>().clear_lengths();
        else s.template layer<0>().set_lengths(std::span<const std::int64_t>(len.data() + b, e - b));
    }
}

struct settings {
    student_spec s;
    std::size_t epochs = defaults::epochs, batch = defaults::batch;
    std::string init, freeze, backbone, student_path, params_path, log_path;
    double backbone_scale = 0.1;
    bool bn_eval = false, progress = true;
};

template <class Student, class Objective>
loop_result train_loop(Student student, const Objective& objective, const settings& st, const train::batch<float>& tr,
                       const std::vector<std::int64_t>& tr_len, const train::batch<float>& va,
                       const std::vector<std::int64_t>& va_len) {
    const auto t0 = std::chrono::steady_clock::now();
    loop_result out;
    std::vector<optim::param_group> groups;
    if (!st.backbone.empty()) {
        try {
            groups.push_back({.prefixes = nn::param_prefixes(student, st.backbone), .lr_scale = st.backbone_scale});
        } catch (const b2m::error& e) {
            throw usage_error(std::string("option --backbone: ") + e.what());
        }
    }
    auto trainer = train::make_trainer(std::move(student), objective, optim::adam({.lr = st.s.lr, .groups = groups}),
                                       {.seed = st.s.seed});
    auto& net = trainer.student();
    if (!st.init.empty()) {
        try {
            io::load_state_dict(net, st.init);
        } catch (const b2m::error& e) {
            bool loaded = false;
            if constexpr (!Student::template has_tap<"hidden">()) {  // CORnet-Z: the official names too
                for (const char* prefix : {"", "module."}) {
                    try {
                        io::load_state_dict(net, st.init, {.prefix = prefix, .names = models::cornet_z_torch_names()});
                        loaded = true;
                        break;
                    } catch (const b2m::error&) {
                    }
                }
            }
            if (!loaded) throw input_error("--init " + st.init + ": " + e.what());
        }
    }
    if (!st.freeze.empty()) {
        try {
            for (const auto& r : nn::freeze(net, st.freeze))
                out.frozen.push_back(std::to_string(r.first) + "-" + std::to_string(r.last));
        } catch (const b2m::error& e) {
            throw usage_error(std::string("option --freeze: ") + e.what());
        }
    }
    if (st.bn_eval) net.set_batch_norm_eval(true);
    net.for_each_param([&](const std::string&, matrix<float>&, matrix<float>&) { ++out.all_tensors; });
    net.for_each_trainable_param([&](const std::string&, matrix<float>&, matrix<float>&) { ++out.trainable_tensors; });

    const std::size_t n = tr.size(), bs = std::min(st.batch, n);
    rng order(st.s.seed + 100);
    std::vector<std::size_t> idx(n);
    std::string csv = "epoch,train_loss,held_out_loss,held_out_accuracy\n";
    auto eval_set = [&](const train::batch<float>& b, const std::vector<std::int64_t>& len, double& loss) {
        std::size_t correct = 0;
        double total = 0;
        std::size_t batches = 0;
        for (std::size_t s0 = 0; s0 < b.size();) {
            std::size_t e = std::min(b.size(), s0 + 256);
            if (b.size() - e == 1) ++e;  // no single-trial remainder (contrastive terms need two)
            std::vector<std::size_t> rows(e - s0);
            std::iota(rows.begin(), rows.end(), s0);
            const train::batch<float> part = take_rows(b, rows);
            set_lengths(net, len, s0, e);
            total += double(trainer.evaluate(part).total);
            ++batches;
            const matrix<float>& y = net.output();
            for (std::size_t i = 0; i < part.size(); ++i) {
                std::size_t best = 0;
                for (std::size_t j = 1; j < y.shape(1); ++j)
                    if (y(i, j) > y(i, best)) best = j;
                correct += best == std::size_t(part.labels(i));
            }
            s0 = e;
        }
        loss = total / double(std::max<std::size_t>(batches, 1));
        return double(correct) / double(b.size());
    };
    for (std::size_t epoch = 1; epoch <= st.epochs; ++epoch) {
        std::iota(idx.begin(), idx.end(), std::size_t(0));
        for (std::size_t i = n; i > 1; --i) std::swap(idx[i - 1], idx[order.below(i)]);
        double sum = 0;
        std::size_t steps = 0;
        for (std::size_t s0 = 0; s0 < n;) {
            std::size_t e = std::min(n, s0 + bs);
            if (n - e == 1) ++e;  // a single-trial remainder joins this batch
            const std::vector<std::size_t> rows(idx.begin() + s0, idx.begin() + e);
            const train::batch<float> b = take_rows(tr, rows);
            const std::vector<std::int64_t> len = take(tr_len, rows);
            set_lengths(net, len, 0, len.size());
            sum += double(trainer.step(b).total);
            ++steps;
            s0 = e;
        }
        out.train_loss.push_back(sum / double(steps));
        double vl = std::nan(""), va_acc = std::nan("");
        if (va.size()) va_acc = eval_set(va, va_len, vl);
        out.val_loss.push_back(vl);
        out.val_acc.push_back(va_acc);
        csv += std::to_string(epoch) + "," + json_object::number(out.train_loss.back()) + "," +
               (std::isnan(vl) ? std::string() : json_object::number(vl)) + "," +
               (std::isnan(va_acc) ? std::string() : json_object::number(va_acc)) + "\n";
        if (st.progress) {
            std::fprintf(stderr, "epoch %zu/%zu: train loss %.4f", epoch, st.epochs, out.train_loss.back());
            if (!std::isnan(va_acc)) std::fprintf(stderr, ", held-out loss %.4f, accuracy %.3f", vl, va_acc);
            std::fprintf(stderr, "\n");
        }
    }
    double dummy = 0;
    out.train_accuracy = eval_set(tr, tr_len, dummy);
    trainer.save(st.params_path);
    io::save_state_dict(net, st.student_path);
    write_text_atomically(st.log_path, csv);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

template <class Student>
loop_result train_objective(Student student, const settings& st, const train::batch<float>& tr, const std::vector<std::int64_t>& tl,
                            const train::batch<float>& va, const std::vector<std::int64_t>& vl) {
    const auto task = loss::cross_entropy(nn::output, data::labels);
    if constexpr (!Student::template has_tap<"hidden">()) {
        // CORnet-Z: the task loss only (its taps are image-shaped areas, not a feature vector)
        return train_loop(std::move(student), task, st, tr, tl, va, vl);
    } else {
    switch (st.s.objective) {
    case objective_kind::contrastive: {
        const auto brain = loss::contrastive(nn::tap<"hidden">{}, data::brain,
                                             {.tau = st.s.tau, .dim = 64, .project_student = false, .seed = st.s.seed});
        return train_loop(std::move(student), task + st.s.weight * brain, st, tr, tl, va, vl);
    }
    case objective_kind::mse: {
        const auto brain = loss::latent(nn::tap<"hidden">{}, data::brain, {.kind = loss::latent_loss::mse, .seed = st.s.seed});
        return train_loop(std::move(student), task + st.s.weight * brain, st, tr, tl, va, vl);
    }
    default: return train_loop(std::move(student), task, st, tr, tl, va, vl);
    }
    }
}

} // namespace

int run_train_arch(const std::vector<std::string>& args) {
    const auto& spec = train_arch_spec();
    const auto parsed = parse_command(spec, args);
    if (!parsed) return 0;  // --help printed
    const parsed_args& a = *parsed;
    const std::string out = a.required("out");
    const arch_kind arch = parse_arch(a.required("arch"));
    if (arch != arch_kind::conv && arch != arch_kind::gru && arch != arch_kind::cornet_z)
        throw usage_error("this path trains --arch conv, gru or cornet-z");
    if (a.has("lengths") && arch != arch_kind::gru) throw usage_error("--lengths is for --arch gru");
    settings st;
    st.s.objective = parse_objective(a.text("objective", a.has("brain") ? "contrastive" : "none"));
    const training_values tv = read_training_options(a, 2);  // --batch >= 2 for these students
    st.s.weight = tv.weight, st.s.tau = tv.tau, st.s.lr = tv.lr;
    st.s.seed = a.seed("seed", defaults::seed);
    st.epochs = tv.epochs, st.batch = tv.batch;
    st.init = a.text("init", "");
    st.freeze = a.text("freeze", "");
    st.backbone = a.text("backbone", "");
    st.backbone_scale = a.real_number("backbone-lr-scale", 0.1, 0.0, 1e6);
    st.bn_eval = a.flag("bn-eval");
    st.progress = !a.flag("quiet");
    const double val_fraction = a.real_number("val-fraction", defaults::val_fraction, 0.0, 0.99);
    const std::uint64_t split_seed = a.seed("split-seed", defaults::seed);
    if (arch == arch_kind::cornet_z && st.s.objective != objective_kind::none)
        throw usage_error("--arch cornet-z trains on the labels only (--objective none; its taps are image-shaped areas)");
    if (st.s.objective != objective_kind::none && !a.has("brain"))
        throw usage_error("--objective " + objective_name(st.s.objective) + " needs --brain B.npy");

    const std::string stimuli = a.required("stimuli"), labels_path = a.required("labels");
    arch_input in = load_arch_stimuli(arch, stimuli, a.text("layout", "auto"), a.text("lengths", ""));
    if (a.has("widths")) {
        if (arch != arch_kind::cornet_z) throw usage_error("--widths is for --arch cornet-z");
        for (double w : a.number_list("widths", {}))
            if (w != std::floor(w) || w < 1 || w > 65536) throw usage_error("option --widths: '" + json_object::number(w) + "' is not a channel count");
            else in.widths.push_back(std::size_t(w));
        if (in.widths.size() != 4) throw usage_error("option --widths needs 4 channel counts (V1, V2, V4, IT)");
    }
    if (!in.note.empty() && st.progress) std::fprintf(stderr, "b2m train: --stimuli %s: %s\n", stimuli.c_str(), in.note.c_str());
    std::size_t classes = a.count("classes", 0, 0, 100000);
    const index_vector labels = load_labels(labels_path, "--labels", classes);
    require_same_trials("--stimuli", stimuli, in.rows(), "--labels", labels_path, labels.size());
    train::batch<float> all;
    all.x = in.x;
    all.labels = labels;
    if (a.has("brain")) {
        const std::string bp = a.required("brain");
        const matrix<double> b = load_matrix(bp, "--brain", true);
        require_same_trials("--stimuli", stimuli, in.rows(), "--brain", bp, b.shape(0));
        all.brain = to_float(b, "--brain", bp);
    }
    const split sp = split_trials(in.rows(), val_fraction, split_seed, "--val-fraction", a.count("held-out", 0, 1, 1000000000));
    const train::batch<float> tr = take_rows(all, sp.train), va = take_rows(all, sp.held_out);
    const std::vector<std::int64_t> tl = take(in.lengths, sp.train), vl = take(in.lengths, sp.held_out);

    make_output_dir(out);
    namespace fs = std::filesystem;
    st.params_path = (fs::path(out) / "params").string();
    st.student_path = (fs::path(out) / "student.npz").string();
    st.log_path = (fs::path(out) / "log.csv").string();
    const std::string report = (fs::path(out) / "report.json").string();
    const std::string layers = arch_layers(arch, in, classes);
    if (st.progress)
        std::printf("b2m train: %zu trials (%zu training, %zu held out), %zu classes\nstudent %s: %s\n", in.rows(), sp.train.size(),
                    sp.held_out.size(), classes, arch_name(arch).c_str(), layers.c_str());
    std::fflush(stdout);
    const loop_result res = arch == arch_kind::conv
                                ? train_objective(conv_student(in.channels, in.height, in.width, classes), st, tr, tl, va, vl)
                            : arch == arch_kind::cornet_z ? train_objective(cornet_z_student(in, classes), st, tr, tl, va, vl)
                                                          : train_objective(gru_student(in.step_features, classes), st, tr, tl, va, vl);

    const std::string command = command_line("train", args);
    json_object j;
    j.add("b2m_version", version_string).add("command", command);
    j.add("data", json_object()
                      .add("stimuli", stimuli)
                      .add("stimuli_note", in.note)
                      .add("labels", labels_path)
                      .add("brain", a.text("brain", ""))
                      .add("trials", in.rows())
                      .add("training_trials", sp.train.size())
                      .add("held_out_trials", sp.held_out.size())
                      .add("classes", classes)
                      .add("val_fraction", val_fraction)
                      .add("split_seed", std::int64_t(split_seed)));
    j.add("student", json_object().add("arch", arch_name(arch)).add("layers", layers));
    j.add("fine_tuning", json_object()
                             .add("init", st.init)
                             .add("freeze", st.freeze)
                             .add("frozen_layer_ranges", res.frozen)
                             .add("trainable_tensors", res.trainable_tensors)
                             .add("all_tensors", res.all_tensors)
                             .add("backbone", st.backbone)
                             .add("backbone_lr_scale", st.backbone.empty() ? 1.0 : st.backbone_scale)
                             .add("bn_eval", st.bn_eval));
    j.add("objective", json_object().add("brain_term", objective_name(st.s.objective)).add("weight", st.s.weight).add("tau", st.s.tau));
    j.add("training", json_object()
                          .add("optimizer", "adam")
                          .add("lr", st.s.lr)
                          .add("epochs", st.epochs)
                          .add("batch_size", st.batch)
                          .add("seed", std::int64_t(st.s.seed))
                          .add("threads", num_threads())
                          .add("seconds", res.seconds));
    j.add("final", json_object()
                       .add("train_loss", res.train_loss.back())
                       .add("train_accuracy", res.train_accuracy)
                       .add("held_out_loss", res.val_loss.back())
                       .add("held_out_accuracy", res.val_acc.back()));
    j.add("files", json_object().add("params", st.params_path).add("student", st.student_path).add("log", st.log_path).add("report", report));
    write_text_atomically(report, j.str() + "\n");
    std::printf("trained %zu epochs in %.1f s: train accuracy %.3f", st.epochs, res.seconds, res.train_accuracy);
    if (!std::isnan(res.val_acc.back())) std::printf(", final held-out accuracy %.3f", res.val_acc.back());
    std::printf("\nwrote %s, %s, %s, %s\n", st.params_path.c_str(), st.student_path.c_str(), st.log_path.c_str(), report.c_str());
    return 0;
}

} // namespace b2m::cli
