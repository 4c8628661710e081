// b2m/io/npz.hpp - numpy .npz archives (np.savez / np.savez_compressed): named arrays.
//
//   for (auto& e : io::list_npz("w.npz")) std::cout << e.name << shape_string(e.shape);
//   auto x = io::read_npz_member<float, 2>("data.npz", "stimuli");   // rank and dtype checked
//   auto y = io::load_array<double, 2>("data.npz:stimuli");          // or "file.npy"
//   io::write_npz("out.npz", arrays, /*compressed=*/false);           // atomic
//
// Member names are the array names without ".npy" (numpy's convention). Every member is
// validated by io::zip_reader (sizes vs the file, inflation, CRC) and io::parse_npy
// (header vs member size) before its data are used; errors are io_error / data_error /
// shape_error naming the file and the array.
#pragma once

#include <string>
#include <vector>

#include <xtensor/xadapt.hpp>

#include "b2m/brain/npy.hpp"
#include "b2m/io/array.hpp"
#include "b2m/io/zip.hpp"

namespace b2m::io {

namespace detail {
inline std::string npz_array_name(const std::string& member) {
    if (member.size() > 4 && member.compare(member.size() - 4, 4, ".npy") == 0) return member.substr(0, member.size() - 4);
    return member;
}
inline std::string npz_what(const std::string& path, const std::string& name) {
    return path + ": array '" + name + "'";
}
} // namespace detail

/// Every array of the archive, in archive order (names without ".npy"). A member name
/// that appears twice (as "x" and "x.npy") is an io_error naming it.
inline std::vector<array> read_npz(const std::string& path) {
    zip_reader z(path);
    for (const auto& m : z.members())
        if (m.name == "data.pkl" || (m.name.size() > 9 && m.name.compare(m.name.size() - 9, 9, "/data.pkl") == 0))
            throw io_error(path + ": a torch.save checkpoint (pickled, member '" + m.name +
                           "'), which b2m does not unpickle; write the weights with np.savez(path, **{k: v.numpy() "
                           "for k, v in model.state_dict().items()}) or safetensors");
    std::vector<array> out;
    for (const auto& m : z.members()) {
        const std::string name = detail::npz_array_name(m.name);
        for (const auto& a : out)
            if (a.name == name) throw io_error(path + ": duplicate array '" + name + "'");
        array a = parse_npy(z.read(m), detail::npz_what(path, name));
        a.name = name;
        out.push_back(std::move(a));
    }
    return out;
}

/// What list_npz reports per array.
struct npz_entry {
    std::string name;               ///< the array's name (the member name without ".npy")
    std::string dtype;              ///< numpy descr, e.g. "<f4"
    std::vector<std::size_t> shape; ///< the array's shape
};

/// Names, dtypes and shapes of the archive's arrays (each member is read and validated).
inline std::vector<npz_entry> list_npz(const std::string& path) {
    std::vector<npz_entry> out;
    for (auto& a : read_npz(path)) out.push_back({a.name, a.dtype, a.shape});
    return out;
}

/// The array `name` (with or without ".npy") of the archive. io_error naming the file and
/// the array (and the arrays present) when it is absent.
inline array read_npz_array(const std::string& path, const std::string& name) {
    zip_reader z(path);
    const std::string base = detail::npz_array_name(name);
    const zip_member* m = z.find(base + ".npy");
    if (!m) m = z.find(base);
    if (!m) {
        std::string have;
        for (const auto& mm : z.members()) have += (have.empty() ? "" : ", ") + detail::npz_array_name(mm.name);
        throw io_error(path + ": no array '" + base + "' (the archive holds: " + (have.empty() ? "nothing" : have) + ")");
    }
    array a = parse_npy(z.read(*m), detail::npz_what(path, base));
    a.name = base;
    return a;
}

/// Array `name` of the archive as a row-major tensor<T, N> (any numeric dtype converted).
/// Requires: the array's rank is N (else shape_error naming the file, array and shape).
template <real T, std::size_t N>
tensor<T, N> read_npz_member(const std::string& path, const std::string& name) {
    const array a = read_npz_array(path, name);
    const std::string what = detail::npz_what(path, a.name);
    if (a.shape.size() != N)
        throw shape_error(what + " has shape " + shape_string(a.shape) + " (rank " + std::to_string(a.shape.size()) +
                          ") but rank " + std::to_string(N) + " is required");
    std::array<std::size_t, N> sh{};
    for (std::size_t k = 0; k < N; ++k) sh[k] = a.shape[k];
    tensor<T, N> t = tensor<T, N>::from_shape(sh);
    const auto v = a.values<T>(what);
    std::copy(v.begin(), v.end(), t.begin());
    return t;
}

/// Loads "file.npy" (brain::load_npy) or "file.npz:array" (read_npz_member) as tensor<T, N>.
/// A path ending in ".npz" without ":array" is accepted when the archive holds one array.
template <real T, std::size_t N>
tensor<T, N> load_array(const std::string& spec) {
    const auto colon = spec.rfind(':');
    if (colon != std::string::npos) {
        const std::string file = spec.substr(0, colon);
        if (file.size() > 4 && file.compare(file.size() - 4, 4, ".npz") == 0)
            return read_npz_member<T, N>(file, spec.substr(colon + 1));
    }
    if (spec.size() > 4 && spec.compare(spec.size() - 4, 4, ".npz") == 0) {
        zip_reader z(spec);
        if (z.members().size() != 1)
            throw io_error(spec + ": holds " + std::to_string(z.members().size()) +
                           " arrays; name one as '" + spec + ":name'");
        return read_npz_member<T, N>(spec, z.members()[0].name);
    }
    return brain::load_npy<T, N>(spec);
}

/// Writes arrays (unique non-empty names) as an .npz atomically: stored members as
/// np.savez, or deflated as np.savez_compressed.
inline void write_npz(const std::string& path, const std::vector<array>& arrays, bool compressed = false) {
    std::vector<std::pair<std::string, std::string>> members;
    members.reserve(arrays.size());
    for (const auto& a : arrays) {
        if (a.name.empty()) throw io_error(path + ": an array has an empty name");
        members.emplace_back(a.name + ".npy", to_npy(a));
    }
    write_zip(path, members, compressed);
}

} // namespace b2m::io
