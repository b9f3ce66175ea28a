#include "yaml_value.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <system_error>

namespace korehook::config::detail {
namespace {

constexpr std::size_t kMaxQuoted = 40;  // longest scalar echoed back in a message

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string quoted(std::string_view text) {
  std::string out = "\"";
  if (text.size() > kMaxQuoted) {
    out.append(text.substr(0, kMaxQuoted)).append("...");
  } else {
    out.append(text);
  }
  out += '"';
  return out;
}

// Quoted scalars carry the non-specific tag `!`; plain ones `?`.
bool is_quoted(const YAML::Node& node) {
  return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str";
}

bool is_plain_scalar(const YAML::Node& node) { return node.IsScalar() && !is_quoted(node); }

bool looks_like_integer(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool looks_like_number(std::string_view s) {
  if (looks_like_integer(s)) return true;
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  return ec == std::errc() && end == s.data() + s.size();
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::string child_path(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string out = parent;
  out += '.';
  out += key;
  return out;
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), lowercase.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string join(std::initializer_list<std::string_view> items) {
  std::string out;
  for (std::string_view item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

}  // namespace

std::string position(std::string_view source, const YAML::Mark& mark) {
  const int line = mark.is_null() ? 1 : mark.line + 1;
  const int column = mark.is_null() ? 1 : mark.column + 1;
  std::string out(source);
  out += ':' + std::to_string(line) + ':' + std::to_string(column) + ": ";
  return out;
}

std::optional<std::string_view> nearest_key(std::string_view key,
                                            std::initializer_list<std::string_view> allowed) {
  std::optional<std::string_view> best;
  std::size_t best_distance = 3;
  for (std::string_view candidate : allowed) {
    const std::size_t distance = edit_distance(key, candidate);
    if (distance < best_distance && distance < key.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

Value::Value(YAML::Node node, std::string path, YAML::Mark fallback, std::string_view source)
    : node_(std::move(node)), path_(std::move(path)), mark_(fallback), source_(source) {
  if (!node_.IsNull() && !node_.Mark().is_null()) mark_ = node_.Mark();
}

void Value::fail(std::string_view problem) const {
  std::string message = position(source_, mark_);
  if (!path_.empty()) message.append(path_).append(": ");
  message.append(problem);
  throw ConfigError(message);
}

void Value::fail_type(std::string_view expected) const {
  fail("wrong type: got " + describe() + " (expected " + std::string(expected) + ")");
}

std::string Value::describe() const {
  if (node_.IsNull()) return "null";
  if (node_.IsMap()) return "a mapping";
  if (node_.IsSequence()) return "a list";
  const std::string& s = node_.Scalar();
  if (!is_quoted(node_)) {
    if (looks_like_integer(s)) return "integer " + s;
    if (parse_bool(s)) return "boolean " + s;
    if (looks_like_number(s)) return "number " + s;
  }
  return "string " + quoted(s);
}

std::string Value::string() const {
  if (!node_.IsScalar()) fail_type("a string");
  const std::string& s = node_.Scalar();
  if (s.find('\0') != std::string::npos) fail("must not contain a NUL character");
  return s;
}

std::string Value::non_empty_string() const {
  std::string s = string();
  if (s.empty()) fail("must not be empty (expected a non-empty string)");
  return s;
}

std::int64_t Value::integer(std::int64_t min, std::int64_t max) const {
  if (!is_plain_scalar(node_) || !looks_like_integer(node_.Scalar())) fail_type("an integer");
  std::string_view s = node_.Scalar();
  if (s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const std::string range =
      "must be between " + std::to_string(min) + " and " + std::to_string(max);
  if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max) {
    fail(range + " (got " + node_.Scalar() + ")");
  }
  return v;
}

bool Value::boolean() const {
  if (!is_plain_scalar(node_)) fail_type("true or false");
  const std::optional<bool> b = parse_bool(node_.Scalar());
  if (!b) fail_type("true or false");
  return *b;
}

Millis Value::duration(bool allow_zero) const {
  if (!node_.IsScalar()) fail_type("a duration such as 200ms, 5s, 10m or 2h");
  const std::string& s = node_.Scalar();
  const std::optional<Millis> d = parse_duration(s);
  if (!d) {
    fail("invalid duration " + quoted(s) +
         " (expected a whole number followed by ms, s, m or h, e.g. 200ms, 5s, 10m, 2h)");
  }
  if (!allow_zero && d->count() <= 0) fail("must be greater than 0 (got " + s + ")");
  // A year is far beyond any sensible timeout or delay, and keeps `now + d` and the
  // conversion to a timer's nanoseconds far from overflowing.
  constexpr Millis kMaxDuration{365LL * 24 * 3600 * 1000};
  if (*d > kMaxDuration) {
    fail("must be at most " + format_duration(kMaxDuration) + " (got " + s + ")");
  }
  return *d;
}

std::vector<Value> Value::list() const {
  std::vector<Value> items;
  if (node_.IsNull()) return items;
  if (!node_.IsSequence()) fail_type("a list");
  std::size_t i = 0;
  for (const YAML::Node& item : node_) {
    items.emplace_back(item, path_ + '[' + std::to_string(i) + ']', mark_, source_);
    ++i;
  }
  return items;
}

Mapping Value::mapping(std::initializer_list<std::string_view> allowed) const {
  Mapping result(*this);
  if (node_.IsNull()) return result;
  if (!node_.IsMap()) fail_type("a mapping");
  for (const auto& kv : node_) {
    Value key(kv.first, path_, mark_, source_);
    if (!kv.first.IsScalar()) key.fail("keys must be plain strings (got " + key.describe() + ")");
    const std::string& name = kv.first.Scalar();
    const Value key_named(kv.first, child_path(path_, name), mark_, source_);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      if (const auto suggestion = nearest_key(name, allowed)) {
        key_named.fail("unknown key '" + name + "' (did you mean '" + std::string(*suggestion) +
                       "'?)");
      }
      key_named.fail("unknown key '" + name + "' (expected one of: " + join(allowed) + ")");
    }
    for (const auto& seen : result.entries_) {
      if (seen.name == name) {
        key_named.fail("duplicate key '" + name + "' (first given at line " +
                       std::to_string(seen.key_mark.line + 1) + ")");
      }
    }
    // A null value (`key:` with nothing after it) is cited at its key.
    result.entries_.push_back(Mapping::Entry{
        name, key_named.mark(), Value(kv.second, key_named.path(), key_named.mark(), source_)});
  }
  return result;
}

std::vector<std::pair<Value, Value>> Value::entries() const {
  std::vector<std::pair<Value, Value>> result;
  if (node_.IsNull()) return result;
  if (!node_.IsMap()) fail_type("a mapping");
  for (const auto& kv : node_) {
    Value key(kv.first, path_, mark_, source_);
    if (!kv.first.IsScalar()) key.fail("keys must be plain strings (got " + key.describe() + ")");
    const std::string& name = kv.first.Scalar();
    const std::string path = path_ + "[\"" + name + "\"]";
    Value key_named(kv.first, path, mark_, source_);
    for (const auto& seen : result) {
      if (seen.first.node_.Scalar() == name) {
        key_named.fail("duplicate key (first given at line " +
                       std::to_string(seen.first.mark().line + 1) + ")");
      }
    }
    Value value(kv.second, path, key_named.mark(), source_);
    result.emplace_back(std::move(key_named), std::move(value));
  }
  return result;
}

std::optional<Value> Mapping::get(std::string_view key) const {
  for (const auto& entry : entries_) {
    if (entry.name == key) return entry.value;
  }
  return std::nullopt;
}

Value Mapping::require(std::string_view key, std::string_view expected) const {
  if (auto v = get(key)) return *std::move(v);
  // yaml-cpp has no position for an absent key: cite the mapping that should hold it.
  const Value missing(YAML::Node(), child_path(self_.path(), key), self_.mark(), self_.source());
  missing.fail("required key is missing (expected " + std::string(expected) + ")");
}

}  // namespace korehook::config::detail
