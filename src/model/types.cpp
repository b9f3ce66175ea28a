#include "korehook/model/types.hpp"

#include <array>
#include <utility>

namespace korehook {
namespace {

constexpr std::array<std::pair<DeliveryState, std::string_view>, 5> kDeliveryStates = {{
    {DeliveryState::kPending, "pending"},
    {DeliveryState::kInFlight, "in_flight"},
    {DeliveryState::kDelivered, "delivered"},
    {DeliveryState::kFailed, "failed"},
    {DeliveryState::kCancelled, "cancelled"},
}};

constexpr std::array<std::pair<SecretStatus, std::string_view>, 3> kSecretStatuses = {{
    {SecretStatus::kActive, "active"},
    {SecretStatus::kPending, "pending"},
    {SecretStatus::kDisabled, "disabled"},
}};

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// KORE's UI writes statuses capitalised (`Active`); the API accepts either spelling.
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "unknown";
}

template <class E, std::size_t N>
std::optional<E> parse_name(const std::array<std::pair<E, std::string_view>, N>& table,
                            std::string_view text) {
  for (const auto& [v, name] : table) {
    if (iequals(name, text)) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(DeliveryState s) { return name_of(kDeliveryStates, s); }
std::optional<DeliveryState> parse_delivery_state(std::string_view s) {
  return parse_name(kDeliveryStates, s);
}

std::string_view to_string(SecretStatus s) { return name_of(kSecretStatuses, s); }
std::optional<SecretStatus> parse_secret_status(std::string_view s) {
  return parse_name(kSecretStatuses, s);
}

}  // namespace korehook
