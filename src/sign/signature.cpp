#include "korehook/sign/signature.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <charconv>
#include <memory>
#include <stdexcept>

#include "korehook/util/encoding.hpp"

namespace korehook::sign {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::size_t kSecretRandomBytes = 24;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};

// Fetched once: an implicit fetch on every signature costs a lock and a lookup.
const EVP_MD* sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) throw std::runtime_error("OpenSSL: SHA256 unavailable");
  return md;
}

EVP_MAC* hmac() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) throw std::runtime_error("OpenSSL: HMAC unavailable");
  return mac;
}

[[noreturn]] void crypto_failure(const char* what) {
  // Only reachable when libcrypto itself is broken (e.g. out of memory).
  throw std::runtime_error(std::string("OpenSSL: ") + what + " failed");
}

// One context of each kind per thread, reused by every signature: a new context per call
// cost an allocation, and for HMAC a digest fetch (a lock and a lookup) on every init. Each
// use starts with a full init (a new key for HMAC), so nothing carries over between calls.
EVP_MD_CTX* digest_context() {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) crypto_failure("digest context");
  return ctx.get();
}

EVP_MAC_CTX* hmac_sha256_context() {
  thread_local const std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx = [] {
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> made(EVP_MAC_CTX_new(hmac()));
    char digest_name[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end()};
    if (!made || EVP_MAC_CTX_set_params(made.get(), params) != 1) crypto_failure("HMAC context");
    return made;
  }();
  return ctx.get();
}

}  // namespace

std::string_view signing_url(std::string_view url) {
  return url.substr(0, url.find_first_of("?#"));
}

std::string kore_signature(std::string_view secret, std::string_view method, std::string_view url,
                           std::string_view body) {
  EVP_MD_CTX* ctx = digest_context();
  if (EVP_DigestInit_ex(ctx, sha256(), nullptr) != 1) crypto_failure("digest init");
  const std::string_view url_part = signing_url(url);
  for (std::string_view part : {secret, method, url_part, body}) {
    if (EVP_DigestUpdate(ctx, part.data(), part.size()) != 1) crypto_failure("digest");
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, digest.data(), &len) != 1) crypto_failure("digest final");
  return hex_lower(std::string_view(reinterpret_cast<const char*>(digest.data()), len));
}

std::optional<std::string> standard_webhooks_key(std::string_view secret) {
  if (!secret.starts_with(kSecretPrefix)) return std::nullopt;
  std::optional<std::string> key = base64_decode(secret.substr(kSecretPrefix.size()));
  if (!key || key->empty()) return std::nullopt;
  return key;
}

std::string standard_webhooks_signature(std::string_view key, std::string_view msg_id,
                                        std::int64_t timestamp_s, std::string_view body) {
  EVP_MAC_CTX* ctx = hmac_sha256_context();
  // A null key pointer means "keep the previous key" to OpenSSL, so never pass one.
  static const unsigned char kNoKey = 0;
  const auto* key_data = key.empty() ? &kNoKey : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(ctx, key_data, key.size(), nullptr) != 1) crypto_failure("HMAC init");
  char ts[24];
  const auto [ts_end, ec] = std::to_chars(ts, ts + sizeof ts, timestamp_s);
  (void)ec;  // 24 bytes always hold an int64
  const std::string_view ts_text(ts, static_cast<std::size_t>(ts_end - ts));
  for (std::string_view part :
       {msg_id, std::string_view("."), ts_text, std::string_view("."), body}) {
    if (EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(part.data()), part.size()) !=
        1) {
      crypto_failure("HMAC");
    }
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  std::size_t len = 0;
  if (EVP_MAC_final(ctx, mac.data(), &len, mac.size()) != 1) crypto_failure("HMAC final");
  return "v1," + base64_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), len));
}

std::string generate_secret(Random& random) {
  std::array<std::uint8_t, kSecretRandomBytes> bytes{};
  random.fill(bytes);
  std::string secret(kSecretPrefix);
  secret +=
      base64_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return secret;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // The length of a signature is public; only its content must not leak through timing.
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace korehook::sign
