#pragma once

#include "log/log.hpp"

namespace korehook::delivery {

// The delivery module's logger, module=delivery. Never log a header value or a body through
// it. Looked up once: it runs several times per delivery (log.hpp).
inline spdlog::logger& logger() {
  static spdlog::logger& module = log::get("delivery");
  return module;
}

}  // namespace korehook::delivery
