"""BoringSSL's crypto and ssl libraries from Debian's source tree, optionally with prefixed symbols."""

load(
    "@boringssl//:BUILD.generated.bzl",
    "crypto_headers",
    "crypto_internal_headers",
    "crypto_sources",
    "crypto_sources_linux_x86_64",
    "fips_fragments",
    "ssl_headers",
    "ssl_internal_headers",
    "ssl_sources",
)

# -w only keeps the build log readable: this is third-party code we do not edit.
COPTS = [
    "-D_XOPEN_SOURCE=700",
    "-Wa,--noexecstack",
    "-fno-common",
    "-w",
]

def boringssl_libs(name, crypto, ssl, defines = [], extra_hdrs = [], includes = [], visibility = None):
    """Declares `crypto` (libcrypto) and `ssl` (libssl) as static cc_libraries.

    Args:
      name: a name for the pair (documentation only).
      crypto: name of the libcrypto target.
      ssl: name of the libssl target.
      defines: defines that propagate to dependents (BORINGSSL_PREFIX).
      extra_hdrs: additional headers of libcrypto (the prefix headers).
      includes: directories of generated headers (under the repository) both libraries need.
      visibility: visibility of both targets.
    """
    native.cc_library(
        name = crypto,
        srcs = crypto_sources + crypto_internal_headers + crypto_sources_linux_x86_64,
        hdrs = crypto_headers + fips_fragments + extra_hdrs,
        copts = COPTS + ["-std=gnu11", "-Iexternal/boringssl/src/include"] +
                ["-I$(GENDIR)/external/boringssl/" + i for i in includes],
        defines = defines,
        linkopts = ["-lpthread"],
        linkstatic = True,
        visibility = visibility,
    )
    native.cc_library(
        name = ssl,
        srcs = ssl_sources + ssl_internal_headers,
        hdrs = ssl_headers,
        copts = COPTS + ["-Iexternal/boringssl/src/include"] +
                ["-I$(GENDIR)/external/boringssl/" + i for i in includes],
        linkstatic = True,
        visibility = visibility,
        deps = [":" + crypto],
    )
