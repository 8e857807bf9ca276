#!/bin/bash
# bench/stream.sh — streaming (issue 11), berthd against containerd 1.6's CRI plugin side by
# side in one run: exec latency through the streaming path (CRI Exec + the URL, WebSocket and
# SPDY) and through ExecSync, from one long-lived client (tests/berth-cri-stream-ctl: no
# client start-up in the figures) and as `berthctl exec` processes; port-forward throughput
# (berthctl port-forward, both transports, to busybox httpd in a pod on a CNI bridge) against
# a direct connection to the pod's IP; the CPU cost of exec probes (PROBE_PODS pods, an
# ExecSync to each once a second for PROBE_SECONDS, as kubelet's exec probes): CPU seconds of
# the daemon's cgroup (daemon, shims, runtime processes) and of its pods' cgroups, and the
# probe latency. Medians and ratios; never a pass/fail.
#
#   sudo bench/stream.sh                              # binaries from build/ (built if missing)
#   sudo BUILD=/path/to/build ROUNDS=5 EXECS=200 bench/stream.sh
#   sudo STEPS=probes PROBE_ROUNDS=2 bench/stream.sh  # steps: exec portforward probes
#
# The setup is bench/cri.sh's (copied, minimal): a network namespace of the bench's own with
# a local docker-registry, busybox and pause images, both daemons on temporary directories,
# the same bridge + host-local CNI chain for each. containerd's URLs are answered by its own
# streaming server (stream_server_address 127.0.0.1, a free port). Rounds are interleaved.
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$SRC_DIR/build}
ROUNDS=${ROUNDS:-3}
EXECS=${EXECS:-100}       # execs per round and way, from the long-lived client
CLI_EXECS=${CLI_EXECS:-30}  # berthctl processes per round and way
PF_MB=${PF_MB:-200}       # the file downloaded through port-forward
STEPS=${STEPS:-"exec portforward probes"}
PROBE_PODS=${PROBE_PODS:-50} PROBE_SECONDS=${PROBE_SECONDS:-60} PROBE_ROUNDS=${PROBE_ROUNDS:-1}
PROBE_CMD=${PROBE_CMD:-/bin/true}
WORK=$(mktemp -d /var/tmp/berth-bench-stream.XXXXXX)
chmod 755 "$WORK"
OUT=${OUT:-/tmp/berth-bench-stream-results.$(date +%Y%m%d-%H%M%S).md}
CG_PARENT=berth-bench-stream-$$
NETNS=berth-bench-stream-$$
IN_NS=(nsenter --net=/run/netns/$NETNS)
PIDS=()
CONTAINERD_PID="" BERTHD_PID=""

note() { printf '[stream-bench %s] %s\n' "$(date +%T)" "$*" >&2; }
step() { [[ " $STEPS " == *" $1 "* ]]; }
die() { note "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (containers, cgroups, mounts)"
for t in containerd containerd-shim-runc-v2 runc docker-registry skopeo jq gcc nsenter ip curl; do
  command -v "$t" >/dev/null || die "$t not found (scripts/install-deps.sh installs it)"
done
BERTHD=$BUILD/berthd BERTH=$BUILD/berth SHIM=$BUILD/berth-shim BERTHCTL=$BUILD/berthctl
SCTL=$BUILD/tests/berth-cri-stream-ctl CLIENT=$BUILD/tests/berth-cri-bench
for f in "$BERTHD" "$BERTH" "$SHIM" "$BERTHCTL" "$SCTL" "$CLIENT"; do
  [ -x "$f" ] && continue
  note "building in $BUILD"
  [ -f "$BUILD/build.ninja" ] || cmake -S "$SRC_DIR" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$BUILD" -j2 berth berthd berth-shim berthctl berth-cri-stream-ctl berth-cri-bench >/dev/null
  break
done

# --- cleanup (by pid and by our own paths only) ------------------------------------------
CD=$WORK/containerd CSOCK=$WORK/containerd/containerd.sock
BD=$WORK/berthd BSOCK=$WORK/berthd/berth.sock
RUN=$WORK/run BSTATE=$WORK/run/berthd CSTATE=$WORK/run/containerd
CEP=unix://$CSOCK BEP=unix://$BSOCK
shims_of() {
  case $1 in
    containerd) pgrep -f "containerd-shim-runc-v2 .*-address $CSOCK( |\$)" || true ;;
    berthd) pgrep -f "berth-shim .*--address $BEP( |\$)" || true ;;
  esac
}
stop_pid() {
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ -n "$CONTAINERD_PID" ] && timeout 120 "$CLIENT" --endpoint "$CEP" --stop-timeout 2 remove-all
  [ -n "$BERTHD_PID" ] && timeout 120 "$CLIENT" --endpoint "$BEP" --stop-timeout 2 remove-all
  stop_pid "$CONTAINERD_PID"
  stop_pid "$BERTHD_PID"
  local p id root
  for p in $(shims_of containerd) $(shims_of berthd); do kill -KILL "$p" 2>/dev/null; done
  for id in $(runc --root "$CD/runc-root/k8s.io" list -q 2>/dev/null); do
    runc --root "$CD/runc-root/k8s.io" delete -f "$id" >/dev/null 2>&1
  done
  for root in "$BSTATE"/runtime/*/*; do
    [ -d "$root" ] || continue
    for id in $("$BERTH" --root "$root" list -q 2>/dev/null); do "$BERTH" --root "$root" delete -f "$id" >/dev/null 2>&1; done
  done
  for p in $(pgrep -f "berth-shim pause $BSTATE/"); do kill -KILL "$p" 2>/dev/null; done
  find /sys/fs/cgroup -path "*/$CG_PARENT/*" -name cgroup.procs 2>/dev/null | xargs -r cat 2>/dev/null |
    sort -u | while read -r p; do kill -KILL "$p" 2>/dev/null; done
  sleep 0.2
  ip netns delete "$NETNS" 2>/dev/null
  awk -v d="$WORK/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null; done
  find /sys/fs/cgroup -depth -type d -name "$CG_PARENT" 2>/dev/null |
    while read -r d; do find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
  if awk -v d="$WORK/" 'index($5, d) == 1 {f=1} END {exit !f}' /proc/self/mountinfo; then
    note "$WORK kept: mounts remain under it"
  elif [ "${KEEP_WORK:-0}" != 1 ]; then
    rm -rf --one-file-system "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$NETNS" || die "ip netns add $NETNS failed"
ip -n "$NETNS" link set lo up

# --- images in a local registry -----------------------------------------------------------
REG=127.0.0.1:5000
mkdir -p "$WORK/registry"
cat >"$WORK/registry/config.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/registry/data}}
http: {addr: $REG}
YML
(cd / && exec "${IN_NS[@]}" docker-registry serve "$WORK/registry/config.yml") >"$WORK/registry/log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do "${IN_NS[@]}" curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
oci_image() {  # ROOTFS NAME CONFIG (as bench/cri.sh)
  local L=$WORK/layout-${2//[\/:]/_} ld ls cfg cd cs man md ms
  mkdir -p "$L/blobs/sha256"
  tar --sort=name --mtime=@0 --numeric-owner -C "$1" -cf "$L/layer" .
  ld=$(sha256sum <"$L/layer" | cut -d' ' -f1) ls=$(stat -c %s "$L/layer")
  mv "$L/layer" "$L/blobs/sha256/$ld"
  cfg=$(printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$3" "$ld")
  printf '%s' "$cfg" >"$L/cfg"
  cd=$(sha256sum <"$L/cfg" | cut -d' ' -f1) cs=$(stat -c %s "$L/cfg")
  mv "$L/cfg" "$L/blobs/sha256/$cd"
  man=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$cd" "$cs" "$ld" "$ls")
  printf '%s' "$man" >"$L/man"
  md=$(sha256sum <"$L/man" | cut -d' ' -f1) ms=$(stat -c %s "$L/man")
  mv "$L/man" "$L/blobs/sha256/$md"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"1"}}]}' "$md" "$ms" >"$L/index.json"
  "${IN_NS[@]}" skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$L:1" "docker://$REG/$2"
}
R=$WORK/rootfs-busybox
mkdir -p "$R"/{bin,dev,etc,proc,sys,tmp,root}
cp /bin/busybox "$R/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
oci_image "$R" bench/busybox:1 '{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]}'
mkdir -p "$WORK/rootfs-pause"
printf '#include <signal.h>\n#include <unistd.h>\nstatic void d(int s){(void)s;_exit(0);}\nint main(void){signal(SIGTERM,d);signal(SIGINT,d);for(;;)pause();}\n' >"$WORK/pause.c"
gcc -static -Os -s -o "$WORK/rootfs-pause/pause" "$WORK/pause.c"
oci_image "$WORK/rootfs-pause" bench/pause:1 '{"Entrypoint":["/pause"]}'
IMAGE=$REG/bench/busybox:1 PAUSE=$REG/bench/pause:1

# --- the daemons ---------------------------------------------------------------------------
# Each daemon starts in a cgroup of the bench's own (CPU accounting only: v1 cpuacct, or the
# v2 hierarchy), which its shims and the runtime processes they spawn inherit; containers go
# to the pods' cgroups. The probes step reads both.
CPU_CG=/sys/fs/cgroup/cpuacct
[ -d "$CPU_CG" ] || CPU_CG=/sys/fs/cgroup
daemon_cg() { echo "$CPU_CG/$CG_PARENT/daemon-$1"; }
in_cg() {  # SYSTEM CMD... — exec CMD in SYSTEM's daemon cgroup (run in the background)
  mkdir -p "$(daemon_cg "$1")"
  echo "$BASHPID" >"$(daemon_cg "$1")/cgroup.procs"
  shift
  exec "$@"
}
mkdir -p "$CD" "$BD"/{root,cni} "$RUN" "$WORK/logs" "$WORK/cni-conf"
mount -t tmpfs -o mode=0755 bench-stream-run "$RUN"
mkdir -p "$BSTATE" "$CSTATE"
conflist() {  # NAME BRIDGE SUBNET
  cat <<JSON
{"cniVersion": "1.0.0", "name": "$1", "plugins": [
  {"type": "bridge", "bridge": "$2", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$WORK/ipam", "ranges": [[{"subnet": "$3.0/24", "gateway": "$3.1"}]]}}]}
JSON
}
conflist bench-stream-containerd bstr-c0 10.73.1 >"$WORK/cni-conf/10-bench.conflist"
conflist bench-stream-berthd bstr-b0 10.74.1 >"$BD/cni/10-bench.conflist"
cat >"$CD/config.toml" <<TOML
version = 2
root = "$CD/root"
state = "$CSTATE"
[grpc]
  address = "$CSOCK"
[ttrpc]
  address = "$CD/containerd-ttrpc.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CD/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$WORK/cni-conf"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$REG"]
    endpoint = ["http://$REG"]
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$CD/runc-root"
        SystemdCgroup = false
TOML
in_cg containerd "${IN_NS[@]}" containerd --config "$CD/config.toml" >>"$CD/containerd.log" 2>&1 &
CONTAINERD_PID=$!
"$CLIENT" --endpoint "$CEP" wait-ready "${EPOCHREALTIME/./}" >/dev/null || die "containerd did not serve: $(tail -n 20 "$CD/containerd.log")"
in_cg berthd "${IN_NS[@]}" "$BERTHD" --config /dev/null --listen "$BEP" --root "$BD/root" --state "$BSTATE" \
  --cni-conf-dir "$BD/cni" --cni-bin-dir /usr/lib/cni --insecure-registry "$REG" --log-level warn \
  >>"$BD/berthd.log" 2>&1 &
BERTHD_PID=$!
"$CLIENT" --endpoint "$BEP" wait-ready "${EPOCHREALTIME/./}" >/dev/null || die "berthd did not serve: $(tail -n 20 "$BD/berthd.log")"
note "containerd $CONTAINERD_PID, berthd $BERTHD_PID"
endpoint_of() { [ "$1" = containerd ] && echo "$CEP" || echo "$BEP"; }
ctl() {  # SYSTEM ARGS... — berthctl against SYSTEM, in the bench's netns (the URLs are on its lo)
  local ep
  ep=$(endpoint_of "$1")
  shift
  "${IN_NS[@]}" env CRI_CONFIG_FILE=/dev/null "$BERTHCTL" --config /dev/null -r "$ep" --timeout 60 "$@"
}
sctl() { local ep; ep=$(endpoint_of "$1"); shift; "${IN_NS[@]}" "$SCTL" --endpoint "$ep" "$@"; }
for s in containerd berthd; do ctl "$s" img pull "$IMAGE" >/dev/null; done
ctl containerd img pull "$PAUSE" >/dev/null

# --- a pod per daemon on its bridge: a sleeper (execs) and httpd (port-forward) ------------
SYSTEMS=(containerd berthd)
declare -A POD CTR HTTPD IP
for s in "${SYSTEMS[@]}"; do
  cat >"$WORK/$s-pod.json" <<JSON
{"metadata": {"name": "bench-$s", "namespace": "bench", "uid": "bench-$s-$$"},
 "log_directory": "$WORK/logs", "linux": {"cgroup_parent": "/$CG_PARENT",
 "security_context": {"namespace_options": {"network": "POD"}}}}
JSON
  POD[$s]=$(ctl "$s" runp "$WORK/$s-pod.json")
  jq -n --arg img "$IMAGE" '{metadata: {name: "sleeper"}, image: {image: $img}, command: ["sleep", "100000"], log_path: "sleeper.log"}' >"$WORK/$s-sleeper.json"
  CTR[$s]=$(ctl "$s" create "${POD[$s]}" "$WORK/$s-sleeper.json" "$WORK/$s-pod.json")
  ctl "$s" start "${CTR[$s]}" >/dev/null
  jq -n --arg img "$IMAGE" --arg mb "$PF_MB" '{metadata: {name: "httpd"}, image: {image: $img}, log_path: "httpd.log",
    command: ["sh", "-c", ("mkdir -p /tmp/www && head -c " + $mb + "000000 /dev/zero >/tmp/www/big && exec httpd -f -p 8080 -h /tmp/www")]}' >"$WORK/$s-httpd.json"
  HTTPD[$s]=$(ctl "$s" create "${POD[$s]}" "$WORK/$s-httpd.json" "$WORK/$s-pod.json")
  ctl "$s" start "${HTTPD[$s]}" >/dev/null
  IP[$s]=$(ctl "$s" inspectp "${POD[$s]}" | jq -r .status.network.ip)
  for _ in $(seq 100); do "${IN_NS[@]}" curl -fs -o /dev/null "http://${IP[$s]}:8080/big" --max-time 10 && break; sleep 0.2; done
  note "$s: pod ${POD[$s]:0:12} at ${IP[$s]}"
done

# Before timing: berthctl's default (WebSocket v5, SPDY when refused) carries stdin's EOF to
# both (containerd 1.6 has no v5: it refuses, and SPDY follows).
for s in "${SYSTEMS[@]}"; do
  got=$(printf 'a\nb\n' | timeout 20 "${IN_NS[@]}" env CRI_CONFIG_FILE=/dev/null "$BERTHCTL" \
    --config /dev/null -r "$(endpoint_of "$s")" exec -i "${CTR[$s]}" wc -l 2>&1 | tr -d ' ') || true
  [ "$got" = 2 ] || die "$s: berthctl exec -i with stdin's EOF: '$got' (expected 2)"
done

# --- 1. exec latency --------------------------------------------------------------------------
mkdir -p "$WORK/results"
LOAD=("$(cut -d' ' -f1-3 /proc/loadavg)")
WAYS=(websocket spdy sync)
for ((r = 0; r < ROUNDS; r++)); do
  step exec || break
  for i in 0 1; do
    s=${SYSTEMS[$(((i + r) % 2))]}
    for w in "${WAYS[@]}"; do
      note "round $((r + 1))/$ROUNDS: $s, $EXECS execs ($w) from one client"
      sctl "$s" bench --transport "$w" --n "$EXECS" --warmup 5 "${CTR[$s]}" /bin/true |
        jq -r '.samples_us[]' >>"$WORK/results/client.$s.$w"
    done
    for w in stream sync; do
      note "round $((r + 1))/$ROUNDS: $s, $CLI_EXECS berthctl exec ($w)"
      flag=() && [ "$w" = sync ] && flag=(-s)
      for ((k = 0; k < CLI_EXECS; k++)); do
        t0=${EPOCHREALTIME/./}
        ctl "$s" exec "${flag[@]}" "${CTR[$s]}" /bin/true
        echo $((${EPOCHREALTIME/./} - t0)) >>"$WORK/results/cli.$s.$w"
      done
    done
  done
  LOAD+=("$(cut -d' ' -f1-3 /proc/loadavg)")
done

# --- 2. port-forward throughput ---------------------------------------------------------------
# get URL — MB/s of one download of /big (curl's average).
get() { "${IN_NS[@]}" curl -fsS -o /dev/null --max-time 120 -w '%{speed_download}\n' "$1" | awk '{printf "%.0f\n", $1 / 1e6}'; }
for ((r = 0; r < ROUNDS; r++)); do
  step portforward || break
  for s in "${SYSTEMS[@]}"; do
    get "http://${IP[$s]}:8080/big" >>"$WORK/results/pf.$s.direct"
    for t in websocket spdy; do
      rm -f "$WORK/pf.out"
      "${IN_NS[@]}" env CRI_CONFIG_FILE=/dev/null "$BERTHCTL" --config /dev/null -r "$(endpoint_of "$s")" \
        port-forward --transport "$t" "${POD[$s]}" :8080 >"$WORK/pf.out" 2>&1 &
      pf=$!
      for _ in $(seq 200); do grep -qs "Forwarding from" "$WORK/pf.out" && break; sleep 0.05; done
      port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$WORK/pf.out")
      get "http://127.0.0.1:$port/big" >>"$WORK/results/pf.$s.$t" || note "$s $t: download failed: $(cat "$WORK/pf.out")"
      [ "${PF_DEBUG:-0}" = 1 ] && { note "pf.out: $(cat "$WORK/pf.out")"; ps -o pid,stat,args -p "$pf" >&2 || true; }
      kill -INT "$pf"
      wait "$pf" || true
    done
  done
done

# --- 3. exec probes ---------------------------------------------------------------------------
# PROBE_PODS pods per daemon (host network: probes need none), created and removed each round;
# berth-cri-bench probes them from one thread per pod, as kubelet's probe workers, through one
# gRPC connection, and reads the cgroups' CPU around the PROBE_SECONDS window.
for ((r = 0; r < PROBE_ROUNDS; r++)); do
  step probes || break
  for i in 0 1; do
    s=${SYSTEMS[$(((i + r) % 2))]}
    note "round $((r + 1))/$PROBE_ROUNDS: $s, $PROBE_PODS pods probed once a second for $PROBE_SECONDS s"
    mkdir -p "$WORK/logs/probes-$s-$r"
    shim_match="--address $BEP" && [ "$s" = containerd ] && shim_match="-address $CSOCK"
    "$CLIENT" --endpoint "$(endpoint_of "$s")" --image "$IMAGE" --pods "$PROBE_PODS" \
      --prefix "probe-$r" --network NODE --cgroup-parent "/$CG_PARENT/probes-$s" \
      --log-dir "$WORK/logs/probes-$s-$r" --probe-seconds "$PROBE_SECONDS" --probe-cmd "$PROBE_CMD" \
      --cpu-cgroup "$(daemon_cg "$s")" --cpu-cgroup "$CPU_CG/$CG_PARENT/probes-$s" \
      --cpu-pid "$([ "$s" = containerd ] && echo "$CONTAINERD_PID" || echo "$BERTHD_PID")" \
      --cpu-match "$shim_match" probes >"$WORK/results/probes.$s.$r.json" ||
      die "$s: probes failed"
    jq -c 'del(.samples_us)' "$WORK/results/probes.$s.$r.json" >&2
    # Every shim of the daemon must have been counted: none may live outside its cgroup.
    for p in $(shims_of "$s"); do
      grep -qx "$p" "$(daemon_cg "$s")/cgroup.procs" || note "warning: $s shim $p is not in $(daemon_cg "$s")"
    done
    timeout 300 "$CLIENT" --endpoint "$(endpoint_of "$s")" --stop-timeout 0 --prefix "probe-$r" --only-prefix remove-all ||
      die "$s: removing the probe pods failed"
  done
  LOAD+=("$(cut -d' ' -f1-3 /proc/loadavg)")
done

# --- report ---------------------------------------------------------------------------------------
med() { sort -g "$@" | awk '{a[NR]=$1} END {if (!NR) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0 || a == "-" || b == "-") print "-"; else printf "%.2f", a / b}'; }
ms() { awk '{printf "%.2f\n", $1 / 1000}' "$1" | med; }
{
  echo "## Streaming: berthd vs containerd's CRI plugin — $(date -u +%F), $(nproc) CPUs"
  echo
  echo "Load average (1/5/15 min) per round: ${LOAD[*]/%/;}"
  echo "berthd $(git -C "$SRC_DIR" rev-parse --short HEAD 2>/dev/null); containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}'). Pods on a CNI bridge, state on tmpfs."
  echo
  if step exec; then
    echo "### Exec of /bin/true, ms (median of $ROUNDS rounds × $EXECS from one client, × $CLI_EXECS berthctl processes)"
    echo
    echo "| way | containerd | berthd | berthd / containerd |"
    echo "|---|---|---|---|"
    for w in websocket spdy sync; do
      c=$(ms "$WORK/results/client.containerd.$w") b=$(ms "$WORK/results/client.berthd.$w")
      label="Exec + stream ($w)" && [ "$w" = sync ] && label="ExecSync"
      echo "| $label, one client | $c | $b | $(ratio "$b" "$c") |"
    done
    for w in stream sync; do
      c=$(ms "$WORK/results/cli.containerd.$w") b=$(ms "$WORK/results/cli.berthd.$w")
      label="berthctl exec (default transport)" && [ "$w" = sync ] && label="berthctl exec -s (ExecSync)"
      echo "| $label, a process each | $c | $b | $(ratio "$b" "$c") |"
    done
    echo
  fi
  if step portforward; then
    echo "### Port-forward: one download of $PF_MB MB from busybox httpd in the pod, MB/s (median of $ROUNDS)"
    echo
    echo "| path | containerd | berthd | berthd / containerd | berthd / its direct |"
    echo "|---|---|---|---|---|"
    bd=$(med "$WORK/results/pf.berthd.direct") cdd=$(med "$WORK/results/pf.containerd.direct")
    echo "| direct to the pod IP | $cdd | $bd | $(ratio "$bd" "$cdd") | 1.00 |"
    for t in websocket spdy; do
      c=$(med "$WORK/results/pf.containerd.$t") b=$(med "$WORK/results/pf.berthd.$t")
      echo "| berthctl port-forward ($t) | $c | $b | $(ratio "$b" "$c") | $(ratio "$b" "$bd") |"
    done
    echo
  fi
  if step probes; then
    pj() { cat "$WORK"/results/probes."$1".*.json | jq -r "$2" | med | awk '{printf ($1 == "-" ? "-\n" : "%.4g\n"), $1}'; }
    echo "### Exec probes: $PROBE_PODS pods, an ExecSync \`$PROBE_CMD\` (timeout 1 s) to each once a second for $PROBE_SECONDS s (median of $PROBE_ROUNDS rounds)"
    echo
    echo "| measure | containerd | berthd | berthd / containerd |"
    echo "|---|---|---|---|"
    row() {  # LABEL JQ
      local c b
      c=$(pj containerd "$2") b=$(pj berthd "$2")
      echo "| $1 | $c | $b | $(ratio "$b" "$c") |"
    }
    # A saturated machine runs fewer probes than asked (ticks skipped): CPU per probe is
    # the figure to compare; the totals are what the window used.
    row "CPU ms per probe: daemon + shims + runtime + containers (cgroups)" '.cpu_s * 1000 / .probes'
    row "CPU ms per probe: daemon + shims with reaped children (/proc)" '.proc_cpu_s * 1000 / .probes'
    row "CPU-s in the window, daemon + shims + runtime + containers (cgroups)" '.cpu_s'
    row "… of which the daemon's cgroup (daemon, shims, runtime)" '.cgroup_cpu_s | to_entries[0].value'
    row "… of which the pods' cgroups (the probes' processes, runtime parts that joined)" '.cgroup_cpu_s | to_entries[1].value'
    row "probe latency p50, ms" '.p50_ms'
    row "probe latency p99, ms" '.p99_ms'
    row "probes run" '.probes'
    row "probes failed" '.failed'
    row "ticks skipped (a probe outlasted its second)" '.skipped_ticks'
  fi
} | tee "$OUT"
note "results in $OUT"
