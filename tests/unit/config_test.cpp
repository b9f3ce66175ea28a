#include "korehook/config/config.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <unistd.h>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using korehook::Millis;
using korehook::config::Config;
using korehook::config::ConfigError;
using korehook::config::load_config_file;
using korehook::config::parse_config;

namespace {

// The ConfigError message for `yaml` (named korehook.yaml); fails the test when it parses.
std::string error_of(std::string_view yaml) {
  try {
    (void)parse_config(yaml, "korehook.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("expected a ConfigError for:\n" << yaml);
  return {};
}

// A minimal valid endpoint list, to which tests append lines of the endpoint.
constexpr std::string_view kEndpointHead =
    "endpoints:\n"
    "  - id: ep_a\n"
    "    url: https://hooks.example.com/in\n";

// A temporary file removed at scope exit.
class TempFile {
 public:
  explicit TempFile(std::string_view text)
      : path_(std::filesystem::temp_directory_path() /
              ("korehook_config_test_" + std::to_string(::getpid()) + "_" +
               std::to_string(counter_++) + ".yaml")) {
    std::ofstream out(path_, std::ios::binary);
    out << text;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

}  // namespace

TEST_CASE("config: empty document gives the built-in defaults", "[config]") {
  const Config c = parse_config("", "empty.yaml");
  CHECK(c.source == "empty.yaml");
  CHECK(c.api.socket == "/run/korehook/api.sock");
  CHECK(c.api.max_body_bytes == 1u << 20);
  CHECK(c.store.path == "/var/lib/korehook/korehook.db");
  CHECK(c.store.fsync);
  CHECK_FALSE(c.tls.ca_file);
  CHECK(c.defaults.retry.max_attempts == 8);
  CHECK(c.defaults.retry.max_delay == Millis(10LL * 3600 * 1000));
  CHECK(c.log.level == "info");
  CHECK(c.endpoints.empty());

  const Config comments_only = parse_config("# nothing here\n", "c.yaml");
  CHECK(comments_only.endpoints.empty());
}

TEST_CASE("config: a full valid config", "[config]") {
  const Config c = parse_config(R"(api:
  socket: ./run/api.sock
  max_body_bytes: 65536
  max_connections: 32
store:
  path: ./var/k.db
  fsync: false
tls:
  ca_file: /etc/ssl/private-ca.pem
network:
  allow_private: ["127.0.0.0/8", "::1/128"]
  resolve:
    Hooks.Example.TEST: ["127.0.0.1", "::1"]
defaults:
  connect_timeout: 2s
  read_timeout: 30s
  retry: {max_attempts: 4, initial_delay: 200ms, max_delay: 2h}
  max_in_flight: 8
delivery:
  shutdown_grace: 0s
  memory_queue: 16
  memory_per_endpoint: 5
  max_in_flight: 7
log:
  level: debug
endpoints:
  - id: ep_orders
    account: acct-1
    url: https://hooks.example.com:8443/in?x=1
    description: "Orders: all events"
    event_types: ["sim.*", order.created]
    enabled: false
    connect_timeout: 1s
    read_timeout: 10m
    retry:
      max_attempts: 100
      initial_delay: 1s
      max_delay: 1m
    max_in_flight: 1024
    ca_file: certs/ca.pem
    headers:
      X-Env: lab
      Authorization-Hint: "abc 123"
      X-Version: 2
)",
                                "full.yaml");
  CHECK(c.source == "full.yaml");
  CHECK(c.api.socket == "./run/api.sock");
  CHECK(c.api.max_body_bytes == 65536);
  CHECK(c.api.max_connections == 32);
  CHECK(c.store.path == "./var/k.db");
  CHECK_FALSE(c.store.fsync);
  CHECK(c.tls.ca_file == "/etc/ssl/private-ca.pem");
  REQUIRE(c.network.allow_private.size() == 2);
  CHECK(c.network.allow_private[0].v4);
  CHECK_FALSE(c.network.allow_private[1].v4);
  REQUIRE(c.network.resolve.size() == 1);
  CHECK(c.network.resolve.at("hooks.example.test") == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(c.defaults.connect_timeout == Millis(2'000));
  CHECK(c.defaults.read_timeout == Millis(30'000));
  CHECK(c.defaults.retry.max_attempts == 4);
  CHECK(c.defaults.retry.initial_delay == Millis(200));
  CHECK(c.defaults.retry.max_delay == Millis(2LL * 3600 * 1000));
  CHECK(c.defaults.max_in_flight == 8);
  CHECK(c.delivery.shutdown_grace == Millis(0));
  CHECK(c.delivery.memory_queue == 16);
  CHECK(c.delivery.memory_per_endpoint == 5);
  CHECK(c.delivery.max_in_flight == 7);
  CHECK(c.log.level == "debug");

  REQUIRE(c.endpoints.size() == 1);
  const auto& ep = c.endpoints[0];
  CHECK(ep.id == "ep_orders");
  CHECK(ep.account == "acct-1");
  CHECK(ep.url == "https://hooks.example.com:8443/in?x=1");
  CHECK(ep.description == "Orders: all events");
  CHECK(ep.event_types == std::vector<std::string>{"sim.*", "order.created"});
  CHECK_FALSE(ep.enabled);
  CHECK(ep.connect_timeout == Millis(1'000));
  CHECK(ep.read_timeout == Millis(600'000));
  CHECK(ep.retry.max_attempts == 100);
  CHECK(ep.retry.initial_delay == Millis(1'000));
  CHECK(ep.retry.max_delay == Millis(60'000));
  CHECK(ep.max_in_flight == 1024);
  CHECK(ep.ca_file == "certs/ca.pem");
  using H = std::pair<std::string, std::string>;
  CHECK(ep.headers ==
        std::vector<H>{{"X-Env", "lab"}, {"Authorization-Hint", "abc 123"}, {"X-Version", "2"}});
}

TEST_CASE("config: endpoints inherit defaults whatever the key order", "[config]") {
  // `endpoints` comes before `defaults` on purpose.
  const Config c = parse_config(R"(endpoints:
  - id: ep_plain
    url: https://a.example.com/
  - id: ep_partial
    url: https://b.example.com/
    read_timeout: 1s
    retry:
      max_attempts: 2
defaults:
  connect_timeout: 3s
  read_timeout: 20s
  retry: {max_attempts: 5, initial_delay: 10s, max_delay: 1h}
  max_in_flight: 4
)",
                                "k.yaml");
  REQUIRE(c.endpoints.size() == 2);
  const auto& plain = c.endpoints[0];
  CHECK(plain.account == "default");
  CHECK(plain.event_types == std::vector<std::string>{"*"});
  CHECK(plain.enabled);
  CHECK(plain.connect_timeout == Millis(3'000));
  CHECK(plain.read_timeout == Millis(20'000));
  CHECK(plain.retry.max_attempts == 5);
  CHECK(plain.retry.initial_delay == Millis(10'000));
  CHECK(plain.retry.max_delay == Millis(3'600'000));
  CHECK(plain.max_in_flight == 4);
  CHECK_FALSE(plain.ca_file);
  CHECK(plain.headers.empty());

  const auto& partial = c.endpoints[1];
  CHECK(partial.connect_timeout == Millis(3'000));
  CHECK(partial.read_timeout == Millis(1'000));
  CHECK(partial.retry.max_attempts == 2);
  CHECK(partial.retry.initial_delay == Millis(10'000));  // from defaults.retry
  CHECK(partial.retry.max_delay == Millis(3'600'000));

  // A partial defaults.retry keeps the built-in values for the rest.
  const Config d = parse_config("defaults:\n  retry:\n    max_attempts: 3\n", "k.yaml");
  CHECK(d.defaults.retry.max_attempts == 3);
  CHECK(d.defaults.retry.initial_delay == Millis(5'000));
  CHECK(d.defaults.retry.max_delay == Millis(10LL * 3600 * 1000));
}

TEST_CASE("config: unknown keys are rejected with a suggestion", "[config]") {
  CHECK(error_of("defaults:\n  read_timout: 5s\n") ==
        "korehook.yaml:2:3: defaults.read_timout: unknown key 'read_timout' "
        "(did you mean 'read_timeout'?)");
  // Transposition and case count as small edits.
  CHECK(error_of(std::string(kEndpointHead) + "    retry:\n      max_attmepts: 3\n") ==
        "korehook.yaml:5:7: endpoints[0].retry.max_attmepts: unknown key 'max_attmepts' "
        "(did you mean 'max_attempts'?)");
  CHECK(error_of("API:\n  socket: /tmp/x\n") ==
        "korehook.yaml:1:1: API: unknown key 'API' (did you mean 'api'?)");
  // Nothing close: list what is allowed.
  CHECK(error_of("log:\n  level: info\nlisteners: []\n") ==
        "korehook.yaml:3:1: listeners: unknown key 'listeners' (expected one of: api, store, "
        "tls, network, defaults, delivery, log, secrets, endpoints, event_streams, destinations, "
        "rules)");
}

TEST_CASE("config: wrong types", "[config]") {
  CHECK(error_of(std::string(kEndpointHead) + "    retry:\n      max_attempts: five\n") ==
        "korehook.yaml:5:21: endpoints[0].retry.max_attempts: wrong type: got string \"five\" "
        "(expected an integer)");
  // A quoted number is a string.
  CHECK(error_of("defaults:\n  max_in_flight: \"4\"\n") ==
        "korehook.yaml:2:18: defaults.max_in_flight: wrong type: got string \"4\" "
        "(expected an integer)");
  CHECK(error_of("store:\n  fsync: yes\n") ==
        "korehook.yaml:2:10: store.fsync: wrong type: got string \"yes\" (expected true or false)");
  CHECK(error_of("api: [1, 2]\n") ==
        "korehook.yaml:1:6: api: wrong type: got a list (expected a mapping)");
  CHECK(error_of("endpoints:\n  id: x\n") ==
        "korehook.yaml:2:3: endpoints: wrong type: got a mapping (expected a list)");
  // An empty value is null, cited at its key.
  CHECK(error_of("store:\n  path:\nlog:\n  level: info\n") ==
        "korehook.yaml:2:3: store.path: wrong type: got null (expected a string)");
  CHECK(error_of("- a\n- b\n") == "korehook.yaml:1:1: wrong type: got a list (expected a mapping)");
}

TEST_CASE("config: out-of-range numbers", "[config]") {
  CHECK(error_of(std::string(kEndpointHead) + "    retry:\n      max_attempts: 0\n") ==
        "korehook.yaml:5:21: endpoints[0].retry.max_attempts: must be between 1 and 100 (got 0)");
  CHECK(error_of("delivery:\n  memory_queue: 15\n") ==
        "korehook.yaml:2:17: delivery.memory_queue: must be between 16 and 1000000 (got 15)");
  // One endpoint's share cannot exceed the whole queue.
  CHECK(error_of("delivery:\n  memory_queue: 100\n  memory_per_endpoint: 101\n") ==
        "korehook.yaml:3:24: delivery.memory_per_endpoint: must be between 1 and 100 (got 101)");
  CHECK(error_of("defaults:\n  max_in_flight: 99999999999999999999999\n") ==
        "korehook.yaml:2:18: defaults.max_in_flight: must be between 1 and 1024 "
        "(got 99999999999999999999999)");
}

TEST_CASE("config: bad durations", "[config]") {
  CHECK(error_of("defaults:\n  connect_timeout: 5x\n") ==
        "korehook.yaml:2:20: defaults.connect_timeout: invalid duration \"5x\" (expected a whole "
        "number followed by ms, s, m or h, e.g. 200ms, 5s, 10m, 2h)");
  CHECK_THAT(error_of(std::string(kEndpointHead) + "    read_timeout: 15\n"),
             StartsWith("korehook.yaml:4:19: endpoints[0].read_timeout: invalid duration \"15\""));
  CHECK(error_of(std::string(kEndpointHead) + "    connect_timeout: 0s\n") ==
        "korehook.yaml:4:22: endpoints[0].connect_timeout: must be greater than 0 (got 0s)");
  // Bounded, so that `now + delay` and a timer's nanoseconds cannot overflow.
  CHECK(error_of("defaults:\n  connect_timeout: 3000000h\n") ==
        "korehook.yaml:2:20: defaults.connect_timeout: must be at most 8760h (got 3000000h)");
  CHECK(parse_config("defaults:\n  retry: {max_delay: 8760h}\n", "korehook.yaml")
            .defaults.retry.max_delay == Millis{365LL * 24 * 3600 * 1000});
  CHECK(error_of("defaults:\n  retry: {initial_delay: 1m, max_delay: 30s}\n") ==
        "korehook.yaml:2:41: defaults.retry.max_delay: must not be less than initial_delay 1m "
        "(got 30s)");
  // max_delay inherited from defaults.retry (10h) below the endpoint's initial_delay.
  CHECK(error_of(std::string(kEndpointHead) + "    retry: {initial_delay: 11h}\n") ==
        "korehook.yaml:4:28: endpoints[0].retry.initial_delay: must not be greater than "
        "max_delay 10h inherited from defaults.retry (got 11h)");
}

TEST_CASE("config: endpoint url must be https", "[config]") {
  const std::string e = error_of(
      "endpoints:\n"
      "  - id: ep_a\n"
      "    url: http://hooks.example.com/in\n");
  CHECK_THAT(e, StartsWith("korehook.yaml:3:10: endpoints[0].url: "));
  CHECK_THAT(e, Contains("(expected an https:// URL such as https://example.com/hooks)"));
}

TEST_CASE("config: missing required endpoint keys cite the endpoint", "[config]") {
  CHECK(error_of("endpoints:\n"
                 "  - id: ep_a\n"
                 "    url: https://a.example.com/\n"
                 "  - id: ep_b\n"
                 "    description: no url\n") ==
        "korehook.yaml:4:5: endpoints[1].url: required key is missing "
        "(expected an https:// URL)");
  CHECK(error_of("endpoints:\n  - url: https://a.example.com/\n") ==
        "korehook.yaml:2:5: endpoints[0].id: required key is missing "
        "(expected an endpoint id such as ep_orders)");
  CHECK(error_of("endpoints:\n  - {}\n") ==
        "korehook.yaml:2:5: endpoints[0].id: required key is missing "
        "(expected an endpoint id such as ep_orders)");
}

TEST_CASE("config: endpoint ids", "[config]") {
  CHECK(error_of("endpoints:\n"
                 "  - id: ep_a\n"
                 "    url: https://a.example.com/\n"
                 "  - id: ep_a\n"
                 "    url: https://b.example.com/\n") ==
        "korehook.yaml:4:9: endpoints[1].id: duplicate endpoint id 'ep_a' (first defined at "
        "line 2)");
  CHECK(error_of("endpoints:\n  - id: ep a\n    url: https://a.example.com/\n") ==
        "korehook.yaml:2:9: endpoints[0].id: invalid endpoint id \"ep a\" (expected 1 to 64 "
        "characters of A-Z, a-z, 0-9, '_' or '-')");
  const std::string long_id(65, 'x');
  CHECK_THAT(error_of("endpoints:\n  - id: " + long_id + "\n    url: https://a.example.com/\n"),
             StartsWith("korehook.yaml:2:9: endpoints[0].id: invalid endpoint id"));
  CHECK(parse_config(
            "endpoints:\n  - id: " + std::string(64, 'x') + "\n    url: https://a.example.com/\n",
            "k.yaml")
            .endpoints.size() == 1);
}

TEST_CASE("config: custom headers", "[config]") {
  CHECK(error_of(std::string(kEndpointHead) + "    headers:\n      Kore-Signature: forged\n") ==
        "korehook.yaml:5:7: endpoints[0].headers[\"Kore-Signature\"]: header 'Kore-Signature' is "
        "reserved: korehook sets it (expected a custom header name)");
  CHECK_THAT(error_of(std::string(kEndpointHead) + "    headers:\n      user-agent: x\n"),
             StartsWith("korehook.yaml:5:7: endpoints[0].headers[\"user-agent\"]: header "
                        "'user-agent' is reserved"));
  CHECK_THAT(error_of(std::string(kEndpointHead) + "    headers:\n      \"X Bad\": v\n"),
             StartsWith("korehook.yaml:5:7: endpoints[0].headers[\"X Bad\"]: invalid header name"));
  CHECK(error_of(std::string(kEndpointHead) + "    headers:\n      X-A: \"a\\r\\nX-B: b\"\n") ==
        "korehook.yaml:5:12: endpoints[0].headers[\"X-A\"]: header value must not contain CR, "
        "LF or NUL");
  CHECK(error_of(std::string(kEndpointHead) + "    headers:\n      X-A: a\n      x-a: b\n") ==
        "korehook.yaml:6:7: endpoints[0].headers[\"x-a\"]: duplicate header (header names are "
        "case-insensitive)");
}

TEST_CASE("config: event type patterns", "[config]") {
  CHECK(error_of(std::string(kEndpointHead) + "    event_types: []\n") ==
        "korehook.yaml:4:18: endpoints[0].event_types: must not be empty (expected at least one "
        "pattern, e.g. [\"*\"])");
  CHECK_THAT(error_of(std::string(kEndpointHead) + "    event_types: [\"sim.*\", \"bad type\"]\n"),
             StartsWith("korehook.yaml:4:28: endpoints[0].event_types[1]: "));
}

TEST_CASE("config: network section", "[config]") {
  const std::string e = error_of("network:\n  allow_private: [\"127.0.0.0/8\", \"10.0.0.1/8\"]\n");
  CHECK_THAT(e, StartsWith("korehook.yaml:2:34: network.allow_private[1]: "));
  CHECK_THAT(e, Contains("(expected a CIDR such as 127.0.0.0/8 or ::1/128)"));
  CHECK_THAT(error_of("network:\n  allow_private: [\"not-a-cidr\"]\n"),
             StartsWith("korehook.yaml:2:19: network.allow_private[0]: "));

  CHECK(error_of("network:\n  resolve:\n    a.example: [\"127.0.0.1\", \"300.1.1.1\"]\n") ==
        "korehook.yaml:3:30: network.resolve[\"a.example\"][1]: invalid IP address "
        "\"300.1.1.1\" (expected e.g. 127.0.0.1 or ::1)");
  CHECK(error_of("network:\n  resolve:\n    a.example: []\n") ==
        "korehook.yaml:3:16: network.resolve[\"a.example\"]: must list at least one address "
        "(expected e.g. [127.0.0.1])");
  CHECK(error_of("network:\n  resolve:\n    a.example: [\"::1\"]\n    A.Example: [\"::1\"]\n") ==
        "korehook.yaml:4:5: network.resolve[\"A.Example\"]: duplicate host (host names are "
        "case-insensitive)");
}

TEST_CASE("config: other bad values", "[config]") {
  CHECK(error_of("log:\n  level: verbose\n") ==
        "korehook.yaml:2:10: log.level: invalid level \"verbose\" (expected one of: trace, "
        "debug, info, warn, error)");
  CHECK_THAT(error_of("api:\n  socket: /" + std::string(107, 's') + "\n"),
             StartsWith("korehook.yaml:2:11: api.socket: too long for a Unix socket path "
                        "(expected at most 107 bytes, got 108)"));
  CHECK(error_of("store:\n  path: \"\"\n") ==
        "korehook.yaml:2:9: store.path: must not be empty (expected a non-empty string)");
  CHECK(error_of("log:\n  level: info\n  level: warn\n") ==
        "korehook.yaml:3:3: log.level: duplicate key 'level' (first given at line 2)");
  CHECK(error_of("log: {level: info}\n---\nlog: {level: warn}\n") ==
        "korehook.yaml:2:1: more than one YAML document (expected a single document)");
}

TEST_CASE("config: YAML syntax errors carry a position", "[config]") {
  CHECK(error_of("log:\n  level: info\nendpoints: [\n  {id: a\n") ==
        "korehook.yaml:5:1: YAML syntax error: end of map flow not found");
  CHECK(error_of("api:\n  socket: a: b\n") ==
        "korehook.yaml:2:12: YAML syntax error: illegal map value");
  CHECK_THAT(error_of("log:\n  level: *missing\n"), StartsWith("korehook.yaml:2:10: YAML syntax "
                                                               "error: "));
}

TEST_CASE("config: load_config_file", "[config]") {
  SECTION("unreadable file") {
    try {
      (void)load_config_file("/nonexistent/korehook.yaml");
      FAIL("no error");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) ==
            "/nonexistent/korehook.yaml: cannot read: No such file or directory");
    }
  }
  SECTION("a directory") {
    try {
      (void)load_config_file(std::filesystem::temp_directory_path().string());
      FAIL("no error");
    } catch (const ConfigError& e) {
      CHECK_THAT(e.what(), Contains(": cannot read: Is a directory"));
    }
  }
  SECTION("messages name the file") {
    const TempFile file("log:\n  levle: info\n");
    try {
      (void)load_config_file(file.path());
      FAIL("no error");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) == file.path() +
                                         ":2:3: log.levle: unknown key 'levle' (did you mean "
                                         "'level'?)");
    }
  }
  SECTION("a valid file") {
    const TempFile file("log:\n  level: warn\n");
    const Config c = load_config_file(file.path());
    CHECK(c.source == file.path());
    CHECK(c.log.level == "warn");
  }
}

TEST_CASE("config: the shipped example parses", "[config]") {
  const auto path =
      std::filesystem::path(__FILE__).parent_path() / "../../config/korehook.example.yaml";
  const Config c = load_config_file(path.lexically_normal().string());
  CHECK(c.api.socket == "./run/api.sock");
  CHECK(c.store.path == "./var/korehook.db");
  CHECK_FALSE(c.tls.ca_file);
  REQUIRE(c.network.allow_private.size() == 1);
  CHECK(c.network.allow_private[0].text == "127.0.0.0/8");
  CHECK(c.defaults.connect_timeout == Millis(5'000));
  CHECK(c.defaults.read_timeout == Millis(15'000));
  CHECK(c.defaults.retry.max_attempts == 8);
  CHECK(c.defaults.retry.initial_delay == Millis(5'000));
  CHECK(c.defaults.retry.max_delay == Millis(10LL * 3600 * 1000));
  REQUIRE(c.endpoints.size() == 1);
  const auto& ep = c.endpoints[0];
  CHECK(ep.id == "ep_example");
  CHECK(ep.url == "https://localhost:9443/hooks");
  CHECK(ep.event_types == std::vector<std::string>{"sim.*"});
  CHECK(ep.connect_timeout == Millis(5'000));
  CHECK(ep.read_timeout == Millis(15'000));
  CHECK(ep.retry.max_attempts == 3);
  CHECK(ep.retry.initial_delay == Millis(1'000));
  CHECK(ep.retry.max_delay == Millis(60'000));
}

TEST_CASE("config: endpoint rate limit, signatures, disable_after and the secrets key",
          "[config]") {
  const Config c = parse_config(
      "secrets:\n  key_file: /etc/korehook/secrets.key\n"
      "defaults:\n  disable_after: 48h\n" +
          std::string(kEndpointHead) +
          "    rate_limit: 2.5\n    signatures: [standard]\n"
          "  - id: ep_b\n    url: https://b.example.com/\n    disable_after: 0s\n",
      "k.yaml");
  CHECK(c.secrets.key_file == "/etc/korehook/secrets.key");
  REQUIRE(c.endpoints.size() == 2);
  CHECK(c.endpoints[0].rate_limit == 2.5);
  CHECK_FALSE(c.endpoints[0].kore_signature);
  CHECK(c.endpoints[0].standard_signature);
  CHECK(c.endpoints[0].disable_after == Millis(48LL * 3600 * 1000));  // from defaults
  CHECK(c.endpoints[1].disable_after == Millis(0));
  CHECK(c.endpoints[1].kore_signature);
  CHECK_FALSE(c.endpoints[1].rate_limit.has_value());

  CHECK(error_of(std::string(kEndpointHead) + "    rate_limit: 0\n") ==
        "korehook.yaml:4:17: endpoints[0].rate_limit: invalid rate limit \"0\" (expected requests "
        "per second, a number above 0 and at most 100000)");
  CHECK_THAT(
      error_of(std::string(kEndpointHead) + "    signatures: [hmac]\n"),
      StartsWith("korehook.yaml:4:18: endpoints[0].signatures[0]: unknown signature scheme"));
  CHECK_THAT(error_of(std::string(kEndpointHead) + "    signatures: []\n"),
             StartsWith("korehook.yaml:4:17: endpoints[0].signatures: must not be empty"));
  CHECK_THAT(error_of(std::string(kEndpointHead) + "    signatures: [kore, kore]\n"),
             StartsWith("korehook.yaml:4:24: endpoints[0].signatures[1]: duplicate"));
  CHECK_THAT(error_of("secrets:\n  key_file: \"\"\n"),
             StartsWith("korehook.yaml:2:13: secrets.key_file:"));
}

TEST_CASE("config: text on which yaml-cpp's LoadAll never returns is refused", "[config]") {
  // Each of these makes yaml-cpp 0.7's LoadAll loop forever (found by fuzzing).
  for (const char* text :
       {",", " ,", ",\n", "#x\n,", "# c\n,a", "a: [1]\n---\n,", "{a: 1}\n,", "[1, 2] # c\n  ,",
        "#.0]N10__cxxabiv121__vmi_class_type_info\x05NSt\n,", "&&&&&&&&&&&&&&&&,"}) {
    INFO(text);
    CHECK_THAT(error_of(text), StartsWith("korehook.yaml:"));
  }
  // Commas inside scalars and flow collections are fine.
  CHECK(parse_config("log: {level: \"info\"}\nendpoints: []\n", "k.yaml").log.level == "info");
  CHECK(parse_config("endpoints:\n  - id: a\n    url: https://x.example/\n    description: a, b\n",
                     "k.yaml")
            .endpoints[0]
            .description == "a, b");
}
