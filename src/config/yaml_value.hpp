#pragma once

// Private to src/config: typed, position-aware access to a parsed YAML tree. Every failure
// throws ConfigError formatted as `source:line:column: key.path: problem (expected ...)`.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "korehook/config/config.hpp"
#include "korehook/util/time.hpp"

namespace korehook::config::detail {

// `source:line:column: ` (1-based) for a yaml-cpp mark; a null mark reads as 1:1.
std::string position(std::string_view source, const YAML::Mark& mark);

// The allowed key closest to `key` (case-insensitive, optimal string alignment distance
// <= 2 and shorter than the key itself), if any.
std::optional<std::string_view> nearest_key(std::string_view key,
                                            std::initializer_list<std::string_view> allowed);

class Mapping;

// One YAML node with its key path and the mark to cite. `source` must outlive the value.
class Value {
 public:
  // `fallback` is cited when the node has no usable mark of its own (yaml-cpp gives an
  // empty `key:` the mark of the next token, so null values are cited at their key).
  Value(YAML::Node node, std::string path, YAML::Mark fallback, std::string_view source);

  const std::string& path() const { return path_; }
  const YAML::Mark& mark() const { return mark_; }
  std::string_view source() const { return source_; }
  bool is_null() const { return node_.IsNull(); }

  // Throws ConfigError at this value: `source:l:c: path: problem`.
  [[noreturn]] void fail(std::string_view problem) const;
  // Same, for a wrong node type: `wrong type: got <what> (expected <expected>)`.
  [[noreturn]] void fail_type(std::string_view expected) const;

  // Any non-null scalar (quoted or plain) without NUL bytes.
  std::string string() const;
  // Like string(), and not empty.
  std::string non_empty_string() const;
  // A plain decimal integer within [min, max].
  std::int64_t integer(std::int64_t min, std::int64_t max) const;
  // Plain `true` / `false` (also `True`, `TRUE`...). YAML 1.1's yes/no/on/off are refused:
  // they are a classic source of surprises.
  bool boolean() const;
  // A korehook::parse_duration text; > 0 unless `allow_zero`, at most a year (8760h).
  Millis duration(bool allow_zero) const;

  // A list; null reads as an empty list. Items are named `path[i]`.
  std::vector<Value> list() const;
  // A mapping with a fixed set of keys; null reads as an empty mapping. Unknown and duplicate
  // keys are errors (with a suggestion when an allowed key is close).
  Mapping mapping(std::initializer_list<std::string_view> allowed) const;
  // A mapping with free-form string keys (header names, host names); entries are named
  // `path["key"]`. Duplicate keys are errors.
  std::vector<std::pair<Value, Value>> entries() const;

  // `string "abc"`, `integer 5`, `a list`, ... for messages.
  std::string describe() const;

 private:
  YAML::Node node_;
  std::string path_;
  YAML::Mark mark_;
  std::string_view source_;
};

// A checked mapping: every key in it is allowed and appears once.
class Mapping {
 public:
  // The value under `key`, or nullopt when absent.
  std::optional<Value> get(std::string_view key) const;
  // The value under `key`; when absent, fails at the mapping's own mark with
  // `path.key: required key is missing (expected <expected>)`.
  Value require(std::string_view key, std::string_view expected) const;
  const Value& self() const { return self_; }

 private:
  friend class Value;
  explicit Mapping(Value self) : self_(std::move(self)) {}

  struct Entry {
    std::string name;
    YAML::Mark key_mark;
    Value value;
  };

  Value self_;
  std::vector<Entry> entries_;
};

}  // namespace korehook::config::detail
