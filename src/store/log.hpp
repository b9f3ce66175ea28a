#pragma once

#include <spdlog/logger.h>

namespace korehook::store {

// The store's logger, named "store". Uses the logger the application registered under that
// name, or else one sharing the default logger's sinks.
spdlog::logger& logger();

}  // namespace korehook::store
