#!/usr/bin/env bash
# Starts, stops and shows the lab (lab/README.md) for people; tests use
# lab/testing/lab_fixture.h instead.
#
#   scripts/lab.sh start [labd flags...]   build labd, start it in the
#                                          background, wait until ready
#   scripts/lab.sh stop                    SIGTERM, wait until it is gone
#   scripts/lab.sh status                  running or not; its listeners
#
# Environment: LAB_WORKDIR (default ${TMPDIR:-/tmp}/coldstart-lab),
# LAB_SPEC (default testdata/lab.txtpb), LAB_TIME_SCALE (default 1).
# The work dir holds labd.pid, ready.json, lab.log, labd.stderr, logs/ and
# requests/. Exit status: 0 ok, 1 failure (status: 3 when not running).
set -euo pipefail
cd "$(dirname "$0")/.."
workdir=${LAB_WORKDIR:-${TMPDIR:-/tmp}/coldstart-lab}
spec=${LAB_SPEC:-testdata/lab.txtpb}
pid_file=$workdir/labd.pid
ready_file=$workdir/ready.json

running_pid() {
  [[ -f "$pid_file" ]] || return 1
  local pid
  pid=$(<"$pid_file")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

cmd=${1:-}
shift || true
case "$cmd" in
  start)
    if pid=$(running_pid); then
      echo "lab.sh: labd already running (pid $pid); listeners:" >&2
      cat "$ready_file"
      exit 0
    fi
    bazel build //lab/labd:labd >&2
    labd="$(bazel info bazel-bin 2>/dev/null)/lab/labd/labd"
    mkdir -p "$workdir"
    rm -f "$ready_file"
    setsid "$labd" --spec "$spec" --workdir "$workdir" \
      --time-scale "${LAB_TIME_SCALE:-1}" --ready-file "$ready_file" "$@" \
      </dev/null >"$workdir/labd.stderr" 2>&1 &
    echo $! >"$pid_file"
    for _ in $(seq 300); do
      [[ -f "$ready_file" ]] && break
      if ! running_pid >/dev/null; then
        echo "lab.sh: labd exited before it was ready:" >&2
        cat "$workdir/labd.stderr" >&2
        exit 1
      fi
      sleep 0.1
    done
    if [[ ! -f "$ready_file" ]]; then
      echo "lab.sh: labd not ready after 30 s; see $workdir/labd.stderr" >&2
      exit 1
    fi
    echo "lab.sh: labd running (pid $(<"$pid_file")), work dir $workdir" >&2
    cat "$ready_file"
    ;;
  stop)
    if ! pid=$(running_pid); then
      echo "lab.sh: labd is not running" >&2
      exit 0
    fi
    kill -TERM "$pid"
    for _ in $(seq 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "lab.sh: labd (pid $pid) did not stop within 15 s" >&2
      exit 1
    fi
    rm -f "$pid_file"
    echo "lab.sh: labd stopped" >&2
    ;;
  status)
    if pid=$(running_pid); then
      echo "lab.sh: labd running (pid $pid), work dir $workdir" >&2
      cat "$ready_file"
    else
      echo "lab.sh: labd is not running" >&2
      exit 3
    fi
    ;;
  *)
    echo "usage: scripts/lab.sh start [labd flags...] | stop | status" >&2
    exit 2
    ;;
esac
