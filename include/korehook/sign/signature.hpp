#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "korehook/util/clock.hpp"

namespace korehook::sign {

// The URL KORE signs: `url` with its query string and fragment removed, otherwise
// byte-for-byte as configured (`https://testendpoint.com?x=1` -> `https://testendpoint.com`).
std::string_view signing_url(std::string_view url);

// KORE `kore-signature`: lowercase hex SHA-256 of secret + method + signing_url(url) + body.
std::string kore_signature(std::string_view secret, std::string_view method, std::string_view url,
                           std::string_view body);

// The HMAC key of a secret `whsec_<base64>`: the decoded base64 part. Nullopt when the
// secret does not have that form.
std::optional<std::string> standard_webhooks_key(std::string_view secret);

// Standard Webhooks v1 signature `v1,<base64(HMAC-SHA256(key, id.timestamp.body))>`.
std::string standard_webhooks_signature(std::string_view key, std::string_view msg_id,
                                        std::int64_t timestamp_s, std::string_view body);

// A new secret: `whsec_` + base64 of 24 random bytes (32 base64 characters).
std::string generate_secret(Random& random);

// Constant-time comparison (for verifying signatures).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace korehook::sign
