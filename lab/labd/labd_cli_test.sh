#!/usr/bin/env bash
# labd's command line: --help and -h print the usage and labd's own flags and
# exit 0; an unknown flag or a stray argument is exit 2 before anything starts.
set -uo pipefail
labd=$1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for help in --help -h; do
  out=$("$labd" "$help" 2>&1)
  rc=$?
  [[ $rc == 0 ]] || fail "labd $help exited $rc: $out"
  for flag in --spec --workdir --time-scale --faults --list-modules; do
    grep -q -- "^  $flag" <<<"$out" || fail "labd $help does not list $flag"
  done
  # The tools' common flags are not labd's.
  grep -q -- "--dry-run" <<<"$out" && fail "labd $help lists --dry-run"
  grep -q "1 the lab could not start" <<<"$out" || fail "labd $help: no exit codes"
done

err=$("$labd" --no-such-flag 2>&1)
rc=$?
[[ $rc == 2 ]] || fail "unknown flag exited $rc, want 2"
grep -q "labd: unknown flag --no-such-flag" <<<"$err" || fail "message: $err"

err=$("$labd" stray 2>&1)
rc=$?
[[ $rc == 2 ]] || fail "stray argument exited $rc, want 2"
grep -q "unexpected argument 'stray'" <<<"$err" || fail "message: $err"

out=$("$labd" --list-modules 2>&1)
rc=$?
[[ $rc == 0 && -n $out ]] || fail "--list-modules exited $rc"

((failures == 0)) && echo "PASS" || exit 1
