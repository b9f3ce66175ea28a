#include "delivery/log.hpp"

#include <spdlog/spdlog.h>

namespace korehook::delivery {

spdlog::logger& logger() {
  // Looked up on each call so a logger the application registers or replaces later is
  // honoured; the registry lookup is cheap next to a TLS exchange.
  if (auto existing = spdlog::get("delivery")) return *existing;
  auto fallback = spdlog::default_logger();
  auto created = std::make_shared<spdlog::logger>("delivery", fallback->sinks().begin(),
                                                  fallback->sinks().end());
  created->set_level(fallback->level());
  try {
    spdlog::register_logger(created);
  } catch (const spdlog::spdlog_ex&) {
    // Registered concurrently by someone else: use theirs.
    if (auto existing = spdlog::get("delivery")) return *existing;
  }
  // The registry keeps the logger alive.
  return *created;
}

}  // namespace korehook::delivery
