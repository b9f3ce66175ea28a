#include "korehook/app/daemon.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>

#include "korehook/api/handlers.hpp"
#include "korehook/api/server.hpp"
#include "korehook/crypto/sealer.hpp"
#include "korehook/delivery/sender.hpp"
#include "korehook/dispatch/stream_batcher.hpp"
#include "korehook/net/url.hpp"
#include "korehook/store/store.hpp"
#include "korehook/version.hpp"

namespace korehook::app {

namespace asio = boost::asio;

// The endpoints declared in the config, as the store keeps them.
std::vector<EndpointRecord> endpoints_from_config(const config::Config& config, TimeMs now) {
  std::vector<EndpointRecord> out;
  for (const auto& ep : config.endpoints) {
    EndpointRecord r;
    r.id = ep.id;
    r.account_id = ep.account;
    r.source = EndpointSource::kConfig;
    r.settings = ep;  // the EndpointSettings part
    r.disabled_reason = ep.enabled ? DisabledReason::kNone : DisabledReason::kConfig;
    if (!ep.enabled) r.disabled_detail = "enabled: false in the configuration";
    r.created_at = now;
    r.updated_at = now;
    out.push_back(std::move(r));
  }
  for (const auto& d : config.destinations) {
    EndpointRecord r;
    r.id = d.id;
    r.account_id = d.account;
    r.source = EndpointSource::kConfig;
    r.kind = EndpointKind::kDestination;
    r.settings = d;
    r.disabled_reason = d.enabled ? DisabledReason::kNone : DisabledReason::kConfig;
    if (!d.enabled) r.disabled_detail = "enabled: false in the configuration";
    r.created_at = now;
    r.updated_at = now;
    out.push_back(std::move(r));
  }
  return out;
}

// What endpoints created through the API, and callbacks, get by default.
EndpointSettings endpoint_defaults(const config::Config& config) {
  EndpointSettings s;
  s.connect_timeout = config.defaults.connect_timeout;
  s.read_timeout = config.defaults.read_timeout;
  s.retry = config.defaults.retry;
  s.max_in_flight = config.defaults.max_in_flight;
  s.disable_after = config.defaults.disable_after;
  return s;
}

// The key that seals secrets at rest. Throws std::runtime_error with what to do.
crypto::Key load_secrets_key(const config::Config& config) {
  const std::optional<std::string> path = crypto::key_file_path(config.secrets.key_file);
  if (!path) {
    throw std::runtime_error(
        "no secrets key: secrets are encrypted at rest and need a 32-byte key. Set "
        "secrets.key_file in " +
        config.source +
        " (create the file with: openssl rand -hex 32 > FILE && chmod 600 FILE), or give "
        "korehookd the systemd credential korehook.key (LoadCredential=korehook.key:FILE)");
  }
  Result<crypto::Key> key = crypto::load_key_file(*path);
  if (!key.ok()) throw std::runtime_error(key.error().message);
  return *key;
}

void setup_logging(const std::string& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(spdlog::color_mode::never);
  auto logger = std::make_shared<spdlog::logger>("korehookd", sink);
  spdlog::set_default_logger(logger);
  // Under journald the journal stamps each line itself.
  if (std::getenv("JOURNAL_STREAM") != nullptr) {
    spdlog::set_pattern("level=%l module=%n %v");
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ level=%l module=%n %v",
                        spdlog::pattern_time_type::utc);
  }
  spdlog::set_level(spdlog::level::from_str(level));
}

namespace {

class Daemon {
 public:
  Daemon(config::Config config, std::string config_path)
      : config_(std::move(config)),
        config_path_(std::move(config_path)),
        work_guard_(io_.get_executor()),
        signals_(io_, SIGTERM, SIGINT),
        reload_signal_(io_, SIGHUP),
        watchdog_timer_(io_) {}

  int run() {
    auto log = spdlog::default_logger();
    log->info("korehookd {} starting config={}", version(), config_path_);

    store_ = store::open_sqlite_store(
        store::SqliteOptions{config_.store.path, config_.store.fsync, load_secrets_key(config_)},
        [this](std::function<void()> fn) { asio::post(io_, std::move(fn)); });
    auto recovered = store_->recover(clock_.now_ms());
    if (!recovered.ok()) {
      throw std::runtime_error("store: recovery failed: " + recovered.error().message);
    }
    if (*recovered > 0) {
      log->info("recovered {} deliveries interrupted by the previous run", *recovered);
    }

    delivery::SenderOptions sender_options;
    sender_options.ca_file = config_.tls.ca_file;
    sender_options.resolve = config_.network.resolve;
    sender_options.allow_private = config_.network.allow_private;
    sender_.emplace(io_, clock_, std::move(sender_options));

    dispatch::DispatcherOptions dispatch_options;
    dispatch_options.memory_queue = config_.delivery.memory_queue;
    dispatch_options.memory_per_endpoint = config_.delivery.memory_per_endpoint > 0
                                               ? config_.delivery.memory_per_endpoint
                                               : std::max(1, config_.delivery.memory_queue / 4);
    dispatch_options.max_in_flight_total = config_.delivery.max_in_flight;
    dispatch_options.callback = callback_target(config_);
    dispatcher_.emplace(io_, *store_, *sender_, clock_, random_, dispatch_options);
    streams_.emplace(io_, *store_, *dispatcher_, clock_, random_, config_.streams);

    api::ApiOptions api_options;
    api_options.endpoint_defaults = endpoint_defaults(config_);
    api_options.streams = &*streams_;
    api_options.send = [this](delivery::SendRequest request,
                              std::function<void(delivery::SendResult)> done) {
      sender_->send(std::move(request), std::move(done));
    };
    // URLs given to the API are resolved and checked against the address policy at once,
    // as every attempt checks them again.
    api_options.check_destination = [this](const net::HttpsUrl& url,
                                           std::function<void(std::optional<std::string>)> done) {
      sender_->check_destination(
          url, [done = std::move(done)](std::optional<delivery::SendResult> blocked) {
            if (!blocked) return done(std::nullopt);
            done(blocked->error_detail);
          });
    };
    api_.emplace(*store_, *dispatcher_, clock_, random_, std::move(api_options));

    // The config's endpoints into the store, then every endpoint into the dispatcher; then
    // the signing keys; then the API and deliveries start.
    store_->sync_config(
        endpoints_from_config(config_, clock_.now_ms()), config_.rules, clock_.now_ms(),
        [this](Result<store::ConfigSync> sync) {
          if (!sync.ok()) {
            spdlog::critical("endpoints of {}: {}", config_path_, sync.error().message);
            exit_code_ = 1;
            return stop_now();
          }
          set_targets(sync->endpoints);
          streams_->set_rules(std::move(sync->rules));
          store_->signing_keys([this](Result<std::map<std::string, sign::SigningKeys>> keys) {
            if (!keys.ok()) {
              spdlog::error("loading signing keys failed: {}", keys.error().message);
            } else {
              dispatcher_->set_signing_keys(std::move(*keys));
            }
            if (!start_server()) return;
            dispatcher_->start();
            streams_->load();  // events a previous run accepted but did not batch yet
            sd_notify(0, "READY=1");
            spdlog::info("ready endpoints={}", endpoint_count_);
          });
        });

    wait_for_signals();
    start_watchdog();
    io_.run();
    spdlog::info("korehookd stopped");
    return exit_code_;
  }

 private:
  static dispatch::Target callback_target(const config::Config& config) {
    dispatch::Target t;
    const EndpointSettings s = endpoint_defaults(config);
    const AttemptTimeouts timeouts = attempt_timeouts(s, EndpointKind::kEndpoint);
    t.connect_timeout = timeouts.connect;
    t.read_timeout = timeouts.read;
    t.timeout = timeouts.total;
    t.retry = s.retry;
    t.max_in_flight = s.max_in_flight;
    return t;
  }

  void set_targets(const std::vector<EndpointRecord>& endpoints) {
    std::vector<dispatch::Target> targets;
    for (const auto& e : endpoints) targets.push_back(dispatch::target_from_endpoint(e));
    endpoint_count_ = targets.size();
    dispatcher_->set_targets(std::move(targets));
  }

  bool start_server() {
    api::ServerOptions server_options;
    server_options.socket_path = config_.api.socket;
    server_options.max_body_bytes = config_.api.max_body_bytes;
    server_options.max_connections = config_.api.max_connections;
    server_options.allow_uids = config_.api.allow_uids;
    server_options.allow_gids = config_.api.allow_gids;
    server_.emplace(io_, server_options, [this](api::Request req, api::Respond respond) {
      api_->handle(std::move(req), std::move(respond));
    });
    try {
      server_->start();
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
      exit_code_ = 1;
      stop_now();
      return false;
    }
    return true;
  }

  // Startup failed after the store was opened: stop without draining.
  void stop_now() {
    signals_.cancel();
    reload_signal_.cancel();
    watchdog_timer_.cancel();
    store_->close();
    work_guard_.reset();
    io_.stop();
  }

  void wait_for_signals() {
    signals_.async_wait([this](boost::system::error_code ec, int signal) {
      if (!ec) shutdown(signal);
    });
    wait_for_reload();
  }

  void wait_for_reload() {
    reload_signal_.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      reload();
      wait_for_reload();
    });
  }

  void reload() {
    sd_notify(0, "RELOADING=1");
    try {
      config::Config next = config::load_config_file(config_path_);
      if (next.api.socket != config_.api.socket || next.store.path != config_.store.path) {
        spdlog::warn("reload: api.socket and store.path changes take effect at the next start");
      }
      spdlog::set_level(spdlog::level::from_str(next.log.level));
      auto endpoints = endpoints_from_config(next, clock_.now_ms());
      auto rules = next.rules;
      auto pending = std::make_shared<config::Config>(std::move(next));
      store_->sync_config(
          std::move(endpoints), std::move(rules), clock_.now_ms(),
          [this, pending](Result<store::ConfigSync> sync) {
            if (!sync.ok()) {
              spdlog::error("reload failed, keeping the running configuration: {}",
                            sync.error().message);
              return;
            }
            set_targets(sync->endpoints);
            streams_->set_rules(std::move(sync->rules));
            streams_->set_settings(pending->streams);
            dispatcher_->notify_stored();  // an endpoint enabled again has unparked work
            spdlog::info("reloaded config={} endpoints={} removed={} cancelled={}", config_path_,
                         endpoint_count_, sync->removed, sync->cancelled);
            config_ = std::move(*pending);
          });
    } catch (const std::exception& e) {
      spdlog::error("reload failed, keeping the running configuration: {}", e.what());
    }
    sd_notify(0, "READY=1");
  }

  void shutdown(int signal) {
    spdlog::info("signal={} stopping: no new events; finishing attempts in flight", signal);
    sd_notify(0, "STOPPING=1");
    signals_.cancel();
    reload_signal_.cancel();
    watchdog_timer_.cancel();
    api_->set_draining();
    if (server_) server_->stop();
    streams_->stop();  // pending rows wait in the store for the next start
    dispatcher_->stop(config_.delivery.shutdown_grace, [this] {
      store_->close();  // commits the attempts recorded so far
      sender_->close_idle();
      work_guard_.reset();
      io_.stop();
    });
  }

  void start_watchdog() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
    watchdog_interval_ = std::chrono::microseconds(usec / 2);
    kick_watchdog();
  }

  void kick_watchdog() {
    sd_notify(0, "WATCHDOG=1");
    watchdog_timer_.expires_after(watchdog_interval_);
    watchdog_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) kick_watchdog();
    });
  }

  config::Config config_;
  std::string config_path_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_guard_;
  asio::signal_set signals_;
  asio::signal_set reload_signal_;
  asio::steady_timer watchdog_timer_;
  std::chrono::microseconds watchdog_interval_{0};
  SystemClock clock_;
  SystemRandom random_;
  std::unique_ptr<store::Store> store_;
  std::optional<delivery::Sender> sender_;
  std::optional<dispatch::Dispatcher> dispatcher_;
  std::optional<dispatch::StreamBatcher> streams_;
  std::optional<api::Api> api_;
  std::optional<api::Server> server_;
  std::size_t endpoint_count_ = 0;
  int exit_code_ = 0;
};

}  // namespace

int run_daemon(config::Config config, const std::string& config_path) {
  Daemon daemon(std::move(config), config_path);
  return daemon.run();
}

}  // namespace korehook::app
