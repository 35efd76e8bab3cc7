#include "lab/kube/kube_pki.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#if defined(BORINGSSL_PREFIX)
#error "kube_pki uses Debian's OpenSSL (labd links it next to cpp-httplib)"
#endif

namespace coldstart::lab {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return BioText(bio.get());
}

std::string KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                           nullptr);
  return BioText(bio.get());
}

bool IsIpv4(const std::string& s) {
  in_addr addr;
  return inet_pton(AF_INET, s.c_str(), &addr) == 1;
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid,
                          const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext =
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, const_cast<char*>(value.c_str()));
  if (ext == nullptr) {
    return absl::InternalError(absl::StrCat("kube PKI: extension ", value));
  }
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return absl::OkStatus();
}

struct Subject {
  std::string common_name;
  std::string organization;
};

// A certificate for `key`, signed by issuer/issuer_key (self-signed when
// issuer is null), with the given extensions.
absl::StatusOr<X509Ptr> MakeCertificate(
    EVP_PKEY* key, const Subject& subject, X509* issuer, EVP_PKEY* issuer_key,
    long days, const std::vector<std::pair<int, std::string>>& extensions) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof(serial_bytes));
  serial_bytes[0] &= 0x7f;
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!subject.organization.empty()) {
    X509_NAME_add_entry_by_txt(
        name, "O", MBSTRING_ASC,
        reinterpret_cast<const unsigned char*>(subject.organization.c_str()),
        -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(subject.common_name.c_str()), -1,
      -1, 0);
  X509_set_issuer_name(
      cert.get(), issuer == nullptr ? name : X509_get_subject_name(issuer));
  X509* ctx_issuer = issuer == nullptr ? cert.get() : issuer;
  for (const auto& [nid, value] : extensions) {
    absl::Status s = AddExtension(cert.get(), ctx_issuer, nid, value);
    if (!s.ok()) return s;
  }
  absl::Status s =
      AddExtension(cert.get(), ctx_issuer, NID_subject_key_identifier, "hash");
  if (!s.ok()) return s;
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
    return absl::InternalError("kube PKI: signing failed");
  }
  return cert;
}

PkeyPtr NewKey() { return PkeyPtr(EVP_EC_gen("P-256")); }

}  // namespace

absl::StatusOr<KubePki> IssueKubePki(
    const std::vector<std::string>& server_addresses,
    const std::string& ca_cert_pem, const std::string& ca_key_pem) {
  KubePki pki;
  X509Ptr ca;
  PkeyPtr ca_key;
  if (ca_cert_pem.empty() && ca_key_pem.empty()) {
    ca_key = NewKey();
    absl::StatusOr<X509Ptr> made = MakeCertificate(
        ca_key.get(), {"kubernetes", ""}, nullptr, ca_key.get(), 3650,
        {{NID_basic_constraints, "critical,CA:TRUE"},
         {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"}});
    if (!made.ok()) return made.status();
    ca = std::move(*made);
    pki.ca_cert_pem = CertPem(ca.get());
    pki.ca_key_pem = KeyPem(ca_key.get());
  } else {
    BioPtr cb(BIO_new_mem_buf(ca_cert_pem.data(),
                              static_cast<int>(ca_cert_pem.size())));
    ca.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    BioPtr kb(BIO_new_mem_buf(ca_key_pem.data(),
                              static_cast<int>(ca_key_pem.size())));
    ca_key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (ca == nullptr || ca_key == nullptr) {
      return absl::InvalidArgumentError(
          "kube PKI: the cluster CA certificate or key does not parse");
    }
    pki.ca_cert_pem = ca_cert_pem;
    pki.ca_key_pem = ca_key_pem;
  }
  std::vector<std::string> sans = {"DNS:kubernetes", "DNS:kubernetes.default",
                                   "DNS:localhost", "IP:127.0.0.1"};
  for (const std::string& a : server_addresses) {
    sans.push_back(absl::StrCat(IsIpv4(a) ? "IP:" : "DNS:", a));
  }
  PkeyPtr server_key = NewKey();
  absl::StatusOr<X509Ptr> server = MakeCertificate(
      server_key.get(), {"kube-apiserver", ""}, ca.get(), ca_key.get(), 365,
      {{NID_basic_constraints, "critical,CA:FALSE"},
       {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
       {NID_ext_key_usage, "serverAuth"},
       {NID_subject_alt_name, absl::StrJoin(sans, ",")}});
  if (!server.ok()) return server.status();
  pki.server_cert_pem = CertPem(server->get());
  pki.server_key_pem = KeyPem(server_key.get());

  PkeyPtr admin_key = NewKey();
  absl::StatusOr<X509Ptr> admin = MakeCertificate(
      admin_key.get(), {"admin", "system:masters"}, ca.get(), ca_key.get(), 365,
      {{NID_basic_constraints, "critical,CA:FALSE"},
       {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
       {NID_ext_key_usage, "clientAuth"}});
  if (!admin.ok()) return admin.status();
  pki.admin_cert_pem = CertPem(admin->get());
  pki.admin_key_pem = KeyPem(admin_key.get());
  return pki;
}

}  // namespace coldstart::lab
