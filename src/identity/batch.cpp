// Batches: RecordBatch, the linking driver (normalisation on every thread,
// pipelined with the single-threaded linking), the commit's change log and events
// (begin, rollback and commit of the state itself: batch_state.cpp).
#include <algorithm>
#include <numeric>
#include <optional>

#include "cdpcore/hash.hpp"
#include "cdpcore/utf8.hpp"
#include "identity/batch_impl.hpp"
#include "identity/graph_impl.hpp"
#include "util/parallel.hpp"
#include "util/sqlite.hpp"

namespace cdpcore {

// ---- RecordBatch ------------------------------------------------------------------------

RecordBatch::RecordBatch() : impl_(std::make_unique<Impl>()) {}
RecordBatch::~RecordBatch() = default;
RecordBatch::RecordBatch(const RecordBatch& o) : impl_(std::make_unique<Impl>(*o.impl_)) {}
RecordBatch& RecordBatch::operator=(const RecordBatch& o) {
  if (this != &o) impl_ = std::make_unique<Impl>(*o.impl_);
  return *this;
}
RecordBatch::RecordBatch(RecordBatch&&) noexcept = default;
RecordBatch& RecordBatch::operator=(RecordBatch&&) noexcept = default;

void RecordBatch::begin_record(Timestamp time, std::string_view source) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  require_utf8(source, "record source");
  impl_->rec_start.push_back(impl_->items());
  impl_->times.push_back(time);
  impl_->src.push_back(impl_->intern_source(source));
}

void RecordBatch::add(TypeId type, std::string_view value) {
  if (!impl_ || impl_->times.empty()) throw StateError("RecordBatch::add before begin_record");
  if (type & Impl::kByName) throw InvalidArgument("identifier type id " + std::to_string(type) + " is out of range");
  impl_->item_type.push_back(type);
  impl_->bytes.append(value.data(), value.size());
  impl_->val_end.push_back(impl_->bytes.size());
}

void RecordBatch::add(std::string_view type_name, std::string_view value) {
  if (!impl_ || impl_->times.empty()) throw StateError("RecordBatch::add before begin_record");
  impl_->item_type.push_back(Impl::kByName | impl_->intern_name(type_name));
  impl_->bytes.append(value.data(), value.size());
  impl_->val_end.push_back(impl_->bytes.size());
}

void RecordBatch::add_record(const Record& r) {
  begin_record(r.time, r.source);
  for (const IdentifierInput& in : r.identifiers) {
    if (in.type_id != kNoType) add(in.type_id, in.value);
    else add(in.type, in.value);
  }
}

void RecordBatch::reserve(size_t records, size_t identifiers, size_t value_bytes) {
  impl_->rec_start.reserve(records);
  impl_->times.reserve(records);
  impl_->src.reserve(records);
  impl_->item_type.reserve(identifiers);
  impl_->val_end.reserve(identifiers);
  impl_->bytes.reserve(value_bytes);
}

void RecordBatch::clear() noexcept {
  if (impl_) *impl_ = Impl{};
}
size_t RecordBatch::size() const noexcept { return impl_ ? impl_->records() : 0; }
size_t RecordBatch::identifier_count() const noexcept { return impl_ ? impl_->items() : 0; }

}  // namespace cdpcore

namespace cdpcore::idg {

constexpr size_t kMaxIdentifiersPerRecord = 1000;

// ---- publishing a batch ---------------------------------------------------

void GraphState::commit_batch() {
  for (auto& s : pending_suppress) suppressed.insert(std::move(s));
  if (!db) {
    for (size_t i = 0; i < pending.size(); ++i) {
      const uint64_t seq = mark.last_seq + i + 1;
      const PendingChange& p = pending[i];
      if (mem_log.empty()) mem_log_first = seq;
      mem_log.push_back(p);
      if (p.source == kNone && !pending_note.empty()) mem_notes[seq] = pending_note;
      if (p.parts_end > p.parts_begin) {
        std::vector<SplitPart>& parts = mem_parts[seq];
        for (uint32_t k = p.parts_begin; k < p.parts_end; ++k) {
          const PendingPart& pp = pending_parts[k];
          SplitPart part;
          part.ordinal = pp.ordinal;
          part.key = pp.key;
          part.identifiers.assign(pending_part_ids.begin() + pp.ids_begin, pending_part_ids.begin() + pp.ids_end);
          parts.push_back(std::move(part));
        }
      }
    }
    for (auto& c : pending_conflicts) mem_conflicts.push_back(std::move(c));
    trim_memory_logs();
  }
  commit(options.reuse_ordinals);
}

void GraphState::trim_memory_logs() {
  while (mem_log.size() > options.memory_log_limit) {
    const uint64_t seq = mem_log_first++;
    mem_notes.erase(seq);
    mem_parts.erase(seq);
    mem_log.pop_front();
  }
  while (mem_conflicts.size() > options.memory_log_limit) mem_conflicts.pop_front();
}

std::vector<ChangeEvent> GraphState::materialise_pending(bool with_values) const {
  std::vector<ChangeEvent> out;
  out.reserve(pending.size());
  for (size_t i = 0; i < pending.size(); ++i) {
    const PendingChange& p = pending[i];
    ChangeEvent e;
    e.seq = mark.last_seq + i + 1;
    e.kind = p.kind;
    e.cause = p.cause;
    e.time = p.time;
    e.source = p.source == kNone ? pending_note : sources[p.source];
    e.record = p.record;
    e.ordinal = p.ordinal;
    e.key = p.key;
    e.absorbed = p.absorbed;
    e.absorbed_key = p.absorbed_key;
    for (uint32_t k = p.parts_begin; k < p.parts_end; ++k) {
      const PendingPart& pp = pending_parts[k];
      SplitPart part;
      part.ordinal = pp.ordinal;
      part.key = pp.key;
      part.identifiers.assign(pending_part_ids.begin() + pp.ids_begin, pending_part_ids.begin() + pp.ids_end);
      if (with_values) {
        for (uint32_t id : part.identifiers) part.values.emplace_back(types[type_of(id)]->name, display_value(id));
      }
      e.parts.push_back(std::move(part));
    }
    out.push_back(std::move(e));
  }
  return out;
}

ChangeEvent GraphState::materialise_mem(uint64_t seq, const PendingChange& p) const {
  ChangeEvent e;
  e.seq = seq;
  e.kind = p.kind;
  e.cause = p.cause;
  e.time = p.time;
  if (p.source != kNone) {
    e.source = sources[p.source];
  } else if (auto it = mem_notes.find(seq); it != mem_notes.end()) {
    e.source = it->second;
  }
  e.record = p.record;
  e.ordinal = p.ordinal;
  e.key = p.key;
  e.absorbed = p.absorbed;
  e.absorbed_key = p.absorbed_key;
  if (auto it = mem_parts.find(seq); it != mem_parts.end()) e.parts = it->second;
  return e;
}

void GraphState::deliver_events() {
  notified.assign(listeners.size(), false);
  if (listeners.empty() || pending.empty()) return;
  const std::vector<ChangeEvent> evs = materialise_pending(true);
  for (const ChangeEvent& e : evs) {
    for (size_t i = 0; i < listeners.size(); ++i) {
      notified[i] = true;
      switch (e.kind) {
        case ChangeKind::merged: listeners[i]->on_merged(e); break;
        case ChangeKind::split: listeners[i]->on_split(e); break;
        case ChangeKind::erased: listeners[i]->on_erased(e); break;
      }
    }
  }
}

void GraphState::notify_rollback() noexcept {
  for (size_t i = 0; i < listeners.size() && i < notified.size(); ++i) {
    if (!notified[i]) continue;
    try {
      listeners[i]->on_rolled_back();
    } catch (...) {
    }
  }
  notified.clear();
}

void GraphState::finish_write() {
  if (db) {
    sql::Transaction tx(*db);
    persist_batch();
    deliver_events();
    tx.commit();
  } else {
    deliver_events();
  }
}

// ---- linking driver -------------------------------------------------------------------------

namespace {

/// Bump allocator for normalised values (one per thread and job).
class Scratch {
 public:
  std::string_view keep(std::string_view v) {
    if (blocks_.empty() || used_ + v.size() > kBlock) {
      if (cur_ + 1 < blocks_.size()) {
        ++cur_;
      } else {
        blocks_.push_back(std::unique_ptr<char[]>(new char[std::max(kBlock, v.size())]));
        cur_ = blocks_.size() - 1;
      }
      used_ = 0;
    }
    char* p = blocks_[cur_].get() + used_;
    std::memcpy(p, v.data(), v.size());
    used_ += v.size();
    return std::string_view(p, v.size());
  }
  void reset() {
    cur_ = 0;
    used_ = 0;
  }

 private:
  static constexpr size_t kBlock = 1 << 20;
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t cur_ = 0;
  size_t used_ = 0;
};

/// One chunk of records being normalised, with one scratch per thread.
struct Job {
  static constexpr size_t kBlock = 256;       // records per unit of parallel work
  size_t first = 0, last = 0;                 // positions in `order`
  std::vector<uint64_t> begin;                // per record: first slot in items
  std::vector<GraphState::Item> items;
  std::vector<uint8_t> bad_record;            // per record: 1 when rejected as a whole
  struct alignas(64) PerThread {  // a cache line each: the threads write them at once
    std::vector<RecordError> errors;
    Scratch scratch;
    std::string buf;
  };
  std::vector<PerThread> per_thread;

  size_t blocks() const { return (last - first + kBlock - 1) / kBlock; }
};

struct Driver {
  const GraphState& g;
  const RecordBatch::Impl& b;
  const BatchOptions& opt;
  std::vector<uint32_t> order;
  std::vector<TypeId> name_type;  // batch name index -> type id (kNoType unknown)
  bool parallel = true;

  Driver(const GraphState& graph, const RecordBatch::Impl& batch, const BatchOptions& o) : g(graph), b(batch), opt(o) {
    name_type.resize(b.names.size(), kNoType);
    for (size_t i = 0; i < b.names.size(); ++i) {
      auto it = g.type_by_name.find(b.names[i]);
      if (it != g.type_by_name.end()) name_type[i] = it->second;
    }
    for (const auto& t : g.types)
      if (!t->parallel_safe()) parallel = false;
    make_order();
  }

  TypeId item_type(size_t i) const {
    const uint32_t t = b.item_type[i];
    if (t & RecordBatch::Impl::kByName) return name_type[t & ~RecordBatch::Impl::kByName];
    return t < g.types.size() ? t : kNoType;
  }
  std::string type_label(size_t i) const {
    const uint32_t t = b.item_type[i];
    if (t & RecordBatch::Impl::kByName) return b.names[t & ~RecordBatch::Impl::kByName];
    return t < g.types.size() ? g.types[t]->name : "type id " + std::to_string(t);
  }

  // Time order; ties by the records' content, so that the batch's result
  // does not depend on the order of its records.
  uint64_t content_hash(uint32_t r) const {
    uint64_t h = hash64(b.sources[b.src[r]], 0x5bd1e995);
    for (uint64_t i = b.rec_start[r]; i < b.rec_end(r); ++i) {
      const TypeId t = item_type(i);
      h += hash64(b.value(i), t == kNoType ? 0xFFFF : t);
    }
    return h;
  }
  void make_order() {
    const size_t n = b.records();
    order.resize(n);
    std::iota(order.begin(), order.end(), 0u);
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; ++i)
      if (b.times[i] < b.times[i - 1]) sorted = false;
    if (!sorted) {
      std::stable_sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) { return b.times[x] < b.times[y]; });
    }
    // Break ties of equal times by content.
    for (size_t i = 0; i < n;) {
      size_t j = i + 1;
      while (j < n && b.times[order[j]] == b.times[order[i]]) ++j;
      if (j - i > 1) {
        std::vector<std::pair<uint64_t, uint32_t>> keyed;
        keyed.reserve(j - i);
        for (size_t k = i; k < j; ++k) keyed.emplace_back(content_hash(order[k]), order[k]);
        std::sort(keyed.begin(), keyed.end());
        for (size_t k = i; k < j; ++k) order[k] = keyed[k - i].second;
      }
      i = j;
    }
  }

  void prepare(Job& job, size_t first, size_t last, unsigned threads) {
    job.first = first;
    job.last = last;
    const size_t m = last - first;
    job.begin.resize(m + 1);
    uint64_t total = 0;
    for (size_t k = 0; k < m; ++k) {
      job.begin[k] = total;
      const uint32_t r = order[first + k];
      total += b.rec_end(r) - b.rec_start[r];
    }
    job.begin[m] = total;
    job.items.resize(total);
    job.bad_record.assign(m, 0);
    job.per_thread.resize(threads);
    for (auto& t : job.per_thread) {
      t.errors.clear();
      t.scratch.reset();
    }
  }

  void normalise_record(Job& job, size_t k, Job::PerThread& mine) {
    const uint32_t r = order[job.first + k];
    const uint64_t s = b.rec_start[r], e = b.rec_end(r);
    std::string& buf = mine.buf;
    auto& errs = mine.errors;
    if (e == s) {
      job.bad_record[k] = 1;
      errs.push_back({r, SIZE_MAX, ErrorCode::invalid_argument, "record " + std::to_string(r) + ": no identifiers"});
      return;
    }
    if (e - s > kMaxIdentifiersPerRecord) {
      job.bad_record[k] = 1;
      errs.push_back({r, SIZE_MAX, ErrorCode::limit,
                      "record " + std::to_string(r) + ": " + std::to_string(e - s) +
                          " identifiers (at most " + std::to_string(kMaxIdentifiersPerRecord) + ")"});
      return;
    }
    NormError ne;
    size_t valid = 0;
    for (uint64_t i = s; i < e; ++i) {
      GraphState::Item& out = job.items[job.begin[k] + (i - s)];
      out.type = kNone;
      out.found = kNone;
      const TypeId t = item_type(i);
      std::string why;
      ErrorCode code = ErrorCode::invalid_argument;
      if (t == kNoType) {
        code = ErrorCode::not_found;
        why = "unknown identifier type";
      } else {
        const TypeState& ts = *g.types[t];
        std::string_view v;
        if (!ts.ready()) {
          code = ErrorCode::state;
          why = ts.opt.normalizer == Normalizer::custom ? "the type's custom normaliser is not set (set_custom_normalizer)"
                                                        : "the type's hash key is not set (set_hash_key)";
        } else if (normalize_value(ts, b.value(i), buf, v, &ne)) {
          if (!buf.empty() && v.data() == buf.data()) v = mine.scratch.keep(v);  // else a view of the input
          out.value = v;
          out.type = t;
          out.hash = hash_identifier(t, v);
          ++valid;
          continue;
        } else {
          code = ne.code;
          why = ne.message;
        }
      }
      errs.push_back({r, static_cast<size_t>(i - s), code,
                      "record " + std::to_string(r) + ", identifier " + std::to_string(i - s) + " (" + type_label(i) +
                          "): " + why});
      if (!opt.skip_invalid_identifiers) {
        job.bad_record[k] = 1;
        return;
      }
    }
    if (valid == 0) job.bad_record[k] = 1;
  }

  void normalise_block(Job& job, size_t blk, unsigned thread) {
    const size_t m = job.last - job.first;
    const size_t k1 = std::min(m, (blk + 1) * Job::kBlock);
    for (size_t k = blk * Job::kBlock; k < k1; ++k) normalise_record(job, k, job.per_thread[thread]);
  }
};

/// The parallel work of normalising one job's records.
struct NormaliseBlocks {
  Driver* d;
  Job* job;
  void operator()(size_t blk, unsigned thread) const { d->normalise_block(*job, blk, thread); }
};

}  // namespace

BatchResult link_batch_impl(GraphState& g, const RecordBatch::Impl& b, const BatchOptions& opt) {
  BatchResult res;
  const size_t n = b.records();
  if (opt.return_record_ids) res.record_ids.assign(n, kNoRecord);
  if (n == 0) return res;
  Driver d(g, b, opt);
  constexpr size_t kChunk = 16384;
  // Normalisation runs on every thread (util::default_threads) when the
  // types' normalisers allow it and the batch is worth it, else inline.
  const unsigned threads = d.parallel && b.items() >= 4096 ? util::default_threads() : 1;
  Job jobs[2];
  GraphState::LinkCounters counters;
  std::vector<GraphState::Item> compact;
  std::vector<uint32_t> src_map(b.sources.size(), kNone);

  g.begin_batch();
  try {
    // Room for the batch (address space only: pages are touched when used).
    g.reserve_identifiers(b.items());
    reserve_more(g.occ, b.items());
    reserve_more(g.occ_next, b.items());
    reserve_more(g.rec_begin, n);
    reserve_more(g.rec_time, n);
    reserve_more(g.rec_src, n);
    size_t first = 0;
    size_t cur = 0;
    d.prepare(jobs[cur], 0, std::min(n, kChunk), threads);
    util::parallel_for(jobs[cur].blocks(), threads, NormaliseBlocks{&d, &jobs[cur]});
    while (first < n) {
      Job& job = jobs[cur];
      const size_t last = job.last;
      // The other threads start normalising the next chunk while this one is
      // linked; the calling thread joins them when done linking. Leaving the
      // scope by an exception stops them and waits.
      Job& nextj = jobs[cur ^ 1];
      const bool has_next = last < n;
      std::optional<util::ParallelRun<NormaliseBlocks>> next_run;
      if (has_next) {
        d.prepare(nextj, last, std::min(n, last + kChunk), threads);
        next_run.emplace(nextj.blocks(), threads, NormaliseBlocks{&d, &nextj});
      }
      std::vector<RecordError> errs;
      for (auto& t : job.per_thread) errs.insert(errs.end(), t.errors.begin(), t.errors.end());
      if (!errs.empty() && opt.mode == BatchMode::all_or_nothing) {
        std::sort(errs.begin(), errs.end(),
                  [](const RecordError& x, const RecordError& y) { return x.record < y.record; });
        std::string msg = "batch rejected, nothing applied: " + errs[0].message;
        const size_t show = std::min<size_t>(errs.size(), 5);
        for (size_t i = 1; i < show; ++i) msg += "; " + errs[i].message;
        if (errs.size() > show) msg += "; and " + std::to_string(errs.size() - show) + " more";
        throw_code(errs[0].code, msg);
      }
      for (auto& e : errs) res.errors.push_back(std::move(e));
      constexpr size_t kWindow = 64;  // records resolved together (prefetching)
      for (size_t k = 0; k < last - job.first; ++k) {
        if (k % kWindow == 0) {
          const size_t k1 = std::min(last - job.first, k + kWindow);
          g.resolve_items(job.items.data() + job.begin[k], job.begin[k1] - job.begin[k]);
        }
        const uint32_t r = d.order[job.first + k];
        if (job.bad_record[k]) {
          ++res.rejected;
          continue;
        }
        compact.clear();
        for (uint64_t i = job.begin[k]; i < job.begin[k + 1]; ++i)
          if (job.items[i].type != kNone) compact.push_back(job.items[i]);
        if (src_map[b.src[r]] == kNone) src_map[b.src[r]] = g.source_id(b.sources[b.src[r]]);
        const RecordId rid = g.apply_record(compact.data(), compact.size(), b.times[r], src_map[b.src[r]], counters);
        ++res.records;
        if (opt.return_record_ids) res.record_ids[r] = rid;
      }
      if (next_run) next_run->join();
      if (opt.progress && !opt.progress(last, n)) throw Cancelled("link_batch: cancelled by the progress callback");
      first = last;
      cur ^= 1;
    }
    g.finish_write();
  } catch (...) {
    g.rollback_batch();
    g.notify_rollback();
    throw;
  }
  res.first_change = g.pending.empty() ? 0 : g.mark.last_seq + 1;
  res.last_change = g.pending.empty() ? 0 : g.mark.last_seq + g.pending.size();
  g.commit_batch();
  std::sort(res.errors.begin(), res.errors.end(),
            [](const RecordError& x, const RecordError& y) { return x.record < y.record; });
  res.identifiers = counters.identifiers;
  res.new_identifiers = counters.new_identifiers;
  res.new_persons = counters.new_persons;
  res.merges = counters.merges;
  res.splits = counters.splits;
  res.conflicts = counters.conflicts;
  res.blocked = counters.blocked;
  res.newly_blocked = counters.newly_blocked;
  res.suppressed = counters.suppressed;
  res.expired = counters.expired;
  return res;
}

std::vector<RecordError> check_batch_impl(const GraphState& g, const RecordBatch::Impl& b) {
  BatchOptions opt;
  opt.mode = BatchMode::best_effort;
  Driver d(g, b, opt);
  std::vector<RecordError> out;
  Job job;
  for (size_t first = 0; first < b.records(); first += 16384) {
    d.prepare(job, first, std::min(b.records(), first + 16384), 1);
    util::parallel_for(job.blocks(), 1, NormaliseBlocks{&d, &job});
    for (auto& t : job.per_thread) out.insert(out.end(), t.errors.begin(), t.errors.end());
  }
  std::sort(out.begin(), out.end(), [](const RecordError& x, const RecordError& y) { return x.record < y.record; });
  return out;
}

}  // namespace cdpcore::idg
