#pragma once

#include <spdlog/logger.h>

namespace korehook::delivery {

// The delivery module's logger, named "delivery". Uses the logger the application registered
// under that name, or else one sharing the default logger's sinks and level.
// Never log a header value or a body through it.
spdlog::logger& logger();

}  // namespace korehook::delivery
