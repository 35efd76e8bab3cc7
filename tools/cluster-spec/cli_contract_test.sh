#!/bin/sh
# The CLI contract of cluster-spec, run on the real binary:
# - every broken spec in testdata/ exits 2, prints nothing on stdout, and its
#   stderr equals testdata/<name>.stderr byte for byte;
# - both reference specs validate (exit 0, the normalized spec on stdout);
# - lab-map of the reference spec equals testdata/lab.txtpb;
# - stdin works in a pipe, -o json prints JSON, a bad command exits 2;
# - a directory as input is exit 2, plan -o json is JSON, every flag --help
#   lists is accepted, no message has a doubled "cluster-spec:" prefix.
# Regenerate the golden files with tools/cluster-spec/regenerate_testdata.sh.
set -u
bin="$PWD/$1"
reference="$PWD/$2"
lab="$PWD/$3"
testdata="$PWD/$(dirname "$4")"
out="${TEST_TMPDIR:-/tmp}/cluster_spec_cli"
mkdir -p "$out"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

count=0
cd "$testdata" || exit 1
for spec in *.txtpb; do
  name="${spec%.txtpb}"
  count=$((count + 1))
  status=0
  "$bin" validate "$spec" > "$out/$name.stdout" 2> "$out/$name.stderr" || status=$?
  [ "$status" -eq 2 ] || fail "$spec: exit $status, want 2"
  [ -s "$out/$name.stdout" ] && fail "$spec: wrote to stdout"
  if ! cmp -s "$out/$name.stderr" "$name.stderr"; then
    fail "$spec: stderr differs from $name.stderr:"
    diff "$name.stderr" "$out/$name.stderr" >&2
  fi
done
[ "$count" -eq 12 ] || fail "expected 12 broken specs, found $count"

for spec in "$reference" "$lab"; do
  status=0
  "$bin" validate "$spec" > "$out/valid.txtpb" 2> "$out/valid.stderr" || status=$?
  [ "$status" -eq 0 ] || fail "$spec: exit $status, want 0: $(cat "$out/valid.stderr")"
  [ -s "$out/valid.stderr" ] && fail "$spec: wrote to stderr"
  grep -q '^schema_version: 1$' "$out/valid.txtpb" || fail "$spec: no normalized spec on stdout"
done

"$bin" lab-map "$reference" > "$out/lab.txtpb" || fail "lab-map exited $?"
grep -v '^#' "$lab" > "$out/lab.expected"
if ! cmp -s "$out/lab.txtpb" "$out/lab.expected"; then
  fail "lab-map output differs from testdata/lab.txtpb:"
  diff "$out/lab.expected" "$out/lab.txtpb" >&2
fi

# A pipe: stdin in, the normalized spec through, a plan out.
"$bin" validate - < "$reference" | "$bin" plan > "$out/plan.txt" || fail "pipe failed"
grep -q '^ctrl-2 .*1501  10\.0\.1\.2' "$out/plan.txt" || fail "plan lacks ctrl-2: $(cat "$out/plan.txt")"
grep -q '^api .*10\.0\.3\.1:6443' "$out/plan.txt" || fail "plan lacks the API VIP"

"$bin" validate -o json "$reference" > "$out/spec.json" || fail "-o json exited $?"
grep -q '"schema_version": 1' "$out/spec.json" || fail "-o json is not JSON with proto names"

# stdin errors are named <stdin>.
status=0
printf 'spec {\n  nmae: "x"\n}\n' | "$bin" validate 2> "$out/stdin.stderr" > /dev/null || status=$?
[ "$status" -eq 2 ] || fail "stdin parse error: exit $status, want 2"
grep -q '^<stdin>:2:7: ' "$out/stdin.stderr" || fail "stdin error: $(cat "$out/stdin.stderr")"

# A newer schema is refused with exit 2.
status=0
printf 'schema_version: 9\nspec { future: 1 }\n' | "$bin" validate 2> "$out/new.stderr" > /dev/null || status=$?
[ "$status" -eq 2 ] || fail "newer schema: exit $status, want 2"
grep -q 'upgrade coldstart' "$out/new.stderr" || fail "newer schema: $(cat "$out/new.stderr")"

status=0
"$bin" frobnicate "$reference" 2> /dev/null > /dev/null || status=$?
[ "$status" -eq 2 ] || fail "unknown command: exit $status, want 2"

# --help is true: exit 0, the tool's own and the common flags, as users spell them.
status=0
"$bin" --help > "$out/help.txt" 2>&1 || status=$?
[ "$status" -eq 0 ] || fail "--help: exit $status, want 0"
for flag in --lab-ca-file --in --state --dry-run --events --keystore '-o VALUE'; do
  grep -q -- "^  $flag" "$out/help.txt" || fail "--help lacks $flag: $(cat "$out/help.txt")"
done

# Usage errors exit 2 and name the flag.
status=0
"$bin" --no-such-flag validate "$reference" 2> "$out/flag.stderr" > /dev/null || status=$?
[ "$status" -eq 2 ] || fail "unknown flag: exit $status, want 2"
grep -q 'unknown flag --no-such-flag' "$out/flag.stderr" || fail "unknown flag: $(cat "$out/flag.stderr")"
status=0
"$bin" --dry-run=maybe validate "$reference" 2> "$out/value.stderr" > /dev/null || status=$?
[ "$status" -eq 2 ] || fail "bad flag value: exit $status, want 2"

# A directory as FILE, --in or --state: bad input (exit 2), no crash, no lock.
dir="$out/a-dir"
mkdir -p "$dir"
for args in "validate $dir" "plan --in $dir" "validate --state $dir"; do
  status=0
  "$bin" $args > /dev/null 2> "$out/dir.stderr" || status=$?
  [ "$status" -eq 2 ] || fail "$args: exit $status, want 2"
  grep -q 'is a directory' "$out/dir.stderr" || fail "$args: $(cat "$out/dir.stderr")"
done
[ -e "$dir.lock" ] && fail "a directory as --state left $dir.lock"

# plan -o json is the plan as JSON, not the table.
"$bin" plan -o json "$reference" > "$out/plan.json" || fail "plan -o json exited $?"
head -c 1 "$out/plan.json" | grep -q '{' || fail "plan -o json is not JSON: $(head -3 "$out/plan.json")"
grep -q '"vmid": "1501"' "$out/plan.json" || fail "plan -o json lacks ctrl-2's VMID"
grep -q 'control-plane  1500' "$out/plan.json" && fail "plan -o json printed the table"

# Every flag --help lists is accepted.
cp "$lab" "$out/state.txtpb"
for args in "--state $out/state.txtpb" "--dry-run $reference" \
    "--events $out/events.jsonl $reference" "--keystore file:$out/ks $reference" \
    "--in $reference -o json" "--lab-ca-file x.pem $reference"; do
  status=0
  "$bin" validate $args > /dev/null 2> "$out/flag.stderr" || status=$?
  [ "$status" -eq 0 ] || fail "validate $args: exit $status: $(cat "$out/flag.stderr")"
done
grep -q '"step":"validate"' "$out/events.jsonl" || fail "--events: no validate step"
grep -q '^schema_version: 1$' "$out/state.txtpb" || fail "validate --state did not normalize the file"
cp "$lab" "$out/state.txtpb"
"$bin" validate --dry-run --state "$out/state.txtpb" > "$out/dry.stdout" || fail "dry run exited $?"
cmp -s "$lab" "$out/state.txtpb" || fail "validate --dry-run --state changed the file"
[ -s "$out/dry.stdout" ] && fail "validate --dry-run --state wrote to stdout"

# One "cluster-spec:" prefix per message, also for errors of the world.
status=0
"$bin" validate "$reference" > /dev/full 2> "$out/full.stderr" || status=$?
[ "$status" -eq 1 ] || fail "stdout /dev/full: exit $status, want 1"
grep -q '^cluster-spec: writing to stdout failed$' "$out/full.stderr" || fail "stdout /dev/full: $(cat "$out/full.stderr")"
for f in "$out"/*.stderr; do
  grep -q 'cluster-spec: cluster-spec:' "$f" && fail "doubled prefix in $f: $(cat "$f")"
done

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS: $count broken specs, reference specs, lab-map, pipe, json, directories, flags"
