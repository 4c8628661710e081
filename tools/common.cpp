// tools/common.cpp - definitions of tools/cli.hpp.
#include "cli.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <numeric>
#include <sstream>

#include "b2m/brain/npy.hpp"
#include "b2m/core/rng.hpp"
#include "b2m/report/svg_plot.hpp"

namespace b2m::cli {

// ---- options ---------------------------------------------------------------------------

namespace {
const option_spec* find_option(const command_spec& spec, const std::string& name) {
    for (const auto& o : spec.options)
        if (o.name == name) return &o;
    return nullptr;
}
std::string try_help(const std::string& command) { return " (see 'b2m " + command + " --help')"; }
} // namespace

parsed_args parse_args(const command_spec& spec, const std::vector<std::string>& args) {
    parsed_args p;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "-h" || a == "--help") {
            p.help = true;
            continue;
        }
        if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
            std::string name = a.substr(2), value;
            const auto eq = name.find('=');
            const bool inline_value = eq != std::string::npos;
            if (inline_value) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
            }
            const option_spec* o = find_option(spec, name);
            if (!o) throw usage_error("unknown option '--" + name + "'" + try_help(spec.name));
            if (o->value_name.empty()) {
                if (inline_value) throw usage_error("option --" + name + " takes no value");
                p.flags.insert(name);
                continue;
            }
            if (!inline_value) {
                if (i + 1 >= args.size())
                    throw usage_error("option --" + name + " needs a value (" + o->value_name + ")");
                value = args[++i];
            }
            if (p.values.count(name)) throw usage_error("option --" + name + " is given twice");
            p.values[name] = value;
            continue;
        }
        if (a.size() > 1 && a[0] == '-' && !(std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.'))
            throw usage_error("unknown option '" + a + "'" + try_help(spec.name));
        p.positional.push_back(a);
    }
    if (!p.help && p.positional.size() != spec.positionals.size()) {
        std::string names;
        for (const auto& n : spec.positionals) names += " " + n;
        if (spec.positionals.empty())
            throw usage_error("unexpected argument '" + p.positional.front() + "'" + try_help(spec.name));
        throw usage_error("expected " + std::to_string(spec.positionals.size()) + " file argument" +
                          (spec.positionals.size() > 1 ? "s" : "") + " (" + names.substr(1) + "), got " +
                          std::to_string(p.positional.size()) + try_help(spec.name));
    }
    return p;
}

std::string parsed_args::text(const std::string& name, const std::string& fallback) const {
    const auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
}

std::string parsed_args::required(const std::string& name) const {
    const auto it = values.find(name);
    if (it == values.end() || it->second.empty()) throw usage_error("option --" + name + " is required");
    return it->second;
}

double parsed_args::real_number(const std::string& name, double fallback, double lo, double hi) const {
    const auto it = values.find(name);
    if (it == values.end()) return fallback;
    const std::string& s = it->second;
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
        throw usage_error("option --" + name + ": '" + s + "' is not a number");
    if (v < lo || v > hi) {
        std::ostringstream m;
        m << "option --" << name << ": " << s << " is outside [" << lo << ", " << hi << "]";
        throw usage_error(m.str());
    }
    return v;
}

std::size_t parsed_args::count(const std::string& name, std::size_t fallback, std::size_t lo, std::size_t hi) const {
    const auto it = values.find(name);
    if (it == values.end()) return fallback;
    const std::string& s = it->second;
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE || s[0] == '-' || s[0] == '+')
        throw usage_error("option --" + name + ": '" + s + "' is not a whole number");
    if (v < lo || v > hi)
        throw usage_error("option --" + name + ": " + s + " is outside [" + std::to_string(lo) + ", " +
                          std::to_string(hi) + "]");
    return std::size_t(v);
}

std::uint64_t parsed_args::seed(const std::string& name, std::uint64_t fallback) const {
    return count(name, fallback, 0, std::numeric_limits<std::size_t>::max());
}

std::string parsed_args::choice(const std::string& name, const std::string& fallback,
                                const std::vector<std::string>& choices) const {
    const std::string v = text(name, fallback);
    if (std::find(choices.begin(), choices.end(), v) != choices.end()) return v;
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
    throw usage_error("option --" + name + ": '" + v + "' is not one of " + list);
}

std::vector<double> parsed_args::number_list(const std::string& name, const std::vector<double>& fallback) const {
    const auto it = values.find(name);
    if (it == values.end()) return fallback;
    std::vector<double> out;
    std::stringstream ss(it->second);
    std::string item;
    while (std::getline(ss, item, ',')) {
        char* end = nullptr;
        const double v = std::strtod(item.c_str(), &end);
        if (item.empty() || *end != '\0' || !std::isfinite(v) || !(v > 0))
            throw usage_error("option --" + name + ": '" + item + "' is not a positive number");
        out.push_back(v);
    }
    if (out.empty()) throw usage_error("option --" + name + " needs at least one value");
    return out;
}

std::string help_text(const command_spec& spec) {
    std::string out = "usage: b2m " + spec.name + " " + spec.usage + "\n\n" + spec.summary + "\n\noptions:\n";
    std::size_t width = 0;
    auto left = [](const option_spec& o) { return "--" + o.name + (o.value_name.empty() ? "" : " " + o.value_name); };
    for (const auto& o : spec.options) width = std::max(width, left(o).size());
    width = std::max<std::size_t>(width, 10);
    for (const auto& o : spec.options) {
        const std::string l = left(o);
        out += "  " + l + std::string(width - l.size() + 2, ' ') + o.help + "\n";
    }
    out += "  -h, --help" + std::string(width - 10 + 2, ' ') + "show this help\n";
    if (!spec.details.empty()) out += "\n" + spec.details + "\n";
    if (!spec.example.empty()) out += "\nexample:\n" + spec.example + "\n";
    return out;
}

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
} // namespace

matrix<double> load_matrix(const std::string& path, const std::string& role, bool allow_vector) {
    const auto h = header_of(path, role);
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
        // Higher ranks (images, time series): flattened after the first axis, row-major.
        std::size_t cols = h.count() / h.shape[0];
        auto flatten = [&](const auto& t) {
            matrix<double> r = matrix<double>::from_shape({h.shape[0], cols});
            std::copy(t.begin(), t.end(), r.begin());  // row-major iteration
            return r;
        };
        if (h.shape.size() == 3) m = flatten(load_rank<3>(path, role));
        else if (h.shape.size() == 4) m = flatten(load_rank<4>(path, role));
        else if (h.shape.size() == 5) m = flatten(load_rank<5>(path, role));
        else throw input_error(where(role, path) + ": array has shape " + shape + " (rank > 5 is not supported)");
    }
    require_finite_in(path, role, m.data(), m.size(), m.shape(1), shape);
    return m;
}

index_vector load_labels(const std::string& path, const std::string& role, std::size_t& classes) {
    const auto h = header_of(path, role);
    const std::string shape = shape_string(h.shape);
    if (!(h.shape.size() == 1 || (h.shape.size() == 2 && h.shape[1] == 1)))
        throw input_error(where(role, path) + ": labels have shape " + shape + " but must be (trials,) or (trials, 1)");
    if (h.count() == 0) throw input_error(where(role, path) + ": array is empty (shape " + shape + ")");
    std::vector<double> v;
    if (h.shape.size() == 1) {
        const auto t = load_rank<1>(path, role);
        v.assign(t.begin(), t.end());
    } else {
        const auto t = load_rank<2>(path, role);
        v.assign(t.begin(), t.end());
    }
    constexpr double max_classes = 100000;
    double top = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const double x = v[i];
        const std::string at = where(role, path) + ": label at index " + std::to_string(i);
        if (std::isnan(x)) throw input_error(at + " is NaN");
        if (!std::isfinite(x)) throw input_error(at + " is infinite");
        if (x != std::floor(x)) throw input_error(at + " is " + json_object::number(x) + ", not a whole number (labels are class indices)");
        if (x < 0)
            throw input_error(at + " is " + std::to_string(std::int64_t(x)) + ", negative (labels must be class indices 0..C-1)");
        if (classes > 0 && x >= double(classes))
            throw input_error(at + " is " + std::to_string(std::int64_t(std::min(x, 9e18))) + ", out of range for --classes " +
                              std::to_string(classes) + " (0.." + std::to_string(classes - 1) + ")");
        if (x >= max_classes)
            throw input_error(at + " is " + std::to_string(std::int64_t(std::min(x, 9e18))) +
                              ", out of range (at most 100000 classes)");
        top = std::max(top, x);
    }
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

void make_output_dir(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
        throw input_error("--out " + dir + ": cannot create the output folder (" +
                          (ec ? ec.message() : std::string("a file of that name exists")) + ")");
}

void write_text_atomically(const std::string& path, const std::string& text) { report::write_file_atomically(path, text); }

std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

// ---- data ------------------------------------------------------------------------------

split split_trials(std::size_t n, double fraction, std::uint64_t seed, const std::string& what) {
    if (!(fraction >= 0 && fraction < 1)) throw usage_error(what + " must lie in [0, 1)");
    std::size_t held = std::size_t(std::llround(fraction * double(n)));
    if (fraction > 0) held = std::max<std::size_t>(held, 1);
    if (n < held + 2)
        throw usage_error(what + " " + std::to_string(fraction) + " leaves " + std::to_string(n > held ? n - held : 0) +
                          " of " + std::to_string(n) + " trials for training (need at least 2)");
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
    const matrix<double> x = load_matrix(d.stimuli_path, "--stimuli", false);
    d.all.labels = load_labels(d.labels_path, "--labels", d.classes);
    require_same_trials("--stimuli", d.stimuli_path, x.shape(0), "--labels", d.labels_path, d.all.labels.size());
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
            throw input_error(where(role, path) + ": value " + std::to_string(m.data()[i]) + " at row " +
                              std::to_string(i / m.shape(1)) + " does not fit in 32-bit float (rescale the data)");
    return f;
}

// ---- JSON ------------------------------------------------------------------------------

std::string json_object::quote(const std::string& s) {
    std::string q = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': q += "\\\""; break;
        case '\\': q += "\\\\"; break;
        case '\n': q += "\\n"; break;
        case '\t': q += "\\t"; break;
        case '\r': q += "\\r"; break;
        default:
            if (c < 0x20) {
                char b[8];
                std::snprintf(b, sizeof b, "\\u%04x", c);
                q += b;
            } else {
                q += char(c);
            }
        }
    }
    return q + "\"";
}

std::string json_object::number(double v) {
    if (!std::isfinite(v)) return "null";
    char b[40];
    std::snprintf(b, sizeof b, "%.10g", v);
    return b;
}

json_object& json_object::add(const std::string& key, double v) {
    items_.push_back({key, number(v), {}});
    return *this;
}
json_object& json_object::add(const std::string& key, std::int64_t v) {
    items_.push_back({key, std::to_string(v), {}});
    return *this;
}
json_object& json_object::add(const std::string& key, bool v) {
    items_.push_back({key, v ? "true" : "false", {}});
    return *this;
}
json_object& json_object::add(const std::string& key, const std::string& v) {
    items_.push_back({key, quote(v), {}});
    return *this;
}
json_object& json_object::add(const std::string& key, const std::vector<double>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + number(v[i]);
    items_.push_back({key, s + "]", {}});
    return *this;
}
json_object& json_object::add(const std::string& key, const std::vector<std::string>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + quote(v[i]);
    items_.push_back({key, s + "]", {}});
    return *this;
}
json_object& json_object::add(const std::string& key, const json_object& v) {
    items_.push_back({key, {}, {v}});
    return *this;
}

std::string json_object::str(int indent) const {
    const std::string pad(std::size_t(indent) + 2, ' ');
    std::string s = "{\n";
    for (std::size_t i = 0; i < items_.size(); ++i) {
        const auto& it = items_[i];
        s += pad + quote(it.key) + ": " + (it.nested.empty() ? it.scalar : it.nested.front().str(indent + 2));
        s += i + 1 < items_.size() ? ",\n" : "\n";
    }
    return s + std::string(std::size_t(indent), ' ') + "}";
}

} // namespace b2m::cli
