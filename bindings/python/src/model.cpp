#include "cdpcore/model.hpp"

#include "cdpcore/error.hpp"
#include "cdpcore/profile.hpp"
#include "common.hpp"
#include "time_arg.hpp"

namespace cdpcore::python {
namespace {

/// A NumPy matrix viewed without a copy when it is float32/float64 and C- or
/// Fortran-contiguous; anything else is converted to a C-contiguous float64
/// array, kept alive in `holder`.
MatrixView matrix_view(const py::handle& obj, py::object& holder, const char* what) {
  py::module_ np = py::module_::import("numpy");
  py::array arr;
  if (py::isinstance<py::array>(obj)) {
    arr = py::reinterpret_borrow<py::array>(obj);
  } else {
    arr = np.attr("asarray")(obj);
  }
  if (arr.ndim() == 1) arr = arr.attr("reshape")(1, -1);
  if (arr.ndim() != 2) {
    throw InvalidArgument(std::string(what) + " must be a 2-D matrix, got " + std::to_string(arr.ndim()) + " dimensions");
  }
  const bool f32 = arr.dtype().is(py::dtype::of<float>());
  const bool f64 = arr.dtype().is(py::dtype::of<double>());
  const int flags = py::detail::array_proxy(arr.ptr())->flags;
  const bool c_contig = (flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_) != 0;
  const bool f_contig = (flags & py::detail::npy_api::NPY_ARRAY_F_CONTIGUOUS_) != 0;
  if (!(f32 || f64) || !(c_contig || f_contig)) {
    arr = np.attr("ascontiguousarray")(arr, py::arg("dtype") = np.attr("float64"));
  }
  holder = arr;
  MatrixView v;
  v.data = arr.data();
  v.rows = static_cast<size_t>(arr.shape(0));
  v.cols = static_cast<size_t>(arr.shape(1));
  v.dtype = arr.dtype().is(py::dtype::of<float>()) ? DType::float32 : DType::float64;
  const int f2 = py::detail::array_proxy(arr.ptr())->flags;
  v.layout = (f2 & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_) ? Layout::row_major : Layout::column_major;
  return v;
}

PredictType predict_type(const std::string& s) {
  if (s == "transformed" || s == "value" || s == "probability") return PredictType::transformed;
  if (s == "margin" || s == "raw") return PredictType::margin;
  throw InvalidArgument("output must be \"transformed\" or \"margin\", got \"" + s + "\"");
}

py::array_t<double> shaped(std::vector<double>&& v, size_t rows, size_t k, bool squeeze) {
  auto* heap = new std::vector<double>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<double>*>(p); });
  if (squeeze && k == 1) return py::array_t<double>({rows}, {sizeof(double)}, heap->data(), owner);
  return py::array_t<double>({rows, k}, {k * sizeof(double), sizeof(double)}, heap->data(), owner);
}

const char* kind_name(ModelKind k) {
  switch (k) {
    case ModelKind::xgboost: return "xgboost";
    case ModelKind::lightgbm: return "lightgbm";
    default: return "linear";
  }
}

LinearLink link_of(const std::string& s) {
  if (s == "identity" || s == "linear") return LinearLink::identity;
  if (s == "logistic" || s == "sigmoid") return LinearLink::logistic;
  if (s == "softmax" || s == "multinomial") return LinearLink::softmax;
  throw InvalidArgument("link must be \"identity\", \"logistic\" or \"softmax\", got \"" + s + "\"");
}

std::vector<double> to_doubles(const py::handle& obj) {
  if (obj.is_none()) return {};
  py::module_ np = py::module_::import("numpy");
  py::array_t<double, py::array::c_style | py::array::forcecast> a = np.attr("ravel")(np.attr("asarray")(obj, py::arg("dtype") = np.attr("float64")));
  return std::vector<double>(a.data(), a.data() + a.size());
}

void init_model(py::module_& m) {
  py::class_<Model>(m, "Model", R"doc(
A scoring model: an XGBoost or LightGBM tree ensemble, or a linear /
logistic / softmax model. Immutable; share it freely across threads.
predict() scores a matrix (NumPy float32/float64, C or Fortran order, read
without a copy) on every core with the GIL released.)doc")
      .def_static(
          "from_xgboost_json",
          [](const py::object& src) {
            std::string text = py::isinstance<py::bytes>(src) ? std::string(src.cast<py::bytes>())
                                                               : src.cast<std::string>();
            py::gil_scoped_release nogil;
            return Model::from_xgboost_json(text);
          },
          py::arg("json"), "Parse an XGBoost JSON model (str or bytes, as Booster.save_raw('json') gives).")
      .def_static("load_xgboost_json", &Model::load_xgboost_json, py::arg("path"),
                  py::call_guard<py::gil_scoped_release>(), "Read an XGBoost JSON model file.")
      .def_static(
          "from_lightgbm",
          [](const py::object& src) {
            std::string text = py::isinstance<py::bytes>(src) ? std::string(src.cast<py::bytes>())
                                                               : src.cast<std::string>();
            py::gil_scoped_release nogil;
            return Model::from_lightgbm_text(text);
          },
          py::arg("text"), "Parse a LightGBM text model (Booster.model_to_string()).")
      .def_static("load_lightgbm", &Model::load_lightgbm, py::arg("path"), py::call_guard<py::gil_scoped_release>(),
                  "Read a LightGBM text model file.")
      .def_static(
          "linear",
          [](const py::object& coefficients, const py::object& intercepts, const std::string& link,
             const py::object& mean, const py::object& scale, const std::vector<std::string>& feature_names) {
            LinearModelSpec s;
            s.coefficients = to_doubles(coefficients);
            s.intercepts = to_doubles(intercepts);
            s.link = link_of(link);
            s.mean = to_doubles(mean);
            s.scale = to_doubles(scale);
            s.feature_names = feature_names;
            return Model::linear(s);
          },
          py::arg("coefficients"), py::arg("intercepts"), py::kw_only(), py::arg("link") = "identity",
          py::arg("mean") = py::none(), py::arg("scale") = py::none(),
          py::arg("feature_names") = std::vector<std::string>{},
          R"doc(A linear model: coefficients (outputs × features), intercepts (outputs),
link "identity" | "logistic" | "softmax", optional standardisation (x - mean) / scale.)doc")
      .def_static(
          "from_sklearn",
          [](const py::object& estimator, const py::object& scaler) {
            return py::module_::import("cdpcore.model").attr("_from_sklearn")(estimator, scaler).cast<Model>();
          },
          py::arg("estimator"), py::arg("scaler") = py::none(),
          R"doc(A model from a fitted scikit-learn LogisticRegression / LinearRegression
(or a Pipeline of StandardScaler and one of them); `scaler` is an optional
fitted StandardScaler applied first.)doc")
      .def_property_readonly("kind", [](const Model& m) { return kind_name(m.kind()); })
      .def_property_readonly("objective", &Model::objective)
      .def_property_readonly("num_features", &Model::num_features)
      .def_property_readonly("num_outputs", &Model::num_outputs)
      .def_property_readonly("num_trees", &Model::num_trees)
      .def_property_readonly("feature_names", &Model::feature_names)
      .def_property_readonly("coefficients",
                             [](const Model& m) {
                               const auto& s = m.linear_spec();
                               return py::array_t<double>({s.intercepts.size(), m.num_features()},
                                                          s.coefficients.data());
                             })
      .def_property_readonly("intercepts",
                             [](const Model& m) {
                               const auto& s = m.linear_spec();
                               return py::array_t<double>(s.intercepts.size(), s.intercepts.data());
                             })
      .def(
          "predict",
          [](const Model& m, const py::object& x, const std::string& output, unsigned threads) {
            py::object holder;
            MatrixView v = matrix_view(x, holder, "x");
            PredictOptions o;
            o.output = predict_type(output);
            o.threads = threads;
            std::vector<double> out;
            {
              py::gil_scoped_release nogil;
              out = m.predict(v, o);
            }
            return shaped(std::move(out), v.rows, m.num_outputs(), true);
          },
          py::arg("x"), py::kw_only(), py::arg("output") = "transformed", py::arg("threads") = 0,
          R"doc(Score every row of x. Returns shape (rows,) for one output, (rows, k)
otherwise. output="margin" gives raw scores (log-odds, …).)doc")
      .def(
          "predict_row",
          [](const Model& m, const py::array& x, const std::string& output) -> py::object {
            // Float32 and float64 rows are read in place; anything else is converted.
            // Small outputs go to the stack: this path is about microseconds.
            constexpr size_t kStackOutputs = 16;
            double stack_out[kStackOutputs];
            std::vector<double> heap_out;
            std::span<double> out(stack_out, m.num_outputs());
            if (m.num_outputs() > kStackOutputs) {
              heap_out.resize(m.num_outputs());
              out = heap_out;
            }
            const PredictType type = predict_type(output);
            const bool contiguous = (x.flags() & py::array::c_style) != 0;
            if (contiguous && py::isinstance<py::array_t<float>>(x)) {
              m.predict_row(std::span<const float>(static_cast<const float*>(x.data()), static_cast<size_t>(x.size())),
                            out, type);
            } else if (contiguous && py::isinstance<py::array_t<double>>(x)) {
              m.predict_row(std::span<const double>(static_cast<const double*>(x.data()), static_cast<size_t>(x.size())),
                            out, type);
            } else {
              auto d = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(x);
              if (!d) throw InvalidArgument("x must be a sequence of numbers");
              m.predict_row(std::span<const double>(d.data(), static_cast<size_t>(d.size())), out, type);
            }
            if (out.size() == 1) return py::float_(out[0]);
            return py::array_t<double>(out.size(), out.data());
          },
          py::arg("x"), py::kw_only(), py::arg("output") = "transformed",
          "Score one row (the reentrant single-row path).")
      .def("__repr__", [](const Model& m) {
        return "<cdpcore.Model " + std::string(kind_name(m.kind())) + " objective='" + m.objective() +
               "' features=" + std::to_string(m.num_features()) + " outputs=" + std::to_string(m.num_outputs()) +
               " trees=" + std::to_string(m.num_trees()) + ">";
      });
}

template <class T>
py::array_t<T> to_array(const std::vector<T>& v) {
  return py::array_t<T>(v.size(), v.data());
}

std::vector<double> doubles_of(const py::handle& obj, const char* what) {
  if (obj.is_none()) throw InvalidArgument(std::string(what) + " must not be None");
  return to_doubles(obj);
}

void init_analytics(py::module_& m) {
  m.def(
      "fit_logistic",
      [](const py::object& x, const py::object& y, double l2, bool standardize, int max_iterations,
         const py::object& weights, double tolerance) {
        py::object holder;
        MatrixView v = matrix_view(x, holder, "x");
        std::vector<double> yy = doubles_of(y, "y"), w = to_doubles(weights);
        LogisticFitOptions o;
        o.l2 = l2;
        o.standardize = standardize;
        o.max_iterations = max_iterations;
        o.tolerance = tolerance;
        o.weights = w;
        py::gil_scoped_release nogil;
        return fit_logistic(v, yy, o);
      },
      py::arg("x"), py::arg("y"), py::kw_only(), py::arg("l2") = 1.0, py::arg("standardize") = true,
      py::arg("max_iterations") = 100, py::arg("weights") = py::none(), py::arg("tolerance") = 1e-10,
      R"doc(Fit an L2-regularised logistic regression (Newton's method); returns a Model.
The penalty is l2/2 ‖w‖² on the (standardised) coefficients: scikit-learn's C = 1/l2.)doc");

  py::class_<RfmTable>(m, "RfmTable", "RFM scores per person (columns as NumPy arrays). A value type.")
      .def_property_readonly("person", [](const RfmTable& t) { return to_array(t.person); })
      .def_property_readonly("recency_days", [](const RfmTable& t) { return to_array(t.recency_days); })
      .def_property_readonly("frequency", [](const RfmTable& t) { return to_array(t.frequency); })
      .def_property_readonly("monetary", [](const RfmTable& t) { return to_array(t.monetary); })
      .def_property_readonly("r_score", [](const RfmTable& t) { return to_array(t.r_score); })
      .def_property_readonly("f_score", [](const RfmTable& t) { return to_array(t.f_score); })
      .def_property_readonly("m_score", [](const RfmTable& t) { return to_array(t.m_score); })
      .def_property_readonly("code", [](const RfmTable& t) { return to_array(t.code); })
      .def_property_readonly("group_index", [](const RfmTable& t) { return to_array(t.group); })
      .def_property_readonly("group_names", [](const RfmTable& t) { return t.group_names; })
      .def_property_readonly("group",
                             [](const RfmTable& t) {
                               py::list out;
                               for (int32_t g : t.group) {
                                 if (g < 0) {
                                   out.append(py::none());
                                 } else {
                                   out.append(py::str(t.group_names[static_cast<size_t>(g)]));
                                 }
                               }
                               return out;
                             })
      .def("__len__", &RfmTable::size);

  m.def(
      "rfm",
      [](py::array_t<uint32_t, py::array::c_style | py::array::forcecast> person,
         const TimeColumn& time,
         py::array_t<double, py::array::c_style | py::array::forcecast> amount, TimeArg as_of, int bins,
         bool monetary_mean, const py::object& groups) {
        RfmOptions o;
        o.as_of = as_of;
        o.bins = bins;
        o.monetary_mean = monetary_mean;
        if (!groups.is_none()) {
          for (const py::handle& g : groups) {
            auto t = g.cast<py::tuple>();
            if (t.size() != 7) throw InvalidArgument("rfm: a group is (name, r_min, r_max, f_min, f_max, m_min, m_max)");
            o.groups.push_back({t[0].cast<std::string>(), t[1].cast<int>(), t[2].cast<int>(), t[3].cast<int>(),
                                t[4].cast<int>(), t[5].cast<int>(), t[6].cast<int>()});
          }
        }
        std::span<const uint32_t> p(person.data(), static_cast<size_t>(person.size()));
        std::span<const int64_t> tm = time.span();
        std::span<const double> a(amount.data(), static_cast<size_t>(amount.size()));
        py::gil_scoped_release nogil;
        return rfm(p, tm, a, o);
      },
      py::arg("person"), py::arg("time"), py::arg("amount"), py::kw_only(), py::arg("as_of"), py::arg("bins") = 5,
      py::arg("monetary_mean") = false, py::arg("groups") = py::none(),
      R"doc(RFM from order events (person ordinals, UTC microseconds, amounts) as of a time.
Scores are pandas' qcut(rank(method="first"), bins) + 1, recency inverted.
groups: optional [(name, r_min, r_max, f_min, f_max, m_min, m_max), ...], first match wins.)doc");
  m.def("default_rfm_groups", [] {
    py::list out;
    for (const auto& g : default_rfm_groups())
      out.append(py::make_tuple(g.name, g.r_min, g.r_max, g.f_min, g.f_max, g.m_min, g.m_max));
    return out;
  });

  py::class_<BgNbd>(m, "BgNbd", "The BG/NBD purchase model. Immutable value; share freely.")
      .def_static(
          "fit",
          [](const py::object& f, const py::object& r, const py::object& t, int max_iterations, double tolerance) {
            auto fv = doubles_of(f, "frequency"), rv = doubles_of(r, "recency"), tv = doubles_of(t, "T");
            py::gil_scoped_release nogil;
            return BgNbd::fit(fv, rv, tv, FitOptions{max_iterations, tolerance});
          },
          py::arg("frequency"), py::arg("recency"), py::arg("T"), py::kw_only(),
          py::arg("max_iterations") = FitOptions{}.max_iterations, py::arg("tolerance") = FitOptions{}.tolerance,
          "Maximum-likelihood fit.")
      .def_static("with_params", &BgNbd::with_params, py::arg("r"), py::arg("alpha"), py::arg("a"), py::arg("b"))
      .def_readonly("r", &BgNbd::r)
      .def_readonly("alpha", &BgNbd::alpha)
      .def_readonly("a", &BgNbd::a)
      .def_readonly("b", &BgNbd::b)
      .def_readonly("log_likelihood", &BgNbd::log_likelihood)
      .def_readonly("iterations", &BgNbd::iterations)
      .def("expected_purchases",
           [](const BgNbd& b, double t, const py::object& f, const py::object& r, const py::object& T) {
             return to_array(b.expected_purchases(t, doubles_of(f, "frequency"), doubles_of(r, "recency"),
                                                  doubles_of(T, "T")));
           },
           py::arg("t"), py::arg("frequency"), py::arg("recency"), py::arg("T"))
      .def("probability_alive",
           [](const BgNbd& b, const py::object& f, const py::object& r, const py::object& T) {
             return to_array(b.probability_alive(doubles_of(f, "frequency"), doubles_of(r, "recency"),
                                                 doubles_of(T, "T")));
           },
           py::arg("frequency"), py::arg("recency"), py::arg("T"))
      .def("expected_purchases_new", &BgNbd::expected_purchases_new, py::arg("t"))
      .def("total_log_likelihood",
           [](const BgNbd& b, const py::object& f, const py::object& r, const py::object& T) {
             return b.total_log_likelihood(doubles_of(f, "frequency"), doubles_of(r, "recency"), doubles_of(T, "T"));
           },
           py::arg("frequency"), py::arg("recency"), py::arg("T"))
      .def("__repr__", [](const BgNbd& b) {
        return "<cdpcore.BgNbd r=" + std::to_string(b.r) + " alpha=" + std::to_string(b.alpha) +
               " a=" + std::to_string(b.a) + " b=" + std::to_string(b.b) + ">";
      });

  py::class_<GammaGamma>(m, "GammaGamma", "The Gamma-Gamma spend model. Immutable value; share freely.")
      .def_static(
          "fit",
          [](const py::object& f, const py::object& mv, int max_iterations, double tolerance) {
            auto fv = doubles_of(f, "frequency"), mvv = doubles_of(mv, "monetary");
            py::gil_scoped_release nogil;
            return GammaGamma::fit(fv, mvv, FitOptions{max_iterations, tolerance});
          },
          py::arg("frequency"), py::arg("monetary"), py::kw_only(),
          py::arg("max_iterations") = FitOptions{}.max_iterations, py::arg("tolerance") = FitOptions{}.tolerance)
      .def_static("with_params", &GammaGamma::with_params, py::arg("p"), py::arg("q"), py::arg("v"))
      .def_readonly("p", &GammaGamma::p)
      .def_readonly("q", &GammaGamma::q)
      .def_readonly("v", &GammaGamma::v)
      .def_readonly("log_likelihood", &GammaGamma::log_likelihood)
      .def("expected_spend",
           [](const GammaGamma& g, const py::object& f, const py::object& mv) {
             return to_array(g.expected_spend(doubles_of(f, "frequency"), doubles_of(mv, "monetary")));
           },
           py::arg("frequency"), py::arg("monetary"))
      .def("__repr__", [](const GammaGamma& g) {
        return "<cdpcore.GammaGamma p=" + std::to_string(g.p) + " q=" + std::to_string(g.q) +
               " v=" + std::to_string(g.v) + ">";
      });

  m.def(
      "clv",
      [](const BgNbd& b, const GammaGamma& g, const py::object& f, const py::object& r, const py::object& T,
         const py::object& mv, int months, double discount, double units_per_month) {
        ClvSummary s;
        s.frequency = doubles_of(f, "frequency");
        s.recency = doubles_of(r, "recency");
        s.T = doubles_of(T, "T");
        s.monetary = doubles_of(mv, "monetary");
        ClvOptions o;
        o.months = months;
        o.monthly_discount_rate = discount;
        o.units_per_month = units_per_month;
        std::vector<double> out;
        {
          py::gil_scoped_release nogil;
          out = clv(b, g, s, o);
        }
        return to_array(out);
      },
      py::arg("purchases"), py::arg("spend"), py::arg("frequency"), py::arg("recency"), py::arg("T"),
      py::arg("monetary"), py::kw_only(), py::arg("months") = 12, py::arg("monthly_discount_rate") = 0.01,
      py::arg("units_per_month") = 30.0, "Discounted CLV over `months` months, as lifetimes computes it.");

  m.def(
      "clv_summary",
      [](py::array_t<uint32_t, py::array::c_style | py::array::forcecast> person,
         const TimeColumn& time,
         py::array_t<double, py::array::c_style | py::array::forcecast> amount, TimeArg as_of, int64_t unit) {
        std::vector<uint32_t> persons;
        ClvSummary s = clv_summary(std::span<const uint32_t>(person.data(), static_cast<size_t>(person.size())),
                                   time.span(),
                                   std::span<const double>(amount.data(), static_cast<size_t>(amount.size())), as_of,
                                   unit, &persons);
        py::dict d;
        d["person"] = to_array(persons);
        d["frequency"] = to_array(s.frequency);
        d["recency"] = to_array(s.recency);
        d["T"] = to_array(s.T);
        d["monetary"] = to_array(s.monetary);
        return d;
      },
      py::arg("person"), py::arg("time"), py::arg("amount"), py::kw_only(), py::arg("as_of"),
      py::arg("unit") = kMicrosPerDay,
      "Per-person (frequency, recency, T, monetary) from order events, as lifetimes' summary_data_from_transaction_data.");

  py::class_<KMeans>(m, "KMeans", "k-means++ clustering on standardised features. Immutable after fit.")
      .def_static(
          "fit",
          [](const py::object& x, int k, uint64_t seed, int max_iterations, bool standardize, int n_init,
             double tolerance) {
            py::object holder;
            MatrixView v = matrix_view(x, holder, "x");
            KMeansOptions o;
            o.k = k;
            o.seed = seed;
            o.max_iterations = max_iterations;
            o.tolerance = tolerance;
            o.standardize = standardize;
            o.n_init = n_init;
            py::gil_scoped_release nogil;
            return KMeans::fit(v, o);
          },
          py::arg("x"), py::arg("k"), py::kw_only(), py::arg("seed") = 42, py::arg("max_iterations") = 300,
          py::arg("standardize") = true, py::arg("n_init") = 3, py::arg("tolerance") = KMeansOptions{}.tolerance)
      .def_property_readonly("k", &KMeans::k)
      .def_property_readonly("inertia", &KMeans::inertia)
      .def_property_readonly("iterations", &KMeans::iterations)
      .def_property_readonly("labels", [](const KMeans& k) { return to_array(k.labels()); })
      .def_property_readonly("centers",
                             [](const KMeans& k) {
                               py::array_t<double> a({static_cast<size_t>(k.k()), k.num_features()},
                                                     k.centers_original().data());
                               return a;
                             })
      .def("assign",
           [](const KMeans& k, const py::object& x) {
             py::object holder;
             MatrixView v = matrix_view(x, holder, "x");
             return to_array(k.assign(v));
           },
           py::arg("x"), "Nearest cluster of each row (-1 for a row with NaN).");

  m.def(
      "lookalike",
      [](const py::object& seed, const py::object& persons, const py::object& x, size_t top_n, double min_score,
         double l2) {
        py::object holder;
        MatrixView v = matrix_view(x, holder, "features");
        py::module_ np = py::module_::import("numpy");
        py::array_t<uint32_t, py::array::c_style | py::array::forcecast> p = np.attr("asarray")(persons);
        py::array_t<uint32_t, py::array::c_style | py::array::forcecast> s = np.attr("asarray")(seed);
        Bitmap seed_bm = Bitmap::from_values(std::span<const uint32_t>(s.data(), static_cast<size_t>(s.size())));
        LookalikeOptions o;
        o.top_n = top_n;
        o.min_score = min_score;
        o.l2 = l2;
        std::span<const uint32_t> ps(p.data(), static_cast<size_t>(p.size()));
        LookalikeResult r = [&] {
          py::gil_scoped_release nogil;
          return lookalike(seed_bm, ps, v, o);
        }();
        return py::make_tuple(to_array(r.segment.to_vector()), to_array(r.scores), r.model);
      },
      py::arg("seed"), py::arg("persons"), py::arg("features"), py::kw_only(), py::arg("top_n") = 0,
      py::arg("min_score") = 0.5, py::arg("l2") = 1.0,
      R"doc(Lookalike expansion. seed: person ordinals; persons[i] owns features row i.
Returns (chosen ordinals ascending, scores of every row, the fitted Model).)doc");
}

FeatureSpec feature_spec(const py::object& features) {
  FeatureSpec spec;
  for (const py::handle& f : features) {
    if (py::isinstance<py::str>(f)) {
      spec.attribute(f.cast<std::string>());
      continue;
    }
    auto t = f.cast<py::tuple>();
    if (t.size() != 3) {
      throw InvalidArgument("a feature is a name (an attribute) or (name, \"attribute\" | \"expression\", ref)");
    }
    auto kind = t[1].cast<std::string>();
    if (kind == "attribute" || kind == "trait") {
      spec.attribute(t[0].cast<std::string>(), t[2].cast<std::string>());
    } else if (kind == "expression" || kind == "rule") {
      spec.expression(t[0].cast<std::string>(), t[2].cast<std::string>());
    } else {
      throw InvalidArgument("feature source must be \"attribute\" or \"expression\", got \"" + kind + "\"");
    }
  }
  return spec;
}

void init_features(py::module_& m) {
  m.def(
      "feature_matrix",
      [](const ProfileStore& store, const py::object& features, TimeArg as_of, const py::object& persons) {
        FeatureSpec spec = feature_spec(features);
        std::vector<uint32_t> who;
        if (persons.is_none()) {
          who.resize(store.person_count());
          for (size_t i = 0; i < who.size(); ++i) who[i] = static_cast<uint32_t>(i);
        } else {
          who = persons.cast<std::vector<uint32_t>>();
        }
        std::vector<double> x;
        {
          py::gil_scoped_release nogil;
          BoundFeatures bound = BoundFeatures::bind(spec, store);
          x = bound.matrix(store, who, as_of);
        }
        return shaped(std::move(x), who.size(), spec.size(), false);
      },
      py::arg("store"), py::arg("features"), py::kw_only(), py::arg("as_of"), py::arg("persons") = py::none(),
      R"doc(The feature matrix (persons × features, NaN for missing) of a ProfileStore.
features: names of attributes/traits, or (name, "attribute" | "expression", ref)
tuples; expressions are rule-language expressions evaluated as of `as_of`.)doc");
  m.def(
      "score_to_trait",
      [](const Model& model, ProfileStore& store, const std::string& trait, const py::object& features, TimeArg as_of,
         const py::object& persons, unsigned threads) {
        FeatureSpec spec = features.is_none() ? FeatureSpec::from_model(model) : feature_spec(features);
        std::vector<uint32_t> who;
        if (!persons.is_none()) who = persons.cast<std::vector<uint32_t>>();
        PredictOptions o;
        o.threads = threads;
        std::vector<double> scores;
        {
          py::gil_scoped_release nogil;
          BoundFeatures bound = BoundFeatures::bind(spec, store);
          scores = score_to_trait(model, bound, store, trait, as_of, who, o);
        }
        return to_array(scores);
      },
      py::arg("model"), py::arg("store"), py::arg("trait"), py::kw_only(), py::arg("features") = py::none(),
      py::arg("as_of"), py::arg("persons") = py::none(), py::arg("threads") = 0,
      R"doc(Score persons (everyone by default) and store the scores as the double
attribute `trait`, usable in rules and segments ("churn_risk > 0.7"). One
write batch. features default to the model's feature names as attributes.)doc");
}

CDPCORE_PY_REGISTER(70, "model", init_model);
CDPCORE_PY_REGISTER(71, "model_analytics", init_analytics);
CDPCORE_PY_REGISTER(72, "model_features", init_features);

}  // namespace
}  // namespace cdpcore::python
