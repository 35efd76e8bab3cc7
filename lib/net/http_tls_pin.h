#ifndef COLDSTART_LIB_NET_HTTP_TLS_PIN_H_
#define COLDSTART_LIB_NET_HTTP_TLS_PIN_H_

// Internal to lib/http: certificate pinning on the OpenSSL SSL_CTX that
// Debian's libcurl uses. This is the only code that touches Debian's OpenSSL
// headers, so it lives in its own library without BoringSSL on its include
// path; it hands the certificate's DER to a hash function from outside.

#include <functional>
#include <string>

#include "absl/strings/string_view.h"

namespace coldstart {
namespace http_internal {

struct CertificatePin {
  std::string expected_sha256;  // raw 32 bytes
  std::function<std::string(absl::string_view der)> sha256;
  // Set by the verifier: the SHA-256 of the certificate the server presented.
  std::string presented_sha256;
  bool mismatch = false;
};

// For CURLOPT_SSL_CTX_FUNCTION: makes `ssl_ctx` (an OpenSSL SSL_CTX*) accept
// exactly the leaf certificate whose SHA-256 is `pin->expected_sha256`,
// replacing chain verification. `pin` must outlive the transfer. Returns a
// CURLcode (0 = OK).
int InstallCertificatePin(void* ssl_ctx, CertificatePin* pin);

}  // namespace http_internal
}  // namespace coldstart

#endif  // COLDSTART_LIB_NET_HTTP_TLS_PIN_H_
