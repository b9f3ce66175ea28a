#pragma once

#include <string>
#include <vector>

#include "korehook/config/config.hpp"
#include "korehook/dispatch/dispatcher.hpp"

namespace korehook::app {

// Endpoint configuration -> dispatcher targets. REQUIRES: a validated Config.
std::vector<dispatch::Target> targets_from_config(const config::Config& config);

// Runs korehookd until SIGTERM/SIGINT: opens the store, recovers interrupted deliveries,
// serves the API, delivers. SIGHUP reloads `config_path` (a bad file keeps the running
// configuration). Returns the process exit code. Throws std::runtime_error for fatal startup
// problems (store cannot be opened, socket in use).
int run_daemon(config::Config config, const std::string& config_path);

// Sets up logging to stderr with key=value fields at `level`.
void setup_logging(const std::string& level);

}  // namespace korehook::app
