#include "lab/pve/lab_tls.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

std::mutex ca_mutex;

absl::Status OpenSslError(absl::string_view what) {
  return absl::InternalError(absl::StrCat("lab TLS: ", what, " failed"));
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return true;
}

absl::Status WriteFile(const std::string& path, const std::string& data,
                       mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("lab TLS: cannot write ", tmp));
  }
  fchmod(fd, mode);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n <= 0) {
      close(fd);
      return absl::InternalError(absl::StrCat("lab TLS: write ", tmp));
    }
    done += static_cast<size_t>(n);
  }
  fsync(fd);
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("lab TLS: rename to ", path));
  }
  return absl::OkStatus();
}

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                           nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid,
                          const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext =
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, const_cast<char*>(value.c_str()));
  if (ext == nullptr) return OpenSslError(absl::StrCat("extension ", value));
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return absl::OkStatus();
}

// A certificate for `key` named `common_name`, signed by issuer/issuer_key
// (self-signed when issuer is null).
absl::StatusOr<X509Ptr> MakeCertificate(EVP_PKEY* key,
                                        const std::string& common_name,
                                        X509* issuer, EVP_PKEY* issuer_key,
                                        bool is_ca,
                                        const std::string& subject_alt_names) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof(serial_bytes));
  serial_bytes[0] &= 0x7f;
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(
      cert.get(), issuer == nullptr ? name : X509_get_subject_name(issuer));
  X509* ctx_issuer = issuer == nullptr ? cert.get() : issuer;
  if (is_ca) {
    absl::Status s = AddExtension(cert.get(), ctx_issuer, NID_basic_constraints,
                                  "critical,CA:TRUE");
    if (!s.ok()) return s;
    s = AddExtension(cert.get(), ctx_issuer, NID_key_usage,
                     "critical,keyCertSign,cRLSign");
    if (!s.ok()) return s;
  } else {
    for (auto [nid, value] : std::vector<std::pair<int, std::string>>{
             {NID_basic_constraints, "critical,CA:FALSE"},
             {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
             {NID_ext_key_usage, "serverAuth"},
             {NID_subject_alt_name, subject_alt_names}}) {
      absl::Status s = AddExtension(cert.get(), ctx_issuer, nid, value);
      if (!s.ok()) return s;
    }
  }
  absl::Status s =
      AddExtension(cert.get(), ctx_issuer, NID_subject_key_identifier, "hash");
  if (!s.ok()) return s;
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
    return OpenSslError("signing");
  }
  return cert;
}

}  // namespace

std::string LabSha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

absl::StatusOr<ServerCertificateFiles> IssueLabServerCertificate(
    const std::string& workdir, const std::string& name,
    const std::vector<std::string>& ip_addresses) {
  std::lock_guard<std::mutex> lock(ca_mutex);
  ServerCertificateFiles files;
  files.ca_path = workdir + "/lab-ca.pem";
  std::string ca_key_path = workdir + "/lab-ca-key.pem";
  X509Ptr ca;
  PkeyPtr ca_key;
  std::string ca_pem, ca_key_pem;
  if (ReadFile(files.ca_path, &ca_pem) && ReadFile(ca_key_path, &ca_key_pem)) {
    BioPtr cb(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())));
    ca.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    BioPtr kb(BIO_new_mem_buf(ca_key_pem.data(),
                              static_cast<int>(ca_key_pem.size())));
    ca_key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (ca == nullptr || ca_key == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "lab TLS: ", files.ca_path, " or ", ca_key_path, " is unreadable"));
    }
  } else {
    ca_key.reset(EVP_EC_gen("P-256"));
    if (ca_key == nullptr) return OpenSslError("CA key generation");
    auto made = MakeCertificate(ca_key.get(), "coldstart lab CA", nullptr,
                                ca_key.get(), true, "");
    if (!made.ok()) return made.status();
    ca = std::move(*made);
    absl::Status s = WriteFile(ca_key_path, KeyPem(ca_key.get()), 0600);
    if (!s.ok()) return s;
    s = WriteFile(files.ca_path, CertPem(ca.get()), 0644);
    if (!s.ok()) return s;
  }
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("server key generation");
  std::vector<std::string> sans = {"DNS:localhost"};
  for (const std::string& ip : ip_addresses) sans.push_back("IP:" + ip);
  auto cert = MakeCertificate(key.get(), "coldstart lab " + name, ca.get(),
                              ca_key.get(), false, absl::StrJoin(sans, ","));
  if (!cert.ok()) return cert.status();
  files.cert_path = absl::StrCat(workdir, "/", name, "-cert.pem");
  files.key_path = absl::StrCat(workdir, "/", name, "-key.pem");
  absl::Status s = WriteFile(files.key_path, KeyPem(key.get()), 0600);
  if (!s.ok()) return s;
  s = WriteFile(files.cert_path, CertPem(cert->get()), 0644);
  if (!s.ok()) return s;
  unsigned char* der = nullptr;
  int der_len = i2d_X509(cert->get(), &der);
  std::string hex =
      LabSha256Hex(absl::string_view(reinterpret_cast<char*>(der), der_len));
  OPENSSL_free(der);
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i > 0) files.cert_sha256.push_back(':');
    files.cert_sha256.append(hex, i, 2);
  }
  return files;
}

}  // namespace coldstart::lab
