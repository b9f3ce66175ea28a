// json::minify on any bytes: no crash; its output is valid, minified (a fixed point) and
// never longer than the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "korehook/json/minify.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto minified = korehook::json::minify(text);
  if (!minified.ok()) return 0;
  if (minified->size() > text.size()) std::abort();
  const auto again = korehook::json::minify(*minified);
  if (!again.ok() || *again != *minified) std::abort();
  if (!minified->empty() && minified->front() == '{') {
    (void)korehook::json::raw_member(*minified, "type");
  }
  return 0;
}
