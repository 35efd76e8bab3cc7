#!/bin/bash
# The tool contract (DESIGN.md "Tool contract"), run on the real binaries of
# every tool that reads a Cluster, against testdata/lab.txtpb with nothing
# listening on its loopback addresses (no lab is started):
# - --help and -h print the usage and exit 0; an unknown flag exits 2;
# - a directory as --in or --state exits 2 with a clear message and leaves no
#   lock file; an invalid spec (two nodes on one IP) exits 2 with FILE:LINE:COL,
#   changes nothing and leaves no lock file;
# - --dry-run --state never changes the state file and prints nothing on
#   stdout; --dry-run without --state echoes the input (canonical text);
# - dry-run reachability: a must-exist server that does not answer (Proxmox,
#   Headscale) is exit 1 naming it; an endpoint an earlier layer creates (the
#   Kubernetes API behind the VIP) is a "pending" line and exit 0;
# - --events FILE gets the tool's step records.
# Usage: tool_contract_test.sh LAB_SPEC CILIUM_MANIFEST TOOL_BINARY...
set -u
lab_spec="$PWD/$1"
cilium_manifest="$PWD/$2"
shift 2
binaries=()
for binary in "$@"; do binaries+=("$PWD/$binary"); done
work="${TEST_TMPDIR:-/tmp}/tool_contract"
rm -rf "$work"
mkdir -p "$work/a-directory"
# The spec's CA files (lab-ca.pem) are relative to the working directory: a
# real CA certificate there, so the runs get past loading it.
cd "$work" || exit 1
cp "$cilium_manifest" "$work/"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$work/lab-ca.key" -out "$work/lab-ca.pem" -days 2 \
  -subj "/CN=tool contract test CA" 2> /dev/null || { echo "openssl failed" >&2; exit 1; }
export COLDSTART_KEYSTORE="file:$work/keystore"
# Credentials so that dry runs get as far as the network (values are fake;
# nothing but loopback is contacted, and nothing listens there).
export PROXMOX_VE_API_TOKEN='coldstart@pve!test=00000000-0000-0000-0000-000000000000'
export HEADSCALE_API_KEY='fake-headscale-key'
unset KUBECONFIG
export HOME="$work/home"
mkdir -p "$HOME"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# A spec with two nodes on one address.
sed '0,/ip: "127.0.1.2"/s//ip: "127.0.1.1"/' "$lab_spec" > "$work/invalid.txtpb"
cmp -s "$lab_spec" "$work/invalid.txtpb" && fail "could not build the invalid spec"

# run NAME ARGS...: runs "$tool_cmd ARGS", sets $status, stdout in $work/out,
# stderr in $work/err.
run() {
  status=0
  timeout 120 "${tool_cmd[@]}" "$@" > "$work/out" 2> "$work/err" < /dev/null || status=$?
}

for binary in "${binaries[@]}"; do
  name=$(basename "$binary")
  if [ "$name" = seal-keystore ]; then
    tool_cmd=("$binary" restore)
  else
    tool_cmd=("$binary")
  fi
  label="${tool_cmd[*]##*/}"

  run --help
  [ "$status" -eq 0 ] || fail "$label --help: exit $status"
  grep -q -- '--dry-run' "$work/out" || fail "$label --help does not list --dry-run"
  run -h
  [ "$status" -eq 0 ] || fail "$label -h: exit $status ($(cat "$work/err"))"
  run --no-such-flag
  [ "$status" -eq 2 ] || fail "$label --no-such-flag: exit $status, want 2"

  run --in "$work/a-directory"
  [ "$status" -eq 2 ] || fail "$label --in DIR: exit $status, want 2"
  grep -q 'is a directory' "$work/err" || fail "$label --in DIR: unclear: $(cat "$work/err")"
  [ -s "$work/out" ] && fail "$label --in DIR wrote to stdout"
  run --state "$work/a-directory"
  [ "$status" -eq 2 ] || fail "$label --state DIR: exit $status, want 2"
  [ -e "$work/a-directory.lock" ] && fail "$label --state DIR left a lock file"

  cp "$work/invalid.txtpb" "$work/invalid-state.txtpb"
  run --state "$work/invalid-state.txtpb"
  [ "$status" -eq 2 ] || fail "$label invalid spec: exit $status, want 2"
  grep -q 'invalid-state.txtpb:[0-9]*:[0-9]*: spec.nodes' "$work/err" ||
    fail "$label invalid spec: no FILE:LINE:COL problem: $(cat "$work/err")"
  [ -e "$work/invalid-state.txtpb.lock" ] && fail "$label invalid spec left a lock file"
  cmp -s "$work/invalid.txtpb" "$work/invalid-state.txtpb" || fail "$label changed an invalid state file"

  cp "$lab_spec" "$work/state.txtpb"
  run --dry-run --state "$work/state.txtpb" --events "$work/$name.events"
  cmp -s "$lab_spec" "$work/state.txtpb" || fail "$label --dry-run --state changed the state file"
  [ -s "$work/out" ] && fail "$label --dry-run --state wrote to stdout"
  grep -q "\"tool\":\"$name\"" "$work/$name.events" || fail "$label wrote no events"
  grep -q '"event":"end"' "$work/$name.events" || fail "$label events have no end record"
  cp "$work/err" "$work/$name.dry-run.err"
  echo "$status" > "$work/$name.dry-run.status"

  run --dry-run --in "$lab_spec"
  if [ "$status" -eq 0 ]; then
    grep -q '^schema_version: 1$' "$work/out" || fail "$label --dry-run did not echo the input"
    grep -q 'name: "test-cluster"' "$work/out" || fail "$label --dry-run did not echo the input"
  fi
done

# Reachability, per tool (the dry runs above, nothing listening).
check_dry_run() {  # NAME WANT_STATUS PATTERN
  [ -f "$work/$1.dry-run.status" ] || return 0
  got=$(cat "$work/$1.dry-run.status")
  [ "$got" -eq "$2" ] || fail "$1 --dry-run: exit $got, want $2: $(cat "$work/$1.dry-run.err")"
  grep -q -- "$3" "$work/$1.dry-run.err" || fail "$1 --dry-run: stderr lacks '$3': $(cat "$work/$1.dry-run.err")"
}
check_dry_run provision-vms 1 'https://127.0.10.1:8006'
check_dry_run talos-bootstrap 1 'https://127.0.10.3:8443'
check_dry_run verify-cluster 0 'pending'

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "tool contract: $# tools ok"
