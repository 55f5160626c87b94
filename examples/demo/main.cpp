// cdpcore_demo: the customer-data loop end to end on a generated population.
//
//   cdpcore_demo --workspace build/demo/sample.cdp [--persons 100000] [--seed 42]
//
// The demo is a list of stages run in order over one DemoContext (the
// workspace, the sample data, the evaluation time and a report). Each stage
// uses only the public API of the shared library. To add a stage, write a
// function `void stage_x(DemoContext&)` and append it to kStages. Helpers
// that only reshape the generator's columns or measure against its ground
// truth live beside this file (demo.hpp).
#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cdpcore/cdpcore.hpp"
#include "demo.hpp"

namespace {

using namespace demo;

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

// 1. Who is who: link every identity record into persons (OneID).
void stage_identity(DemoContext& c) {
  c.graph = std::make_unique<cdpcore::IdentityGraph>(c.ws);  // persisted in identity_* tables
  const auto types = c.graph->register_default_types();      // phone, email, unionid, … in datagen's order
  for (size_t t = 0; t < types.size(); ++t)
    if (types[t] != t || c.graph->type_info(types[t]).name != dg::identifier_type_names()[t])
      throw std::runtime_error("identifier types are not in datagen's order");

  const cdpcore::RecordBatch batch = identity_records(c.data);
  cdpcore::BatchOptions opt;
  opt.mode = cdpcore::BatchMode::best_effort;  // a record with no valid identifier is skipped …
  opt.skip_invalid_identifiers = true;         // … and "null", "11111111111" are dropped from the rest
  cdpcore::BatchResult r;
  const double link_s = timed([&] { r = c.graph->link_batch(batch, opt); });  // one transaction
  const cdpcore::IdentityStats stats = c.graph->stats();

  // Persisted: a graph opened on the same file holds the same persons.
  uint64_t reloaded = 0;
  const double reload_s = timed([&] { reloaded = cdpcore::IdentityGraph(c.ws).stats().persons; });

  // Against the ground truth: pairwise precision / recall and the hard cases (metrics.cpp).
  IdentityCheck truth;
  const double eval_s = timed([&] { truth = check_identity(*c.graph, c.data); });
  uint64_t by_threshold = 0;
  std::map<std::string, uint64_t> blocked_by_type;
  for (const auto& b : c.graph->blocked()) {
    by_threshold += b.reason == cdpcore::BlockReason::threshold;
    blocked_by_type[b.type_name]++;
  }

  auto& rep = c.report;
  rep.section("identity resolution (default identifier types, one best-effort batch, one transaction)");
  rep.count("records linked", r.records);
  rep.count("records rejected (no valid identifier)", r.rejected);
  rep.count("identifier occurrences linked", r.identifiers);
  rep.count("invalid values dropped (\"null\", 11111111111)",
            static_cast<uint64_t>(std::count_if(r.errors.begin(), r.errors.end(),
                                                [](const auto& e) { return e.identifier != SIZE_MAX; })));
  rep.count("distinct identifiers", stats.identifiers);
  rep.count("persons found", stats.persons);
  rep.count("true persons in the records", truth.true_persons);
  rep.count("merges", r.merges);
  rep.count("conflicts (links refused by limits)", c.graph->conflict_count());
  rep.count("values auto-blocked (too many persons)", by_threshold);
  std::string blocked_types;
  for (const auto& [type, n] : blocked_by_type)
    blocked_types += (blocked_types.empty() ? "" : ", ") + type + " " + std::to_string(n);
  rep.note("  by type: " + blocked_types);
  rep.count("occurrences of blocked values (not linked)", r.blocked);
  rep.count("placeholder values (13800000000, test@test.com)", truth.placeholder.values);
  rep.count("  seen with 2+ true persons", truth.placeholder.shared);
  rep.count("  of these blocked", truth.placeholder.blocked);
  rep.count("  invalid placeholder occurrences dropped", truth.invalid_placeholder_occurrences);
  rep.count("shared devices (family tablets, store demos)", truth.device.values);
  rep.count("  seen with 2+ true persons", truth.device.shared);
  rep.count("  of these blocked", truth.device.blocked);
  rep.count("blocked values seen with one true person only", truth.blocked_single_person);
  rep.note("same-person decisions over pairs of distinct (identifier, true person) items:");
  rep.count("  items", truth.score.items);
  rep.count("  true same-person pairs", truth.score.true_pairs);
  rep.count("  pairs resolved to one person", truth.score.predicted_pairs);
  rep.ratio("  pairwise precision", truth.score.precision());
  rep.ratio("  pairwise recall", truth.score.recall());
  rep.timing("link (one transaction, persisted)", link_s);
  rep.count("persons in a graph reopened from the file", reloaded);
  rep.timing("reopen from the file", reload_s);
  rep.timing("look up every occurrence for the evaluation", eval_s);
}

// The example tags of the README ("Tag rules"), as written there, evaluated
// as of the end of the year; and one trait the segments use.
constexpr const char* kTagRules = R"(
# VIP: spent 5000 or more in the last year, or a gold / platinum member
tag vip = sum(order.amount, last 365 days) >= 5000
          or member_level in ["gold", "platinum"]
# Lapsed: ordered at least once, but no page view in the last 60 days
tag lapsed = count(order) >= 1 and count(page_view, last 60 days) = 0
# Price band: a value tag (one label per person)
tag price_band = case
    when avg(order.amount, last 180 days) >= 500 then "high"
    when avg(order.amount, last 180 days) >= 150 then "mid"
    else "low"
  end
tag top_category = most_frequent(order.category, last 90 days)
tag repeat_buyer_30d = count(order, last 30 days) >= 2
# An add_to_cart in the last 3 days and no order since that add_to_cart
tag cart_abandoner = count(add_to_cart, last 3 days) >= 1
                     and count(order, since last add_to_cart) = 0
tag new_member = signup_at in last 30 days
tag age_band = case
    when age(birthday) < 25 then "18-24"
    when age(birthday) < 35 then "25-34"
    when age(birthday) < 50 then "35-49"
    when age(birthday) >= 50 then "50+"
  end
tag sms_responsive = count(sms_click, last 90 days) / count(sms_sent, last 90 days) >= 0.1
tag multi_store = count_distinct(order.store) >= 3
trait spend_365d = sum(order.amount, last 365 days)
)";

// 2. Profiles and tags: CRM rows and events keyed by raw identifiers land on
// the persons the graph resolved; the rules tag everyone.
void stage_profiles(DemoContext& c) {
  c.store = std::make_unique<cdpcore::ProfileStore>(c.ws);
  define_sample_schema(*c.store);
  c.store->attach_identity(*c.graph);  // identifier-keyed rows resolve through the graph
  const uint64_t persons_before = c.graph->stats().persons;
  cdpcore::WriteReport profiles;
  std::vector<cdpcore::WriteReport> events;
  const double profile_s = timed([&] { profiles = load_profile_rows(*c.store, c.data); });
  const double event_s = timed([&] {
    events = load_events(*c.store, c.data);
    c.store->compact();
  });
  uint64_t events_applied = 0, events_rejected = 0;
  for (const auto& e : events) events_applied += e.rows_applied, events_rejected += e.rejected.size();

  const double compile_s = timed([&] { c.rules.emplace(cdpcore::RuleSet::compile(*c.store, kTagRules)); });
  const double eval_s = timed([&] { c.tags = c.rules->evaluate_all(*c.store, c.as_of); });
  c.rules->save(*c.ws, "demo_tags");

  auto& rep = c.report;
  rep.section("profiles and tags (ProfileStore attached to the identity graph)");
  rep.count("CRM rows applied (keyed by crm_id / phone)", profiles.rows_applied);
  rep.count("CRM rows rejected", profiles.rejected.size());
  rep.count("events applied (keyed by their identifier)", events_applied);
  rep.count("events skipped (blocked identifier)", events_rejected);
  rep.count("new persons (identifiers only seen in events)", c.graph->stats().persons - persons_before);
  rep.count("event memory (bytes)", c.store->memory_usage().event_bytes);
  rep.timing("load CRM rows", profile_s);
  rep.timing("load events (7 batches) + compact", event_s);
  rep.note("rules:");
  const std::string_view text(kTagRules);
  for (size_t b = 0, e; b < text.size(); b = e + 1) {
    e = std::min(text.find('\n', b), text.size());
    if (e > b) rep.note("  " + std::string(text.substr(b, e - b)));
  }
  for (const cdpcore::TagColumn& t : c.tags.tags) {
    if (t.kind == cdpcore::TagKind::value) {
      for (size_t l = 0; l < t.labels.size(); ++l)
        rep.count("tag " + t.name + " = \"" + t.labels[l] + "\"", t.label_members[l].cardinality());
    } else {
      rep.count(t.kind == cdpcore::TagKind::trait ? "trait " + t.name + " (persons with a value)" : "tag " + t.name,
                t.members.cardinality());
    }
  }
  rep.timing("compile the rules", compile_s);
  rep.timing("evaluate for " + Report::group(c.store->person_count()) + " ordinals", eval_s);
}

// 3. Segments: audiences over the tags, their overlap, a holdout and an export.
void stage_segments(DemoContext& c) {
  c.segments = std::make_unique<cdpcore::SegmentEngine>(c.ws);
  auto& seg = *c.segments;
  seg.attach_store(c.store.get());
  seg.attach_identity(c.graph.get());
  seg.set_tags(c.tags);
  const std::vector<std::pair<std::string, std::string>> defs = {
      {"vip_active", "vip and not lapsed"},
      {"winback", "lapsed and spend_365d >= 1000"},
      {"cart_recovery", "cart_abandoner and not vip"},
      {"shanghai_high", R"(price_band == "high" and city == "上海")"},
  };
  for (const auto& [name, def] : defs) seg.define(name, def);
  const double eval_s = timed([&] { seg.refresh(c.as_of); });

  std::vector<std::string> names;
  for (const auto& d : defs) names.push_back(d.first);
  cdpcore::OverlapMatrix m;
  const double overlap_s = timed([&] { m = seg.overlap(names); });

  // The campaign: VIPs still active, 10% held out as control (stable by person key).
  c.campaign = "vip_active";
  std::vector<cdpcore::Bitmap> groups;
  const double split_s = timed([&] {
    cdpcore::SplitOptions so;
    so.salt = "vip-thanks-2025";
    so.proportions = {0.1, 0.9};
    groups = seg.split(seg.members(c.campaign), so);
  });
  c.campaign_members = groups[1];
  cdpcore::ExportOptions eo;
  eo.identifier_types = {"phone"};  // the latest phone number of each person
  uint64_t rows = 0;
  cdpcore::ExportReport er;
  const double export_s = timed([&] {
    er = seg.export_members(c.campaign_members, eo, [&](const cdpcore::ExportBatch& b) {
      rows += b.identifiers.size();
      return true;
    });
  });

  auto& rep = c.report;
  rep.section("segments (SegmentEngine over the tags, the profile store and the graph)");
  for (const auto& [name, def] : defs) rep.note("segment " + name + " = " + def);
  for (const auto& [name, def] : defs) rep.count(name, seg.count(name));
  rep.timing("evaluate all (refresh)", eval_s);
  rep.note("overlap (persons in both):");
  rep.matrix(m.names, [&](size_t i, size_t j) { return m.at(i, j); });
  rep.timing("overlap matrix", overlap_s);
  rep.count("campaign " + c.campaign + ": control (10%)", groups[0].cardinality());
  rep.count("campaign " + c.campaign + ": treatment (90%)", groups[1].cardinality());
  rep.timing("holdout split", split_s);
  rep.count("export to phone: rows", rows);
  rep.count("export to phone: unreachable (no phone)", er.unreachable);
  rep.timing("export", export_s);
}

// 4. Consent: import the ledger, keep only who may get a marketing SMS now.
void stage_consent(DemoContext& c) {
  c.consent = std::make_unique<cdpcore::Consent>(c.ws);  // PIPL, person rule strict
  c.consent->attach_identity(*c.graph);                   // subjects normalised, persons resolved
  const std::vector<cdpcore::ConsentRecord> records = consent_records(c.data);
  cdpcore::ImportOptions io;
  io.skip_invalid_subjects = true;  // "null", 11111111111 … are nobody's consent
  cdpcore::ImportReport ir;
  const double import_s = timed([&] { ir = c.consent->import(records, c.as_of, io); });

  cdpcore::ConsentFilterResult f;
  const double filter_s =
      timed([&] { f = c.consent->filter(c.campaign_members, "marketing.sms", "sms", c.as_of); });
  cdpcore::ExportOptions eo;
  eo.identifier_types = {"phone"};
  eo.allowed = &f.allowed;
  uint64_t rows = 0;
  const auto er = c.segments->export_members(c.campaign_members, eo, [&](const cdpcore::ExportBatch& b) {
    rows += b.identifiers.size();
    return true;
  });

  auto& rep = c.report;
  rep.section("consent (ledger imported, campaign filtered for marketing.sms on sms)");
  rep.count("records appended", ir.appended);
  rep.count("records skipped (invalid subject)", ir.invalid);
  rep.timing("import (one transaction, hash-chained)", import_s);
  rep.count("campaign members checked", f.input);
  rep.count("kept (may receive a marketing SMS)", f.allowed.cardinality());
  uint64_t dropped = 0;
  for (const auto& [reason, count] : f.dropped) dropped += count;
  rep.count("dropped", dropped);
  for (const auto& [reason, count] : f.dropped)
    rep.count(std::string("  ") + cdpcore::consent_reason_name(reason), count);
  rep.timing("filter", filter_s);
  rep.count("SMS export rows after consent", rows);
  rep.count("  not allowed", er.not_allowed);
}

// 5. Churn: a logistic model on features from the profile store, its score
// written back as a trait, and a segment on it.
void stage_churn(DemoContext& c) {
  auto& store = *c.store;
  const cdpcore::Timestamp horizon = 60 * cdpcore::kMicrosPerDay;
  const cdpcore::Timestamp snapshot = c.as_of - horizon;
  cdpcore::FeatureSpec spec;
  spec.expression("orders_90d", "count(order, last 90 days)")
      .expression("spend_90d", "sum(order.amount, last 90 days)")
      .expression("orders_365d", "count(order, last 365 days)")
      .expression("days_since_order", "coalesce(days_since(last(order.time)), 400)")
      .expression("views_30d", "count(page_view, last 30 days)")
      .expression("carts_30d", "count(add_to_cart, last 30 days)")
      .expression("sms_clicks_90d", "count(sms_click, last 90 days)");
  const auto features = cdpcore::BoundFeatures::bind(spec, store);

  // Label: customers as of the snapshot who did not order in the 60 days after
  // it. (The generator gives each person a constant activity rate, so churn
  // here is the randomness of a quiet person's next order: past activity
  // predicts it only in part.)
  const auto customer = cdpcore::CompiledExpression::compile(store, "count(order) >= 1");
  const auto no_recent_order = cdpcore::CompiledExpression::compile(store, "count(order, last 60 days) = 0");
  const cdpcore::Bitmap customers_then = customer.evaluate_all(store, snapshot);
  const cdpcore::Bitmap churned = no_recent_order.evaluate_all(store, c.as_of);
  cdpcore::SplitOptions so;  // 30% of the customers held out to measure the model
  so.salt = "churn-model";
  so.proportions = {0.7, 0.3};
  const auto parts = c.segments->split(customers_then, so);

  auto labelled = [&](const cdpcore::Bitmap& who, std::vector<uint32_t>& persons, std::vector<double>& x,
                      std::vector<double>& y) {
    persons = who.to_vector();
    x = features.matrix(store, persons, snapshot);  // features as of the snapshot
    y.resize(persons.size());
    for (size_t i = 0; i < persons.size(); ++i) y[i] = churned.contains(persons[i]) ? 1.0 : 0.0;
  };
  std::vector<uint32_t> train_p, test_p;
  std::vector<double> train_x, train_y, test_x, test_y;
  std::optional<cdpcore::Model> model;
  const double fit_s = timed([&] {
    labelled(parts[0], train_p, train_x, train_y);
    model.emplace(cdpcore::fit_logistic(cdpcore::MatrixView::of(train_x.data(), train_p.size(), spec.size()), train_y));
  });
  labelled(parts[1], test_p, test_x, test_y);
  const std::vector<double> p = model->predict(cdpcore::MatrixView::of(test_x.data(), test_p.size(), spec.size()));
  std::vector<uint8_t> is_churn(test_y.size());
  uint64_t correct = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    is_churn[i] = test_y[i] > 0.5;
    correct += (p[i] > 0.5) == (is_churn[i] != 0);
  }
  const double churn_rate =
      static_cast<double>(std::count(is_churn.begin(), is_churn.end(), 1)) / static_cast<double>(is_churn.size());

  // Score today's customers as of the end of the year; the score becomes the attribute churn_risk.
  const std::vector<uint32_t> customers_now = customer.evaluate_all(store, c.as_of).to_vector();
  const double score_s =
      timed([&] { cdpcore::score_to_trait(*model, features, store, "churn_risk", c.as_of, customers_now); });
  c.segments->define("churn_risk_high", "churn_risk > 0.7");
  const double seg_s = timed([&] { c.segments->evaluate("churn_risk_high", c.as_of); });
  const uint64_t high_vip = c.segments->count_with("churn_risk_high", "vip", c.as_of);

  // RFM over the order log read back from the store.
  const OrderArrays orders = order_arrays(store);
  cdpcore::RfmOptions ro;
  ro.as_of = c.as_of;
  cdpcore::RfmTable rfm;
  const double rfm_s = timed([&] { rfm = cdpcore::rfm(orders.person, orders.time, orders.amount, ro); });
  std::vector<uint64_t> per_group(rfm.group_names.size());
  for (int32_t g : rfm.group)
    if (g >= 0) per_group[static_cast<size_t>(g)]++;

  auto& rep = c.report;
  rep.section("churn model (logistic regression on profile features; label: no order in the last 60 days)");
  std::string fnames;
  for (const auto& f : spec.features) fnames += (fnames.empty() ? "" : ", ") + f.name;
  rep.note("features (as of 60 days before the end): " + fnames);
  rep.count("customers at the snapshot: training (70%)", train_p.size());
  rep.count("customers at the snapshot: held out (30%)", test_p.size());
  rep.ratio("churn rate (held out)", churn_rate);
  rep.ratio("AUC (held out)", roc_auc(p, is_churn));
  rep.ratio("accuracy at 0.5 (held out)", static_cast<double>(correct) / static_cast<double>(p.size()));
  rep.ratio("  always answering the majority class", std::max(churn_rate, 1 - churn_rate));
  rep.timing("features + fit", fit_s);
  rep.count("customers scored as of the end (churn_risk)", customers_now.size());
  rep.timing("score_to_trait", score_s);
  rep.count("segment churn_risk_high = churn_risk > 0.7", c.segments->count("churn_risk_high"));
  rep.count("  of which vip", high_vip);
  rep.timing("evaluate the segment", seg_s);
  rep.count("RFM: customers scored", rfm.size());
  for (size_t g = 0; g < per_group.size(); ++g) rep.count("  " + rfm.group_names[g], per_group[g]);
  rep.timing("RFM", rfm_s);
}

struct Stage {
  const char* name;
  void (*run)(DemoContext&);
};
constexpr Stage kStages[] = {
    {"open workspace", stage_open_workspace},
    {"generate sample data", stage_generate},
    {"store sample data", stage_store_sample},
    {"identity resolution", stage_identity},
    {"profiles and tags", stage_profiles},
    {"segments", stage_segments},
    {"consent", stage_consent},
    {"churn scoring", stage_churn},
};

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
  std::error_code ec;
  uint64_t bytes = 0;
  for (const char* suffix : {"", "-wal"}) {
    const auto n = std::filesystem::file_size(c.workspace_path + suffix, ec);
    if (!ec) bytes += n;
  }
  c.report.count("workspace file incl. WAL (MB)", (bytes + (1 << 19)) >> 20);
  c.report.print();
  return 0;
}
