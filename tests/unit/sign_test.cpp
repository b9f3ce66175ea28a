#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <thread>

#include "korehook/sign/headers.hpp"
#include "korehook/sign/signature.hpp"
#include "korehook/util/encoding.hpp"
#include "unit/fakes.hpp"

using namespace korehook::sign;  // NOLINT(google-build-using-namespace)
using korehook::testing::ScriptedRandom;
using korehook::testing::SeededRandom;

namespace {

constexpr std::string_view kFormBody = "field1=value1&field2=value2";
constexpr std::string_view kSwSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kSwId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t kSwTimestamp = 1614265330;
constexpr std::string_view kSwBody = R"({"test": 2432232314})";
constexpr std::string_view kSwSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
// Computed with Python's hmac module for the `previous` key below.
constexpr std::string_view kPreviousSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX";
constexpr std::string_view kPreviousSignature = "v1,/485aUtxlie+TIScVpHggMfqOB4so2KWb7+Gf727B44=";

std::vector<std::string> names(const Headers& h) {
  std::vector<std::string> out;
  for (const auto& [name, value] : h) out.push_back(name);
  return out;
}

const std::string* find(const Headers& h, std::string_view name) {
  for (const auto& [n, v] : h) {
    if (n == name) return &v;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("kore_signature matches KORE's documented vectors", "[sign]") {
  CHECK(kore_signature("12345", "POST", "https://testendpoint.com", kFormBody) ==
        "f562d3959f68b5a30fc7a63f8bbf40987f633575f4231ffceb4f76dd154ea3ce");
  CHECK(kore_signature("secret12345", "POST", "https://testendpoint.com", kFormBody) ==
        "4fdba0cb1394cc8d17b8dabb04634aa9a951021a7b161f9c7a2186cd490b18b2");
}

TEST_CASE("kore_signature signs the URL without query and fragment", "[sign]") {
  const std::string expected = "f562d3959f68b5a30fc7a63f8bbf40987f633575f4231ffceb4f76dd154ea3ce";
  CHECK(kore_signature("12345", "POST", "https://testendpoint.com?foo1=bar1&foo2=bar2",
                       kFormBody) == expected);
  CHECK(kore_signature("12345", "POST", "https://testendpoint.com#cbs=kore", kFormBody) ==
        expected);
  CHECK(kore_signature("12345", "POST", "https://testendpoint.com/", kFormBody) != expected);
}

TEST_CASE("kore_signature covers method and an empty body", "[sign]") {
  // sha256("12345GEThttps://testendpoint.com"), from sha256sum.
  CHECK(kore_signature("12345", "GET", "https://testendpoint.com", "") ==
        "f0d8662d391c9d2ba6321a5bfdf43299067dcfd20740abe2f0e7f4f7a1946321");
}

TEST_CASE("signing_url strips query and fragment, nothing else", "[sign]") {
  CHECK(signing_url("https://testendpoint.com?foo1=bar1&foo2=bar2") == "https://testendpoint.com");
  CHECK(signing_url("https://testendpoint.com#cbs=kore") == "https://testendpoint.com");
  CHECK(signing_url("https://testendpoint.com/a/b?x=1#y") == "https://testendpoint.com/a/b");
  CHECK(signing_url("https://testendpoint.com/a#frag?notquery") == "https://testendpoint.com/a");
  CHECK(signing_url("https://TestEndpoint.com:443/A/%7e") == "https://TestEndpoint.com:443/A/%7e");
  CHECK(signing_url("https://testendpoint.com/?") == "https://testendpoint.com/");
}

TEST_CASE("standard_webhooks_signature matches the Standard Webhooks vector", "[sign]") {
  const auto key = standard_webhooks_key(kSwSecret);
  REQUIRE(key);
  CHECK(key->size() == 24);
  CHECK(standard_webhooks_signature(*key, kSwId, kSwTimestamp, kSwBody) == kSwSignature);
  // Any change to id, timestamp or body changes the signature.
  CHECK(standard_webhooks_signature(*key, "msg_other", kSwTimestamp, kSwBody) != kSwSignature);
  CHECK(standard_webhooks_signature(*key, kSwId, kSwTimestamp + 1, kSwBody) != kSwSignature);
  CHECK(standard_webhooks_signature(*key, kSwId, kSwTimestamp, R"({"test":2432232314})") !=
        kSwSignature);
}

TEST_CASE("signatures in a row each use only their own key and input", "[sign]") {
  // The digest and HMAC contexts are reused per thread: nothing may carry over between calls.
  const auto key = standard_webhooks_key(kSwSecret);
  REQUIRE(key);
  std::string fresh_empty_key;
  std::string fresh_other_key;
  std::thread([&] {
    fresh_empty_key = standard_webhooks_signature("", kSwId, kSwTimestamp, kSwBody);
    fresh_other_key = standard_webhooks_signature("other key", kSwId, kSwTimestamp, kSwBody);
  }).join();
  CHECK(standard_webhooks_signature(*key, kSwId, kSwTimestamp, kSwBody) == kSwSignature);
  CHECK(standard_webhooks_signature("", kSwId, kSwTimestamp, kSwBody) == fresh_empty_key);
  CHECK(standard_webhooks_signature("other key", kSwId, kSwTimestamp, kSwBody) == fresh_other_key);
  CHECK(fresh_other_key != kSwSignature);
  CHECK(standard_webhooks_signature(*key, kSwId, kSwTimestamp, kSwBody) == kSwSignature);
  CHECK(kore_signature("12345", "GET", "https://testendpoint.com", "") ==
        "f0d8662d391c9d2ba6321a5bfdf43299067dcfd20740abe2f0e7f4f7a1946321");
  CHECK(kore_signature("12345", "GET", "https://testendpoint.com", "") ==
        "f0d8662d391c9d2ba6321a5bfdf43299067dcfd20740abe2f0e7f4f7a1946321");
}

TEST_CASE("standard_webhooks_signature accepts an empty key", "[sign]") {
  const std::string sig = standard_webhooks_signature("", "id", 1, "body");
  CHECK(sig.starts_with("v1,"));
  CHECK(sig.size() == 3 + 44);
}

TEST_CASE("standard_webhooks_key requires whsec_ and valid base64", "[sign]") {
  CHECK(standard_webhooks_key("whsec_Zm9vYmFy") == std::string("foobar"));
  CHECK_FALSE(standard_webhooks_key("Zm9vYmFy"));
  CHECK_FALSE(standard_webhooks_key("secret12345"));
  CHECK_FALSE(standard_webhooks_key("whsec_"));
  CHECK_FALSE(standard_webhooks_key("whsec_not base64!"));
  CHECK_FALSE(standard_webhooks_key("WHSEC_Zm9vYmFy"));
}

TEST_CASE("generate_secret is whsec_ + base64 of 24 random bytes", "[sign]") {
  ScriptedRandom random(
      {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23});
  const std::string secret = generate_secret(random);
  CHECK(secret == kPreviousSecret);
  CHECK(random.consumed() == 24);
  SeededRandom seeded(5);
  const std::string a = generate_secret(seeded);
  const std::string b = generate_secret(seeded);
  CHECK(a.size() == 6 + 32);
  CHECK(a != b);
  CHECK(standard_webhooks_key(a)->size() == 24);
}

TEST_CASE("constant_time_equal", "[sign]") {
  CHECK(constant_time_equal("", ""));
  CHECK(constant_time_equal("v1,abc", "v1,abc"));
  CHECK_FALSE(constant_time_equal("v1,abc", "v1,abd"));
  CHECK_FALSE(constant_time_equal("v1,abc", "v1,ab"));
  CHECK_FALSE(constant_time_equal("", "x"));
}

TEST_CASE("attempt_headers: order and values with an active key", "[sign][headers]") {
  AttemptInput in;
  in.url = "https://hooks.example.com/in?tenant=7#x";
  in.token = kSwId;
  in.content_type = "application/json";
  in.body = kSwBody;
  in.now = kSwTimestamp * 1000 + 123;
  const Headers h = attempt_headers(in, SigningKeys{std::string(kSwSecret), std::nullopt});

  CHECK(names(h) == std::vector<std::string>{"user-agent", "date", "kore-idempotency-token",
                                             "kore-signature", "content-type", "webhook-id",
                                             "webhook-timestamp", "webhook-signature"});
  CHECK(h[0].second == "KoreProxy/1.1");
  CHECK(h[1].second == "2021-02-25T15:02:10Z");
  CHECK(h[2].second == kSwId);
  // sha256(secret + "POST" + "https://hooks.example.com/in" + body), computed with Python.
  CHECK(h[3].second == "7f68ed0f604ee4a6eca95dbbc8bf247490e4eef59c8bacbd0d7ceb0bf856c275");
  CHECK(h[4].second == "application/json");
  CHECK(h[5].second == kSwId);
  CHECK(h[6].second == "1614265330");
  CHECK(h[7].second == kSwSignature);
}

TEST_CASE("attempt_headers: without an active key", "[sign][headers]") {
  AttemptInput in;
  in.url = "https://hooks.example.com/in";
  in.token = "tok";
  in.content_type = "application/json";
  in.body = "{}";
  in.now = 1795913226999;
  const Headers h = attempt_headers(in, SigningKeys{});
  CHECK(names(h) == std::vector<std::string>{"user-agent", "date", "kore-idempotency-token",
                                             "kore-signature", "content-type", "webhook-id",
                                             "webhook-timestamp"});
  REQUIRE(find(h, "kore-signature"));
  CHECK(find(h, "kore-signature")->empty());
  CHECK(*find(h, "date") == "2026-11-29T00:47:06Z");
  CHECK(*find(h, "webhook-timestamp") == "1795913226");
  // A previous key alone does not sign: signing needs an active secret.
  const Headers only_previous =
      attempt_headers(in, SigningKeys{std::nullopt, std::string(kPreviousSecret)});
  CHECK(find(only_previous, "webhook-signature") == nullptr);
  CHECK(find(only_previous, "kore-signature")->empty());
}

TEST_CASE("attempt_headers: rotation overlap adds the previous key's signature",
          "[sign][headers]") {
  AttemptInput in;
  in.url = "https://hooks.example.com/in";
  in.token = kSwId;
  in.content_type = "application/json";
  in.body = kSwBody;
  in.now = kSwTimestamp * 1000;
  const Headers h =
      attempt_headers(in, SigningKeys{std::string(kSwSecret), std::string(kPreviousSecret)});
  REQUIRE(find(h, "webhook-signature"));
  CHECK(*find(h, "webhook-signature") ==
        std::string(kSwSignature) + " " + std::string(kPreviousSignature));
  // kore-signature uses the active secret only.
  const Headers active_only =
      attempt_headers(in, SigningKeys{std::string(kSwSecret), std::nullopt});
  CHECK(*find(h, "kore-signature") == *find(active_only, "kore-signature"));
  CHECK(*find(h, "kore-signature") ==
        kore_signature(kSwSecret, "POST", "https://hooks.example.com/in", kSwBody));
}

TEST_CASE("attempt_headers: schemes can be switched off", "[sign][headers]") {
  AttemptInput in;
  in.url = "https://hooks.example.com/in";
  in.token = "tok";
  in.content_type = "application/x-www-form-urlencoded";
  in.body = kFormBody;
  in.now = 1000;
  const SigningKeys keys{std::string(kSwSecret), std::nullopt};

  in.kore = false;
  const Headers no_kore = attempt_headers(in, keys);
  CHECK(find(no_kore, "kore-signature") == nullptr);
  CHECK(find(no_kore, "kore-idempotency-token"));
  CHECK(find(no_kore, "webhook-signature"));
  CHECK(*find(no_kore, "content-type") == "application/x-www-form-urlencoded");

  in.kore = true;
  in.standard = false;
  const Headers no_standard = attempt_headers(in, keys);
  CHECK(find(no_standard, "kore-signature"));
  CHECK(find(no_standard, "webhook-signature") == nullptr);
  CHECK(find(no_standard, "webhook-id") == nullptr);
  CHECK(find(no_standard, "webhook-timestamp") == nullptr);
}

TEST_CASE("attempt_headers: a secret not in whsec_ form signs only the KORE scheme",
          "[sign][headers]") {
  AttemptInput in;
  in.method = "POST";
  in.url = "https://testendpoint.com?foo1=bar1&foo2=bar2";
  in.token = "tok";
  in.content_type = "application/x-www-form-urlencoded";
  in.body = kFormBody;
  const Headers h = attempt_headers(in, SigningKeys{std::string("secret12345"), std::nullopt});
  CHECK(*find(h, "kore-signature") ==
        "4fdba0cb1394cc8d17b8dabb04634aa9a951021a7b161f9c7a2186cd490b18b2");
  CHECK(find(h, "webhook-signature") == nullptr);
}

TEST_CASE("attempt_headers: timestamps before a whole second floor", "[sign][headers]") {
  AttemptInput in;
  in.url = "https://a.example/";
  in.token = "t";
  in.content_type = "application/json";
  in.now = 1999;
  CHECK(*find(attempt_headers(in, {}), "webhook-timestamp") == "1");
  CHECK(*find(attempt_headers(in, {}), "date") == "1970-01-01T00:00:01Z");
}

TEST_CASE("is_reserved_header covers SPEC §1 and connection-level headers", "[sign][headers]") {
  for (const char* name :
       {"user-agent", "date", "kore-idempotency-token", "kore-signature", "content-type",
        "webhook-id", "webhook-timestamp", "webhook-signature", "host", "content-length",
        "transfer-encoding", "connection", "upgrade", "te", "keep-alive"}) {
    INFO(name);
    CHECK(is_reserved_header(name));
  }
  CHECK(is_reserved_header("Content-Length"));
  for (const char* name :
       {"x-api-key", "authorization", "x-request-id", "accept", "content", "webhook", "dates"}) {
    INFO(name);
    CHECK_FALSE(is_reserved_header(name));
  }
}
