#include "korehook/sign/headers.hpp"

#include <array>

#include "korehook/sign/signature.hpp"
#include "korehook/util/time.hpp"

namespace korehook::sign {
namespace {

// SPEC §1 headers, plus the hop-by-hop and framing headers that belong to the HTTP client:
// letting a user set them could split or hijack the request.
constexpr std::array<std::string_view, 18> kReserved = {
    "user-agent",
    "date",
    "kore-idempotency-token",
    "kore-signature",
    "content-type",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",
};

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::int64_t floor_seconds(TimeMs t) { return t >= 0 ? t / 1000 : -((-t + 999) / 1000); }

// Signs with one key when the secret has the `whsec_<base64>` form; a secret of another form
// (e.g. one imported from KORE) can only sign the KORE scheme.
void append_standard_signature(std::string& out, const std::optional<std::string>& secret,
                               const AttemptInput& in, std::int64_t ts) {
  if (!secret) return;
  const std::optional<std::string> key = standard_webhooks_key(*secret);
  if (!key) return;
  if (!out.empty()) out.push_back(' ');
  out += standard_webhooks_signature(*key, in.token, ts, in.body);
}

}  // namespace

Headers attempt_headers(const AttemptInput& in, const SigningKeys& keys) {
  Headers h;
  h.reserve(8);
  const std::int64_t ts = floor_seconds(in.now);
  h.emplace_back("user-agent", kUserAgent);
  h.emplace_back("date", format_kore_date(in.now));
  h.emplace_back("kore-idempotency-token", in.token);
  if (in.kore) {
    h.emplace_back("kore-signature",
                   keys.active ? kore_signature(*keys.active, in.method, in.url, in.body) : "");
  }
  if (!in.content_type.empty()) h.emplace_back("content-type", in.content_type);
  if (in.standard) {
    h.emplace_back("webhook-id", in.token);
    h.emplace_back("webhook-timestamp", std::to_string(ts));
    if (keys.active) {
      std::string value;
      append_standard_signature(value, keys.active, in, ts);
      if (keys.previous_until == 0 || in.now < keys.previous_until) {
        append_standard_signature(value, keys.previous, in, ts);
      }
      if (!value.empty()) h.emplace_back("webhook-signature", std::move(value));
    }
  }
  return h;
}

bool is_reserved_header(std::string_view lowercase_name) {
  for (std::string_view name : kReserved) {
    if (iequals(name, lowercase_name)) return true;
  }
  return false;
}

}  // namespace korehook::sign
