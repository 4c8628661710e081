// b2m/nn/freeze.hpp - choosing the layers of an nn::sequential to freeze for fine-tuning,
// by tap name or by index range.
//
//   auto net = nn::sequential(conv.., relu, pool, nn::tap<"V1">{}, conv.., relu, pool,
//                             nn::tap<"V2">{}, ...);
//   nn::freeze(net, "V1,V2");      // the blocks ending at taps V1 and V2
//   nn::freeze(net, "0-3,7");      // layers 0..3 and 7 (0-based, every layer counts)
//   nn::freeze_range(net, 0, 3);
//
// The block of a tap is every layer after the previous tap (from layer 0 for the first
// tap) up to and including the tap, so in a student written as blocks that each end in a
// tap (CORnet's areas), "V1" names the V1 area. What freezing does: nn/sequential.hpp.
#pragma once

#include <cctype>
#include <cstddef>
#include <exception>
#include <string>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/nn/sequential.hpp"

namespace b2m::nn {

/// Inclusive range of layer indices.
struct layer_range {
    std::size_t first = 0; ///< First layer index.
    std::size_t last = 0;  ///< Last layer index (included).
};

/// The tap name of every layer of s ("" for a layer that is not a tap).
template <real T, class... Layers>
std::vector<std::string> tap_names(const sequential_t<T, Layers...>&) {
    std::vector<std::string> out;
    (out.push_back([] {
        if constexpr (detail::tap_name_of<Layers>::is_tap) return std::string(detail::tap_name_of<Layers>::name.view());
        else return std::string();
    }()),
     ...);
    return out;
}

/// The block of layers that ends at the tap `name` (see above). Throws error naming the
/// tap and listing the student's taps when it has none of that name.
template <class Student>
layer_range tap_block(const Student& s, const std::string& name) {
    const auto names = tap_names(s);
    std::size_t start = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i].empty()) continue;
        if (names[i] == name) return {start, i};
        start = i + 1;
    }
    std::string list;
    for (const auto& n : names)
        if (!n.empty()) list += (list.empty() ? "" : ", ") + n;
    throw error("nn::freeze: the student has no tap named '" + name + "' (its taps: " + (list.empty() ? "none" : list) + ")");
}

/// Freezes (frozen = true) or unfreezes layers first..last. Requires first <= last < size.
template <class Student>
void freeze_range(Student& s, std::size_t first, std::size_t last, bool frozen = true) {
    if (first > last || last >= Student::size)
        throw shape_error("nn::freeze_range: layers " + std::to_string(first) + ".." + std::to_string(last) +
                          " are not a range of the student's " + std::to_string(Student::size) + " layers");
    for (std::size_t i = first; i <= last; ++i) s.set_frozen(i, frozen);
}

/// Parses a selection of layers: comma-separated items, each a tap name (its block), a layer
/// index "3" or an index range "0-5" (inclusive). Returns the ranges in the order given.
/// Throws error naming the item that is neither (nothing is frozen then).
template <class Student>
std::vector<layer_range> select_layers(const Student& s, const std::string& spec) {
    std::vector<layer_range> out;
    std::size_t pos = 0;
    while (pos <= spec.size()) {
        const std::size_t comma = spec.find(',', pos);
        const std::string item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        pos = comma == std::string::npos ? spec.size() + 1 : comma + 1;
        if (item.empty()) throw error("nn::freeze: empty item in the layer selection '" + spec + "'");
        const bool numeric = item.find_first_not_of("0123456789-") == std::string::npos && std::isdigit(static_cast<unsigned char>(item[0]));
        if (!numeric) {
            out.push_back(tap_block(s, item));
            continue;
        }
        const std::size_t dash = item.find('-');
        layer_range r;
        try {
            r.first = std::stoul(item.substr(0, dash));
            r.last = dash == std::string::npos ? r.first : std::stoul(item.substr(dash + 1));
        } catch (const std::exception&) {
            throw error("nn::freeze: '" + item + "' is neither a tap name nor a layer index or range like 0-5");
        }
        if (r.first > r.last || r.last >= Student::size)
            throw shape_error("nn::freeze: layers '" + item + "' are not a range of the student's " +
                              std::to_string(Student::size) + " layers (0.." + std::to_string(Student::size - 1) + ")");
        out.push_back(r);
    }
    return out;
}

/// Freezes the layers named by spec (see select_layers); returns the ranges frozen.
template <class Student>
std::vector<layer_range> freeze(Student& s, const std::string& spec) {
    const auto ranges = select_layers(s, spec);  // all items checked before anything changes
    for (const auto& r : ranges) freeze_range(s, r.first, r.last);
    return ranges;
}

/// Name prefixes ("3.", ...) of the parameters of the layers named by spec, for
/// optim::param_group (e.g. a smaller learning rate for the backbone "V1,V2,V4").
template <class Student>
std::vector<std::string> param_prefixes(const Student& s, const std::string& spec) {
    std::vector<std::string> out;
    for (const auto& r : select_layers(s, spec))
        for (std::size_t i = r.first; i <= r.last; ++i) out.push_back(std::to_string(i) + ".");
    return out;
}

} // namespace b2m::nn
