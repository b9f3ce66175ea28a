#include "korehook/crypto/sealer.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>

#include "korehook/util/encoding.hpp"

namespace korehook::crypto {

namespace {

constexpr std::string_view kPrefix = "kh1:";
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kMaxKeyFileBytes = 4096;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx new_ctx() { return CipherCtx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

Result<Key> load_key_file(const std::string& path) {
  auto fail = [&path](const std::string& why) {
    return Error{"invalid_key", "secrets key file " + path + ": " + why};
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(std::error_code(errno, std::generic_category()).message() +
                " (create one with: openssl rand -hex 32 > " + path + " && chmod 600 " + path +
                ")");
  }
  std::string text(kMaxKeyFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxKeyFileBytes) return fail("too large for a key file");
  std::string hex;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) == 0) hex.push_back(c);
  }
  if (hex.size() != 2 * kKeyBytes) {
    return fail(
        "expected 64 hexadecimal characters (32 bytes, e.g. from `openssl rand -hex 32`)"
        ", found " +
        std::to_string(hex.size()) + " characters");
  }
  Key key{};
  for (std::size_t i = 0; i < kKeyBytes; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail("not hexadecimal (expected 64 characters 0-9, a-f)");
    key[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return key;
}

std::optional<std::string> key_file_path(const std::optional<std::string>& configured) {
  if (configured) return configured;
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  return (std::filesystem::path(dir) / "korehook.key").string();
}

bool Sealer::looks_sealed(std::string_view value) { return value.starts_with(kPrefix); }

std::string Sealer::seal(std::string_view plaintext, std::string_view context) const {
  unsigned char nonce[kNonceBytes];
  if (RAND_bytes(nonce, sizeof nonce) != 1) throw std::runtime_error("RAND_bytes failed");
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  std::copy(std::begin(nonce), std::end(nonce), dst);

  CipherCtx ctx = new_ctx();
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(context),
                        static_cast<int>(context.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), dst + kNonceBytes, &len, bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), dst + kNonceBytes + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          dst + kNonceBytes + plaintext.size()) != 1) {
    throw std::runtime_error("AES-256-GCM encryption failed");
  }
  return std::string(kPrefix) + base64_encode(out);
}

Result<std::string> Sealer::open(std::string_view sealed, std::string_view context) const {
  if (!looks_sealed(sealed)) return Error{"invalid_sealed", "not a sealed value"};
  const std::optional<std::string> raw = base64_decode(sealed.substr(kPrefix.size()));
  if (!raw || raw->size() < kNonceBytes + kTagBytes) {
    return Error{"invalid_sealed", "sealed value is malformed"};
  }
  const std::size_t n = raw->size() - kNonceBytes - kTagBytes;
  const auto* src = reinterpret_cast<const unsigned char*>(raw->data());
  std::string plain(n, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(plain.data());
  std::array<unsigned char, kTagBytes> tag{};
  std::copy(src + kNonceBytes + n, src + raw->size(), tag.begin());

  CipherCtx ctx = new_ctx();
  int len = 0;
  const bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), src) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(context),
                        static_cast<int>(context.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), dst, &len, src + kNonceBytes, static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                          tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), dst + len, &len) == 1;
  if (!ok) {
    return Error{"decrypt_failed",
                 "sealed value does not open with this key (wrong key or altered)"};
  }
  return plain;
}

}  // namespace korehook::crypto
