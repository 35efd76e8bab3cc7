#include "lab/talos/talos_pki.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace coldstart::lab {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

Key GenerateKey(int type) {
  if (type == EVP_PKEY_ED25519) {
    return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  }
  if (type == EVP_PKEY_RSA) {
    return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  }
  return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
}

Cert ReadCert(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

std::vector<Cert> ReadCerts(const std::string& pem) {
  std::vector<Cert> out;
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(x);
  }
  return out;
}

Key ReadKey(const std::string& pem) {
  const std::string normalized = NormalizeKeyPemForOpenSsl(pem);
  Bio bio(
      BIO_new_mem_buf(normalized.data(), static_cast<int>(normalized.size())));
  return Key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

std::string KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                           nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

bool AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Free> ext(
      X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1);
}

struct Issue {
  std::string common_name;
  std::vector<std::string> organizations;
  bool ca = false;
  std::string key_usage;  // e.g. "critical,digitalSignature"
  std::string ext_key_usage;
  std::vector<std::string> sans;  // "IP:..." / "DNS:..."
  long not_before_offset = 0;     // seconds from now
  long lifetime = 86400;          // seconds
};

absl::StatusOr<Cert> Sign(const Issue& spec, EVP_PKEY* subject_key,
                          X509* issuer, EVP_PKEY* issuer_key) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before_offset);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  spec.not_before_offset + spec.lifetime);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const std::string& o : spec.organizations) {
    X509_NAME_add_entry_by_txt(
        name, "O", MBSTRING_UTF8,
        reinterpret_cast<const unsigned char*>(o.c_str()), -1, -1, 0);
  }
  if (!spec.common_name.empty()) {
    X509_NAME_add_entry_by_txt(
        name, "CN", MBSTRING_UTF8,
        reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
        -1, 0);
  }
  X509_set_issuer_name(
      cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(cert.get(), subject_key);
  X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
  bool ok = AddExt(cert.get(), issuer_cert, NID_basic_constraints,
                   spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
            AddExt(cert.get(), issuer_cert, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) {
    ok = ok &&
         AddExt(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid");
  }
  if (!spec.key_usage.empty()) {
    ok = ok && AddExt(cert.get(), issuer_cert, NID_key_usage, spec.key_usage);
  }
  if (!spec.ext_key_usage.empty()) {
    ok = ok &&
         AddExt(cert.get(), issuer_cert, NID_ext_key_usage, spec.ext_key_usage);
  }
  if (!spec.sans.empty()) {
    std::string sans;
    for (const std::string& s : spec.sans) {
      absl::StrAppend(&sans, sans.empty() ? "" : ",", s);
    }
    ok = ok && AddExt(cert.get(), issuer_cert, NID_subject_alt_name, sans);
  }
  const EVP_MD* md =
      EVP_PKEY_id(issuer_key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (!ok || X509_sign(cert.get(), issuer_key, md) <= 0) {
    return absl::InternalError("OpenSSL could not issue a certificate");
  }
  return cert;
}

std::vector<std::string> SanList(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (n.empty()) continue;
    const bool ip = n.find_first_not_of("0123456789.") == std::string::npos ||
                    n.find(':') != std::string::npos;
    std::string entry = absl::StrCat(ip ? "IP:" : "DNS:", n);
    bool seen = false;
    for (const auto& e : out) seen |= e == entry;
    if (!seen) out.push_back(entry);
  }
  return out;
}

}  // namespace

std::string NormalizeKeyPemForOpenSsl(const std::string& pem) {
  return absl::StrReplaceAll(
      pem,
      {{"-----BEGIN ED25519 PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----"},
       {"-----END ED25519 PRIVATE KEY-----", "-----END PRIVATE KEY-----"}});
}

absl::StatusOr<PemKeyPair> IssueMaintenanceCertificate(
    const std::vector<std::string>& ips, const std::string& hostname) {
  Key ca_key = GenerateKey(EVP_PKEY_ED25519);
  Key leaf_key = GenerateKey(EVP_PKEY_ED25519);
  if (!ca_key || !leaf_key) return absl::InternalError("Ed25519 keygen");
  Issue ca_spec;
  ca_spec.organizations = {"talos"};
  ca_spec.ca = true;
  ca_spec.key_usage = "critical,keyCertSign,digitalSignature";
  ca_spec.lifetime = 86400;
  auto ca = Sign(ca_spec, ca_key.get(), nullptr, ca_key.get());
  if (!ca.ok()) return ca.status();
  std::vector<std::string> names = ips;
  names.push_back("127.0.0.1");
  names.push_back("::1");
  names.push_back(hostname);
  Issue leaf_spec;
  leaf_spec.common_name = "maintenance-service.talos.dev";
  leaf_spec.key_usage = "critical,digitalSignature";
  leaf_spec.ext_key_usage = "serverAuth";
  leaf_spec.sans = SanList(names);
  auto leaf = Sign(leaf_spec, leaf_key.get(), ca->get(), ca_key.get());
  if (!leaf.ok()) return leaf.status();
  return PemKeyPair{CertPem(leaf->get()), KeyPem(leaf_key.get())};
}

absl::StatusOr<PemKeyPair> IssueApidCertificate(
    const std::string& ca_cert_pem, const std::string& ca_key_pem,
    const std::string& hostname, const std::vector<std::string>& sans) {
  Cert ca = ReadCert(ca_cert_pem);
  Key ca_key = ReadKey(ca_key_pem);
  if (!ca || !ca_key) return absl::InvalidArgumentError("unreadable OS CA");
  Key key = GenerateKey(EVP_PKEY_id(ca_key.get()));
  if (!key) return absl::InternalError("keygen");
  std::vector<std::string> names = sans;
  names.push_back("127.0.0.1");
  names.push_back(hostname);
  Issue spec;
  spec.common_name = hostname;
  spec.key_usage = "critical,digitalSignature";
  spec.ext_key_usage = "serverAuth";
  spec.sans = SanList(names);
  spec.not_before_offset = -60;
  auto cert = Sign(spec, key.get(), ca.get(), ca_key.get());
  if (!cert.ok()) return cert.status();
  return PemKeyPair{CertPem(cert->get()), KeyPem(key.get())};
}

absl::StatusOr<PemKeyPair> IssueKubernetesAdminCertificate(
    const std::string& ca_cert_pem, const std::string& ca_key_pem) {
  Cert ca = ReadCert(ca_cert_pem);
  Key ca_key = ReadKey(ca_key_pem);
  if (!ca || !ca_key) {
    return absl::FailedPreconditionError("cluster CA is not available");
  }
  Key key = GenerateKey(EVP_PKEY_EC);
  Issue spec;
  spec.common_name = "admin";
  spec.organizations = {"system:masters"};
  spec.key_usage = "critical,digitalSignature,keyEncipherment";
  spec.ext_key_usage = "clientAuth";
  spec.not_before_offset = -10;
  spec.lifetime = 365L * 86400;
  auto cert = Sign(spec, key.get(), ca.get(), ca_key.get());
  if (!cert.ok()) return cert.status();
  return PemKeyPair{CertPem(cert->get()), KeyPem(key.get())};
}

absl::StatusOr<std::string> PemLabel(absl::string_view pem) {
  const size_t begin = pem.find("-----BEGIN ");
  if (begin == absl::string_view::npos) {
    return absl::InvalidArgumentError("no PEM block");
  }
  const size_t start = begin + 11;
  const size_t end = pem.find("-----", start);
  if (end == absl::string_view::npos) {
    return absl::InvalidArgumentError("no PEM block");
  }
  return std::string(pem.substr(start, end - start));
}

absl::Status CheckCertificatePem(const std::string& pem) {
  absl::StatusOr<std::string> label = PemLabel(pem);
  if (!label.ok() || *label != "CERTIFICATE" || !ReadCert(pem)) {
    return absl::InvalidArgumentError("failed to parse PEM certificate");
  }
  return absl::OkStatus();
}

absl::Status CheckTalosKeyPem(const std::string& pem) {
  absl::StatusOr<std::string> label = PemLabel(pem);
  if (!label.ok()) {
    return absl::InvalidArgumentError("failed to decode PEM key");
  }
  if (*label != "RSA PRIVATE KEY" && *label != "EC PRIVATE KEY" &&
      *label != "ED25519 PRIVATE KEY") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported key type: \"", *label, "\""));
  }
  if (!ReadKey(pem)) {
    return absl::InvalidArgumentError(absl::StrCat("failed to parse ", *label));
  }
  return absl::OkStatus();
}

bool KeyMatchesCertificate(const std::string& cert_pem,
                           const std::string& key_pem) {
  Cert cert = ReadCert(cert_pem);
  Key key = ReadKey(key_pem);
  return cert && key && X509_check_private_key(cert.get(), key.get()) == 1;
}

absl::Status CheckClientChainExtKeyUsage(const std::string& chain_pem) {
  std::vector<Cert> chain = ReadCerts(chain_pem);
  if (chain.empty()) {
    return absl::PermissionDeniedError("no client certificate");
  }
  for (const Cert& cert : chain) {
    if (X509_check_ca(cert.get()) > 0 &&
        (X509_get_extension_flags(cert.get()) & EXFLAG_CA)) {
      continue;
    }
    const uint32_t flags = X509_get_extension_flags(cert.get());
    const uint32_t xku = X509_get_extended_key_usage(cert.get());
    char name[256];
    X509_NAME_oneline(X509_get_subject_name(cert.get()), name, sizeof(name));
    // Exactly [clientAuth]: the extension present, clientAuth set, nothing
    // else (any other usage, incl. serverAuth or anyExtendedKeyUsage).
    if (!(flags & EXFLAG_XKUSAGE) || xku != XKU_SSL_CLIENT) {
      return absl::PermissionDeniedError(absl::StrCat(
          "certificate ", name, ": ExtKeyUsage must be exactly [clientAuth]"));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> CertificateOrganizations(const std::string& cert_pem) {
  std::vector<std::string> out;
  Cert cert = ReadCert(cert_pem);
  if (!cert) return out;
  X509_NAME* name = X509_get_subject_name(cert.get());
  int i = -1;
  while ((i = X509_NAME_get_index_by_NID(name, NID_organizationName, i)) >= 0) {
    ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    out.emplace_back(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
        ASN1_STRING_length(value));
  }
  return out;
}

}  // namespace coldstart::lab
