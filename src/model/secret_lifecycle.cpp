#include "korehook/model/secret_lifecycle.hpp"

#include <string>

namespace korehook {

CreatePlan plan_secret_create(bool has_active, bool has_pending) {
  if (!has_active) {
    // The account's first secret signs at once. (A pending secret without an active one
    // cannot arise through this lifecycle; if it does, it stays pending.)
    return CreatePlan{SecretStatus::kActive, false};
  }
  return CreatePlan{SecretStatus::kPending, has_pending};
}

Result<ActivatePlan> plan_secret_status_change(SecretStatus current, SecretStatus requested,
                                               bool other_active_exists) {
  if (current == SecretStatus::kActive && requested == SecretStatus::kActive) {
    return ActivatePlan{false, false};
  }
  if (current == SecretStatus::kPending && requested == SecretStatus::kActive) {
    return ActivatePlan{true, other_active_exists};
  }
  return Error{"invalid_transition",
               "cannot change a secret from " + std::string(to_string(current)) + " to " +
                   std::string(to_string(requested)) +
                   ": only a pending secret can be activated, and that cannot be undone"};
}

}  // namespace korehook
