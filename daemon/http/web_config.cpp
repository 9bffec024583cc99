// SPDX-License-Identifier: Apache-2.0
#include "http/web_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "config/located_yaml.h"
#include "http/basic_auth.h"

namespace execmond::http {
namespace {

// exporter-toolkit keys execmond does not implement and cannot ignore: each restricts how
// TLS is negotiated, so ignoring it would serve clients the operator meant to refuse.
const std::set<std::string_view> kRefusedTlsKeys = {"cipher_suites", "prefer_server_cipher_suites",
                                                    "curve_preferences"};

// The headers the exporter-toolkit lets a web configuration set, with the values it
// accepts when it restricts them (web/handler.go's extraHTTPHeaders).
const std::map<std::string_view, std::vector<std::string_view>> kSettableHeaders = {
    {"Strict-Transport-Security", {}},
    {"X-Content-Type-Options", {"nosniff"}},
    {"X-Frame-Options", {"deny", "sameorigin"}},
    {"X-XSS-Protection", {}},
    {"Content-Security-Policy", {}},
};

std::string location(const std::string& name, const YAML::Mark& mark, const std::string& subject) {
  return name + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": " +
         subject;
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

std::string joined(const std::vector<std::string_view>& names) {
  std::string list;
  for (const auto name : names) {
    if (!list.empty()) list += ", ";
    list += name;
  }
  return list;
}

// The map under `node`, each key checked: known, not repeated, a scalar.
template <typename Read>
void for_each_setting(const ConfigSource& source, const YAML::Node& node, const std::string& prefix,
                      const std::vector<std::string_view>& known,
                      const std::set<std::string_view>& refused, Read read) {
  std::set<std::string> seen;
  for (const auto& setting : node) {
    const YAML::Node& key_node = setting.first;
    if (!key_node.IsScalar()) {
      source.fail(key_node.Mark(), "expected a setting name, got " + describe(key_node));
    }
    source.check_quote_closed(key_node);
    const std::string& key = key_node.Scalar();
    if (refused.count(key) != 0) {
      source.fail(key_node.Mark(), prefix + key +
                                       " is not supported by execmond, and ignoring it would "
                                       "accept connections it is meant to refuse (supported: " +
                                       joined(known) + ")");
    }
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      source.fail(key_node.Mark(), unknown_key_message(key, known));
    }
    if (!seen.insert(key).second) source.fail(key_node.Mark(), "duplicate key " + quoted(key));
    const std::string qualified = prefix + key;  // what errors call the setting
    read(key, Entry{source, qualified, key_node, setting.second});
  }
}

template <typename Value, std::size_t N>
Value read_choice(const Entry& entry, const std::pair<std::string_view, Value> (&choices)[N]) {
  std::string expected = "expected one of";
  std::size_t shown = 0;
  for (const auto& [name, value] : choices) {
    if (name == "RequireClientCert") continue;  // the legacy spelling is accepted, not offered
    expected += (shown++ == 0 ? " " : ", ");
    expected += name;
  }
  const std::string& text = entry.scalar(expected);
  for (const auto& [name, value] : choices) {
    if (name == text) return value;
  }
  entry.reject(expected);
}

bool read_bool(const Entry& entry) {
  const std::string expected = "expected true or false";
  const std::string& text = entry.scalar(expected);
  if (text == "true") return true;
  if (text == "false") return false;
  entry.reject(expected);
}

constexpr std::pair<std::string_view, ClientAuth> kClientAuthTypes[] = {
    {"NoClientCert", ClientAuth::kNoClientCert},
    {"RequestClientCert", ClientAuth::kRequestClientCert},
    {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
    {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
    {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
    // exporter-toolkit keeps this older name for RequireAnyClientCert.
    {"RequireClientCert", ClientAuth::kRequireAnyClientCert},
};

constexpr std::pair<std::string_view, TlsVersion> kTlsVersions[] = {
    {"TLS10", TlsVersion::kTls10},
    {"TLS11", TlsVersion::kTls11},
    {"TLS12", TlsVersion::kTls12},
    {"TLS13", TlsVersion::kTls13},
};

std::string_view client_auth_name(ClientAuth policy) {
  return kClientAuthTypes[static_cast<int>(policy)].first;
}

// Reads tls_server_config; nullopt when it names no certificate, key, CA or client
// policy: then, as in the exporter-toolkit, TLS is off (and `ignored` says so).
std::optional<TlsSettings> read_tls(const ConfigSource& source, const std::string& name,
                                    const Entry& section, std::vector<std::string>& ignored) {
  if (section.value.IsNull()) {
    ignored.push_back(location(name, section.key_node.Mark(),
                               "tls_server_config is empty: serving plain HTTP, as the "
                               "exporter-toolkit does"));
    return std::nullopt;
  }
  if (!section.value.IsMap()) {
    section.reject("expected settings such as cert_file and key_file");
  }
  TlsSettings tls;
  const std::string directory = directory_of(name);
  std::optional<YAML::Mark> max_version_mark;
  std::optional<YAML::Mark> sans_mark;
  bool enabled = false;
  const auto read_path = [&](const Entry& entry, std::string& path, std::string& at) {
    const std::string& text = entry.scalar("expected a file name");
    if (text.empty()) entry.reject("expected a file name");
    path = text.front() == '/' ? text : directory + text;
    at = location(name, entry.value.Mark(), entry.key);
    enabled = true;
  };
  const auto read_pem = [&](const Entry& entry, std::string& pem, std::string& at) {
    const std::string& text = entry.scalar("expected PEM text (-----BEGIN ...)");
    if (text.find("-----BEGIN ") == std::string::npos) {
      entry.reject("expected PEM text (-----BEGIN ...)");
    }
    pem = text;
    at = location(name, entry.value.Mark(), entry.key);
    enabled = true;
  };
  for_each_setting(source, section.value, "tls_server_config.",
                   {"cert_file", "key_file", "cert", "key", "client_auth_type", "client_ca_file",
                    "client_ca", "client_allowed_sans", "min_version", "max_version"},
                   kRefusedTlsKeys, [&](const std::string& key, const Entry& entry) {
                     if (key == "cert_file") read_path(entry, tls.cert_file, tls.cert_file_at);
                     if (key == "key_file") read_path(entry, tls.key_file, tls.key_file_at);
                     if (key == "client_ca_file")
                       read_path(entry, tls.client_ca_file, tls.client_ca_file_at);
                     if (key == "cert") read_pem(entry, tls.cert_pem, tls.cert_file_at);
                     if (key == "key") read_pem(entry, tls.key_pem, tls.key_file_at);
                     if (key == "client_ca")
                       read_pem(entry, tls.client_ca_pem, tls.client_ca_file_at);
                     if (key == "client_auth_type") {
                       tls.client_auth = read_choice(entry, kClientAuthTypes);
                       enabled = true;
                     }
                     if (key == "min_version") tls.min_version = read_choice(entry, kTlsVersions);
                     if (key == "max_version") {
                       tls.max_version = read_choice(entry, kTlsVersions);
                       max_version_mark = entry.value.Mark();
                     }
                     if (key == "client_allowed_sans") {
                       const std::string expected = "expected a list of subject alternative names";
                       if (!entry.value.IsSequence()) entry.reject(expected);
                       for (const auto& item : entry.value) {
                         if (!item.IsScalar() || item.Scalar().empty()) {
                           entry.reject(item, entry.key, expected, describe(item));
                         }
                         source.check_quote_closed(item);
                         tls.client_allowed_sans.push_back(item.Scalar());
                       }
                       sans_mark = entry.key_node.Mark();
                     }
                   });
  const YAML::Mark& where = section.key_node.Mark();
  if (!enabled) {
    ignored.push_back(location(name, where,
                               "tls_server_config names no certificate: serving plain HTTP, as "
                               "the exporter-toolkit does"));
    return std::nullopt;
  }
  const auto both = [&](const std::string& file, const std::string& pem, const char* key) {
    if (!file.empty() && !pem.empty()) {
      source.fail(where, std::string("tls_server_config: ") + key + " and " + key +
                             "_file are both set; give the PEM text or its file, not both");
    }
  };
  both(tls.cert_file, tls.cert_pem, "cert");
  both(tls.key_file, tls.key_pem, "key");
  both(tls.client_ca_file, tls.client_ca_pem, "client_ca");
  if ((tls.cert_file.empty() && tls.cert_pem.empty()) ||
      (tls.key_file.empty() && tls.key_pem.empty())) {
    source.fail(where, "tls_server_config: expected both cert_file and key_file (or cert and key)");
  }
  const bool has_ca = !tls.client_ca_file.empty() || !tls.client_ca_pem.empty();
  const bool verifies = tls.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                        tls.client_auth == ClientAuth::kRequireAndVerifyClientCert;
  if (verifies && !has_ca) {
    source.fail(where, "tls_server_config: client_auth_type " +
                           std::string(client_auth_name(tls.client_auth)) +
                           " needs client_ca_file, the CA that signs client certificates");
  }
  // As the exporter-toolkit: a CA with no policy that asks for certificates is a mistake.
  if (tls.client_auth == ClientAuth::kNoClientCert && has_ca) {
    source.fail(where,
                "tls_server_config: client_ca_file is set but client_auth_type is NoClientCert "
                "(use VerifyClientCertIfGiven or RequireAndVerifyClientCert)");
  }
  // A client that may send no certificate leaves no name to match.
  if (sans_mark && tls.client_auth != ClientAuth::kRequireAnyClientCert &&
      tls.client_auth != ClientAuth::kRequireAndVerifyClientCert) {
    source.fail(*sans_mark,
                "tls_server_config: client_allowed_sans needs client_auth_type "
                "RequireAndVerifyClientCert (or RequireAnyClientCert), got " +
                    std::string(client_auth_name(tls.client_auth)));
  }
  if (tls.min_version > tls.max_version) {
    source.fail(max_version_mark.value_or(where),
                "tls_server_config: max_version is below min_version");
  }
  return tls;
}

// bcrypt's modular crypt format: $2a$, $2b$ or $2y$, a two-digit cost, 53 characters of
// salt and hash.
bool is_bcrypt_hash(const std::string& hash) {
  if (hash.size() != 60 || std::string_view("aby").find(hash[2]) == std::string_view::npos) {
    return false;
  }
  const int cost = bcrypt_cost(hash);
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '/';
  });
}

void read_users(const ConfigSource& source, const Entry& section, WebConfig& config) {
  if (section.value.IsNull()) return;  // "basic_auth_users:" with none: no authentication
  if (!section.value.IsMap()) {
    section.reject("expected user names, each with a bcrypt hash such as \"$2y$10$...\"");
  }
  for (const auto& user : section.value) {
    const YAML::Node& name = user.first;
    const YAML::Node& hash = user.second;
    if (!name.IsScalar() || name.Scalar().empty()) {
      source.fail(name.Mark(), "basic_auth_users: expected a user name, got " + describe(name));
    }
    source.check_quote_closed(name);
    const Entry entry{source, name.Scalar(), name, hash};
    const std::string subject = "basic_auth_users." + name.Scalar();
    if (name.Scalar().find(':') != std::string::npos) {
      source.fail(name.Mark(), subject + ": a user name cannot contain \":\" in basic auth");
    }
    const std::string expected = "expected a bcrypt hash such as \"$2y$10$...\" (60 characters)";
    if (!hash.IsScalar()) entry.reject(hash, subject, expected, describe(hash));
    source.check_quote_closed(hash);
    if (!is_bcrypt_hash(hash.Scalar())) entry.reject(hash, subject, expected, describe(hash));
    if (!config.basic_auth_users.emplace(name.Scalar(), hash.Scalar()).second) {
      source.fail(name.Mark(), "basic_auth_users: duplicate user " + quoted(name.Scalar()));
    }
  }
}

void read_headers(const ConfigSource& source, const Entry& section, WebConfig& config) {
  if (section.value.IsNull()) return;
  if (!section.value.IsMap()) section.reject("expected header names, each with its value");
  std::vector<std::string_view> names;
  for (const auto& [header, values] : kSettableHeaders) names.push_back(header);
  std::set<std::string> seen;
  for (const auto& setting : section.value) {
    const YAML::Node& name = setting.first;
    const YAML::Node& value = setting.second;
    if (!name.IsScalar()) source.fail(name.Mark(), "expected a header name, got " + describe(name));
    source.check_quote_closed(name);
    const auto settable = kSettableHeaders.find(name.Scalar());
    if (settable == kSettableHeaders.end()) {
      source.fail(name.Mark(), "http_server_config.headers: " + quoted(name.Scalar()) +
                                   " cannot be set (settable, as in the exporter-toolkit: " +
                                   joined(names) + ")");
    }
    if (!seen.insert(name.Scalar()).second) {
      source.fail(name.Mark(), "duplicate key " + quoted(name.Scalar()));
    }
    const std::string subject = "http_server_config.headers." + name.Scalar();
    const Entry entry{source, subject, name, value};
    if (value.IsNull()) continue;  // unset if blank
    const std::string& text = entry.scalar("expected the header's value");
    if (text.empty()) continue;
    // A CR or LF would end the header and start another: response splitting.
    const bool printable = std::all_of(text.begin(), text.end(), [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return u == '\t' || (u >= 0x20 && u != 0x7F);
    });
    if (!printable) entry.reject("expected a header value without control characters");
    const auto& allowed = settable->second;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
      entry.reject("expected one of " + joined(allowed));
    }
    config.headers.emplace_back(name.Scalar(), text);
  }
}

void read_http_server_config(const ConfigSource& source, const std::string& name,
                             const Entry& section, WebConfig& config) {
  if (section.value.IsNull()) return;
  if (!section.value.IsMap()) section.reject("expected settings such as headers");
  for_each_setting(
      source, section.value, "http_server_config.", {"http2", "headers"}, {},
      [&](const std::string& key, const Entry& entry) {
        if (key == "headers") return read_headers(source, entry, config);
        if (read_bool(entry)) {
          config.ignored.push_back(location(name, entry.key_node.Mark(),
                                            "http_server_config.http2 is ignored: execmond serves "
                                            "HTTP/1.1, which every Prometheus scrapes"));
        }
      });
}

void read_rate_limit(const ConfigSource& source, const Entry& section, WebConfig& config) {
  if (section.value.IsNull()) return;
  if (!section.value.IsMap()) section.reject("expected interval and burst");
  RateLimit limit;
  std::optional<YAML::Mark> burst_mark;
  for_each_setting(source, section.value, "rate_limit.", {"interval", "burst"}, {},
                   [&](const std::string& key, const Entry& entry) {
                     if (key == "interval") {
                       limit.interval =
                           entry.parse("expected a duration such as 100ms or 1s", parse_duration);
                     } else {
                       const std::string expected = "expected a whole number of requests";
                       const std::string& text = entry.scalar(expected);
                       if (text.empty() || text.size() > 9 ||
                           text.find_first_not_of("0123456789") != std::string::npos) {
                         entry.reject(expected);
                       }
                       limit.burst = std::stoi(text);
                       burst_mark = entry.value.Mark();
                     }
                   });
  if (limit.interval.count() == 0) return;  // 0 turns the limiter off, as in the toolkit
  if (limit.burst < 1) {
    source.fail(burst_mark.value_or(section.key_node.Mark()),
                "rate_limit.burst: expected at least 1 (with 0 every request would be refused)");
  }
  config.rate_limit = limit;
}

}  // namespace

bool TlsSettings::operator==(const TlsSettings& other) const {
  return cert_file == other.cert_file && key_file == other.key_file &&
         client_ca_file == other.client_ca_file && cert_pem == other.cert_pem &&
         key_pem == other.key_pem && client_ca_pem == other.client_ca_pem &&
         client_auth == other.client_auth && min_version == other.min_version &&
         max_version == other.max_version && client_allowed_sans == other.client_allowed_sans;
}

WebConfig parse_web_config(std::string_view yaml, const std::string& name) {
  const ConfigSource source(yaml, name);
  const YAML::Node root = load_single_document(source);
  WebConfig config;
  config.source = name;
  if (root.IsNull()) return config;
  if (root.IsScalar()) source.check_quote_closed(root);
  if (!root.IsMap()) {
    source.fail(root.Mark(),
                "expected tls_server_config and basic_auth_users settings, got " + describe(root));
  }
  for_each_setting(source, root, "",
                   {"tls_server_config", "basic_auth_users", "http_server_config", "rate_limit"},
                   {}, [&](const std::string& key, const Entry& entry) {
                     if (key == "tls_server_config") {
                       config.tls = read_tls(source, name, entry, config.ignored);
                     } else if (key == "basic_auth_users") {
                       read_users(source, entry, config);
                     } else if (key == "http_server_config") {
                       read_http_server_config(source, name, entry, config);
                     } else {
                       read_rate_limit(source, entry, config);
                     }
                   });
  return config;
}

WebConfig load_web_config_file(const std::string& path) {
  return parse_web_config(read_whole_file(path), path);
}

}  // namespace execmond::http
