// cdpcore_demo: the customer-data loop end to end on a generated population.
//
//   cdpcore_demo --workspace build/demo/sample.cdp [--persons 100000] [--seed 42]
//
// The demo is a list of stages run in order over one DemoContext (the
// workspace, the sample data, the evaluation time and a report). Each stage
// uses only the public API of the shared library. To add a stage, write a
// function `void stage_x(DemoContext&)` and append it to kStages.
#include <chrono>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cdpcore/cdpcore.hpp"

namespace {

namespace dg = cdpcore::datagen;

/// Lines of the final report: a stage adds counts and timings here.
class Report {
 public:
  void section(const std::string& title) { lines_.push_back("\n" + title); }
  void count(const std::string& what, uint64_t n) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "  %-38s %14s", what.c_str(), group(n).c_str());
    lines_.emplace_back(buf);
  }
  void timing(const std::string& what, double seconds) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "  %-38s %12.3f s", what.c_str(), seconds);
    lines_.emplace_back(buf);
  }
  void note(const std::string& text) { lines_.push_back("  " + text); }
  void print() const {
    for (const auto& l : lines_) std::printf("%s\n", l.c_str());
    std::fflush(stdout);
  }

 private:
  static std::string group(uint64_t n) {
    std::string s = std::to_string(n), out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (i && (s.size() - i) % 3 == 0) out.push_back(',');
      out.push_back(s[i]);
    }
    return out;
  }
  std::vector<std::string> lines_;
};

/// Everything the stages share.
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
};

/// Seconds taken by fn().
template <typename F>
double timed(F&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---- stages ------------------------------------------------------------------------

void stage_open_workspace(DemoContext& c) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(c.workspace_path + suffix, ec);
  if (auto parent = std::filesystem::path(c.workspace_path).parent_path(); !parent.empty())
    std::filesystem::create_directories(parent, ec);
  cdpcore::WorkspaceOptions opt;
  opt.time_zone = "Asia/Shanghai";
  const double s = timed([&] { c.ws = cdpcore::Workspace::open(c.workspace_path, opt); });
  c.report.section("workspace " + c.workspace_path + " (cdpcore " + std::string(cdpcore::version()) + ")");
  c.report.note("time zone " + c.ws->time_zone().name());
  c.report.timing("open (new file)", s);
}

void stage_generate(DemoContext& c) {
  dg::Options opt;
  opt.persons = c.persons;
  opt.seed = c.seed;
  const double s = timed([&] { c.data = dg::generate(opt); });
  c.as_of = c.data.options.end;
  size_t anonymous = 0, members = 0;
  for (size_t p = 0; p < c.data.persons.size(); ++p) {
    anonymous += c.data.persons.is_anonymous[p];
    members += c.data.persons.member_level[p] != 0;
  }
  c.report.section("sample population (seed " + std::to_string(c.seed) + ", year ending " +
                   cdpcore::format_iso8601(c.as_of) + ")");
  c.report.count("true persons", c.data.persons.size());
  c.report.count("  of which anonymous visitors", anonymous);
  c.report.count("  of which members", members);
  c.report.count("identity records", c.data.records.size());
  c.report.count("identifier occurrences", c.data.links.size());
  c.report.count("CRM profile rows", c.data.profiles.size());
  c.report.count("events", c.data.events.size());
  c.report.count("consent records", c.data.consent.size());
  c.report.timing("generate", s);
}

void stage_store_sample(DemoContext& c) {
  const double s = timed([&] { dg::write_to_workspace(*c.ws, c.data); });
  c.report.section("sample tables written (sample_links, sample_records, sample_persons, sample_profiles, "
                   "sample_events, sample_consent)");
  const auto rows = c.data.links.size() + c.data.records.size() + c.data.persons.size() + c.data.profiles.size() +
                    c.data.events.size() + c.data.consent.size();
  c.report.count("rows", rows);
  c.report.timing("write (one transaction)", s);
}

// Later stages (identity resolution, tags, segments, consent filtering,
// scoring) are appended here as their components arrive.
struct Stage {
  const char* name;
  void (*run)(DemoContext&);
};
constexpr Stage kStages[] = {
    {"open workspace", stage_open_workspace},
    {"generate sample data", stage_generate},
    {"store sample data", stage_store_sample},
};

void usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s --workspace PATH [--persons N] [--seed S]\n", argv0);
}

bool parse_args(int argc, char** argv, DemoContext& c) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "cdpcore_demo: %s needs a value\n", a.c_str());
        return nullptr;
      }
      return argv[++i];
    };
    auto number = [&](const char* v, uint64_t max, uint64_t& out) {
      char* end = nullptr;
      errno = 0;
      const unsigned long long n = v ? std::strtoull(v, &end, 10) : 0;
      if (!v || *v == '\0' || *end != '\0' || errno || n > max || *v == '-') {
        std::fprintf(stderr, "cdpcore_demo: %s: not a number in range: %s\n", a.c_str(), v ? v : "");
        return false;
      }
      out = n;
      return true;
    };
    if (a == "--workspace") {
      const char* v = value();
      if (!v) return false;
      c.workspace_path = v;
    } else if (a == "--persons") {
      uint64_t n = 0;
      if (!number(value(), 50'000'000, n) || n == 0) return false;
      c.persons = static_cast<uint32_t>(n);
    } else if (a == "--seed") {
      if (!number(value(), UINT64_MAX, c.seed)) return false;
    } else if (a == "-h" || a == "--help") {
      usage(argv[0]);
      std::exit(0);
    } else {
      std::fprintf(stderr, "cdpcore_demo: unknown argument %s\n", a.c_str());
      return false;
    }
  }
  if (c.workspace_path.empty()) {
    std::fprintf(stderr, "cdpcore_demo: --workspace is required\n");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  DemoContext c;
  if (!parse_args(argc, argv, c)) {
    usage(argv[0]);
    return 2;
  }
  std::printf("cdpcore demo: %u persons, seed %" PRIu64 "\n", c.persons, c.seed);
  double total = 0;
  for (const Stage& st : kStages) {
    std::printf("- %s ...\n", st.name);
    std::fflush(stdout);
    try {
      total += timed([&] { st.run(c); });
    } catch (const std::exception& e) {
      c.report.print();
      std::fprintf(stderr, "cdpcore_demo: stage \"%s\" failed: %s\n", st.name, e.what());
      return 1;
    }
  }
  c.report.section("total");
  c.report.timing("all stages", total);
  c.report.print();
  return 0;
}
