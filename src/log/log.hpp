#pragma once

#include <spdlog/logger.h>

#include <string>

namespace korehook::log {

// The logger of one module (`name` shows as module=<name>): the one the application
// registered under that name, or else one created and registered now that shares the default
// logger's sinks and level. Registered, so spdlog::set_level() (e.g. on reload) reaches it.
// Thread-safe; looked up on each call (a lock and a hash), so a logger registered later is
// honoured. A registered logger is never dropped or replaced, so a hot module may keep the
// reference it returns.
// Never log a secret, a signature, an auth header or a body through it.
spdlog::logger& get(const std::string& name);

}  // namespace korehook::log
