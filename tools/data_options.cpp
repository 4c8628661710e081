// tools/data_options.cpp - definitions of tools/data_options.hpp.
#include "data_options.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>

#include "b2m/brain/npy.hpp"
#include "b2m/core/rng.hpp"

namespace b2m::cli {

std::vector<option_spec> split_options() {
    return {{"stimulus-ids", "I.npy", "stimulus id per trial (numbers or strings): repeats stay on one side of the split and are the contrastive positives"},
            {"groups", "G.npy", "group id per trial (e.g. session): whole groups go to one side of the split"},
            {"split", "S.npy", "the split to use: one value per trial, 1 = held out, 0 = training (as written to DIR/split.npy)"},
            {"test-rows", "R.npy", "the held-out trials given as 0-based row indices"}};
}

namespace {

/// Ids per trial from a file of numbers or strings: dense indices 0..K-1 (strings and
/// numbers in sorted order). input_error naming the file.
index_vector read_ids(const std::string& path, const std::string& role, std::size_t n, std::size_t& distinct) {
    const io::array_data d = read_array(path, role);
    if (!(d.shape.size() == 1 || (d.shape.size() == 2 && d.shape[1] == 1)))
        throw input_error(role + " " + path + ": ids have shape " + shape_string(d.shape) + " but must be (trials,)");
    if (d.count() != n)
        throw input_error(role + " " + path + ": has " + std::to_string(d.count()) + " ids but the data have " +
                          std::to_string(n) + " trials; give one id per trial");
    index_vector out = index_vector::from_shape({n});
    if (d.is_text()) {
        std::map<std::string, std::int64_t> m;
        for (const auto& s : d.text) m.emplace(s, 0);
        std::int64_t k = 0;
        for (auto& e : m) e.second = k++;
        for (std::size_t i = 0; i < n; ++i) out(i) = m[d.text[i]];
        distinct = m.size();
        return out;
    }
    std::map<double, std::int64_t> m;
    for (std::size_t i = 0; i < n; ++i) {
        const double v = d.values[i];
        if (!std::isfinite(v))
            throw input_error(role + " " + path + ": id at index " + std::to_string(i) + " is not finite");
        m.emplace(v, 0);
    }
    std::int64_t k = 0;
    for (auto& e : m) e.second = k++;
    for (std::size_t i = 0; i < n; ++i) out(i) = m[d.values[i]];
    distinct = m.size();
    return out;
}

std::string id_text(const std::string& path, std::size_t row) {
    // the original id of a row, for messages
    try {
        const io::array_data d = read_array(path, "");
        if (d.is_text()) return "'" + d.text.at(row) + "'";
        return json_object::number(d.values.at(row));
    } catch (...) {
        return "of row " + std::to_string(row);
    }
}

void finish(split& s) {
    std::sort(s.train.begin(), s.train.end());
    std::sort(s.held_out.begin(), s.held_out.end());
}

} // namespace

split_choice choose_split(const parsed_args& a, std::size_t n, bool allow_empty) {
    split_choice c;
    c.val_fraction = a.real_number("val-fraction", defaults::val_fraction, allow_empty ? 0.0 : 0.01, 0.99);
    c.split_seed = a.seed("split-seed", defaults::seed);
    c.stimulus_path = a.text("stimulus-ids", "");
    c.groups_path = a.text("groups", "");
    c.split_path = a.text("split", "");
    c.test_rows_path = a.text("test-rows", "");
    const std::size_t held_count = a.count("held-out", 0, 1, 1000000000);
    if (!c.split_path.empty() && !c.test_rows_path.empty())
        throw usage_error("give either --split or --test-rows, not both");
    if (!c.stimulus_path.empty() && !c.groups_path.empty())
        throw usage_error("give either --stimulus-ids or --groups, not both (--stimulus-ids groups by stimulus already)");
    const bool given = !c.split_path.empty() || !c.test_rows_path.empty();
    if (given && (a.has("val-fraction") || a.has("held-out") || a.has("split-seed")))
        throw usage_error("--split/--test-rows give the held-out trials; --val-fraction, --held-out and --split-seed do not apply");

    std::size_t groups = 0;
    index_vector group;
    std::string group_path, group_role;
    if (!c.stimulus_path.empty()) {
        c.stimulus = read_ids(c.stimulus_path, "--stimulus-ids", n, groups);
        group = c.stimulus, group_path = c.stimulus_path, group_role = "--stimulus-ids";
    } else if (!c.groups_path.empty()) {
        group = read_ids(c.groups_path, "--groups", n, groups);
        group_path = c.groups_path, group_role = "--groups";
    }
    c.stimuli = groups;

    if (given) {
        std::vector<char> held(n, 0);
        if (!c.split_path.empty()) {
            const io::array_data d = read_array(c.split_path, "--split");
            if (d.is_text() || d.count() != n || d.shape.size() > 2 || (d.shape.size() == 2 && d.shape[1] != 1))
                throw input_error("--split " + c.split_path + ": shape " + shape_string(d.shape) + " but must be (" +
                                  std::to_string(n) + ",): one value per trial, 1 = held out, 0 = training");
            for (std::size_t i = 0; i < n; ++i) {
                const double v = d.values[i];
                if (v != 0 && v != 1)
                    throw input_error("--split " + c.split_path + ": value at index " + std::to_string(i) + " is " +
                                      json_object::number(v) + " (must be 1 = held out or 0 = training)");
                held[i] = v == 1;
            }
            c.method = "given (--split " + c.split_path + ")";
        } else {
            const io::array_data d = read_array(c.test_rows_path, "--test-rows");
            if (d.is_text() || d.shape.size() != 1)
                throw input_error("--test-rows " + c.test_rows_path + ": shape " + shape_string(d.shape) +
                                  " but must be (k,): 0-based row indices of the held-out trials");
            for (std::size_t i = 0; i < d.values.size(); ++i) {
                const double v = d.values[i];
                if (!(v >= 0 && v < double(n) && v == std::floor(v)))
                    throw input_error("--test-rows " + c.test_rows_path + ": entry " + std::to_string(i) + " is " +
                                      json_object::number(v) + ", not a row index 0.." + std::to_string(n - 1));
                if (held[std::size_t(v)])
                    throw input_error("--test-rows " + c.test_rows_path + ": row " + json_object::number(v) + " is listed twice");
                held[std::size_t(v)] = 1;
            }
            c.method = "given (--test-rows " + c.test_rows_path + ")";
        }
        for (std::size_t i = 0; i < n; ++i) (held[i] ? c.rows.held_out : c.rows.train).push_back(i);
        if (group.size()) {  // a stimulus (group) on both sides is a leak
            std::map<std::int64_t, std::size_t> side_row[2];
            for (std::size_t i = 0; i < n; ++i) side_row[held[i] ? 1 : 0].emplace(group(i), i);
            for (const auto& [g, row] : side_row[1]) {
                const auto t = side_row[0].find(g);
                if (t != side_row[0].end())
                    throw input_error(std::string(c.split_path.empty() ? "--test-rows " + c.test_rows_path : "--split " + c.split_path) +
                                      ": " + (group_role == "--stimulus-ids" ? "stimulus " : "group ") + id_text(group_path, row) +
                                      " (" + group_role + " " + group_path + ") has trials on both sides (held-out row " +
                                      std::to_string(row) + ", training row " + std::to_string(t->second) +
                                      "); repeats of a stimulus must stay on one side");
            }
        }
        if (c.rows.train.size() < 2)
            throw input_error(c.method + ": leaves " + std::to_string(c.rows.train.size()) + " training trials (need at least 2)");
        if (c.rows.held_out.empty() && !allow_empty) throw input_error(c.method + ": holds out no trials");
        return c;
    }

    if (!group.size()) {
        c.rows = split_trials(n, c.val_fraction, c.split_seed, "--val-fraction", held_count);
        c.method = "random trials (seed " + std::to_string(c.split_seed) + ")";
        return c;
    }
    // Whole groups, in a seeded order, until the held-out count is reached.
    std::size_t target = held_count ? held_count : std::size_t(std::llround(c.val_fraction * double(n)));
    if (c.val_fraction > 0 || held_count) target = std::max<std::size_t>(target, 1);
    std::vector<std::vector<std::size_t>> members(groups);
    for (std::size_t i = 0; i < n; ++i) members[std::size_t(group(i))].push_back(i);
    std::vector<std::size_t> order(groups);
    std::iota(order.begin(), order.end(), 0);
    rng(c.split_seed).split(7).shuffle(order);
    std::vector<char> held(n, 0);
    std::size_t count = 0, held_groups = 0;
    for (std::size_t k = 0; k < groups && count < target; ++k) {
        if (held_groups + 1 == groups) break;  // keep at least one group for training
        for (auto i : members[order[k]]) held[i] = 1;
        count += members[order[k]].size();
        ++held_groups;
    }
    for (std::size_t i = 0; i < n; ++i) (held[i] ? c.rows.held_out : c.rows.train).push_back(i);
    finish(c.rows);
    if (target > 0 && c.rows.held_out.empty())
        throw input_error(group_role + " " + group_path + ": only one distinct id; cannot hold out whole " +
                          (group_role == "--stimulus-ids" ? "stimuli" : "groups"));
    if (c.rows.train.size() < 2)
        throw input_error(group_role + " " + group_path + ": holding out whole " +
                          (group_role == "--stimulus-ids" ? "stimuli" : "groups") + " leaves " +
                          std::to_string(c.rows.train.size()) + " training trials (need at least 2)");
    c.method = std::string("random by ") + (group_role == "--stimulus-ids" ? "stimulus" : "group") + " (" + group_role + " " +
               group_path + ", seed " + std::to_string(c.split_seed) + "; " + std::to_string(held_groups) + " of " +
               std::to_string(groups) + " held out)";
    return c;
}

std::string write_split(const std::string& dir, const split_choice& c, std::size_t n) {
    xt::xtensor<std::int8_t, 1> v = xt::zeros<std::int8_t>({n});
    for (auto i : c.rows.held_out) v(i) = 1;
    const std::string path = (std::filesystem::path(dir) / "split.npy").string();
    brain::save_npy(path, v);
    return path;
}

json_object split_json(const split_choice& c, const std::string& file) {
    json_object j;
    j.add("method", c.method)
        .add("file", file)
        .add("file_meaning", "int8, one value per trial in input order: 1 = held out, 0 = training")
        .add("training_trials", c.rows.train.size())
        .add("held_out_trials", c.rows.held_out.size());
    if (!c.stimulus_path.empty()) j.add("stimulus_ids", c.stimulus_path).add("stimuli", c.stimuli);
    if (!c.groups_path.empty()) j.add("groups", c.groups_path).add("distinct_groups", c.stimuli);
    return j;
}

void prepare_output_dir(const std::string& dir) {
    make_output_dir(dir);
    const auto probe = std::filesystem::path(dir) / (".b2m_write_test." + std::to_string(::getpid()));
    {
        std::ofstream f(probe);
        if (!f || !(f << "x") || !(f.flush()))
            throw input_error("--out " + dir + ": the output folder is not writable (checked before any work)");
    }
    std::error_code ec;
    std::filesystem::remove(probe, ec);
}

std::string check_scale(matrix<float>& x, const std::string& dtype, const std::string& path, bool no_scale) {
    const bool bytes = dtype == "|u1" || dtype == "uint8";
    if (bytes && !no_scale) {
        x /= 255.0f;
        return "note: --stimuli " + path + " holds uint8 values (pixels?): divided by 255 to [0, 1] (--no-scale keeps them)";
    }
    float top = 0;
    for (float v : x) top = std::max(top, std::abs(v));
    if (top >= 100.0f) {
        char b[64];
        std::snprintf(b, sizeof b, "%g", double(top));
        return std::string("warning: --stimuli ") + path + " has values up to " + b +
               " in magnitude: unscaled inputs train poorly (often to chance); standardise each feature (z-score) or "
               "divide by the range first";
    }
    return "";
}

bool progress_wanted(const parsed_args& a) {
    if (a.flag("quiet")) return false;
    if (a.flag("progress")) return true;
    return ::isatty(2) != 0;
}

std::string write_label_names(const std::string& dir, const std::vector<std::string>& names) {
    if (names.empty()) return "";
    json_object j;
    for (std::size_t k = 0; k < names.size(); ++k) j.add(std::to_string(k), names[k]);
    const std::string path = (std::filesystem::path(dir) / "label_names.json").string();
    write_text_atomically(path, j.str() + "\n");
    return path;
}

} // namespace b2m::cli
