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
#include "korehook/delivery/sender.hpp"
#include "korehook/net/url.hpp"
#include "korehook/store/store.hpp"
#include "korehook/version.hpp"

namespace korehook::app {

namespace asio = boost::asio;

std::vector<dispatch::Target> targets_from_config(const config::Config& config) {
  std::vector<dispatch::Target> targets;
  for (const auto& ep : config.endpoints) {
    dispatch::Target t;
    t.id = ep.id;
    t.account_id = ep.account;
    t.url = net::parse_https_url(ep.url).value();  // validated by the config loader
    t.event_types = ep.event_types;
    t.enabled = ep.enabled;
    t.connect_timeout = ep.connect_timeout;
    t.read_timeout = ep.read_timeout;
    t.retry = ep.retry;
    t.max_in_flight = ep.max_in_flight;
    t.ca_file = ep.ca_file;
    t.headers = ep.headers;
    targets.push_back(std::move(t));
  }
  return targets;
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
        store::SqliteOptions{config_.store.path, config_.store.fsync},
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
    dispatcher_.emplace(io_, *store_, *sender_, clock_, random_, dispatch_options);
    dispatcher_->set_targets(targets_from_config(config_));

    api_.emplace(*store_, *dispatcher_, clock_, random_);
    api::ServerOptions server_options;
    server_options.socket_path = config_.api.socket;
    server_options.max_body_bytes = config_.api.max_body_bytes;
    server_options.max_connections = config_.api.max_connections;
    server_.emplace(io_, server_options, [this](api::Request req, api::Respond respond) {
      api_->handle(std::move(req), std::move(respond));
    });
    server_->start();

    // Sign with the stored keys before the first delivery goes out.
    store_->signing_keys([this](Result<std::map<std::string, sign::SigningKeys>> keys) {
      if (!keys.ok()) {
        spdlog::error("loading signing keys failed: {}", keys.error().message);
      } else {
        dispatcher_->set_signing_keys(std::move(*keys));
      }
      dispatcher_->start();
      sd_notify(0, "READY=1");
      spdlog::info("ready endpoints={}", config_.endpoints.size());
    });

    wait_for_signals();
    start_watchdog();
    io_.run();
    spdlog::info("korehookd stopped");
    return exit_code_;
  }

 private:
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
      dispatcher_->set_targets(targets_from_config(next));
      spdlog::info("reloaded config={} endpoints={}", config_path_, next.endpoints.size());
      config_ = std::move(next);
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
    server_->stop();
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
  std::optional<api::Api> api_;
  std::optional<api::Server> server_;
  int exit_code_ = 0;
};

}  // namespace

int run_daemon(config::Config config, const std::string& config_path) {
  Daemon daemon(std::move(config), config_path);
  return daemon.run();
}

}  // namespace korehook::app
