#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace korehook {

std::string hex_lower(std::string_view bytes);
// `text` with A-Z as a-z and every other byte as it is, whatever the locale: for header
// names, host names and other protocol text that compares without case.
std::string ascii_lowercase(std::string_view text);
// Standard alphabet with padding.
std::string base64_encode(std::string_view bytes);
// Standard alphabet; padding required when the length is not a multiple of 4 is NOT
// required (both padded and unpadded input are accepted). Nullopt on invalid input.
std::optional<std::string> base64_decode(std::string_view text);

// The UTF-8 sequence that starts at text[pos] (REQUIRES pos < text.size()): `length` bytes
// when it is well-formed (1 to 4), else 0. `prefix`: how many bytes from pos begin a valid
// sequence (at least 1; what one U+FFFD replaces). `truncated`: the lead byte announces more
// bytes than the text has left.
struct Utf8Sequence {
  std::size_t length;
  std::size_t prefix;
  bool truncated;
};
Utf8Sequence utf8_sequence_at(std::string_view text, std::size_t pos);

// Makes `text` well-formed UTF-8 in place: each maximal part of an ill-formed sequence (a stray
// byte, a sequence cut short, an overlong form, a surrogate, beyond U+10FFFF) becomes U+FFFD,
// as the Unicode standard recommends. Text that is already UTF-8 is left as it is.
void make_utf8(std::string& text);

// Appends `text` as a JSON string (quotes included), escaped byte for byte as Boost.JSON's
// serializer escapes it: `"` and `\`, the five short control escapes, the other control bytes
// as \u00XX, every other byte as it is (so the result is UTF-8 when `text` is). Runs that need
// no escape are copied whole: about half of what a serializer per string costs.
void append_json_string(std::string& out, std::string_view text);

}  // namespace korehook
