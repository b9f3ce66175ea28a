#pragma once

// Human output helpers shared by every command's renderer. Everything that comes from the
// daemon goes through display() before reaching the terminal, so a stored value cannot
// inject terminal escape sequences.

#include <boost/json/fwd.hpp>
#include <boost/system/error_code.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace korehook::cli {

using Row = std::vector<std::string>;

// Columns separated by two spaces and padded to the widest cell (counted in UTF-8 code
// points); the last column is not padded, so no line has trailing spaces. Every line,
// including the header (skipped when `header` is empty), starts with `indent` spaces and
// ends with '\n'. Rows shorter than the header are padded with empty cells.
std::string format_table(const Row& header, const std::vector<Row>& rows, int indent = 0);

// `text` with control characters (C0, DEL) replaced by `\xNN` escapes.
std::string display(std::string_view text);

// A member of a JSON object as display text: strings sanitized, numbers and booleans
// spelled out, `-` when missing or null. `object` may be any value (non-objects read as
// empty).
std::string field(const boost::json::value& object, std::string_view key);
// The member, or null when missing or `object` is not an object.
const boost::json::value* member(const boost::json::value& object, std::string_view key);
// True when the member exists and is neither null nor an empty string.
bool has_field(const boost::json::value& object, std::string_view key);
// The elements of an array member; empty when missing or not an array.
std::vector<const boost::json::value*> elements(const boost::json::value& object,
                                                std::string_view key);

// The first line of `text`, sanitized, cut to `max_chars` code points ("..." marks a cut).
std::string first_line(std::string_view text, std::size_t max_chars = 60);

// The elements of an array member joined with ", " (each as field() spells a value); `-`
// when missing or not an array, "" when empty.
std::string joined(const boost::json::value& object, std::string_view key);

// "more: --cursor C\n" when a cursor-paginated page has a next_cursor, else "".
std::string next_cursor_hint(const boost::json::value& page);

// Where a delivery goes: its endpoint id, else its callback URL, else `-`.
std::string delivery_target(const boost::json::value& delivery);

// The attempts of a delivery (its "attempts" member) as a table: number, start time, status
// code or error class, duration, error detail and the first line of the response excerpt.
// "" when there are none.
std::string format_attempts(const boost::json::value& delivery, int indent = 0);

// `error: <message> (<code>, HTTP <status>)` for a non-2xx answer; falls back to a
// description of the raw body when it is not the API's error object.
std::string format_api_error(int status, std::string_view body);

// Parses a daemon answer, deep enough for any event data the daemon accepts (nested
// json::kMaxDepth levels under the answer's own objects).
boost::json::value parse_answer(std::string_view body, boost::system::error_code& ec);

}  // namespace korehook::cli
