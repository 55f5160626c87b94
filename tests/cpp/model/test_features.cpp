#include <doctest/doctest.h>

#include <cmath>

#include "cdpcore/error.hpp"
#include "cdpcore/model.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/rules.hpp"

using namespace cdpcore;

namespace {

void fill_store(ProfileStore& store) {
  store.define_event_type({"order", {{"amount", ValueType::float64}}});
  std::vector<uint32_t> who = {0, 1, 2};
  store.write_doubles("visits", who, std::vector<double>{1, 8, 3});
  for (uint32_t p : who) {
    for (uint32_t k = 0; k <= p; ++k) {
      Event e;
      e.time = days(10 + k);
      e.properties = {Value(10.0 * (p + 1))};
      store.append_event("order", p, e);
    }
  }
  store.compact();
}

}  // namespace

TEST_CASE("model: features bind to attributes and rule expressions; scores become a trait") {
  ProfileStore store;
  fill_store(store);
  FeatureSpec spec;
  spec.attribute("visits").expression("spend", "sum(order.amount, last 30 days)");
  BoundFeatures bound = BoundFeatures::bind(spec, store);
  CHECK(bound.size() == 2);
  std::vector<uint32_t> persons = {0, 1, 2};
  std::vector<double> x = bound.matrix(store, persons, days(20));
  REQUIRE(x.size() == 6);
  CHECK(x[0] == 1);
  CHECK(x[2] == 8);
  CHECK(x[1] == doctest::Approx(10.0));
  CHECK(x[3] == doctest::Approx(40.0));   // two orders of 20
  CHECK(x[5] == doctest::Approx(90.0));   // three orders of 30
  std::vector<double> row(2);
  bound.row(store, 1, days(20), row);
  CHECK(row[0] == x[2]);
  CHECK(row[1] == doctest::Approx(x[3]));

  LinearModelSpec ls;
  ls.coefficients = {0.1, 0.01};
  ls.intercepts = {-1.0};
  ls.link = LinearLink::logistic;
  Model m = Model::linear(ls);
  std::vector<double> scores = score_to_trait(m, bound, store, "churn_risk", days(20));
  REQUIRE(scores.size() == store.person_count());
  CHECK(scores[1] == doctest::Approx(1 / (1 + std::exp(-(0.8 + 0.4 - 1.0)))));
  // The trait is an attribute rules can use.
  CHECK(store.read_doubles("churn_risk", persons) == scores);
  auto expr = CompiledExpression::compile(store, "churn_risk > 0.5");
  Bitmap risky = expr.evaluate_all(store, days(20));
  for (uint32_t p : persons) CHECK(risky.contains(p) == (scores[p] > 0.5));

  // Unknown names are refused when binding.
  FeatureSpec bad;
  bad.attribute("nope");
  CHECK_THROWS_AS(BoundFeatures::bind(bad, store), NotFound);
}
