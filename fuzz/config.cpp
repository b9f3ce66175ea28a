// The YAML config loader on any text: it returns a Config or throws ConfigError, nothing
// else (no crash, no other exception type escaping).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "korehook/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)korehook::config::parse_config(text, "fuzz.yaml");
  } catch (const korehook::config::ConfigError&) {
  }
  return 0;
}
