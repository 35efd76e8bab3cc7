#include <openssl/aead.h>
#include <openssl/asn1.h>
#include <openssl/base64.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/secrets/crypto.h"

#if !defined(BORINGSSL_PREFIX)
#error \
    "lib/crypto must be compiled against the prefixed BoringSSL (@boringssl//:crypto)"
#endif

#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/crypto_internal.h"

namespace coldstart {

using ::coldstart::crypto_internal::PemBlock;
using ::coldstart::crypto_internal::PemDecodeAll;
using ::coldstart::crypto_internal::PemEncode;
using ::coldstart::crypto_internal::SigningDigest;
using ::coldstart::crypto_internal::SslError;
using ::coldstart::crypto_internal::U8;

// --- X.509 -----------------------------------------------------------------

namespace {

bssl::UniquePtr<X509> ParseX509(absl::string_view der) {
  const uint8_t* p = U8(der);
  bssl::UniquePtr<X509> x509(d2i_X509(nullptr, &p, der.size()));
  if (x509 == nullptr || p != U8(der) + der.size()) {
    ERR_clear_error();
    return nullptr;
  }
  return x509;
}

absl::StatusOr<std::string> X509ToDer(X509* x509) {
  uint8_t* out = nullptr;
  int len = i2d_X509(x509, &out);
  if (len <= 0) {
    return absl::InternalError(
        absl::StrCat("encode certificate: ", SslError()));
  }
  std::string der(reinterpret_cast<const char*>(out), len);
  OPENSSL_free(out);
  return der;
}

absl::Time AsnTimeToAbsl(const ASN1_TIME* t) {
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0, seconds = 0;
  if (t == nullptr || !ASN1_TIME_diff(&days, &seconds, epoch.get(), t)) {
    ERR_clear_error();
    return absl::InfinitePast();
  }
  return absl::UnixEpoch() + absl::Hours(24) * days + absl::Seconds(seconds);
}

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid,
                          const std::string& value) {
  bssl::UniquePtr<X509_EXTENSION> ext(
      X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str()));
  if (ext == nullptr || !X509_add_ext(cert, ext.get(), -1)) {
    return absl::InvalidArgumentError(absl::StrCat("certificate extension ",
                                                   OBJ_nid2sn(nid), "=\"",
                                                   value, "\": ", SslError()));
  }
  return absl::OkStatus();
}

absl::Status SetName(X509_NAME* name, const CertificateTemplate& spec) {
  for (const std::string& org : spec.organizations) {
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, U8(org),
                                    org.size(), -1, 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("subject O=\"", org, "\": ", SslError()));
    }
  }
  if (!spec.common_name.empty() &&
      !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  U8(spec.common_name), spec.common_name.size(),
                                  -1, 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("subject CN=\"", spec.common_name, "\": ", SslError()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Certificate> Certificate::FromDer(absl::string_view der) {
  if (ParseX509(der) == nullptr) {
    return absl::InvalidArgumentError("malformed X.509 certificate (DER)");
  }
  return Certificate(std::string(der));
}

absl::StatusOr<std::vector<Certificate>> Certificate::AllFromPem(
    absl::string_view pem) {
  ASSIGN_OR_RETURN(std::vector<PemBlock> blocks, PemDecodeAll(pem));
  std::vector<Certificate> certs;
  for (const PemBlock& block : blocks) {
    if (block.label != "CERTIFICATE") continue;
    ASSIGN_OR_RETURN(Certificate cert, FromDer(block.der));
    certs.push_back(std::move(cert));
  }
  if (certs.empty()) {
    return absl::InvalidArgumentError("no \"CERTIFICATE\" PEM block found");
  }
  return certs;
}

absl::StatusOr<Certificate> Certificate::FromPem(absl::string_view pem) {
  ASSIGN_OR_RETURN(std::vector<Certificate> certs, AllFromPem(pem));
  return std::move(certs.front());
}

std::string Certificate::ToPem() const {
  return PemEncode("CERTIFICATE", der_);
}

absl::StatusOr<PublicKey> Certificate::public_key() const {
  bssl::UniquePtr<X509> x509 = ParseX509(der_);
  bssl::UniquePtr<EVP_PKEY> pkey(X509_get_pubkey(x509.get()));
  if (pkey == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "certificate's public key is of an unsupported type");
  }
  return KeyAccess::MakePublic(std::move(pkey));
}

absl::Time Certificate::not_before() const {
  return AsnTimeToAbsl(X509_get0_notBefore(ParseX509(der_).get()));
}

absl::Time Certificate::not_after() const {
  return AsnTimeToAbsl(X509_get0_notAfter(ParseX509(der_).get()));
}

std::string Certificate::SubjectString() const {
  bssl::UniquePtr<X509> x509 = ParseX509(der_);
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(x509.get()), 0,
                     XN_FLAG_RFC2253);
  const uint8_t* contents = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &contents, &len);
  return std::string(reinterpret_cast<const char*>(contents), len);
}

std::vector<std::string> Certificate::Organizations() const {
  std::vector<std::string> orgs;
  bssl::UniquePtr<X509> x509 = ParseX509(der_);
  X509_NAME* name = X509_get_subject_name(x509.get());
  for (int i = -1;
       (i = X509_NAME_get_index_by_NID(name, NID_organizationName, i)) >= 0;) {
    uint8_t* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(
        &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (len < 0) {
      ERR_clear_error();
      continue;
    }
    orgs.emplace_back(reinterpret_cast<const char*>(utf8), len);
    OPENSSL_free(utf8);
  }
  return orgs;
}

bool Certificate::IsCa() const {
  bssl::UniquePtr<X509> x509 = ParseX509(der_);
  return (X509_get_extension_flags(x509.get()) & EXFLAG_CA) != 0;
}

absl::StatusOr<std::vector<std::string>> Certificate::ExtendedKeyUsageOids()
    const {
  bssl::UniquePtr<X509> x509 = ParseX509(der_);
  int critical = 0;
  std::unique_ptr<EXTENDED_KEY_USAGE, decltype(&EXTENDED_KEY_USAGE_free)> ekus(
      static_cast<EXTENDED_KEY_USAGE*>(
          X509_get_ext_d2i(x509.get(), NID_ext_key_usage, &critical, nullptr)),
      &EXTENDED_KEY_USAGE_free);
  std::vector<std::string> oids;
  if (ekus == nullptr) {
    ERR_clear_error();
    if (critical == -1) return oids;  // No such extension.
    return absl::InvalidArgumentError(
        absl::StrCat("certificate ", SubjectString(), ": ",
                     critical == -2 ? "repeated" : "malformed",
                     " extended key usage extension"));
  }
  for (size_t i = 0; i < sk_ASN1_OBJECT_num(ekus.get()); ++i) {
    char buf[128];
    int len = OBJ_obj2txt(buf, sizeof(buf), sk_ASN1_OBJECT_value(ekus.get(), i),
                          /*always_return_oid=*/1);
    if (len < 0 || static_cast<size_t>(len) >= sizeof(buf)) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("certificate ", SubjectString(),
                       ": unreadable extended key usage OID"));
    }
    oids.emplace_back(buf, len);
  }
  return oids;
}

absl::StatusOr<Certificate> IssueCertificate(const CertificateTemplate& spec,
                                             const PublicKey& subject_key,
                                             const PrivateKey& issuer_key,
                                             const Certificate* issuer) {
  if (spec.not_after <= spec.not_before) {
    return absl::InvalidArgumentError("certificate not_after <= not_before");
  }
  bssl::UniquePtr<X509> issuer_x509;
  if (issuer != nullptr) {
    issuer_x509 = ParseX509(issuer->der());
    ASSIGN_OR_RETURN(PublicKey issuer_pub, issuer->public_key());
    if (!(issuer_pub == issuer_key.public_key())) {
      return absl::InvalidArgumentError(
          "issuer key does not match the issuer certificate");
    }
  } else if (!(subject_key == issuer_key.public_key())) {
    return absl::InvalidArgumentError(
        "self-signed certificate: issuer key does not match the subject key");
  }

  bssl::UniquePtr<X509> cert(X509_new());
  bssl::UniquePtr<BIGNUM> serial(BN_new());
  bssl::UniquePtr<ASN1_TIME> not_before(
      ASN1_TIME_set(nullptr, absl::ToTimeT(spec.not_before)));
  bssl::UniquePtr<ASN1_TIME> not_after(
      ASN1_TIME_set(nullptr, absl::ToTimeT(spec.not_after)));
  if (!X509_set_version(cert.get(), X509_VERSION_3) ||
      !BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ||
      not_before == nullptr || not_after == nullptr ||
      !X509_set1_notBefore(cert.get(), not_before.get()) ||
      !X509_set1_notAfter(cert.get(), not_after.get()) ||
      !X509_set_pubkey(cert.get(), KeyAccess::Get(subject_key))) {
    return absl::InternalError(absl::StrCat("certificate: ", SslError()));
  }
  RETURN_IF_ERROR(SetName(X509_get_subject_name(cert.get()), spec));
  if (!X509_set_issuer_name(
          cert.get(), issuer_x509 ? X509_get_subject_name(issuer_x509.get())
                                  : X509_get_subject_name(cert.get()))) {
    return absl::InternalError(absl::StrCat("certificate: ", SslError()));
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_x509 ? issuer_x509.get() : cert.get(), cert.get(),
                 nullptr, nullptr, 0);
  RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_basic_constraints,
                   spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
  if (spec.key_usage != 0) {
    std::vector<std::string> usages;
    if (spec.key_usage & kDigitalSignature)
      usages.push_back("digitalSignature");
    if (spec.key_usage & kKeyEncipherment) usages.push_back("keyEncipherment");
    if (spec.key_usage & kKeyCertSign) usages.push_back("keyCertSign");
    if (spec.key_usage & kCrlSign) usages.push_back("cRLSign");
    if (spec.key_usage & kEncipherOnly) {
      usages.push_back("keyAgreement");  // encipherOnly requires it (RFC 5280).
      usages.push_back("encipherOnly");
    }
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage,
                                 "critical," + absl::StrJoin(usages, ",")));
  }
  std::vector<std::string> ekus;
  if (spec.server_auth) ekus.push_back("serverAuth");
  if (spec.client_auth) ekus.push_back("clientAuth");
  if (!ekus.empty()) {
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage,
                                 absl::StrJoin(ekus, ",")));
  }
  std::vector<std::string> sans;
  for (const std::string& dns : spec.dns_names) sans.push_back("DNS:" + dns);
  for (const std::string& ip : spec.ip_addresses) sans.push_back("IP:" + ip);
  if (!sans.empty()) {
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_alt_name,
                                 absl::StrJoin(sans, ",")));
  }
  RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (issuer_x509 != nullptr) {
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_authority_key_identifier,
                                 "keyid:always"));
  }
  if (!X509_sign(cert.get(), KeyAccess::Get(issuer_key),
                 SigningDigest(issuer_key.type()))) {
    return absl::InternalError(absl::StrCat("sign certificate: ", SslError()));
  }
  ASSIGN_OR_RETURN(std::string der, X509ToDer(cert.get()));
  return Certificate::FromDer(der);
}

absl::Status VerifyCertificateChain(const Certificate& leaf,
                                    absl::Span<const Certificate> intermediates,
                                    absl::Span<const Certificate> roots,
                                    absl::Time at, absl::string_view host) {
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  for (const Certificate& root : roots) {
    bssl::UniquePtr<X509> x509 = ParseX509(root.der());
    if (x509 == nullptr || !X509_STORE_add_cert(store.get(), x509.get())) {
      return absl::InternalError(absl::StrCat("trust store: ", SslError()));
    }
  }
  bssl::UniquePtr<STACK_OF(X509)> chain(sk_X509_new_null());
  for (const Certificate& intermediate : intermediates) {
    bssl::UniquePtr<X509> x509 = ParseX509(intermediate.der());
    if (x509 == nullptr || !sk_X509_push(chain.get(), x509.get())) {
      return absl::InternalError(absl::StrCat("chain: ", SslError()));
    }
    x509.release();
  }
  bssl::UniquePtr<X509> leaf_x509 = ParseX509(leaf.der());
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (leaf_x509 == nullptr ||
      !X509_STORE_CTX_init(ctx.get(), store.get(), leaf_x509.get(),
                           chain.get())) {
    return absl::InternalError(absl::StrCat("verify setup: ", SslError()));
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(at));
  if (!host.empty()) {
    bssl::UniquePtr<ASN1_OCTET_STRING> ip(
        a2i_IPADDRESS(std::string(host).c_str()));
    ERR_clear_error();
    int ok = ip != nullptr
                 ? X509_VERIFY_PARAM_set1_ip(param, ip->data, ip->length)
                 : X509_VERIFY_PARAM_set1_host(param, host.data(), host.size());
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad host name \"", host, "\""));
    }
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::PermissionDeniedError(absl::StrCat(
        "certificate ", leaf.SubjectString(),
        " does not verify: ", X509_verify_cert_error_string(err), " (at depth ",
        X509_STORE_CTX_get_error_depth(ctx.get()), ")"));
  }
  return absl::OkStatus();
}

}  // namespace coldstart
