// b2m/io/state_dict.hpp - a student's weights as a PyTorch state_dict, in .npz (numpy
// savez / savez_compressed) or .safetensors files.
//
//   io::save_state_dict(student, "student.npz");               // PyTorch names and layouts
//   io::load_state_dict(student, "resnet.safetensors");         // strict: all or nothing
//   auto r = io::load_state_dict(student, "w.npz", {.strict = false});   // r.missing, ...
//   io::load_state_dict(student, "alexnet.npz", {.prefix = "features."});
//   io::load_state_dict(student, "cornet.npz", {.names = {{"0.", "V1.conv."}, ...}});
//
// Names. A student's state_dict names are those of the equivalent torch.nn.Sequential:
// "<module index>.<tensor>", where the index counts every layer of the nn::sequential
// (parameter-free ones such as relu, flatten, pooling included) except taps, which are not
// modules. (b2m's own for_each_param numbering counts taps; state_entry::b2m_name gives
// it.) options.names maps such a default name to the file's name: a key equal to the full
// name ("2.weight"), or a module prefix ending in '.' ("0." -> "V1.conv."; the longest
// matching key wins). options.prefix is then prepended ("features."); with a prefix,
// tensors of the file outside it are ignored (reported in load_result::ignored).
//
// Layouts (PyTorch's; b2m's own storage in brackets):
//   dense / time_distributed     weight (out, in) [(in, out), transposed], bias (out)
//   conv2d                       weight (C_out, C_in, k, k) [(C_out, C_in*k*k)], bias (C_out)
//   conv_transpose2d             weight (C_in, C_out, k, k) [(C_in, C_out*k*k)], bias (C_out)
//   conv1d                       weight (C_out, C_in, k) [(C_out, C_in*k)], bias (C_out)
//   temporal_conv (Conv1d)       weight (out, in, k) [(k*in, out): w[s*in+f, o] = torch[o, f, s]]
//   batch_norm                   weight, bias, running_mean, running_var (C) [gamma, beta,
//                                ...], num_batches_tracked () int64 (b2m does not count
//                                batches: written as 0, ignored when read, optional)
//   layer_norm                   weight, bias (F) [gamma, beta]
//   rnn / gru / lstm             weight_ih_l0 (G*H, F), weight_hh_l0 (G*H, H) [transposed],
//                                bias_ih_l0, bias_hh_l0 (G*H); gate blocks r,z,n / i,f,g,o;
//                                a learned initial state keeps b2m's names h0, c0 (1, H)
//   any other layer              its for_each_param / for_each_buffer names, shape as stored
//                                ((1, n) rows become (n))
// A file tensor matches when its shape equals the expected one after dropping size-1
// dimensions (so SoundNet's Conv2d (O, I, k, 1) weights load into a conv1d).
//
// Loading (load_state_dict) reads and validates the whole file first (io/npz.hpp,
// io/safetensors.hpp), then checks every expected tensor: present, shape, a floating dtype
// (num_batches_tracked: integer), finite values. strict (default): any missing name,
// unexpected name, shape mismatch (both shapes given) or bad dtype/value is ONE
// state_dict_error listing all of them, naming the file, and the student is unchanged.
// strict = false: loads the tensors that match and returns what it skipped. Either way a
// student is never left half-written by a failed conversion (values are converted first).
// Saving (save_state_dict) writes float32 for a float student and float64 for double
// (options.dtype overrides), in the format of the file's extension (.npz, .safetensors),
// atomically.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "b2m/core/error.hpp"
#include "b2m/io/array.hpp"
#include "b2m/io/npz.hpp"
#include "b2m/io/safetensors.hpp"
#include "b2m/nn/batch_norm.hpp"
#include "b2m/nn/conv1d.hpp"
#include "b2m/nn/conv2d.hpp"
#include "b2m/nn/conv_transpose2d.hpp"
#include "b2m/nn/dense.hpp"
#include "b2m/nn/layer_norm.hpp"
#include "b2m/nn/recurrent.hpp"
#include "b2m/nn/tap.hpp"
#include "b2m/nn/temporal_conv.hpp"
#include "b2m/nn/time_distributed.hpp"

namespace b2m::io {

/// A strict load found problems; what() lists every one and names the file.
struct state_dict_error : shape_error {
    using shape_error::shape_error;
};

/// How a b2m matrix maps to the PyTorch tensor.
enum class tensor_layout {
    same,       ///< same elements in the same order (reshape only)
    transpose,  ///< b2m (r, c) is torch (c, r)
    time_conv,  ///< temporal_conv: b2m (k*F, K), torch (K, F, k)
    counter,    ///< num_batches_tracked: no b2m storage
};

/// One tensor of a student's state_dict.
struct state_entry {
    std::string name;                ///< in the file (after names and prefix)
    std::string default_name;        ///< "<torch module index>.<tensor>"
    std::string b2m_name;            ///< for_each_param / for_each_buffer name ("" for counters)
    std::vector<std::size_t> shape;  ///< PyTorch's shape
    tensor_layout layout = tensor_layout::same; ///< how the b2m matrix maps to the PyTorch tensor
    bool buffer = false;             ///< running statistics / counters, not parameters
};

/// Options of load_state_dict.
struct load_options {
    bool strict = true;                          ///< any problem throws state_dict_error, nothing loaded (false: load what matches)
    std::string prefix{};                        ///< prepended to every name, e.g. "features."
    std::map<std::string, std::string> names{};  ///< default name or module prefix -> file name
};

/// What load_state_dict did (with strict, only returned when ok()).
struct load_result {
    std::vector<std::string> loaded;      ///< file names loaded into the student
    std::vector<std::string> missing;     ///< expected, absent from the file
    std::vector<std::string> unexpected;  ///< in the file (inside the prefix), not expected
    std::vector<std::string> mismatched;  ///< "name: file (a, b) vs student (b, a)" or a dtype/value problem
    std::vector<std::string> ignored;     ///< outside options.prefix
    /// No missing, unexpected or mismatched tensor.
    bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
};

/// Options of save_state_dict.
struct save_options {
    std::string prefix{};                        ///< as load_options
    std::map<std::string, std::string> names{};  ///< as load_options
    ///@{
    /// the element type written: native (float32 for a float student, float64 for double) or forced
    enum class dtype { native, float32, float64 } type = dtype::native;
    ///@}
    bool compressed = false;  ///< .npz only: deflate (np.savez_compressed)
};

namespace detail {

template <real T>
struct slot {
    state_entry e;
    matrix<T>* value = nullptr;  ///< nullptr for counters
    std::size_t d0 = 0, d1 = 0;  ///< time_conv: F, k
};

inline std::vector<std::size_t> row_shape(const std::vector<std::size_t>& s) {
    if (s.size() == 2 && s[0] == 1) return {s[1]};
    return s;
}
template <real T>
std::vector<std::size_t> shape_of(const matrix<T>& m) {
    return {m.shape(0), m.shape(1)};
}

template <class L>
struct is_recurrent : std::false_type {};
template <real T, class C>
struct is_recurrent<nn::recurrent_layer<T, C>> : std::true_type {};

/// Emits the torch tensors of one layer: emit(torch local name, torch shape, value, layout,
/// b2m local name, is buffer, d0, d1).
template <real T, class L, class Emit>
void layer_tensors(L& l, Emit&& emit) {
    using lay = tensor_layout;
    if constexpr (std::is_same_v<L, nn::dense_layer<T>> || std::is_same_v<L, nn::time_distributed_layer<T>>) {
        l.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>&) {
            if (n == "weight") emit("weight", std::vector<std::size_t>{v.shape(1), v.shape(0)}, &v, lay::transpose, n, false, 0, 0);
            else emit(n, row_shape(shape_of(v)), &v, lay::same, n, false, 0, 0);
        });
    } else if constexpr (std::is_same_v<L, nn::conv2d_layer<T>>) {
        const std::size_t ci = l.input_shape().channels;
        l.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>&) {
            if (n == "weight") {
                const auto k = std::size_t(std::llround(std::sqrt(double(v.shape(1) / ci))));
                emit(n, std::vector<std::size_t>{v.shape(0), ci, k, k}, &v, lay::same, n, false, 0, 0);
            } else emit(n, row_shape(shape_of(v)), &v, lay::same, n, false, 0, 0);
        });
    } else if constexpr (std::is_same_v<L, nn::conv_transpose2d_layer<T>>) {
        const std::size_t co = l.output_shape().channels;
        l.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>&) {
            if (n == "weight") {
                const auto k = std::size_t(std::llround(std::sqrt(double(v.shape(1) / co))));
                emit(n, std::vector<std::size_t>{v.shape(0), co, k, k}, &v, lay::same, n, false, 0, 0);
            } else emit(n, row_shape(shape_of(v)), &v, lay::same, n, false, 0, 0);
        });
    } else if constexpr (std::is_same_v<L, nn::conv1d_layer<T>>) {
        const std::size_t ci = l.input_shape().channels;
        l.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>&) {
            if (n == "weight") emit(n, std::vector<std::size_t>{v.shape(0), ci, v.shape(1) / ci}, &v, lay::same, n, false, 0, 0);
            else emit(n, row_shape(shape_of(v)), &v, lay::same, n, false, 0, 0);
        });
    } else if constexpr (std::is_same_v<L, nn::temporal_conv_layer<T>>) {
        const std::size_t F = l.in_features(), k = l.kernel_size();
        l.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>&) {
            if (n == "weight") emit(n, std::vector<std::size_t>{v.shape(1), F, k}, &v, lay::time_conv, n, false, F, k);
            else emit(n, row_shape(shape_of(v)), &v, lay::same, n, false, 0, 0);
        });
    } else if constexpr (std::is_same_v<L, nn::batch_norm_layer<T>> || std::is_same_v<L, nn::layer_norm_layer<T>>) {
        l.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>&) {
            emit(n == "gamma" ? "weight" : n == "beta" ? "bias" : n, row_shape(shape_of(v)), &v, lay::same, n, false, 0, 0);
        });
        if constexpr (std::is_same_v<L, nn::batch_norm_layer<T>>) {
            l.for_each_buffer([&](const std::string& n, matrix<T>& v) {
                emit(n, row_shape(shape_of(v)), &v, lay::same, n, true, 0, 0);
            });
            emit("num_batches_tracked", std::vector<std::size_t>{}, static_cast<matrix<T>*>(nullptr), lay::counter, "",
                 true, 0, 0);
        }
    } else if constexpr (is_recurrent<L>::value) {
        l.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>&) {
            if (n == "weight_ih" || n == "weight_hh")
                emit(n + "_l0", std::vector<std::size_t>{v.shape(1), v.shape(0)}, &v, lay::transpose, n, false, 0, 0);
            else if (n == "bias_ih" || n == "bias_hh")
                emit(n + "_l0", row_shape(shape_of(v)), &v, lay::same, n, false, 0, 0);
            else emit(n, shape_of(v), &v, lay::same, n, false, 0, 0);
        });
    } else {
        l.for_each_param([&](const std::string& n, matrix<T>& v, matrix<T>&) {
            emit(n, row_shape(shape_of(v)), &v, lay::same, n, false, 0, 0);
        });
        if constexpr (requires { l.for_each_buffer([](const std::string&, matrix<T>&) {}); })
            l.for_each_buffer([&](const std::string& n, matrix<T>& v) {
                emit(n, row_shape(shape_of(v)), &v, lay::same, n, true, 0, 0);
            });
    }
}

inline std::string map_name(const std::string& def, const std::string& prefix,
                            const std::map<std::string, std::string>& names) {
    std::string n = def;
    const auto exact = names.find(def);
    if (exact != names.end()) n = exact->second;
    else {
        std::size_t best = 0;
        for (const auto& [k, v] : names)
            if (!k.empty() && k.back() == '.' && def.compare(0, k.size(), k) == 0 && k.size() > best) {
                best = k.size();
                n = v + def.substr(k.size());
            }
    }
    return prefix + n;
}

template <class Student>
auto collect(Student& s, const std::string& prefix, const std::map<std::string, std::string>& names) {
    using T = typename Student::value_type;
    std::vector<slot<T>> out;
    std::size_t module = 0;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                auto& l = s.template layer<I>();
                using L = std::remove_cvref_t<decltype(l)>;
                if constexpr (!nn::detail::tap_name_of<L>::is_tap) {
                    const std::string mod = std::to_string(module++) + ".";
                    layer_tensors<T>(l, [&](const std::string& n, std::vector<std::size_t> shape, matrix<T>* v,
                                            tensor_layout lay, const std::string& bn, bool buf, std::size_t d0,
                                            std::size_t d1) {
                        slot<T> sl;
                        sl.e.default_name = mod + n;
                        sl.e.name = map_name(sl.e.default_name, prefix, names);
                        sl.e.b2m_name = bn.empty() ? std::string() : std::to_string(I) + "." + bn;
                        sl.e.shape = std::move(shape);
                        sl.e.layout = lay;
                        sl.e.buffer = buf;
                        sl.value = v;
                        sl.d0 = d0;
                        sl.d1 = d1;
                        out.push_back(std::move(sl));
                    });
                }
            }(),
            ...);
    }(std::make_index_sequence<Student::size>{});
    std::set<std::string> seen;
    for (const auto& sl : out)
        if (!seen.insert(sl.e.name).second)
            throw error("io: two tensors of the student map to the name '" + sl.e.name + "' (check options.names)");
    return out;
}

inline std::vector<std::size_t> squeeze(const std::vector<std::size_t>& s) {
    std::vector<std::size_t> r;
    for (auto d : s)
        if (d != 1) r.push_back(d);
    return r;
}

/// The torch-order values of a slot.
template <real T, class U>
std::vector<U> to_torch(const slot<T>& s) {
    const matrix<T>& m = *s.value;
    std::vector<U> v(m.size());
    if (s.e.layout == tensor_layout::same) {
        for (std::size_t i = 0; i < m.size(); ++i) v[i] = U(m.data()[i]);
    } else if (s.e.layout == tensor_layout::transpose) {
        const std::size_t r = m.shape(0), c = m.shape(1);
        for (std::size_t i = 0; i < r; ++i)
            for (std::size_t j = 0; j < c; ++j) v[j * r + i] = U(m.data()[i * c + j]);
    } else {  // time_conv: torch[o, f, t] = m[t*F + f, o]
        const std::size_t F = s.d0, k = s.d1, K = m.shape(1);
        for (std::size_t o = 0; o < K; ++o)
            for (std::size_t f = 0; f < F; ++f)
                for (std::size_t t = 0; t < k; ++t) v[(o * F + f) * k + t] = U(m.data()[(t * F + f) * K + o]);
    }
    return v;
}

/// Writes torch-order values into the slot's matrix.
template <real T>
void from_torch(const slot<T>& s, const std::vector<T>& v) {
    matrix<T>& m = *s.value;
    if (s.e.layout == tensor_layout::same) {
        std::copy(v.begin(), v.end(), m.data());
    } else if (s.e.layout == tensor_layout::transpose) {
        const std::size_t r = m.shape(0), c = m.shape(1);
        for (std::size_t i = 0; i < r; ++i)
            for (std::size_t j = 0; j < c; ++j) m.data()[i * c + j] = v[j * r + i];
    } else {
        const std::size_t F = s.d0, k = s.d1, K = m.shape(1);
        for (std::size_t o = 0; o < K; ++o)
            for (std::size_t f = 0; f < F; ++f)
                for (std::size_t t = 0; t < k; ++t) m.data()[(t * F + f) * K + o] = v[(o * F + f) * k + t];
    }
}

inline bool ends_with(const std::string& s, const std::string& e) {
    return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

inline bool is_float_dtype(const std::string& d) { return d == "<f4" || d == "<f8" || d == "<f2" || d == "bf16"; }
inline bool is_int_dtype(const std::string& d) {
    return d == "<i8" || d == "<i4" || d == "<i2" || d == "|i1" || d == "|u1" || d == "<u2" || d == "<u4" || d == "<u8";
}

} // namespace detail

/// Reads every tensor of a .npz or .safetensors file (by extension; otherwise by its first
/// bytes: "PK" is a zip archive). Validated as io/npz.hpp and io/safetensors.hpp describe.
inline std::vector<array> read_weights(const std::string& path) {
    if (detail::ends_with(path, ".npz")) return read_npz(path);
    if (detail::ends_with(path, ".safetensors")) return read_safetensors(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(path + ": cannot open weight file");
    char m[2] = {0, 0};
    in.read(m, 2);
    if (m[0] == 'P' && m[1] == 'K') return read_npz(path);
    return read_safetensors(path);
}

/// Writes tensors as .npz (compressed: deflate) or .safetensors, by the path's extension
/// (io_error for another extension). Atomic.
inline void write_weights(const std::string& path, const std::vector<array>& arrays, bool compressed = false) {
    if (detail::ends_with(path, ".npz")) write_npz(path, arrays, compressed);
    else if (detail::ends_with(path, ".safetensors")) write_safetensors(path, arrays, {{"format", "pt"}});
    else throw io_error(path + ": unknown weight file extension (b2m writes .npz and .safetensors)");
}

/// The tensors of the student's state_dict, in module order (names after names/prefix).
template <class Student>
std::vector<state_entry> state_dict_entries(Student& student, const std::string& prefix = {},
                                            const std::map<std::string, std::string>& names = {}) {
    std::vector<state_entry> out;
    for (auto& s : detail::collect(student, prefix, names)) out.push_back(s.e);
    return out;
}

/// Loads PyTorch-named weights from `path` into `student` (see the file comment).
template <class Student>
load_result load_state_dict(Student& student, const std::string& path, const load_options& o = {}) {
    using T = typename Student::value_type;
    auto slots = detail::collect(student, o.prefix, o.names);
    const std::vector<array> arrays = read_weights(path);
    load_result r;
    std::map<std::string, const array*> by_name;
    for (const auto& a : arrays) {
        if (!by_name.emplace(a.name, &a).second) throw io_error(path + ": duplicate tensor '" + a.name + "'");
        if (!o.prefix.empty() && a.name.compare(0, o.prefix.size(), o.prefix) != 0) r.ignored.push_back(a.name);
    }
    std::set<std::string> expected;
    std::vector<std::pair<const detail::slot<T>*, std::vector<T>>> ready;
    for (const auto& s : slots) {
        expected.insert(s.e.name);
        const auto it = by_name.find(s.e.name);
        if (it == by_name.end()) {
            if (s.e.layout != tensor_layout::counter) r.missing.push_back(s.e.name);
            continue;
        }
        const array& a = *it->second;
        if (detail::squeeze(a.shape) != detail::squeeze(s.e.shape)) {
            r.mismatched.push_back(s.e.name + ": file " + shape_string(a.shape) + " vs student " + shape_string(s.e.shape));
            continue;
        }
        if (s.e.layout == tensor_layout::counter) {
            if (!detail::is_int_dtype(a.dtype))
                r.mismatched.push_back(s.e.name + ": dtype '" + a.dtype + "' but an integer counter is expected");
            else r.loaded.push_back(s.e.name);
            continue;
        }
        if (!detail::is_float_dtype(a.dtype)) {
            r.mismatched.push_back(s.e.name + ": dtype '" + a.dtype + "' but a floating-point tensor is expected");
            continue;
        }
        std::vector<T> v = a.values<T>(path + ": tensor '" + a.name + "'");
        bool finite = true;
        for (auto x : v)
            if (!std::isfinite(x)) {
                finite = false;
                break;
            }
        if (!finite) {
            r.mismatched.push_back(s.e.name + ": holds NaN or infinite values");
            continue;
        }
        ready.emplace_back(&s, std::move(v));
    }
    for (const auto& a : arrays)
        if ((o.prefix.empty() || a.name.compare(0, o.prefix.size(), o.prefix) == 0) && !expected.count(a.name))
            r.unexpected.push_back(a.name);
    if (o.strict && !r.ok()) {
        std::string m = path + ": load_state_dict (strict) found ";
        auto list = [&](const char* what, const std::vector<std::string>& v) {
            if (v.empty()) return;
            m += std::to_string(v.size()) + " " + what + " [";
            for (std::size_t i = 0; i < v.size(); ++i) m += (i ? "; " : "") + v[i];
            m += "] ";
        };
        list("missing", r.missing);
        list("unexpected", r.unexpected);
        list("mismatched", r.mismatched);
        m += "(the student is unchanged)";
        throw state_dict_error(m);
    }
    for (const auto& [s, v] : ready) {
        detail::from_torch(*s, v);
        r.loaded.push_back(s->e.name);
    }
    return r;
}

/// Writes the student's state_dict (PyTorch names and layouts) to path (.npz or .safetensors).
template <class Student>
void save_state_dict(Student& student, const std::string& path, const save_options& o = {}) {
    using T = typename Student::value_type;
    const auto slots = detail::collect(student, o.prefix, o.names);
    const bool f32 = o.type == save_options::dtype::float32 ||
                     (o.type == save_options::dtype::native && std::is_same_v<T, float>);
    std::vector<array> arrays;
    for (const auto& s : slots) {
        if (s.e.layout == tensor_layout::counter) {
            arrays.push_back(make_array<std::int64_t>(s.e.name, {}, std::vector<std::int64_t>{0}));
            continue;
        }
        if (f32) arrays.push_back(make_array<float>(s.e.name, s.e.shape, detail::to_torch<T, float>(s)));
        else arrays.push_back(make_array<double>(s.e.name, s.e.shape, detail::to_torch<T, double>(s)));
    }
    write_weights(path, arrays, o.compressed);
}

} // namespace b2m::io
