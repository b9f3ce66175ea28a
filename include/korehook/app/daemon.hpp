#pragma once

#include <string>
#include <vector>

#include "korehook/config/config.hpp"
#include "korehook/dispatch/dispatcher.hpp"

namespace korehook::app {

// The endpoints a validated Config declares, as the store keeps them (source kConfig).
std::vector<EndpointRecord> endpoints_from_config(const config::Config& config, TimeMs now);

// Runs korehookd until SIGTERM/SIGINT: opens the store, recovers interrupted deliveries,
// serves the API, delivers. SIGHUP reloads `config_path` (a bad file keeps the running
// configuration). Returns the process exit code. Throws std::runtime_error for fatal startup
// problems (no secrets key, store cannot be opened, socket in use).
int run_daemon(config::Config config, const std::string& config_path);

// Sets up logging to stderr with key=value fields at `level`.
void setup_logging(const std::string& level);

}  // namespace korehook::app
