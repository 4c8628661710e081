// Trains a convolutional variational autoencoder on synthetic images and checks that it
// reconstructs them.
//
// Data: 16x16 grey images, each a Gaussian blob of random position, width and brightness
// (4 generative factors) drawn with b2m::rng, stored (B, 256). The VAE: a conv encoder ends
// in a dense layer producing [mu | logvar] (tap "stats"), nn::reparameterize samples the
// latent code with the trainer's seeded noise, and a dense + transposed-conv decoder
// outputs the image (linear output: a sigmoid output stalled near the baseline here).
// Objective: mse(output, inputs) + beta * KL(q(z|x) || N(0, I)).
// Exits 1 unless the held-out reconstruction error (evaluation mode: z = mu) is below 0.3
// times the baseline that predicts the mean training image for every input.
#include <b2m/b2m.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

using namespace b2m;

namespace {
constexpr nn::image_shape image{.channels = 1, .height = 16, .width = 16};
constexpr std::size_t latent = 4;

matrix<float> make_images(std::size_t n, rng& r) {
    matrix<float> x = matrix<float>::from_shape({n, image.size()});
    for (std::size_t i = 0; i < n; ++i) {
        const double cy = 3.0 + 10.0 * r.uniform(), cx = 3.0 + 10.0 * r.uniform();
        const double s = 1.2 + 1.5 * r.uniform(), a = 0.5 + 0.5 * r.uniform();
        for (std::size_t h = 0; h < image.height; ++h)
            for (std::size_t w = 0; w < image.width; ++w) {
                const double d2 = (double(h) - cy) * (double(h) - cy) + (double(w) - cx) * (double(w) - cx);
                x(i, h * image.width + w) = float(a * std::exp(-0.5 * d2 / (s * s)));
            }
    }
    return x;
}

double mse(const matrix<float>& a, const matrix<float>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += (double(a.data()[i]) - b.data()[i]) * (double(a.data()[i]) - b.data()[i]);
    return s / double(a.size());
}
} // namespace

int main() {
    const auto t0 = std::chrono::steady_clock::now();
    rng data_rng(11);
    const matrix<float> train_x = make_images(2048, data_rng);
    const matrix<float> test_x = make_images(512, data_rng);

    // Baseline: the mean training image for every test image.
    matrix<float> mean_image = xt::zeros<float>({test_x.shape(0), image.size()});
    for (std::size_t j = 0; j < image.size(); ++j) {
        double m = 0;
        for (std::size_t i = 0; i < train_x.shape(0); ++i) m += train_x(i, j);
        for (std::size_t i = 0; i < test_x.shape(0); ++i) mean_image(i, j) = float(m / double(train_x.shape(0)));
    }
    const double baseline = mse(mean_image, test_x);

    // Encoder: 1x16x16 -> 8x8x8 -> 16x4x4 -> [mu | logvar]; decoder mirrors it. Only the
    // input image and the decoder's code image are written: every other layer takes its
    // input shape from the layer before (nn/shape_flow.hpp), and nn::sequential checks
    // that the code image has the width of the dense layer before it.
    const nn::image_shape code{16, 4, 4};
    auto vae = nn::sequential(nn::conv2d({.out_channels = 8, .kernel = 3, .stride = 2, .padding = 1}, image), nn::relu{},
                              nn::conv2d({.out_channels = 16, .kernel = 3, .stride = 2, .padding = 1}), nn::relu{},
                              nn::flatten{}, nn::dense(nn::inferred, 2 * latent), nn::tap<"stats">{},
                              nn::reparameterize{latent}, nn::dense(latent, code.size()), nn::relu{},
                              nn::conv_transpose2d({.out_channels = 8, .kernel = 4, .stride = 2, .padding = 1}, code),
                              nn::relu{}, nn::conv_transpose2d({.out_channels = 1, .kernel = 4, .stride = 2, .padding = 1}));
    // mse is a mean over the 256 pixels, KL a sum over the latent dimensions: beta = 2.5e-4
    // is the ELBO of a Gaussian decoder with pixel variance 0.032 (beta = 2 sigma^2 / D).
    const double beta = 2.5e-4;
    auto objective = loss::mse(nn::output, data::inputs) + beta * loss::kl_normal(nn::tap<"stats">{});
    auto trainer = train::make_trainer(vae, objective, optim::adam({.lr = 3e-3}), {.seed = 5});

    std::vector<std::size_t> order(train_x.shape(0));
    std::iota(order.begin(), order.end(), 0);
    rng shuffle_rng(3);
    train::batch<float> b;
    const std::size_t batch = 64;
    for (int epoch = 1; epoch <= 6; ++epoch) {
        shuffle_rng.shuffle(order);
        double rec = 0, kl = 0;
        std::size_t steps = 0;
        for (std::size_t s = 0; s + batch <= order.size(); s += batch, ++steps) {
            ensure_shape(b.x, batch, image.size());
            for (std::size_t i = 0; i < batch; ++i)
                std::copy_n(train_x.data() + order[s + i] * image.size(), image.size(), b.x.data() + i * image.size());
            const auto r = trainer.step(b);
            rec += r.values[0];
            kl += r.values[1];
        }
        const double test_rec = mse(trainer.predict(test_x), test_x);
        std::printf("epoch %d  train mse %.5f  KL %.3f  test mse %.5f (baseline %.5f)\n", epoch, rec / double(steps),
                    kl / double(steps), test_rec, baseline);
    }
    const double test_rec = mse(trainer.predict(test_x), test_x);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("held-out reconstruction mse %.5f = %.3f x the mean-image baseline %.5f, %.1f s\n", test_rec,
                test_rec / baseline, baseline, secs);
    return test_rec < 0.3 * baseline ? 0 : 1;
}
