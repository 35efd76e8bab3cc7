#!/usr/bin/env bash
# Fails if a global symbol defined by the prefixed BoringSSL archives escaped the prefix:
# every strong C symbol must start with BSSL_, every C++ symbol of BoringSSL's namespace must be
# in the inline namespace bssl::BSSL (mangled "4bssl4BSSL"). Weak symbols outside namespace bssl
# are template instantiations of the standard library, merged by the linker as the ODR allows;
# libssl also defines constructors/destructors of its public structs (ssl_st, ssl_ctx_st,
# ssl_session_st) in the global namespace, which upstream's prefixing leaves alone: they are
# mangled C++ names, which OpenSSL (a C library) cannot define, so they cannot collide with it.
set -euo pipefail
(($# > 0)) || { echo "usage: $0 ARCHIVE..." >&2; exit 2; }
symbols=$(nm --defined-only --extern-only --format=posix "$@" | awk 'NF >= 2 && $1 !~ /:$/ {print $1, $2}')
escaped=$(awk '
  $1 ~ /^BSSL_/ { next }
  $1 ~ /4bssl/ && $1 !~ /4bssl4BSSL/ { print; next }
  $1 ~ /^_Z/ && $1 ~ /4bssl4BSSL/ { next }
  $1 == "DW.ref.__gxx_personality_v0" { next }
  $1 ~ /^_ZN(6ssl_st|10ssl_ctx_st|14ssl_session_st)[CD][12]E/ { next }
  $2 ~ /^[WVwv]$/ && $1 ~ /^_Z/ { next }
  { print }' <<<"$symbols" | sort -u)
prefixed=$(grep -c '^BSSL_' <<<"$symbols" || true)
if [[ -n "$escaped" ]]; then
  echo "FAIL: $(wc -l <<<"$escaped") symbol(s) escaped the BSSL prefix:" >&2
  echo "$escaped" | head -50 >&2
  exit 1
fi
if ((prefixed < 1000)); then
  echo "FAIL: only $prefixed BSSL_ symbols found; are these the prefixed archives?" >&2
  exit 1
fi
echo "PASS: $prefixed C symbols prefixed with BSSL_, C++ symbols in bssl::BSSL, none escaped"
