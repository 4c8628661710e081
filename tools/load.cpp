// tools/load.cpp - the .npy loading and data helpers of tools/cli.hpp (separate from
// common.cpp: the loaders instantiate xtensor conversions for every dtype).
#include "cli.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "b2m/brain/npy.hpp"
#include "b2m/core/rng.hpp"

namespace b2m::cli {

// ---- files -----------------------------------------------------------------------------

namespace {
std::string where(const std::string& role, const std::string& path) { return role.empty() ? path : role + " " + path; }

// Wraps npy.hpp's errors (which start with the path) with the role of the file.
brain::npy_header header_of(const std::string& path, const std::string& role) {
    try {
        return brain::read_npy_header(path);
    } catch (const b2m::error& e) {
        std::string m = e.what();
        if (m.compare(0, path.size() + 2, path + ": ") == 0) m = m.substr(path.size() + 2);
        throw input_error(where(role, path) + ": " + m);
    }
}

template <std::size_t N>
tensor<double, N> load_rank(const std::string& path, const std::string& role) {
    try {
        return brain::load_npy<double, N>(path);
    } catch (const b2m::error& e) {
        std::string m = e.what();
        if (m.compare(0, path.size() + 2, path + ": ") == 0) m = m.substr(path.size() + 2);
        throw input_error(where(role, path) + ": " + m);
    }
}

void require_finite_in(const std::string& path, const std::string& role, const double* p, std::size_t n,
                       std::size_t cols, const std::string& shape) {
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(p[i]))
            throw input_error(where(role, path) + ": holds " + (std::isnan(p[i]) ? "NaN" : "an infinite value") +
                              " at row " + std::to_string(i / cols) + ", column " + std::to_string(i % cols) +
                              " (shape " + shape + "); remove or impute non-finite values first");
}

template <class Src>
void convert_raw(const char* raw, std::size_t n, double* out) {
    for (std::size_t i = 0; i < n; ++i) {
        Src v;
        std::memcpy(&v, raw + i * sizeof(Src), sizeof(Src));
        out[i] = double(v);
    }
}

// Rank >= 3 (images, time series), flattened after the first axis in C order. The header
// has been validated by read_npy_header (dtype supported, file size = header + data), so
// the values are read and converted here directly instead of instantiating load_npy for
// every rank (each costs seconds of compile time).
matrix<double> load_flattened(const std::string& path, const std::string& role, const brain::npy_header& h) {
    const std::size_t n = h.count(), rows = h.shape[0], cols = n / rows;
    std::vector<char> raw(n * h.itemsize);
    std::ifstream in(path, std::ios::binary);
    in.seekg(std::streamoff(h.data_offset));
    in.read(raw.data(), std::streamsize(raw.size()));
    if (std::size_t(in.gcount()) != raw.size()) throw input_error(where(role, path) + ": truncated .npy data (read failed)");
    std::vector<double> v(n);
    const std::string& d = h.descr;
    if (d == "<f4") convert_raw<float>(raw.data(), n, v.data());
    else if (d == "<f8") convert_raw<double>(raw.data(), n, v.data());
    else if (d == "|u1" || d == "|b1") convert_raw<std::uint8_t>(raw.data(), n, v.data());
    else if (d == "|i1") convert_raw<std::int8_t>(raw.data(), n, v.data());
    else if (d == "<i2") convert_raw<std::int16_t>(raw.data(), n, v.data());
    else if (d == "<i4") convert_raw<std::int32_t>(raw.data(), n, v.data());
    else if (d == "<i8") convert_raw<std::int64_t>(raw.data(), n, v.data());
    else if (d == "<u2") convert_raw<std::uint16_t>(raw.data(), n, v.data());
    else if (d == "<u4") convert_raw<std::uint32_t>(raw.data(), n, v.data());
    else convert_raw<std::uint64_t>(raw.data(), n, v.data());
    if (d == "|b1")
        for (auto& x : v) x = x != 0 ? 1.0 : 0.0;
    matrix<double> m = matrix<double>::from_shape({rows, cols});
    if (!h.fortran_order) {
        std::copy(v.begin(), v.end(), m.begin());
        return m;
    }
    // Fortran order: element (i0, i1, ..., ik) sits at sum_a i_a * stride_a with stride_0 = 1.
    const std::size_t rank = h.shape.size();
    std::vector<std::size_t> stride(rank, 1), idx(rank, 0);
    for (std::size_t a = 1; a < rank; ++a) stride[a] = stride[a - 1] * h.shape[a - 1];
    for (std::size_t flat = 0; flat < n; ++flat) {  // idx walks C order
        std::size_t src = 0;
        for (std::size_t a = 0; a < rank; ++a) src += idx[a] * stride[a];
        m.data()[flat] = v[src];
        for (std::size_t a = rank; a-- > 0;) {
            if (++idx[a] < h.shape[a]) break;
            idx[a] = 0;
        }
    }
    return m;
}
} // namespace

namespace {
/// A .npy file that brain/npy.hpp reads directly (little-endian numeric dtypes): the fast
/// path (no intermediate copy). Anything else goes through read_array.
bool native_npy(const std::string& path) {
    std::string e = path.size() >= 4 ? path.substr(path.size() - 4) : path;
    for (char& c : e) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (e == ".npz" || e == ".mat" || e == ".csv" || e == ".tsv" || e == ".tab" || path.find(".npz:") != std::string::npos ||
        path.find(".mat:") != std::string::npos || path.find(".MAT:") != std::string::npos)
        return false;
    try {
        brain::read_npy_header(path);
        return true;
    } catch (const b2m::error&) {
        return false;  // read_array names the problem (or reads what npy.hpp does not)
    }
}

matrix<double> from_array(const io::array_data& d, const std::string& path, const std::string& role, bool allow_vector) {
    const std::string shape = shape_string(d.shape);
    if (d.is_text())
        throw input_error(where(role, path) + ": holds text (dtype " + d.dtype + "), not numbers; only --labels and ids may be strings");
    if (d.shape.empty() || (d.shape.size() == 1 && !allow_vector))
        throw input_error(where(role, path) + ": array has shape " + shape + " but must be (trials, features)" +
                          (allow_vector ? " or (trials,)" : ""));
    if (d.count() == 0) throw input_error(where(role, path) + ": array is empty (shape " + shape + ")");
    const std::size_t rows = d.shape[0], cols = d.count() / rows;
    matrix<double> m = matrix<double>::from_shape({rows, cols});
    std::copy(d.values.begin(), d.values.end(), m.begin());
    return m;
}
} // namespace

matrix<double> load_matrix(const std::string& path, const std::string& role, bool allow_vector, std::string* dtype) {
    if (!native_npy(path)) {
        const io::array_data d = read_array(path, role);
        matrix<double> m = from_array(d, path, role, allow_vector);
        require_finite_in(path, role, m.data(), m.size(), m.shape(1), shape_string(d.shape));
        if (dtype) *dtype = d.dtype;
        return m;
    }
    const auto h = header_of(path, role);
    if (dtype) *dtype = h.descr;
    const std::string shape = shape_string(h.shape);
    if (h.shape.empty() || (h.shape.size() == 1 && !allow_vector))
        throw input_error(where(role, path) + ": array has shape " + shape + " but must be (trials, features)" +
                          (allow_vector ? " or (trials,)" : ""));
    if (h.count() == 0) throw input_error(where(role, path) + ": array is empty (shape " + shape + ")");
    matrix<double> m;
    if (h.shape.size() == 1) {
        const auto v = load_rank<1>(path, role);
        m = matrix<double>::from_shape({v.size(), 1});
        std::copy(v.begin(), v.end(), m.begin());
    } else if (h.shape.size() == 2) {
        m = load_rank<2>(path, role);
    } else {
        m = load_flattened(path, role, h);
    }
    require_finite_in(path, role, m.data(), m.size(), m.shape(1), shape);
    return m;
}

index_vector load_labels(const std::string& path, const std::string& role, std::size_t& classes,
                         std::vector<std::string>* names) {
    std::vector<double> v;
    if (!native_npy(path)) {
        const io::array_data d = read_array(path, role);
        const std::string shape = shape_string(d.shape);
        if (!(d.shape.size() == 1 || (d.shape.size() == 2 && d.shape[1] == 1)))
            throw input_error(where(role, path) + ": labels have shape " + shape + " but must be (trials,) or (trials, 1)");
        if (d.count() == 0) throw input_error(where(role, path) + ": array is empty (shape " + shape + ")");
        if (d.is_text()) {  // class names: sorted, index = position
            std::vector<std::string> sorted(d.text);
            std::sort(sorted.begin(), sorted.end());
            sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
            if (sorted.size() < 2)
                throw input_error(where(role, path) + ": every label is '" + sorted.front() + "'; classification needs at least 2 classes");
            if (classes > 0 && sorted.size() > classes)
                throw input_error(where(role, path) + ": " + std::to_string(sorted.size()) + " distinct string labels but --classes " +
                                  std::to_string(classes));
            if (classes == 0) classes = sorted.size();
            index_vector out = index_vector::from_shape({d.text.size()});
            for (std::size_t i = 0; i < d.text.size(); ++i)
                out(i) = std::int64_t(std::lower_bound(sorted.begin(), sorted.end(), d.text[i]) - sorted.begin());
            if (names) *names = sorted;
            return out;
        }
        v = d.values;
    } else {
        const auto h = header_of(path, role);
        const std::string shape = shape_string(h.shape);
        if (!(h.shape.size() == 1 || (h.shape.size() == 2 && h.shape[1] == 1)))
            throw input_error(where(role, path) + ": labels have shape " + shape + " but must be (trials,) or (trials, 1)");
        if (h.count() == 0) throw input_error(where(role, path) + ": array is empty (shape " + shape + ")");
        if (h.shape.size() == 1) {
            const auto t = load_rank<1>(path, role);
            v.assign(t.begin(), t.end());
        } else {
            const auto t = load_rank<2>(path, role);
            v.assign(t.begin(), t.end());
        }
    }
    if (names) names->clear();
    constexpr double max_classes = 100000;
    double top = 0, lowest = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const double x = v[i];
        const std::string at = where(role, path) + ": label at index " + std::to_string(i);
        if (std::isnan(x)) throw input_error(at + " is NaN");
        if (!std::isfinite(x)) throw input_error(at + " is infinite");
        if (x != std::floor(x)) throw input_error(at + " is " + json_object::number(x) + ", not a whole number (labels are class indices)");
        if (x < 0)
            throw input_error(at + " is " + json_object::number(x) + ", negative (labels must be class indices 0..C-1)");
        if (classes > 0 && x >= double(classes))
            throw input_error(at + " is " + json_object::number(x) + ", out of range for --classes " +
                              std::to_string(classes) + " (0.." + std::to_string(classes - 1) + ")");
        if (x >= max_classes)
            throw input_error(at + " is " + json_object::number(x) +
                              ", out of range (at most 100000 classes)");
        top = std::max(top, x);
        lowest = i == 0 ? x : std::min(lowest, x);
    }
    // One class only (all 0, all 1, ...) when the classes are inferred: nothing to classify.
    if (classes == 0 && lowest == top)
        throw input_error(where(role, path) + ": every label is " + json_object::number(top) +
                          "; classification needs at least 2 classes");
    if (classes == 0) {
        classes = std::size_t(top) + 1;
        if (classes < 2)
            throw input_error(where(role, path) + ": every label is 0; classification needs at least 2 classes");
    }
    index_vector out = index_vector::from_shape({v.size()});
    for (std::size_t i = 0; i < v.size(); ++i) out(i) = std::int64_t(v[i]);
    return out;
}

void require_same_trials(const std::string& role_a, const std::string& path_a, std::size_t rows_a,
                         const std::string& role_b, const std::string& path_b, std::size_t rows_b) {
    if (rows_a != rows_b)
        throw input_error(where(role_b, path_b) + ": has " + std::to_string(rows_b) + " trials (rows) but " +
                          where(role_a, path_a) + " has " + std::to_string(rows_a) + "; both must hold the same trials");
}

// ---- data ------------------------------------------------------------------------------

split split_trials(std::size_t n, double fraction, std::uint64_t seed, const std::string& what,
                   std::size_t held_out_count) {
    if (!(fraction >= 0 && fraction < 1)) throw usage_error(what + " must lie in [0, 1)");
    std::size_t held = std::size_t(std::llround(fraction * double(n)));
    if (fraction > 0) held = std::max<std::size_t>(held, 1);
    if (held_out_count > 0) held = held_out_count;
    if (n < held + 2)
        throw usage_error((held_out_count ? "--held-out " + std::to_string(held_out_count) : what) + " leaves " +
                          std::to_string(n > held ? n - held : 0) + " of " + std::to_string(n) +
                          " trials for training (need at least 2)");
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    rng(seed).split(7).shuffle(order);
    split s;
    s.held_out.assign(order.begin(), order.begin() + std::ptrdiff_t(held));
    s.train.assign(order.begin() + std::ptrdiff_t(held), order.end());
    std::sort(s.held_out.begin(), s.held_out.end());
    std::sort(s.train.begin(), s.train.end());
    return s;
}

train::batch<float> take_rows(const train::batch<float>& b, const std::vector<std::size_t>& idx) {
    train::batch<float> out;
    auto rows = [&](const auto& from, auto& to) {
        using M = std::decay_t<decltype(from)>;
        if (from.size() == 0) return;
        const std::size_t w = from.size() / from.shape(0);
        if constexpr (M::rank == 2) to = M::from_shape({idx.size(), w});
        else to = M::from_shape({idx.size()});
        for (std::size_t i = 0; i < idx.size(); ++i) std::copy_n(from.data() + idx[i] * w, w, to.data() + i * w);
    };
    rows(b.x, out.x);
    rows(b.labels, out.labels);
    rows(b.targets, out.targets);
    rows(b.brain, out.brain);
    rows(b.stimulus, out.stimulus);
    rows(b.subject, out.subject);
    return out;
}

labelled_data load_labelled(const parsed_args& a, bool brain_required) {
    labelled_data d;
    d.stimuli_path = a.required("stimuli");
    d.labels_path = a.required("labels");
    d.brain_path = brain_required ? a.required("brain") : a.text("brain", "");
    d.classes = a.count("classes", 0, 2, 100000);
    const matrix<double> x = load_matrix(d.stimuli_path, "--stimuli", false, &d.stimuli_dtype);
    d.all.labels = load_labels(d.labels_path, "--labels", d.classes, &d.label_names);
    require_same_trials("--stimuli", d.stimuli_path, x.shape(0), "--labels", d.labels_path, d.all.labels.size());
    if (std::all_of(d.all.labels.begin(), d.all.labels.end(), [&](std::int64_t c) { return c == d.all.labels(0); }))
        throw input_error(where("--labels", d.labels_path) + ": every label is " + std::to_string(d.all.labels(0)) +
                          "; training a classifier needs at least 2 classes");
    d.all.x = to_float(x, "--stimuli", d.stimuli_path);
    d.features = x.shape(1);
    if (!d.brain_path.empty()) {
        const matrix<double> b = load_matrix(d.brain_path, "--brain", true);
        require_same_trials("--stimuli", d.stimuli_path, x.shape(0), "--brain", d.brain_path, b.shape(0));
        d.all.brain = to_float(b, "--brain", d.brain_path);
    }
    return d;
}

matrix<float> to_float(const matrix<double>& m, const std::string& role, const std::string& path) {
    matrix<float> f = xt::cast<float>(m);
    for (std::size_t i = 0; i < f.size(); ++i)
        if (!std::isfinite(f.data()[i]))
            throw input_error(where(role, path) + ": value " + json_object::number(m.data()[i]) + " at row " +
                              std::to_string(i / m.shape(1)) + " does not fit in 32-bit float (rescale the data)");
    return f;
}

} // namespace b2m::cli
