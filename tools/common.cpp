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

#include "b2m/core/parallel.hpp"
#include "b2m/report/svg_plot.hpp"

#include <nlohmann/json.hpp>

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
    bool options_ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i];
        if (options_ended) {  // after "--" everything is a positional argument
            p.positional.push_back(a);
            continue;
        }
        if (a == "--") {
            options_ended = true;
            continue;
        }
        if (a == "-o" && find_option(spec, "out")) a = "--out";  // -o DIR = --out DIR
        if (a.rfind("-o=", 0) == 0 && find_option(spec, "out")) a = "--out=" + a.substr(3);
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
    // strtoull skips blanks and accepts a sign (" -1" would become 2^64 - 1): digits only.
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0])) || *end != '\0' || errno == ERANGE)
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

void apply_threads(const parsed_args& a) {
    if (a.has("threads")) set_num_threads(int(a.count("threads", 1, 1, 4096)));
}

std::string help_text(const command_spec& spec) {
    std::string out = "usage: b2m " + spec.name + " " + spec.usage + "\n\n" + spec.summary + "\n\noptions:\n";
    std::size_t width = 0;
    auto left = [](const option_spec& o) {
        return (o.name == "out" ? "-o, --" : "--") + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
    };
    for (const auto& o : spec.options) width = std::max(width, left(o).size());
    width = std::max<std::size_t>(width, 10);
    for (const auto& o : spec.options) {
        const std::string l = left(o);
        out += "  " + l + std::string(width - l.size() + 2, ' ') + o.help + "\n";
    }
    out += "  -h, --help" + std::string(width - 10 + 2, ' ') + "show this help\n";
    out += "  --" + std::string(width - 2 + 2, ' ') + "end of options: what follows is a file argument\n";
    if (!spec.details.empty()) out += "\n" + spec.details + "\n";
    if (!spec.example.empty()) out += "\nexample:\n" + spec.example + "\n";
    return out;
}

std::optional<parsed_args> parse_command(const command_spec& spec, const std::vector<std::string>& args) {
    parsed_args a = parse_args(spec, args);
    if (a.help) {
        std::fputs(help_text(spec).c_str(), stdout);
        return std::nullopt;
    }
    apply_threads(a);
    return a;
}

std::string default_text(double v) {
    const double e = std::round(std::log10(std::abs(v)));
    if (v >= 1000 && e <= 300 && v == std::pow(10.0, e)) return "1e" + std::to_string(int(e));
    return json_object::number(v);
}

std::string default_text(const std::vector<double>& v) {
    std::string s;
    for (double x : v) {
        if (!s.empty()) s += ',';
        s += default_text(x);
    }
    return s;
}

option_spec seed_option(const std::string& what) {
    return {"seed", "S", what + " (default " + default_text(double(defaults::seed)) + ")"};
}

std::vector<option_spec> training_options() {
    return {{"weight", "W", "weight of the brain term next to the task's cross-entropy (default " + default_text(defaults::weight) + ")"},
            {"tau", "T", "contrastive temperature (default " + default_text(defaults::tau) + ")"},
            {"epochs", "N", "training epochs (default " + default_text(double(defaults::epochs)) + ")"},
            {"batch", "N", "mini-batch size (default " + default_text(double(defaults::batch)) + ")"},
            {"lr", "X", "Adam learning rate (default " + default_text(defaults::lr) + ")"}};
}

training_values read_training_options(const parsed_args& a, std::size_t min_batch) {
    training_values v;
    v.weight = a.real_number("weight", defaults::weight, 0.0, 1e6);
    v.tau = a.real_number("tau", defaults::tau, 1e-4, 1e4);
    v.lr = a.real_number("lr", defaults::lr, 1e-9, 10.0);
    v.epochs = a.count("epochs", defaults::epochs, 1, 1000000);
    v.batch = a.count("batch", defaults::batch, min_batch, 1000000);
    return v;
}

std::vector<option_spec> held_out_options(bool allow_none) {
    return {{"val-fraction", "F", "fraction of trials held out for validation (default " + default_text(defaults::val_fraction) +
                                      (allow_none ? "; 0: none)" : ")")},
            {"held-out", "N", "hold out exactly N trials instead (overrides --val-fraction)"},
            {"split-seed", "S", "seed of the held-out split; every run and seed sees the same split (default " + default_text(double(defaults::seed)) + ")"}};
}

std::vector<option_spec> options_of(std::initializer_list<std::vector<option_spec>> parts) {
    std::vector<option_spec> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// ---- files ----------------------------------------------------------------------------

void make_output_dir(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
        throw input_error("--out " + dir + ": cannot create the output folder (" +
                          (ec ? ec.message() : std::string("a file of that name exists")) + ")");
}

void write_text_atomically(const std::string& path, const std::string& text) { atomic_write(path, text, "output file"); }

std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

std::vector<std::string> comma_list(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

std::string command_line(const std::string& command, const std::vector<std::string>& args) {
    std::string line = "b2m " + command;
    for (const auto& x : args) line += " " + x;
    return line;
}

// ---- JSON ------------------------------------------------------------------------------
// Rendering and escaping by nlohmann-json: numbers are written with the shortest text that
// reads back to the same double (round trip exact), strings escaped per RFC 8259.

namespace {
std::string dump(const nlohmann::ordered_json& j) {
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}
nlohmann::ordered_json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); }
} // namespace

std::string json_object::quote(const std::string& s) { return dump(nlohmann::ordered_json(s)); }

std::string json_object::number(double v) {
    std::string s = dump(finite_or_null(v));  // shortest text that reads back to v
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);  // "5", not "5.0", in messages
    return s;
}

json_object& json_object::add(const std::string& key, double v) {
    items_.push_back({key, dump(finite_or_null(v)), {}});
    return *this;
}
json_object& json_object::add(const std::string& key, std::int64_t v) {
    items_.push_back({key, dump(nlohmann::ordered_json(v)), {}});
    return *this;
}
json_object& json_object::add(const std::string& key, bool v) {
    items_.push_back({key, dump(nlohmann::ordered_json(v)), {}});
    return *this;
}
json_object& json_object::add(const std::string& key, const std::string& v) {
    items_.push_back({key, quote(v), {}});
    return *this;
}
json_object& json_object::add(const std::string& key, const std::vector<double>& v) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (double x : v) a.push_back(finite_or_null(x));
    items_.push_back({key, dump(a), {}});
    return *this;
}
json_object& json_object::add(const std::string& key, const std::vector<std::string>& v) {
    items_.push_back({key, dump(nlohmann::ordered_json(v)), {}});
    return *this;
}
json_object& json_object::add(const std::string& key, const json_object& v) {
    items_.push_back({key, {}, {v}});
    return *this;
}

nlohmann::ordered_json json_object::value() const {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (const auto& it : items_)
        o[it.key] = it.nested.empty() ? nlohmann::ordered_json::parse(it.scalar) : it.nested.front().value();
    return o;
}

std::string json_object::str(int indent) const {
    (void)indent;
    return value().dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

} // namespace b2m::cli
