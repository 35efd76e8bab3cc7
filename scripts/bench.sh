#!/usr/bin/env bash
# Runs every benchmark binary (tagged "benchmark"; they are built by `bazel build //...` but are not
# tests) with -c opt and prints what each reports. Speed goals are ratios measured inside one run, never
# timed asserts in tests.
#
#   scripts/bench.sh                 all benchmarks
#   scripts/bench.sh //some:target   just these
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
if (($#)); then
  targets=("$@")
else
  mapfile -t targets < <(bazel query --noshow_progress "attr(tags, '\\bbenchmark\\b', //...)" 2>/dev/null)
fi
((${#targets[@]})) || { echo "bench.sh: no benchmark targets"; exit 0; }
bazel build -c opt "${targets[@]}"
for target in "${targets[@]}"; do
  printf '\n==== %s\n' "$target"
  bazel run -c opt --ui_event_filters=-info,-stdout,-stderr --noshow_progress "$target"
done
