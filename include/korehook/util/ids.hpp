#pragma once

#include <string>
#include <string_view>

#include "korehook/util/clock.hpp"

namespace korehook {

// `prefix` + `_` + 26 lowercase Crockford base32 characters: 48 bits of milliseconds then
// 80 random bits (ULID layout), so ids sort by creation time. With a 3-letter prefix the id
// is 30 characters, like KORE's `whs_01jf8c4889ehtbzt0n9mzk1prc`.
std::string new_id(std::string_view prefix, TimeMs now, Random& random);

// RFC 4122 version 4 UUID, lowercase with hyphens. Used as idempotency token.
std::string new_uuid_v4(Random& random);

// Id prefixes.
inline constexpr std::string_view kEventIdPrefix = "evt";
inline constexpr std::string_view kDeliveryIdPrefix = "dlv";
inline constexpr std::string_view kSecretIdPrefix = "whs";

}  // namespace korehook
