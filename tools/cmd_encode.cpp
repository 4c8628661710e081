// tools/cmd_encode.cpp - `b2m encode`: encoding models from features to responses, scored on
// held-out samples: ridge (one feature space), banded ridge (several spaces, --space), kernel
// ridge and multiple-kernel ridge (--kernel), with alphas (and space weights) chosen per
// target by cross-validation on the training samples only.
//
// Responses in a float32/float64 .npy are read through a memory map one block of targets at
// a time (b2m/brain/npy_mmap.hpp) and every per-target output is written block by block, so
// the number of targets is limited by disk, not memory. --float32 keeps everything in float.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>

#include "cli.hpp"
#include "job.hpp"

#include "b2m/brain/banded_ridge.hpp"
#include "b2m/brain/dataset.hpp"
#include "b2m/brain/delays.hpp"
#include "b2m/brain/kernel_ridge.hpp"
#include "b2m/brain/metrics.hpp"
#include "b2m/brain/npy.hpp"
#include "b2m/brain/npy_mmap.hpp"
#include "b2m/brain/ridge.hpp"
#include "b2m/brain/variance_partition.hpp"

namespace b2m::cli {

namespace {

const command_spec& encode_spec() {
    static const command_spec spec{
        "encode",
        "Fit an encoding model from features to responses (alpha, and with several feature\n"
        "spaces each space's weight, chosen per target by cross-validation on the training\n"
        "samples) and report each target's Pearson r and R^2 on held-out samples.",
        "FEATURES.npy RESPONSES.npy [options]   |   --space X1.npy --space X2.npy ... RESPONSES.npy [options]",
        {"FEATURES.npy", "RESPONSES.npy"},
        {{"space", "X.npy", "a feature space (repeat for several: banded ridge, one penalty per space and target)"},
         {"kernel", "K", "linear|poly|rbf: kernel ridge (one space) or multiple-kernel ridge (several), for n < features"},
         {"degree", "D", "poly kernel degree (default 3)"},
         {"kernel-gamma", "G", "poly/rbf kernel gamma (default 1 / features of the space)"},
         {"alphas", "A,B,..", "ridge penalties to choose from (default " + default_text(defaults::alphas) + ")"},
         {"candidates", "N", "space weightings tried with several spaces: N Dirichlet draws (default 20)"},
         {"candidates-file", "W.npy", "fixed space weightings instead, shape (candidates, spaces)"},
         {"delays", "D1,D2,..", "stack time-delayed copies of every space (fMRI lags in samples, e.g. 1,2,3,4)"},
         {"folds", "K", "choose alpha by K-fold CV on the training samples (default with --space/--kernel: " + std::to_string(defaults::folds) + ")"},
         {"loo", "", "choose alpha by exact leave-one-out CV (the default for one space, no kernel)"},
         {"test-fraction", "F", "fraction of samples (or of stimuli) held out for scoring (default 0.2)"},
         seed_option("seed of the held-out split, the stimulus folds and the candidate draws"),
         {"stimulus-ids", "ids.npy", "stimulus id per sample: repeats stay on one side of every split and fold"},
         {"split", "split.npy", "use this split: -1 = held out, k >= 0 = training sample in CV fold k"},
         {"float32", "", "compute in float32 (half the memory; float64 is the default)"},
         {"target-block", "N", "targets fitted per pass (default: about 256 MB of responses)"},
         {"out", "r.npy", "write the held-out r of every target (float64) and the split next to it"},
         {"out-dir", "DIR", "write every output into DIR (see below)"},
         {"predictions", "", "with --out-dir: also write the held-out predictions"},
         threads_option},
        "FEATURES (or each --space) is (samples, features), e.g. a model layer's activations to each\n"
        "stimulus; RESPONSES is (samples, targets) (voxels, channels, neurons) or (samples,); one row\n"
        "per sample in the same order. Each target's model has an unpenalised intercept.\n"
        "Outputs (--out-dir): r.npy and r2.npy (held-out Pearson r and R^2 per target), alpha.npy\n"
        "(chosen alpha), split.npy (int64 per sample: -1 held out, else the CV fold; always written,\n"
        "pass it back with --split or to sklearn's PredefinedSplit), with several spaces\n"
        "space_weights.npy and r2_split.npy (spaces, targets: himalaya's r2_score_split of the held-out\n"
        "R^2 around the training mean; not for kernel models), predictions.npy (held-out rows,\n"
        "targets) with --predictions, and summary.json. Files are written block by block and renamed\n"
        "into place when complete. With --stimulus-ids the held-out part is a fraction of the stimuli and\n"
        "the CV folds group stimuli (leave-one-out is refused: it would separate repeats).\n"
        "--delays uses the sample order as time: the split is still by sample, so neighbouring samples\n"
        "of a time series can sit on both sides; pass --split with contiguous blocks to avoid that.",
        "  b2m encode layer3.npy v4_responses.npy --folds 5 --test-fraction 0.25 --out r.npy\n"
        "  b2m encode --space motion.npy --space semantic.npy bold.npy --delays 1,2,3,4 --float32 --out-dir enc/"};
    return spec;
}

/// Pulls every "--space X" / "--space=X" out of args (before a "--").
std::vector<std::string> take_spaces(std::vector<std::string>& args) {
    std::vector<std::string> spaces, rest;
    bool ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (ended || a == "--") {
            ended = true;
            rest.push_back(a);
        } else if (a == "--space") {
            if (i + 1 >= args.size()) throw usage_error("option --space needs a value (X.npy)");
            spaces.push_back(args[++i]);
        } else if (a.rfind("--space=", 0) == 0) {
            spaces.push_back(a.substr(8));
        } else {
            rest.push_back(a);
        }
    }
    args = rest;
    return spaces;
}

std::vector<int> parse_delays(const std::string& s) {
    std::vector<int> out;
    std::size_t pos = 0;
    while (pos <= s.size()) {
        const auto comma = std::min(s.find(',', pos), s.size());
        const std::string item = s.substr(pos, comma - pos);
        char* end = nullptr;
        const long v = std::strtol(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || v < -100000 || v > 100000)
            throw usage_error("--delays: '" + item + "' is not a whole number (e.g. --delays 1,2,3,4)");
        out.push_back(int(v));
        pos = comma + 1;
    }
    return out;
}

/// Whole numbers from a file (e.g. stimulus ids, a split), one per sample.
std::vector<std::int64_t> load_ints(const std::string& path, const std::string& role, std::size_t n, std::int64_t lo) {
    const matrix<double> m = load_matrix(path, role, true);
    if (m.shape(1) != 1 || m.shape(0) != n)
        throw input_error(role + " " + path + ": shape " + shape_string(m.shape()) + " but the responses have " +
                          std::to_string(n) + " samples (need (" + std::to_string(n) + ",))");
    std::vector<std::int64_t> v(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double x = m(i, 0);
        if (x != std::floor(x) || x < double(lo) || x > 9e15)
            throw input_error(role + " " + path + ": value " + json_object::number(x) + " at index " + std::to_string(i) +
                              " is not a whole number >= " + std::to_string(lo));
        v[i] = std::int64_t(x);
    }
    return v;
}

/// Responses: a float .npy through a memory map (read by blocks of targets), anything else loaded whole.
struct responses {
    std::unique_ptr<brain::npy_mmap> map;
    matrix<double> full;
    std::string path;
    std::size_t rows = 0, cols = 0;

    explicit responses(const std::string& p) : path(p) {
        bool mapped = false;
        if (p.size() > 4 && p.compare(p.size() - 4, 4, ".npy") == 0) {
            try {
                const auto h = brain::read_npy_header(p);
                if ((h.descr == "<f4" || h.descr == "<f8") && !h.shape.empty() && h.shape.size() <= 2) {
                    map = std::make_unique<brain::npy_mmap>(p);
                    mapped = true;
                }
            } catch (const b2m::error& e) {
                throw input_error(std::string("RESPONSES ") + e.what());
            }
        }
        if (mapped) {
            rows = map->rows(), cols = map->cols();
            if (rows == 0 || cols == 0) throw input_error("RESPONSES " + p + ": empty array of shape " + shape_string(map->header().shape));
        } else {
            full = load_matrix(p, "RESPONSES", true);
            rows = full.shape(0), cols = full.shape(1);
        }
    }
    template <real T>
    void read(std::size_t c0, std::size_t b, const std::vector<std::size_t>& idx, matrix<T>& out) {
        if (map) {
            try {
                map->read_columns(c0, b, out, &idx);
            } catch (const b2m::error& e) {
                throw input_error(std::string("RESPONSES ") + e.what());
            }
            return;
        }
        out = matrix<T>::from_shape({idx.size(), b});
        for (std::size_t i = 0; i < idx.size(); ++i)
            for (std::size_t j = 0; j < b; ++j) out(i, j) = T(full(idx[i], c0 + j));
    }
};

template <real T>
matrix<T> rows_of(const matrix<T>& m, const std::vector<std::size_t>& idx) { return brain::take_rows(m, idx); }

template <real T>
matrix<T> as(const matrix<double>& m, const std::string& role, const std::string& path) {
    if constexpr (std::is_same_v<T, double>) return m;
    else return to_float(m, role, path);
}

enum class model_kind { ridge, banded, kernel };

template <real T>
int run(const parsed_args& a, const std::vector<std::string>& space_paths, const std::string& fy) {
    const bool kernel = a.has("kernel");
    const std::string kernel_name = a.choice("kernel", "linear", {"linear", "poly", "rbf"});
    const model_kind kind = kernel ? model_kind::kernel : space_paths.size() > 1 ? model_kind::banded : model_kind::ridge;
    const auto alphas = a.number_list("alphas", defaults::alphas);
    const bool has_ids = a.has("stimulus-ids");
    if (a.has("folds") && a.flag("loo")) throw usage_error("give either --folds K or --loo, not both");
    if (a.flag("loo") && kind != model_kind::ridge)
        throw usage_error("--loo is for one feature space without --kernel; banded and kernel models use --folds K");
    if (a.flag("loo") && has_ids)
        throw usage_error("--loo with --stimulus-ids would put repeats of a stimulus on both sides; use --folds K");
    const bool kfold = a.has("folds") || kind != model_kind::ridge || has_ids;
    const std::size_t folds = a.count("folds", defaults::folds, 2, 1000000);
    const double test_fraction = a.real_number("test-fraction", 0.2, 0.01, 0.9);
    const std::uint64_t seed = a.seed("seed", defaults::seed);
    const std::string out = a.text("out", ""), out_dir = a.text("out-dir", "");
    const bool want_pred = a.flag("predictions");
    if (want_pred && out_dir.empty()) throw usage_error("--predictions needs --out-dir DIR");
    // Outputs checked before any work.
    if (!out_dir.empty()) make_output_dir(out_dir);
    if (!out.empty()) {
        const auto parent = std::filesystem::path(out).parent_path();
        if (!parent.empty() && !std::filesystem::is_directory(parent))
            throw input_error("--out " + out + ": the folder " + parent.string() + " does not exist");
    }

    // ---- features
    std::vector<matrix<T>> xs;
    std::vector<int> delays;
    if (a.has("delays")) delays = parse_delays(a.text("delays", ""));
    for (std::size_t k = 0; k < space_paths.size(); ++k) {
        const std::string role = space_paths.size() > 1 || a.positional.size() == 1 ? "--space" : "FEATURES";
        matrix<T> x = as<T>(load_matrix(space_paths[k], role, false), role, space_paths[k]);
        if (!delays.empty()) x = brain::stack_delays(x, delays);
        xs.push_back(std::move(x));
    }
    responses y(fy);
    const std::size_t n = y.rows, t = y.cols;
    for (std::size_t k = 0; k < xs.size(); ++k)
        require_same_trials(xs.size() > 1 ? "--space" : "FEATURES", space_paths[k], xs[k].shape(0), "RESPONSES", fy, n);

    // ---- split: held-out rows and CV folds of the training rows
    std::vector<std::int64_t> ids;
    if (has_ids) ids = load_ints(a.text("stimulus-ids", ""), "--stimulus-ids", n, std::numeric_limits<std::int64_t>::min() / 2);
    std::vector<std::size_t> train, held;
    std::vector<std::size_t> fold_of_train;  // empty: LOO
    std::string split_how;
    if (a.has("split")) {
        const auto s = load_ints(a.text("split", ""), "--split", n, -1);
        std::set<std::int64_t> fvals;
        for (std::size_t i = 0; i < n; ++i) {
            (s[i] < 0 ? held : train).push_back(i);
            if (s[i] >= 0) fvals.insert(s[i]);
        }
        if (held.size() < 3 || train.size() < 2)
            throw input_error("--split " + a.text("split", "") + ": " + std::to_string(held.size()) + " held-out (-1) and " +
                              std::to_string(train.size()) + " training samples (need >= 3 and >= 2)");
        if (fvals.size() >= 2 && !a.flag("loo")) {
            std::map<std::int64_t, std::size_t> remap;
            for (auto v : fvals) remap.emplace(v, remap.size());
            for (auto i : train) fold_of_train.push_back(remap[s[i]]);
        }
        if (has_ids) {
            std::map<std::int64_t, int> side;
            for (std::size_t i = 0; i < n; ++i) {
                const int sd = s[i] < 0 ? 0 : 1;
                if (side.count(ids[i]) && side[ids[i]] != sd)
                    throw input_error("--split " + a.text("split", "") + ": stimulus " + std::to_string(ids[i]) +
                                      " has samples both held out and in training");
                side[ids[i]] = sd;
            }
        }
        split_how = "given by --split " + a.text("split", "");
    } else if (has_ids) {
        const auto sp = brain::split_by_stimulus(ids, 1.0 - test_fraction, 0.0, seed);
        train = sp.train, held = sp.test;
        split_how = "by stimulus (--stimulus-ids), seed " + std::to_string(seed);
    } else {
        const split sp = split_trials(n, test_fraction, seed, "--test-fraction");
        train = sp.train, held = sp.held_out;
        split_how = "by sample, seed " + std::to_string(seed);
    }
    if (held.size() < 3)
        throw usage_error("the split holds out " + std::to_string(held.size()) + " of " + std::to_string(n) +
                          " samples; a held-out correlation needs at least 3");
    if (kfold && fold_of_train.empty()) {
        if (has_ids) {
            std::vector<std::int64_t> tid;
            for (auto i : train) tid.push_back(ids[i]);
            fold_of_train = brain::group_folds(tid, folds, seed);
        } else {
            if (folds > train.size())
                throw usage_error("--folds " + std::to_string(folds) + " exceeds the " + std::to_string(train.size()) + " training samples");
            fold_of_train.resize(train.size());
            std::size_t i = 0;  // sklearn KFold(folds): contiguous, the first n % k folds one larger
            for (std::size_t f = 0; f < folds; ++f)
                for (std::size_t c = 0; c < train.size() / folds + (f < train.size() % folds ? 1 : 0); ++c) fold_of_train[i++] = f;
        }
    }
    std::size_t n_folds = 0;
    for (auto f : fold_of_train) n_folds = std::max(n_folds, f + 1);

    // ---- training / held-out features
    std::vector<matrix<T>> xtr, xte;
    for (const auto& x : xs) xtr.push_back(rows_of(x, train)), xte.push_back(rows_of(x, held));
    xs.clear();
    const std::size_t ns = xtr.size();
    std::vector<std::vector<double>> candidates;
    if (a.has("candidates-file")) {
        if (ns < 2 && !kernel) throw usage_error("--candidates-file needs several --space");
        const auto c = load_matrix(a.text("candidates-file", ""), "--candidates-file", false);
        if (c.shape(1) != ns)
            throw input_error("--candidates-file " + a.text("candidates-file", "") + ": shape " + shape_string(c.shape()) +
                              " but there are " + std::to_string(ns) + " spaces");
        for (std::size_t i = 0; i < c.shape(0); ++i) candidates.push_back({c.begin() + i * ns, c.begin() + (i + 1) * ns});
    } else if (ns == 1) {
        candidates = {{1.0}};
    } else {
        candidates = brain::dirichlet_candidates(a.count("candidates", 20, 1, 100000), ns, {0.1, 1.0}, seed);
    }
    brain::banded_ridge_options bo;
    bo.alphas = alphas;
    bo.candidates = candidates;
    bo.fold_of_row = fold_of_train;
    std::vector<matrix<T>> ktr, kte;  // kernel models: (train, train) and (held, train) per space
    if (kind == model_kind::kernel) {
        brain::kernel_spec ks;
        ks.kind = kernel_name == "poly" ? brain::kernel_kind::poly : kernel_name == "rbf" ? brain::kernel_kind::rbf : brain::kernel_kind::linear;
        ks.degree = a.real_number("degree", 3, 1, 20);
        ks.gamma = a.real_number("kernel-gamma", 0, 0, 1e300);
        for (std::size_t k = 0; k < ns; ++k) {
            ktr.push_back(brain::kernel_matrix(xtr[k], xtr[k], ks));
            kte.push_back(brain::kernel_matrix(xte[k], xtr[k], ks));
        }
    }

    // ---- outputs, written block by block
    const std::size_t nte = held.size();
    auto at = [&](const std::string& f) { return (std::filesystem::path(out_dir) / f).string(); };
    std::optional<brain::npy_block_writer<double>> w_r, w_r2, w_alpha, w_out;
    std::optional<brain::npy_block_writer<double>> w_weights, w_split;
    std::optional<brain::npy_block_writer<T>> w_pred;
    const bool split_r2 = kind == model_kind::banded;
    job_agree([&] {
    if (job_rank() != 0) return;  // in an MPI job rank 0 writes every file
    try {
        if (!out.empty()) w_out.emplace(out, std::vector<std::size_t>{t});
        if (!out_dir.empty()) {
            w_r.emplace(at("r.npy"), std::vector<std::size_t>{t});
            w_r2.emplace(at("r2.npy"), std::vector<std::size_t>{t});
            w_alpha.emplace(at("alpha.npy"), std::vector<std::size_t>{t});
            if (ns > 1) w_weights.emplace(at("space_weights.npy"), std::vector<std::size_t>{ns, t});
            if (ns > 1 && split_r2) w_split.emplace(at("r2_split.npy"), std::vector<std::size_t>{ns, t});
            if (want_pred) w_pred.emplace(at("predictions.npy"), std::vector<std::size_t>{nte, t});
        }
    } catch (const b2m::error& e) {
        throw input_error(std::string("--out ") + e.what());
    }
    });

    std::size_t block = a.count("target-block", 0, 1, std::size_t(1) << 40);
    if (block == 0) block = std::max<std::size_t>(1, (std::size_t(256) << 20) / (sizeof(T) * n));
    block = std::min(block, t);
    std::vector<double> all_r, all_alpha;
    all_r.reserve(t), all_alpha.reserve(t);
    double sum_r2 = 0;
    std::vector<double> weight_sum(ns, 0.0);
    matrix<T> ytr, yte;
    auto consume = [&](std::size_t c0, std::size_t b, const auto& r, const auto& r2, const std::vector<double>& alpha,
                       const xt::xtensor<double, 2>& weights, const xt::xtensor<double, 2>& r2_parts, const matrix<T>& pred) {
        for (std::size_t j = 0; j < b; ++j) {
            all_r.push_back(double(r(j)));
            all_alpha.push_back(alpha[j]);
            sum_r2 += double(r2(j));
            for (std::size_t k = 0; k < ns && weights.size(); ++k) weight_sum[k] += weights(k, j);
        }
        if (w_out) w_out->write_range(c0, r);
        if (w_r) w_r->write_range(c0, r);
        if (w_r2) w_r2->write_range(c0, r2);
        if (w_alpha) w_alpha->write_range(c0, alpha);
        if (w_weights) w_weights->write_columns(c0, matrix<double>(weights));
        if (w_split) w_split->write_columns(c0, matrix<double>(r2_parts));
        if (w_pred) w_pred->write_columns(c0, pred);
    };
    // In an MPI job (tools/job.hpp) each rank fits its block of targets; rank 0 writes.
    const job_range mine = job_share(t);
    std::vector<double> packed;
    job_agree([&] {
    for (std::size_t c0 = mine.begin; c0 < mine.end; c0 += block) {
        const std::size_t b = std::min(block, mine.end - c0);
        y.read(c0, b, train, ytr);
        y.read(c0, b, held, yte);
        matrix<T> pred;
        std::vector<double> alpha(b);
        xt::xtensor<double, 2> weights, r2_parts;
        if (kind == model_kind::ridge) {
            brain::ridge_cv_options o;
            o.alphas = alphas;
            o.method = kfold ? brain::cv_method::kfold : brain::cv_method::leave_one_out;
            o.fold_of_row = fold_of_train;
            brain::ridge_cv<T> m(o);
            m.fit(xtr[0], ytr);
            pred = m.predict(xte[0]);
            alpha = m.alpha;
        } else if (kind == model_kind::banded) {
            brain::banded_ridge_cv<T> m(bo);
            m.fit(xtr, ytr);
            pred = m.predict(xte);
            alpha = m.best_alpha;
            weights = m.space_weights();
            matrix<T> yc = yte;
            for (std::size_t j = 0; j < b; ++j) {
                double mu = 0;
                for (std::size_t i = 0; i < ytr.shape(0); ++i) mu += double(ytr(i, j));
                mu /= double(ytr.shape(0));
                for (std::size_t i = 0; i < nte; ++i) yc(i, j) = T(double(yc(i, j)) - mu);
            }
            r2_parts = brain::r2_score_split(yc, m.predict_split(xte));
        } else {
            brain::multiple_kernel_ridge_cv<T> m(bo);
            m.fit(ktr, ytr);
            pred = m.predict(kte);
            alpha = m.best_alpha;
            weights = m.space_weights();
        }
        const auto r = brain::pearson_columns(yte, pred);
        const auto r2 = brain::r2_columns(yte, pred);
        if (job_rank() == 0) consume(c0, b, r, r2, alpha, weights, r2_parts, pred);
        else pack_encode_block(packed, c0, b, r, r2, alpha, weights, r2_parts, want_pred ? pred : matrix<T>());
    }
    });
    if (job_size() > 1) {  // rank 0 receives the other ranks' targets, in target order
        const std::vector<double> all = job_gather(packed);
        if (job_rank() != 0) return 0;
        for (std::size_t pos = 0; pos < all.size();) {
            encode_block<T> e = unpack_encode_block<T>(all, pos);
            consume(e.c0, e.b, e.r, e.r2, e.alpha, e.weights, e.r2_parts, e.pred);
        }
    }

    // ---- split file (always with --out / --out-dir) and summary
    xt::xtensor<std::int64_t, 1> split_vec = xt::zeros<std::int64_t>({n});
    for (auto i : held) split_vec(i) = -1;
    for (std::size_t q = 0; q < train.size(); ++q) split_vec(train[q]) = fold_of_train.empty() ? 0 : std::int64_t(fold_of_train[q]);
    std::vector<std::string> written;
    auto commit = [&](auto& w) {
        if (w) {
            w->commit();
            written.push_back(w->path());
        }
    };
    commit(w_out), commit(w_r), commit(w_r2), commit(w_alpha), commit(w_weights), commit(w_split), commit(w_pred);
    std::string split_path;
    if (!out_dir.empty()) split_path = at("split.npy");
    else if (!out.empty()) split_path = (out.size() > 4 && out.compare(out.size() - 4, 4, ".npy") == 0 ? out.substr(0, out.size() - 4) : out) + "_split.npy";
    if (!split_path.empty()) {
        brain::save_npy(split_path, split_vec);
        written.push_back(split_path);
    }

    vector<double> rv = xt::adapt(all_r, std::vector<std::size_t>{t});
    // #16: a target constant over the held-out samples (or predicted as a constant) has no
    // correlation: r is NaN there (not 0), left out of the summary and counted in a warning.
    const std::size_t undefined = brain::count_undefined(rv);
    if (undefined == t)
        throw input_error("responses " + fy + ": every one of the " + std::to_string(t) +
                          " targets is constant over the held-out samples (or predicted as a constant): held-out r is "
                          "undefined (check the file, or hold out more samples)");
    if (undefined)
        std::fprintf(stderr, "b2m encode: warning: %zu of %zu targets are constant over the held-out samples (or predicted as "
                             "a constant): their r is undefined (NaN in the r file) and left out of the summary\n",
                     undefined, t);
    double mean = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
    std::size_t positive = 0;
    for (double v : all_r)
        if (!std::isnan(v)) mean += v, lo = std::min(lo, v), hi = std::max(hi, v), positive += v > 0;
    mean /= double(t - undefined);
    std::vector<double> al = all_alpha;
    std::sort(al.begin(), al.end());
    const char* model_name = kind == model_kind::ridge ? "ridge" : kind == model_kind::banded ? "banded ridge" : "kernel ridge";
    std::size_t total_features = 0;
    for (const auto& x : xtr) total_features += x.shape(1);
    std::printf("b2m encode: %zu samples (%zu training, %zu held out; split %s), %zu features%s, %zu targets%s\n", n,
                train.size(), nte, split_how.c_str(), total_features,
                ns > 1 ? (" in " + std::to_string(ns) + " spaces").c_str() : "", t, sizeof(T) == 4 ? " (float32)" : "");
    std::printf("%s%s: alpha per target by %s on the training samples from %zu values", model_name,
                kind == model_kind::kernel ? (" (" + kernel_name + ")").c_str() : "",
                kfold ? (std::to_string(n_folds) + "-fold CV").c_str() : "leave-one-out CV", alphas.size());
    if (ns > 1) std::printf(" x %zu space weightings", candidates.size());
    std::printf("; median chosen alpha %g\n", al[al.size() / 2]);
    if (ns > 1) {
        std::printf("mean space weight:");
        for (std::size_t k = 0; k < ns; ++k) std::printf(" %s %.3f", space_paths[k].c_str(), weight_sum[k] / double(t));
        std::printf("\n");
    }
    std::printf("held-out Pearson r: median %.4f, mean %.4f, min %.4f, max %.4f; %zu of %zu targets r > 0; mean R^2 %.4f\n",
                brain::median(rv), mean, lo, hi, positive, t, sum_r2 / double(t));
    if (!out_dir.empty()) {
        json_object j;
        j.add("model", std::string(model_name));
        if (kind == model_kind::kernel) j.add("kernel", kernel_name);
        j.add("samples", n).add("training", train.size()).add("held_out", nte).add("targets", t);
        j.add("spaces", std::vector<std::string>(space_paths.begin(), space_paths.end()));
        j.add("cv", kfold ? std::to_string(n_folds) + "-fold" : std::string("leave-one-out"));
        j.add("split", split_how).add("alphas", alphas).add("float32", sizeof(T) == 4);
        j.add("mean_r", mean).add("median_r", brain::median(rv)).add("mean_r2", sum_r2 / double(t));
        write_text_atomically(at("summary.json"), j.str(2) + "\n");
        written.push_back(at("summary.json"));
    }
    for (const auto& f : written) std::printf("wrote %s\n", f.c_str());
    return 0;
}

} // namespace

int run_encode(const std::vector<std::string>& args_in) {
    std::vector<std::string> args = args_in;
    const std::vector<std::string> spaces = take_spaces(args);
    command_spec spec = encode_spec();
    if (!spaces.empty()) spec.positionals = {"RESPONSES.npy"};
    const auto parsed = parse_command(spec, args);
    if (!parsed) return 0;  // --help printed
    const parsed_args& a = *parsed;
    std::vector<std::string> space_paths = spaces;
    std::string fy;
    if (spaces.empty()) {
        space_paths = {a.positional[0]};
        fy = a.positional[1];
    } else {
        fy = a.positional[0];
    }
    try {
        return a.flag("float32") ? run<float>(a, space_paths, fy) : run<double>(a, space_paths, fy);
    } catch (const b2m::data_error& e) {
        // #16: a LAPACK failure or an overflowing Gram matrix names its cause; add the file.
        const std::string w = e.what();
        if (w.rfind("ridge:", 0) == 0 || w.rfind("pca:", 0) == 0) {
            std::string files;
            for (const auto& sp : space_paths) files += (files.empty() ? "" : ", ") + sp;
            throw input_error("features " + files + ": " + w);
        }
        throw;
    }
}

} // namespace b2m::cli
