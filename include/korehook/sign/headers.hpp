#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "korehook/util/clock.hpp"

namespace korehook::sign {

using Header = std::pair<std::string, std::string>;
using Headers = std::vector<Header>;

// The secrets an account signs with at one moment. `active` signs both schemes;
// `previous` (during a rotation overlap) adds a second Standard Webhooks signature.
struct SigningKeys {
  std::optional<std::string> active;
  std::optional<std::string> previous;
  TimeMs previous_until = 0;  // `previous` signs only before this time; 0 = no end
};

struct AttemptInput {
  std::string_view method = "POST";
  std::string_view url;           // the target URL as configured (signing_url() applied inside)
  std::string_view token;         // kore-idempotency-token == webhook-id
  std::string_view content_type;  // e.g. application/json
  std::string_view body;          // exactly the bytes sent
  TimeMs now = 0;                 // time of this attempt
  bool kore = true;               // send kore-signature
  bool standard = true;           // send webhook-signature
};

// Every header of one attempt, in wire order, names lowercase:
// user-agent, date, kore-idempotency-token, kore-signature (empty value without an active
// secret), content-type, webhook-id, webhook-timestamp, webhook-signature (omitted without
// an active secret). Custom headers are appended by the caller after validation.
Headers attempt_headers(const AttemptInput& in, const SigningKeys& keys);

inline constexpr std::string_view kUserAgent = "KoreProxy/1.1";

// Header names a user can never set (SPEC §1), lowercase.
bool is_reserved_header(std::string_view lowercase_name);

}  // namespace korehook::sign
