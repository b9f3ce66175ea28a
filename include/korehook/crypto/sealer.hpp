#pragma once

// Encryption at rest of secrets and other sensitive values (SPEC §5): AES-256-GCM with a
// 32-byte key loaded from a file (config `secrets.key_file`) or the systemd credential
// `$CREDENTIALS_DIRECTORY/korehook.key`.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "korehook/util/result.hpp"

namespace korehook::crypto {

inline constexpr std::size_t kKeyBytes = 32;
using Key = std::array<std::uint8_t, kKeyBytes>;

// Reads a key file: 64 hexadecimal characters (surrounding whitespace ignored), as made by
// `openssl rand -hex 32`. Error code `invalid_key` with a message naming the path and the
// problem (missing, unreadable, wrong length, not hex).
Result<Key> load_key_file(const std::string& path);

// The key file to use: `configured` when given, else $CREDENTIALS_DIRECTORY/korehook.key when
// that variable is set; nullopt when neither.
std::optional<std::string> key_file_path(const std::optional<std::string>& configured);

// Seals and opens values. A sealed value is text: "kh1:" + base64(nonce(12) | ciphertext |
// tag(16)), with a fresh random nonce each time. `context` is authenticated but not stored
// (e.g. "secret:" + id), so a sealed value copied to another row does not open.
class Sealer {
 public:
  explicit Sealer(const Key& key) : key_(key) {}

  std::string seal(std::string_view plaintext, std::string_view context) const;
  // Error code `decrypt_failed` when the value was not sealed with this key and context
  // (or was altered), `invalid_sealed` when it is not a sealed value at all.
  Result<std::string> open(std::string_view sealed, std::string_view context) const;

  static bool looks_sealed(std::string_view value);

 private:
  Key key_;
};

}  // namespace korehook::crypto
