#pragma once

#include <optional>

#include "korehook/model/types.hpp"
#include "korehook/util/result.hpp"

namespace korehook {

// KORE's secret lifecycle (SPEC §3), as decisions the store carries out in one transaction.

struct CreatePlan {
  SecretStatus new_status;        // kActive for an account's first secret, else kPending
  bool disable_existing_pending;  // a new pending secret replaces the earlier pending one
};
CreatePlan plan_secret_create(bool has_active, bool has_pending);

// Changing a secret's status by API: only `pending -> active` is allowed (it disables the
// current active secret for good); `active -> active` is a no-op. Anything else is an Error
// with code `invalid_transition`.
struct ActivatePlan {
  bool change;                  // false for the no-op
  bool disable_current_active;  // true when another secret is active
};
Result<ActivatePlan> plan_secret_status_change(SecretStatus current, SecretStatus requested,
                                               bool other_active_exists);

}  // namespace korehook
