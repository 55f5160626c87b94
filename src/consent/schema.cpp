// The consent tables in the workspace file: the schema's migrations.
#include "consent/consent_impl.hpp"

namespace cdpcore::consent_detail {

namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE consent_purposes (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  separate_consent INTEGER NOT NULL DEFAULT 0,
  direct_marketing INTEGER NOT NULL DEFAULT 0,
  opt_out_jurisdictions INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE consent_channels (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  identifier_types TEXT NOT NULL DEFAULT '',
  opt_in_jurisdictions INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE consent_subjects (
  id INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  value TEXT NOT NULL
);
CREATE TABLE consent_ledger (
  seq INTEGER PRIMARY KEY,
  subject_id INTEGER,
  purpose_id INTEGER,
  channel_id INTEGER,
  decision INTEGER,
  time INTEGER,
  expiry INTEGER,
  source TEXT,
  legal_basis INTEGER,
  policy_version TEXT,
  proof_method TEXT,
  proof_location TEXT,
  proof_reference TEXT,
  recorded_at INTEGER,
  erased_by INTEGER,
  hash BLOB NOT NULL
);
CREATE INDEX consent_ledger_subject ON consent_ledger(subject_id);
CREATE TABLE consent_suppression (
  keyed_hash BLOB PRIMARY KEY,
  erasure_seq INTEGER NOT NULL,
  erased_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE consent_preferences (
  subject_id INTEGER PRIMARY KEY,
  spec TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE consent_contacts (
  subject_id INTEGER NOT NULL,
  channel_id INTEGER NOT NULL,
  time INTEGER NOT NULL
);
CREATE INDEX consent_contacts_subject ON consent_contacts(subject_id, time);
INSERT INTO consent_purposes(id, name, description, separate_consent, direct_marketing, opt_out_jurisdictions) VALUES
  (1, 'marketing', 'Direct marketing', 0, 1, 8),
  (2, 'marketing.sms', 'Direct marketing by text message', 0, 1, 8),
  (3, 'marketing.email', 'Direct marketing by e-mail', 0, 1, 8),
  (4, 'personalization', 'Personalised content and offers', 0, 0, 8),
  (5, 'profiling', 'Building a profile of interests and behaviour', 0, 0, 8),
  (6, 'analytics', 'Measurement and analytics', 0, 0, 8),
  (7, 'third_party_sharing', 'Sharing with or sale to third parties (separate consent under PIPL)', 1, 0, 8),
  (8, 'cross_border_transfer', 'Transfer outside the country (separate consent under PIPL)', 1, 0, 8),
  (9, 'sensitive_data', 'Processing of sensitive personal information (separate consent)', 1, 0, 0);
INSERT INTO consent_channels(id, name, identifier_types, opt_in_jurisdictions) VALUES
  (1, 'sms', 'phone', 8),
  (2, 'email', 'email', 0),
  (3, 'wechat', 'unionid,openid_mp,openid_oa', 0),
  (4, 'app_push', 'device_id', 0),
  (5, 'phone_call', 'phone', 8),
  (6, 'mail', '', 0),
  (7, 'ads', 'phone,email,device_id', 0);
)sql";

const Migration kMigrations[] = {{1, kSchemaV1}};

}  // namespace

std::span<const Migration> schema_migrations() noexcept { return kMigrations; }

}  // namespace cdpcore::consent_detail
