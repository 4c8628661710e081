// fit()'s callbacks, one header each: csv_log (RFC 4180, plain column names, resume),
// the callback contract (on_epoch_begin) and term-weight schedules.
#include <doctest/doctest.h>

#include <b2m/b2m.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

using namespace b2m;

namespace {

/// An RFC 4180 reader written for this test, independent of csv_log: records end with
/// CRLF, fields are separated by commas, a field is either plain (no comma, quote, CR or
/// LF) or enclosed in double quotes with "" standing for a quote. Throws on anything else
/// (a bare LF, a quote inside a plain field, text after a closing quote, an open quote).
std::vector<std::vector<std::string>> read_rfc4180(const std::string& text) {
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> record;
    std::string fieldv;
    std::size_t i = 0;
    const std::size_t n = text.size();
    bool at_field_start = true;
    while (i < n) {
        if (at_field_start && text[i] == '"') {  // quoted field
            ++i;
            for (;;) {
                if (i >= n) throw std::runtime_error("unterminated quoted field");
                if (text[i] == '"') {
                    if (i + 1 < n && text[i + 1] == '"') {
                        fieldv += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                fieldv += text[i++];
            }
            if (i < n && text[i] != ',' && text[i] != '\r') throw std::runtime_error("text after a closing quote");
            at_field_start = false;
            continue;
        }
        const char c = text[i];
        if (c == ',') {
            record.push_back(fieldv);
            fieldv.clear();
            at_field_start = true;
            ++i;
        } else if (c == '\r') {
            if (i + 1 >= n || text[i + 1] != '\n') throw std::runtime_error("CR not followed by LF");
            record.push_back(fieldv);
            fieldv.clear();
            records.push_back(record);
            record.clear();
            at_field_start = true;
            i += 2;
        } else if (c == '\n') {
            throw std::runtime_error("bare LF as a line break (RFC 4180 requires CRLF)");
        } else if (c == '"') {
            throw std::runtime_error("a quote inside an unquoted field");
        } else {
            fieldv += c;
            at_field_start = false;
            ++i;
        }
    }
    if (!at_field_start || !record.empty()) {  // last record without CRLF (allowed)
        record.push_back(fieldv);
        records.push_back(record);
    }
    return records;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

train::batch<float> make_data(std::size_t n, std::uint64_t seed) {
    train::batch<float> d;
    d.x = matrix<float>::from_shape({n, 6});
    rng(seed).fill_normal(d.x);
    d.labels = index_vector::from_shape({n});
    d.brain = matrix<float>::from_shape({n, 3});
    for (std::size_t i = 0; i < n; ++i) {
        d.labels(i) = d.x(i, 0) > 0.5f ? 2 : (d.x(i, 1) > 0 ? 1 : 0);
        for (std::size_t j = 0; j < 3; ++j) d.brain(i, j) = std::tanh(d.x(i, j) + d.x(i, (j + 1) % 6));
    }
    return d;
}

std::string temp_path(const char* name) { return (std::filesystem::temp_directory_path() / name).string(); }

/// Throws after epoch `at` has been logged, as a killed run would stop (before the
/// checkpoint of that epoch is written).
struct crash_after {
    std::size_t at;
    bool on_epoch_end(const train::fit_state&, const train::epoch_record& r) {
        if (r.epoch == at) throw std::runtime_error("simulated crash");
        return true;
    }
};

} // namespace

TEST_CASE("csv_log writes RFC 4180 with plain, distinct column names and one field per header column") {
    const auto d = make_data(96, 1), v = make_data(40, 2);
    const std::string path = temp_path("b2m_test_csv_rfc.csv");
    std::filesystem::remove(path);
    // two mse terms (same short name), a contrastive term, and a user term whose name
    // holds a comma, quotes and a parenthesis
    auto cosine = loss::named_expression(
        "my \"cosine\", to brain (h)",
        [](auto h, auto b) { return 1.0 - ad::mean(ad::sum(ad::l2_normalize(h) * ad::l2_normalize(b), ad::axis::cols)); },
        nn::output, data::brain);
    auto net3 = nn::sequential(nn::dense(6, 16), nn::relu{}, nn::tap<"h">{}, nn::dense(16, 3));
    auto trainer = train::make_trainer(
        net3,
        loss::cross_entropy(nn::output, data::labels) + 0.1 * loss::mse(nn::output, data::brain) +
            0.2 * loss::contrastive(nn::tap<"h">{}, data::brain, {.dim = 4}) + 0.05 * cosine +
            0.1 * loss::mse(nn::output, data::brain),
        optim::adam({.lr = 1e-2}), {.seed = 1});
    const auto rep = train::fit(trainer, d, &v, {.epochs = 4, .batch_size = 32}, train::csv_log{path});
    REQUIRE(rep.epochs.size() == 4);

    const auto records = read_rfc4180(read_text(path));
    REQUIRE(records.size() == 5);  // header + 4 epochs
    const std::vector<std::string> expected_terms{"cross_entropy", "mse_nn_output_data_brain", "contrastive",
                                                  "my_cosine_to_brain", "mse_nn_output_data_brain_2"};
    std::vector<std::string> expected{"epoch", "lr"};
    for (const auto& c : expected_terms) expected.push_back("weight_" + c);
    expected.push_back("train_loss");
    for (const auto& c : expected_terms) expected.push_back("train_" + c);
    expected.push_back("val_loss");
    for (const auto& c : expected_terms) expected.push_back("val_" + c);
    expected.push_back("val_accuracy");
    expected.push_back("seconds");
    CHECK(records[0] == expected);
    const std::regex plain("[a-z][a-z0-9_]*");
    for (const auto& h : records[0]) CHECK(std::regex_match(h, plain));
    for (std::size_t r = 1; r < records.size(); ++r) {
        CAPTURE(r);
        REQUIRE(records[r].size() == records[0].size());
        CHECK(std::stoul(records[r][0]) == r);
        for (const auto& f : records[r]) CHECK_NOTHROW((void)std::stod(f));
        // the logged figures are the report's
        const auto& e = rep.epochs[r - 1];
        CHECK(std::stod(records[r][2]) == doctest::Approx(1.0));   // weight of cross_entropy
        CHECK(std::stod(records[r][4]) == doctest::Approx(0.2));   // weight of contrastive
        CHECK(std::stod(records[r][7]) == doctest::Approx(e.train_total).epsilon(1e-7));
        CHECK(std::stod(records[r][10]) == doctest::Approx(e.train_terms[2]).epsilon(1e-7));
        CHECK(std::stod(records[r][records[r].size() - 2]) == doctest::Approx(e.val_accuracy).epsilon(1e-7));
    }
    std::filesystem::remove(path);
}

TEST_CASE("csv_log column names: short names, told apart by sources, then numbered - fixed names kept free") {
    using train::csv_log;
    CHECK(csv_log::column_names({"cross_entropy(nn::output)", "contrastive(nn::tap<\"h\">, data::brain)"}) ==
          std::vector<std::string>{"cross_entropy", "contrastive"});
    CHECK(csv_log::column_names({"mse(nn::output, data::brain)", "mse(nn::tap<\"h\">, data::brain)"}) ==
          std::vector<std::string>{"mse_nn_output_data_brain", "mse_nn_tap_h_data_brain"});
    CHECK(csv_log::column_names({"loss", "x(a)", "x(a)", "accuracy", ""}) ==
          std::vector<std::string>{"loss_term", "x_a", "x_a_2", "accuracy_term", "term"});
    CHECK(csv_log::field("a,b") == "\"a,b\"");
    CHECK(csv_log::field("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(csv_log::field("plain_name") == "plain_name");
}

TEST_CASE("the RFC 4180 reader of this test rejects what is not RFC 4180") {
    CHECK_THROWS(read_rfc4180("a,b\nc,d\n"));
    CHECK_THROWS(read_rfc4180("a,b\"c\r\n"));
    CHECK_THROWS(read_rfc4180("\"a\"b,c\r\n"));
    CHECK_THROWS(read_rfc4180("\"a,b\r\n"));
    const auto r = read_rfc4180("x,\"a,\"\"b\"\"\r\nc\"\r\n1,2");
    REQUIRE(r.size() == 2);
    CHECK(r[0][1] == "a,\"b\"\r\nc");
    CHECK(r[1] == std::vector<std::string>{"1", "2"});
}

TEST_SUITE("reliability") {
    TEST_CASE("resuming with checkpoint_every > 1 logs each epoch exactly once, as an uninterrupted run does") {
        const auto d = make_data(128, 5);
        const std::string ckpt = temp_path("b2m_test_csv_resume.ckpt"), log = temp_path("b2m_test_csv_resume.csv"),
                          full_log = temp_path("b2m_test_csv_full.csv");
        std::filesystem::remove(ckpt);
        std::filesystem::remove(log);
        std::filesystem::remove(full_log);
        auto make = [] {
            return train::make_trainer(nn::sequential(nn::dense(6, 16), nn::relu{}, nn::dense(16, 3)),
                                       loss::cross_entropy(nn::output, data::labels) + 0.3 * loss::mse(nn::output, data::brain),
                                       optim::adam({.lr = 1e-2}), {.seed = 3});
        };
        const train::fit_options opts{.epochs = 8, .batch_size = 32, .shuffle_seed = 2, .checkpoint_path = ckpt,
                                      .checkpoint_every = 3, .resume = true};
        auto full = make();
        auto full_opts = opts;
        full_opts.checkpoint_path.clear();
        train::fit(full, d, nullptr, full_opts, train::csv_log{full_log});

        auto first = make();  // logs epochs 1..5, checkpoint after epoch 3, then "crashes"
        CHECK_THROWS_WITH(train::fit(first, d, nullptr, opts, train::csv_log{log}, crash_after{5}), "simulated crash");
        REQUIRE(read_rfc4180(read_text(log)).size() == 6);
        auto resumed = make();
        const auto rep = train::fit(resumed, d, nullptr, opts, train::csv_log{log});
        CHECK(rep.resumed_after == 3);

        const auto a = read_rfc4180(read_text(log)), b = read_rfc4180(read_text(full_log));
        REQUIRE(a.size() == 9);  // header + epochs 1..8, each once
        REQUIRE(b.size() == 9);
        CHECK(a[0] == b[0]);
        for (std::size_t r = 1; r < a.size(); ++r) {
            CAPTURE(r);
            CHECK(std::stoul(a[r][0]) == r);
            REQUIRE(a[r].size() == b[r].size());
            for (std::size_t c = 0; c + 1 < a[r].size(); ++c) CHECK(a[r][c] == b[r][c]);  // all but seconds
        }
        // a fresh (not resumed) run starts a new log
        auto again = make();
        train::fit(again, d, nullptr, full_opts, train::csv_log{log});
        CHECK(read_rfc4180(read_text(log)).size() == 9);
        // resuming into a log of another objective is a clear error
        train::csv_log foreign{log};
        train::fit_state s;
        s.term_names = {"cross_entropy(nn::output)"};
        s.resumed_after = 2;
        CHECK_THROWS_WITH_AS(foreign.on_fit_begin(s), doctest::Contains("differs from this run's"), io_error);
        for (const auto& p : {ckpt, log, full_log}) std::filesystem::remove(p);
        CHECK_FALSE(std::filesystem::exists(log + ".tmp." + std::to_string(::getpid())));
    }
}
