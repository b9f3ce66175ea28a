// json::minify on any bytes: no crash; its output is valid, minified (a fixed point) and
// never longer than the input. make_utf8 on the same bytes: its result is well-formed (a
// second pass keeps it), and text minify() accepts is UTF-8 already.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "korehook/json/minify.hpp"
#include "korehook/util/encoding.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string utf8(text);
  korehook::make_utf8(utf8);
  std::string utf8_again = utf8;
  korehook::make_utf8(utf8_again);
  if (utf8_again != utf8) std::abort();
  const auto minified = korehook::json::minify(text);
  if (!minified.ok()) return 0;
  if (utf8 != text) std::abort();
  if (minified->size() > text.size()) std::abort();
  const auto again = korehook::json::minify(*minified);
  if (!again.ok() || *again != *minified) std::abort();
  if (!minified->empty() && minified->front() == '{') {
    (void)korehook::json::find_member(korehook::json::raw_members(*minified), "type");
  }
  return 0;
}
