#!/usr/bin/env bash
# setup.sh's version pins, checked against this machine's dpkg database (read-only: --check-only).
set -uo pipefail
setup=$1
pins=$2
tmp=${TEST_TMPDIR:-$(mktemp -d)}
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# The project's own pin file is satisfied on a machine set up by setup.sh.
if ! out=$(bash "$setup" --check-only --packages "$pins" 2>&1); then
  fail "the committed pins do not hold here: $out"
fi

# A deliberately wrong range names the package, the range and what it found; exit 1.
sed 's/^libgrpc++-dev .*/libgrpc++-dev 1.60 1.61/' "$pins" >"$tmp/wrong.txt"
out=$(bash "$setup" --check-only --packages "$tmp/wrong.txt" 2>&1)
code=$?
[[ $code == 1 ]] || fail "wrong range: exit $code, want 1"
grep -q '^setup: libgrpc++-dev: expected upstream version in \[1.60, 1.61), found 1\.51\.[0-9]* (Debian ' <<<"$out" ||
  fail "wrong range: message not found in: $out"
[[ $(grep -c 'expected upstream version' <<<"$out") == 1 ]] || fail "wrong range: other packages reported: $out"

# A range below the installed version fails too (an upgrade out of the range).
printf 'libprotobuf-dev 3.19 3.21\n' >"$tmp/old.txt"
out=$(bash "$setup" --check-only --packages "$tmp/old.txt" 2>&1)
[[ $? == 1 ]] && grep -q 'libprotobuf-dev: expected upstream version in \[3.19, 3.21), found 3\.21\.' <<<"$out" ||
  fail "upper bound: $out"

# A package that is not installed is named with its range.
printf 'coldstart-no-such-package 1.0 2.0\n' >"$tmp/missing.txt"
out=$(bash "$setup" --check-only --packages "$tmp/missing.txt" 2>&1)
[[ $? == 1 ]] && grep -q 'coldstart-no-such-package is not installed (expected upstream version in \[1.0, 2.0))' <<<"$out" ||
  fail "missing package: $out"

# A malformed pin line is a usage error (exit 2).
printf 'libgrpc++-dev 1.51\n' >"$tmp/malformed.txt"
out=$(bash "$setup" --check-only --packages "$tmp/malformed.txt" 2>&1)
[[ $? == 2 ]] && grep -q "bad line 'libgrpc++-dev 1.51'" <<<"$out" || fail "malformed: $out"

((failures == 0)) && echo "PASS" || exit 1
