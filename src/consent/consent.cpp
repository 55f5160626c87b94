// Consent's construction (schema, HMAC key, first load) and its attachments
// to an identity graph and a profile store.
#include "cdpcore/consent.hpp"

#include <openssl/rand.h>

#include <cstring>

#include "cdpcore/error.hpp"
#include "cdpcore/identity.hpp"
#include "cdpcore/workspace.hpp"
#include "consent/consent_impl.hpp"

namespace cdpcore {

using namespace consent_detail;

namespace {

std::string random_hex_key() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) throw Error(ErrorCode::error, "consent: no random bytes for the HMAC key");
  Sha256Digest d{};
  std::memcpy(d.data(), buf, 32);
  return to_hex(d);
}

}  // namespace

// ---- identity listener --------------------------------------------------------

struct Consent::Impl::Listener : IdentityListener {
  Impl* impl;
  explicit Listener(Impl* i) : impl(i) {}
  void dirty() {
    std::lock_guard<std::mutex> lock(impl->map_mu);
    impl->map_dirty = true;
  }
  void on_merged(const ChangeEvent&) override { dirty(); }
  void on_split(const ChangeEvent&) override { dirty(); }
  void on_erased(const ChangeEvent&) override { dirty(); }
  void on_rolled_back() override { dirty(); }
};

// ---- construction -----------------------------------------------------------------

Consent::Consent(std::shared_ptr<Workspace> ws, const ConsentOptions& options) : impl_(std::make_unique<Impl>()) {
  if (!ws) throw InvalidArgument("Consent: workspace is null");
  if (options.future_tolerance < 0) throw InvalidArgument("Consent: future_tolerance must not be negative");
  impl_->ws = std::move(ws);
  impl_->options = options;
  Workspace& w = *impl_->ws;
  w.ensure_schema("consent", schema_migrations());

  // The HMAC key of suppression entries.
  static constexpr std::string_view kKeyCheck = "cdpcore consent key check";
  if (!options.hmac_key.empty()) {
    impl_->hmac_key = options.hmac_key;
    std::string fp = to_hex(hmac_sha256(options.hmac_key, kKeyCheck));
    auto stored = w.setting("consent.hmac_key_check");
    if (stored && *stored != fp) {
      throw InvalidArgument("Consent: hmac_key does not match the key this workspace's suppression entries were made "
                            "with");
    }
    if (!stored) {
      if (!w.read_only()) w.set_setting("consent.hmac_key_check", fp);
    }
  } else {
    auto stored_check = w.setting("consent.hmac_key_check");
    auto stored = w.setting("consent.hmac_key");
    if (stored) {
      impl_->hmac_key = *stored;
    } else if (stored_check) {
      throw InvalidArgument("Consent: this workspace's suppression entries use an application-supplied hmac_key; "
                            "pass it in ConsentOptions");
    } else {
      impl_->hmac_key = random_hex_key();
      if (!w.read_only()) {
        w.set_setting("consent.hmac_key", impl_->hmac_key);
        w.set_setting("consent.hmac_key_check", to_hex(hmac_sha256(impl_->hmac_key, kKeyCheck)));
      }
    }
  }
  impl_->person_type = impl_->intern_type(kPersonType);
  impl_->load();
}

Consent::~Consent() { detach_identity(); }

// ---- identity ---------------------------------------------------------------------------

void Consent::attach_identity(IdentityGraph& graph) {
  detach_identity();
  impl_->graph = &graph;
  impl_->listener = std::make_unique<Impl::Listener>(impl_.get());
  graph.add_listener(impl_->listener.get());
  std::lock_guard<std::mutex> lock(impl_->map_mu);
  impl_->map_dirty = true;
  impl_->subject_identifier.clear();
}

void Consent::detach_identity() noexcept {
  if (impl_ && impl_->graph && impl_->listener) impl_->graph->remove_listener(impl_->listener.get());
  if (impl_) {
    impl_->graph = nullptr;
    impl_->listener.reset();
  }
}

void Consent::attach_profiles(ProfileStore& store) { impl_->profiles = &store; }
void Consent::detach_profiles() noexcept { impl_->profiles = nullptr; }

}  // namespace cdpcore
