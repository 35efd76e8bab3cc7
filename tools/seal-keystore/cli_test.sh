#!/bin/sh
# seal-keystore on the real binary, cross-checked by an independent
# decryptor (independent_unseal.py, python3-cryptography, written from
# facts/sealed-secrets.md):
# - our `seal` output decrypts with it in all three scopes, to exactly the
#   input Secret's data; moving it to another name/namespace or changing its
#   scope makes it fail;
# - re-sealing with --previous keeps the vectors byte for byte (kubeseal's
#   own YAML layout, golden = the vectors made by the real sealing code);
# - the CLI contract: exit codes 0/1/2, nothing on stdout on errors, no key
#   material on stdout/stderr of key commands.
set -u
# Debian's python3 with python3-cryptography (scripts/setup.sh), not whatever python3 is first on PATH.
python=/usr/bin/python3
bin="$PWD/$1"
unseal_py="$PWD/$2"
vectors="$PWD/$(dirname "$3")"
lab_spec="$PWD/$4"
work="${TEST_TMPDIR:-/tmp}/seal_keystore_cli"
rm -rf "$work"
mkdir -p "$work"
chmod 700 "$work"
export COLDSTART_KEYSTORE="file:$work/keystore"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
expect_exit() {  # want, got, what
  [ "$2" -eq "$1" ] || fail "$3: exit $2, want $1"
}

status=0
"$bin" import "$vectors/key.pem" "$vectors/cert.pem" > "$work/out" 2> "$work/err" || status=$?
expect_exit 0 "$status" "import"
[ -s "$work/out" ] && fail "import wrote to stdout"
grep -q "PRIVATE KEY\|MII" "$work/err" && fail "import printed key material"

# Expected plaintexts, straight from the input Secret.
grep -E '^  (config.yaml|username):' "$vectors/secret.yaml" |
  sed 's/^  \([^:]*\): /\1=/' | sort > "$work/expected"

for scope in strict namespace-wide cluster-wide; do
  status=0
  "$bin" seal --scope "$scope" < "$vectors/secret.yaml" > "$work/$scope.yaml" 2> "$work/err" || status=$?
  expect_exit 0 "$status" "seal --scope $scope"
  status=0
  "$python" "$unseal_py" "$vectors/key.pem" "$work/$scope.yaml" > "$work/$scope.plain" 2> "$work/err" || status=$?
  expect_exit 0 "$status" "independent decryptor on our $scope output: $(cat "$work/err")"
  cmp -s "$work/expected" "$work/$scope.plain" || fail "$scope: decrypted data differs from secret.yaml"
  # Our output, ciphertext masked, has kubeseal's layout (the vector's).
  sed 's/: Ag[A-Za-z0-9+/=]*$/: <sealed>/' "$work/$scope.yaml" > "$work/$scope.masked"
  sed 's/: Ag[A-Za-z0-9+/=]*$/: <sealed>/' "$vectors/sealed-$scope.yaml" > "$work/$scope.golden"
  cmp -s "$work/$scope.masked" "$work/$scope.golden" || {
    fail "$scope: layout differs from the vector"
    diff "$work/$scope.golden" "$work/$scope.masked" >&2
  }
  # Unchanged Secret + --previous: byte-identical to the vector.
  "$bin" seal --scope "$scope" --previous "$vectors/sealed-$scope.yaml" \
    "$vectors/secret.yaml" > "$work/$scope.kept" 2> /dev/null || fail "seal --previous $scope"
  cmp -s "$work/$scope.kept" "$vectors/sealed-$scope.yaml" || fail "$scope: --previous did not keep the vector's bytes"
done

# Tampering: rename, move, or widen the scope of a sealed object.
tamper() {  # file, sed expression, what
  sed "$2" "$work/$1.yaml" > "$work/tampered.yaml"
  cmp -s "$work/tampered.yaml" "$work/$1.yaml" && fail "tamper $3: sed changed nothing"
  status=0
  "$python" "$unseal_py" "$vectors/key.pem" "$work/tampered.yaml" > /dev/null 2>&1 || status=$?
  expect_exit 1 "$status" "independent decryptor on $3"
  status=0
  "$bin" unseal "$work/tampered.yaml" > "$work/out" 2> "$work/err" || status=$?
  expect_exit 1 "$status" "unseal of $3"
  [ -s "$work/out" ] && fail "unseal of $3 wrote to stdout"
}
tamper strict 's/^  name: proxmox-csi-plugin/  name: renamed/' "strict, renamed"
tamper strict 's/^  namespace: csi-proxmox/  namespace: elsewhere/' "strict, moved"
tamper strict 's/^metadata:/metadata:\n  annotations:\n    sealedsecrets.bitnami.com\/namespace-wide: "true"/' "strict, made namespace-wide"
tamper namespace-wide 's/^  namespace: csi-proxmox/  namespace: elsewhere/' "namespace-wide, moved"
tamper namespace-wide 's/namespace-wide: "true"/cluster-wide: "true"/' "namespace-wide, made cluster-wide"
tamper cluster-wide 's/cluster-wide: "true"/namespace-wide: "true"/' "cluster-wide, made namespace-wide"
# Allowed moves decrypt.
sed 's/^  name: proxmox-csi-plugin/  name: renamed/' "$work/namespace-wide.yaml" > "$work/renamed.yaml"
"$python" "$unseal_py" "$vectors/key.pem" "$work/renamed.yaml" > /dev/null 2>&1 || fail "namespace-wide renamed should decrypt"
sed 's/^  namespace: csi-proxmox/  namespace: elsewhere/' "$work/cluster-wide.yaml" > "$work/moved.yaml"
"$python" "$unseal_py" "$vectors/key.pem" "$work/moved.yaml" > /dev/null 2>&1 || fail "cluster-wide moved should decrypt"

# unseal output is the input Secret again.
"$bin" unseal "$work/strict.yaml" > "$work/unsealed.yaml" 2> /dev/null || fail "unseal strict"
grep -q "^  username: YWRtaW4=$" "$work/unsealed.yaml" || fail "unseal output lacks the username"

# check: the vectors and our output pass; a moved strict one is listed; exit 1.
mkdir -p "$work/repo/apps" "$work/repo/.git"
cp "$vectors"/sealed-*.yaml "$work/repo/apps/"
cp "$work/strict.yaml" "$work/repo/ours.yaml"
echo "not: [valid" > "$work/repo/.git/broken.yaml"
"$bin" check "$work/repo" > "$work/out" 2> "$work/err" || fail "check of a good repo: $(cat "$work/err")"
[ -s "$work/out" ] && fail "check of a good repo listed something"
sed 's/^  namespace: csi-proxmox/  namespace: elsewhere/' "$work/strict.yaml" > "$work/repo/apps/moved.yaml"
status=0
"$bin" check "$work/repo" > "$work/out" 2> "$work/err" || status=$?
expect_exit 1 "$status" "check with a moved SealedSecret"
grep -q "^apps/moved.yaml:2: SealedSecret elsewhere/proxmox-csi-plugin (strict): does not decrypt" "$work/out" ||
  fail "check did not list apps/moved.yaml: $(cat "$work/out")"
[ "$(wc -l < "$work/out")" -eq 1 ] || fail "check listed more than the moved one"

# Usage errors exit 2 and print nothing on stdout.
for args in "frobnicate" "seal --scope galaxy-wide" "check" "check $work/nonexistent" "init extra"; do
  status=0
  # shellcheck disable=SC2086
  "$bin" $args < "$vectors/secret.yaml" > "$work/out" 2> "$work/err" || status=$?
  expect_exit 2 "$status" "$args"
  [ -s "$work/out" ] && fail "$args wrote to stdout"
done
# A Secret without a namespace cannot be sealed strict.
sed '/namespace:/d' "$vectors/secret.yaml" > "$work/nons.yaml"
status=0
"$bin" seal "$work/nons.yaml" > "$work/out" 2> "$work/err" || status=$?
expect_exit 2 "$status" "seal of a Secret without namespace"
grep -q "secret must declare a namespace" "$work/err" || fail "no namespace message: $(cat "$work/err")"
"$bin" seal --namespace given "$work/nons.yaml" > /dev/null 2>&1 || fail "--namespace fills it"

# Bad input as a user gives it: exit 2, FILE:LINE:COL where it comes from a
# file, nothing on stdout.
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  namespace: b\nstringData:\n  password: "open\n  user: admin\n' > "$work/open.yaml"
status=0
"$bin" seal "$work/open.yaml" > "$work/out" 2> "$work/err" || status=$?
expect_exit 2 "$status" "seal of an unterminated double-quoted string"
grep -q "open.yaml:7:13: unterminated double-quoted string" "$work/err" || fail "unterminated string: $(cat "$work/err")"
[ -s "$work/out" ] && fail "seal of an unterminated string wrote to stdout"
status=0
"$bin" seal --cert "$work/missing.pem" "$vectors/secret.yaml" > "$work/out" 2> "$work/err" || status=$?
expect_exit 2 "$status" "seal --cert with a missing file"
grep -q "missing.pem" "$work/err" || fail "missing --cert not named: $(cat "$work/err")"
sed 's/ip: "127.0.1.2"/ip: "127.0.1.1"/' "$lab_spec" > "$work/invalid.txtpb"
cmp -s "$work/invalid.txtpb" "$lab_spec" && fail "sed made no duplicate IP"
status=0
"$bin" seal --batch --in "$work/invalid.txtpb" --gitops-checkout "$work/gitops" > "$work/out" 2> "$work/err" || status=$?
expect_exit 2 "$status" "seal --batch of an invalid spec"
grep -Eq "invalid.txtpb:[0-9]+:[0-9]+: " "$work/err" || fail "invalid spec without FILE:LINE:COL: $(cat "$work/err")"
[ -e "$work/gitops" ] && fail "seal --batch of an invalid spec wrote the checkout"
# Dry run: a keystore that cannot be reached (no Secret Service on this bus)
# is exit 1, naming it.
status=0
DBUS_SESSION_BUS_ADDRESS="unix:path=$work/no-bus" "$bin" seal --batch --dry-run --keystore secret-service \
  --in "$lab_spec" --gitops-checkout "$work/gitops" > /dev/null 2> "$work/err" || status=$?
expect_exit 1 "$status" "seal --batch --dry-run without a Secret Service"
grep -q "the keystore at secret-service" "$work/err" || fail "unreachable keystore not named: $(cat "$work/err")"

# init on a keystore with a key: does nothing and says so.
before=$(cat "$work/keystore"/* | sha256sum)
"$bin" init > "$work/out" 2> "$work/err" || fail "init on an existing key"
grep -q "nothing to do" "$work/err" || fail "init did not say it does nothing"
[ "$(cat "$work/keystore"/* | sha256sum)" = "$before" ] || fail "init changed the keystore"

# cert prints exactly the certificate; --dry-run of renew-cert changes nothing.
"$bin" cert > "$work/cert.pem" 2> /dev/null || fail "cert"
cmp -s "$work/cert.pem" "$vectors/cert.pem" || fail "cert differs from the imported one"
"$bin" renew-cert --force --dry-run > /dev/null 2> "$work/err" || fail "renew-cert --dry-run"
[ "$(cat "$work/keystore"/* | sha256sum)" = "$before" ] || fail "renew-cert --dry-run changed the keystore"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS"
