#pragma once

#include "log/log.hpp"

namespace korehook::delivery {

// The delivery module's logger, module=delivery. Never log a header value or a body through
// it.
inline spdlog::logger& logger() { return log::get("delivery"); }

}  // namespace korehook::delivery
