// examples/study_common.hpp - shared pieces of the real-data studies (study_*.cpp):
// command line, data loading (v4 sessions, rsa92), image conversion, frozen-feature
// evaluations (held-out encoding, RSA, few-shot classification), report formatting, and
// the record of the data a study read (folder, sessions, each file's size and SHA-256).
// Sessions are found by listing the data folder (or given with --sessions), and repeated
// images are found from the pixels (brain/stimulus_ids.hpp), never from folder names.
// Not a library header: the studies include it by relative path.
#pragma once

#include <b2m/brain/dataset.hpp>
#include <b2m/brain/logistic.hpp>
#include <b2m/brain/metrics.hpp>
#include <b2m/brain/npy.hpp>
#include <b2m/brain/ridge.hpp>
#include <b2m/brain/rsa.hpp>
#include <b2m/brain/stimulus_ids.hpp>
#include <b2m/brain/zscore.hpp>
#include <b2m/core/parallel.hpp>
#include <b2m/core/rng.hpp>
#include <b2m/report/stats.hpp>
#include <b2m/report/svg_plot.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace study {
using namespace b2m;

/// study_x [out_dir=docs/results] [--data DIR] [--sessions a,b,c] [--teacher NAME] [--smoke]
/// --sessions: session folders to use (default: every session found in the dataset's
/// folder, sorted by name); --teacher: the training session of studies that have one
/// (default: the first of the sessions).
struct args {
    std::string out_dir = "docs/results";
    std::string data_dir = B2M_DATA_DIR;
    std::vector<std::string> sessions;  ///< empty: every session found
    std::string teacher;                ///< empty: the first session
    bool smoke = false;
};

/// "a,b,c" -> {"a", "b", "c"} (empty items dropped).
inline std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty()) out.push_back(item);
    return out;
}

/// Parses the options above; an unknown option or a missing value prints the usage and
/// exits with code 2 (it used to be taken silently as the output folder).
inline args parse(int argc, char** argv) {
    args a;
    auto usage = [&](const std::string& why) {
        std::fprintf(stderr,
                     "%s: %s\nusage: %s [out_dir=docs/results] [--data DIR] [--sessions a,b,c] [--teacher NAME] [--smoke]\n",
                     argv[0], why.c_str(), argv[0]);
        std::exit(2);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string o = argv[i];
        const bool has_value = i + 1 < argc;
        if (o == "--smoke") a.smoke = true;
        else if (o == "--data") has_value ? void(a.data_dir = argv[++i]) : usage("--data needs a folder");
        else if (o == "--sessions") {
            if (!has_value) usage("--sessions needs a comma-separated list");
            a.sessions = split_list(argv[++i]);
            if (a.sessions.empty()) usage("--sessions needs at least one session");
        } else if (o == "--teacher") has_value ? void(a.teacher = argv[++i]) : usage("--teacher needs a session name");
        else if (o == "-h" || o == "--help") usage("help");
        else if (o.size() > 1 && o[0] == '-') usage("unknown option '" + o + "'");
        else a.out_dir = o;
    }
    return a;
}

/// True when every listed file exists under the data dir; else prints why and returns false
/// (the caller then exits with skip_code, which ctest reports as skipped).
inline constexpr int skip_code = 77;
inline bool have_data(const args& a, const std::vector<std::string>& files) {
    for (const auto& f : files)
        if (!std::filesystem::exists(a.data_dir + "/" + f)) {
            std::printf("SKIP: %s not found under %s (real data absent; see README \"Real data\"); exit code 77\n", f.c_str(), a.data_dir.c_str());
            return false;
        }
    return true;
}

/// The sessions of a dataset folder: the sub-folders of `dir` that hold `required_file`,
/// sorted by name (an absent folder gives none).
inline std::vector<std::string> list_sessions(const std::string& dir, const std::string& required_file) {
    std::vector<std::string> out;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return out;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.is_directory(ec) && std::filesystem::exists(e.path() / required_file, ec)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

/// The sessions a study uses: `requested` (from --sessions) if given, else every session
/// of `dir` (list_sessions). A requested session without `required_file` is an error naming
/// it and the sessions that do exist. Returns an empty list when `dir` has no session
/// (the caller then skips: real data absent).
inline std::vector<std::string> resolve_sessions(const std::vector<std::string>& requested, const std::string& dir,
                                                 const std::string& required_file) {
    const auto found = list_sessions(dir, required_file);
    if (requested.empty()) return found;
    for (const auto& r : requested)
        if (!std::filesystem::exists(dir + "/" + r + "/" + required_file)) {
            std::string have;
            for (const auto& f : found) have += (have.empty() ? "" : ", ") + f;
            throw data_error("session '" + r + "': " + dir + "/" + r + "/" + required_file + " not found (sessions in " + dir +
                             ": " + (have.empty() ? "none" : have) + ")");
        }
    return requested;
}

/// Comma-separated list, e.g. of session names.
inline std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : sep) + x;
    return out;
}

/// SHA-256 (FIPS 180-4) of `bytes`, as 64 lowercase hex digits (the value `sha256sum`
/// prints), to name a data file's content in a report.
inline std::string sha256(const std::string& bytes) {
    static constexpr std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
        0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
        0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
        0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
        0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
        0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    std::uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    auto rotr = [](std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
    std::string m = bytes;
    const std::uint64_t bits = std::uint64_t(bytes.size()) * 8;
    m.push_back(char(0x80));
    while (m.size() % 64 != 56) m.push_back(char(0));
    for (int i = 7; i >= 0; --i) m.push_back(char((bits >> (8 * i)) & 0xff));
    for (std::size_t off = 0; off < m.size(); off += 64) {
        std::uint32_t w[64];
        for (int i = 0; i < 16; ++i)
            w[i] = std::uint32_t((unsigned char)m[off + 4 * i]) << 24 | std::uint32_t((unsigned char)m[off + 4 * i + 1]) << 16 |
                   std::uint32_t((unsigned char)m[off + 4 * i + 2]) << 8 | std::uint32_t((unsigned char)m[off + 4 * i + 3]);
        for (int i = 16; i < 64; ++i) {
            const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; ++i) {
            const std::uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
            const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
    }
    char out[65];
    for (int i = 0; i < 8; ++i) std::snprintf(out + 8 * i, 9, "%08x", h[i]);
    return std::string(out, 64);
}

/// The data a study read: each file (path, size, SHA-256) and one line per session or
/// dataset describing what was used (stimuli, repeats, neurons, what was left out).
struct data_record {
    struct file {
        std::string path;
        std::uintmax_t bytes = 0;
        std::string sha256;
    };
    std::vector<file> files;
    std::vector<std::string> notes;
};
inline data_record& data_log() {
    static data_record r;
    return r;
}

/// Reads `path` once more to record its size and SHA-256 in data_log() (once per path).
inline void record_file(const std::string& path) {
    auto& r = data_log();
    for (const auto& f : r.files)
        if (f.path == path) return;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(path + ": cannot open to record its checksum");
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    r.files.push_back({path, bytes.size(), sha256(bytes)});
}
inline void record_note(std::string line) { data_log().notes.push_back(std::move(line)); }

/// brain::load_npy that records the file in data_log().
template <real T, std::size_t N>
tensor<T, N> load_recorded(const std::string& path) {
    record_file(path);
    return brain::load_npy<T, N>(path);
}

/// The "Data used" section of a report: the data folder (as given and resolved), the
/// notes, and a table of every file read with its size and SHA-256 (paths relative to the
/// data folder when inside it).
inline std::string data_section(const std::string& data_dir) {
    const auto& r = data_log();
    std::error_code ec;
    const auto root = std::filesystem::weakly_canonical(data_dir, ec);
    std::string md = "## Data used\n\nData folder: `" + data_dir + "`";
    if (!ec && root.string() != data_dir) md += " (resolved: `" + root.string() + "`)";
    md += ".\n\n";
    for (const auto& n : r.notes) md += "- " + n + "\n";
    if (!r.notes.empty()) md += "\n";
    md += "| file | bytes | SHA-256 |\n| --- | --- | --- |\n";
    for (const auto& f : r.files) {
        std::string rel = f.path;
        const auto p = std::filesystem::weakly_canonical(f.path, ec);
        if (!ec && !root.empty()) {
            const auto rp = p.lexically_relative(root);
            if (!rp.empty() && rp.begin()->string() != "..") rel = rp.string();
        }
        md += "| " + rel + " | " + std::to_string(f.bytes) + " | `" + f.sha256 + "` |\n";
    }
    return md + "\n";
}

/// Images (N, H, W, 3) uint8 NHWC (loaded as float 0..255) -> (N, 3*H*W) NCHW rows,
/// standardised with fixed constants: (p / 255 - 0.5) / 0.25.
inline matrix<float> to_nchw(const tensor<float, 4>& img) {
    const std::size_t n = img.shape(0), H = img.shape(1), W = img.shape(2), C = img.shape(3);
    matrix<float> x = matrix<float>::from_shape({n, C * H * W});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t h = 0; h < H; ++h)
            for (std::size_t w = 0; w < W; ++w)
                for (std::size_t c = 0; c < C; ++c) x(i, (c * H + h) * W + w) = (img(i, h, w, c) / 255.f - 0.5f) / 0.25f;
    return x;
}

/// NCHW rows of 3x32x32 images -> 2x2 block means (3x16x16 = 768), the autoencoding target.
inline matrix<float> downsample2(const matrix<float>& x) {
    const std::size_t n = x.shape(0);
    matrix<float> y = xt::zeros<float>({n, std::size_t(768)});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t h = 0; h < 32; ++h)
                for (std::size_t w = 0; w < 32; ++w) y(i, (c * 16 + h / 2) * 16 + w / 2) += 0.25f * x(i, (c * 32 + h) * 32 + w);
    return y;
}

struct v4_session {
    std::string name;
    matrix<float> x;                 ///< (N, 3072) NCHW standardised
    matrix<float> responses;         ///< (N, neurons) spikes / 100 ms, repeat-averaged
    std::vector<std::int64_t> ids;   ///< stimulus id per row: rows showing identical images share one
    std::size_t repeated_rows = 0;   ///< rows whose image equals an earlier row's
};

/// Loads v4/<name> and records its files. Repeats are found from the images themselves:
/// rows with identical pixels share a stimulus id (brain::identical_row_ids; e.g. in
/// 190925 image0901-1200 = image0001-0300), whatever the folder is called.
inline v4_session load_v4(const std::string& root, const std::string& name) {
    v4_session s;
    s.name = name;
    const std::string dir = root + "/v4/" + name;
    s.x = to_nchw(load_recorded<float, 4>(dir + "/images.npy"));
    s.responses = load_recorded<float, 2>(dir + "/responses.npy");
    require_finite("v4 " + name + " responses", s.responses);
    if (s.x.shape(0) != s.responses.shape(0))
        throw_shape_mismatch("v4 " + name + ": image and response counts differ", "images", s.x.shape(), "responses",
                             s.responses.shape());
    s.ids = brain::identical_row_ids(s.x);
    for (std::size_t i = 0; i < s.ids.size(); ++i) s.repeated_rows += s.ids[i] != std::int64_t(i);
    return s;
}

/// Rows of `held` whose image is a near copy of a row of `train` (mean absolute difference
/// below `max_grey` grey levels on the 0..255 scale; the standardised pixels are
/// p / 63.75 - 2), sorted: images to leave out of a held-out set.
inline std::vector<std::size_t> near_copies_of(const v4_session& held, const matrix<float>& train, double max_grey = 1.0) {
    std::vector<std::size_t> rows;
    for (const auto& [i, j] : brain::near_copies(held.x, train, max_grey / 63.75)) rows.push_back(i);
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    return rows;
}

/// "v4/190925: 1200 images (300 repeat an earlier image: 900 distinct), 36 neurons".
inline std::string describe(const v4_session& s) {
    const std::size_t n = s.x.shape(0);
    return "v4/" + s.name + ": " + std::to_string(n) + " images (" + std::to_string(s.repeated_rows) +
           " repeat an earlier image, found by identical pixels: " + std::to_string(n - s.repeated_rows) + " distinct), " +
           std::to_string(s.responses.shape(1)) + " neurons";
}

/// Keeps rows `keep` of a session (e.g. to drop an image that also appears in training).
inline v4_session take(const v4_session& s, const std::vector<std::size_t>& keep) {
    v4_session t;
    t.name = s.name;
    t.x = brain::take_rows(s.x, keep);
    t.responses = brain::take_rows(s.responses, keep);
    for (auto k : keep) t.ids.push_back(s.ids[k]);
    // ids stay those of the full session (row indices there), so count repeats by id
    std::vector<std::int64_t> sorted = t.ids;
    std::sort(sorted.begin(), sorted.end());
    t.repeated_rows = std::size_t(sorted.end() - std::unique(sorted.begin(), sorted.end()));
    return t;
}

/// Column z-scores of a whole matrix (for brain targets of training data).
inline matrix<float> zscored(const matrix<float>& m) {
    brain::zscore<float> z;
    z.fit(m);
    return z.transform(m);
}

struct rsa92 {
    matrix<float> x;                  ///< (92, 3072) NCHW standardised
    matrix<double> human_it, monkey_it;
    std::vector<std::string> category_names;
    matrix<float> categories;         ///< (92, 12) 0/1
    std::vector<std::int64_t> labels(const std::string& cat) const {
        for (std::size_t j = 0; j < category_names.size(); ++j)
            if (category_names[j] == cat) {
                std::vector<std::int64_t> l(categories.shape(0));
                for (std::size_t i = 0; i < l.size(); ++i) l[i] = categories(i, j) > 0.5f ? 1 : 0;
                return l;
            }
        throw data_error("rsa92: no category named '" + cat + "' in category_labels.txt");
    }
};

inline rsa92 load_rsa92(const std::string& root) {
    rsa92 r;
    const std::string dir = root + "/rsa92";
    r.x = to_nchw(load_recorded<float, 4>(dir + "/images.npy"));
    r.human_it = load_recorded<double, 2>(dir + "/rdm_human_it.npy");
    r.monkey_it = load_recorded<double, 2>(dir + "/rdm_monkey_it.npy");
    r.categories = load_recorded<float, 2>(dir + "/categories.npy");
    record_file(dir + "/category_labels.txt");
    std::ifstream f(dir + "/category_labels.txt");
    for (std::string line; std::getline(f, line);)
        if (!line.empty()) r.category_names.push_back(line);
    if (r.category_names.size() != r.categories.shape(1))
        throw data_error("rsa92: category_labels.txt has " + std::to_string(r.category_names.size()) +
                         " names for categories.npy of shape " + shape_string(r.categories.shape()));
    return r;
}

/// Per-neuron Pearson r of out-of-fold ridge predictions: `folds` outer folds grouped by
/// stimulus id (repeats stay on one side); inside each training fold the features are
/// z-scored with training statistics and alpha is chosen per neuron by exact leave-one-out
/// when every image is unique, else by 5-fold CV grouped by stimulus.
inline std::vector<double> encoding_r(const matrix<float>& features, const matrix<float>& responses,
                                      const std::vector<std::int64_t>& ids, std::size_t folds, std::uint64_t seed) {
    const std::size_t n = features.shape(0), V = responses.shape(1);
    const auto fold = brain::group_folds(ids, folds, seed);
    matrix<float> pred = xt::zeros<float>({n, V});
    for (std::size_t f = 0; f < folds; ++f) {
        std::vector<std::size_t> tr, te;
        for (std::size_t i = 0; i < n; ++i) (fold[i] == f ? te : tr).push_back(i);
        matrix<float> xtr = brain::take_rows(features, tr), xte = brain::take_rows(features, te);
        brain::zscore<float> z;
        z.fit(xtr);
        z.transform_inplace(xtr);
        z.transform_inplace(xte);
        std::vector<std::int64_t> idtr;
        for (auto i : tr) idtr.push_back(ids[i]);
        brain::ridge_cv_options o;
        o.alphas = {1, 10, 100, 1e3, 1e4, 1e5};
        auto sorted = idtr;
        std::sort(sorted.begin(), sorted.end());
        if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
            o.method = brain::cv_method::kfold;
            o.fold_of_row = brain::group_folds(idtr, 5, seed + 1);
        }
        brain::ridge_cv<float> m(o);
        m.fit(xtr, brain::take_rows(responses, tr));
        const auto p = m.predict(xte);
        for (std::size_t k = 0; k < te.size(); ++k)
            for (std::size_t j = 0; j < V; ++j) pred(te[k], j) = p(k, j);
    }
    const auto r = brain::pearson_columns(responses, pred);
    return std::vector<double>(r.begin(), r.end());
}

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    if (v.empty()) return std::nan("");
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

/// Spearman rho between the correlation-distance RDM of `features` rows and `brain_rdm`.
inline double rsa_spearman(const matrix<float>& features, const matrix<double>& brain_rdm) {
    const matrix<double> f = xt::cast<double>(features);
    return brain::compare_rdms(brain::rdm(f), brain_rdm, brain::rdm_compare::spearman);
}

/// The sub-matrix of a square matrix at rows/columns idx.
inline matrix<double> sub_rdm(const matrix<double>& m, const std::vector<std::size_t>& idx) {
    matrix<double> s = matrix<double>::from_shape({idx.size(), idx.size()});
    for (std::size_t i = 0; i < idx.size(); ++i)
        for (std::size_t j = 0; j < idx.size(); ++j) s(i, j) = m(idx[i], idx[j]);
    return s;
}

/// Few-shot binary classification from frozen features: each of `repeats` draws (rng(seed)
/// split r) takes k training items per class, and a balanced test set (all remaining items
/// of the smaller class and as many random ones of the larger); features are z-scored with
/// the training items' statistics; L2 logistic regression (C = 1, fixed a priori).
/// Returns the accuracy of each draw (chance 0.5).
inline std::vector<double> few_shot(const matrix<float>& features, const std::vector<std::int64_t>& labels, std::size_t k,
                                    std::size_t repeats, std::uint64_t seed) {
    std::vector<std::size_t> pos, neg;
    for (std::size_t i = 0; i < labels.size(); ++i) (labels[i] ? pos : neg).push_back(i);
    std::vector<double> acc;
    for (std::size_t rep = 0; rep < repeats; ++rep) {
        rng r = rng(seed).split(rep);
        auto p = pos, q = neg;
        r.shuffle(p);
        r.shuffle(q);
        const std::size_t nt = std::min(p.size(), q.size()) - k;
        std::vector<std::size_t> tr, te;
        std::vector<std::int64_t> ltr, lte;
        for (std::size_t i = 0; i < k; ++i) tr.push_back(p[i]), ltr.push_back(1), tr.push_back(q[i]), ltr.push_back(0);
        for (std::size_t i = 0; i < nt; ++i) te.push_back(p[k + i]), lte.push_back(1), te.push_back(q[k + i]), lte.push_back(0);
        matrix<float> xtr = brain::take_rows(features, tr), xte = brain::take_rows(features, te);
        brain::zscore<float> z;
        z.fit(xtr);
        z.transform_inplace(xtr);
        z.transform_inplace(xte);
        brain::logistic_regression<float> m({.C = 1.0, .max_iter = 500, .tol = 1e-5});
        m.fit(xtr, ltr);
        acc.push_back(m.score(xte, lte));
    }
    return acc;
}

inline double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? std::nan("") : s / double(v.size());
}

/// "0.123 [0.100, 0.146]" (mean and 95% t interval over the values). lo, hi: the range
/// the quantity can take (accuracy [0, 1], a correlation [-1, 1]); the interval is
/// clipped to it, so no interval reads "accuracy 1.238".
inline std::string ci(const std::vector<double>& v, const char* f = "%.3f", double lo = -INFINITY, double hi = INFINITY) {
    const auto s = report::summarize_within(v, lo, hi);
    char a[32], b[32], c[32], out[128];
    std::snprintf(a, sizeof a, f, s.mean);
    std::snprintf(b, sizeof b, f, s.low());
    std::snprintf(c, sizeof c, f, s.high());
    std::snprintf(out, sizeof out, "%s [%s, %s]", a, b, c);
    return out;
}
/// ci() of an accuracy (or any proportion): interval clipped to [0, 1].
inline std::string ci01(const std::vector<double>& v, const char* f = "%.3f") { return ci(v, f, 0.0, 1.0); }

/// Paired difference a - b over seeds: "+0.012 [-0.003, +0.027], d_z 0.85". range: the
/// largest possible |a - b| (1 for accuracies, 2 for correlations; the interval is clipped
/// to [-range, range]). When every difference is the same, d_z is undefined and says so.
inline std::string paired(const std::vector<double>& a, const std::vector<double>& b, double range = INFINITY) {
    auto c = report::compare_paired(a, b);
    c.difference.lower_limit = -range, c.difference.upper_limit = range;
    char out[192];
    if (c.constant_difference)
        std::snprintf(out, sizeof out, "%+.3f [%+.3f, %+.3f], d_z undefined (every difference equal)", c.difference.mean,
                      c.difference.mean, c.difference.mean);
    else
        std::snprintf(out, sizeof out, "%+.3f [%+.3f, %+.3f], d_z %.2f", c.difference.mean, c.difference.low(),
                      c.difference.high(), c.effect_size);
    return out;
}
/// True when the paired 95% interval of a - b lies above 0.
inline bool paired_above(const std::vector<double>& a, const std::vector<double>& b) {
    return report::compare_paired(a, b).difference.low() > 0;
}
inline bool paired_below(const std::vector<double>& a, const std::vector<double>& b) {
    return report::compare_paired(a, b).difference.high() < 0;
}

/// The reproducibility statement every study report ends with (see docs/results/README.md).
inline const char* reproducibility_note() {
    return "Reproducibility: single-threaded (set_num_threads(1)) and seeded. Reruns of the same binary on the same "
           "machine give byte-identical reports. A binary built elsewhere or run on another CPU (e.g. AMD EPYC vs Intel "
           "Xeon, which take different OpenBLAS kernels and may fuse multiply-adds differently) agrees to about the last "
           "printed digit, not bit for bit; see docs/results/README.md \"Reproducibility\".";
}

/// A mean curve with its 95% band over seeds (rows: seeds, columns: points at x).
inline report::series band(std::string name, const std::vector<double>& x, const std::vector<std::vector<double>>& rows) {
    report::series s;
    s.name = std::move(name);
    for (std::size_t e = 0; e < x.size(); ++e) {
        std::vector<double> at;
        for (const auto& r : rows)
            if (e < r.size()) at.push_back(r[e]);
        const auto st = report::summarize(at);
        s.x.push_back(x[e]);
        s.y.push_back(st.mean);
        s.low.push_back(std::isnan(st.ci95) ? st.mean : st.low());
        s.high.push_back(std::isnan(st.ci95) ? st.mean : st.high());
    }
    return s;
}

inline void write_text(const std::string& path, const std::string& text) { report::write_file_atomically(path, text); }

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace study
