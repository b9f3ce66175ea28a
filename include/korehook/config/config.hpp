#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "korehook/model/endpoint.hpp"
#include "korehook/model/stream.hpp"
#include "korehook/net/cidr.hpp"
#include "korehook/retry/policy.hpp"
#include "korehook/util/time.hpp"

namespace korehook::config {

// A configuration error. what() is the full message:
// `file:line:column: key.path: problem (expected ...)`.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An endpoint declared in YAML: the settings of an endpoint (model/endpoint.hpp) plus its id,
// account and whether it is enabled.
struct EndpointConfig : EndpointSettings {
  std::string id;  // [A-Za-z0-9_-]{1,64}, unique
  std::string account = "default";
  bool enabled = true;
};

struct Config {
  std::string source;  // file name the config came from, for messages

  struct Api {
    std::string socket = "/run/korehook/api.sock";
    std::size_t max_body_bytes = 1 << 20;  // 1 MiB
    int max_connections = 256;
    // Peers (SO_PEERCRED) allowed to use the socket: a connection is served when its uid is in
    // allow_uids or its primary gid in allow_gids. Both empty (the default): anyone who can
    // open the socket. Root is not implicitly allowed (docs/security.md).
    std::vector<std::uint32_t> allow_uids;
    std::vector<std::uint32_t> allow_gids;
  } api;

  struct Store {
    std::string path = "/var/lib/korehook/korehook.db";
    bool fsync = true;  // synchronous=FULL (true) or NORMAL (false)
  } store;

  struct Tls {
    std::optional<std::string> ca_file;  // system trust store when absent
  } tls;

  struct Network {
    std::vector<net::Cidr> allow_private;
    // Static name -> addresses overrides (like curl --resolve), for labs and tests.
    std::map<std::string, std::vector<std::string>> resolve;
  } network;

  struct Defaults {
    Millis connect_timeout{5'000};
    Millis read_timeout{15'000};
    retry::RetryPolicy retry;  // {8, 5s, 10h}
    int max_in_flight = 16;
    Millis disable_after = kDefaultDisableAfter;  // 0: never disable a failing endpoint
  } defaults;

  struct Secrets {
    // Key that encrypts secrets at rest (64 hex characters); when absent,
    // $CREDENTIALS_DIRECTORY/korehook.key (systemd LoadCredential=).
    std::optional<std::string> key_file;
  } secrets;

  struct Delivery {
    Millis shutdown_grace{10'000};  // how long SIGTERM waits for in-flight attempts
    int memory_queue = 4096;  // deliveries held in memory at most (the rest wait in the store)
    // Deliveries of one endpoint held in memory, about (so that a dead endpoint cannot fill
    // memory); 0: a quarter of memory_queue.
    int memory_per_endpoint = 0;
    // Attempts in flight at once over all endpoints and callbacks: bounds the connections
    // (and their TLS buffers) whatever the number of endpoints.
    int max_in_flight = 128;
  } delivery;

  struct Log {
    std::string level = "info";  // trace, debug, info, warn, error
  } log;

  std::vector<EndpointConfig> endpoints;

  // Event Streams (`event_streams:`): the CloudEvents source and the batching window.
  StreamSettings streams;
  // `destinations:`: endpoints of kind kDestination; the name is kept in `description`,
  // `event_types` is empty (rules feed them).
  std::vector<EndpointConfig> destinations;
  // `rules:`; source kConfig.
  std::vector<RuleRecord> rules;
};

// Parses and validates YAML text. `source` names the file in messages.
// Throws ConfigError on the first problem.
Config parse_config(std::string_view yaml_text, std::string_view source);

// Reads and parses a file. Throws ConfigError (also when the file cannot be read).
Config load_config_file(const std::string& path);

}  // namespace korehook::config
