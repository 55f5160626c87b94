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
//   identity.intern             the same values interned into dense ids (1 thread, reserved):
//                               by the linking's own table (util::OpenTable, impl "cdpcore"),
//                               by std::unordered_map, and by absl::flat_hash_map where the
//                               build found abseil: the general-purpose baselines the
//                               linking's table is planned against
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

#if defined(CDPCORE_BENCH_HAVE_ABSL)
#include <absl/container/flat_hash_map.h>
#endif

#include "cdpcore/datagen.hpp"
#include "cdpcore/hash.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/workspace.hpp"
#include "identity/graph_impl.hpp"
#include "identity/normalize.hpp"
#include "util/impl_access.hpp"

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

/// Interns the canonical values of `links` into dense ids with `intern`
/// (key: type code byte + value, so equal values of two types stay apart as
/// in the graph), emits the identity.intern row of `impl` and returns the
/// sum of the ids (equal for every map: ids are dense in order of first sight).
template <class Intern>
uint64_t measure_intern(const dg::SampleData& data, const std::string& impl, const std::string& notes, Intern&& intern) {
  const auto& L = data.links;
  std::string key;
  uint64_t occurrences = 0, checksum = 0;
  uint32_t distinct = 0;
  const Usage u0 = usage();
  const double t0 = now();
  for (size_t k = 0; k < L.size(); ++k) {
    const std::string_view v = L.canonical[k];
    if (v.empty()) continue;
    key.assign(1, static_cast<char>(L.type[k]));
    key.append(v);
    const uint32_t id = intern(key);
    checksum += id;
    distinct = std::max(distinct, id + 1);
    ++occurrences;
  }
  const double dt = now() - t0;
  const Usage u = usage().since(u0);
  char extra[400];
  std::snprintf(extra, sizeof extra,
                "\"identifiers\":%u,\"threads\":1,\"cpu_seconds\":%.3f,\"user_seconds\":%.3f,\"sys_seconds\":%.3f,"
                "\"checksum\":%llu,\"notes\":\"%s\"",
                distinct, u.cpu(), u.user, u.sys, static_cast<unsigned long long>(checksum), json_escape(notes).c_str());
  emit("identity.intern", impl, dt, occurrences, extra);
  return checksum;
}

/// measure_intern() with a general-purpose map, reserved for every value (an
/// upper bound of the distinct ones): its best case, it never rehashes.
template <class Map>
uint64_t measure_map_intern(const dg::SampleData& data, const std::string& impl, const std::string& notes) {
  Map ids;
  ids.reserve(data.links.size());
  return measure_intern(data, impl, notes, [&](const std::string& key) {
    return ids.try_emplace(key, static_cast<uint32_t>(ids.size())).first->second;
  });
}

/// The linking's own table (util::OpenTable, as the graph lays it out) as an
/// interning map: keys in one byte array, ids dense.
class OpenTableIntern {
 public:
  explicit OpenTableIntern(size_t expected) {
    table_.reset(idg::IdTable::capacity_for(expected));
    bytes_.reserve(expected * 16);
    offsets_.reserve(expected + 1);
    offsets_.push_back(0);
  }
  uint32_t operator()(std::string_view key) {
    const uint64_t h = hash_identifier(static_cast<uint8_t>(key[0]), key.substr(1));
    const uint32_t found = table_.find(h, [&](uint32_t id) { return stored(id) == key; });
    if (found != idg::IdTable::kNoId) return found;
    const auto id = static_cast<uint32_t>(offsets_.size() - 1);
    bytes_.append(key);
    offsets_.push_back(bytes_.size());
    if (table_.full()) table_.grow();
    table_.insert(h, id);
    return id;
  }
  size_t size() const noexcept { return offsets_.size() - 1; }

 private:
  std::string_view stored(uint32_t id) const noexcept {
    return std::string_view(bytes_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  idg::IdTable table_;
  std::string bytes_;
  std::vector<size_t> offsets_;
};

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
      const idg::TypeState& ts = *cdpcore::detail::ImplAccess::of(g).types[t];
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
    // Each reserved for every value (an upper bound of the distinct ones).
    uint64_t expected = 0;
    auto same = [&](uint64_t checksum, const char* impl) {
      if (checksum == expected) return;
      std::fprintf(stderr, "identity.intern: %s gave other ids than util::OpenTable\n", impl);
      std::exit(1);
    };
    {
      OpenTableIntern ids(data.links.size());
      expected = measure_intern(data, "cdpcore", "util::OpenTable (the linking's table layout), keys in one byte array",
                                [&](const std::string& key) { return ids(key); });
    }
    same(measure_map_intern<std::unordered_map<std::string, uint32_t>>(
             data, "std::unordered_map", "std::unordered_map<std::string, uint32_t>: interning only, no linking"),
         "std::unordered_map");
#if defined(CDPCORE_BENCH_HAVE_ABSL)
    same(measure_map_intern<absl::flat_hash_map<std::string, uint32_t>>(
             data, "absl::flat_hash_map", "absl::flat_hash_map<std::string, uint32_t>: interning only, no linking"),
         "absl::flat_hash_map");
#endif
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
