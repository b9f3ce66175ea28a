#include "support/test_ca.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <stdexcept>

namespace korehook::testing {

namespace {

template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

[[noreturn]] void throw_openssl(const std::string& what) {
  std::string message = "test CA: " + what;
  if (const unsigned long code = ERR_get_error(); code != 0) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof reason);
    message += ": ";
    message += reason;
  }
  ERR_clear_error();
  throw std::runtime_error(message);
}

void check(int ok, const std::string& what) {
  if (ok != 1) throw_openssl(what);
}

PKeyPtr make_key(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::kEcP256:
      key = EVP_EC_gen("P-256");
      break;
    case KeyType::kRsa2048:
      key = EVP_RSA_gen(2048);
      break;
    case KeyType::kRsa1024:
      key = EVP_RSA_gen(1024);
      break;
  }
  if (key == nullptr) throw_openssl("key generation");
  return PKeyPtr(key);
}

const EVP_MD* digest_of(Digest digest) {
  return digest == Digest::kSha1 ? EVP_sha1() : EVP_sha256();
}

void add_extension(X509* cert, X509V3_CTX& ctx, int nid, const std::string& value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) throw_openssl("extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
  check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

struct CertSpec {
  std::string common_name;
  bool ca = false;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  Validity validity;
  Digest digest = Digest::kSha256;
  KeyType key_type = KeyType::kEcP256;
};

// Makes a certificate for `subject_key`, signed by `issuer_key`; self-signed when `issuer`
// is null.
X509Ptr make_cert(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (!cert) throw_openssl("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

  BnPtr serial(BN_new());
  check(BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "BN_rand");
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    throw_openssl("serial number");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.validity.not_before.count()) ==
          nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.validity.not_after.count()) == nullptr) {
    throw_openssl("validity");
  }
  check(X509_set_pubkey(cert.get(), subject_key), "X509_set_pubkey");

  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>("korehook tests"), -1, -1,
                                   0),
        "subject O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                                   -1, -1, 0),
        "subject CN");
  check(X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name),
        "X509_set_issuer_name");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), ctx, NID_basic_constraints,
                spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (spec.ca) {
    add_extension(cert.get(), ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    const bool rsa = spec.key_type != KeyType::kEcP256;
    add_extension(cert.get(), ctx, NID_key_usage,
                  rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature");
    add_extension(cert.get(), ctx, NID_ext_key_usage, "serverAuth");
  }
  add_extension(cert.get(), ctx, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), ctx, NID_authority_key_identifier, "keyid:always");
  std::string san;
  for (const auto& dns : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
  for (const auto& ip : spec.ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (!san.empty()) add_extension(cert.get(), ctx, NID_subject_alt_name, san);

  if (X509_sign(cert.get(), issuer_key, digest_of(spec.digest)) <= 0) throw_openssl("X509_sign");
  return cert;
}

BioPtr open_for_writing(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  if (!bio) throw_openssl("cannot write " + path);
  return bio;
}

void write_certs(const std::string& path, const std::vector<X509*>& certs) {
  BioPtr bio = open_for_writing(path);
  for (X509* cert : certs) check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
}

void write_key(const std::string& path, EVP_PKEY* key) {
  {
    BioPtr bio = open_for_writing(path);
    check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
          "PEM_write_bio_PrivateKey");
  }
  ::chmod(path.c_str(), 0600);
}

}  // namespace

struct TestCa::Impl {
  CaOptions options;
  PKeyPtr root_key;
  X509Ptr root;
  PKeyPtr intermediate_key;
  X509Ptr intermediate;
  std::string intermediate_file;
};

TestCa::TestCa(std::string dir, CaOptions options)
    : impl_(std::make_unique<Impl>()), dir_(std::move(dir)) {
  impl_->options = std::move(options);
  const CaOptions& o = impl_->options;
  impl_->root_key = make_key(o.key);
  CertSpec spec;
  spec.common_name = o.common_name;
  spec.ca = true;
  spec.validity = o.validity;
  spec.digest = o.digest;
  spec.key_type = o.key;
  impl_->root = make_cert(spec, impl_->root_key.get(), nullptr, impl_->root_key.get());
  ca_file_ = dir_ + "/" + o.name + ".pem";
  write_certs(ca_file_, {impl_->root.get()});
  write_key(dir_ + "/" + o.name + ".key", impl_->root_key.get());
}

TestCa::~TestCa() = default;

const std::string& TestCa::intermediate_file() {
  if (!impl_->intermediate) {
    const CaOptions& o = impl_->options;
    impl_->intermediate_key = make_key(KeyType::kEcP256);
    CertSpec spec;
    spec.common_name = o.common_name + " intermediate";
    spec.ca = true;
    spec.validity = o.validity;
    spec.digest = o.digest;
    impl_->intermediate =
        make_cert(spec, impl_->intermediate_key.get(), impl_->root.get(), impl_->root_key.get());
    impl_->intermediate_file = dir_ + "/" + o.name + "-int.pem";
    write_certs(impl_->intermediate_file, {impl_->intermediate.get()});
  }
  return impl_->intermediate_file;
}

IssuedCert TestCa::issue(const std::string& name, const LeafOptions& options) {
  PKeyPtr key = make_key(options.key);
  CertSpec spec;
  spec.common_name = options.common_name;
  if (spec.common_name.empty()) {
    spec.common_name = !options.dns_names.empty()      ? options.dns_names.front()
                       : !options.ip_addresses.empty() ? options.ip_addresses.front()
                                                       : name;
  }
  spec.dns_names = options.dns_names;
  spec.ip_addresses = options.ip_addresses;
  spec.validity = options.validity;
  spec.digest = options.digest;
  spec.key_type = options.key;

  X509Ptr cert;
  std::vector<X509*> chain;
  if (options.self_signed) {
    cert = make_cert(spec, key.get(), nullptr, key.get());
    chain = {cert.get()};
  } else if (options.via_intermediate) {
    intermediate_file();
    cert = make_cert(spec, key.get(), impl_->intermediate.get(), impl_->intermediate_key.get());
    chain = {cert.get()};
    if (options.serve_intermediate) chain.push_back(impl_->intermediate.get());
  } else {
    cert = make_cert(spec, key.get(), impl_->root.get(), impl_->root_key.get());
    chain = {cert.get()};
  }

  IssuedCert out;
  out.cert_file = dir_ + "/" + name + ".crt";
  out.chain_file = dir_ + "/" + name + ".chain.pem";
  out.key_file = dir_ + "/" + name + ".key";
  write_certs(out.cert_file, {cert.get()});
  write_certs(out.chain_file, chain);
  write_key(out.key_file, key.get());
  return out;
}

IssuedCert TestCa::issue_server(const std::string& name, std::vector<std::string> dns_names,
                                std::vector<std::string> ip_addresses) {
  LeafOptions options;
  options.dns_names = std::move(dns_names);
  options.ip_addresses = std::move(ip_addresses);
  return issue(name, options);
}

}  // namespace korehook::testing
