// b2m/train/callbacks/csv_log.hpp - one CSV row per epoch (RFC 4180).
//
//   train::fit(trainer, data, &val, opts, train::csv_log{"run.csv"});
//
// csv_log   represents: a fit() callback that owns the text of the log at `path` and
//           rewrites the file atomically (core/atomic_write.hpp) after each epoch, so a
//           reader never sees a torn row.
// Columns (plain names, one header line, CRLF line ends, RFC 4180 quoting):
//   epoch, lr, weight_<t>..., train_loss, train_<t>..., val_loss, val_<t>...,
//   val_accuracy, seconds
// where <t> is each term's column name (column_names: the term's short name, e.g.
// "cross_entropy", "contrastive"; terms sharing one are told apart by their sources,
// e.g. "mse_nn_output_data_brain"). Missing figures (no validation data) are "nan".
// ensures: after on_fit_begin, the file holds the header and exactly the rows of epochs
//          1..s.resumed_after already in it (a fresh run, resumed_after = 0, starts an empty
//          log; a resumed run drops rows of epochs after its checkpoint, which a run with
//          checkpoint_every > 1 wrote before it stopped). Throws io_error naming the file
//          when it cannot be written, or when a resumed run's header differs from the file's.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "b2m/core/atomic_write.hpp"
#include "b2m/core/error.hpp"
#include "b2m/train/callback.hpp"

namespace b2m::train {

/// A fit() callback writing one CSV row per epoch to `path` (the contract is at the head of this file).
class csv_log {
public:
    explicit csv_log(std::string file) : path(std::move(file)) {} ///< Logs to file (nothing is written before on_fit_begin).
    std::string path;  ///< the log file

    /// Lower-case letters, digits and single underscores: "nn::tap<\"h\">" -> "nn_tap_h".
    static std::string plain(std::string_view s) {
        std::string out;
        for (char c : s) {
            const unsigned char u = static_cast<unsigned char>(c);
            if (std::isalnum(u)) out += char(std::tolower(u));
            else if (!out.empty() && out.back() != '_') out += '_';
        }
        while (!out.empty() && out.back() == '_') out.pop_back();
        return out;
    }

    /// One distinct plain column name per term: its short name (the part before '('),
    /// or, where several terms share one, the whole name made plain; remaining clashes
    /// get _2, _3, ... Names that would clash with the fixed columns (loss, accuracy)
    /// get "_term" appended.
    static std::vector<std::string> column_names(const std::vector<std::string>& term_names) {
        std::vector<std::string> shortn, out;
        std::map<std::string, std::size_t> count;
        auto fix = [](std::string s) {
            if (s.empty()) s = "term";
            if (s == "loss" || s == "accuracy") s += "_term";
            return s;
        };
        for (const auto& n : term_names) {
            shortn.push_back(fix(plain(std::string_view(n).substr(0, n.find('(')))));
            ++count[shortn.back()];
        }
        std::map<std::string, std::size_t> seen;
        for (std::size_t k = 0; k < term_names.size(); ++k) {
            std::string c = count[shortn[k]] > 1 ? fix(plain(term_names[k])) : shortn[k];
            const std::size_t i = ++seen[c];
            if (i > 1) c += "_" + std::to_string(i);
            out.push_back(c);
        }
        return out;
    }

    /// The header's field names for these terms (see the column list above).
    static std::vector<std::string> header_fields(const std::vector<std::string>& term_names) {
        const auto cols = column_names(term_names);
        std::vector<std::string> h{"epoch", "lr"};
        for (const auto& c : cols) h.push_back("weight_" + c);
        h.push_back("train_loss");
        for (const auto& c : cols) h.push_back("train_" + c);
        h.push_back("val_loss");
        for (const auto& c : cols) h.push_back("val_" + c);
        h.push_back("val_accuracy");
        h.push_back("seconds");
        return h;
    }

    /// A field as RFC 4180 writes it: quoted (with "" for ") when it holds a comma, a
    /// quote, CR or LF; as is otherwise.
    static std::string field(std::string_view s) {
        if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
        std::string q = "\"";
        for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    }

    /// @name Callback hooks (the concept at the head of b2m/train/callback.hpp)
    ///@{

    /// Callback hooks: on_fit_begin writes the header and the kept rows of epochs
    /// 1..s.resumed_after (see the head of this file); on_epoch_end appends the epoch's row and
    /// rewrites the file atomically, returning true (never stops training). Both throw
    /// b2m::io_error naming the file when it cannot be written.
    void on_fit_begin(const fit_state& s) {
        std::string header;
        for (const auto& h : header_fields(s.term_names)) header += (header.empty() ? "" : ",") + field(h);
        header += "\r\n";
        std::string kept;
        if (s.resumed_after > 0) kept = rows_up_to(header, s.resumed_after);
        text_ = header + kept;
        atomic_write(path, text_, "CSV log");
    }

    bool on_epoch_end(const fit_state& s, const epoch_record& r) {
        if (text_.empty()) on_fit_begin(s);  // used outside fit (e.g. wrapped by another callback)
        std::ostringstream row;
        row.precision(9);
        const std::size_t k = s.term_names.size();
        auto at = [](const std::vector<double>& v, std::size_t i) { return i < v.size() ? v[i] : std::nan(""); };
        row << r.epoch << ',' << r.lr;
        for (std::size_t i = 0; i < k; ++i) row << ',' << at(r.weights, i);
        row << ',' << r.train_total;
        for (std::size_t i = 0; i < k; ++i) row << ',' << at(r.train_terms, i);
        row << ',' << r.val_total;
        for (std::size_t i = 0; i < k; ++i) row << ',' << at(r.val_terms, i);
        row << ',' << r.val_accuracy << ',' << r.seconds << "\r\n";
        text_ += row.str();
        atomic_write(path, text_, "CSV log");
        return true;
    }
    ///@}

private:
    std::string text_;  ///< the file's contents (the header and the rows written so far)

    /// The rows of the existing file whose epoch is <= last; requires its header to match.
    std::string rows_up_to(const std::string& header, std::size_t last) const {
        std::ifstream in(path, std::ios::binary);
        if (!in) return {};
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string old = ss.str();
        if (old.empty()) return {};
        std::size_t eol = old.find('\n');
        const std::string old_header = old.substr(0, eol == std::string::npos ? old.size() : eol + 1);
        auto trim = [](std::string h) {
            while (!h.empty() && (h.back() == '\n' || h.back() == '\r')) h.pop_back();
            return h;
        };
        if (trim(old_header) != trim(header))
            throw io_error("csv_log '" + path + "': resuming after epoch " + std::to_string(last) +
                           ", but the file's header '" + trim(old_header) + "' differs from this run's '" +
                           trim(header) + "'");
        std::string kept;
        std::size_t pos = old_header.size();
        while (pos < old.size()) {
            eol = old.find('\n', pos);
            const std::string line = old.substr(pos, eol == std::string::npos ? std::string::npos : eol + 1 - pos);
            pos = eol == std::string::npos ? old.size() : eol + 1;
            std::size_t epoch = 0;
            std::istringstream(line.substr(0, line.find(','))) >> epoch;
            if (epoch >= 1 && epoch <= last && line.back() == '\n') kept += trim(line) + "\r\n";
        }
        return kept;
    }
};

} // namespace b2m::train
