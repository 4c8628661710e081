// Trains a small convolutional classifier on synthetic 32x32 RGB images and checks its
// own result.
//
// Task: 4 classes of oriented gratings (0, 45, 90 and 135 degrees) with random spatial
// frequency, phase, colour and contrast, under pixel noise of sd 1 (above the gratings'
// amplitude), drawn with b2m::rng. Images are stored (B, 3*32*32), NCHW per row. The
// student (conv-bn-relu-pool x2, conv-relu, global average pooling, dense) is trained with
// Adam and cross-entropy on 1280 images (4 epochs) and tested on 400 held-out ones. Exits 1 unless test accuracy exceeds 0.9 (chance 0.25).
#include <b2m/b2m.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <numeric>
#include <vector>

using namespace b2m;

namespace {
constexpr nn::image_shape image{.channels = 3, .height = 32, .width = 32};
constexpr std::size_t classes = 4;

/// n gratings of random class; label = orientation index.
train::batch<float> make_data(std::size_t n, rng& r) {
    train::batch<float> d;
    d.x = matrix<float>::from_shape({n, image.size()});
    d.labels = index_vector::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t label = r.below(classes);
        d.labels(i) = std::int64_t(label);
        const double theta = double(label) * std::numbers::pi / 4.0 + 0.15 * (r.uniform() - 0.5);
        const double freq = 2.0 * std::numbers::pi / (4.0 + 6.0 * r.uniform());  // period 4..10 px
        const double phase = 2.0 * std::numbers::pi * r.uniform();
        const double contrast = 0.3 + 0.5 * r.uniform();
        double colour[3];
        for (double& c : colour) c = 0.3 + 0.7 * r.uniform();
        const double cx = std::cos(theta), sy = std::sin(theta);
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t h = 0; h < image.height; ++h)
                for (std::size_t w = 0; w < image.width; ++w) {
                    const double g = std::sin(freq * (cx * double(w) + sy * double(h)) + phase);
                    d.x(i, (c * image.height + h) * image.width + w) =
                        float(contrast * colour[c] * g + 1.0 * r.normal());
                }
    }
    return d;
}

} // namespace

int main() {
    const auto t0 = std::chrono::steady_clock::now();
    rng data_rng(2024);
    const auto train_set = make_data(1280, data_rng);
    const auto test_set = make_data(400, data_rng);

    // Each image layer is given its input's shape; output_shape() chains them.
    const auto c1 = nn::conv2d({.out_channels = 8, .kernel = 3, .padding = 1}, image);
    const auto p1 = nn::max_pool2d({.kernel = 2}, c1.output_shape());  // 8 x 16 x 16
    const auto c2 = nn::conv2d({.out_channels = 16, .kernel = 3, .padding = 1}, p1.output_shape());
    const auto p2 = nn::max_pool2d({.kernel = 2}, c2.output_shape());  // 16 x 8 x 8
    const auto c3 = nn::conv2d({.out_channels = 32, .kernel = 3, .padding = 1}, p2.output_shape());
    auto student = nn::sequential(c1, nn::batch_norm(c1.output_shape()), nn::relu{}, p1,
                                  c2, nn::batch_norm(c2.output_shape()), nn::relu{}, p2,
                                  c3, nn::relu{}, nn::tap<"features">{},
                                  nn::global_avg_pool(c3.output_shape()), nn::dense(32, classes));
    auto trainer = train::make_trainer(student, loss::cross_entropy(nn::output, data::labels),
                                       optim::adam({.lr = 3e-3}), {.seed = 7});

    const auto report = train::fit(trainer, train_set, &test_set, {.epochs = 4, .batch_size = 64, .shuffle_seed = 99},
                                   train::progress{});
    const double acc = report.epochs.back().val_accuracy;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("final test accuracy %.3f (chance %.3f), %.1f s\n", acc, 1.0 / double(classes), secs);
    return acc > 0.9 ? 0 : 1;
}
