#include "cli/output.hpp"

#include "korehook/json/minify.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cstdio>

namespace korehook::cli {
namespace json = boost::json;

namespace {

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++width;  // count UTF-8 lead bytes only
  }
  return width;
}

void append_line(std::string& out, const Row& row, const std::vector<std::size_t>& widths,
                 int indent) {
  std::string line(static_cast<std::size_t>(indent), ' ');
  for (std::size_t i = 0; i < widths.size(); ++i) {
    const std::string_view cell = i < row.size() ? std::string_view(row[i]) : std::string_view();
    line += cell;
    if (i + 1 < widths.size()) line.append(widths[i] - display_width(cell) + 2, ' ');
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();  // empty trailing cells
  out += line;
  out += '\n';
}

}  // namespace

std::string format_table(const Row& header, const std::vector<Row>& rows, int indent) {
  std::size_t columns = header.size();
  for (const Row& row : rows) columns = std::max(columns, row.size());
  std::vector<std::size_t> widths(columns, 0);
  auto measure = [&](const Row& row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  };
  measure(header);
  for (const Row& row : rows) measure(row);

  std::string out;
  if (!header.empty()) append_line(out, header, widths, indent);
  for (const Row& row : rows) append_line(out, row, widths, indent);
  return out;
}

std::string display(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", u);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

const json::value* member(const json::value& object, std::string_view key) {
  const json::object* o = object.if_object();
  return o ? o->if_contains(key) : nullptr;
}

std::string field(const json::value& object, std::string_view key) {
  const json::value* v = member(object, key);
  if (!v || v->is_null()) return "-";
  if (const json::string* s = v->if_string()) return display(*s);
  if (v->is_double()) {
    // Shortest round-trip form ("2.5"); serialize() would write "2.5E0".
    char buffer[32];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v->get_double());
    if (ec == std::errc{}) return std::string(buffer, end);
  }
  return display(json::serialize(*v));
}

bool has_field(const json::value& object, std::string_view key) {
  const json::value* v = member(object, key);
  if (!v || v->is_null()) return false;
  const json::string* s = v->if_string();
  return !s || !s->empty();
}

std::vector<const json::value*> elements(const json::value& object, std::string_view key) {
  std::vector<const json::value*> out;
  const json::value* v = member(object, key);
  if (const json::array* a = v ? v->if_array() : nullptr) {
    for (const json::value& element : *a) out.push_back(&element);
  }
  return out;
}

std::string first_line(std::string_view text, std::size_t max_chars) {
  text = text.substr(0, text.find_first_of("\r\n"));
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (chars++ == max_chars) return display(text.substr(0, i)) + "...";
  }
  return display(text);
}

std::string joined(const json::value& object, std::string_view key) {
  const json::value* v = member(object, key);
  if (!v || !v->is_array()) return "-";
  std::string out;
  for (const json::value& element : v->get_array()) {
    if (!out.empty()) out += ", ";
    out += element.is_string() ? display(element.get_string()) : display(json::serialize(element));
  }
  return out;
}

std::string next_cursor_hint(const json::value& page) {
  if (!has_field(page, "next_cursor")) return {};
  return "more: --cursor " + field(page, "next_cursor") + "\n";
}

std::string delivery_target(const json::value& delivery) {
  if (has_field(delivery, "endpoint_id")) return field(delivery, "endpoint_id");
  return field(delivery, "callback_url");
}

std::string format_attempts(const json::value& delivery, int indent) {
  std::vector<Row> rows;
  for (const json::value* a : elements(delivery, "attempts")) {
    std::string result = "-";
    if (has_field(*a, "status_code")) {
      result = field(*a, "status_code");
    } else if (has_field(*a, "error")) {
      result = field(*a, "error");
    }
    const std::string ms = field(*a, "duration_ms");
    auto text = [&](std::string_view key) {
      const json::value* v = member(*a, key);
      return v && v->is_string() ? first_line(v->get_string()) : std::string();
    };
    rows.push_back({field(*a, "number"), field(*a, "started_at"), std::move(result),
                    ms == "-" ? ms : ms + " ms", text("error_detail"), text("response_excerpt")});
  }
  if (rows.empty()) return {};
  return format_table({"#", "STARTED AT", "RESULT", "DURATION", "DETAIL", "RESPONSE"}, rows,
                      indent);
}

json::value parse_answer(std::string_view body, boost::system::error_code& ec) {
  json::parse_options options;
  options.max_depth = korehook::json::kMaxDepth + 8;
  return json::parse(body, ec, {}, options);
}

std::string format_api_error(int status, std::string_view body) {
  const std::string http = "HTTP " + std::to_string(status);
  json::error_code ec;
  const json::value answer = parse_answer(body, ec);
  if (!ec && has_field(answer, "message")) {
    const std::string code = has_field(answer, "code") ? field(answer, "code") : "unknown";
    return "error: " + field(answer, "message") + " (" + code + ", " + http + ")";
  }
  constexpr std::size_t kExcerpt = 200;
  std::string excerpt = display(body.substr(0, kExcerpt));
  if (body.size() > kExcerpt) excerpt += "...";
  if (excerpt.empty()) return "error: korehookd answered " + http + " with an empty body";
  return "error: korehookd answered " + http + ": " + excerpt;
}

}  // namespace korehook::cli
