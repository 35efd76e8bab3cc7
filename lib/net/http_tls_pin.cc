#include "lib/net/http_tls_pin.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#if defined(BORINGSSL_PREFIX) || !defined(OPENSSL_VERSION_MAJOR)
#error \
    "http_tls_pin must see Debian's OpenSSL 3 headers (the ones libcurl uses)"
#endif

namespace coldstart {
namespace http_internal {
namespace {

int VerifyPinnedCertificate(X509_STORE_CTX* store_ctx, void* arg) {
  auto* pin = static_cast<CertificatePin*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(store_ctx);
  unsigned char* der = nullptr;
  int len = leaf != nullptr ? i2d_X509(leaf, &der) : -1;
  if (len <= 0) {
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_UNSPECIFIED);
    return 0;
  }
  pin->presented_sha256 =
      pin->sha256(absl::string_view(reinterpret_cast<const char*>(der), len));
  OPENSSL_free(der);
  if (pin->presented_sha256 != pin->expected_sha256) {
    pin->mismatch = true;
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  X509_STORE_CTX_set_error(store_ctx, X509_V_OK);
  return 1;
}

}  // namespace

int InstallCertificatePin(void* ssl_ctx, CertificatePin* pin) {
  SSL_CTX_set_cert_verify_callback(static_cast<SSL_CTX*>(ssl_ctx),
                                   &VerifyPinnedCertificate, pin);
  return 0;
}

}  // namespace http_internal
}  // namespace coldstart
