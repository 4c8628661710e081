// Study 3 of issue 7: brain-mediated transfer learning (BTL, Nishida et al. 2020) on the 92
// Kriegeskorte images, with macaque V4 (../shared/data/v4) as the brain space.
//
//   features of an image -> ridge encoding model of V4 (one per session, fitted on its
//   images and responses; the report of docs/results uses 190925, 190927, 190928, 190929;
//   alpha per neuron by CV, repeated images - found by identical pixels - kept in one fold)
//   -> predicted V4 responses of the 92 images (124 neurons with those four sessions)
//   -> few-shot category classifier (animate vs inanimate, face vs not)
// against the same classifier on the features themselves (standard transfer), and a
// control: the same pipeline with each session's responses permuted across its images
// (a ridge projection of the features that carries no brain information).
// Feature sets: "pixels" (3x16x16 block means, 768-d, no randomness) and "random conv"
// (the untrained conv student of examples/study_student.hpp, 128-d "embed", seeds 1..5).
// Classifier: k training images per class (k = 4, 8, 16), a balanced test set of the
// remaining images, inputs z-scored with training statistics, L2 logistic regression
// (C = 1), 100 draws per k; the same draws for every space (paired). Nothing is tuned on
// the 92 images. Intervals: pixels - 95% t interval over the 100 draws (draws share
// images, so this interval is optimistic); random conv - over the 5 seeds (each seed's mean
// over draws); accuracy intervals clipped to [0, 1]; the verdict states its number of
// comparisons. Single-threaded, deterministic. The report names the data read (folder,
// sessions, images, repeats, each file's size and SHA-256).
// Writes <out>/study_btl_rsa92.md, .svg (animate) and _face.svg.
// Usage: study_btl_rsa92 [out_dir=docs/results] [--data DIR] [--sessions a,b,c] [--smoke]
// --sessions: v4 session folders (default: every folder under DIR/v4, sorted).
#include <b2m/loss/mse.hpp>
#include <b2m/optim/optimizer.hpp>
#include <b2m/train/trainer.hpp>

#include "study_common.hpp"
#include "study_student.hpp"

using namespace b2m;

namespace {
/// Fits one ridge encoding model per session (features z-scored with the session's image
/// statistics) and returns the predicted responses of the 92 images, concatenated over
/// sessions. permute_seed != 0: responses permuted across images first (control).
matrix<float> predict_v4(const std::vector<matrix<float>>& session_features, const std::vector<study::v4_session>& sessions,
                         const matrix<float>& f92, std::uint64_t permute_seed) {
    std::vector<matrix<float>> parts;
    std::size_t width = 0;
    for (std::size_t k = 0; k < sessions.size(); ++k) {
        const auto& s = sessions[k];
        matrix<float> x = session_features[k], x92 = f92;
        brain::zscore<float> z;
        z.fit(x);
        z.transform_inplace(x);
        z.transform_inplace(x92);
        matrix<float> y = s.responses;
        if (permute_seed) {
            std::vector<std::size_t> perm(y.shape(0));
            std::iota(perm.begin(), perm.end(), std::size_t(0));
            rng(permute_seed).split(k).shuffle(perm);
            y = brain::take_rows(s.responses, perm);
        }
        brain::ridge_cv_options o;
        o.alphas = {1, 10, 100, 1e3, 1e4, 1e5};
        o.method = brain::cv_method::kfold;
        o.fold_of_row = brain::group_folds(s.ids, 5, 3);
        brain::ridge_cv<float> m(o);
        m.fit(x, y);
        parts.push_back(m.predict(x92));
        width += parts.back().shape(1);
    }
    matrix<float> out = matrix<float>::from_shape({f92.shape(0), width});
    std::size_t c0 = 0;
    for (const auto& p : parts) {
        for (std::size_t i = 0; i < p.shape(0); ++i)
            for (std::size_t j = 0; j < p.shape(1); ++j) out(i, c0 + j) = p(i, j);
        c0 += p.shape(1);
    }
    return out;
}

/// Untrained student's embed features.
matrix<float> random_conv(const matrix<float>& x, std::uint64_t seed) {
    auto t = train::make_trainer(study::make_student(), loss::mse(nn::output, data::targets), optim::adam({}), {.seed = seed});
    return study::embed(t, x);
}

const char* task_names[] = {"animate", "face"};
const char* space_names[] = {"features", "BTL: predicted V4", "control: permuted-V4 ridge"};
} // namespace

int main(int argc, char** argv) {
    const auto a = study::parse(argc, argv);
    if (!a.teacher.empty()) {
        std::fprintf(stderr, "study_btl_rsa92: --teacher does not apply (every session is a brain space)\n");
        return 2;
    }
    if (!study::have_data(a, {"rsa92/categories.npy"})) return study::skip_code;
    set_num_threads(1);  // identical numbers on every rerun
    const auto t0 = std::chrono::steady_clock::now();
    try {
        const auto names = study::resolve_sessions(a.sessions, a.data_dir + "/v4", "responses.npy");
        if (names.empty()) {
            std::printf("SKIP: no v4 session (a folder with responses.npy) under %s/v4; exit code 77\n", a.data_dir.c_str());
            return study::skip_code;
        }
        const auto r92 = study::load_rsa92(a.data_dir);
        std::vector<study::v4_session> sessions;
        for (const auto& name : names) {
            auto s = study::load_v4(a.data_dir, name);
            study::record_note(study::describe(s) + (a.smoke ? "; smoke: first 300 rows" : ""));
            if (a.smoke) {
                std::vector<std::size_t> keep(300);
                std::iota(keep.begin(), keep.end(), std::size_t(0));
                s = study::take(s, keep);
            }
            sessions.push_back(std::move(s));
        }
        const std::vector<std::size_t> ks = a.smoke ? std::vector<std::size_t>{4} : std::vector<std::size_t>{4, 8, 16};
        const std::size_t draws = a.smoke ? 10 : 100;
        const std::vector<std::uint64_t> seeds = a.smoke ? std::vector<std::uint64_t>{1, 2}
                                                         : std::vector<std::uint64_t>{1, 2, 3, 4, 5};
        std::size_t neurons = 0;
        for (const auto& s : sessions) neurons += s.responses.shape(1);
        std::printf("study_btl_rsa92%s: %zu V4 sessions (%zu neurons), 92 images, k = %zu..%zu per class, %zu draws\n",
                    a.smoke ? " (smoke)" : "", sessions.size(), neurons, ks.front(), ks.back(), draws);

        // acc[feature set][space][task][k] = per-unit values (pixels: draws; random conv: seeds)
        using grid = std::vector<std::vector<std::vector<std::vector<double>>>>;
        grid acc(2, std::vector<std::vector<std::vector<double>>>(3, std::vector<std::vector<double>>(2 * ks.size())));
        // Encoding quality of each feature set on the V4 data (out-of-fold median r, all neurons).
        std::vector<std::vector<double>> enc_quality(2);

        auto evaluate_set = [&](int fs, const std::vector<matrix<float>>& sf, const matrix<float>& f92, std::uint64_t seed) {
            const matrix<float> spaces[3] = {f92, predict_v4(sf, sessions, f92, 0), predict_v4(sf, sessions, f92, 1000 + seed)};
            for (int t = 0; t < 2; ++t)
                for (std::size_t ki = 0; ki < ks.size(); ++ki)
                    for (int sp = 0; sp < 3; ++sp) {
                        // same draws (seed 50 + t) for every space and feature set: paired
                        const auto v = study::few_shot(spaces[sp], r92.labels(task_names[t]), ks[ki], draws, 50 + t);
                        auto& cell = acc[fs][sp][t * ks.size() + ki];
                        if (fs == 0) cell = v;
                        else cell.push_back(study::mean(v));
                    }
            std::vector<double> all;
            for (std::size_t k = 0; k < sessions.size(); ++k) {
                const auto r = study::encoding_r(sf[k], sessions[k].responses, sessions[k].ids, 5, 17);
                all.insert(all.end(), r.begin(), r.end());
            }
            enc_quality[fs].push_back(study::median(all));
        };
        {
            std::vector<matrix<float>> sf;
            for (const auto& s : sessions) sf.push_back(study::downsample2(s.x));
            evaluate_set(0, sf, study::downsample2(r92.x), 0);
            std::printf("pixels done (%.0f s)\n", study::seconds_since(t0));
        }
        for (auto seed : seeds) {
            std::vector<matrix<float>> sf;
            for (const auto& s : sessions) sf.push_back(random_conv(s.x, seed));
            evaluate_set(1, sf, random_conv(r92.x, seed), seed);
            std::printf("random conv seed %llu done (%.0f s)\n", (unsigned long long)seed, study::seconds_since(t0));
            std::fflush(stdout);
        }

        bool ok = true;
        for (auto& fs : acc)
            for (auto& sp : fs)
                for (auto& cell : sp)
                    for (double v : cell) ok = ok && std::isfinite(v) && v >= 0 && v <= 1;

        std::string md;
        char buf[4096];
        md += "# Study 3: brain-mediated transfer (BTL) on the 92 images, V4 as the brain space\n\n";
        md += a.smoke ? "**SMOKE RUN (tiny subset; numbers meaningless)**\n\n" : "";
        md += "Command: `cmake --build build --target study_btl_rsa92 && ./build/examples/study_btl_rsa92 docs/results "
              "--sessions " + study::join(names, ",") + (a.smoke ? " --smoke" : "") +
              "` (from the repository root; single-threaded, deterministic).\n\n";
        std::snprintf(buf, sizeof buf,
                      "Pipeline: image features -> ridge encoding model of V4 (one per session: %s; %zu neurons; alpha "
                      "per neuron by 5-fold CV with repeated images, found by identical pixels, in one fold) -> "
                      "predicted V4 responses of the 92 Kriegeskorte images -> few-shot classifier. The same classifier "
                      "on the features themselves is the standard-transfer baseline; the control refits the encoding "
                      "models on responses permuted across images. Classifier: k training images per class, balanced "
                      "test set of the remaining images, z-scored inputs (training statistics), logistic regression "
                      "(C = 1), %zu draws per k, the same draws for every space. Feature sets: pixels (3x16x16 block "
                      "means) and random conv (untrained conv student, 128-d, seeds 1..%zu). Chance = 0.5. Intervals: "
                      "pixels - over draws (draws share images: optimistic); random conv - over seeds.\n\n",
                      study::join(names).c_str(), neurons, draws, seeds.size());
        md += buf;
        std::snprintf(buf, sizeof buf, "%.3f", enc_quality[0][0]);
        md += std::string("Encoding quality on the V4 data (out-of-fold Pearson r, median over all neurons): pixels ") + buf +
              ", random conv " + study::ci(enc_quality[1], "%.3f", -1, 1) + ".\n\n";
        md += "| features | space |";
        for (int t = 0; t < 2; ++t)
            for (auto k : ks) {
                std::snprintf(buf, sizeof buf, " %s, k=%zu |", task_names[t], k);
                md += buf;
            }
        md += "\n| --- | --- |";
        for (std::size_t i = 0; i < 2 * ks.size(); ++i) md += " --- |";
        md += "\n";
        const char* fs_names[] = {"pixels", "random conv"};
        for (int fs = 0; fs < 2; ++fs)
            for (int sp = 0; sp < 3; ++sp) {
                md += std::string("| ") + fs_names[fs] + " | " + space_names[sp] + " |";
                for (const auto& cell : acc[fs][sp]) md += " " + study::ci01(cell) + " |";
                md += "\n";
            }
        md += "\nPaired differences (BTL - features; BTL - control), mean [95% CI], d_z:\n\n| features | comparison |";
        for (int t = 0; t < 2; ++t)
            for (auto k : ks) {
                std::snprintf(buf, sizeof buf, " %s, k=%zu |", task_names[t], k);
                md += buf;
            }
        md += "\n| --- | --- |";
        for (std::size_t i = 0; i < 2 * ks.size(); ++i) md += " --- |";
        md += "\n";
        std::string verdict;
        for (int fs = 0; fs < 2; ++fs)
            for (int other : {0, 2}) {
                md += std::string("| ") + fs_names[fs] + " | BTL - " + (other == 0 ? "features" : "control") + " |";
                int up = 0, down = 0;
                for (std::size_t i = 0; i < acc[fs][1].size(); ++i) {
                    md += " " + study::paired(acc[fs][1][i], acc[fs][other][i], 1.0) + " |";
                    up += study::paired_above(acc[fs][1][i], acc[fs][other][i]);
                    down += study::paired_below(acc[fs][1][i], acc[fs][other][i]);
                }
                md += "\n";
                std::snprintf(buf, sizeof buf, "- %s, BTL vs %s: better in %d, **worse** in %d, not clearly different in %d of %zu task/k cells.\n",
                              fs_names[fs], other == 0 ? "the features themselves" : "the permuted-response control", up, down,
                              int(acc[fs][1].size()) - up - down, acc[fs][1].size());
                verdict += buf;
            }
        int btl_better = 0;
        for (int fs = 0; fs < 2; ++fs)
            for (std::size_t i = 0; i < acc[fs][1].size(); ++i) btl_better += study::paired_above(acc[fs][1][i], acc[fs][0][i]);
        md += "\n## What came out\n\n" + std::to_string(2 * 2 * acc[0][1].size()) +
              " comparisons below (2 feature sets x 2 references x " + std::to_string(acc[0][1].size()) +
              " task/k cells, each a paired t interval, no multiplicity correction): a single cell excluding 0 is weak "
              "evidence on its own.\n\n";
        md += btl_better == 0 ? "**BTL did not help here**: in no task, k or feature set is the classifier on predicted V4 "
                                "responses better than the same classifier on the features themselves.\n\n"
                              : "BTL beats the features themselves in " + std::to_string(btl_better) + " cells (below).\n\n";
        md += verdict;
        md += "\nPlots: `study_btl_rsa92.svg` (animate vs inanimate) and `study_btl_rsa92_face.svg` (face vs not): "
              "accuracy against k, 95% bands.\n\n";
        md += study::data_section(a.data_dir);
        md += std::string(study::reproducibility_note()) + "\n";

        std::filesystem::create_directories(a.out_dir);
        std::vector<double> xs(ks.begin(), ks.end());
        for (int t = 0; t < 2; ++t) {
            report::svg_plot p({.title = std::string("BTL on the 92 images: ") + (t == 0 ? "animate vs inanimate" : "face vs not"),
                                .x_label = "training images per class (k)",
                                .y_label = "held-out accuracy (balanced, chance 0.5)"});
            for (int fs = 0; fs < 2; ++fs)
                for (int sp = 0; sp < 3; ++sp) {
                    report::series s;
                    s.name = std::string(fs_names[fs]) + ": " + space_names[sp];
                    for (std::size_t ki = 0; ki < ks.size(); ++ki) {
                        const auto st = report::summarize_within(acc[fs][sp][t * ks.size() + ki], 0.0, 1.0);
                        s.x.push_back(xs[ki]);
                        s.y.push_back(st.mean);
                        s.low.push_back(std::isnan(st.ci95) ? st.mean : st.low());
                        s.high.push_back(std::isnan(st.ci95) ? st.mean : st.high());
                    }
                    p.add(s);
                }
            p.write(a.out_dir + (t == 0 ? "/study_btl_rsa92.svg" : "/study_btl_rsa92_face.svg"));
        }
        study::write_text(a.out_dir + "/study_btl_rsa92.md", md);
        std::printf("%s\nwrote %s/study_btl_rsa92.md (%.0f s)\n", md.c_str(), a.out_dir.c_str(), study::seconds_since(t0));
        if (!ok) {
            std::fprintf(stderr, "study_btl_rsa92: an accuracy is not finite or outside [0, 1]\n");
            return 1;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "study_btl_rsa92: %s\n", e.what());
        return 1;
    }
    return 0;
}
