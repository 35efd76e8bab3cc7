#!/bin/sh
# Regenerates the golden machine configs (testdata/ctrl-1.yaml,
# testdata/worker-1.yaml). With --new-bundle also a fresh fixture bundle
# (testdata/test-secrets-bundle.yaml: test keys that protect nothing).
# Run from the repository root; review the diff.
set -eu
dir=tools/talos-bootstrap/testdata
if [ "${1:-}" = "--new-bundle" ]; then
  bazel run //tools/talos-bootstrap:make_test_bundle > "$dir/test-secrets-bundle.yaml.tmp"
  mv "$dir/test-secrets-bundle.yaml.tmp" "$dir/test-secrets-bundle.yaml"
fi
bazel test //tools/talos-bootstrap:machine_config_test \
  --test_env=COLDSTART_REGENERATE_DIR="$PWD/$dir" --nocache_test_results \
  --spawn_strategy=local >/dev/null
git diff --stat -- "$dir"
