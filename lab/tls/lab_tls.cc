#include "lab/tls/lab_tls.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/base/status_macros.h"
#include "lib/secrets/crypto.h"
#include "lib/secrets/secret.h"

namespace coldstart::lab {
namespace {

std::mutex ca_mutex;

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return true;
}

absl::Status WriteFile(const std::string& path, absl::string_view data,
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

// Valid from an hour ago (clock skew) for ten years.
CertificateTemplate LabTemplate(std::string common_name) {
  CertificateTemplate spec;
  spec.common_name = std::move(common_name);
  absl::Time now = absl::Now();
  spec.not_before = now - absl::Hours(1);
  spec.not_after = now + absl::Hours(24 * 365 * 10);
  return spec;
}

struct LabCa {
  Certificate cert;
  PrivateKey key;
};

// Reads the CA from `cert_path` / `key_path`, or creates both files when
// either is missing.
absl::StatusOr<LabCa> LoadOrCreateCa(const std::string& cert_path,
                                     const std::string& key_path) {
  std::string cert_pem, key_pem;
  if (ReadFile(cert_path, &cert_pem) && ReadFile(key_path, &key_pem)) {
    absl::StatusOr<Certificate> cert = Certificate::FromPem(cert_pem);
    absl::StatusOr<PrivateKey> key =
        PrivateKey::FromPem(Secret(std::move(key_pem)));
    if (!cert.ok() || !key.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "lab TLS: ", cert_path, " or ", key_path, " is unreadable"));
    }
    return LabCa{*std::move(cert), *std::move(key)};
  }
  PrivateKey key = PrivateKey::GenerateEcdsaP256();
  CertificateTemplate spec = LabTemplate("coldstart lab CA");
  spec.is_ca = true;
  spec.key_usage = kKeyCertSign | kCrlSign;
  ASSIGN_OR_RETURN(Certificate cert,
                   IssueCertificate(spec, key.public_key(), key, nullptr));
  ASSIGN_OR_RETURN(Secret pem, key.ToPem(PrivateKeyPem::kPkcs8));
  RETURN_IF_ERROR(WriteFile(key_path, pem.Reveal(), 0600));
  RETURN_IF_ERROR(WriteFile(cert_path, cert.ToPem(), 0644));
  return LabCa{std::move(cert), std::move(key)};
}

}  // namespace

std::string LabSha256Hex(absl::string_view data) {
  return HexEncode(Sha256(data));
}

absl::StatusOr<ServerCertificateFiles> IssueLabServerCertificate(
    const std::string& workdir, const std::string& name,
    const std::vector<std::string>& ip_addresses) {
  std::lock_guard<std::mutex> lock(ca_mutex);
  ServerCertificateFiles files;
  files.ca_path = workdir + "/lab-ca.pem";
  ASSIGN_OR_RETURN(LabCa ca,
                   LoadOrCreateCa(files.ca_path, workdir + "/lab-ca-key.pem"));
  PrivateKey key = PrivateKey::GenerateEcdsaP256();
  CertificateTemplate spec = LabTemplate("coldstart lab " + name);
  spec.key_usage = kDigitalSignature | kKeyEncipherment;
  spec.server_auth = true;
  spec.dns_names = {"localhost"};
  spec.ip_addresses = ip_addresses;
  ASSIGN_OR_RETURN(Certificate cert,
                   IssueCertificate(spec, key.public_key(), ca.key, &ca.cert));
  files.cert_path = absl::StrCat(workdir, "/", name, "-cert.pem");
  files.key_path = absl::StrCat(workdir, "/", name, "-key.pem");
  // PKCS#8 "PRIVATE KEY": what httplib's SSLServer (Debian's OpenSSL) reads.
  ASSIGN_OR_RETURN(Secret key_pem, key.ToPem(PrivateKeyPem::kPkcs8));
  RETURN_IF_ERROR(WriteFile(files.key_path, key_pem.Reveal(), 0600));
  RETURN_IF_ERROR(WriteFile(files.cert_path, cert.ToPem(), 0644));
  std::string hex = HexEncode(cert.Sha256Fingerprint());
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i > 0) files.cert_sha256.push_back(':');
    files.cert_sha256.append(hex, i, 2);
  }
  return files;
}

}  // namespace coldstart::lab
