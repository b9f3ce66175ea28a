#pragma once

#include "log/log.hpp"

namespace korehook::store {

// The store's logger, module=store.
inline spdlog::logger& logger() { return log::get("store"); }

}  // namespace korehook::store
