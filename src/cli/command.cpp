#include "cli/command.hpp"

#include "korehook/json/minify.hpp"
#include "korehook/util/encoding.hpp"

#include <boost/json/error.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <charconv>

namespace korehook::cli {

Error usage_error(std::string message) {
  return Error{std::string(kUsageError), std::move(message)};
}

bool Args::has(std::string_view flag) const { return flags.find(flag) != flags.end(); }

std::optional<std::string_view> Args::get(std::string_view flag) const {
  const auto it = flags.find(flag);
  if (it == flags.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

const std::vector<std::string>& Args::all(std::string_view flag) const {
  static const std::vector<std::string> kNone;
  const auto it = flags.find(flag);
  return it == flags.end() ? kNone : it->second;
}

const FlagSpec* CommandSpec::flag(std::string_view name) const {
  for (const FlagSpec& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string path_segment(std::string_view text) {
  return boost::urls::encode(text, boost::urls::unreserved_chars);
}

std::string with_query(std::string path, const QueryParams& params) {
  char separator = '?';
  for (const auto& [key, value] : params) {
    if (!value) continue;
    path += separator;
    path += boost::urls::encode(key, boost::urls::unreserved_chars);
    path += '=';
    path += boost::urls::encode(*value, boost::urls::unreserved_chars);
    separator = '&';
  }
  return path;
}

Result<unsigned long> parse_positive(std::string_view flag, std::string_view text,
                                     unsigned long max) {
  unsigned long value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < 1 || value > max) {
    return usage_error("--" + std::string(flag) + " must be an integer from 1 to " +
                       std::to_string(max) + ", not '" + std::string(text) + "'");
  }
  return value;
}

Result<std::string> page_target(std::string path, const Args& args, QueryParams filters) {
  std::optional<std::string> limit;
  if (const auto text = args.get("limit")) {
    auto n = parse_positive("limit", *text, 1000);
    if (!n) return n.error();
    limit = std::to_string(*n);
  }
  filters.emplace_back("limit", limit);
  filters.emplace_back("cursor", args.get("cursor"));
  filters.emplace_back("account", args.get("account"));
  return with_query(std::move(path), filters);
}

Result<Millis> parse_duration_flag(std::string_view flag, std::string_view text) {
  if (const auto d = parse_duration(text)) return *d;
  return usage_error("--" + std::string(flag) +
                     " must be a duration: a whole number and a unit (ms, s, m, h), e.g. 500ms, "
                     "5s, 10m, 2h; not '" +
                     std::string(text) + "'");
}

Result<Unit> check_choice(std::string_view flag, std::string_view text,
                          const std::vector<std::string_view>& allowed) {
  std::string choices;
  for (std::size_t i = 0; i < allowed.size(); ++i) {
    if (allowed[i] == text) return Unit{};
    if (i > 0) choices += i + 1 == allowed.size() ? " or " : ", ";
    choices += allowed[i];
  }
  return usage_error("--" + std::string(flag) + " must be " + choices + ", not '" +
                     std::string(text) + "'");
}

Result<Unit> check_id(std::string_view what, std::string_view text) {
  constexpr std::size_t kMaxId = 64;
  bool ok = !text.empty() && text.size() <= kMaxId;
  for (char c : text) {
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-');
  }
  if (ok) return Unit{};
  return usage_error(std::string(what) +
                     " must be 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-', not '" +
                     std::string(text) + "'");
}

Result<Unit> validate_json(std::string_view flag, std::string_view text) {
  boost::json::parse_options options;
  // The daemon nests the data one level down in the event object.
  options.max_depth = korehook::json::kMaxDepth - 1;
  boost::json::stream_parser parser({}, options);
  boost::system::error_code ec;
  const std::size_t consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (!ec) return Unit{};

  std::string where;
  if (ec == boost::json::error::incomplete) {
    where = "at the end of the input";
  } else {
    std::size_t line = 1;
    std::size_t column = 1;
    for (char c : text.substr(0, consumed)) {
      if (c == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    where = "at line " + std::to_string(line) + ", column " + std::to_string(column);
  }
  return usage_error("--" + std::string(flag) + " is not valid JSON: " + ec.message() + " " +
                     where);
}

std::string json_quote(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

}  // namespace korehook::cli
