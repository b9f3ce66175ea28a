#include "korehook/config/config.hpp"

#include <arpa/inet.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <system_error>

#include "korehook/net/url.hpp"
#include "korehook/route/filter.hpp"
#include "korehook/util/encoding.hpp"
#include "yaml_value.hpp"

namespace korehook::config {
namespace {

using detail::Mapping;
using detail::Value;

constexpr std::size_t kMaxSocketPath = 107;             // sockaddr_un::sun_path minus the NUL
constexpr std::int64_t kMaxBodyBytes = 1LL << 30;       // 1 GiB
constexpr std::size_t kMaxConfigFileBytes = 16u << 20;  // 16 MiB

bool is_ip_address(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

std::string read_identifier(const Value& v, std::string_view what) {
  std::string id = v.string();
  if (!is_valid_identifier(id)) {
    v.fail("invalid " + std::string(what) + " \"" + id +
           "\" (expected 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-')");
  }
  return id;
}

// The retry policy under `v`, starting from `base`: fields not given keep base's values.
retry::RetryPolicy read_retry(const Value& v, const retry::RetryPolicy& base,
                              std::string_view base_name) {
  const Mapping m = v.mapping({"max_attempts", "initial_delay", "max_delay"});
  retry::RetryPolicy policy = base;
  if (auto x = m.get("max_attempts")) policy.max_attempts = static_cast<int>(x->integer(1, 100));
  const std::optional<Value> initial = m.get("initial_delay");
  const std::optional<Value> max = m.get("max_delay");
  if (initial) policy.initial_delay = initial->duration(false);
  if (max) policy.max_delay = max->duration(false);
  if (policy.max_delay < policy.initial_delay) {
    if (max) {
      max->fail("must not be less than initial_delay " + format_duration(policy.initial_delay) +
                " (got " + format_duration(policy.max_delay) + ")");
    }
    initial->fail("must not be greater than max_delay " + format_duration(policy.max_delay) +
                  " inherited from " + std::string(base_name) + " (got " +
                  format_duration(policy.initial_delay) + ")");
  }
  return policy;
}

void read_api(const Value& v, Config::Api& api) {
  const Mapping m =
      v.mapping({"socket", "max_body_bytes", "max_connections", "allow_uids", "allow_gids"});
  if (auto x = m.get("socket")) {
    api.socket = x->non_empty_string();
    if (api.socket.size() > kMaxSocketPath) {
      x->fail("too long for a Unix socket path (expected at most " +
              std::to_string(kMaxSocketPath) + " bytes, got " + std::to_string(api.socket.size()) +
              ")");
    }
  }
  if (auto x = m.get("max_body_bytes")) {
    api.max_body_bytes = static_cast<std::size_t>(x->integer(1, kMaxBodyBytes));
  }
  if (auto x = m.get("max_connections")) {
    api.max_connections = static_cast<int>(x->integer(1, 65536));
  }
  // uid_t/gid_t: (uid_t)-1 means "no id" to the kernel, so it is refused.
  auto ids = [](const Value& list_value, std::vector<std::uint32_t>& out) {
    const std::vector<Value> items = list_value.list();
    if (items.empty()) {
      list_value.fail("empty list (omit the key to let anyone who can open the socket in)");
    }
    for (const Value& item : items) {
      out.push_back(static_cast<std::uint32_t>(item.integer(0, 4294967294)));
    }
  };
  if (auto x = m.get("allow_uids")) ids(*x, api.allow_uids);
  if (auto x = m.get("allow_gids")) ids(*x, api.allow_gids);
}

void read_store(const Value& v, Config::Store& store) {
  const Mapping m = v.mapping({"path", "fsync"});
  if (auto x = m.get("path")) store.path = x->non_empty_string();
  if (auto x = m.get("fsync")) store.fsync = x->boolean();
}

void read_tls(const Value& v, Config::Tls& tls) {
  const Mapping m = v.mapping({"ca_file"});
  if (auto x = m.get("ca_file")) tls.ca_file = x->non_empty_string();
}

void read_network(const Value& v, Config::Network& network) {
  const Mapping m = v.mapping({"allow_private", "resolve"});
  if (auto x = m.get("allow_private")) {
    for (const Value& item : x->list()) {
      Result<net::Cidr> cidr = net::parse_cidr(item.string());
      if (!cidr) {
        item.fail(cidr.error().message + " (expected a CIDR such as 127.0.0.0/8 or ::1/128)");
      }
      network.allow_private.push_back(std::move(cidr).value());
    }
  }
  if (auto x = m.get("resolve")) {
    for (const auto& [key, value] : x->entries()) {
      // Host names compare case-insensitively; store them as URL parsing does (lowercase).
      const std::string host = ascii_lowercase(key.non_empty_string());
      if (network.resolve.count(host) != 0) {
        key.fail("duplicate host (host names are case-insensitive)");
      }
      const std::vector<Value> items = value.list();
      if (items.empty()) value.fail("must list at least one address (expected e.g. [127.0.0.1])");
      std::vector<std::string> addresses;
      for (const Value& item : items) {
        std::string address = item.string();
        if (!is_ip_address(address)) {
          item.fail("invalid IP address \"" + address + "\" (expected e.g. 127.0.0.1 or ::1)");
        }
        addresses.push_back(std::move(address));
      }
      network.resolve.emplace(host, std::move(addresses));
    }
  }
}

void read_defaults(const Value& v, Config::Defaults& defaults) {
  const Mapping m =
      v.mapping({"connect_timeout", "read_timeout", "retry", "max_in_flight", "disable_after"});
  if (auto x = m.get("connect_timeout")) defaults.connect_timeout = x->duration(false);
  if (auto x = m.get("read_timeout")) defaults.read_timeout = x->duration(false);
  if (auto x = m.get("retry")) defaults.retry = read_retry(*x, retry::RetryPolicy{}, "built-in");
  if (auto x = m.get("max_in_flight"))
    defaults.max_in_flight = static_cast<int>(x->integer(1, 1024));
  if (auto x = m.get("disable_after")) defaults.disable_after = x->duration(true);
}

void read_secrets(const Value& v, Config::Secrets& secrets) {
  const Mapping m = v.mapping({"key_file"});
  if (auto x = m.get("key_file")) secrets.key_file = x->non_empty_string();
}

void read_delivery(const Value& v, Config::Delivery& delivery) {
  const Mapping m =
      v.mapping({"shutdown_grace", "memory_queue", "memory_per_endpoint", "max_in_flight"});
  // Zero is meaningful here: stop without waiting for in-flight attempts.
  if (auto x = m.get("shutdown_grace")) delivery.shutdown_grace = x->duration(true);
  if (auto x = m.get("memory_queue"))
    delivery.memory_queue = static_cast<int>(x->integer(16, 1'000'000));
  if (auto x = m.get("memory_per_endpoint"))
    delivery.memory_per_endpoint = static_cast<int>(x->integer(1, delivery.memory_queue));
  if (auto x = m.get("max_in_flight"))
    delivery.max_in_flight = static_cast<int>(x->integer(1, 100'000));
}

void read_log(const Value& v, Config::Log& log) {
  const Mapping m = v.mapping({"level"});
  if (auto x = m.get("level")) {
    static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error"};
    log.level = x->string();
    if (std::find(std::begin(kLevels), std::end(kLevels), log.level) == std::end(kLevels)) {
      x->fail("invalid level \"" + log.level +
              "\" (expected one of: trace, debug, info, warn, error)");
    }
  }
}

void read_headers(const Value& v, EndpointConfig& ep) {
  std::set<std::string> seen;
  for (const auto& [key, value] : v.entries()) {
    std::string name = key.string();
    if (auto problem = validate_header_name(name)) key.fail(*problem);
    if (!seen.insert(ascii_lowercase(name)).second) {
      key.fail("duplicate header (header names are case-insensitive)");
    }
    std::string text = value.string();
    if (auto problem = validate_header_value(text)) value.fail(*problem);
    ep.headers.emplace_back(std::move(name), std::move(text));
  }
}

void read_signatures(const Value& v, EndpointConfig& ep) {
  ep.kore_signature = false;
  ep.standard_signature = false;
  for (const Value& item : v.list()) {
    const std::string scheme = item.string();
    bool& flag = scheme == "kore" ? ep.kore_signature : ep.standard_signature;
    if (scheme != "kore" && scheme != "standard") {
      item.fail("unknown signature scheme \"" + scheme + "\" (expected kore or standard)");
    }
    if (flag) item.fail("duplicate signature scheme \"" + scheme + "\"");
    flag = true;
  }
  if (!ep.kore_signature && !ep.standard_signature) {
    v.fail("must not be empty (expected kore, standard or both)");
  }
}

double read_rate_limit(const Value& v) {
  const std::string text = v.string();
  char* end = nullptr;
  const double rate = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(rate > 0) || rate > kMaxRateLimit) {
    v.fail("invalid rate limit \"" + text + "\" (expected requests per second, a number above 0 " +
           "and at most 100000)");
  }
  return rate;
}

// `id_lines` maps the ids seen so far to their line, for duplicate detection.
EndpointConfig read_endpoint(const Value& v, const Config::Defaults& defaults,
                             std::map<std::string, int>& id_lines) {
  const Mapping m = v.mapping({"id", "account", "url", "description", "event_types", "enabled",
                               "connect_timeout", "read_timeout", "retry", "max_in_flight",
                               "rate_limit", "disable_after", "signatures", "ca_file", "headers"});
  EndpointConfig ep;
  ep.connect_timeout = defaults.connect_timeout;
  ep.read_timeout = defaults.read_timeout;
  ep.retry = defaults.retry;
  ep.max_in_flight = defaults.max_in_flight;
  ep.disable_after = defaults.disable_after;

  const Value id = m.require("id", "an endpoint id such as ep_orders");
  ep.id = read_identifier(id, "endpoint id");
  if (const auto [it, inserted] = id_lines.emplace(ep.id, id.mark().line + 1); !inserted) {
    id.fail("duplicate endpoint id '" + ep.id + "' (first defined at line " +
            std::to_string(it->second) + ")");
  }
  if (auto x = m.get("account")) ep.account = read_identifier(*x, "account id");

  const Value url = m.require("url", "an https:// URL");
  ep.url = url.string();
  if (const Result<net::HttpsUrl> parsed = net::parse_https_url(ep.url); !parsed) {
    url.fail(parsed.error().message +
             " (expected an https:// URL such as https://example.com/hooks)");
  }

  if (auto x = m.get("description")) ep.description = x->string();
  if (auto x = m.get("event_types")) {
    ep.event_types.clear();
    for (const Value& item : x->list()) {
      std::string pattern = item.string();
      if (const std::optional<std::string> problem = route::validate_pattern(pattern)) {
        item.fail(*problem);  // route's message already says what a pattern may be
      }
      ep.event_types.push_back(std::move(pattern));
    }
    if (ep.event_types.empty()) {
      x->fail("must not be empty (expected at least one pattern, e.g. [\"*\"])");
    }
  }
  if (auto x = m.get("enabled")) ep.enabled = x->boolean();
  if (auto x = m.get("connect_timeout")) ep.connect_timeout = x->duration(false);
  if (auto x = m.get("read_timeout")) ep.read_timeout = x->duration(false);
  if (auto x = m.get("retry")) ep.retry = read_retry(*x, defaults.retry, "defaults.retry");
  if (auto x = m.get("max_in_flight")) ep.max_in_flight = static_cast<int>(x->integer(1, 1024));
  if (auto x = m.get("rate_limit")) ep.rate_limit = read_rate_limit(*x);
  if (auto x = m.get("disable_after")) ep.disable_after = x->duration(true);
  if (auto x = m.get("signatures")) read_signatures(*x, ep);
  if (auto x = m.get("ca_file")) ep.ca_file = x->non_empty_string();
  if (auto x = m.get("headers")) read_headers(*x, ep);
  return ep;
}

void read_event_streams(const Value& v, StreamSettings& streams) {
  const Mapping m = v.mapping({"source", "batch"});
  if (auto x = m.get("source")) {
    streams.source = x->non_empty_string();
    if (streams.source.size() > 200 ||
        std::any_of(streams.source.begin(), streams.source.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
      x->fail("must be 1 to 200 printable characters (expected e.g. kore-events)");
    }
  }
  if (auto x = m.get("batch")) {
    const Mapping b = x->mapping({"linger", "max_events"});
    if (auto y = b.get("linger")) {
      streams.linger = y->duration(true);
      if (streams.linger > Millis{60'000}) y->fail("must be at most 1m (expected e.g. 1s)");
    }
    if (auto y = b.get("max_events")) {
      streams.max_events = static_cast<int>(y->integer(1, kMaxBatchEvents));
    }
  }
}

EndpointConfig read_destination(const Value& v, std::map<std::string, int>& id_lines) {
  const Mapping m =
      v.mapping({"id", "account", "name", "type", "url", "enabled", "timeout", "retry", "headers"});
  EndpointConfig d;
  static_cast<EndpointSettings&>(d) = destination_defaults();
  const Value id = m.require("id", "a destination id such as dst_orders");
  d.id = read_identifier(id, "destination id");
  if (const auto [it, inserted] = id_lines.emplace(d.id, id.mark().line + 1); !inserted) {
    id.fail("duplicate id '" + d.id + "' (first defined at line " + std::to_string(it->second) +
            "; endpoints and destinations share ids)");
  }
  if (auto x = m.get("account")) d.account = read_identifier(*x, "account id");
  const Value name = m.require("name", "a name such as Orders stream");
  d.description = name.string();
  if (auto problem = validate_rule_name(d.description)) name.fail(*problem);
  if (auto x = m.get("type")) {
    if (x->string() != "webhook") x->fail("unknown destination type (expected webhook)");
  }
  const Value url = m.require("url", "an https:// URL");
  d.url = url.string();
  if (const Result<net::HttpsUrl> parsed = net::parse_https_url(d.url); !parsed) {
    url.fail(parsed.error().message +
             " (expected an https:// URL such as https://example.com/events)");
  }
  if (auto x = m.get("enabled")) d.enabled = x->boolean();
  if (auto x = m.get("timeout")) {
    const Millis timeout = x->duration(false);
    if (timeout > kMaxDestinationTimeout) {
      x->fail("must be at most " + format_duration(kMaxDestinationTimeout) + " (expected e.g. 5s)");
    }
    set_destination_timeout(d, timeout);
  }
  if (auto x = m.get("retry")) d.retry = read_retry(*x, d.retry, "the destination defaults");
  if (auto x = m.get("headers")) read_headers(*x, d);
  return d;
}

RuleRecord read_rule(const Value& v, std::set<std::string>& ids) {
  const Mapping m = v.mapping(
      {"id", "account", "name", "status", "destination", "event_types", "schema_version"});
  RuleRecord r;
  r.source = EndpointSource::kConfig;
  r.account_id = "default";
  const Value id = m.require("id", "a rule id such as rule_orders");
  r.id = read_identifier(id, "rule id");
  if (!ids.insert(r.id).second) id.fail("duplicate rule id '" + r.id + "'");
  if (auto x = m.get("account")) r.account_id = read_identifier(*x, "account id");
  const Value name = m.require("name", "a name such as Orders to the warehouse");
  r.name = name.string();
  if (auto problem = validate_rule_name(r.name)) name.fail(*problem);
  if (auto x = m.get("status")) {
    auto status = parse_rule_status(x->string());
    if (!status) x->fail("invalid status (expected enabled or disabled)");
    r.status = *status;
  }
  r.destination_id =
      read_identifier(m.require("destination", "a destination id"), "destination id");
  const Value types = m.require("event_types", "a list of patterns such as [\"sim.*\"]");
  for (const Value& item : types.list()) {
    std::string pattern = item.string();
    if (const std::optional<std::string> problem = route::validate_pattern(pattern)) {
      item.fail(*problem);
    }
    r.event_types.push_back(std::move(pattern));
  }
  if (r.event_types.empty()) types.fail("must not be empty (expected e.g. [\"sim.*\"])");
  if (auto x = m.get("schema_version")) {
    std::string version = x->string();
    if (auto problem = validate_schema_version(version)) x->fail(*problem);
    r.schema_version = std::move(version);
  }
  return r;
}

// The single document of `text`; a null node for an empty file.
// Counts documents, ignoring their content (a YAML::EventHandler that keeps nothing).
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { last_start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  YAML::Mark last_start;
};

YAML::Node load_document(std::string_view text, std::string_view source) {
  // Not YAML::LoadAll: on some malformed text (e.g. a ',' where a document should start)
  // yaml-cpp 0.7 yields empty documents forever, and LoadAll never returns (found by
  // fuzzing). Two documents are all it takes to refuse the file, so at most two are parsed.
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    DocumentCounter counter;
    if (!parser.HandleNextDocument(counter)) return YAML::Node();
    if (parser.HandleNextDocument(counter)) {
      throw ConfigError(detail::position(source, counter.last_start) +
                        "more than one YAML document (expected a single document)");
    }
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw ConfigError(detail::position(source, e.mark) + "YAML syntax error: " + e.msg);
  }
}

}  // namespace

Config parse_config(std::string_view yaml_text, std::string_view source) {
  Config config;
  config.source = std::string(source);
  const Value root(load_document(yaml_text, source), "", YAML::Mark(), config.source);
  const Mapping top =
      root.mapping({"api", "store", "tls", "network", "defaults", "delivery", "log", "secrets",
                    "endpoints", "event_streams", "destinations", "rules"});

  // Fixed order, whatever the order in the file: endpoints inherit from defaults.
  if (auto x = top.get("api")) read_api(*x, config.api);
  if (auto x = top.get("store")) read_store(*x, config.store);
  if (auto x = top.get("tls")) read_tls(*x, config.tls);
  if (auto x = top.get("network")) read_network(*x, config.network);
  if (auto x = top.get("defaults")) read_defaults(*x, config.defaults);
  if (auto x = top.get("delivery")) read_delivery(*x, config.delivery);
  if (auto x = top.get("log")) read_log(*x, config.log);
  if (auto x = top.get("secrets")) read_secrets(*x, config.secrets);
  std::map<std::string, int> id_lines;  // endpoint/destination id -> line of its first definition
  if (auto x = top.get("endpoints")) {
    for (const Value& item : x->list()) {
      config.endpoints.push_back(read_endpoint(item, config.defaults, id_lines));
    }
  }
  if (auto x = top.get("event_streams")) read_event_streams(*x, config.streams);
  if (auto x = top.get("destinations")) {
    for (const Value& item : x->list())
      config.destinations.push_back(read_destination(item, id_lines));
  }
  if (auto x = top.get("rules")) {
    std::set<std::string> rule_ids;
    for (const Value& item : x->list()) {
      RuleRecord rule = read_rule(item, rule_ids);
      // A rule may name a destination created through the API; one declared here must be a
      // destination, not an endpoint.
      const bool is_endpoint =
          std::any_of(config.endpoints.begin(), config.endpoints.end(),
                      [&](const EndpointConfig& e) { return e.id == rule.destination_id; });
      if (is_endpoint) {
        item.fail("destination '" + rule.destination_id +
                  "' is an endpoint (expected the id of a destination)");
      }
      config.rules.push_back(std::move(rule));
    }
  }
  return config;
}

Config load_config_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  const auto cannot_read = [&path](const std::string& why) {
    return ConfigError(path + ": cannot read: " + why);
  };
  if (!file) throw cannot_read(std::error_code(errno, std::generic_category()).message());
  std::string text;
  char buf[65536];
  while (true) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, file.get());
    text.append(buf, n);
    if (text.size() > kMaxConfigFileBytes) {
      throw cannot_read("larger than " + std::to_string(kMaxConfigFileBytes >> 20) + " MiB");
    }
    if (n < sizeof buf) break;
  }
  if (std::ferror(file.get()) != 0) {
    throw cannot_read(std::error_code(errno, std::generic_category()).message());
  }
  return parse_config(text, path);
}

}  // namespace korehook::config
