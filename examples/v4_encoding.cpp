// Ridge encoding model of macaque V4 neurons (../shared/data/v4, Cowley et al.) from a fixed
// feature map of the images: 16x16 RGB block means plus random convolutional features
// (64 random 5x5x3 filters, ReLU, 4x4 average pooling). Held-out split by stimulus: images
// that the v4 README lists as repeats (190925: image0901-1200 = image0001-0300; 210621:
// 0101 = 0536, 0425 = 0697) share a stimulus id, so no image is in both train and test;
// the per-neuron alpha is chosen by 5-fold CV grouped the same way. Reports the per-neuron
// held-out Pearson r (median, mean), not normalised by a noise ceiling (the files hold only
// repeat-averaged responses). A permuted-response control should give r near 0.
// Usage: v4_encoding [session=190925] [data_dir] [--fast]
#include <b2m/brain.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace b2m;
using namespace b2m::brain;

namespace {
/// Stimulus id per image row, from the pixels: rows with identical images share an id
/// (brain/stimulus_ids.hpp), whatever the session folder is called.
std::vector<std::int64_t> stimulus_ids(const tensor<float, 4>& img) {
    const std::size_t n = img.shape(0);
    matrix<float> rows = matrix<float>::from_shape({n, n ? img.size() / n : 0});
    std::copy_n(img.data(), img.size(), rows.data());
    return identical_row_ids(rows);
}

/// images (N, 32, 32, 3) uint8 -> features (N, 768 [+ 1024 conv]).
matrix<float> features(const tensor<float, 4>& img, bool with_conv) {
    const std::size_t n = img.shape(0), nf = 64, k = 5, out = 32 - k + 1;  // 28x28 valid positions
    const std::size_t pix = 16 * 16 * 3, conv = with_conv ? nf * 16 : 0;
    matrix<float> f = xt::zeros<float>({n, pix + conv});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t y = 0; y < 32; ++y)
            for (std::size_t x = 0; x < 32; ++x)
                for (std::size_t c = 0; c < 3; ++c) f(i, ((y / 2) * 16 + x / 2) * 3 + c) += img(i, y, x, c) / (4.f * 255.f);
    if (!with_conv) return f;
    matrix<float> filt = matrix<float>::from_shape({k * k * 3, nf});
    rng(2024).fill_normal(filt, 0.0, 1.0 / std::sqrt(double(k * k * 3)));
    matrix<float> cols = matrix<float>::from_shape({out * out, k * k * 3}), resp;
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t y = 0; y < out; ++y)
            for (std::size_t x = 0; x < out; ++x)
                for (std::size_t dy = 0; dy < k; ++dy)
                    for (std::size_t dx = 0; dx < k; ++dx)
                        for (std::size_t c = 0; c < 3; ++c)
                            cols(y * out + x, (dy * k + dx) * 3 + c) = img(i, y + dy, x + dx, c) / 255.f - 0.5f;
        gemm<float>(cols, filt, resp);  // (784, 64)
        for (std::size_t y = 0; y < out; ++y)
            for (std::size_t x = 0; x < out; ++x) {
                const std::size_t cell = (y * 4 / out) * 4 + (x * 4 / out);
                for (std::size_t q = 0; q < nf; ++q)
                    f(i, pix + cell * nf + q) += std::max(0.f, resp(y * out + x, q)) / 49.f;
            }
    }
    return f;
}
} // namespace

int main(int argc, char** argv) {
    std::string session = "190925", root = B2M_DATA_DIR;
    bool fast = false;
    std::vector<std::string> pos;
    for (int a = 1; a < argc; ++a) {
        if (std::strcmp(argv[a], "--fast") == 0) fast = true;
        else pos.emplace_back(argv[a]);
    }
    if (pos.size() > 0) session = pos[0];
    if (pos.size() > 1) root = pos[1];
    const std::string dir = root + "/v4/" + session;
    if (!std::filesystem::exists(dir + "/responses.npy")) {
        std::printf("SKIP: v4 data not found in %s (real data absent); exit code 77\n", dir.c_str());
        return 77;
    }
    try {
        const auto t0 = std::chrono::steady_clock::now();
        const auto img = load_npy<float, 4>(dir + "/images.npy");
        const auto resp = load_npy<float, 2>(dir + "/responses.npy");
        require_finite("v4 responses", resp);
        if (img.shape(0) != resp.shape(0))
            throw_shape_mismatch("v4: image and response counts differ", "images", img.shape(), "responses", resp.shape());
        const auto ids = stimulus_ids(img);
        dataset<float> d;
        d.stimuli = features(img, !fast);
        d.responses = resp;
        d.stimulus_ids = ids;
        d.validate();
        const auto sp = split_by_stimulus(d, 0.8, 0.0, 7);
        auto tr = subset(d, sp.train), te = subset(d, sp.test);
        zscore<float> z;
        z.fit(tr.stimuli);
        z.transform_inplace(tr.stimuli);
        z.transform_inplace(te.stimuli);
        ridge_cv_options o;
        o.alphas = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
        o.method = cv_method::kfold;
        o.fold_of_row = group_folds(tr.stimulus_ids, 5, 3);
        ridge_cv<float> model(o);
        model.fit(tr.stimuli, tr.responses);
        const auto r = pearson_columns(te.responses, model.predict(te.stimuli));
        // Control: the same pipeline with training responses permuted across images.
        matrix<float> shuffled = tr.responses;
        std::vector<std::size_t> perm(shuffled.shape(0));
        for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = i;
        rng(99).shuffle(perm);
        shuffled = take_rows(tr.responses, perm);
        ridge_cv<float> ctrl(o);
        ctrl.fit(tr.stimuli, shuffled);
        const auto rc = pearson_columns(te.responses, ctrl.predict(te.stimuli));
        double mean = 0;
        for (auto v : r) mean += double(v) / double(r.size());
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("session %s: %zu images (%zu train / %zu test trials, split by stimulus), %zu neurons, %zu features\n",
                    session.c_str(), img.shape(0), sp.train.size(), sp.test.size(), resp.shape(1), d.stimuli.shape(1));
        std::printf("held-out Pearson r per neuron: median %.3f, mean %.3f (permuted-response control: median %.3f)\n",
                    median(r), mean, median(rc));
        std::printf("elapsed %.1f s\n", secs);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "v4_encoding: %s\n", e.what());
        return 1;
    }
    return 0;
}
