#!/usr/bin/env bash
# The coldstart demo: installs what is missing, builds, starts the embedded lab (labd) on the loopback
# addresses of testdata/lab.txtpb, and runs every layer-1 step that exists against it:
#
#   seal-keystore init                      the sealed-secrets keypair (file keystore in the work dir)
#   provision-vms | talos-bootstrap         Proxmox users/tokens, image, 5 VMs; Talos configs, Headscale
#                                           keys, apply, etcd bootstrap, kubeconfig via the VIP, Cilium
#   seal-keystore restore / seal / check    keys into the cluster, the CSI token sealed into a GitOps
#                                           checkout, every SealedSecret there decrypts
#   verify-cluster --gate nodes             the nodes gate (the layer-2 gates need gitops-bootstrap)
#
# then runs it all again from the state file (which must change nothing), prints the timeline, the
# nodes and what the re-run sent to each simulator, and stops the lab.
#
# Not in the demo because they do not exist yet: gitops-bootstrap, dns-delegate, scripts/coldstart.sh.
#
#   DEMO_WORKDIR    where the lab, keystore, state and outputs go (default: a new /tmp directory)
#   DEMO_TIME_SCALE multiplies the lab's real-world latencies (default 0.02: a 38 s boot takes 0.76 s)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
work=${DEMO_WORKDIR:-$(mktemp -d /tmp/coldstart-demo.XXXXXX)}
time_scale=${DEMO_TIME_SCALE:-0.02}
banner() { printf '\n==== %s\n' "$*"; }
now_ms() { date +%s%3N; }
timeline=()

banner "setup"
bash scripts/setup.sh

banner "build //..."
bazel build //... 2>&1 | tail -n 1
bin=$(bazel info bazel-bin 2>/dev/null)
tool() { "$bin/tools/$1/$1" "${@:2}"; }

banner "the spec: testdata/lab.txtpb (the reference cluster mapped onto 127.0.0.0/8)"
tool cluster-spec validate testdata/lab.txtpb >/dev/null && echo "valid"
tool cluster-spec plan testdata/lab.txtpb

banner "start the lab (time scale $time_scale) in $work/lab"
export LAB_WORKDIR=$work/lab LAB_TIME_SCALE=$time_scale
stop_lab() { bash "$repo/scripts/lab.sh" stop 2>/dev/null || true; }
trap stop_lab EXIT
mkdir -p "$work"
if ! bash scripts/lab.sh start >"$work/lab-start.log" 2>&1; then
  cat "$work/lab-start.log" >&2
  exit 1
fi
echo "labd is up with modules: $("$bin/lab/labd/labd" --list_modules | cut -f1 | tr '\n' ' ')"
"$bin/lab/labd/labd" --spec testdata/lab.txtpb --print_critical_path --time_scale "$time_scale"

# The spec's relative paths (lab CA, Cilium manifest, kubeconfig/talosconfig outputs) are relative
# to the working directory: run the tools in the lab's work dir.
cd "$work/lab"
cp "$repo/tools/talos-bootstrap/testdata/cilium-1.16.5.yaml" .
mkdir -p "$work/keystore" "$work/gitops"
chmod 700 "$work/keystore"
# Credentials come from the environment or the keystore, never from flags.
export COLDSTART_KEYSTORE=file:$work/keystore
PROXMOX_VE_API_TOKEN=$(cat pve-admin-token)
HEADSCALE_API_KEY=$(cat headscale-api-key)
export PROXMOX_VE_API_TOKEN HEADSCALE_API_KEY

# run LABEL COMMAND...: runs it, logs stderr to $work/logs, records the duration.
mkdir -p "$work/logs"
run() {
  local label=$1 log="$work/logs/$(tr ' /|' '___' <<<"$1").log" start status=0
  shift
  start=$(now_ms)
  "$@" 2>"$log" || status=$?
  local took=$(($(now_ms) - start))
  timeline+=("$(printf '%-44s %6d ms  exit %d' "$label" "$took" "$status")")
  printf '%-44s %6d ms  exit %d\n' "$label" "$took" "$status"
  if ((status != 0)); then
    echo "---- $label failed; its stderr:" >&2
    cat "$log" >&2
    exit "$status"
  fi
}
pipe_layer1() {
  tool provision-vms --in "$repo/testdata/lab.txtpb" --events "$work/events.jsonl" |
    tool talos-bootstrap --events "$work/events.jsonl" >state.txtpb
}

banner "cold start, layer 1"
run "seal-keystore init" tool seal-keystore init
run "provision-vms | talos-bootstrap > state" pipe_layer1
run "seal-keystore restore --state" tool seal-keystore restore --state state.txtpb
run "seal-keystore seal --batch --state" tool seal-keystore seal --batch --state state.txtpb \
  --gitops-checkout "$work/gitops"
run "seal-keystore check GITOPS" tool seal-keystore check "$work/gitops"
run "verify-cluster --gate nodes --state" tool verify-cluster --state state.txtpb --gate nodes
cat "$work/logs/verify-cluster_--gate_nodes_--state.log"

banner "the nodes (from state.txtpb: status.provision and status.talos_bootstrap)"
awk '
  /^  provision \{/ {section = "p"} /^  talos_bootstrap \{/ {section = "t"} /^  [a-z_]+ \{/ && !/provision|talos_bootstrap/ {section = ""}
  section == "p" && /^    vms \{/ {invm = 1; vmname = ""}
  {gsub(/"/, "")}
  invm && /^      name:/ {vmname = $2} invm && /^      vmid:/ {vmid = $2}
  invm && /^      power_state:/ {power[vmname] = $2; vmids[vmname] = vmid; order[++n] = vmname; invm = 0}
  section == "t" && /^    nodes \{/ {innode = 1}
  innode && /^      name:/ {node = $2} innode && /^      stage:/ {stage[node] = $2}
  innode && /^      config_sha256:/ {hash[node] = substr($2, 1, 12); innode = 0}
  END {
    printf "%-12s %6s  %-22s %-12s %s\n", "NODE", "VMID", "POWER", "TALOS", "CONFIG SHA-256"
    for (i = 1; i <= n; i++) { k = order[i]
      printf "%-12s %6s  %-22s %-12s %s\n", k, vmids[k], power[k], stage[k], hash[k] }
  }' state.txtpb
echo "kubeconfig and talosconfig (0600): $(ls -l kubeconfig* talosconfig* 2>/dev/null | awk '{print $1, $NF}' | tr '\n' ' ')"
echo "sealed into the GitOps checkout: $(cd "$work/gitops" && find . -type f | tr '\n' ' ')"

banner "re-run from the state file (a finished cluster: nothing may change)"
declare -A before
for log in requests/*.jsonl; do before[$log]=$(wc -l <"$log"); done
rerun_start=$(now_ms)
run "re-run: provision-vms --state" tool provision-vms --state state.txtpb
run "re-run: talos-bootstrap --state" tool talos-bootstrap --state state.txtpb
run "re-run: seal-keystore restore --state" tool seal-keystore restore --state state.txtpb
run "re-run: verify-cluster --gate nodes --state" tool verify-cluster --state state.txtpb --gate nodes
echo "re-run total: $(($(now_ms) - rerun_start)) ms"
echo
echo "what the re-run sent to each simulator (from labd's request logs):"
for log in requests/*.jsonl; do
  tail -n +"$((before[$log] + 1))" "$log"
done | sed -n 's/.*"method":"\([A-Z]*\)","module":"\([a-z]*\)","path":"\([^"]*\)".*/\2 \1 \3/p' |
  awk '{key = $1 " " $2; if ($2 == "GRPC") key = key " " $3; count[key]++}
       END {for (k in count) printf "  %-60s %d\n", k, count[k]}' | sort
echo "  (talos ApplyConfiguration here is dry_run drift detection; kube PATCH is Cilium's idempotent"
echo "   server-side apply, which leaves every object unchanged; no POST/PUT/DELETE means nothing created)"

banner "timeline"
printf '%s\n' "${timeline[@]}"
echo
echo "steps recorded in $work/events.jsonl:"
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$2"; }
while IFS= read -r line; do
  [[ $line == *'"event":"end"'* ]] || continue
  printf '  %-16s %-16s %-26s %6s ms  %s\n' "$(field tool "$line")" "$(field step "$line")" \
    "$(field node "$line")" "$(field duration_ms "$line")" "$(field outcome "$line")"
done <"$work/events.jsonl"

banner "done"
echo "work dir: $work (lab logs under lab/, tool logs under logs/)"
echo "Not shown: layer 2 (gitops-bootstrap), layer 3 (dns-delegate) and the driver, which do not exist yet."
