// SPDX-License-Identifier: Apache-2.0
#include "http/web_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <vector>

#include "config/located_yaml.h"

namespace execmond::http {
namespace {

// exporter-toolkit keys execmond knows but does not implement: refused with a clear word
// rather than silently ignored, since each one changes who may read the metrics.
const std::set<std::string_view> kUnsupportedTopKeys = {"http_server_config", "rate_limit"};
const std::set<std::string_view> kUnsupportedTlsKeys = {"cert",
                                                        "key",
                                                        "client_ca",
                                                        "client_allowed_sans",
                                                        "cipher_suites",
                                                        "prefer_server_cipher_suites",
                                                        "curve_preferences"};

std::string location(const std::string& name, const YAML::Mark& mark, const std::string& subject) {
  return name + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": " +
         subject;
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// The map under `node`, each key checked: known, not repeated, a scalar.
template <typename Read>
void for_each_setting(const ConfigSource& source, const YAML::Node& node, const std::string& prefix,
                      const std::vector<std::string_view>& known,
                      const std::set<std::string_view>& unsupported, Read read) {
  std::set<std::string> seen;
  for (const auto& setting : node) {
    const YAML::Node& key_node = setting.first;
    if (!key_node.IsScalar()) {
      source.fail(key_node.Mark(), "expected a setting name, got " + describe(key_node));
    }
    source.check_quote_closed(key_node);
    const std::string& key = key_node.Scalar();
    if (unsupported.count(key) != 0) {
      source.fail(
          key_node.Mark(), prefix + key + " is not supported by execmond (supported: " + [&known] {
            std::string list;
            for (const auto name : known) {
              if (!list.empty()) list += ", ";
              list += name;
            }
            return list;
          }() + ")");
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
  for (std::size_t i = 0; i < N; ++i) {
    expected += (i == 0 ? " " : ", ");
    expected += choices[i].first;
  }
  const std::string& text = entry.scalar(expected);
  for (const auto& [name, value] : choices) {
    if (name == text) return value;
  }
  entry.reject(expected);
}

constexpr std::pair<std::string_view, ClientAuth> kClientAuthTypes[] = {
    {"NoClientCert", ClientAuth::kNoClientCert},
    {"RequestClientCert", ClientAuth::kRequestClientCert},
    {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
    {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
    {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
};

constexpr std::pair<std::string_view, TlsVersion> kTlsVersions[] = {
    {"TLS10", TlsVersion::kTls10},
    {"TLS11", TlsVersion::kTls11},
    {"TLS12", TlsVersion::kTls12},
    {"TLS13", TlsVersion::kTls13},
};

TlsSettings read_tls(const ConfigSource& source, const std::string& name, const Entry& section) {
  if (!section.value.IsMap()) {
    section.reject("expected settings such as cert_file and key_file");
  }
  TlsSettings tls;
  const std::string directory = directory_of(name);
  std::optional<YAML::Mark> max_version_mark;
  const auto read_path = [&](const Entry& entry, std::string& path, std::string& at) {
    const std::string& text = entry.scalar("expected a file name");
    if (text.empty()) entry.reject("expected a file name");
    path = text.front() == '/' ? text : directory + text;
    at = location(name, entry.value.Mark(), entry.key);
  };
  for_each_setting(
      source, section.value, "tls_server_config.",
      {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version"},
      kUnsupportedTlsKeys, [&](const std::string& key, const Entry& entry) {
        if (key == "cert_file") read_path(entry, tls.cert_file, tls.cert_file_at);
        if (key == "key_file") read_path(entry, tls.key_file, tls.key_file_at);
        if (key == "client_ca_file") read_path(entry, tls.client_ca_file, tls.client_ca_file_at);
        if (key == "client_auth_type") tls.client_auth = read_choice(entry, kClientAuthTypes);
        if (key == "min_version") tls.min_version = read_choice(entry, kTlsVersions);
        if (key == "max_version") {
          tls.max_version = read_choice(entry, kTlsVersions);
          max_version_mark = entry.value.Mark();
        }
      });
  const YAML::Mark& where = section.key_node.Mark();
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    source.fail(where, "tls_server_config: expected both cert_file and key_file");
  }
  const bool verifies = tls.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                        tls.client_auth == ClientAuth::kRequireAndVerifyClientCert;
  if (verifies && tls.client_ca_file.empty()) {
    source.fail(where, "tls_server_config: client_auth_type " +
                           std::string(kClientAuthTypes[static_cast<int>(tls.client_auth)].first) +
                           " needs client_ca_file, the CA that signs client certificates");
  }
  // As the exporter-toolkit: a CA with no policy that asks for certificates is a mistake.
  if (tls.client_auth == ClientAuth::kNoClientCert && !tls.client_ca_file.empty()) {
    source.fail(where,
                "tls_server_config: client_ca_file is set but client_auth_type is NoClientCert "
                "(use VerifyClientCertIfGiven or RequireAndVerifyClientCert)");
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
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (!std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5]))) {
    return false;
  }
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '/';
  });
}

void read_users(const ConfigSource& source, const Entry& section, WebConfig& config) {
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

}  // namespace

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
  for_each_setting(source, root, "", {"tls_server_config", "basic_auth_users"}, kUnsupportedTopKeys,
                   [&](const std::string& key, const Entry& entry) {
                     if (key == "tls_server_config") {
                       config.tls = read_tls(source, name, entry);
                     } else {
                       read_users(source, entry, config);
                     }
                   });
  return config;
}

WebConfig load_web_config_file(const std::string& path) {
  return parse_web_config(read_whole_file(path), path);
}

}  // namespace execmond::http
