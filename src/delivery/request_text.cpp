#include "delivery/request_text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

namespace korehook::delivery {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Optional whitespace around a field value is not part of it (RFC 9110 §5.5).
std::string_view trim_ows(std::string_view value) {
  const auto ows = [](char c) { return c == ' ' || c == '\t'; };
  while (!value.empty() && ows(value.front())) value.remove_prefix(1);
  while (!value.empty() && ows(value.back())) value.remove_suffix(1);
  return value;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace

void render_request(const SendRequest& request, std::string& out) {
  const std::string_view body = request.body ? std::string_view(*request.body) : std::string_view();
  char length[24];
  const auto [end, ec] = std::to_chars(std::begin(length), std::end(length), body.size());
  (void)ec;  // 24 characters hold any size_t
  const std::string_view length_text(length, static_cast<std::size_t>(end - length));

  std::size_t size = 5 + request.url.target.size() + 11 + 8 + request.url.host_header.size() + 2 +
                     18 + length_text.size() + 2 + 2 + body.size();
  for (const auto& [name, value] : request.headers) size += name.size() + value.size() + 4;

  out.clear();
  out.reserve(size);
  out.append("POST ");
  out.append(request.url.target);
  out.append(" HTTP/1.1\r\n");
  // Names go out as given (lowercase), in the given order: host first, content-length last.
  append_field(out, "host", trim_ows(request.url.host_header));
  for (const auto& [name, value] : request.headers) {
    if (iequals(name, "host") || iequals(name, "content-length")) continue;
    append_field(out, name, trim_ows(value));
  }
  append_field(out, "content-length", length_text);
  out.append("\r\n");
  out.append(body);
}

}  // namespace korehook::delivery
