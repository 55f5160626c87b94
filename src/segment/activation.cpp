// Sampling, holdout splits and activation export.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <queue>

#include "cdpcore/error.hpp"
#include "cdpcore/hash.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/utf8.hpp"
#include "segment/engine_impl.hpp"
#include "util/csv.hpp"

namespace cdpcore {

namespace {

uint64_t hash_u64(uint64_t v, uint64_t seed) noexcept {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((v >> (8 * i)) & 0xff);  // little-endian everywhere
  return hash64(std::string_view(bytes, 8), seed);
}

}  // namespace

Bitmap SegmentEngine::sample(const Bitmap& members, uint64_t k, uint64_t seed) {
  uint64_t n = members.cardinality();
  if (k >= n) return members;
  if (k == 0) return Bitmap();
  // Bottom-k by hash: a max-heap of the k smallest (hash, ordinal) pairs.
  using Item = std::pair<uint64_t, uint32_t>;
  std::priority_queue<Item> heap;
  members.for_each_batch(65536, [&](std::span<const uint32_t> batch) {
    for (uint32_t p : batch) {
      Item it{hash_u64(p, seed), p};
      if (heap.size() < k) {
        heap.push(it);
      } else if (it < heap.top()) {
        heap.pop();
        heap.push(it);
      }
    }
    return true;
  });
  std::vector<uint32_t> chosen;
  chosen.reserve(heap.size());
  while (!heap.empty()) {
    chosen.push_back(heap.top().second);
    heap.pop();
  }
  return Bitmap::from_values(chosen);
}

std::vector<Bitmap> SegmentEngine::split(const Bitmap& members, const SplitOptions& options) const {
  require_utf8(options.salt, "split salt");
  if (options.proportions.empty()) throw InvalidArgument("split: no proportions given");
  double sum = 0;
  for (size_t i = 0; i < options.proportions.size(); ++i) {
    double p = options.proportions[i];
    if (!(p > 0) || !std::isfinite(p))
      throw InvalidArgument("split: proportion " + std::to_string(i) + " is " + std::to_string(p) + ", must be > 0");
    sum += p;
  }
  if (std::fabs(sum - 1.0) > 1e-9) throw InvalidArgument("split: proportions sum to " + std::to_string(sum) + ", not 1");
  // Cumulative bounds on the 53-bit hash space.
  std::vector<uint64_t> bounds;
  double acc = 0;
  for (size_t i = 0; i + 1 < options.proportions.size(); ++i) {
    acc += options.proportions[i];
    bounds.push_back(static_cast<uint64_t>(std::ldexp(acc, 53)));
  }
  const uint64_t salt_seed = hash64(options.salt, 0x5e67'0000'0000'0001ull);
  std::vector<std::vector<uint32_t>> groups(options.proportions.size());
  std::vector<PersonKey> keys;
  members.for_each_batch(65536, [&](std::span<const uint32_t> batch) {
    keys.resize(batch.size());
    if (impl_->graph) {
      impl_->graph->keys_of(batch, keys);
    } else {
      for (size_t i = 0; i < batch.size(); ++i) keys[i] = batch[i];
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      uint64_t h = hash_u64(keys[i], salt_seed) >> 11;
      size_t g = static_cast<size_t>(std::upper_bound(bounds.begin(), bounds.end(), h) - bounds.begin());
      groups[g].push_back(batch[i]);
    }
    return true;
  });
  std::vector<Bitmap> out;
  out.reserve(groups.size());
  for (auto& g : groups) out.push_back(Bitmap::from_values(g));
  return out;
}

ExportReport SegmentEngine::export_members(const Bitmap& members, const ExportOptions& options,
                                           const std::function<bool(const ExportBatch&)>& sink) const {
  if (options.batch_size == 0) throw InvalidArgument("export: batch_size must be positive");
  const IdentityGraph* graph = impl_->graph;
  std::vector<TypeId> types;
  for (const std::string& t : options.identifier_types) {
    require_utf8(t, "identifier type");
    if (!graph) throw StateError("export: identifier types need an identity graph");
    TypeId id = graph->type_id(t);
    if (id == kNoType) throw NotFound("export: identifier type '" + t + "' does not exist");
    types.push_back(id);
  }
  ExportReport r;
  r.members = members.cardinality();
  Bitmap eligible;
  const Bitmap* source = &members;
  if (options.allowed) {
    eligible = members & *options.allowed;
    r.not_allowed = r.members - eligible.cardinality();
    source = &eligible;
  }
  std::vector<PersonOrdinal> persons;
  std::vector<PersonKey> keys;
  std::vector<std::string> type_out, value_out;
  bool go = true;
  auto flush = [&]() {
    if (persons.empty()) return;
    ExportBatch b;
    b.persons = persons;
    if (graph) b.keys = keys;
    if (!types.empty()) {
      b.identifier_types = type_out;
      b.identifiers = value_out;
    }
    r.exported += persons.size();
    go = sink(b);
    persons.clear();
    keys.clear();
    type_out.clear();
    value_out.clear();
  };
  std::vector<PersonKey> batch_keys;
  source->for_each_batch(options.batch_size, [&](std::span<const uint32_t> batch) {
    if (graph) {
      batch_keys.resize(batch.size());
      graph->keys_of(batch, batch_keys);
    }
    for (size_t i = 0; i < batch.size() && go; ++i) {
      PersonOrdinal p = batch[i];
      if (!types.empty()) {
        // The first type in priority order with an allowed identifier; the
        // most recently seen identifier of that type first.
        bool found = false;
        for (size_t t = 0; t < types.size() && !found; ++t) {
          std::vector<IdentifierInfo> ids = graph->identifiers_of(p, types[t]);
          std::stable_sort(ids.begin(), ids.end(), [](const IdentifierInfo& a, const IdentifierInfo& b) {
            return a.last_seen > b.last_seen || (a.last_seen == b.last_seen && a.id > b.id);
          });
          for (const IdentifierInfo& id : ids) {
            if (id.blocked) continue;
            if (options.allow_identifier && !options.allow_identifier(p, options.identifier_types[t], id.value))
              continue;
            type_out.push_back(options.identifier_types[t]);
            value_out.push_back(id.value);
            found = true;
            break;
          }
        }
        if (!found) {
          ++r.unreachable;
          continue;
        }
      }
      persons.push_back(p);
      if (graph) keys.push_back(batch_keys[i]);
      if (persons.size() >= options.batch_size) flush();
    }
    return go;
  });
  if (go) flush();
  return r;
}

namespace {

void csv_field(std::string& out, std::string_view v) {
  bool quote = v.find_first_of(",\"\r\n") != std::string_view::npos;
  if (quote) util::append_csv_quoted(out, v);
  else out.append(v);
}

}  // namespace

ExportReport SegmentEngine::export_csv(const Bitmap& members, const std::string& path,
                                       const ExportOptions& options) const {
  require_utf8(path, "path");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw IoError("export: cannot open '" + path + "' for writing: " + std::strerror(errno));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> guard(f, &std::fclose);
  std::string buf = impl_->graph ? "person_key" : "person_ordinal";
  if (!options.identifier_types.empty()) buf += ",identifier_type,identifier";
  buf += "\r\n";
  bool failed = false;
  auto write = [&]() {
    if (!buf.empty() && std::fwrite(buf.data(), 1, buf.size(), f) != buf.size()) failed = true;
    buf.clear();
  };
  ExportReport r = export_members(members, options, [&](const ExportBatch& b) {
    for (size_t i = 0; i < b.persons.size(); ++i) {
      buf += std::to_string(b.keys.empty() ? uint64_t{b.persons[i]} : b.keys[i]);
      if (!b.identifiers.empty()) {
        buf.push_back(',');
        csv_field(buf, b.identifier_types[i]);
        buf.push_back(',');
        csv_field(buf, b.identifiers[i]);
      }
      buf += "\r\n";
    }
    write();
    return !failed;
  });
  write();
  if (failed || std::fflush(f) != 0) throw IoError("export: writing '" + path + "' failed: " + std::strerror(errno));
  if (std::fclose(guard.release()) != 0) throw IoError("export: closing '" + path + "' failed");
  return r;
}

}  // namespace cdpcore
