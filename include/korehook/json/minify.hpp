#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "korehook/util/result.hpp"

namespace korehook::json {

// The nesting accepted from outside. A parser that reads minify()'s output again (e.g.
// boost::json, whose own default is 32) must allow at least this depth.
inline constexpr int kMaxDepth = 64;

// Validates `text` as one JSON value (UTF-8, depth <= max_depth) and returns it minified:
// insignificant whitespace removed, everything else byte-for-byte as given (key order,
// number spelling, string escapes). Error code `invalid_json` with position in the message.
Result<std::string> minify(std::string_view text, int max_depth = kMaxDepth);

// One top-level member of a minified JSON object: its key, unescaped, and the raw text of
// its value.
struct RawMember {
  std::string key;
  std::string_view value;
};

// For a minified JSON object, its top-level members in document order, duplicates included:
// what a reader of a few members needs without building a DOM of the whole object.
// REQUIRES: `object_text` is the output of minify() and is an object.
std::vector<RawMember> raw_members(std::string_view object_text);

// The raw text of the member named `key`, or null. Of duplicate keys the last counts, as in
// JSON.parse and Boost.JSON.
const std::string_view* find_member(const std::vector<RawMember>& members, std::string_view key);

// The text of a JSON string token (quotes included) from minify()'s output, unescaped.
std::string raw_string_value(std::string_view token);

// For a minified JSON array, the raw text of each element, in order.
// REQUIRES: `array_text` is minify() output (or a part of it) and is an array.
std::vector<std::string_view> raw_elements(std::string_view array_text);

}  // namespace korehook::json
