#include "store/rows.hpp"

#include "korehook/util/encoding.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "store/log.hpp"

namespace korehook::store {

namespace json = boost::json;

Result<std::int64_t> parse_rowid_cursor(const std::optional<std::string>& cursor,
                                        std::int64_t absent) {
  if (!cursor) return absent;
  std::int64_t v = 0;
  const char* first = cursor->data();
  const char* last = first + cursor->size();
  auto [end, ec] = std::from_chars(first, last, v);
  if (cursor->empty() || ec != std::errc() || end != last || v <= 0) {
    return Error{"invalid_argument", "invalid cursor '" + *cursor + "'"};
  }
  return v;
}

std::string id_list_json(const std::vector<std::string>& ids) {
  boost::json::array a;
  for (const auto& id : ids) a.emplace_back(id);
  return boost::json::serialize(a);
}

std::int64_t page_limit(int limit) { return std::clamp(limit, 1, 1000); }

DeliveryRecord read_delivery(sqlite::Statement::Use& row, int first) {
  DeliveryRecord d;
  d.id = row.get_text(first + 0);
  d.event_id = row.get_text(first + 1);
  d.endpoint_id = row.get_text(first + 2);
  d.token = row.get_text(first + 3);
  d.state = static_cast<DeliveryState>(row.get_int(first + 4));
  d.attempt_count = static_cast<int>(row.get_int(first + 5));
  d.cycle_start = static_cast<int>(row.get_int(first + 6));
  d.next_attempt_at = row.get_int(first + 7);
  d.created_at = row.get_int(first + 8);
  d.updated_at = row.get_int(first + 9);
  return d;
}

SecretRecord read_secret(sqlite::Statement::Use& row) {
  SecretRecord s;
  s.id = row.get_text(0);
  s.account_id = row.get_text(1);
  s.name = row.get_text(2);
  s.value = row.get_text(3);
  s.status = static_cast<SecretStatus>(row.get_int(4));
  s.created_at = row.get_int(5);
  s.last_modified = row.get_int(6);
  return s;
}

AttemptRecord read_attempt(sqlite::Statement::Use& row, std::string delivery_id) {
  AttemptRecord a;
  a.delivery_id = std::move(delivery_id);
  a.number = static_cast<int>(row.get_int(0));
  a.started_at = row.get_int(1);
  a.duration_ms = row.get_int(2);
  if (!row.is_null(3)) a.status_code = static_cast<int>(row.get_int(3));
  a.error = error_class_from_text(row.get_optional_text(4));
  a.error_detail = row.get_text(5);
  a.response_headers = headers_from_json(row.get_text(6));
  a.response_excerpt = row.get_blob(7);
  return a;
}

retry::ErrorClass error_class_from_text(const std::optional<std::string>& text) {
  if (!text) return retry::ErrorClass::kNone;
  // kProtocol is the last enumerator of ErrorClass.
  for (int i = 0; i <= static_cast<int>(retry::ErrorClass::kProtocol); ++i) {
    auto e = static_cast<retry::ErrorClass>(i);
    if (retry::to_string(e) == *text) return e;
  }
  logger().warn("unknown attempt error class in database error=\"{}\"", *text);
  return retry::ErrorClass::kProtocol;
}

namespace {

// The first `count` headers as [[name, value], ...], written directly: for an attempt's
// response this ran once per delivery, and a JSON DOM of the list cost five times as much.
std::string write_headers(const HeaderList& headers, std::size_t count) {
  std::size_t bytes = 2;
  for (std::size_t i = 0; i < count; ++i) {
    bytes += headers[i].first.size() + headers[i].second.size() + 8;
  }
  std::string out;
  out.reserve(bytes);
  out += '[';
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out += ',';
    out += '[';
    append_json_string(out, headers[i].first);
    out += ',';
    append_json_string(out, headers[i].second);
    out += ']';
  }
  out += ']';
  return out;
}

}  // namespace

std::string headers_to_json(const HeaderList& headers) {
  return write_headers(headers, headers.size());
}

std::string response_headers_to_json(const HeaderList& headers) {
  std::size_t count = 0;
  std::size_t bytes = 0;
  for (const auto& [name, value] : headers) {
    const std::size_t size = name.size() + value.size();
    if (count == kMaxResponseHeaders || bytes + size > kMaxResponseHeaderBytes) break;
    bytes += size;
    ++count;
  }
  return write_headers(headers, count);
}

namespace {

[[noreturn]] void malformed(std::string_view what) {
  throw std::runtime_error("malformed " + std::string(what) + " in the database");
}

json::value parse(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) malformed(what);
  return v;
}

}  // namespace

HeaderList headers_from_json(std::string_view text) {
  HeaderList out;
  if (text.empty()) return out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) {
    // Earlier builds stored a receiver's header bytes as they came, so a list may hold bytes
    // that are not UTF-8: they read as U+FFFD, as they are stored now, rather than failing
    // every read of the event.
    std::string fixed(text);
    make_utf8(fixed);
    v = parse(fixed, "header list");
  }
  if (!v.is_array()) malformed("header list");
  for (const auto& item : v.get_array()) {
    const json::array* pair = item.if_array();
    if (pair == nullptr || pair->size() != 2 || !(*pair)[0].is_string() ||
        !(*pair)[1].is_string()) {
      malformed("header list");
    }
    out.emplace_back(std::string((*pair)[0].get_string()), std::string((*pair)[1].get_string()));
  }
  return out;
}

std::string settings_to_json(const EndpointSettings& s) {
  json::object o;
  o["url"] = s.url;
  o["description"] = s.description;
  json::array types;
  for (const auto& t : s.event_types) types.emplace_back(t);
  o["event_types"] = std::move(types);
  o["connect_timeout_ms"] = s.connect_timeout.count();
  o["read_timeout_ms"] = s.read_timeout.count();
  o["retry"] = json::object{{"max_attempts", s.retry.max_attempts},
                            {"initial_delay_ms", s.retry.initial_delay.count()},
                            {"max_delay_ms", s.retry.max_delay.count()}};
  o["max_in_flight"] = s.max_in_flight;
  if (s.rate_limit) o["rate_limit"] = *s.rate_limit;
  o["disable_after_ms"] = s.disable_after.count();
  o["signatures"] = json::object{{"kore", s.kore_signature}, {"standard", s.standard_signature}};
  if (s.ca_file) o["ca_file"] = *s.ca_file;
  return json::serialize(o);
}

namespace {

// Reads o[key] into `out` when present; a value of the wrong type is corruption.
void read(const json::object& o, std::string_view key, std::string& out) {
  if (const json::value* v = o.if_contains(key)) {
    if (!v->is_string()) malformed("endpoint settings");
    out = std::string(v->get_string());
  }
}

void read(const json::object& o, std::string_view key, std::int64_t& out) {
  if (const json::value* v = o.if_contains(key)) {
    if (!v->is_int64()) malformed("endpoint settings");
    out = v->get_int64();
  }
}

void read(const json::object& o, std::string_view key, Millis& out) {
  std::int64_t ms = out.count();
  read(o, key, ms);
  out = Millis{ms};
}

void read(const json::object& o, std::string_view key, int& out) {
  std::int64_t n = out;
  read(o, key, n);
  out = static_cast<int>(n);
}

void read(const json::object& o, std::string_view key, bool& out) {
  if (const json::value* v = o.if_contains(key)) {
    if (!v->is_bool()) malformed("endpoint settings");
    out = v->get_bool();
  }
}

const json::object& object_at(const json::object& o, std::string_view key) {
  static const json::object empty;
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return empty;
  if (!v->is_object()) malformed("endpoint settings");
  return v->get_object();
}

}  // namespace

EndpointSettings settings_from_json(std::string_view text) {
  const json::value v = parse(text, "endpoint settings");
  if (!v.is_object()) malformed("endpoint settings");
  const json::object& o = v.get_object();
  EndpointSettings s;
  read(o, "url", s.url);
  read(o, "description", s.description);
  if (const json::value* types = o.if_contains("event_types")) {
    if (!types->is_array()) malformed("endpoint settings");
    s.event_types.clear();
    for (const auto& t : types->get_array()) {
      if (!t.is_string()) malformed("endpoint settings");
      s.event_types.emplace_back(t.get_string());
    }
  }
  read(o, "connect_timeout_ms", s.connect_timeout);
  read(o, "read_timeout_ms", s.read_timeout);
  const json::object& retry = object_at(o, "retry");
  read(retry, "max_attempts", s.retry.max_attempts);
  read(retry, "initial_delay_ms", s.retry.initial_delay);
  read(retry, "max_delay_ms", s.retry.max_delay);
  read(o, "max_in_flight", s.max_in_flight);
  if (const json::value* rate = o.if_contains("rate_limit")) {
    if (!rate->is_number()) malformed("endpoint settings");
    s.rate_limit = rate->to_number<double>();
  }
  read(o, "disable_after_ms", s.disable_after);
  const json::object& signatures = object_at(o, "signatures");
  read(signatures, "kore", s.kore_signature);
  read(signatures, "standard", s.standard_signature);
  if (o.contains("ca_file")) {
    std::string ca;
    read(o, "ca_file", ca);
    s.ca_file = std::move(ca);
  }
  return s;
}

}  // namespace korehook::store
