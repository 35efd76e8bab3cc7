#!/usr/bin/env bash
# Installs what is missing, builds everything, runs every test, and checks formatting.
# Ends with one line "N passed, N failed": test targets in every configuration, the libFuzzer runs
# and the two format checks each count once. Exit status is non-zero on any failure.
#
#   scripts/test.sh            everything (what .ci/run does)
#   scripts/test.sh --quick    skip the opt/asan/ubsan/fuzz configurations
#
# Configurations beyond the default: tests tagged "opt" also run with -c opt, tests tagged
# "sanitizers" also run under --config=asan and --config=ubsan, and every cc_fuzz_test's libFuzzer
# binary is built with --config=fuzz (clang 14) and run for FUZZ_RUNS inputs (default 20000).
set -uo pipefail
cd "$(dirname "$0")/.."
quick=0
[[ "${1:-}" == "--quick" ]] && quick=1
fuzz_runs=${FUZZ_RUNS:-20000}

passed=0
failed=0
failures=()
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
banner() { printf '\n==== %s\n' "$*"; }

if ! bash scripts/setup.sh; then
  echo "test.sh: setup failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# Runs `bazel test` with the given flags and targets; counts the per-target results it prints.
run_bazel_tests() {
  local label=$1
  shift
  local log="$log_dir/$label.log"
  bazel test --keep_going --test_summary=short "$@" 2>&1 | tee "$log" | grep -E '^(//|@)|^ERROR|^FAIL' || true
  local ok bad
  ok=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log" || true)
  bad=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|NO STATUS|TIMEOUT|FLAKY|INCOMPLETE)' "$log" || true)
  if ((ok + bad == 0)) || { ((bad == 0)) && ! grep -q 'Build completed successfully\|Executed' "$log"; }; then
    bad=$((bad + 1))
    failures+=("$label: bazel did not run the tests (see the errors above)")
  fi
  passed=$((passed + ok))
  failed=$((failed + bad))
  while read -r target _; do failures+=("$label: $target"); done < <(
    grep -E '^//[^ ]+ +(\(cached\) )?(FAILED|NO STATUS|TIMEOUT|FLAKY|INCOMPLETE)' "$log" || true)
}

tests_tagged() {  # test targets carrying tag $1
  bazel query --noshow_progress "attr(tags, '\\b$1\\b', tests(//...))" 2>/dev/null
}

banner "build //... (default configuration)"
if ! bazel build --keep_going //...; then
  failed=$((failed + 1))
  failures+=("build: bazel build //... failed")
fi

banner "test //... (default configuration)"
run_bazel_tests default //...

if ((!quick)); then
  mapfile -t opt_tests < <(tests_tagged opt)
  if ((${#opt_tests[@]})); then
    banner "test -c opt: ${#opt_tests[@]} target(s) tagged opt"
    run_bazel_tests opt -c opt "${opt_tests[@]}"
  fi
  mapfile -t sanitizer_tests < <(tests_tagged sanitizers)
  if ((${#sanitizer_tests[@]})); then
    banner "test --config=asan: ${#sanitizer_tests[@]} target(s) tagged sanitizers"
    run_bazel_tests asan --config=asan "${sanitizer_tests[@]}"
    banner "test --config=ubsan: ${#sanitizer_tests[@]} target(s) tagged sanitizers"
    run_bazel_tests ubsan --config=ubsan "${sanitizer_tests[@]}"
  fi

  mapfile -t fuzzers < <(bazel query --noshow_progress "attr(tags, '\\blibfuzzer\\b', //...)" 2>/dev/null)
  if ((${#fuzzers[@]})); then
    banner "libFuzzer (--config=fuzz, clang 14): ${#fuzzers[@]} target(s), $fuzz_runs runs each"
    if bazel build --config=fuzz "${fuzzers[@]}"; then
      for fuzzer in "${fuzzers[@]}"; do
        replay=${fuzzer%_libfuzzer}
        corpus="$log_dir/corpus-${replay##*:}"
        mkdir -p "$corpus"
        while read -r file; do
          [[ -n "$file" ]] && cp "$file" "$corpus/"
        done < <(bazel query --noshow_progress "kind('source file', labels(data, $replay))" 2>/dev/null |
          sed -e 's|^//||' -e 's|:|/|')
        binary="bazel-bin/$(sed -e 's|^//||' -e 's|:|/|' <<<"$fuzzer")"
        if "$binary" -runs="$fuzz_runs" -max_total_time=120 "$corpus" >"$log_dir/fuzz.log" 2>&1; then
          echo "$fuzzer: PASSED ($(grep -Eo 'Done [0-9]+ runs in [0-9]+ second\(s\)' "$log_dir/fuzz.log"))"
          passed=$((passed + 1))
        else
          tail -n 30 "$log_dir/fuzz.log"
          echo "$fuzzer: FAILED"
          failed=$((failed + 1))
          failures+=("fuzz: $fuzzer")
        fi
      done
    else
      failed=$((failed + ${#fuzzers[@]}))
      failures+=("fuzz: bazel build --config=fuzz failed")
    fi
  fi
fi

banner "clang-format 14 (BasedOnStyle: Google)"
mapfile -t sources < <(git ls-files '*.cc' '*.h' '*.proto')
if clang-format-14 --dry-run --Werror "${sources[@]}"; then
  echo "clang-format: ${#sources[@]} files clean"
  passed=$((passed + 1))
else
  echo "clang-format: run clang-format-14 -i on the files above"
  failed=$((failed + 1))
  failures+=("clang-format")
fi

banner "buildifier"
mapfile -t build_files < <(git ls-files 'WORKSPACE' '*BUILD.bazel' '*.BUILD' '*.bzl')
if node_modules/.bin/buildifier -mode=check -lint=warn \
  --warnings=-native-cc-library,-native-cc-test,-native-cc-binary,-native-cc-proto,-native-proto,-native-proto-info,-native-proto-lang-toolchain,-native-sh-binary,-native-sh-test,-native-py-binary,-native-py-test \
  "${build_files[@]}"; then
  echo "buildifier: ${#build_files[@]} files clean"
  passed=$((passed + 1))
else
  echo "buildifier: run node_modules/.bin/buildifier on the files above"
  failed=$((failed + 1))
  failures+=("buildifier")
fi

if ((failed)); then
  banner "failures"
  printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
