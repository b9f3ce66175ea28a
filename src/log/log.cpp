#include "log/log.hpp"

#include <spdlog/spdlog.h>

namespace korehook::log {

spdlog::logger& get(const std::string& name) {
  if (auto existing = spdlog::get(name)) return *existing;
  auto fallback = spdlog::default_logger();
  auto created =
      std::make_shared<spdlog::logger>(name, fallback->sinks().begin(), fallback->sinks().end());
  created->set_level(fallback->level());
  try {
    spdlog::register_logger(created);
  } catch (const spdlog::spdlog_ex&) {
    // Registered concurrently by someone else: use theirs.
    if (auto existing = spdlog::get(name)) return *existing;
  }
  // The registry keeps the logger alive.
  return *created;
}

}  // namespace korehook::log
