#pragma once

// The vocabulary of the CLI's dispatcher: a command is a static description (path, operands,
// flags, help) plus two pure functions: one turns parsed arguments into an API request, the
// other turns the daemon's JSON answer into human output. Adding a command = describing it
// in a register_*_commands() function (see commands.hpp); parsing, help, the HTTP exchange,
// error reporting and `--json` are shared.

#include <boost/json/fwd.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "korehook/util/result.hpp"
#include "korehook/util/time.hpp"

namespace korehook::cli {

// Error code of every usage error (exit status 2).
inline constexpr std::string_view kUsageError = "usage";

[[nodiscard]] Error usage_error(std::string message);

struct FlagSpec {
  std::string_view name;        // without the leading `--`
  std::string_view value_name;  // e.g. "ID"; empty for a switch that takes no value
  std::string_view help;
  bool repeatable = false;  // else giving the flag twice is a usage error
};

// Arguments of one command after parsing: operands in order, flag values by name (a switch
// has one empty value per occurrence).
class Args {
 public:
  std::vector<std::string> operands;
  std::map<std::string, std::vector<std::string>, std::less<>> flags;

  bool has(std::string_view flag) const;
  // The (last) value of `flag`, or nullopt when it was not given.
  std::optional<std::string_view> get(std::string_view flag) const;
  // Every value of a repeatable flag, in order.
  const std::vector<std::string>& all(std::string_view flag) const;
};

// One HTTP request to the daemon's API. `target` is already percent-encoded.
struct ApiRequest {
  std::string method;
  std::string target;
  std::string body;  // JSON, or empty
};

// Errors returned by `build` are usage errors (use usage_error()).
using BuildFn = Result<ApiRequest> (*)(const Args& args);
// Human output for a 2xx answer. Must not throw on missing or mistyped fields.
using RenderFn = std::string (*)(const boost::json::value& answer);

struct CommandSpec {
  std::string_view path;      // words after `korehook`, space-separated: "secrets create"
  std::string_view synopsis;  // after "Usage: korehook "
  std::string_view summary;   // one line, for the command list
  std::string_view details;   // optional paragraph for `--help`
  std::vector<std::string_view> operands;  // names of required positional arguments
  std::vector<FlagSpec> flags;
  BuildFn build = nullptr;
  RenderFn render = nullptr;
  // Optional: false when a 2xx answer reports a failure (a test event that did not get
  // through), so that the exit status is 1 for scripts too.
  bool (*succeeded)(const boost::json::value& answer) = nullptr;

  const FlagSpec* flag(std::string_view name) const;
};

// Shared flags.
inline constexpr FlagSpec kAccountFlag{"account", "A",
                                       "Account (tenant) to act on; default: the "
                                       "default account"};

// Flags of the cursor-paginated lists (see page_target()).
inline constexpr FlagSpec kLimitFlag{"limit", "N", "Items per page, 1-1000 (default 50)"};
inline constexpr FlagSpec kCursorFlag{"cursor", "C",
                                      "Continue a list: the cursor printed after the previous "
                                      "page (\"more: --cursor C\")"};

using QueryParams = std::vector<std::pair<std::string_view, std::optional<std::string_view>>>;

// Request-target helpers: percent-encode one path segment / append `?k=v&...` for the
// parameters that have a value (in the given order).
std::string path_segment(std::string_view text);
std::string with_query(std::string path, const QueryParams& params);

// The target of one page of a cursor-paginated list: `path` with `filters`, then --limit,
// --cursor and --account. Usage error when --limit is not 1..1000.
Result<std::string> page_target(std::string path, const Args& args, QueryParams filters = {});

// Parses a positive decimal integer flag value (1..max); usage error naming the flag otherwise.
Result<unsigned long> parse_positive(std::string_view flag, std::string_view text,
                                     unsigned long max = 1'000'000);

// Parses a duration flag value as the daemon does (`200ms`, `5s`, `10m`, `2h`); usage error
// naming the flag otherwise.
Result<Millis> parse_duration_flag(std::string_view flag, std::string_view text);

// Checks that `text` is one of `allowed`; usage error naming the flag and listing them.
Result<Unit> check_choice(std::string_view flag, std::string_view text,
                          const std::vector<std::string_view>& allowed);

// Checks an id chosen by the user (account, endpoint): [A-Za-z0-9_-]{1,64}, as the daemon
// requires. `what` names it in the message: "--id", "ID".
Result<Unit> check_id(std::string_view what, std::string_view text);

// Checks that `text` is exactly one JSON value (depth <= 64, like the daemon); on failure a
// usage error naming the flag and the line/column of the problem.
Result<Unit> validate_json(std::string_view flag, std::string_view text);

// `"text"` as a JSON string literal (escaped).
std::string json_quote(std::string_view text);

}  // namespace korehook::cli
