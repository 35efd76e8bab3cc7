#!/bin/sh
# A child for the supervisor tests: prints its argv, whether it saw the
# secret (from the environment and from stdin) without printing it, starts a
# grandchild in the same process group, then waits.
#   child.sh MODE   MODE=polite: exits on SIGTERM; MODE=stubborn: ignores it.
echo "args: $*"
read -r from_stdin || true
[ "$from_stdin" = "$EXPECTED_SECRET" ] && echo "stdin secret: ok"
[ -n "$LAB_SECRET" ] && [ "$LAB_SECRET" = "$EXPECTED_SECRET" ] && echo "env secret: ok"
if [ "$1" = "stubborn" ]; then
  trap '' TERM
fi
sleep 1000 &
echo "grandchild: $!"
echo "ready"
wait
