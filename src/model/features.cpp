// Feature specs bound to the profile store and the rule language, and scores
// written back as a trait.
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

#include "cdpcore/error.hpp"
#include "cdpcore/model.hpp"
#include "cdpcore/profile.hpp"
#include "cdpcore/rules.hpp"

namespace cdpcore {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double to_double(const Value& v) {
  if (std::holds_alternative<bool>(v)) return std::get<bool>(v) ? 1.0 : 0.0;
  if (std::holds_alternative<int64_t>(v)) return static_cast<double>(std::get<int64_t>(v));
  if (std::holds_alternative<double>(v)) return std::get<double>(v);
  return kNaN;
}

bool numeric(ValueType t) {
  return t == ValueType::boolean || t == ValueType::int64 || t == ValueType::float64 || t == ValueType::timestamp;
}
}  // namespace

FeatureSpec& FeatureSpec::attribute(std::string name, std::string attribute_name) {
  if (attribute_name.empty()) attribute_name = name;
  features.push_back({std::move(name), FeatureBinding::Source::attribute, std::move(attribute_name)});
  return *this;
}

FeatureSpec& FeatureSpec::expression(std::string name, std::string rule_text) {
  features.push_back({std::move(name), FeatureBinding::Source::expression, std::move(rule_text)});
  return *this;
}

FeatureSpec FeatureSpec::from_model(const Model& model) {
  if (model.feature_names().size() != model.num_features()) {
    throw InvalidArgument("FeatureSpec::from_model: the model stores no feature names");
  }
  FeatureSpec s;
  for (const auto& n : model.feature_names()) s.attribute(n);
  return s;
}

struct BoundFeatures::Impl {
  FeatureSpec spec;
  const ProfileStore* store = nullptr;
  std::vector<std::optional<CompiledExpression>> compiled;  // per feature; empty for attributes
};

BoundFeatures::BoundFeatures(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BoundFeatures::~BoundFeatures() = default;
BoundFeatures::BoundFeatures(BoundFeatures&&) noexcept = default;
BoundFeatures& BoundFeatures::operator=(BoundFeatures&&) noexcept = default;
size_t BoundFeatures::size() const noexcept { return impl_->spec.size(); }
const FeatureSpec& BoundFeatures::spec() const noexcept { return impl_->spec; }

BoundFeatures BoundFeatures::bind(const FeatureSpec& spec, const ProfileStore& store) {
  auto impl = std::make_unique<Impl>();
  impl->spec = spec;
  impl->store = &store;
  for (size_t i = 0; i < spec.features.size(); ++i) {
    const FeatureBinding& f = spec.features[i];
    if (f.source == FeatureBinding::Source::attribute) {
      AttributeColumn col = store.attribute(f.ref);  // NotFound names the attribute
      if (!col.def || !numeric(col.def->type)) {
        throw TypeError("feature " + std::to_string(i) + " \"" + f.name + "\": attribute \"" + f.ref +
                        "\" is not numeric");
      }
      impl->compiled.emplace_back(std::nullopt);
    } else {
      CompiledExpression e = CompiledExpression::compile(store, f.ref);
      if (!numeric(e.type()) && e.type() != ValueType::null) {
        throw TypeError("feature " + std::to_string(i) + " \"" + f.name + "\": expression \"" + f.ref +
                        "\" is not numeric");
      }
      impl->compiled.emplace_back(std::move(e));
    }
  }
  return BoundFeatures(std::move(impl));
}

std::vector<double> BoundFeatures::matrix(const ProfileStore& store, std::span<const uint32_t> persons,
                                          Timestamp as_of) const {
  if (&store != impl_->store) throw StateError("BoundFeatures: evaluated against another store than it was bound to");
  const size_t nf = size(), n = persons.size();
  std::vector<double> out(n * nf, kNaN);
  for (size_t j = 0; j < nf; ++j) {
    const FeatureBinding& f = impl_->spec.features[j];
    if (!impl_->compiled[j]) {
      std::vector<double> col = store.read_doubles(f.ref, persons);
      for (size_t i = 0; i < n; ++i) out[i * nf + j] = col[i];
    } else {
      NumericColumn col = impl_->compiled[j]->evaluate_numeric(store, as_of);
      for (size_t i = 0; i < n; ++i) {
        const uint32_t p = persons[i];
        if (p < col.values.size() && (col.valid.empty() || col.valid[p])) out[i * nf + j] = col.values[p];
      }
    }
  }
  return out;
}

void BoundFeatures::row(const ProfileStore& store, uint32_t person, Timestamp as_of, std::span<double> out) const {
  if (&store != impl_->store) throw StateError("BoundFeatures: evaluated against another store than it was bound to");
  if (out.size() < size()) throw InvalidArgument("BoundFeatures::row: the output needs " + std::to_string(size()) + " values");
  for (size_t j = 0; j < size(); ++j) {
    const FeatureBinding& f = impl_->spec.features[j];
    if (!impl_->compiled[j]) {
      out[j] = to_double(store.value(person, f.ref));
    } else {
      out[j] = to_double(impl_->compiled[j]->evaluate_value(store, person, as_of));
    }
  }
}

std::vector<double> score_to_trait(const Model& model, const BoundFeatures& features, ProfileStore& store,
                                   std::string_view trait, Timestamp as_of, std::span<const uint32_t> persons,
                                   const PredictOptions& options) {
  if (features.size() != model.num_features()) {
    throw InvalidArgument("score_to_trait: the model expects " + std::to_string(model.num_features()) +
                          " features, the spec has " + std::to_string(features.size()));
  }
  std::vector<uint32_t> everyone;
  if (persons.empty()) {
    everyone.resize(store.person_count());
    std::iota(everyone.begin(), everyone.end(), 0u);
    persons = everyone;
  }
  std::vector<double> x = features.matrix(store, persons, as_of);
  std::vector<double> scores = model.predict(MatrixView::of(x.data(), persons.size(), features.size()), options);
  const size_t k = model.num_outputs();
  std::vector<double> first(persons.size());
  for (size_t i = 0; i < persons.size(); ++i) first[i] = scores[i * k];
  store.write_doubles(trait, persons, first);
  return first;
}

}  // namespace cdpcore
