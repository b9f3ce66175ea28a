#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace korehook::testing {

enum class KeyType { kEcP256, kRsa2048, kRsa1024 };
enum class Digest { kSha256, kSha1 };

// Validity relative to the moment of issue.
struct Validity {
  std::chrono::seconds not_before{-3600};          // an hour ago (clock skew)
  std::chrono::seconds not_after{30 * 24 * 3600};  // in 30 days

  static Validity expired() { return {std::chrono::hours(-48), std::chrono::hours(-24)}; }
  static Validity not_yet_valid() { return {std::chrono::hours(24), std::chrono::hours(48)}; }
};

struct CaOptions {
  std::string name = "ca";  // files: <dir>/<name>.pem (certificate), <name>.key
  std::string common_name = "korehook test root";
  KeyType key = KeyType::kEcP256;
  Digest digest = Digest::kSha256;
  Validity validity{std::chrono::hours(-1), std::chrono::hours(24 * 365)};
};

struct LeafOptions {
  std::vector<std::string> dns_names{};     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses{};  // subjectAltName IP entries ("127.0.0.1", "::1")
  std::string common_name{};                // defaults to the first DNS name or IP
  KeyType key = KeyType::kEcP256;
  Digest digest = Digest::kSha256;  // of the issuer's signature
  Validity validity{};
  bool self_signed = false;  // signed by its own key (and not by the CA)
  // Issued by the CA's intermediate (created on first use) instead of the root; the chain
  // file then contains leaf + intermediate unless `serve_intermediate` is false.
  bool via_intermediate = false;
  bool serve_intermediate = true;
};

// PEM files of one issued certificate.
struct IssuedCert {
  std::string cert_file;   // <dir>/<name>.crt: the leaf alone
  std::string chain_file;  // <dir>/<name>.chain.pem: what a server should present
  std::string key_file;    // <dir>/<name>.key: unencrypted PKCS#8, mode 0600
};

// A certificate authority made at test time with OpenSSL 3 (EVP_PKEY, X509): a self-signed
// root (CA:TRUE, keyCertSign) written to <dir>/<name>.pem, which is what a client trusts, and
// leaf certificates (serverAuth, SAN) for given names and addresses. Two TestCa objects with
// different names in one directory give a trusted and an untrusted root.
// Throws std::runtime_error (with OpenSSL's reason) on any failure. Not thread-safe.
class TestCa {
 public:
  explicit TestCa(std::string dir, CaOptions options = {});
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  // The root certificate (PEM): give it to the client as its CA file.
  const std::string& ca_file() const { return ca_file_; }
  // The intermediate CA's certificate (created on first use): <dir>/<name>-int.pem.
  const std::string& intermediate_file();

  // Issues a leaf named `name` (file names) with the given identities and variant.
  IssuedCert issue(const std::string& name, const LeafOptions& options);

  // Convenience: a valid EC P-256 leaf for DNS names and IP addresses.
  IssuedCert issue_server(const std::string& name, std::vector<std::string> dns_names,
                          std::vector<std::string> ip_addresses = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string dir_;
  std::string ca_file_;
};

}  // namespace korehook::testing
