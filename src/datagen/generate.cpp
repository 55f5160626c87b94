// The sample-data generator. Every person draws from PRNG streams keyed by
// (seed, stream, person), so a person's data does not depend on how many
// persons follow; the global parts (dictionaries, campaigns, households and
// the numbering of foreign phones, assigned in one pass in person order) come
// from their own streams. Records, events and consent rows are generated
// unsorted, then sorted by (time, generation index) and materialised, with
// raw identifier strings rendered from keyed hashes. Unique values (phone
// numbers, e-mails, member ids) come from bijections of the person index, so
// two persons never share one by accident.
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <string>
#include <tuple>

#include "cdpcore/datagen.hpp"
#include "cdpcore/error.hpp"
#include "datagen/random.hpp"

namespace cdpcore::datagen {

namespace {

using detail::Discrete;
using detail::mix;
using detail::Rng;

constexpr uint32_t kNone = UINT32_MAX;

enum Stream : uint64_t {
  kStreamGlobal = 1,
  kStreamPerson,
  kStreamRecords,
  kStreamEvents,
  kStreamConsent,
  kStreamRenderLink,
  kStreamRenderEvent,
  kStreamRenderConsent,
  kStreamRenderProfile,
  kStreamIds,
};

// ---- static tables -----------------------------------------------------------

constexpr const char* kCities[] = {"上海", "北京", "广州", "深圳", "成都", "杭州", "重庆", "武汉", "西安", "苏州",
                                   "南京", "天津", "长沙", "郑州", "东莞", "青岛", "沈阳", "宁波", "昆明", "合肥",
                                   "佛山", "厦门", "福州", "济南", "大连", "哈尔滨", "无锡", "南宁", "贵阳", "石家庄"};
constexpr int kCityCount = static_cast<int>(std::size(kCities));
constexpr const char* kCityCodes[] = {"SH", "BJ", "GZ", "SZ", "CD", "HZ", "CQ", "WH", "XA", "SU", "NJ", "TJ", "CS", "ZZ", "DG"};
constexpr int kStoresPerCity[] = {8, 7, 5, 5, 4, 4, 3, 3, 2, 2, 2, 2, 1, 1, 1};  // 50 stores
constexpr const char* kMalls[] = {"万达广场", "万象城", "大悦城", "来福士", "银泰城",
                                  "太古里",   "龙湖天街", "吾悦广场", "印象城", "凯德广场"};

struct CategoryInfo {
  const char* name;
  double median_price;
  double popularity;
};
constexpr CategoryInfo kCategories[] = {
    {"apparel", 299, 10}, {"shoes", 459, 6},    {"bags", 899, 3},         {"beauty", 189, 8},
    {"skincare", 329, 8}, {"fragrance", 599, 3}, {"jewelry", 1299, 1.5}, {"watches", 1899, 1},
    {"home", 159, 5},     {"electronics", 999, 4}, {"sports", 259, 5},   {"kids", 139, 4},
};
constexpr int kCategoryCount = static_cast<int>(std::size(kCategories));

constexpr const char* kSurnames[] = {"zhang", "wang", "li",  "liu", "chen", "yang", "huang", "zhao", "wu",  "zhou",
                                     "xu",    "sun",  "ma",  "zhu", "hu",   "guo",  "he",    "lin",  "gao", "luo"};
constexpr const char* kGiven[] = {"wei",  "fang", "na",  "min", "jing", "li",   "qiang", "lei",  "jun", "yang",
                                  "yong", "yan",  "jie", "tao", "ming", "chao", "xiu",   "xia",  "ping", "hui"};
constexpr const char* kMailDomains[] = {"163.com", "126.com", "gmail.com", "outlook.com", "hotmail.com",
                                        "sina.com", "foxmail.com", "icloud.com", "yahoo.com", "139.com"};
constexpr double kMailDomainWeights[] = {20, 8, 10, 8, 4, 4, 6, 6, 2, 3};

// Chinese mobile prefixes (numbering plan ranges libphonenumber accepts).
constexpr const char* kCnPrefixes[] = {"130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
                                       "150", "151", "152", "153", "155", "156", "157", "158", "159", "166",
                                       "176", "177", "178", "180", "181", "182", "183", "184", "185", "186",
                                       "187", "188", "189", "191", "198", "199"};
constexpr uint64_t kCnPrefixCount = std::size(kCnPrefixes);

// Foreign mobile numbers: country index 1.. (0 is China).
struct CountryInfo {
  const char* cc;
  uint64_t space;  // distinct national numbers the builder can produce
};
constexpr CountryInfo kCountries[] = {
    {"86", 100'000'000},   {"1", 56'000'000}, {"44", 90'000'000}, {"81", 270'000'000},
    {"65", 17'000'000},    {"852", 8'000'000}, {"61", 40'000'000},
};
constexpr int kCountryCount = static_cast<int>(std::size(kCountries));
constexpr double kForeignWeights[] = {0, 30, 20, 15, 12, 15, 8};

// Placeholder values: ids 0..kPlaceholderCount-1 of the id table, rendered
// literally. {type, literal, canonical}
struct Placeholder {
  IdType type;
  const char* literal;
  const char* canonical;
};
constexpr Placeholder kPlaceholders[] = {
    {IdType::phone, "13800000000", "+8613800000000"},
    {IdType::phone, "11111111111", ""},
    {IdType::phone, "null", ""},
    {IdType::phone, "000000", ""},
    {IdType::email, "test@test.com", "test@test.com"},
    {IdType::email, "null", ""},
    {IdType::device_id, "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"},
};
constexpr uint32_t kPlaceholderCount = static_cast<uint32_t>(std::size(kPlaceholders));
constexpr uint32_t kPhPhone138 = 0, kPhPhone111 = 1, kPhPhoneNull = 2, kPhPhone000 = 3, kPhEmailTest = 4,
                   kPhEmailNull = 5, kPhZeroIdfa = 6;

constexpr double kLocalHourWeights[24] = {1.2, 0.6, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.5, 3.0, 3.0, 3.2,
                                          3.5, 3.0, 2.8, 2.8, 3.0, 3.2, 3.5, 4.5, 5.5, 6.0, 5.0, 3.0};

// ---- small helpers -----------------------------------------------------------

void append_uint(std::string& s, uint64_t v, int width = 0) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  for (int i = n; i < width; ++i) s.push_back('0');
  while (n) s.push_back(buf[--n]);
}

constexpr char kHexLower[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr char kWxAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

double round2(double x) { return std::round(x * 100.0) / 100.0; }

uint64_t coprime_multiplier(uint64_t key, uint64_t space) {
  // A multiplier coprime to `space` (whose prime factors are among 2, 3, 5,
  // 7 and 17 for the spaces above) makes x -> (a x + b) mod space a bijection.
  uint64_t a = (key % (space - 1)) + 1;
  auto bad = [&](uint64_t m) {
    for (uint64_t p : {2ULL, 3ULL, 5ULL, 7ULL, 17ULL})
      if (space % p == 0 && m % p == 0) return true;
    return false;
  };
  while (bad(a)) a = a % (space - 1) + 1;
  return a;
}

// ---- identifier table --------------------------------------------------------

struct IdTable {
  std::vector<uint8_t> type;
  std::vector<uint8_t> flags;    // LinkFlag bits that belong to the value itself
  std::vector<uint8_t> country;  // phones: index into kCountries
  StringColumn canon;

  uint32_t add(IdType t, std::string_view c, uint8_t f = 0, uint8_t ctry = 0) {
    type.push_back(static_cast<uint8_t>(t));
    flags.push_back(f);
    country.push_back(ctry);
    canon.push_back(c);
    return static_cast<uint32_t>(type.size() - 1);
  }
  size_t size() const { return type.size(); }
};

struct PersonIds {
  uint32_t phone = kNone, old_phone = kNone, email = kNone, unionid = kNone, openid_mp = kNone, openid_oa = kNone,
           crm = kNone, family_device = kNone;
  std::array<uint32_t, 2> dev{kNone, kNone};
  std::array<uint32_t, 3> cookie{kNone, kNone, kNone};
  Timestamp phone_change = 0;  // when old_phone was replaced by phone
  uint8_t n_dev = 0, n_cookie = 0;
  uint8_t fav_category = 0;
  int16_t home_store = -1;

  uint32_t phone_at(Timestamp t) const { return (old_phone != kNone && t < phone_change) ? old_phone : phone; }
};

// Unsorted rows with their generation index; sorted by (time, index).
struct SortKey {
  Timestamp time;
  uint64_t index;
  bool operator<(const SortKey& o) const { return time != o.time ? time < o.time : index < o.index; }
};

class Generator {
 public:
  explicit Generator(const Options& o) : opt_(o) {
    start_ = o.end - days(o.days);
    window_ = o.end - start_;
  }

  SampleData run() {
    SampleData d;
    d.options = opt_;
    make_dictionaries(d.dicts);
    make_placeholders_and_shared();
    make_persons(d);
    make_records(d);
    if (!opt_.identity_only) {
      make_profiles(d);
      if (opt_.with_events) make_events(d);
      if (opt_.with_consent) make_consent(d);
    }
    return d;
  }

 private:
  // ---- global parts ----------------------------------------------------------

  void make_dictionaries(Dictionaries& dict) {
    Rng g(mix(opt_.seed, kStreamGlobal, 1));
    std::vector<double> cw;
    for (int i = 0; i < kCityCount; ++i) {
      dict.cities.push_back(kCities[i]);
      cw.push_back(1.0 / std::pow(i + 1.0, 0.8));
    }
    city_dist_ = Discrete(cw);

    for (int c = 0; c < static_cast<int>(std::size(kCityCodes)); ++c) {
      const uint64_t first_mall = g.below(std::size(kMalls));
      for (int k = 0; k < kStoresPerCity[c]; ++k) {
        std::string name = kCityCodes[c];
        append_uint(name, static_cast<uint64_t>(k + 1), 3);
        name += ' ';
        name += kCities[c];
        name += kMalls[(first_mall + static_cast<uint64_t>(k)) % std::size(kMalls)];
        name += "店";
        dict.stores.push_back(name);
        dict.store_city.push_back(static_cast<int16_t>(c));
      }
    }
    stores_by_city_.assign(kCityCount, {});
    for (size_t s = 0; s < dict.store_city.size(); ++s) stores_by_city_[dict.store_city[s]].push_back(static_cast<int16_t>(s));

    std::vector<double> catw;
    sku_by_cat_.assign(kCategoryCount, {});
    for (int c = 0; c < kCategoryCount; ++c) {
      dict.categories.push_back(kCategories[c].name);
      catw.push_back(kCategories[c].popularity);
      const int n = static_cast<int>(g.between(150, 400));
      std::vector<double> pop;
      for (int k = 0; k < n; ++k) {
        std::string sku = "SKU-";
        append_uint(sku, static_cast<uint64_t>(c + 1), 2);
        append_uint(sku, static_cast<uint64_t>(k + 1), 4);
        sku_by_cat_[c].push_back(static_cast<int32_t>(dict.skus.size()));
        dict.skus.push_back(sku);
        dict.sku_category.push_back(static_cast<int16_t>(c));
        double p = g.lognormal(std::log(kCategories[c].median_price), 0.5);
        p = std::max(9.0, std::round(p));
        dict.sku_price.push_back(p - 0.1);
        pop.push_back(1.0 / std::pow(k + 1.0, 1.1));
      }
      sku_pop_.emplace_back(pop);
    }
    category_dist_ = Discrete(catw);
    sku_price_ = &dict.sku_price;
    sku_category_ = &dict.sku_category;

    // Campaigns: monthly SMS pushes plus the two shopping festivals.
    struct Camp {
      Timestamp t;
      std::string name;
      double click;
    };
    std::vector<Camp> camps;
    for (int k = 0; k < 12; ++k) {
      const int64_t day = day_number(start_ + static_cast<Timestamp>((k + 0.5) * static_cast<double>(window_) / 12.0));
      const Timestamp t = days(day) + hours(2);  // 10:00 in China
      if (t < start_ || t >= opt_.end) continue;
      const CivilDate cd = civil_from_days(day);
      std::string name = "SMS ";
      append_uint(name, static_cast<uint64_t>(cd.year), 4);
      name += '-';
      append_uint(name, cd.month, 2);
      name += '-';
      append_uint(name, cd.day, 2);
      camps.push_back({t, name, g.uniform(0.05, 0.15)});
    }
    const int64_t y0 = to_civil_utc(start_).date.year, y1 = to_civil_utc(opt_.end).date.year;
    for (int64_t y = y0; y <= y1; ++y) {
      for (auto [m, d, label] : {std::tuple<uint32_t, uint32_t, const char*>{6, 18, "618 presale "},
                                 std::tuple<uint32_t, uint32_t, const char*>{11, 11, "Double 11 presale "}}) {
        const Timestamp peak = days(days_from_civil({static_cast<int32_t>(y), m, d}));
        if (peak - days(10) < start_ || peak >= opt_.end) continue;
        peaks_.push_back(peak);
        std::string name = label;
        append_uint(name, static_cast<uint64_t>(y), 4);
        camps.push_back({peak - days(7) + hours(2), name, g.uniform(0.08, 0.15)});
      }
    }
    std::sort(camps.begin(), camps.end(), [](const Camp& a, const Camp& b) { return a.t < b.t; });
    for (auto& c : camps) {
      dict.campaigns.push_back(c.name);
      dict.campaign_time.push_back(c.t);
      campaign_click_.push_back(c.click);
    }

    for (const char* v : {"v3.0", "v3.1", "v4.0"}) dict.policy_versions.push_back(v);
    policy_from_ = {kNoTime, start_ + window_ * 2 / 5, start_ + window_ * 3 / 4};

    // Bijections that make phone numbers, e-mails and member ids unique.
    for (int c = 0; c < kCountryCount; ++c) {
      num_a_[c] = coprime_multiplier(mix(opt_.seed, kStreamIds, 100 + c), kCountries[c].space);
      num_b_[c] = mix(opt_.seed, kStreamIds, 200 + c) % kCountries[c].space;
    }
    mail_a_ = coprime_multiplier(mix(opt_.seed, kStreamIds, 300), 100'000'000);
    mail_b_ = mix(opt_.seed, kStreamIds, 301) % 100'000'000;
    crm_a_ = coprime_multiplier(mix(opt_.seed, kStreamIds, 302), 100'000'000);
    crm_b_ = mix(opt_.seed, kStreamIds, 303) % 100'000'000;
    mail_domain_dist_ = Discrete(kMailDomainWeights);
    foreign_dist_ = Discrete(kForeignWeights);
    hour_dist_ = Discrete(kLocalHourWeights);
  }

  void make_placeholders_and_shared() {
    for (const auto& p : kPlaceholders) ids_.add(p.type, p.canonical, kPlaceholder);
    Rng g(mix(opt_.seed, kStreamGlobal, 2));
    store_demo_device_.clear();
    for (size_t s = 0; s < stores_by_city_total(); ++s) {
      store_demo_device_.push_back(ids_.add(IdType::device_id, uuid(g, false), kSharedDevice));
    }
  }
  size_t stores_by_city_total() const {
    size_t n = 0;
    for (auto& v : stores_by_city_) n += v.size();
    return n;
  }

  // ---- identifier values ---------------------------------------------------------

  static std::string uuid(Rng& r, bool upper) {
    const uint64_t a = r.next(), b = r.next();
    uint8_t bytes[16];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(a >> (8 * i));
    for (int i = 0; i < 8; ++i) bytes[8 + i] = static_cast<uint8_t>(b >> (8 * i));
    bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0F) | 0x40);  // version 4
    bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
    const char* hex = upper ? kHexUpper : kHexLower;
    std::string s;
    s.reserve(36);
    for (int i = 0; i < 16; ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
      s.push_back(hex[bytes[i] >> 4]);
      s.push_back(hex[bytes[i] & 15]);
    }
    return s;
  }

  static std::string wx_id(Rng& r, std::string_view prefix) {
    std::string s(prefix);
    while (s.size() < 28) s.push_back(kWxAlphabet[r.below(64)]);
    return s;
  }

  static std::string cookie_value(Rng& r) {
    std::string s;
    s.reserve(32);
    for (int i = 0; i < 2; ++i) {
      uint64_t v = r.next();
      for (int k = 0; k < 16; ++k, v >>= 4) s.push_back(kHexLower[v & 15]);
    }
    return s;
  }

  // E.164 of the `n`-th number of country c (unique per (c, n) while n < space).
  std::string phone_e164(int c, uint64_t n) const {
    const uint64_t space = kCountries[c].space;
    uint64_t v = (num_a_[c] * (n % space) + num_b_[c]) % space;
    std::string s = "+";
    s += kCountries[c].cc;
    switch (c) {
      case 0: {  // China: 3-digit prefix + 8 digits; the number itself is unique
        std::string_view prefix = kCnPrefixes[mix(opt_.seed, kStreamIds, n) % kCnPrefixCount];
        if (prefix == "138" && v == 0) prefix = "139";  // never the placeholder 13800000000
        s += prefix;
        append_uint(s, v, 8);
        break;
      }
      case 1: {  // USA: area code, exchange [2-9 except 5][20-99], line
        static constexpr const char* areas[] = {"212", "310", "415", "617", "646", "718", "917", "206", "312", "702"};
        static constexpr char first[] = {'2', '3', '4', '6', '7', '8', '9'};
        s += areas[v % 10];
        v /= 10;
        s.push_back(first[v % 7]);
        v /= 7;
        append_uint(s, 20 + v % 80, 2);
        v /= 80;
        append_uint(s, v, 4);
        break;
      }
      case 2: {  // UK mobile: 7xxx + 6 digits
        static constexpr const char* pre[] = {"731", "733", "740", "742", "771", "775", "780", "790", "792"};
        s += pre[v % 9];
        append_uint(s, v / 9, 7);
        break;
      }
      case 3: {  // Japan mobile: 70/80/90 + [1-9] + 7 digits
        static constexpr const char* pre[] = {"90", "80", "70"};
        s += pre[v % 3];
        v /= 3;
        s.push_back(static_cast<char>('1' + v % 9));
        append_uint(s, v / 9, 7);
        break;
      }
      case 4: {  // Singapore: 8[1-8] / 9[0-8] + 6 digits
        const uint64_t p = v % 17;
        s.push_back(p < 8 ? '8' : '9');
        s.push_back(static_cast<char>(p < 8 ? '1' + p : '0' + (p - 8)));
        append_uint(s, v / 17, 6);
        break;
      }
      case 5: {  // Hong Kong: 6[13459] / 9[467] + 6 digits
        static constexpr const char* pre[] = {"61", "63", "64", "65", "69", "94", "96", "97"};
        s += pre[v % 8];
        append_uint(s, v / 8, 6);
        break;
      }
      default: {  // Australia: 4[0-3] + 7 digits
        s.push_back('4');
        s.push_back(static_cast<char>('0' + v % 4));
        append_uint(s, v / 4, 7);
        break;
      }
    }
    return s;
  }

  std::string email_value(Rng& r, uint32_t person) const {
    const uint64_t u = (mail_a_ * person + mail_b_) % 100'000'000;
    std::string s;
    const uint64_t style = r.below(10);
    if (style < 3) {  // QQ number
      append_uint(s, 100'000'000 + u);
      s += "@qq.com";
      return s;
    }
    const char* sn = kSurnames[r.below(std::size(kSurnames))];
    const char* gn = kGiven[r.below(std::size(kGiven))];
    if (style < 6) {
      s += gn;
      s += '.';
      s += sn;
    } else if (style < 8) {
      s += sn;
      s += gn;
    } else {
      s += sn;
      s += '_';
      s += gn;
    }
    append_uint(s, u);
    s += '@';
    s += kMailDomains[mail_domain_dist_(r)];
    return s;
  }

  std::string crm_value(uint32_t person) const {
    const uint64_t u = (crm_a_ * person + crm_b_) % 100'000'000;
    std::string s = "M";
    append_uint(s, u, 8);
    return s;
  }

  // ---- persons -------------------------------------------------------------------

  void make_persons(SampleData& d) {
    const uint32_t n = opt_.persons;
    Persons& P = d.persons;
    P.is_anonymous.resize(n);
    P.member_level.resize(n);
    P.signup_at.resize(n);
    P.birthday.resize(n);
    P.city.resize(n);
    P.gender.resize(n);
    P.household.resize(n);
    pids_.assign(n, PersonIds{});
    ids_.type.reserve(n * 5);
    ids_.canon.reserve(n * 5, n * 5 * 22);

    const double noise = opt_.noise;
    const CivilDate end_date = to_civil_utc(opt_.end).date;
    Rng hh(mix(opt_.seed, kStreamGlobal, 3));
    uint32_t household_left = 0, household_id = 0, family_device = kNone;
    uint64_t foreign_counter[kCountryCount] = {};

    for (uint32_t p = 0; p < n; ++p) {
      Rng r(mix(opt_.seed, kStreamPerson, p));
      PersonIds& pi = pids_[p];
      const bool anon = r.chance(opt_.anonymous_ratio);
      P.is_anonymous[p] = anon;
      P.household[p] = p;
      pi.fav_category = static_cast<uint8_t>(category_dist_(r));

      if (anon) {
        P.member_level[p] = static_cast<uint8_t>(MemberLevel::none);
        P.signup_at[p] = kNoTime;
        P.birthday[p] = kNoDate;
        P.city[p] = -1;
        P.gender[p] = static_cast<uint8_t>(Gender::unknown);
        P.crm_id.push_back("");
        P.phone.push_back("");
        P.email.push_back("");
        P.unionid.push_back("");
        // Cookies and device ids only; a few mini-program openids without unionid.
        pi.cookie[pi.n_cookie++] = ids_.add(IdType::cookie, cookie_value(r));
        if (r.chance(0.3)) pi.cookie[pi.n_cookie++] = ids_.add(IdType::cookie, cookie_value(r));
        if (r.chance(0.3)) pi.dev[pi.n_dev++] = ids_.add(IdType::device_id, uuid(r, r.chance(0.45)));
        if (r.chance(0.2)) pi.openid_mp = ids_.add(IdType::openid_mp, wx_id(r, "oMp"));
        continue;
      }

      // Profile attributes.
      const bool member = r.chance(0.4);
      MemberLevel level = MemberLevel::none;
      if (member) {
        const double u = r.uniform();
        level = u < 0.6 ? MemberLevel::silver : u < 0.9 ? MemberLevel::gold : MemberLevel::platinum;
      }
      P.member_level[p] = static_cast<uint8_t>(level);
      Timestamp signup = kNoTime;
      if (member) {
        const double back = std::min(r.exponential(600.0), 5.0 * 365.0);
        signup = opt_.end - days(static_cast<int64_t>(back)) - hours(1) -
                 static_cast<Timestamp>(r.below(86400)) * kMicrosPerSecond;
      }
      P.signup_at[p] = signup;
      if (r.chance(0.12)) {
        P.birthday[p] = kNoDate;
      } else {
        const int age = static_cast<int>(std::clamp(std::round(33 + 10 * r.normal()), 16.0, 80.0));
        const CivilDate b{end_date.year - age, static_cast<uint32_t>(r.between(1, 12)), static_cast<uint32_t>(r.between(1, 28))};
        P.birthday[p] = static_cast<int32_t>(days_from_civil(b));
      }
      const int city = r.chance(0.05) ? -1 : static_cast<int>(city_dist_(r));
      P.city[p] = static_cast<int16_t>(city);
      const double gu = r.uniform();
      P.gender[p] = static_cast<uint8_t>(gu < 0.56 ? Gender::female : gu < 0.96 ? Gender::male : Gender::unknown);
      if (city >= 0 && !stores_by_city_[city].empty()) {
        const auto& st = stores_by_city_[city];
        pi.home_store = st[r.below(st.size())];
      } else {
        pi.home_store = static_cast<int16_t>(r.below(stores_by_city_total() / 2));
      }

      // Identifiers.
      const bool has_phone = r.chance(0.93);
      const bool foreign = has_phone && r.chance(0.06);
      const int country = foreign ? static_cast<int>(foreign_dist_(r)) : 0;
      const bool has_email = r.chance(0.5);
      const bool wechat = r.chance(0.7);
      const bool mp = wechat && r.chance(0.8);
      const bool oa = wechat && r.chance(0.45);
      const int n_dev = r.chance(0.35) ? (r.chance(0.25) ? 2 : 1) : 0;
      const int n_cookie = r.chance(0.45) ? static_cast<int>(r.between(1, 3)) : 0;
      bool changes_phone = has_phone && r.chance(0.04 * noise);

      std::string phone_now, phone_before;
      auto next_phone = [&](uint32_t k) {
        return country == 0 ? phone_e164(0, 2ULL * p + k) : phone_e164(country, 2 * foreign_counter[country]++ + k);
      };
      if (has_phone) {
        phone_now = next_phone(0);
        if (changes_phone) phone_before = country == 0 ? phone_e164(0, 2ULL * p + 1) : phone_e164(country, 2 * foreign_counter[country]++ + 1);
      }
      std::string email = has_email ? email_value(r, p) : std::string();
      if (member) pi.crm = ids_.add(IdType::crm_id, crm_value(p));
      if (has_email) pi.email = ids_.add(IdType::email, email);
      if (wechat) pi.unionid = ids_.add(IdType::unionid, wx_id(r, "o6_bm"));
      if (mp) pi.openid_mp = ids_.add(IdType::openid_mp, wx_id(r, "oMp"));
      if (oa) pi.openid_oa = ids_.add(IdType::openid_oa, wx_id(r, "oOa"));
      for (int k = 0; k < n_dev; ++k) pi.dev[pi.n_dev++] = ids_.add(IdType::device_id, uuid(r, r.chance(0.45)));
      for (int k = 0; k < n_cookie; ++k) pi.cookie[pi.n_cookie++] = ids_.add(IdType::cookie, cookie_value(r));
      // A person whose only identifier is a phone keeps it (nothing to carry
      // the change across).
      const bool has_other = member || has_email || wechat || n_dev || n_cookie;
      if (changes_phone && !has_other) changes_phone = false;
      if (has_phone || !has_other) {
        if (!has_phone) phone_now = next_phone(0);  // everyone known has some identifier
        const uint8_t f = country ? kInternational : 0;
        pi.phone = ids_.add(IdType::phone, phone_now, f, static_cast<uint8_t>(country));
        if (changes_phone) {
          pi.old_phone = ids_.add(IdType::phone, phone_before, static_cast<uint8_t>(f | kOldPhone), static_cast<uint8_t>(country));
          pi.phone_change = start_ + days(30) + static_cast<Timestamp>(r.below(static_cast<uint64_t>(std::max<Timestamp>(window_ - days(60), 1))));
        }
      }

      // Households sharing a family tablet, formed from consecutive known persons.
      if (household_left == 0 && hh.chance(0.012 * noise)) {
        household_left = static_cast<uint32_t>(hh.between(2, 4));
        household_id = p;
        family_device = ids_.add(IdType::device_id, uuid(hh, hh.chance(0.5)), kSharedDevice);
      }
      if (household_left > 0) {
        P.household[p] = household_id;
        pi.family_device = family_device;
        --household_left;
      }

      P.crm_id.push_back(member ? ids_.canon[pi.crm] : std::string_view());
      P.phone.push_back(pi.phone != kNone ? ids_.canon[pi.phone] : std::string_view());
      P.email.push_back(email);
      P.unionid.push_back(wechat ? ids_.canon[pi.unionid] : std::string_view());
    }
  }

  // ---- raw rendering -----------------------------------------------------------------

  // Appends the raw form of identifier `id` (formatting noise drawn from `h`).
  // `clean`: a system-generated value (SMS gateway, app) without noise.
  void render(uint32_t id, uint64_t h, bool clean, std::string& out) const {
    if (id < kPlaceholderCount) {
      out += kPlaceholders[id].literal;
      return;
    }
    const std::string_view c = ids_.canon[id];
    switch (static_cast<IdType>(ids_.type[id])) {
      case IdType::phone:
        render_phone(c, ids_.country[id], h, clean, out);
        return;
      case IdType::email:
        render_email(c, h, clean, out);
        return;
      default:
        out += c;
    }
  }

  static void render_phone(std::string_view e164, uint8_t country, uint64_t h, bool clean, std::string& out) {
    const size_t cc_len = std::strlen(kCountries[country].cc);
    const std::string_view cc = e164.substr(1, cc_len);
    const std::string_view nsn = e164.substr(1 + cc_len);
    const uint64_t r = h % 1000;
    if (country == 0) {
      if (clean) {
        out += nsn;
        return;
      }
      auto grouped = [&](char sep) {
        out += nsn.substr(0, 3);
        out.push_back(sep);
        out += nsn.substr(3, 4);
        out.push_back(sep);
        out += nsn.substr(7);
      };
      // Spellings seen in CRM exports, by frequency (per mille).
      struct Style {
        uint16_t upto;
        const char* prefix;
        char sep;  // 0: digits unbroken
      };
      static constexpr Style kStyles[] = {
          {450, "", 0},        {540, "", ' '},      {610, "", '-'},         {670, "+86 ", '-'},
          {730, "+86 ", 0},    {820, "+86", 0},     {880, "86", 0},         {920, "(+86)", 0},
          {940, "0086 ", 0},   {955, "+86 ", ' '},  {962, "86-", 0},
      };
      for (const Style& st : kStyles) {
        if (r >= st.upto) continue;
        out += st.prefix;
        if (st.sep) grouped(st.sep);
        else out += nsn;
        return;
      }
      if (r < 985) {  // surrounding spaces
        const uint64_t sp = (h >> 10) % 3;
        if (sp != 1) out.push_back(' ');
        out += nsn;
        if (sp != 0) out += "  ";
        return;
      }
      if (r < 992) {
        out += "+86-";
        out += nsn;
        return;
      }
      for (char ch : nsn) {  // full-width digits, as typed with a Chinese IME
        out += "\xEF\xBC";
        out.push_back(static_cast<char>(0x90 + (ch - '0')));
      }
      return;
    }
    if (clean) {
      out += e164;
      return;
    }
    // The national number in groups, as each country writes it.
    auto grouped_national = [&]() {
      auto groups = [&](std::initializer_list<size_t> sizes, char sep) {
        size_t at = 0;
        for (size_t n : sizes) {
          out += nsn.substr(at, n);
          out.push_back(sep);
          at += n;
        }
        out += nsn.substr(at);
      };
      switch (country) {
        case 1: groups({3, 3}, '-'); break;   // 415-555-0123
        case 2: groups({4}, ' '); break;      // 7911 123456
        case 3: groups({2, 4}, '-'); break;   // 90-1234-5678
        case 6: groups({3, 3}, ' '); break;   // 412 345 678
        default: groups({4}, ' ');            // 8123 4567
      }
    };
    out += r < 880 && r >= 800 ? "00" : "+";
    out += cc;
    if (r < 350) {
      out.push_back(' ');
      grouped_national();
    } else if (r < 650) {
      out += nsn;
    } else if (r < 880) {
      out.push_back(' ');
      out += nsn;
    } else {
      out.push_back(' ');
      if (country == 1) {  // +1 (415) 555-0123
        out.push_back('(');
        out += nsn.substr(0, 3);
        out += ") ";
        out += nsn.substr(3, 3);
        out.push_back('-');
        out += nsn.substr(6);
      } else {
        if (country == 2 || country == 3) out += "(0)";  // the trunk prefix, written in brackets
        grouped_national();
      }
    }
  }

  static void render_email(std::string_view c, uint64_t h, bool clean, std::string& out) {
    if (clean) {
      out += c;
      return;
    }
    const uint64_t r = h % 100;
    const uint64_t ws = (h >> 8) % 100;
    if (ws < 3) out.push_back(' ');
    else if (ws < 4) out.push_back('\t');
    const size_t at = c.find('@');
    const size_t base = out.size();
    out += c;
    if (r < 68) {
    } else if (r < 82) {
      out[base] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[base])));
    } else if (r < 87) {
      for (size_t i = base; i < out.size(); ++i) out[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[i])));
    } else {
      for (size_t i = base + at + 1; i < out.size(); ++i)
        out[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[i])));
    }
    if (ws >= 2 && ws < 6) out.push_back(' ');
  }

  // Sizes for reserving string columns (no regrowth of large buffers).
  size_t canonical_bytes(const std::vector<uint32_t>& ids) const {
    size_t total = 0;
    for (uint32_t id : ids) {
      total += static_cast<size_t>(ids_.canon.offsets[id + 1] - ids_.canon.offsets[id]);
      if (id < kPlaceholderCount) total += 40;
    }
    return total;
  }
  // Noise adds a few bytes to a value on average (a prefix, separators,
  // spaces, rarely full-width digits).
  static size_t raw_bytes_bound(size_t canonical, size_t n) { return canonical + n * 3 + 4096; }

  void push_rendered(StringColumn& col, uint32_t id, uint64_t h, bool clean) const {
    render(id, h, clean, col.bytes);
    col.offsets.push_back(static_cast<int64_t>(col.bytes.size()));
  }

  // ---- identity records --------------------------------------------------------------

  struct RecordBuf {
    std::vector<Timestamp> time;
    std::vector<uint32_t> person;
    std::vector<uint8_t> source;
    std::vector<uint32_t> key;       // render key (a duplicate repeats its original's)
    std::vector<uint8_t> duplicate;  // 1 for a repeated CRM import row
    std::vector<uint64_t> begin;     // into ids/n
    std::vector<uint32_t> ids;
  };

  Timestamp random_time(Rng& r, Timestamp lo, Timestamp hi) const {
    if (hi <= lo) return lo;
    // Whole seconds: records and events carry second precision.
    const int64_t span = (hi - lo) / kMicrosPerSecond;
    return lo + static_cast<Timestamp>(r.below(static_cast<uint64_t>(std::max<int64_t>(span, 1)))) * kMicrosPerSecond;
  }

  static RecordSource source_for(IdType a, IdType b) {
    auto has = [&](IdType t) { return a == t || b == t; };
    if (has(IdType::openid_oa)) return RecordSource::oa_follow;
    if (has(IdType::openid_mp)) return RecordSource::mp_login;
    if (has(IdType::device_id)) return RecordSource::app_login;
    if (has(IdType::cookie)) return RecordSource::web_visit;
    if (has(IdType::crm_id)) return RecordSource::crm_import;
    if (has(IdType::unionid)) return RecordSource::mp_login;
    return RecordSource::order;
  }

  void make_records(SampleData& d) {
    RecordBuf buf;
    const size_t expect = static_cast<size_t>(opt_.persons * (opt_.records_per_person + 2.0));
    buf.time.reserve(expect);
    buf.person.reserve(expect);
    buf.source.reserve(expect);
    buf.key.reserve(expect);
    buf.duplicate.reserve(expect);
    buf.begin.reserve(expect + 1);
    buf.ids.reserve(expect * 5 / 2);
    for (uint32_t p = 0; p < opt_.persons; ++p) {
      if (d.persons.is_anonymous[p]) anonymous_records(p, buf);
      else known_records(p, buf);
    }
    buf.begin.push_back(buf.ids.size());
    materialise_records(d, buf);
  }

  // A record's columns; its identifiers follow in b.ids.
  static void start_record(RecordBuf& b, Timestamp t, uint32_t person, RecordSource src, uint32_t key, bool duplicate) {
    b.time.push_back(t);
    b.person.push_back(person);
    b.source.push_back(static_cast<uint8_t>(src));
    b.key.push_back(key);
    b.duplicate.push_back(duplicate);
    b.begin.push_back(b.ids.size());
  }
  static void add_record(RecordBuf& b, Timestamp t, uint32_t person, RecordSource src, std::initializer_list<uint32_t> ids,
                         uint32_t key, bool duplicate = false) {
    start_record(b, t, person, src, key, duplicate);
    for (uint32_t id : ids)
      if (id != kNone) b.ids.push_back(id);
  }
  static void add_record_v(RecordBuf& b, Timestamp t, uint32_t person, RecordSource src, const uint32_t* ids, int n,
                           uint32_t key, bool duplicate = false) {
    start_record(b, t, person, src, key, duplicate);
    for (int i = 0; i < n; ++i) b.ids.push_back(ids[i]);
  }

  void anonymous_records(uint32_t p, RecordBuf& b) {
    Rng r(mix(opt_.seed, kStreamRecords, p));
    const PersonIds& pi = pids_[p];
    std::array<uint32_t, 4> list{};
    int n = 0;
    for (int i = 0; i < pi.n_cookie; ++i) list[n++] = pi.cookie[i];
    if (pi.n_dev) list[n++] = pi.dev[0];
    if (pi.openid_mp != kNone) list[n++] = pi.openid_mp;
    uint32_t key = 0;
    auto src1 = [&](uint32_t id) { return source_for(static_cast<IdType>(ids_.type[id]), static_cast<IdType>(ids_.type[id])); };
    // Pairs seen together (a web visit that opens the app, a shared login
    // page) make the visitor's identifiers one cluster.
    for (int i = 0; i + 1 < n; ++i) {
      const uint32_t a = list[i], c = list[i + 1];
      add_record(b, random_time(r, start_, opt_.end), p,
                 source_for(static_cast<IdType>(ids_.type[a]), static_cast<IdType>(ids_.type[c])), {a, c}, key++);
    }
    const int extra = static_cast<int>(r.round_random(std::max(0.0, opt_.records_per_person * 0.2)));
    for (int i = 0; i < extra || (n == 1 && i == 0); ++i) {
      const uint32_t a = list[r.below(static_cast<uint64_t>(n))];
      add_record(b, random_time(r, start_, opt_.end), p, src1(a), {a}, key++);
    }
  }

  void known_records(uint32_t p, RecordBuf& b) {
    Rng r(mix(opt_.seed, kStreamRecords, p));
    const PersonIds& pi = pids_[p];
    const double noise = opt_.noise;
    const bool changer = pi.old_phone != kNone;
    uint32_t key = 0;

    auto type_of = [&](uint32_t id) { return static_cast<IdType>(ids_.type[id]); };

    // The person's own identifiers, with a small union-find over them: the
    // first records are the natural ones (a CRM row, a mini-program login, an
    // app login …); any identifier they leave unconnected is then linked to a
    // hub, so that linking the records recovers the whole person.
    std::array<uint32_t, 12> own{};
    std::array<int, 12> parent{};
    int n_own = 0;
    for (uint32_t x : {pi.phone, pi.old_phone, pi.crm, pi.email, pi.unionid, pi.openid_mp, pi.openid_oa, pi.dev[0],
                       pi.dev[1], pi.cookie[0], pi.cookie[1], pi.cookie[2]})
      if (x != kNone) {
        own[n_own] = x;
        parent[n_own] = n_own;
        ++n_own;
      }
    auto find = [&](int i) {
      while (parent[i] != i) i = parent[i] = parent[parent[i]];
      return i;
    };
    auto local = [&](uint32_t id) {
      for (int i = 0; i < n_own; ++i)
        if (own[i] == id) return i;
      return -1;
    };
    auto record = [&](Timestamp t, RecordSource src, std::initializer_list<uint32_t> ids) {
      add_record(b, t, p, src, ids, key++);
      int first = -1;
      for (uint32_t id : ids) {
        const int li = id == kNone ? -1 : local(id);
        if (li < 0) continue;
        if (first < 0) first = li;
        else parent[find(li)] = find(first);
      }
    };
    auto pick = [&](std::initializer_list<uint32_t> prefs) {
      for (uint32_t x : prefs)
        if (x != kNone) return x;
      return kNone;
    };
    auto any_time = [&]() { return random_time(r, start_, opt_.end); };

    if (pi.crm != kNone) {
      const Timestamp t = any_time();
      record(t, RecordSource::crm_import,
             {pi.crm, pi.phone_at(t), r.chance(0.8) ? pi.email : kNone, r.chance(0.4) ? pi.unionid : kNone});
    }
    if (pi.openid_mp != kNone) {
      const Timestamp t = any_time();
      record(t, RecordSource::mp_login,
             {pi.openid_mp, pi.unionid, r.chance(0.6) ? pi.phone_at(t) : kNone, r.chance(0.3) ? pi.crm : kNone});
    }
    if (pi.openid_oa != kNone && pi.unionid != kNone) record(any_time(), RecordSource::oa_follow, {pi.openid_oa, pi.unionid});
    for (int i = 0; i < pi.n_dev; ++i) {
      const Timestamp t = any_time();
      const double u = r.uniform();
      const uint32_t with = u < 0.6 ? pick({pi.phone_at(t), pi.email, pi.crm, pi.unionid})
                            : u < 0.8 ? pick({pi.unionid, pi.phone_at(t), pi.email, pi.crm})
                                      : pick({pi.email, pi.crm, pi.phone_at(t), pi.unionid});
      record(t, RecordSource::app_login, {pi.dev[i], with, with != pi.unionid && r.chance(0.4) ? pi.unionid : kNone});
    }
    for (int i = 0; i < pi.n_cookie; ++i) {
      if (!r.chance(0.7)) continue;
      const Timestamp t = any_time();
      const uint32_t with = r.chance(0.5) ? pick({pi.email, pi.phone_at(t), pi.crm}) : pick({pi.phone_at(t), pi.email, pi.crm});
      const uint32_t also = with == pi.email ? pi.phone_at(t) : pi.email;
      record(t, RecordSource::web_visit, {pi.cookie[i], with, r.chance(0.3) ? also : kNone});
    }
    if (pi.email != kNone && pi.crm == kNone && pi.phone != kNone) {
      const Timestamp t = any_time();
      record(t, RecordSource::order, {pi.phone_at(t), pi.email, r.chance(0.5) ? pick({pi.openid_mp, pi.dev[0]}) : kNone});
    }

    // The hub: a stable identifier (not a phone that changes).
    const uint32_t hub = pick({changer ? kNone : pi.phone, pi.crm, pi.email, pi.unionid, pi.dev[0], pi.cookie[0],
                               pi.openid_mp, pi.openid_oa, pi.phone});
    const int hub_local = local(hub);
    for (int i = 0; i < n_own; ++i) {
      const uint32_t x = own[i];
      if (find(i) == find(hub_local)) continue;
      Timestamp t;
      if (x == pi.old_phone) t = random_time(r, start_, pi.phone_change);
      else if (changer && x == pi.phone) t = random_time(r, pi.phone_change, opt_.end);
      else t = any_time();
      record(t, source_for(type_of(x), type_of(hub)), {x, hub});
    }
    const int linked = static_cast<int>(key);

    // Further records from the person's ordinary activity.
    const bool member = pi.crm != kNone;
    const bool phone = pi.phone != kNone;
    const double w[kRecordSourceCount] = {
        (pi.n_dev || pi.family_device != kNone) ? 3.0 : 0.0,  // app_login
        pi.openid_mp != kNone ? 3.0 : 0.0,                    // mp_login
        pi.openid_oa != kNone ? 1.0 : 0.0,                    // oa_follow
        (phone || member) ? 3.0 : 0.0,                        // order
        member ? 1.0 : 0.0,                                   // crm_import
        pi.n_cookie ? 3.0 : 0.0,                              // web_visit
        (phone || member) ? 2.0 : 0.0,                        // store_pos
    };
    double wsum = 0;
    for (double x : w) wsum += x;
    if (wsum == 0) {  // e.g. only an e-mail address: seen once, alone
      if (linked == 0) record(any_time(), source_for(type_of(hub), type_of(hub)), {hub});
      return;
    }
    const double mean_extra = std::max(0.3, opt_.records_per_person - linked);
    int extra = static_cast<int>(r.round_random(r.exponential(mean_extra)));
    if (linked == 0 && extra == 0) extra = 1;  // every person is seen at least once
    for (int e = 0; e < extra; ++e) {
      const auto src = static_cast<RecordSource>(r.weighted(w));
      const Timestamp t = random_time(r, start_, opt_.end);
      const uint32_t ph = phone ? pi.phone_at(t) : kNone;
      uint32_t ids[4];
      int n = 0;
      auto put = [&](uint32_t id) {
        if (id != kNone && n < 4) ids[n++] = id;
      };
      bool duplicate = false;
      switch (src) {
        case RecordSource::app_login: {
          uint32_t dev = pi.n_dev ? pi.dev[r.below(pi.n_dev)] : pi.family_device;
          if (pi.family_device != kNone && r.chance(0.4)) dev = pi.family_device;
          if (r.chance(0.01 * noise)) dev = kPhZeroIdfa;  // limited ad tracking zeroes the IDFA
          put(dev);
          const double u = r.uniform();
          put(u < 0.6 && ph != kNone ? ph : u < 0.8 && pi.email != kNone ? pi.email : u < 0.9 ? pi.unionid : pi.crm);
          if (n < 2) put(ph != kNone ? ph : pi.crm != kNone ? pi.crm : pi.email);
          if (r.chance(0.3) && ids[n - 1] != pi.unionid) put(pi.unionid);  // WeChat login inside the app
          break;
        }
        case RecordSource::mp_login:
          put(pi.openid_mp);
          if (r.chance(0.95)) put(pi.unionid);
          if (r.chance(0.5)) put(ph);
          if (r.chance(0.2)) put(pi.crm);  // member card in the mini-program
          break;
        case RecordSource::oa_follow:
          put(pi.openid_oa);
          put(pi.unionid);
          break;
        case RecordSource::order:
          put(ph != kNone ? ph : pi.crm);
          if (ph != kNone && r.chance(0.7)) put(pi.crm);
          if (r.chance(0.25)) put(pi.email);
          if (r.chance(0.6)) put(pi.openid_mp != kNone ? pi.openid_mp : pi.dev[0]);  // placed in the mini-program or app
          break;
        case RecordSource::crm_import:
          put(pi.crm);
          if (r.chance(0.9)) put(ph);
          if (r.chance(0.7)) put(pi.email);
          if (r.chance(0.4)) put(pi.unionid);
          duplicate = r.chance(0.03 * noise);
          break;
        case RecordSource::web_visit: {
          put(pi.cookie[r.below(pi.n_cookie)]);
          const double u = r.uniform();
          put(u < 0.4 ? pi.email : u < 0.7 ? ph : u < 0.8 ? pi.crm : kNone);
          if (n == 2 && r.chance(0.3)) put(ids[1] == pi.email ? ph : pi.email);
          break;
        }
        case RecordSource::store_pos:
          put(ph != kNone ? ph : pi.crm);
          if (ph != kNone && r.chance(0.8)) put(pi.crm);
          if (r.chance(0.4)) put(pi.unionid);  // paid with WeChat Pay
          if (r.chance(0.02 * noise)) put(store_demo_device_[static_cast<size_t>(pi.home_store)]);
          break;
      }
      // Placeholders typed by cashiers and forms, next to real identifiers.
      if (n >= 2) {
        for (int i = 0; i < n; ++i) {
          const IdType t2 = type_of(ids[i]);
          if (t2 == IdType::phone && ids[i] >= kPlaceholderCount && r.chance(0.02 * noise)) {
            const double u = r.uniform();
            ids[i] = u < 0.6 ? kPhPhone138 : u < 0.8 ? kPhPhone111 : u < 0.9 ? kPhPhoneNull : kPhPhone000;
          } else if (t2 == IdType::email && ids[i] >= kPlaceholderCount && r.chance(0.02 * noise)) {
            ids[i] = r.chance(0.7) ? kPhEmailTest : kPhEmailNull;
          }
        }
      }
      if (n == 0) continue;
      add_record_v(b, t, p, src, ids, n, key);
      if (duplicate) add_record_v(b, t, p, src, ids, n, key, true);
      ++key;
    }
  }

  void materialise_records(SampleData& d, RecordBuf& b) {
    const size_t nr = b.time.size();
    std::vector<SortKey> order(nr);
    for (size_t i = 0; i < nr; ++i) order[i] = {b.time[i], i};
    std::sort(order.begin(), order.end());

    IdentityRecords& R = d.records;
    IdentityLinks& L = d.links;
    const size_t nl = b.ids.size();
    R.time.resize(nr);
    R.source.resize(nr);
    R.true_person.resize(nr);
    R.link_offsets.resize(nr + 1);
    L.record.resize(nl);
    L.type.resize(nl);
    L.flags.resize(nl);
    const size_t canon_bytes = canonical_bytes(b.ids);
    L.value.reserve(nl, raw_bytes_bound(canon_bytes, nl));
    if (opt_.with_canonical) L.canonical.reserve(nl, canon_bytes);
    size_t out = 0;
    for (size_t i = 0; i < nr; ++i) {
      const size_t j = order[i].index;
      R.time[i] = b.time[j];
      R.source[i] = b.source[j];
      R.true_person[i] = b.person[j];
      R.link_offsets[i] = out;
      for (uint64_t k = b.begin[j]; k < b.begin[j + 1]; ++k, ++out) {
        const uint32_t id = b.ids[k];
        L.record[out] = static_cast<uint32_t>(i);
        L.type[out] = ids_.type[id];
        L.flags[out] = static_cast<uint8_t>(ids_.flags[id] | (b.duplicate[j] ? kDuplicateImport : 0));
        const uint64_t h = mix(opt_.seed, kStreamRenderLink, (static_cast<uint64_t>(b.person[j]) << 32) | b.key[j], k - b.begin[j]);
        push_rendered(L.value, id, h, false);
        if (opt_.with_canonical) L.canonical.push_back(ids_.canon[id]);
      }
    }
    R.link_offsets[nr] = out;
  }

  // ---- profiles ---------------------------------------------------------------------

  void make_profiles(SampleData& d) {
    const Persons& P = d.persons;
    Profiles& F = d.profiles;
    for (uint32_t p = 0; p < opt_.persons; ++p) {
      if (P.is_anonymous[p]) continue;
      const PersonIds& pi = pids_[p];
      uint32_t key;
      if (pi.crm != kNone) key = pi.crm;
      else if (pi.phone != kNone) key = pi.phone;
      else continue;
      F.key_type.push_back(ids_.type[key]);
      push_rendered(F.key_value, key, mix(opt_.seed, kStreamRenderProfile, p), false);
      F.member_level.push_back(P.member_level[p]);
      F.signup_at.push_back(P.signup_at[p]);
      F.birthday.push_back(P.birthday[p]);
      F.city.push_back(P.city[p]);
      F.gender.push_back(P.gender[p]);
      F.true_person.push_back(p);
    }
  }

  // ---- events -------------------------------------------------------------------------

  struct EventBuf {
    std::vector<Timestamp> time;
    std::vector<uint32_t> person;
    std::vector<uint8_t> type;
    std::vector<uint32_t> id;
    std::vector<uint8_t> clean;
    std::vector<double> amount;
    std::vector<int32_t> sku;
    std::vector<int16_t> category;
    std::vector<int16_t> store;
    std::vector<int16_t> campaign;

    void add(Timestamp t, uint32_t p, EventType ty, uint32_t idv, bool cl, double amt = NAN, int32_t s = -1,
             int16_t cat = -1, int16_t st = -1, int16_t camp = -1) {
      time.push_back(t);
      person.push_back(p);
      type.push_back(static_cast<uint8_t>(ty));
      id.push_back(idv);
      clean.push_back(cl);
      amount.push_back(amt);
      sku.push_back(s);
      category.push_back(cat);
      store.push_back(st);
      campaign.push_back(camp);
    }
  };

  int32_t pick_sku(Rng& r, int cat) const {
    return sku_by_cat_[cat][sku_pop_[cat](r)];
  }

  double order_amount(Rng& r, int32_t sku, bool festival) const {
    const double price = (*sku_price_)[static_cast<size_t>(sku)];
    const double u = r.uniform();
    const int qty = u < 0.8 ? 1 : u < 0.95 ? 2 : 3;
    double discount = 1.0;
    const double v = r.uniform();
    if (festival) discount = v < 0.3 ? 0.7 : v < 0.7 ? 0.8 : 0.9;
    else discount = v < 0.6 ? 1.0 : v < 0.85 ? 0.9 : 0.8;
    return std::max(0.01, round2(price * qty * discount));
  }

  Timestamp session_time(Rng& r, bool& festival) const {
    festival = false;
    if (!peaks_.empty() && r.chance(0.12)) {
      const Timestamp peak = peaks_[r.below(peaks_.size())];
      festival = true;
      return random_time(r, peak - days(10), std::min(peak + days(1), opt_.end));
    }
    const int64_t day = static_cast<int64_t>(r.below(static_cast<uint64_t>(std::max<int64_t>(window_ / kMicrosPerDay, 1))));
    const int64_t local_hour = static_cast<int64_t>(hour_dist_(r));
    Timestamp t = start_ + days(day) + hours(local_hour - 8) +
                  static_cast<Timestamp>(r.below(3600)) * kMicrosPerSecond;
    if (t < start_ || t >= opt_.end) t = random_time(r, start_, opt_.end);
    return t;
  }

  void make_events(SampleData& d) {
    const Persons& P = d.persons;
    const Dictionaries& D = d.dicts;
    const double r_anon = opt_.anonymous_ratio;
    const size_t n_camp = D.campaigns.size();
    // Activity is Pareto(1, 1.6) capped at 60: mean 2.5235 (normalised to 1).
    constexpr double kParetoMean = 2.5235;
    constexpr double kAnonShare = 0.2;
    const double p_sent = std::min(0.5, 0.0125 * opt_.events_per_person);
    const double sms_per_phone = static_cast<double>(n_camp) * p_sent * 1.13;
    const double known_share = 1.0 - r_anon;
    double k_known = 0;
    if (known_share > 0) {
      k_known = ((1.0 - kAnonShare * r_anon) / known_share) - 0.93 * sms_per_phone / std::max(opt_.events_per_person, 1e-9);
      // About 16% of known persons have no digital channel and show a quarter
      // of their activity (store purchases only): compensate on the others.
      k_known = std::max(k_known / 0.88, 0.05);
    }

    EventBuf buf;
    const size_t expect = static_cast<size_t>(opt_.persons * opt_.events_per_person * 1.1) + 16;
    buf.time.reserve(expect);
    buf.person.reserve(expect);
    buf.type.reserve(expect);
    buf.id.reserve(expect);
    buf.clean.reserve(expect);
    buf.amount.reserve(expect);
    buf.sku.reserve(expect);
    buf.category.reserve(expect);
    buf.store.reserve(expect);
    buf.campaign.reserve(expect);

    for (uint32_t p = 0; p < opt_.persons; ++p) {
      Rng r(mix(opt_.seed, kStreamEvents, p));
      const PersonIds& pi = pids_[p];
      const bool anon = P.is_anonymous[p];
      const double activity = std::min(r.pareto(1.0, 1.6), 60.0) / kParetoMean;
      const double lambda = opt_.events_per_person * activity * (anon ? kAnonShare : k_known);
      const int64_t full_budget = r.round_random(lambda);

      // Digital channels this person uses: web cookie, app device, mini-program.
      uint32_t channels[8];  // up to 3 cookies, 2 devices, a family tablet, an openid
      int nch = 0;
      for (int i = 0; i < pi.n_cookie; ++i) channels[nch++] = pi.cookie[i];
      for (int i = 0; i < pi.n_dev; ++i) channels[nch++] = pi.dev[i];
      if (pi.family_device != kNone) channels[nch++] = pi.family_device;
      if (pi.openid_mp != kNone) channels[nch++] = pi.openid_mp;
      const bool can_buy_offline = !anon && (pi.phone != kNone || pi.crm != kNone);
      // Without a digital channel only store purchases are seen: fewer events.
      const int64_t budget = nch ? full_budget : full_budget / 4;

      int64_t made = 0;
      while (made < budget) {
        bool festival = false;
        Timestamp t = session_time(r, festival);
        const bool offline = can_buy_offline && (nch == 0 || r.chance(0.15));
        if (!offline && nch == 0) break;  // nothing to observe this person with
        if (offline) {
          const int cat = r.chance(0.6) ? pi.fav_category : static_cast<int>(category_dist_(r));
          const int32_t sku = pick_sku(r, cat);
          const uint32_t ph = pi.phone != kNone ? pi.phone_at(t) : kNone;
          const uint32_t idv = (ph != kNone && (pi.crm == kNone || r.chance(0.6))) ? ph : pi.crm;
          int16_t store = pi.home_store;
          if (r.chance(0.1)) store = static_cast<int16_t>(r.below(store_demo_device_.size()));
          buf.add(t, p, EventType::order, idv, false, order_amount(r, sku, festival), sku, static_cast<int16_t>(cat), store);
          ++made;
          continue;
        }
        const uint32_t ch = channels[r.below(static_cast<uint64_t>(nch))];
        const int cat = r.chance(0.7) ? pi.fav_category : static_cast<int>(category_dist_(r));
        const int views = static_cast<int>(
            std::min<int64_t>(budget - made, 1 + static_cast<int64_t>(std::min(11.0, std::floor(r.exponential(2.5))))));
        int32_t last_sku = -1;
        for (int v = 0; v < views && t < opt_.end; ++v) {
          last_sku = pick_sku(r, r.chance(0.85) ? cat : static_cast<int>(category_dist_(r)));
          buf.add(t, p, EventType::page_view, ch, true, NAN, last_sku, (*sku_category_)[static_cast<size_t>(last_sku)]);
          ++made;
          t += static_cast<Timestamp>(r.between(15, 150)) * kMicrosPerSecond;
        }
        if (made >= budget || t >= opt_.end || !r.chance(festival ? 0.5 : 0.35)) continue;
        buf.add(t, p, EventType::add_to_cart, ch, true, NAN, last_sku, (*sku_category_)[static_cast<size_t>(last_sku)]);
        ++made;
        t += static_cast<Timestamp>(r.between(30, 900)) * kMicrosPerSecond;
        // Most carts are abandoned; anonymous visitors never complete an order here.
        if (anon || made >= budget || t >= opt_.end || !r.chance(festival ? 0.5 : 0.35)) continue;
        uint32_t idv = ch;
        const double u = r.uniform();
        if (pi.crm != kNone && u < 0.5) idv = pi.crm;
        else if (pi.phone != kNone && u < 0.85) idv = pi.phone_at(t);
        buf.add(t, p, EventType::order, idv, false, order_amount(r, last_sku, festival), last_sku,
                (*sku_category_)[static_cast<size_t>(last_sku)]);
        ++made;
      }

      if (anon) continue;
      const Timestamp signup = P.signup_at[p];
      if (signup != kNoTime && signup >= start_ && signup < opt_.end) {
        buf.add(signup, p, EventType::signup, pi.crm, true);
      }
      if (pi.phone == kNone) continue;
      const double responsiveness = std::clamp(0.5 + 0.5 * activity, 0.3, 3.0);
      for (size_t c = 0; c < n_camp; ++c) {
        if (!r.chance(p_sent)) continue;
        const Timestamp sent = D.campaign_time[c] + static_cast<Timestamp>(r.below(7200)) * kMicrosPerSecond;
        if (sent >= opt_.end) continue;
        const uint32_t ph = pi.phone_at(sent);
        const auto camp = static_cast<int16_t>(c);
        buf.add(sent, p, EventType::sms_sent, ph, true, NAN, -1, -1, -1, camp);
        if (!r.chance(std::min(0.9, campaign_click_[c] * responsiveness))) continue;
        const Timestamp click = sent + static_cast<Timestamp>(std::min(r.exponential(7200.0), 3.0 * 86400.0)) * kMicrosPerSecond;
        if (click >= opt_.end) continue;
        buf.add(click, p, EventType::sms_click, ph, true, NAN, -1, -1, -1, camp);
        if (!r.chance(0.3)) continue;
        const Timestamp redeem = click + static_cast<Timestamp>(r.below(7 * 86400)) * kMicrosPerSecond;
        if (redeem >= opt_.end) continue;
        const double value = std::array<double, 4>{10, 20, 50, 100}[r.below(4)];
        const uint32_t rid = (pi.crm != kNone && r.chance(0.5)) ? pi.crm : pi.phone_at(redeem);
        buf.add(redeem, p, EventType::coupon_redeem, rid, false, value, -1, -1, -1, camp);
        if (!r.chance(0.6)) continue;
        const int cat = r.chance(0.6) ? pi.fav_category : static_cast<int>(category_dist_(r));
        const int32_t sku = pick_sku(r, cat);
        const Timestamp ot = redeem + static_cast<Timestamp>(r.between(60, 1800)) * kMicrosPerSecond;
        if (ot >= opt_.end) continue;
        buf.add(ot, p, EventType::order, rid, false, order_amount(r, sku, false), sku, static_cast<int16_t>(cat),
                r.chance(0.3) ? pi.home_store : static_cast<int16_t>(-1), camp);
      }
    }
    materialise_events(d, buf);
  }

  template <typename T>
  static void gather(std::vector<T>& out, std::vector<T>& in, const std::vector<SortKey>& order) {
    out.resize(order.size());
    for (size_t i = 0; i < order.size(); ++i) out[i] = in[order[i].index];
    std::vector<T>().swap(in);
  }

  void materialise_events(SampleData& d, EventBuf& b) {
    const size_t n = b.time.size();
    std::vector<SortKey> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = {b.time[i], i};
    std::sort(order.begin(), order.end());
    Events& E = d.events;
    E.id_type.resize(n);
    E.id_value.reserve(n, raw_bytes_bound(canonical_bytes(b.id), n));
    for (size_t i = 0; i < n; ++i) {
      const size_t j = order[i].index;
      const uint32_t id = b.id[j];
      E.id_type[i] = ids_.type[id];
      push_rendered(E.id_value, id, mix(opt_.seed, kStreamRenderEvent, j), b.clean[j] != 0);
    }
    std::vector<uint32_t>().swap(b.id);
    std::vector<uint8_t>().swap(b.clean);
    gather(E.time, b.time, order);
    gather(E.type, b.type, order);
    gather(E.amount, b.amount, order);
    gather(E.sku, b.sku, order);
    gather(E.category, b.category, order);
    gather(E.store, b.store, order);
    gather(E.campaign, b.campaign, order);
    gather(E.true_person, b.person, order);
  }

  // ---- consent ------------------------------------------------------------------------

  struct ConsentBuf {
    std::vector<Timestamp> time, expiry;
    std::vector<uint32_t> person, id;
    std::vector<uint8_t> purpose, channel, decision, source, basis;
  };

  int16_t policy_at(Timestamp t) const {
    int16_t v = 0;
    for (size_t i = 1; i < policy_from_.size(); ++i)
      if (t >= policy_from_[i]) v = static_cast<int16_t>(i);
    return v;
  }

  void make_consent(SampleData& d) {
    const Persons& P = d.persons;
    ConsentBuf b;
    auto add = [&](Timestamp t, uint32_t p, uint32_t id, Purpose pu, uint8_t ch, Decision de, Timestamp exp,
                   ConsentSource src, LegalBasis lb) {
      if (id == kNone || t < start_ || t >= opt_.end) return;
      b.time.push_back(t);
      b.expiry.push_back(exp);
      b.person.push_back(p);
      b.id.push_back(id);
      b.purpose.push_back(static_cast<uint8_t>(pu));
      b.channel.push_back(ch);
      b.decision.push_back(static_cast<uint8_t>(de));
      b.source.push_back(static_cast<uint8_t>(src));
      b.basis.push_back(static_cast<uint8_t>(lb));
    };
    constexpr uint8_t kAny = kAnyChannel;
    auto ch = [](Channel c) { return static_cast<uint8_t>(c); };

    for (uint32_t p = 0; p < opt_.persons; ++p) {
      Rng r(mix(opt_.seed, kStreamConsent, p));
      const PersonIds& pi = pids_[p];
      const Timestamp second_half = start_ + window_ / 2;
      auto later = [&](Timestamp t) { return random_time(r, t + hours(1), opt_.end); };

      // Cookie banner: analytics, asked again when the answer expires.
      if (pi.n_cookie && r.chance(P.is_anonymous[p] ? 0.5 : 0.7)) {
        Timestamp t = random_time(r, start_, second_half);
        const bool yes = r.chance(0.6);
        const Timestamp exp = t + days(180);
        add(t, p, pi.cookie[0], Purpose::analytics, kAny, yes ? Decision::granted : Decision::denied, yes ? exp : kNoTime,
            ConsentSource::form, LegalBasis::consent);
        if (yes && exp < opt_.end && r.chance(0.5)) {
          add(exp + days(static_cast<int64_t>(r.below(20))), p, pi.cookie[0], Purpose::analytics, kAny, Decision::granted,
              exp + days(180), ConsentSource::form, LegalBasis::consent);
        }
      }
      if (P.is_anonymous[p]) continue;

      const bool member = pi.crm != kNone;
      const Timestamp signup = P.signup_at[p];
      Timestamp t0 = (signup != kNoTime && signup >= start_) ? signup : random_time(r, start_, second_half);
      const ConsentSource src0 = member ? (r.chance(0.5) ? ConsentSource::store : ConsentSource::app)
                                        : (r.chance(0.5) ? ConsentSource::form : ConsentSource::app);
      const uint32_t main_subject = pi.phone != kNone ? pi.phone_at(t0) : pi.email != kNone ? pi.email : pi.unionid;

      // Legacy consent imported from the previous CRM at the start of the year.
      if (member && r.chance(0.1)) {
        add(start_, p, main_subject, Purpose::marketing, kAny, Decision::granted, kNoTime, ConsentSource::import,
            LegalBasis::consent);
      }
      // General marketing, with some later withdrawals.
      {
        const double u = r.uniform();
        if (u < 0.55) {
          add(t0, p, main_subject, Purpose::marketing, kAny, Decision::granted, kNoTime, src0, LegalBasis::consent);
          if (r.chance(0.08)) {
            const Timestamp tw = later(t0);
            const uint32_t subj = main_subject == pi.old_phone ? pi.phone_at(tw) : main_subject;
            add(tw, p, subj, Purpose::marketing, kAny, Decision::withdrawn, kNoTime, ConsentSource::call_centre,
                LegalBasis::consent);
          }
        } else if (u < 0.7) {
          add(t0, p, main_subject, Purpose::marketing, kAny, Decision::denied, kNoTime, src0, LegalBasis::consent);
        }
      }
      // SMS marketing on the phone number.
      if (pi.phone != kNone && r.chance(0.5)) {
        const Timestamp t = t0 + static_cast<Timestamp>(r.below(3600)) * kMicrosPerSecond;
        const uint32_t ph = pi.phone_at(t);
        add(t, p, ph, Purpose::marketing_sms, ch(Channel::sms), Decision::granted, kNoTime, src0, LegalBasis::consent);
        if (r.chance(0.12)) {  // "reply TD to unsubscribe"
          const Timestamp tw = later(t);
          add(tw, p, ph, Purpose::marketing_sms, ch(Channel::sms), Decision::withdrawn, kNoTime,
              r.chance(0.5) ? ConsentSource::call_centre : ConsentSource::form, LegalBasis::consent);
          if (r.chance(0.1)) {
            add(later(tw), p, ph, Purpose::marketing_sms, ch(Channel::sms), Decision::granted, kNoTime, ConsentSource::app,
                LegalBasis::consent);
          }
        }
        if (pi.old_phone != kNone && ph == pi.old_phone && r.chance(0.5)) {  // consent given again on the new number
          add(later(pi.phone_change), p, pi.phone, Purpose::marketing_sms, ch(Channel::sms), Decision::granted, kNoTime,
              ConsentSource::app, LegalBasis::consent);
        }
      }
      // E-mail marketing.
      if (pi.email != kNone && r.chance(0.4)) {
        const Timestamp t = random_time(r, start_, opt_.end);
        add(t, p, pi.email, Purpose::marketing_email, ch(Channel::email), Decision::granted, kNoTime, ConsentSource::form,
            LegalBasis::consent);
        if (r.chance(0.1)) {
          add(later(t), p, pi.email, Purpose::marketing_email, ch(Channel::email), Decision::withdrawn, kNoTime,
              ConsentSource::form, LegalBasis::consent);
        }
      }
      // Following the official account allows WeChat template messages.
      if (pi.openid_oa != kNone && r.chance(0.9)) {
        const Timestamp t = random_time(r, start_, opt_.end);
        add(t, p, pi.openid_oa, Purpose::marketing, ch(Channel::wechat), Decision::granted, kNoTime, ConsentSource::app,
            LegalBasis::consent);
        if (r.chance(0.15)) {  // unfollow
          add(later(t), p, pi.openid_oa, Purpose::marketing, ch(Channel::wechat), Decision::withdrawn, kNoTime,
              ConsentSource::app, LegalBasis::consent);
        }
      }
      // App push notifications, per device.
      if (pi.n_dev && r.chance(0.6)) {
        add(random_time(r, start_, opt_.end), p, pi.dev[0], Purpose::marketing, ch(Channel::app_push),
            r.chance(0.7) ? Decision::granted : Decision::denied, kNoTime, ConsentSource::app, LegalBasis::consent);
      }
      // Personalisation, and profiling that expires after 180 days or is objected to.
      const uint32_t person_subject = pi.unionid != kNone && r.chance(0.3) ? pi.unionid : main_subject;
      if (r.chance(0.6)) {
        add(t0 + kMicrosPerSecond, p, person_subject, Purpose::personalization, kAny, Decision::granted, kNoTime, src0,
            LegalBasis::contract);
      }
      {
        const double u = r.uniform();
        if (u < 0.3) {
          const Timestamp t = random_time(r, start_, opt_.end);
          add(t, p, person_subject, Purpose::profiling, kAny, Decision::granted, t + days(180), src0, LegalBasis::consent);
        } else if (u < 0.35) {
          add(random_time(r, start_, opt_.end), p, person_subject, Purpose::profiling, kAny, Decision::objected, kNoTime,
              ConsentSource::call_centre, LegalBasis::legitimate_interest);
        }
      }
      // Third-party sharing is asked separately and mostly refused.
      if (r.chance(0.5)) {
        add(t0 + 2 * kMicrosPerSecond, p, main_subject, Purpose::third_party_sharing, kAny,
            r.chance(0.15) ? Decision::granted : Decision::denied, kNoTime, src0, LegalBasis::consent);
      }
      // Cross-border transfer: foreign customers usually agree.
      const bool foreign = pi.phone != kNone && ids_.country[pi.phone] != 0;
      if (foreign ? r.chance(0.7) : r.chance(0.08)) {
        add(random_time(r, start_, opt_.end), p, main_subject, Purpose::cross_border_transfer, kAny,
            (foreign ? r.chance(0.85) : r.chance(0.4)) ? Decision::granted : Decision::denied, kNoTime, ConsentSource::form,
            LegalBasis::consent);
      }
    }

    const size_t n = b.time.size();
    std::vector<SortKey> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = {b.time[i], i};
    std::sort(order.begin(), order.end());
    ConsentRecords& C = d.consent;
    C.subject_type.resize(n);
    C.policy_version.resize(n);
    C.subject_value.reserve(n, raw_bytes_bound(canonical_bytes(b.id), n));
    for (size_t i = 0; i < n; ++i) {
      const size_t j = order[i].index;
      C.subject_type[i] = ids_.type[b.id[j]];
      C.policy_version[i] = b.source[j] == static_cast<uint8_t>(ConsentSource::import) ? 0 : policy_at(b.time[j]);
      push_rendered(C.subject_value, b.id[j], mix(opt_.seed, kStreamRenderConsent, j), false);
    }
    gather(C.time, b.time, order);
    gather(C.expiry, b.expiry, order);
    gather(C.true_person, b.person, order);
    gather(C.purpose, b.purpose, order);
    gather(C.channel, b.channel, order);
    gather(C.decision, b.decision, order);
    gather(C.source, b.source, order);
    gather(C.legal_basis, b.basis, order);
  }

  // ---- state ----------------------------------------------------------------------------
  Options opt_;
  Timestamp start_ = 0, window_ = 0;
  IdTable ids_;
  std::vector<PersonIds> pids_;
  std::vector<uint32_t> store_demo_device_;
  std::vector<std::vector<int16_t>> stores_by_city_;
  std::vector<std::vector<int32_t>> sku_by_cat_;
  std::vector<Discrete> sku_pop_;
  const std::vector<double>* sku_price_ = nullptr;
  const std::vector<int16_t>* sku_category_ = nullptr;
  Discrete city_dist_, category_dist_, mail_domain_dist_, foreign_dist_, hour_dist_;
  std::vector<Timestamp> peaks_;
  std::vector<double> campaign_click_;
  std::vector<Timestamp> policy_from_;
  uint64_t num_a_[kCountryCount] = {}, num_b_[kCountryCount] = {};
  uint64_t mail_a_ = 1, mail_b_ = 0, crm_a_ = 1, crm_b_ = 0;
};

void check_options(const Options& o) {
  auto bad = [](const std::string& what) { throw InvalidArgument("datagen options: " + what); };
  if (o.persons == 0 || o.persons > 50'000'000) bad("persons must be in 1..50000000, got " + std::to_string(o.persons));
  if (o.days < 1 || o.days > 3650) bad("days must be in 1..3650, got " + std::to_string(o.days));
  if (!(o.anonymous_ratio >= 0 && o.anonymous_ratio <= 1)) bad("anonymous_ratio must be in [0, 1]");
  if (!(o.records_per_person >= 0 && o.records_per_person <= 1000)) bad("records_per_person must be in [0, 1000]");
  if (!(o.events_per_person >= 0 && o.events_per_person <= 10000)) bad("events_per_person must be in [0, 10000]");
  if (!(o.noise >= 0 && o.noise <= 10)) bad("noise must be in [0, 10]");
  if (o.end < days(3650) + days(o.days) || o.end > days(200 * 365)) bad("end must be between 1980 and 2170");
}

}  // namespace

SampleData generate(const Options& options) {
  check_options(options);
  Generator g(options);
  return g.run();
}

}  // namespace cdpcore::datagen
