// RuleSet and CompiledExpression: compile once, evaluate for everyone (in
// threads), for one person, or for the persons a batch touched; rule sets
// stored in the workspace with versions.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "cdpcore/error.hpp"
#include "cdpcore/utf8.hpp"
#include "cdpcore/workspace.hpp"
#include "rules/program.hpp"
#include "util/parallel.hpp"
#include "util/sqlite.hpp"
#include "workspace/database.hpp"

namespace cdpcore {

using namespace rules_detail;

const char* tag_kind_name(TagKind kind) noexcept {
  switch (kind) {
    case TagKind::boolean: return "boolean";
    case TagKind::value: return "value";
    case TagKind::trait: return "trait";
  }
  return "?";
}

const TagColumn& TagResults::operator[](std::string_view name) const {
  for (const auto& t : tags)
    if (t.name == name) return t;
  throw NotFound("no tag named \"" + std::string(name) + "\" in the results");
}

namespace {

/// Contexts reused across calls (allocating one is the expensive part of a
/// single-person evaluation).
class ContextPool {
 public:
  std::unique_ptr<Context> take() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return std::make_unique<Context>();
    auto c = std::move(free_.back());
    free_.pop_back();
    return c;
  }
  void give(std::unique_ptr<Context> c) {
    std::lock_guard lock(mu_);
    if (free_.size() < 8) free_.push_back(std::move(c));
  }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<Context>> free_;
};

struct PooledContext {
  ContextPool& pool;
  std::unique_ptr<Context> ctx;
  explicit PooledContext(ContextPool& p) : pool(p), ctx(p.take()) {}
  ~PooledContext() { pool.give(std::move(ctx)); }
};

void check_store(const Program& p, const ProfileStore& store) {
  if (p.store_id != store.id())
    throw StateError("these rules were compiled for another profile store; compile them for this one");
}

/// Runs `fn(ctx, thread, block, persons)` over blocks of persons on
/// `options.threads` threads (util::parallel_for; the calling thread is
/// thread 0 and reports progress).
template <typename Fn>
void run_blocks(const Program& program, const ProfileSnapshot& snap, Timestamp as_of, size_t count,
                const std::vector<PersonOrdinal>* list, const EvalOptions& options, ContextPool& pool, Fn&& fn) {
  const size_t total = list ? list->size() : count;
  const size_t blocks = (total + kBlock - 1) / kBlock;
  const unsigned threads = util::resolve_threads(options.threads);
  Evaluator ev(program, snap, as_of);
  // Per thread: a context from the pool, prepared before its first block;
  // a cache line each, so that one thread's writes do not slow another's.
  struct alignas(64) ThreadState {
    std::optional<PooledContext> pc;
    std::vector<PersonOrdinal> persons;
  };
  std::vector<ThreadState> state(std::min<size_t>(threads, std::max<size_t>(blocks, 1)));
  std::atomic<size_t> done{0};
  auto block = [&](size_t b, unsigned thread) {
    ThreadState& ts = state[thread];
    if (!ts.pc) {
      ts.pc.emplace(pool);
      ev.begin(*ts.pc->ctx);
      ts.persons.reserve(kBlock);
    }
    size_t first = b * kBlock, n = std::min(kBlock, total - first);
    auto& persons = ts.persons;
    persons.clear();
    if (list) persons.assign(list->begin() + static_cast<ptrdiff_t>(first), list->begin() + static_cast<ptrdiff_t>(first + n));
    else
      for (size_t k = 0; k < n; ++k) persons.push_back(static_cast<PersonOrdinal>(first + k));
    ev.eval_block(*ts.pc->ctx, persons);
    fn(*ts.pc->ctx, thread, b, std::span<const PersonOrdinal>(persons));
    done.fetch_add(n);
  };
  if (!options.progress) {
    util::parallel_for(blocks, threads, block);
    return;
  }
  if (!util::parallel_for(blocks, threads, block, [&] { return options.progress(done.load(), total); }))
    throw Cancelled("evaluation was cancelled by the progress callback");
}

Value column_value(const Column& c, ValueType t, size_t k) {
  if (t == ValueType::null || !c.valid[k]) return std::monostate{};
  switch (t) {
    case ValueType::boolean: return c.i[k] != 0;
    case ValueType::float64: return c.d[k];
    case ValueType::string: return std::string(c.s[k]);
    case ValueType::string_set: {
      std::vector<std::string> out;
      if (c.set[k] && c.set_dict)
        for (uint32_t code : *c.set[k]) out.push_back(c.set_dict->values[code]);
      std::sort(out.begin(), out.end());
      return out;
    }
    default: return c.i[k];
  }
}

double column_double(const Column& c, ValueType t, size_t k) {
  if (t == ValueType::null || !c.valid[k]) return std::nan("");
  if (t == ValueType::float64) return c.d[k];
  if (t == ValueType::string || t == ValueType::string_set) return std::nan("");
  return static_cast<double>(c.i[k]);
}

}  // namespace

// ---- CompiledExpression ---------------------------------------------------------

struct CompiledExpression::Impl {
  std::shared_ptr<Program> program;
  int root = -1;
  rules::Node node;
  mutable ContextPool pool;
};

CompiledExpression::CompiledExpression(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompiledExpression::~CompiledExpression() = default;
CompiledExpression::CompiledExpression(CompiledExpression&&) noexcept = default;
CompiledExpression& CompiledExpression::operator=(CompiledExpression&&) noexcept = default;

CompiledExpression CompiledExpression::compile(const ProfileStore& store, const rules::Node& expr,
                                               const CompileOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->program = compile_single(store, expr, options, &impl->root);
  impl->node = expr;
  return CompiledExpression(std::move(impl));
}

CompiledExpression CompiledExpression::compile(const ProfileStore& store, std::string_view text,
                                               const CompileOptions& options) {
  return compile(store, rules::parse_expression(text, options.limits), options);
}

ValueType CompiledExpression::type() const noexcept { return impl_->program->nodes[impl_->root].type; }
const rules::Node& CompiledExpression::node() const noexcept { return impl_->node; }
uint64_t CompiledExpression::estimated_cost() const noexcept { return impl_->program->costs.at(0); }

namespace {
void require_bool(const CompiledExpression& e) {
  if (e.type() != ValueType::boolean && e.type() != ValueType::null)
    throw TypeError(std::string("the expression is ") + value_type_name(e.type()) + ", not a condition (bool)");
}
}  // namespace

Bitmap CompiledExpression::evaluate_all(const ProfileStore& store, Timestamp as_of, const EvalOptions& options) const {
  require_bool(*this);
  check_store(*impl_->program, store);
  ProfileSnapshot snap(store, true);
  const size_t count = snap.evaluated_person_count();
  std::vector<std::vector<uint32_t>> per_block((count + kBlock - 1) / kBlock);
  const int root = impl_->root;
  run_blocks(*impl_->program, snap, as_of, count, nullptr, options, impl_->pool,
             [&](Context& ctx, unsigned, size_t b, std::span<const PersonOrdinal> persons) {
               const Column& c = ctx.cols[static_cast<size_t>(root)];
               std::vector<uint32_t> out;
               for (size_t k = 0; k < persons.size(); ++k)
                 if (c.valid[k] && c.i[k]) out.push_back(persons[k]);
               per_block[b] = std::move(out);
             });
  Bitmap result;
  if (type() == ValueType::null) return result;
  for (const auto& v : per_block) result.add_many(v);
  result -= snap.dead_persons(count);
  return result;
}

Bitmap CompiledExpression::evaluate_persons(const ProfileStore& store, const Bitmap& persons, Timestamp as_of) const {
  require_bool(*this);
  check_store(*impl_->program, store);
  ProfileSnapshot snap(store, false);
  std::vector<PersonOrdinal> list = persons.to_vector();
  std::vector<std::vector<uint32_t>> per_block((list.size() + kBlock - 1) / kBlock);
  const int root = impl_->root;
  EvalOptions o;
  o.threads = 1;
  run_blocks(*impl_->program, snap, as_of, 0, &list, o, impl_->pool,
             [&](Context& ctx, unsigned, size_t b, std::span<const PersonOrdinal> ps) {
               const Column& c = ctx.cols[static_cast<size_t>(root)];
               for (size_t k = 0; k < ps.size(); ++k)
                 if (c.valid[k] && c.i[k] && snap.is_alive(ps[k])) per_block[b].push_back(ps[k]);
             });
  Bitmap result;
  if (type() == ValueType::null) return result;
  for (const auto& v : per_block) result.add_many(v);
  return result;
}

bool CompiledExpression::evaluate_one(const ProfileStore& store, PersonOrdinal person, Timestamp as_of) const {
  require_bool(*this);
  auto v = evaluate_value(store, person, as_of);
  return std::holds_alternative<bool>(v) && std::get<bool>(v);
}

NumericColumn CompiledExpression::evaluate_numeric(const ProfileStore& store, Timestamp as_of,
                                                   const EvalOptions& options) const {
  ValueType t = type();
  if (t == ValueType::string || t == ValueType::string_set)
    throw TypeError(std::string("the expression is ") + value_type_name(t) + ", not a number");
  check_store(*impl_->program, store);
  ProfileSnapshot snap(store, true);
  const size_t count = snap.evaluated_person_count();
  NumericColumn out;
  out.values.assign(count, std::nan(""));
  out.valid.assign(count, 0);
  const int root = impl_->root;
  run_blocks(*impl_->program, snap, as_of, count, nullptr, options, impl_->pool,
             [&](Context& ctx, unsigned, size_t, std::span<const PersonOrdinal> persons) {
               const Column& c = ctx.cols[static_cast<size_t>(root)];
               for (size_t k = 0; k < persons.size(); ++k) {
                 double v = column_double(c, t, k);
                 out.values[persons[k]] = v;
                 out.valid[persons[k]] = !std::isnan(v);
               }
             });
  Bitmap dead = snap.dead_persons(count);
  dead.for_each([&](uint32_t p) {
    if (p < count) {
      out.values[p] = std::nan("");
      out.valid[p] = 0;
    }
    return true;
  });
  return out;
}

Value CompiledExpression::evaluate_value(const ProfileStore& store, PersonOrdinal person, Timestamp as_of) const {
  check_store(*impl_->program, store);
  ProfileSnapshot snap(store, false);
  if (!snap.is_alive(person)) return std::monostate{};
  PooledContext pc(impl_->pool);
  Evaluator ev(*impl_->program, snap, as_of);
  ev.begin(*pc.ctx);
  ev.eval_block(*pc.ctx, std::span<const PersonOrdinal>(&person, 1));
  return column_value(pc.ctx->cols[static_cast<size_t>(impl_->root)], type(), 0);
}

// ---- RuleSet --------------------------------------------------------------------

struct RuleSet::Impl {
  std::vector<rules::Rule> rules;
  std::vector<CompiledRule> compiled;
  std::shared_ptr<Program> program;
  mutable ContextPool pool;
};

RuleSet::RuleSet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RuleSet::~RuleSet() = default;
RuleSet::RuleSet(RuleSet&&) noexcept = default;
RuleSet& RuleSet::operator=(RuleSet&&) noexcept = default;

RuleSet RuleSet::compile(const ProfileStore& store, std::vector<rules::Rule> rules, const CompileOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->program = compile_program(store, rules, options, impl->compiled);
  impl->rules = std::move(rules);
  return RuleSet(std::move(impl));
}

RuleSet RuleSet::compile(const ProfileStore& store, std::string_view text, const CompileOptions& options) {
  return compile(store, rules::parse_rules(text, options.limits), options);
}

RuleSet RuleSet::compile_json(const ProfileStore& store, std::string_view json, const CompileOptions& options) {
  return compile(store, rules::rules_from_json(json, options.limits), options);
}

size_t RuleSet::size() const noexcept { return impl_->rules.size(); }
const std::vector<rules::Rule>& RuleSet::rules() const noexcept { return impl_->rules; }
TagKind RuleSet::kind(size_t i) const noexcept { return impl_->compiled[i].kind; }
size_t RuleSet::index_of(std::string_view name) const {
  for (size_t i = 0; i < impl_->rules.size(); ++i)
    if (impl_->rules[i].name == name) return i;
  throw NotFound("no rule named \"" + std::string(name) + "\"");
}
std::string RuleSet::to_text() const { return rules::rules_to_text(impl_->rules); }
std::string RuleSet::to_json() const { return rules::rules_to_json(impl_->rules); }
uint64_t RuleSet::estimated_cost() const noexcept {
  uint64_t c = 0;
  for (uint64_t x : impl_->program->costs) c += x;
  return c;
}

namespace {

/// Per-thread labels of value tags during a batch.
struct LabelTable {
  std::unordered_map<std::string, int32_t> index;
  std::vector<std::string> labels;
  int32_t code(std::string_view s) {
    auto it = index.find(std::string(s));
    if (it != index.end()) return it->second;
    auto c = static_cast<int32_t>(labels.size());
    labels.emplace_back(s);
    index.emplace(labels.back(), c);
    return c;
  }
};

}  // namespace

TagResults RuleSet::evaluate_all(const ProfileStore& store, Timestamp as_of, const EvalOptions& options) const {
  const Program& p = *impl_->program;
  check_store(p, store);
  ProfileSnapshot snap(store, true);
  const size_t count = snap.evaluated_person_count();
  const size_t blocks = (count + kBlock - 1) / kBlock;
  const size_t nrules = impl_->compiled.size();
  const unsigned threads = util::resolve_threads(options.threads);  // as run_blocks: thread indexes below it
  TagResults res;
  res.as_of = as_of;
  res.person_count = count;
  res.tags.resize(nrules);
  std::vector<std::vector<std::vector<uint32_t>>> true_lists(nrules);
  std::vector<std::vector<uint8_t>> value_thread(nrules);
  std::vector<std::vector<LabelTable>> labels(nrules);
  for (size_t r = 0; r < nrules; ++r) {
    auto& tc = res.tags[r];
    tc.name = impl_->compiled[r].name;
    tc.kind = impl_->compiled[r].kind;
    switch (tc.kind) {
      case TagKind::boolean: true_lists[r].resize(blocks); break;
      case TagKind::value:
        tc.codes.assign(count, -1);
        value_thread[r].assign(count, 0);
        labels[r].resize(threads);
        break;
      case TagKind::trait:
        tc.values.assign(count, std::nan(""));
        tc.valid.assign(count, 0);
        break;
    }
  }
  run_blocks(p, snap, as_of, count, nullptr, options, impl_->pool,
             [&](Context& ctx, unsigned thread, size_t b, std::span<const PersonOrdinal> persons) {
               for (size_t r = 0; r < nrules; ++r) {
                 const CompiledRule& cr = impl_->compiled[r];
                 const Column& c = ctx.cols[static_cast<size_t>(cr.root)];
                 auto& tc = res.tags[r];
                 switch (cr.kind) {
                   case TagKind::boolean: {
                     // Built locally, stored once: blocks of other threads sit next to it.
                     std::vector<uint32_t> out;
                     for (size_t k = 0; k < persons.size(); ++k)
                       if (c.valid[k] && c.i[k]) out.push_back(persons[k]);
                     true_lists[r][b] = std::move(out);
                     break;
                   }
                   case TagKind::value: {
                     auto& lt = labels[r][thread];
                     for (size_t k = 0; k < persons.size(); ++k) {
                       if (!c.valid[k]) continue;
                       tc.codes[persons[k]] = lt.code(c.s[k]);
                       value_thread[r][persons[k]] = static_cast<uint8_t>(thread);
                     }
                     break;
                   }
                   case TagKind::trait:
                     for (size_t k = 0; k < persons.size(); ++k) {
                       if (!c.valid[k]) continue;
                       tc.values[persons[k]] = c.d[k];
                       tc.valid[persons[k]] = 1;
                     }
                     break;
                 }
               }
             });
  Bitmap dead = snap.dead_persons(count);
  for (size_t r = 0; r < nrules; ++r) {
    auto& tc = res.tags[r];
    switch (tc.kind) {
      case TagKind::boolean:
        for (const auto& v : true_lists[r]) tc.members.add_many(v);
        tc.members -= dead;
        break;
      case TagKind::value: {
        dead.for_each([&](uint32_t p) {
          if (p < count) tc.codes[p] = -1;
          return true;
        });
        // Labels numbered in order of first appearance by ordinal.
        std::vector<std::vector<int32_t>> remap(threads);
        for (unsigned t = 0; t < threads; ++t) remap[t].assign(labels[r][t].labels.size(), -1);
        std::unordered_map<std::string, int32_t> global;
        std::vector<std::vector<uint32_t>> members;
        for (size_t p = 0; p < count; ++p) {
          int32_t local = tc.codes[p];
          if (local < 0) continue;
          uint8_t t = value_thread[r][p];
          int32_t& g = remap[t][static_cast<size_t>(local)];
          if (g < 0) {
            const std::string& s = labels[r][t].labels[static_cast<size_t>(local)];
            auto [it, inserted] = global.emplace(s, static_cast<int32_t>(tc.labels.size()));
            if (inserted) {
              tc.labels.push_back(s);
              members.emplace_back();
            }
            g = it->second;
          }
          tc.codes[p] = g;
          members[static_cast<size_t>(g)].push_back(static_cast<uint32_t>(p));
        }
        for (auto& m : members) {
          tc.label_members.push_back(Bitmap::from_values(m));
          tc.members.add_many(m);
        }
        break;
      }
      case TagKind::trait: {
        dead.for_each([&](uint32_t p) {
          if (p < count) {
            tc.values[p] = std::nan("");
            tc.valid[p] = 0;
          }
          return true;
        });
        std::vector<uint32_t> m;
        for (size_t p = 0; p < count; ++p)
          if (tc.valid[p]) m.push_back(static_cast<uint32_t>(p));
        tc.members.add_many(m);
        break;
      }
    }
    tc.members.optimize();
  }
  return res;
}

std::vector<PersonTag> RuleSet::evaluate_person(const ProfileStore& store, PersonOrdinal person, Timestamp as_of) const {
  const Program& p = *impl_->program;
  check_store(p, store);
  ProfileSnapshot snap(store, false);
  std::vector<PersonTag> out(impl_->compiled.size());
  for (size_t r = 0; r < out.size(); ++r) {
    out[r].kind = impl_->compiled[r].kind;
    out[r].value = std::nan("");
  }
  if (!snap.is_alive(person)) return out;
  PooledContext pc(impl_->pool);
  Evaluator ev(p, snap, as_of);
  ev.begin(*pc.ctx);
  ev.eval_block(*pc.ctx, std::span<const PersonOrdinal>(&person, 1));
  for (size_t r = 0; r < out.size(); ++r) {
    const CompiledRule& cr = impl_->compiled[r];
    const Column& c = pc.ctx->cols[static_cast<size_t>(cr.root)];
    PersonTag& t = out[r];
    switch (cr.kind) {
      case TagKind::boolean: t.member = c.valid[0] && c.i[0]; break;
      case TagKind::value:
        t.member = c.valid[0];
        if (t.member) t.label = std::string(c.s[0]);
        break;
      case TagKind::trait:
        t.member = c.valid[0];
        if (t.member) t.value = c.d[0];
        break;
    }
  }
  return out;
}

void RuleSet::update(TagResults& results, const ProfileStore& store, const Bitmap& persons, Timestamp as_of) const {
  const Program& p = *impl_->program;
  check_store(p, store);
  ProfileSnapshot snap(store, false);
  const size_t nrules = impl_->compiled.size();
  if (results.tags.size() != nrules) throw InvalidArgument("update: the results do not come from this rule set");
  for (size_t r = 0; r < nrules; ++r)
    if (results.tags[r].name != impl_->compiled[r].name || results.tags[r].kind != impl_->compiled[r].kind)
      throw InvalidArgument("update: the results do not come from this rule set (tag " + results.tags[r].name + ")");
  const size_t old_count = results.person_count;
  const size_t count = std::max(results.person_count, snap.evaluated_person_count());
  for (auto& tc : results.tags) {
    if (tc.kind == TagKind::value) tc.codes.resize(count, -1);
    if (tc.kind == TagKind::trait) {
      tc.values.resize(count, std::nan(""));
      tc.valid.resize(count, 0);
    }
  }
  results.person_count = count;
  results.as_of = as_of;
  // Ordinals new to the results are evaluated too.
  Bitmap todo = persons;
  if (count > old_count) todo.add_range(static_cast<uint32_t>(old_count), static_cast<uint32_t>(count));
  std::vector<PersonOrdinal> list = todo.to_vector();
  EvalOptions o;
  o.threads = 1;
  run_blocks(p, snap, as_of, 0, &list, o, impl_->pool,
             [&](Context& ctx, unsigned, size_t, std::span<const PersonOrdinal> ps) {
               for (size_t r = 0; r < nrules; ++r) {
                 const CompiledRule& cr = impl_->compiled[r];
                 const Column& c = ctx.cols[static_cast<size_t>(cr.root)];
                 auto& tc = results.tags[r];
                 for (size_t k = 0; k < ps.size(); ++k) {
                   PersonOrdinal q = ps[k];
                   bool dead = !snap.is_alive(q);
                   bool has = !dead && c.valid[k] && (cr.kind != TagKind::boolean || c.i[k]);
                   if (has) tc.members.add(q);
                   else tc.members.remove(q);
                   if (cr.kind == TagKind::value) {
                     if (q >= tc.codes.size()) continue;
                     int32_t old = tc.codes[q];
                     if (old >= 0) tc.label_members[static_cast<size_t>(old)].remove(q);
                     if (!has) {
                       tc.codes[q] = -1;
                       continue;
                     }
                     auto it = std::find(tc.labels.begin(), tc.labels.end(), c.s[k]);
                     size_t code = static_cast<size_t>(it - tc.labels.begin());
                     if (it == tc.labels.end()) {
                       tc.labels.emplace_back(c.s[k]);
                       tc.label_members.emplace_back();
                     }
                     tc.codes[q] = static_cast<int32_t>(code);
                     tc.label_members[code].add(q);
                   } else if (cr.kind == TagKind::trait) {
                     if (q >= tc.values.size()) continue;
                     tc.values[q] = has ? c.d[k] : std::nan("");
                     tc.valid[q] = has;
                   }
                 }
               }
             });
}

void RuleSet::store_traits(const TagResults& results, ProfileStore& store) const {
  for (const auto& tc : results.tags) {
    if (tc.kind != TagKind::trait) continue;
    std::vector<PersonOrdinal> ordinals(tc.values.size());
    for (size_t p = 0; p < ordinals.size(); ++p) ordinals[p] = static_cast<PersonOrdinal>(p);
    store.write_doubles(tc.name, ordinals, tc.values);
  }
}

// ---- versions -------------------------------------------------------------------

namespace {

constexpr std::string_view kRulesMigration1 = R"sql(
CREATE TABLE rules_sets (
  name    TEXT NOT NULL,
  version INTEGER NOT NULL,
  text    TEXT NOT NULL,
  json    TEXT NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
)sql";

void ensure_rules_tables(Workspace& ws) {
  static const Migration kMigrations[] = {{1, kRulesMigration1}};
  ws.ensure_schema("rules", kMigrations);
}

}  // namespace

int64_t RuleSet::save(Workspace& ws, std::string_view name) const {
  if (name.empty()) throw InvalidArgument("a rule set needs a name to be saved");
  require_utf8(name, "rule set name");
  ensure_rules_tables(ws);
  auto& db = database_of(ws);
  sql::Transaction tx(db);
  auto& q = db.cached("SELECT COALESCE(MAX(version), 0) FROM rules_sets WHERE name = ?");
  q.bind(1, name);
  int64_t version = q.step() ? q.column_int64(0) + 1 : 1;
  q.reset();
  auto& ins = db.cached("INSERT INTO rules_sets(name, version, text, json) VALUES (?, ?, ?, ?)");
  ins.bind_all(name, version, to_text(), to_json());
  ins.run();
  tx.commit();
  return version;
}

RuleSet RuleSet::load(const ProfileStore& store, Workspace& ws, std::string_view name, int64_t version,
                      const CompileOptions& options) {
  ensure_rules_tables(ws);
  auto& db = database_of(ws);
  std::string text;
  {
    auto st = db.prepare(version > 0 ? "SELECT text FROM rules_sets WHERE name = ? AND version = ?"
                                     : "SELECT text FROM rules_sets WHERE name = ? ORDER BY version DESC LIMIT 1");
    st.bind(1, name);
    if (version > 0) st.bind(2, version);
    if (!st.step())
      throw NotFound("no rule set \"" + std::string(name) + "\"" +
                     (version > 0 ? " version " + std::to_string(version) : std::string()));
    text = std::string(st.column_text(0));
  }
  return compile(store, text, options);
}

std::vector<int64_t> RuleSet::versions(Workspace& ws, std::string_view name) {
  ensure_rules_tables(ws);
  auto st = database_of(ws).prepare("SELECT version FROM rules_sets WHERE name = ? ORDER BY version");
  st.bind(1, name);
  std::vector<int64_t> out;
  while (st.step()) out.push_back(st.column_int64(0));
  return out;
}

}  // namespace cdpcore
