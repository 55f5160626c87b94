// What the demo's stages share: the report, the context and small helpers
// that turn the generator's columns into the library's inputs.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cdpcore/cdpcore.hpp"
#include "cdpcore/datagen.hpp"

namespace demo {

namespace dg = cdpcore::datagen;

/// Lines of the final report: a stage adds counts and timings here.
class Report {
 public:
  void section(const std::string& title) { lines_.push_back("\n" + title); }
  void count(const std::string& what, uint64_t n) { line(what, group(n)); }
  void timing(const std::string& what, double seconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f s", seconds);
    line(what, buf);
  }
  /// A ratio in [0, 1] with four decimals.
  void ratio(const std::string& what, double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f  ", v);
    line(what, buf);
  }
  void note(const std::string& text) { lines_.push_back("  " + text); }
  /// A square table of counts with named rows and columns.
  void matrix(const std::vector<std::string>& names, const std::function<uint64_t(size_t, size_t)>& at) {
    std::string head = "    " + std::string(16, ' ');
    for (const auto& n : names) head += pad(n, 15);
    lines_.push_back(head);
    for (size_t i = 0; i < names.size(); ++i) {
      std::string row = "    " + names[i] + std::string(names[i].size() < 16 ? 16 - names[i].size() : 1, ' ');
      for (size_t j = 0; j < names.size(); ++j) row += pad(group(at(i, j)), 15);
      lines_.push_back(row);
    }
  }
  void print() const {
    for (const auto& l : lines_) std::printf("%s\n", l.c_str());
    std::fflush(stdout);
  }
  static std::string group(uint64_t n) {
    std::string s = std::to_string(n), out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (i && (s.size() - i) % 3 == 0) out.push_back(',');
      out.push_back(s[i]);
    }
    return out;
  }

 private:
  void line(const std::string& what, const std::string& value) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "  %-48s %14s", what.c_str(), value.c_str());
    lines_.emplace_back(buf);
  }
  static std::string pad(const std::string& s, size_t width) {
    return std::string(s.size() < width ? width - s.size() : 1, ' ') + s;
  }
  std::vector<std::string> lines_;
};

/// Everything the stages share. The components are declared in the order
/// they depend on each other, so they are destroyed in reverse (the store and
/// the consent ledger detach from the identity graph before it goes).
struct DemoContext {
  std::string workspace_path;
  uint32_t persons = 100'000;
  uint64_t seed = 42;
  std::shared_ptr<cdpcore::Workspace> ws;
  dg::SampleData data;
  /// The evaluation time of every stage: the end of the generated year (the
  /// wall clock is never read by the library).
  cdpcore::Timestamp as_of = 0;
  Report report;

  std::unique_ptr<cdpcore::IdentityGraph> graph;
  std::unique_ptr<cdpcore::ProfileStore> store;
  std::optional<cdpcore::RuleSet> rules;
  cdpcore::TagResults tags;
  std::unique_ptr<cdpcore::SegmentEngine> segments;
  std::unique_ptr<cdpcore::Consent> consent;
  /// The campaign audience of the segment stage (its treatment group), which
  /// the consent stage filters.
  std::string campaign;
  cdpcore::Bitmap campaign_members;
};

/// Seconds taken by fn().
template <typename F>
double timed(F&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---- the generator's tables as library inputs (sample_input.cpp) -----------------------

/// Every identity record with its raw identifier values (type ids are
/// datagen's codes: register_default_types() registers them in that order).
cdpcore::RecordBatch identity_records(const dg::SampleData& d);

/// The ProfileStore schema for the sample: CRM attributes and event types.
void define_sample_schema(cdpcore::ProfileStore& store);

/// Upserts the CRM profile rows, keyed by their identifier (crm_id or the
/// raw phone), resolved through the attached identity graph.
cdpcore::WriteReport load_profile_rows(cdpcore::ProfileStore& store, const dg::SampleData& d);

/// Appends every event, keyed by the identifier it arrived with, one batch
/// per event type (best effort: rows whose identifier is blocked are
/// skipped). Returns the reports, one per event type.
std::vector<cdpcore::WriteReport> load_events(cdpcore::ProfileStore& store, const dg::SampleData& d);

/// The consent ledger as ConsentRecords (subjects as raw identifier values).
std::vector<cdpcore::ConsentRecord> consent_records(const dg::SampleData& d);

// ---- measures (metrics.cpp) --------------------------------------------------------------

/// Pairwise clustering quality: over all pairs of items, "same person"
/// according to `predicted` against `truth`.
struct PairwiseScore {
  uint64_t items = 0;
  uint64_t true_pairs = 0;       // pairs with the same true person
  uint64_t predicted_pairs = 0;  // pairs resolved to the same person
  uint64_t correct_pairs = 0;    // both
  double precision() const { return predicted_pairs ? double(correct_pairs) / double(predicted_pairs) : 1.0; }
  double recall() const { return true_pairs ? double(correct_pairs) / double(true_pairs) : 1.0; }
};

/// truth[i] and predicted[i] label item i; predicted kNoPerson means "not
/// resolved" (the item is alone). Computed from the contingency table of
/// (true, predicted) labels with sums of C(n, 2): O(n log n), no pairs listed.
PairwiseScore pairwise_score(std::span<const uint32_t> truth, std::span<const uint32_t> predicted);

/// The identity graph against the generator's ground truth.
struct IdentityCheck {
  PairwiseScore score;
  uint64_t true_persons = 0;  // distinct true persons in the records
  struct HardCase {
    uint64_t values = 0;   // distinct valid values with the flag
    uint64_t shared = 0;   // of these, seen in records of two or more true persons
    uint64_t blocked = 0;  // of those, blocked by the graph
  } placeholder, device;   // LinkFlag kPlaceholder, kSharedDevice
  uint64_t invalid_placeholder_occurrences = 0;  // "null", 11111111111 … (no valid identifier)
  uint64_t blocked_single_person = 0;            // blocked values seen with one true person only
};
IdentityCheck check_identity(const cdpcore::IdentityGraph& graph, const dg::SampleData& d);

/// Area under the ROC curve of `score` for the binary `label` (ties count one
/// half): the probability that a random positive scores above a random negative.
double roc_auc(std::span<const double> score, std::span<const uint8_t> label);

/// Order events read back from the store as parallel arrays (person
/// ordinal, time, amount), persons in ordinal order: the input of rfm().
struct OrderArrays {
  std::vector<uint32_t> person;
  std::vector<cdpcore::Timestamp> time;
  std::vector<double> amount;
};
OrderArrays order_arrays(const cdpcore::ProfileStore& store);

/// Parses the command line into `c` (false after printing the problem).
bool parse_args(int argc, char** argv, DemoContext& c);
void usage(const char* argv0);

}  // namespace demo
