// Native tag-engine benchmark on the sample population: (a) the ten example
// tags for everyone (2 threads), (b) one person's ten tags right after an
// event arrives, with a 200-event history, (c) compile time per rule, and the
// memory per stored event. Prints one JSON object per line.
//
//   bench_rules <persons> [events_per_person] [batch_repeats]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cdpcore/datagen.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/rules.hpp"

using namespace cdpcore;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

template <typename F>
double median_seconds(F&& f, int repeat) {
  std::vector<double> ts;
  for (int i = 0; i < repeat; ++i) {
    auto t = Clock::now();
    f();
    ts.push_back(seconds_since(t));
  }
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

void record(const char* bench, double seconds, uint64_t rows, const std::string& extra = "") {
  std::printf("{\"benchmark\": \"%s\", \"impl\": \"cdpcore-native\", \"seconds\": %.9f, \"rows\": %llu%s}\n", bench,
              seconds, static_cast<unsigned long long>(rows), extra.c_str());
  std::fflush(stdout);
}

const char* const kTenTags = R"(
tag vip = sum(order.amount, last 365 days) >= 5000 or member_level in ["gold", "platinum"]
tag lapsed = count(order) >= 1 and count(page_view, last 60 days) = 0
tag price_band = case when avg(order.amount, last 180 days) >= 500 then "high"
                      when avg(order.amount, last 180 days) >= 150 then "mid" else "low" end
tag top_category = most_frequent(order.category, last 90 days)
tag repeat_buyer_30d = count(order, last 30 days) >= 2
tag cart_abandoner = count(add_to_cart, last 3 days) >= 1 and count(order, since last add_to_cart) = 0
tag new_member = signup_at in last 30 days
tag age_band = case when age(birthday) < 25 then "18-24" when age(birthday) < 35 then "25-34"
                    when age(birthday) < 50 then "35-49" when age(birthday) >= 50 then "50+" end
tag sms_responsive = count(sms_click, last 90 days) / count(sms_sent, last 90 days) >= 0.1
tag multi_store = count_distinct(order.store) >= 3
)";

std::vector<std::string_view> views(const datagen::StringColumn& c) {
  std::vector<std::string_view> v;
  v.reserve(c.size());
  for (size_t i = 0; i < c.size(); ++i) v.push_back(c[i]);
  return v;
}

/// Loads the sample into a store (ordinal = true person).
void load(ProfileStore& s, const datagen::SampleData& d) {
  s.define_attribute({"member_level", ValueType::string});
  s.define_attribute({"signup_at", ValueType::timestamp});
  s.define_attribute({"birthday", ValueType::timestamp});
  s.define_attribute({"city", ValueType::string});
  s.define_attribute({"gender", ValueType::string});
  s.define_event_type({"order",
                       {{"amount", ValueType::float64}, {"sku", ValueType::string}, {"category", ValueType::string},
                        {"store", ValueType::string}}});
  s.define_event_type({"add_to_cart", {{"sku", ValueType::string}}});
  for (const char* e : {"page_view", "sms_sent", "sms_click", "coupon_redeem", "signup"}) s.define_event_type({e, {}});
  const auto& P = d.persons;
  const size_t n = P.size();
  std::vector<PersonOrdinal> who(n);
  for (size_t i = 0; i < n; ++i) who[i] = static_cast<PersonOrdinal>(i);
  auto names = [](std::span<const char* const> s) {
    std::vector<std::string_view> v(s.begin(), s.end());
    return v;
  };
  auto levels = names(datagen::member_level_names());
  auto genders = names(datagen::gender_names());
  auto cities = views(d.dicts.cities);
  std::vector<int32_t> level(n), gender(n), city(n);
  std::vector<int64_t> signup(n), birthday(n);
  std::vector<uint8_t> signup_valid(n), birthday_valid(n);
  for (size_t i = 0; i < n; ++i) {
    level[i] = P.member_level[i] == 0 ? -1 : P.member_level[i];
    gender[i] = P.gender[i];
    city[i] = P.city[i];
    signup[i] = P.signup_at[i];
    signup_valid[i] = P.signup_at[i] != datagen::kNoTime;
    birthday[i] = P.birthday[i] == datagen::kNoDate ? 0 : static_cast<int64_t>(P.birthday[i]) * kMicrosPerDay;
    birthday_valid[i] = P.birthday[i] != datagen::kNoDate;
  }
  std::vector<ColumnInput> cols = {ColumnInput::of_codes("member_level", level, levels),
                                   ColumnInput::of_codes("gender", gender, genders),
                                   ColumnInput::of_codes("city", city, cities),
                                   ColumnInput::of_timestamps("signup_at", signup),
                                   ColumnInput::of_timestamps("birthday", birthday)};
  cols[3].valid = signup_valid;
  cols[4].valid = birthday_valid;
  s.upsert_attributes(RowKeys::of(who), cols);
  const auto& E = d.events;
  auto skus = views(d.dicts.skus);
  auto cats = views(d.dicts.categories);
  auto stores = views(d.dicts.stores);
  auto type_names = datagen::event_type_names();
  for (int type = 0; type < datagen::kEventTypeCount; ++type) {
    std::vector<PersonOrdinal> p;
    std::vector<Timestamp> t;
    std::vector<double> amount;
    std::vector<int32_t> sku, cat, store;
    for (size_t i = 0; i < E.size(); ++i) {
      if (E.type[i] != type) continue;
      p.push_back(E.true_person[i]);
      t.push_back(E.time[i]);
      amount.push_back(E.amount[i]);
      sku.push_back(E.sku[i]);
      cat.push_back(E.category[i]);
      store.push_back(E.store[i]);
    }
    std::string name = type_names[static_cast<size_t>(type)];
    std::vector<ColumnInput> props;
    if (name == "order") {
      props = {ColumnInput::of_doubles("amount", amount), ColumnInput::of_codes("sku", sku, skus),
               ColumnInput::of_codes("category", cat, cats), ColumnInput::of_codes("store", store, stores)};
    } else if (name == "add_to_cart") {
      props = {ColumnInput::of_codes("sku", sku, skus)};
    }
    s.append_events(name, RowKeys::of(p), t, props);
  }
  s.compact();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <persons> [events_per_person]\n", argv[0]);
    return 2;
  }
  const uint32_t persons = static_cast<uint32_t>(std::stoul(argv[1]));
  const double epp = argc > 2 ? std::stod(argv[2]) : 20.0;
  const int repeats = argc > 3 ? std::stoi(argv[3]) : 3;
  try {
    datagen::Options o;
    o.persons = persons;
    o.events_per_person = epp;
    o.with_consent = false;
    o.with_canonical = false;
    auto t0 = Clock::now();
    auto data = datagen::generate(o);
    double gen_s = seconds_since(t0);
    ProfileStore store;
    t0 = Clock::now();
    load(store, data);
    double load_s = seconds_since(t0);
    const uint64_t events = data.events.size();
    record("rules.load_events", load_s, events, ", \"notes\": \"in-memory store, columnar batches\"");
    (void)gen_s;
    const Timestamp as_of = o.end - kMicrosPerDay;
    // (c) compile
    auto rules = rules::parse_rules(kTenTags);
    double compile_s = median_seconds([&] { auto rs = RuleSet::compile(store, rules); }, 201);
    record("rules.compile_ten_rules", compile_s, rules.size(),
           ", \"per_rule_us\": " + std::to_string(compile_s / static_cast<double>(rules.size()) * 1e6));
    double parse_compile_s = median_seconds([&] { auto rs = RuleSet::compile(store, std::string_view(kTenTags)); }, 201);
    record("rules.parse_and_compile_ten_rules", parse_compile_s, rules.size(),
           ", \"per_rule_us\": " + std::to_string(parse_compile_s / static_cast<double>(rules.size()) * 1e6));
    auto rs = RuleSet::compile(store, std::string_view(kTenTags));
    // (a) batch
    EvalOptions two;
    two.threads = 2;
    TagResults res;
    double batch_s = median_seconds([&] { res = rs.evaluate_all(store, as_of, two); }, repeats);
    std::string counts = ", \"threads\": 2, \"events\": " + std::to_string(events) + ", \"members\": {";
    for (size_t i = 0; i < res.tags.size(); ++i)
      counts += (i ? ", \"" : "\"") + res.tags[i].name + "\": " + std::to_string(res.tags[i].members.cardinality());
    counts += "}";
    record("rules.batch_ten_tags", batch_s, store.person_count(), counts);
    EvalOptions one;
    one.threads = 1;
    double batch1_s = median_seconds([&] { res = rs.evaluate_all(store, as_of, one); }, 3);
    record("rules.batch_ten_tags_1thread", batch1_s, store.person_count(), ", \"threads\": 1");
    auto mem = store.memory_usage();
    record("rules.memory_per_event", 0, mem.events,
           ", \"bytes_per_item\": " + std::to_string(static_cast<double>(mem.event_bytes) / static_cast<double>(mem.events)) +
               ", \"attribute_bytes\": " + std::to_string(mem.attribute_bytes));
    // (b) one person after an event, with a 200-event history: give 500
    // persons exactly 200 events (orders, views, carts, sms), compact, then
    // per person append one order (pending, as a streaming event) and
    // evaluate all ten tags.
    std::mt19937_64 rng(5);
    const size_t sample = std::min<size_t>(500, persons);
    std::vector<PersonOrdinal> picked;
    for (size_t i = 0; i < sample; ++i) picked.push_back(static_cast<PersonOrdinal>(rng() % persons));
    std::sort(picked.begin(), picked.end());
    picked.erase(std::unique(picked.begin(), picked.end()), picked.end());
    {
      const char* types[] = {"order", "page_view", "add_to_cart", "sms_sent", "sms_click"};
      std::vector<std::vector<PersonOrdinal>> who(5);
      std::vector<std::vector<Timestamp>> when(5);
      for (PersonOrdinal p : picked) {
        uint64_t have = 0;
        for (const char* t : types) have += store.person_events(p, t).size();
        for (uint64_t k = have; k < 200; ++k) {
          size_t ty = rng() % 5;
          who[ty].push_back(p);
          when[ty].push_back(as_of - static_cast<Timestamp>(rng() % (365ull * 86400)) * kMicrosPerSecond);
        }
      }
      std::vector<double> amount;
      for (size_t ty = 0; ty < 5; ++ty) {
        std::vector<ColumnInput> props;
        std::vector<std::string_view> cat(who[ty].size(), "shoes"), st(who[ty].size(), "SH-001"), sku(who[ty].size(), "s");
        amount.assign(who[ty].size(), 199.0);
        if (ty == 0)
          props = {ColumnInput::of_doubles("amount", amount), ColumnInput::of_strings("category", cat),
                   ColumnInput::of_strings("store", st), ColumnInput::of_strings("sku", sku)};
        store.append_events(types[ty], RowKeys::of(who[ty]), when[ty], props);
      }
      store.compact();
    }
    std::vector<double> eval_times, event_times;
    uint64_t members = 0;
    for (PersonOrdinal p : picked) {
      Event e{as_of - kMicrosPerMinute, {250.0, std::string("sku-1"), std::string("bags"), std::string("SH-002")}};
      auto t = Clock::now();
      store.append_event("order", p, e);
      auto t1 = Clock::now();
      auto tags = rs.evaluate_person(store, p, as_of);
      auto t2 = Clock::now();
      for (const auto& tag : tags) members += tag.member;
      event_times.push_back(std::chrono::duration<double>(t1 - t).count());
      eval_times.push_back(std::chrono::duration<double>(t2 - t1).count());
    }
    std::sort(eval_times.begin(), eval_times.end());
    std::sort(event_times.begin(), event_times.end());
    size_t m = eval_times.size() / 2;
    // rows = 1: seconds is the median latency of one person's evaluation (rows/s = evaluations/s).
    record("rules.one_person_ten_tags_after_event", eval_times[m], 1,
           ", \"persons\": " + std::to_string(picked.size()) + ", \"history_events\": 201, \"p90_seconds\": " + std::to_string(eval_times[eval_times.size() * 9 / 10]) +
               ", \"append_event_seconds\": " + std::to_string(event_times[m]) +
               ", \"notes\": \"median of " + std::to_string(picked.size()) + " persons; the new event is not yet compacted\"");
    (void)members;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_rules: %s\n", e.what());
    return 1;
  }
  return 0;
}
