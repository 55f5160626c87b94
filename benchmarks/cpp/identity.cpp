// Native identity-graph benchmark: prints one JSON result per line.
//
//   bench_identity [--records N] [--threads T] [--skip-persisted] [--workdir DIR] [--only PART]
//                  [--name-suffix S]
//
// Data: cdpcore::datagen identity data (records, raw and canonical values),
// sized to about N records. Measures, on the same data:
//   identity.normalize.<type>   each normaliser alone on the raw values (1 thread);
//                               phone also with libphonenumber alone (peer "libphonenumber")
//   identity.components         linking the canonical values with no limits, in memory:
//                               the connected components the peers compute
//   identity.intern             the same values interned into dense ids by std::unordered_map
//                               (1 thread): the general-purpose baseline the linking's own
//                               hash table is planned against
//   identity.link_protected     the same with the default types (limits, priorities, blocks)
//   identity.link_raw           raw values, normalised on the way in (default types)
//   identity.persisted          canonical values into a workspace file, one transaction per batch
// Rows are identifier occurrences; records, distinct identifiers, memory and
// CPU seconds are extra fields.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "cdpcore/datagen.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/workspace.hpp"
#include "identity/graph_impl.hpp"
#include "identity/normalize.hpp"

using namespace cdpcore;
namespace dg = cdpcore::datagen;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
/// The process's CPU seconds (user, kernel) and page faults, or their growth.
struct Usage {
  double user = 0, sys = 0;
  long minor_faults = 0;
  double cpu() const { return user + sys; }
  Usage since(const Usage& before) const {
    return {user - before.user, sys - before.sys, minor_faults - before.minor_faults};
  }
};
Usage usage() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return {sec(ru.ru_utime), sec(ru.ru_stime), ru.ru_minflt};
}
long status_kb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(key);
  while (std::getline(f, line))
    if (line.compare(0, n, key) == 0) return std::stol(line.substr(n + 1));
  return 0;
}
void reset_peak() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";  // resets VmHWM to the current RSS
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o.push_back('\\');
    o.push_back(c);
  }
  return o;
}

// Appended to every benchmark name (--name-suffix): a second run at another
// size reports under its own names.
std::string g_name_suffix;

void emit(const std::string& bench_name, const std::string& impl, double seconds, uint64_t rows,
          const std::string& extra = "") {
  const std::string bench = bench_name + g_name_suffix;
  std::printf("{\"benchmark\":\"%s\",\"impl\":\"%s\",\"seconds\":%.6f,\"rows\":%llu%s%s}\n", bench.c_str(),
              impl.c_str(), seconds, static_cast<unsigned long long>(rows), extra.empty() ? "" : ",", extra.c_str());
  std::fflush(stdout);
}

std::vector<RecordBatch> make_batches(const dg::SampleData& d, bool canonical, size_t per_batch) {
  std::vector<RecordBatch> out;
  const auto& R = d.records;
  const auto& L = d.links;
  const auto sources = dg::record_source_names();
  for (size_t r0 = 0; r0 < R.size(); r0 += per_batch) {
    const size_t r1 = std::min(R.size(), r0 + per_batch);
    RecordBatch b;
    b.reserve(r1 - r0, R.link_offsets[r1] - R.link_offsets[r0], (R.link_offsets[r1] - R.link_offsets[r0]) * 24);
    for (size_t r = r0; r < r1; ++r) {
      b.begin_record(R.time[r], sources[R.source[r]]);
      for (uint64_t k = R.link_offsets[r]; k < R.link_offsets[r + 1]; ++k) {
        const std::string_view v = canonical ? L.canonical[k] : L.value[k];
        if (canonical && v.empty()) continue;  // not a valid identifier
        b.add(static_cast<TypeId>(L.type[k]), v);
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

// Types in datagen's IdType order so that type ids equal its codes.
void register_plain(IdentityGraph& g) {
  for (const char* name : dg::identifier_type_names()) {
    IdentifierTypeOptions o;
    o.normalizer = Normalizer::none;
    o.max_length = 1023;
    g.register_type(name, o);
  }
}

struct LinkStats {
  double seconds = 0;
  Usage used;  // during linking
  uint64_t occurrences = 0, records = 0;
  IdentityStats stats;
  long rss_before_kb = 0, rss_after_kb = 0, peak_kb = 0;
};

LinkStats run_link(IdentityGraph& g, const std::vector<RecordBatch>& batches) {
  LinkStats s;
  BatchOptions o;
  o.mode = BatchMode::best_effort;
  s.rss_before_kb = status_kb("VmRSS");
  reset_peak();
  const double t0 = now();
  const Usage u0 = usage();
  for (const RecordBatch& b : batches) {
    BatchResult r = g.link_batch(b, o);
    s.occurrences += r.identifiers;
    s.records += r.records;
  }
  s.seconds = now() - t0;
  s.used = usage().since(u0);
  s.rss_after_kb = status_kb("VmRSS");
  s.peak_kb = status_kb("VmHWM");
  s.stats = g.stats();
  return s;
}

std::string link_extra(const LinkStats& s, int threads, const std::string& notes) {
  char buf[896];
  std::snprintf(buf, sizeof buf,
                "\"records\":%llu,\"identifiers\":%llu,\"persons\":%llu,\"threads\":%d,\"cpu_seconds\":%.3f,"
                "\"user_seconds\":%.3f,\"sys_seconds\":%.3f,\"page_faults\":%ld,"
                "\"ids_per_cpu_second\":%.0f,\"bytes_per_identifier\":%.1f,\"graph_mb\":%.1f,\"rss_growth_mb\":%.1f,"
                "\"peak_mb\":%.1f,\"notes\":\"%s\"",
                static_cast<unsigned long long>(s.records), static_cast<unsigned long long>(s.stats.identifiers),
                static_cast<unsigned long long>(s.stats.persons), threads, s.used.cpu(), s.used.user, s.used.sys,
                s.used.minor_faults,
                s.used.cpu() > 0 ? static_cast<double>(s.occurrences) / s.used.cpu() : 0.0,
                s.stats.identifiers ? static_cast<double>(s.stats.memory_bytes) / static_cast<double>(s.stats.identifiers)
                                    : 0.0,
                static_cast<double>(s.stats.memory_bytes) / 1048576.0,
                static_cast<double>(s.rss_after_kb - s.rss_before_kb) / 1024.0,
                static_cast<double>(s.peak_kb - s.rss_before_kb) / 1024.0, json_escape(notes).c_str());
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  size_t records = 0;
  bool persisted = true;
  std::string only;  // run one part: normalize, components, protected, raw, persisted
  std::string workdir = std::filesystem::temp_directory_path().string();
  const char* scale = std::getenv("CDPCORE_BENCH_SCALE");
  const bool full = scale && std::string(scale) == "full";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--records" && i + 1 < argc) records = std::stoull(argv[++i]);
    else if (a == "--skip-persisted") persisted = false;
    else if (a == "--workdir" && i + 1 < argc) workdir = argv[++i];
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else if (a == "--name-suffix" && i + 1 < argc) g_name_suffix = argv[++i];
    else if (a == "--threads" && i + 1 < argc) ++i;  // normalisation uses two threads when there are two
  }
  if (records == 0) records = full ? 10'000'000 : 400'000;

  // About 3.9 records per person in the generator's defaults.
  dg::Options opt;
  opt.seed = 42;
  opt.persons = static_cast<uint32_t>(std::max<size_t>(1000, records * 10 / 39));
  opt.identity_only = true;
  opt.with_canonical = true;
  const double tg = now();
  const dg::SampleData data = dg::generate(opt);
  std::fprintf(stderr, "generated %zu records, %zu links in %.1fs\n", data.records.size(), data.links.size(),
               now() - tg);
  const auto type_names = dg::identifier_type_names();

  auto want = [&](const char* part) { return only.empty() || only == part; };
  // ---- normalisers alone ------------------------------------------------------------
  if (want("normalize")) {
    IdentityGraph g;
    g.register_default_types();
    std::vector<std::vector<std::string_view>> by_type(type_names.size());
    for (size_t k = 0; k < data.links.size(); ++k) by_type[data.links.type[k]].push_back(data.links.value[k]);
    const size_t cap = full ? 2'000'000 : 200'000;
    for (size_t t = 0; t < by_type.size(); ++t) {
      auto& v = by_type[t];
      if (v.size() > cap) v.resize(cap);
      const idg::TypeState& ts = *g.impl().types[t];
      std::string buf;
      std::string_view out;
      size_t ok = 0;
      const double t0 = now();
      for (std::string_view s : v) ok += idg::normalize_value(ts, s, buf, out, nullptr);
      const double dt = now() - t0;
      char extra[160];
      std::snprintf(extra, sizeof extra, "\"valid\":%zu,\"normalizer\":\"%s\",\"threads\":1", ok,
                    normalizer_name(ts.opt.normalizer));
      emit(std::string("identity.normalize.") + type_names[t], "cdpcore", dt, v.size(), extra);
      if (std::string(type_names[t]) == "phone") {
        // The same values through libphonenumber alone (no fast path), and the share the fast path decides.
        size_t fast = 0, ok2 = 0;
        for (std::string_view s : v) fast += idg::phone_e164_fast_cn(idg::trim_space(s), buf) >= 0;
        const size_t n2 = std::min<size_t>(v.size(), full ? 200'000 : 50'000);
        const double t1 = now();
        for (size_t i = 0; i < n2; ++i) ok2 += idg::phone_e164_libphonenumber(idg::trim_space(v[i]), "CN", buf);
        const double dt2 = now() - t1;
        std::snprintf(extra, sizeof extra, "\"valid\":%zu,\"threads\":1,\"notes\":\"fast path decides %.1f%%\"", ok2,
                      100.0 * static_cast<double>(fast) / static_cast<double>(v.size()));
        emit("identity.normalize.phone", "libphonenumber", dt2, n2, extra);
      }
    }
  }

  const size_t per_batch = 1'000'000;
  // ---- connected components of the canonical values (no limits) --------------------------
  if (want("components")) {
    std::vector<RecordBatch> batches = make_batches(data, true, per_batch);
    // No person cap either (the default refuses merges past 1,000 identifiers):
    // the peers compute plain connected components.
    IdentityOptions uncapped;
    uncapped.max_identifiers = UINT32_MAX;
    IdentityGraph g(uncapped);
    register_plain(g);
    const LinkStats s = run_link(g, batches);
    emit("identity.components", "cdpcore", s.seconds, s.occurrences,
         link_extra(s, 2, "C++, in memory, normalised values, no limits; batches of 1M records"));
  }
  // ---- interning alone with a general-purpose map, same values ---------------------------------
  if (want("components") || want("intern")) {
    // Key: type code byte + value, so equal values of two types stay apart as in the graph.
    // Reserved for every value: the map's best case (it never rehashes).
    const auto& L = data.links;
    std::unordered_map<std::string, uint32_t> ids;
    ids.reserve(L.size());  // an upper bound of the distinct values
    std::string key;
    uint64_t occurrences = 0, checksum = 0;
    const Usage u0 = usage();
    const double t0 = now();
    for (size_t k = 0; k < L.size(); ++k) {
      const std::string_view v = L.canonical[k];
      if (v.empty()) continue;
      key.assign(1, static_cast<char>(L.type[k]));
      key.append(v);
      checksum += ids.try_emplace(key, static_cast<uint32_t>(ids.size())).first->second;
      ++occurrences;
    }
    const double dt = now() - t0;
    const Usage u = usage().since(u0);
    char extra[320];
    std::snprintf(extra, sizeof extra,
                  "\"identifiers\":%zu,\"threads\":1,\"cpu_seconds\":%.3f,\"user_seconds\":%.3f,\"sys_seconds\":%.3f,"
                  "\"checksum\":%llu,\"notes\":\"std::unordered_map<std::string, uint32_t>: interning only, no linking\"",
                  ids.size(), u.cpu(), u.user, u.sys,
                  static_cast<unsigned long long>(checksum));
    emit("identity.intern", "std::unordered_map", dt, occurrences, extra);
  }
  // ---- with merge protection (default types, canonical values) ------------------------------
  if (want("protected")) {
    std::vector<RecordBatch> batches = make_batches(data, true, per_batch);
    IdentityGraph g;
    // The default types' limits, priorities and thresholds, without normalisers (values are canonical).
    {
      IdentityGraph defaults;
      defaults.register_default_types();
      for (const auto& t : defaults.types()) {
        IdentifierTypeOptions o = t.options;
        o.normalizer = Normalizer::none;
        o.max_length = 1023;
        g.register_type(t.name, o);
      }
    }
    const LinkStats s = run_link(g, batches);
    emit("identity.link_protected", "cdpcore", s.seconds, s.occurrences,
         link_extra(s, 2,
                    "C++, in memory, normalised values, default limits, priorities and auto-blocks, "
                    "conflicts " + std::to_string(g.conflict_count())));
  }
  // ---- raw values, normalised on the way in ----------------------------------------------------
  if (want("raw")) {
    std::vector<RecordBatch> batches = make_batches(data, false, per_batch);
    IdentityGraph g;
    g.register_default_types();
    const LinkStats s = run_link(g, batches);
    emit("identity.link_raw", "cdpcore", s.seconds, s.occurrences,
         link_extra(s, 2, "C++, in memory, raw values normalised (libphonenumber + fast path), default types"));
  }
  // ---- persisted ingest -------------------------------------------------------------------------
  if (persisted && want("persisted")) {
    std::vector<RecordBatch> batches = make_batches(data, true, per_batch);
    const std::string path = workdir + "/bench_identity_" + std::to_string(::getpid()) + ".cdp";
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    {
      auto ws = Workspace::open(path);
      IdentityGraph g(ws);
      register_plain(g);
      const LinkStats s = run_link(g, batches);
      const double mb = static_cast<double>(std::filesystem::file_size(path)) / 1048576.0;
      emit("identity.persisted", "cdpcore", s.seconds, s.occurrences,
           link_extra(s, 2, "C++, workspace file (WAL, synchronous=NORMAL), one transaction per 1M records, " +
                                std::to_string(static_cast<int>(mb)) + " MB file"));
      // Reopening rebuilds the graph from the file.
      const double t0 = now();
      IdentityGraph reopened(ws);
      const double dt = now() - t0;
      emit("identity.reopen", "cdpcore", dt, reopened.stats().identifiers, "\"notes\":\"load a bound graph from the file\"");
    }
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
  return 0;
}
