// The ready-made students (include/b2m/models/) against their PyTorch twins: weights
// written by PyTorch (tests/fixtures/make_interop_fixtures.py: np.savez, np.savez_compressed
// and a .safetensors file, under torch's own names: CORnet's "module.V1.conv.weight",
// torchvision's "features.0.weight", soundnet_pytorch's Conv2d (k, 1) kernels, ...) are
// loaded strictly and every tap and the output must equal torch's (norm-wise relative
// error: double <= 1e-10, float <= 1e-5); two small chains cover the layouts the students
// do not use (LSTM, temporal_conv as Conv1d, per-step Linear, BatchNorm1d, LayerNorm). Then each is exported and read back
// (.npz, compressed .npz, .safetensors) with identical outputs. Label: interop.
// With B2M_INTEROP_EXPORT_DIR set, the export case also writes each model's state_dict and
// its input and output there, for `make_interop_fixtures.py --check-export DIR` (PyTorch
// loads them with strict=True). The tests themselves need no Python.
#include <doctest/doctest.h>

#include <b2m/io/npz.hpp>
#include <b2m/io/state_dict.hpp>
#include <b2m/models.hpp>
#include <b2m/nn.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

using namespace b2m;

namespace {

std::string fixture(const std::string& f) { return std::string(B2M_TEST_DIR) + "/fixtures/interop/" + f; }

template <class T>
double rel_error(const matrix<T>& a, const matrix<double>& ref) {
    REQUIRE(a.shape(0) == ref.shape(0));
    REQUIRE(a.shape(1) == ref.shape(1));
    double num = 0, den = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double d = double(a.data()[i]) - ref.data()[i];
        num += d * d;
        den += ref.data()[i] * ref.data()[i];
    }
    REQUIRE(den > 0);  // an all-zero reference would make the check vacuous
    return std::sqrt(num / den);
}

template <class T>
constexpr double tolerance() {
    return std::is_same_v<T, double> ? 1e-10 : 1e-5;
}

/// Runs net in evaluation mode on the fixture's input and compares the output and the taps.
template <class Net, class Taps>
void check_against_torch(Net& net, const std::string& model, Taps&& taps) {
    using T = typename Net::value_type;
    const std::string io_file = fixture(model + "_io.npz");
    const matrix<T> x = io::read_npz_member<T, 2>(io_file, "x");
    net.forward(x, nn::step_context{.training = false});
    const double e = rel_error(net.output(), io::read_npz_member<double, 2>(io_file, "output"));
    INFO(model << " output: relative error " << e);
    CHECK(e <= tolerance<T>());
    double worst = e;
    std::size_t n = 0;
    taps(net, [&](const char* name, const matrix<T>& value) {
        const double et = rel_error(value, io::read_npz_member<double, 2>(io_file, std::string("tap_") + name));
        INFO(model << " tap " << name << ": relative error " << et);
        CHECK(et <= tolerance<T>());
        worst = std::max(worst, et);
        ++n;
    });
    MESSAGE(model << " (" << std::string(std::is_same_v<T, double> ? "double" : "float") << "): output and " << n
                  << " taps, largest relative error " << worst);
}

auto cornet_spec() { return models::cornet_z_options{.image = 32, .in_channels = 3, .channels = {4, 8, 12, 16}, .classes = 10}; }
auto alexnet_spec() { return models::alexnet_options{.image = 32, .in_channels = 3, .channels = {6, 10, 12, 8, 8}, .fc = 24, .classes = 10}; }
auto alexnet64_spec() { return models::alexnet_options{.image = 64, .in_channels = 3, .channels = {4, 6, 8, 6, 6}, .fc = 16, .classes = 5}; }
auto soundnet_spec() { return models::soundnet8_options{.samples = 16384, .width = 2}; }
auto gru_spec() { return models::decision_gru_options{.features = 3, .hidden = 5, .classes = 2}; }
auto vae_spec() { return models::conv_vae_options{.image = {1, 16, 16}, .channels = {4, 6}, .latent = 3}; }

template <class T>
void cornet_case() {
    auto net = models::cornet_z<T>(cornet_spec());
    const auto r = io::load_state_dict(net, fixture("cornet_z.npz"),
                                       {.prefix = "module.", .names = models::cornet_z_torch_names()});
    CHECK(r.loaded.size() == 10);
    check_against_torch(net, "cornet_z", [](auto& n, auto&& cmp) {
        cmp("V1", n.template tap<"V1">().value());
        cmp("V2", n.template tap<"V2">().value());
        cmp("V4", n.template tap<"V4">().value());
        cmp("IT", n.template tap<"IT">().value());
    });
}

template <class Net>
void alexnet_taps(Net& net, const std::string& model) {
    check_against_torch(net, model, [](auto& n, auto&& cmp) {
        cmp("conv1", n.template tap<"conv1">().value());
        cmp("conv2", n.template tap<"conv2">().value());
        cmp("conv3", n.template tap<"conv3">().value());
        cmp("conv4", n.template tap<"conv4">().value());
        cmp("conv5", n.template tap<"conv5">().value());
        cmp("fc6", n.template tap<"fc6">().value());
        cmp("fc7", n.template tap<"fc7">().value());
    });
}

template <class T>
void soundnet_case() {
    auto net = models::soundnet8_features<T>(soundnet_spec());
    const auto r = io::load_state_dict(net, fixture("soundnet8.safetensors"), {.names = models::soundnet8_torch_names()});
    CHECK(r.loaded.size() == 7 * 2 + 7 * 5);  // conv weight+bias, bn weight+bias+stats+counter
    check_against_torch(net, "soundnet8", [](auto& n, auto&& cmp) {
        cmp("conv4", n.template tap<"conv4">().value());
        cmp("conv5", n.template tap<"conv5">().value());
        cmp("conv6", n.template tap<"conv6">().value());
        cmp("conv7", n.template tap<"conv7">().value());
    });
}

template <class T>
void gru_case() {
    auto net = models::decision_gru<T>(gru_spec());
    io::load_state_dict(net, fixture("decision_gru.npz"));
    check_against_torch(net, "decision_gru",
                        [](auto& n, auto&& cmp) { cmp("states", n.template tap<"states">().value()); });
}

template <class T>
void vae_case() {
    auto net = models::conv_vae<T>(vae_spec());
    io::load_state_dict(net, fixture("conv_vae.npz"));
    check_against_torch(net, "conv_vae", [](auto& n, auto&& cmp) {
        cmp("stats", n.template tap<"stats">().value());
        cmp("z", n.template tap<"z">().value());
    });
}

template <real T>
auto seq_layers() {
    return nn::sequential<T>(nn::lstm(3, 4), nn::tap<"lstm">{},
                             nn::temporal_conv(4, 5, 3, {.padding = nn::time_padding::same}), nn::tap<"tconv">{},
                             nn::time_distributed(nn::dense(5, 2)));
}
template <real T>
auto mlp_norms() {
    return nn::sequential<T>(nn::dense(6, 8), nn::batch_norm(8), nn::layer_norm{.features = 8}, nn::tap<"norm">{},
                             nn::relu{}, nn::dense(8, 3));
}

template <class T>
void seq_case() {
    auto net = seq_layers<T>();
    io::load_state_dict(net, fixture("seq_layers.npz"));
    check_against_torch(net, "seq_layers", [](auto& n, auto&& cmp) {
        cmp("lstm", n.template tap<"lstm">().value());
        cmp("tconv", n.template tap<"tconv">().value());
    });
}

template <class T>
void mlp_case() {
    auto net = mlp_norms<T>();
    io::load_state_dict(net, fixture("mlp_norms.npz"));
    check_against_torch(net, "mlp_norms", [](auto& n, auto&& cmp) { cmp("norm", n.template tap<"norm">().value()); });
}

/// Saves net (loaded from the fixture) as .npz, compressed .npz and .safetensors, loads
/// each into a fresh student `make()` and requires bit-identical outputs.
template <class Make>
void round_trip(Make&& make, const std::string& model, const std::string& weights, const io::load_options& lo) {
    auto net = make();
    io::load_state_dict(net, fixture(weights), lo);
    const matrix<double> x = io::read_npz_member<double, 2>(fixture(model + "_io.npz"), "x");
    const matrix<double> y = net.forward(x, nn::step_context{.training = false});
    const auto dir = std::filesystem::temp_directory_path() / ("b2m_interop_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    for (const auto& [file, compressed] : {std::pair{model + ".npz", false}, std::pair{model + "_c.npz", true},
                                          std::pair{model + ".safetensors", false}}) {
        const std::string path = (dir / file).string();
        io::save_state_dict(net, path, {.compressed = compressed});
        auto back = make();
        const auto r = io::load_state_dict(back, path);  // strict, default (Sequential) names
        CHECK(r.ok());
        const matrix<double> y2 = back.forward(x, nn::step_context{.training = false});
        INFO(model << " via " << file);
        CHECK(y2 == y);
    }
    std::filesystem::remove_all(dir);
    if (const char* out = std::getenv("B2M_INTEROP_EXPORT_DIR")) {
        std::filesystem::create_directories(out);
        const std::string base = std::string(out) + "/" + model;
        io::save_state_dict(net, base + ".npz");
        io::save_state_dict(net, base + ".safetensors");
        auto to_vec = [](const matrix<double>& m) { return std::vector<double>(m.begin(), m.end()); };
        io::write_npz(base + "_io.npz", {io::make_array("x", {x.shape(0), x.shape(1)}, to_vec(x)),
                                         io::make_array("output", {y.shape(0), y.shape(1)}, to_vec(y))});
        MESSAGE("wrote " << base << ".npz, .safetensors, _io.npz");
    }
}

} // namespace

TEST_SUITE("interop") {

TEST_CASE_TEMPLATE("CORnet-Z with its official names under module. equals PyTorch at every area", T, double, float) {
    cornet_case<T>();
}

TEST_CASE_TEMPLATE("AlexNet-style 32x32 with torchvision names equals PyTorch at every tap", T, double, float) {
    auto net = models::alexnet<T>(alexnet_spec());
    io::load_state_dict(net, fixture("alexnet.npz"), {.names = models::alexnet_torch_names()});
    alexnet_taps(net, "alexnet");
}
TEST_CASE("AlexNet-style 64x64 (11x11 stride-4 first layer) equals PyTorch at every tap in double") {
    auto net = models::alexnet<double>(alexnet64_spec());
    io::load_state_dict(net, fixture("alexnet64.npz"), {.names = models::alexnet_torch_names()});
    alexnet_taps(net, "alexnet64");
}

TEST_CASE_TEMPLATE("SoundNet-8 from safetensors with soundnet_pytorch's k x 1 Conv2d kernels equals PyTorch at conv4..conv7",
                   T, double, float) {
    soundnet_case<T>();
}

TEST_CASE_TEMPLATE("B2M decision GRU from savez_compressed equals PyTorch's nn.GRU + Linear", T, double, float) {
    gru_case<T>();
}

TEST_CASE_TEMPLATE("B2M conv VAE in evaluation with z = mu equals PyTorch at stats and z and the reconstruction", T,
                   double, float) {
    vae_case<T>();
}

TEST_CASE_TEMPLATE("LSTM with gates i f g o then Conv1d as temporal_conv then a per-step Linear equal PyTorch", T, double,
                   float) {
    seq_case<T>();
}
TEST_CASE("Linear then BatchNorm1d (running statistics) then LayerNorm equal PyTorch in double") { mlp_case<double>(); }

TEST_CASE("every ready-made student survives export to .npz and compressed .npz and .safetensors bit for bit") {
    round_trip([] { return models::cornet_z<double>(cornet_spec()); }, "cornet_z", "cornet_z.npz",
               {.prefix = "module.", .names = models::cornet_z_torch_names()});
    round_trip([] { return models::alexnet<double>(alexnet_spec()); }, "alexnet", "alexnet.npz",
               {.names = models::alexnet_torch_names()});
    round_trip([] { return models::alexnet<double>(alexnet64_spec()); }, "alexnet64", "alexnet64.npz",
               {.names = models::alexnet_torch_names()});
    round_trip([] { return models::soundnet8_features<double>(soundnet_spec()); }, "soundnet8", "soundnet8.safetensors",
               {.names = models::soundnet8_torch_names()});
    round_trip([] { return models::decision_gru<double>(gru_spec()); }, "decision_gru", "decision_gru.npz", {});
    round_trip([] { return models::conv_vae<double>(vae_spec()); }, "conv_vae", "conv_vae.npz", {});
    round_trip([] { return seq_layers<double>(); }, "seq_layers", "seq_layers.npz", {});
    round_trip([] { return mlp_norms<double>(); }, "mlp_norms", "mlp_norms.npz", {});
}

}  // TEST_SUITE
