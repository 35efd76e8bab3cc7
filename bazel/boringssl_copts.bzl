"""Compiler options for targets that include BoringSSL's headers themselves."""

# BoringSSL's headers are <openssl/...>, like Debian's OpenSSL headers that cpp-httplib, libcurl
# and gRPC code include. So their include path does not propagate (no `includes`): only a target
# that includes BoringSSL's headers itself adds these copts. Everything that merely depends on such
# a target (e.g. on //lib:crypto, whose header includes no OpenSSL header) keeps Debian's
# <openssl/...>, and the two can meet in one binary thanks to the BSSL_ symbol prefix.
BORINGSSL_COPTS = [
    "-isystem",
    "external/boringssl/src/include",
    "-isystem",
    "$(GENDIR)/external/boringssl/prefix",
]
