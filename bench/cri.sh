#!/bin/bash
# bench/cri.sh — berthd against containerd 1.6's CRI plugin (default runtime runc), side by
# side in one run: pod lifecycle per CRI call, ExecSync, list/status calls (from one
# long-lived client, bench/cri_client.cc: no client start-up in the figures), memory of the
# daemon + its shims (+ containerd's pause processes) with 10 running pods, and berthd's
# restart time with 100 pods. Medians and ratios berthd/containerd; never a pass/fail.
#
#   sudo bench/cri.sh                          # binaries from build/ (built if missing)
#   sudo BUILD=/path/to/build ROUNDS=5 PODS=30 bench/cri.sh
#   sudo STEPS="lifecycle memory restart" bench/cri.sh
#   sudo STEPS=profile KEEP_WORK=1 bench/cri.sh   # strace of berthd's lifecycle, kept in $WORK
#   sudo STEPS=churn CHURN_ROUNDS=1000 bench/cri.sh   # bench/churn.sh: pod churn, leaks
#   sudo STEPS=load LOAD_CLIENTS=50 LOAD_SECONDS=60 bench/cri.sh   # bench/load.sh
#
# Both daemons run on temporary directories under $WORK and in a network namespace of the
# bench's own; both get the same busybox image (and containerd its pause image, a static C
# program built here) from a local docker-registry through the CRI PullImage. Rounds are
# interleaved, each round starting with the other daemon. The load average is printed with
# the results: the machine is shared.
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$SRC_DIR/build}
ROUNDS=${ROUNDS:-3}
PODS=${PODS:-30}
WARMUP=${WARMUP:-3}
EXECS=${EXECS:-100}
MEM_PODS=${MEM_PODS:-10}
RESTART_PODS=${RESTART_PODS:-100}
RESTARTS=${RESTARTS:-5}
# The pods' network in the lifecycle step, one pass each: NODE (host network) and POD (CNI:
# bridge + host-local + portmap, the same chain for both daemons). Memory and restart use
# host-network pods.
NETWORKS=${NETWORKS:-"NODE POD"}
STEPS=${STEPS:-"lifecycle memory restart"}
CHURN_ROUNDS=${CHURN_ROUNDS:-1000}
LOAD_CLIENTS=${LOAD_CLIENTS:-50}
LOAD_SECONDS=${LOAD_SECONDS:-60}
WORK=$(mktemp -d /var/tmp/berth-bench-cri.XXXXXX)
chmod 755 "$WORK"
OUT=${OUT:-/tmp/berth-bench-cri-results.$(date +%Y%m%d-%H%M%S).md}
CG_PARENT=berth-bench-cri-$$
# Everything runs in a network namespace of the bench's own: the registry (on its
# 127.0.0.1), both daemons, their bridges, veths and iptables rules.
NETNS=berth-bench-cri-$$
IN_NS=(nsenter --net=/run/netns/$NETNS)
PIDS=()
CONTAINERD_PID="" BERTHD_PID=""

note() { printf '[cri-bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { note "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (containers, cgroups, mounts)"

# --- binaries --------------------------------------------------------------------------------
for t in containerd ctr containerd-shim-runc-v2 runc docker-registry skopeo jq gcc nsenter ip; do
  command -v "$t" >/dev/null || die "$t not found (scripts/install-deps.sh installs it)"
done
BERTHD=$BUILD/berthd BERTH=$BUILD/berth SHIM=$BUILD/berth-shim CLIENT=$BUILD/tests/berth-cri-bench
if ! [ -x "$BERTHD" ] || ! [ -x "$BERTH" ] || ! [ -x "$SHIM" ] || ! [ -x "$CLIENT" ]; then
  note "building berth berthd berth-shim berth-cri-bench in $BUILD"
  [ -f "$BUILD/build.ninja" ] || cmake -S "$SRC_DIR" -B "$BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$BUILD" -j2 berth berthd berth-shim berth-cri-bench >/dev/null
fi

# --- cleanup (by pid and by our own paths only) -------------------------------------------
CD=$WORK/containerd CSOCK=$WORK/containerd/containerd.sock
BD=$WORK/berthd BSOCK=$WORK/berthd/berth.sock
# Volatile state (berthd --state, containerd's state: shims, bundles, rootfs mount points) on
# a tmpfs, as /run is on a node (STATE_TMPFS=0: on $WORK's disk, here ext4 mounted with
# `discard`, where every fsync'd file or directory removed costs a few ms).
STATE_TMPFS=${STATE_TMPFS:-1}
RUN=$WORK/run
BSTATE=$RUN/berthd CSTATE=$RUN/containerd
CEP=unix://$CSOCK BEP=unix://$BSOCK
shims_of() {  # containerd|berthd — pids of that daemon's shims
  case $1 in
    containerd) pgrep -f "containerd-shim-runc-v2 .*-address $CSOCK( |\$)" || true ;;
    berthd) pgrep -f "berth-shim .*--address $BEP( |\$)" || true ;;
  esac
}
stop_pid() {  # PID — TERM, then KILL after 5 s
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  set +e
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
    for id in $("$BERTH" --root "$root" list -q 2>/dev/null); do
      "$BERTH" --root "$root" delete -f "$id" >/dev/null 2>&1
    done
  done
  # berthd's PID namespace holders, then whatever still runs in the pods' cgroups (only
  # ours live under $CG_PARENT), by pid.
  for p in $(pgrep -f "berth-shim pause $BSTATE/"); do kill -KILL "$p" 2>/dev/null; done
  find /sys/fs/cgroup -path "*/$CG_PARENT/*" -name cgroup.procs 2>/dev/null | xargs -r cat 2>/dev/null |
    sort -u | while read -r p; do kill -KILL "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
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
PORT=5000

# --- images: busybox and a pause program, in a local registry -------------------------------
REG=127.0.0.1:$PORT
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
"${IN_NS[@]}" curl -fsS "http://$REG/v2/" >/dev/null || die "registry did not start: $(cat "$WORK/registry/log")"

# oci_image ROOTFS NAME CONFIG — pushes ROOTFS as a one-layer image to $REG/NAME.
oci_image() {
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
ldd "$R/bin/busybox" >/dev/null 2>&1 && die "/bin/busybox is not static (install busybox-static)"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
oci_image "$R" bench/busybox:1 '{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]}'
# The pause program: what Kubernetes' pause does (wait for a signal, exit on TERM/INT), static.
P=$WORK/rootfs-pause
mkdir -p "$P"
cat >"$WORK/pause.c" <<'C'
#include <signal.h>
#include <unistd.h>
static void done(int sig) { (void)sig; _exit(0); }
int main(void) {
  signal(SIGTERM, done);
  signal(SIGINT, done);
  for (;;) pause();
}
C
gcc -static -Os -s -o "$P/pause" "$WORK/pause.c"
oci_image "$P" bench/pause:1 '{"Entrypoint":["/pause"]}'
IMAGE=$REG/bench/busybox:1
PAUSE=$REG/bench/pause:1
note "images $IMAGE and $PAUSE in the local registry"

# --- the daemons ----------------------------------------------------------------------------
mkdir -p "$CD" "$BD"/{root,cni} "$RUN" "$WORK/logs" "$WORK/cni-conf"
[ "$STATE_TMPFS" = 1 ] && mount -t tmpfs -o mode=0755 bench-cri-run "$RUN"
mkdir -p "$BSTATE" "$CSTATE"
# conflist NAME BRIDGE SUBNET — the chain of contrib/cni/10-berth.conflist (bridge +
# host-local + portmap), with the bench's own names, ranges and IPAM dir; no masquerade
# (the pods need no way out).
conflist() {
  cat <<JSON
{
  "cniVersion": "1.0.0",
  "name": "$1",
  "plugins": [
    {"type": "bridge", "bridge": "$2", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$WORK/ipam",
              "ranges": [[{"subnet": "$3.0/24", "gateway": "$3.1"}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
  ]
}
JSON
}
conflist bench-cri-containerd bcri-c0 10.71.1 >"$WORK/cni-conf/10-bench.conflist"
conflist bench-cri-berthd bcri-b0 10.72.1 >"$BD/cni/10-bench.conflist"
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
start_containerd() {
  "${IN_NS[@]}" containerd --config "$CD/config.toml" >>"$CD/containerd.log" 2>&1 &
  CONTAINERD_PID=$!
  "$CLIENT" --endpoint "$CEP" wait-ready "${EPOCHREALTIME/./}" >/dev/null ||
    die "containerd did not serve: $(tail -n 20 "$CD/containerd.log")"
}
# start_berthd — starts berthd; prints the ms from its start to its "berthd serving" line.
start_berthd() {
  local t0=${EPOCHREALTIME/./} before ts
  before=$(grep -c "berthd serving" "$BD/berthd.log" 2>/dev/null || true)
  "${IN_NS[@]}" "$BERTHD" --config /dev/null --listen "$BEP" --root "$BD/root" --state "$BSTATE" \
    --cni-conf-dir "$BD/cni" --cni-bin-dir /usr/lib/cni --insecure-registry "$REG" --log-level "${BERTHD_LOG_LEVEL:-info}" \
    >>"$BD/berthd.log" 2>&1 &
  BERTHD_PID=$!
  "$CLIENT" --endpoint "$BEP" wait-ready "$t0" >"$WORK/ready" ||
    die "berthd did not serve: $(tail -n 20 "$BD/berthd.log")"
  ts=$(grep "berthd serving" "$BD/berthd.log" | tail -n +$((${before:-0} + 1)) | head -n1 |
    sed -n 's/^time="\([^"]*\)".*/\1/p')
  # ms from start to the log line, and to the first answered Version call.
  echo "$(awk -v a="$(date -d "$ts" +%s%6N)" -v b="$t0" 'BEGIN {printf "%.1f", (a - b) / 1000}') $(cat "$WORK/ready")"
}
start_containerd
start_berthd >/dev/null
note "containerd $CONTAINERD_PID on $CSOCK, berthd $BERTHD_PID on $BSOCK"
for ep in "$CEP" "$BEP"; do
  "$CLIENT" --endpoint "$ep" pull "$IMAGE" >/dev/null
done
"$CLIENT" --endpoint "$CEP" pull "$PAUSE" >/dev/null

endpoint_of() { [ "$1" = containerd ] && echo "$CEP" || echo "$BEP"; }
pid_of() { [ "$1" = containerd ] && echo "$CONTAINERD_PID" || echo "$BERTHD_PID"; }
match_of() { [ "$1" = containerd ] && echo "-address $CSOCK" || echo "--address $BEP"; }
cli() {  # SYSTEM ARGS... — the client against SYSTEM's daemon, pods under our cgroup
  local s=$1
  shift
  "$CLIENT" --endpoint "$(endpoint_of "$s")" --image "$IMAGE" --cgroup-parent "/$CG_PARENT" \
    --log-dir "$WORK/logs" "$@"
}
SYSTEMS=(containerd berthd)
LOAD=()
load() { LOAD+=("$(cut -d' ' -f1-3 /proc/loadavg)"); }
load

# --- 1. lifecycle, ExecSync, list/status ------------------------------------------------------
mkdir -p "$WORK/results"
if [[ " $STEPS " == *" lifecycle "* ]]; then
  for net in $NETWORKS; do
    for ((r = 0; r < ROUNDS; r++)); do
      for i in 0 1; do
        s=${SYSTEMS[$(((i + r) % 2))]}
        note "$net network, round $((r + 1))/$ROUNDS: $s ($WARMUP + $PODS pods, $EXECS execs)"
        cli "$s" --network "$net" --prefix "$s-${net,,}-r$r" --pods "$PODS" --warmup "$WARMUP" \
          --execs "$EXECS" --cpu-pid "$(pid_of "$s")" --cpu-match "$(match_of "$s")" lifecycle \
          >"$WORK/results/$net.$s.$r.json"
        load
      done
    done
  done
fi

# --- 2. memory with MEM_PODS running pods -----------------------------------------------------
# smaps_rollup PID — "RSS PSS ANON" in KiB.
smaps() { awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Anonymous:/ {a=$2} END {print r+0, p+0, a+0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo "0 0 0"; }
# mem_of SYSTEM — one line per process: "ROLE PID RSS PSS ANON COMM". Roles: daemon, shim,
# pause (containerd's pause containers, berthd's PID namespace holders: a pod's processes
# that are not its containers'); the containers' own processes are listed as "workload"
# and left out of the sums.
mem_of() {
  local s=$1 d p c cmd
  d=$(pid_of "$s")
  echo "daemon $d $(smaps "$d") $(cat /proc/"$d"/comm)"
  for p in $(shims_of "$s"); do
    echo "shim $p $(smaps "$p") $(cat /proc/"$p"/comm)"
    for c in $(pgrep -P "$p"); do
      cmd=$(tr '\0' ' ' <"/proc/$c/cmdline")
      case $cmd in
        *"sleep 3600"*) echo "workload $c $(smaps "$c") $(cat /proc/"$c"/comm)" ;;
        *) echo "pause $c $(smaps "$c") $(cat /proc/"$c"/comm)" ;;
      esac
    done
  done
  # berthd's holders of pod-shared PID namespaces ('berth-shim pause'), spawned by berthd.
  if [ "$s" = berthd ]; then
    for p in $(pgrep -f "berth-shim pause $BSTATE/" || true); do
      echo "pause $p $(smaps "$p") $(cat /proc/"$p"/comm)"
    done
  fi
}
if [[ " $STEPS " == *" memory "* ]]; then
  for s in "${SYSTEMS[@]}"; do
    note "memory: $MEM_PODS running pods on $s"
    cli "$s" --network NODE --prefix "$s-mem" hold "$MEM_PODS" >/dev/null
    sleep 2
    mem_of "$s" >"$WORK/results/$s.mem"
    cli "$s" --stop-timeout 10 remove-all
  done
  load
fi

# --- 3. berthd restart with RESTART_PODS pods -------------------------------------------------
if [[ " $STEPS " == *" restart "* ]]; then
  note "restart: $RESTART_PODS pods with one running container each on berthd"
  cli berthd --network NODE --prefix restart hold "$RESTART_PODS" >/dev/null
  read -r np _ nc nr < <(cli berthd count)
  [ "$np" = "$RESTART_PODS" ] && [ "$nr" = "$RESTART_PODS" ] || die "expected $RESTART_PODS pods, got $np pods, $nr running containers"
  : >"$WORK/results/restart.term"
  : >"$WORK/results/restart.kill"
  for ((i = 0; i < RESTARTS; i++)); do
    for how in TERM KILL; do
      kill -"$how" "$BERTHD_PID"
      wait "$BERTHD_PID" 2>/dev/null || true
      start_berthd >>"$WORK/results/restart.${how,,}"
      read -r np _ nc nr < <(cli berthd count)
      [ "$np" = "$RESTART_PODS" ] && [ "$nr" = "$RESTART_PODS" ] ||
        die "after a restart: $np pods, $nr running containers (expected $RESTART_PODS)"
    done
  done
  if [ "${CONTAINERD_RESTART:-1}" = 1 ]; then
    note "restart: $RESTART_PODS pods on containerd, for comparison"
    cli containerd --network NODE --prefix restart hold "$RESTART_PODS" >/dev/null
    : >"$WORK/results/restart.containerd"
    for ((i = 0; i < RESTARTS; i++)); do
      kill -TERM "$CONTAINERD_PID"
      wait "$CONTAINERD_PID" 2>/dev/null || true
      t0=${EPOCHREALTIME/./}
      "${IN_NS[@]}" containerd --config "$CD/config.toml" >>"$CD/containerd.log" 2>&1 &
      CONTAINERD_PID=$!
      "$CLIENT" --endpoint "$CEP" wait-ready "$t0" >>"$WORK/results/restart.containerd"
    done
    read -r np _ nc nr < <(cli containerd count)
    [ "$nr" = "$RESTART_PODS" ] || note "containerd after restarts: $np pods, $nr running containers"
    cli containerd --stop-timeout 10 remove-all
  fi
  cli berthd --stop-timeout 10 remove-all
  load
fi

# --- 4. where berthd's time goes: strace of berthd and all it spawns -------------------------
# STEPS=profile: PROFILE_PODS lifecycles (host network) and 10 ExecSync under
# `strace -f -tt -T` (berthd's threads, the shims, berth); the trace is kept in
# $WORK/profile (KEEP_WORK=1) and a per-call summary of the slowest syscalls printed.
if [[ " $STEPS " == *" profile "* ]]; then
  command -v strace >/dev/null || die "strace not found (apt-get install strace)"
  mkdir -p "$WORK/profile"
  note "profile: strace -f of berthd during ${PROFILE_PODS:-5} lifecycles"
  strace -f -tt -T -qq -s 200 -o "$WORK/profile/strace" -p "$BERTHD_PID" &
  SPID=$!
  sleep 1
  cli berthd --network NODE --prefix prof --pods "${PROFILE_PODS:-5}" --warmup 0 --execs 10 \
    lifecycle >"$WORK/profile/lifecycle.json"
  kill -INT "$SPID"
  wait "$SPID" 2>/dev/null || true
  strace -f -c -S time -o "$WORK/profile/strace-c" -p "$BERTHD_PID" &
  SPID=$!
  sleep 1
  cli berthd --network NODE --prefix profc --pods "${PROFILE_PODS:-5}" --warmup 0 --execs 10 \
    lifecycle >/dev/null
  kill -INT "$SPID"
  wait "$SPID" 2>/dev/null || true
fi

# --- 5. churn: CHURN_ROUNDS pod lifecycles on the CNI bridge, each with a log line and an
# ExecSync (berth-cri-bench churn), one daemon after the other; the daemon's fds, threads and
# RSS after the warm-up, right after the last round and 5 s later; what is left.
# leftovers SYSTEM — "SHIMS MOUNTS RESERVED_IPS VETHS" of that daemon, once its pods are gone
# (shims given 10 s to exit).
leftovers() {
  local m i
  # A removed pod's shim exits on its own once it has answered: up to 10 s for that.
  for i in $(seq 100); do [ -z "$(shims_of "$1")" ] && break; sleep 0.1; done
  for i in $(shims_of "$1"); do echo "$(tr '\0' ' ' <"/proc/$i/cmdline")"; done >"$WORK/results/$1.shims-left"
  m=$(awk -v d="$WORK/" 'index($5, d) == 1 && $5 != d "run" {n++} END {print n+0}' /proc/self/mountinfo)
  echo "$(shims_of "$1" | wc -l) $m $(find "$WORK/ipam" -type f -regex '.*/[0-9.]+' 2>/dev/null | wc -l) $("${IN_NS[@]}" ip -o link show type veth | wc -l)"
}
procstat() {  # PID — "FDS THREADS RSS_KB"
  echo "$(ls /proc/"$1"/fd | wc -l) $(awk '/^Threads:/ {t=$2} /^VmRSS:/ {r=$2} END {print t, r}' /proc/"$1"/status)"
}
if [[ " $STEPS " == *" churn "* ]]; then
  for s in "${SYSTEMS[@]}"; do
    note "churn: $CHURN_ROUNDS pod lifecycles on $s (CNI bridge, log line + ExecSync each)"
    cli "$s" --network POD --prefix "$s-churn" --warmup 5 --rounds "$CHURN_ROUNDS" \
      --stop-timeout 10 --sample-pid "$(pid_of "$s")" churn >"$WORK/results/churn.$s.json"
    sleep 5
    procstat "$(pid_of "$s")" >"$WORK/results/churn.$s.settled"
    leftovers "$s" >"$WORK/results/churn.$s.left"
    load
  done
fi

# --- 6. load: LOAD_CLIENTS clients for LOAD_SECONDS issuing list/status/stats/ExecSync while
# two threads churn pods (berth-cri-bench load), one daemon after the other.
if [[ " $STEPS " == *" load "* ]]; then
  for s in "${SYSTEMS[@]}"; do
    note "load: $LOAD_CLIENTS clients for $LOAD_SECONDS s on $s (4 steady pods, 2 churners)"
    rc=0
    cli "$s" --network POD --prefix "$s-load" --clients "$LOAD_CLIENTS" --duration "$LOAD_SECONDS" \
      --steady-pods 4 --churners 2 --stop-timeout 2 --sample-pid "$(pid_of "$s")" load \
      >"$WORK/results/load.$s.json" || rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 3 ] || die "berth-cri-bench load on $s failed (exit $rc)"
    leftovers "$s" >"$WORK/results/load.$s.left"
    load
  done
fi

# --- report ---------------------------------------------------------------------------------------
# med FILE... — median of numbers, one per line.
med() { sort -g "$@" | awk '{a[NR]=$1} END {if (!NR) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
pct() { sort -g | awk -v q="$1" '{a[NR]=$1} END {if (!NR) {print "-"; exit} i=int(q*(NR-1))+1; print a[i]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0 || a == "-" || b == "-") print "-"; else printf "%.2f", a / b}'; }
ms() { awk '{printf "%.2f\n", $1 / 1000}'; }
# samples SYSTEM KEY — every sample (µs) of KEY over the rounds.
samples() { cat "$WORK"/results/"$NET.$1".*.json 2>/dev/null | jq -r --arg k "$2" '.samples_us[$k][]?'; }
{
  echo "## berthd vs containerd's CRI plugin — $(date -u +%F), $(nproc) CPUs"
  echo
  echo "Load average (1/5/15 min) at each step: ${LOAD[*]/%/;}"
  echo "berthd: $BERTHD (git $(git -C "$SRC_DIR" rev-parse --short HEAD 2>/dev/null)); containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}'). Volatile state of both on $([ "$STATE_TMPFS" = 1 ] && echo tmpfs || echo "$(findmnt -n -o FSTYPE,OPTIONS -T "$WORK")")."
  for NET in $NETWORKS; do
    [[ " $STEPS " == *" lifecycle "* ]] || break
    echo
    case $NET in
      NODE) echo "### Pod lifecycle and calls, host-network pods ($ROUNDS rounds × $PODS pods after $WARMUP warm-up; $EXECS of each call per round), ms" ;;
      *) echo "### Pod lifecycle and calls, pods on a CNI bridge ($ROUNDS rounds × $PODS pods after $WARMUP warm-up; $EXECS of each call per round), ms" ;;
    esac
    echo
    echo "| call | containerd | berthd | berthd / containerd | berthd p25–p75 | containerd p25–p75 | n each |"
    echo "|---|---|---|---|---|---|---|"
    for k in RunPodSandbox CreateContainer StartContainer StopContainer RemoveContainer \
      StopPodSandbox RemovePodSandbox pod_total ExecSync ListContainers ContainerStatus \
      ListPodSandbox PodSandboxStatus; do
      c=$(samples containerd "$k" | ms | med) b=$(samples berthd "$k" | ms | med)
      n=$(samples berthd "$k" | wc -l)
      bq="$(samples berthd "$k" | ms | pct 0.25)–$(samples berthd "$k" | ms | pct 0.75)"
      cq="$(samples containerd "$k" | ms | pct 0.25)–$(samples containerd "$k" | ms | pct 0.75)"
      label=$k
      [ "$k" = pod_total ] && label="**pod total (7 calls)**"
      echo "| $label | $c | $b | $(ratio "$b" "$c") | $bq | $cq | $n |"
    done
    cc=$(cat "$WORK"/results/"$NET".containerd.*.json | jq -r '.exec_server_cpu_ms // empty' | med)
    bc=$(cat "$WORK"/results/"$NET".berthd.*.json | jq -r '.exec_server_cpu_ms // empty' | med)
    echo "| ExecSync: CPU of daemon + shims per call | $cc | $bc | $(ratio "$bc" "$cc") | | | $ROUNDS runs |"
  done
  if [[ " $STEPS " == *" memory "* ]]; then
    echo
    echo "### Memory with $MEM_PODS running pods (one container each), KiB"
    echo
    echo "| | containerd RSS | containerd PSS | berthd RSS | berthd PSS | RSS ratio | PSS ratio |"
    echo "|---|---|---|---|---|---|---|"
    sum() { awk -v r="$2" -v c="$3" '$1 == r {s += $c} END {print s+0}' "$WORK/results/$1.mem"; }
    cnt() { awk -v r="$2" '$1 == r {n++} END {print n+0}' "$WORK/results/$1.mem"; }
    row() {  # LABEL ROLE... — summed over the roles
      local l=$1 cr=0 cp=0 br=0 bp=0 role
      shift
      for role in "$@"; do
        cr=$((cr + $(sum containerd "$role" 3))) cp=$((cp + $(sum containerd "$role" 4)))
        br=$((br + $(sum berthd "$role" 3))) bp=$((bp + $(sum berthd "$role" 4)))
      done
      echo "| $l | $cr | $cp | $br | $bp | $(ratio $br $cr) | $(ratio $bp $cp) |"
    }
    row daemon daemon
    row "shims ($(cnt containerd shim) / $(cnt berthd shim))" shim
    row "pause processes ($(cnt containerd pause) / $(cnt berthd pause))" pause
    row "**total: daemon + shims + pause**" daemon shim pause
    per() { awk -v r="$2" -v c="$3" -v n="$MEM_PODS" '$1 == r {s += $c} END {printf "%.0f", s / n}' "$WORK/results/$1.mem"; }
    echo "| per pod: shim | $(per containerd shim 3) | $(per containerd shim 4) | $(per berthd shim 3) | $(per berthd shim 4) | $(ratio "$(per berthd shim 3)" "$(per containerd shim 3)") | $(ratio "$(per berthd shim 4)" "$(per containerd shim 4)") |"
    echo "| per pod: shim anonymous memory | $(per containerd shim 5) | | $(per berthd shim 5) | | $(ratio "$(per berthd shim 5)" "$(per containerd shim 5)") | |"
    echo
    echo "The containers' own processes (sh + sleep) are left out; processes counted:"
    echo
    echo '```'
    for s in "${SYSTEMS[@]}"; do sed "s/^/$s /" "$WORK/results/$s.mem" | grep -v ' workload '; done | column -t
    echo '```'
  fi
  if [[ " $STEPS " == *" restart "* ]]; then
    echo
    echo "### Restart with $RESTART_PODS pods (host network, one running container each), ms, median of $RESTARTS"
    echo
    echo "| | start → \"berthd serving\" logged | start → first Version answered |"
    echo "|---|---|---|"
    echo "| berthd after SIGTERM | $(cut -d' ' -f1 "$WORK/results/restart.term" | med) | $(cut -d' ' -f2 "$WORK/results/restart.term" | med) |"
    echo "| berthd after SIGKILL | $(cut -d' ' -f1 "$WORK/results/restart.kill" | med) | $(cut -d' ' -f2 "$WORK/results/restart.kill" | med) |"
    [ -s "$WORK/results/restart.containerd" ] &&
      echo "| containerd after SIGTERM (CRI answers) | - | $(med "$WORK/results/restart.containerd") |"
    echo
    echo "All samples (log line, Version): TERM $(tr '\n' ';' <"$WORK/results/restart.term") KILL $(tr '\n' ';' <"$WORK/results/restart.kill")"
  fi
  if [[ " $STEPS " == *" churn "* ]]; then
    echo
    echo "### Churn: $CHURN_ROUNDS pod lifecycles on a CNI bridge (after 5 warm-up), each with a log line and an ExecSync"
    echo
    echo "| | containerd | berthd | berthd / containerd |"
    echo "|---|---|---|---|"
    cj() { jq -r "$2" "$WORK/results/churn.$1.json"; }
    for k in round_total RunPodSandbox CreateContainer StartContainer ExecSync StopContainer \
      RemoveContainer StopPodSandbox RemovePodSandbox; do
      c=$(cj containerd ".median_ms.$k") b=$(cj berthd ".median_ms.$k")
      label="$k, median ms"
      [ "$k" = round_total ] && label="**one lifecycle (9 calls + log line), median ms**"
      echo "| $label | $c | $b | $(ratio "$b" "$c") |"
    done
    for s in containerd berthd; do
      w=$(jq -r '.round_total_us | add / 1000000 | . * 10 | round / 10' "$WORK/results/churn.$s.json")
      eval "wall_$s=$w"
    done
    echo "| all rounds, s | $wall_containerd | $wall_berthd | $(ratio "$wall_berthd" "$wall_containerd") |"
    for f in fds threads rss_kb; do
      i=$(case $f in fds) echo 1 ;; threads) echo 2 ;; rss_kb) echo 3 ;; esac)
      echo "| daemon $f: after warm-up → last round → 5 s later | $(cj containerd ".start.$f") → $(cj containerd ".end.$f") → $(cut -d' ' -f$i "$WORK/results/churn.containerd.settled") | $(cj berthd ".start.$f") → $(cj berthd ".end.$f") → $(cut -d' ' -f$i "$WORK/results/churn.berthd.settled") | |"
    done
    echo "| left: shims, mounts, reserved IPs, veths | $(cat "$WORK/results/churn.containerd.left") | $(cat "$WORK/results/churn.berthd.left") | |"
  fi
  if [[ " $STEPS " == *" load "* ]]; then
    echo
    echo "### Load: $LOAD_CLIENTS clients for $LOAD_SECONDS s (4 steady pods, 2 threads churning pods on a CNI bridge), ms"
    echo
    echo "| call | containerd p50 | berthd p50 | p50 ratio | containerd p99 | berthd p99 | p99 ratio | calls (c / b) | unexpected (c / b) |"
    echo "|---|---|---|---|---|---|---|---|---|"
    lj() { jq -r --arg k "$2" ".calls[\$k].$3 // \"-\"" "$WORK/results/load.$1.json"; }
    for k in ListPodSandbox ListContainers ContainerStatus ListContainerStats ExecSync; do
      cp50=$(lj containerd $k p50_ms) bp50=$(lj berthd $k p50_ms) cp99=$(lj containerd $k p99_ms) bp99=$(lj berthd $k p99_ms)
      echo "| $k | $cp50 | $bp50 | $(ratio "$bp50" "$cp50") | $cp99 | $bp99 | $(ratio "$bp99" "$cp99") | $(lj containerd $k n) / $(lj berthd $k n) | $(lj containerd $k unexpected) / $(lj berthd $k unexpected) |"
    done
    for s in containerd berthd; do
      echo
      echo "$s: $(jq -r .churn_cycles "$WORK/results/load.$s.json") pods churned; answers by code:"
      jq -r '.calls | to_entries[] | "- \(.key): \(.value.codes | to_entries | map("\(.key) \(.value)") | join(", "))\(if .value.unexpected > 0 then "; unexpected, e.g. " + (.value.examples[0] // "" | .[0:200]) else "" end)"' "$WORK/results/load.$s.json"
      echo "- left after the load (shims, mounts, reserved IPs, veths): $(cat "$WORK/results/load.$s.left")"
    done
  fi
} | tee "$OUT"
note "results in $OUT (raw JSON in $WORK/results with KEEP_WORK=1)"
