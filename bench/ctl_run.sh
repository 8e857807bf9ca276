#!/bin/bash
# bench/ctl_run.sh — the docker-style `run --rm IMAGE true`, start to exit code, side by side
# in one run: `berthctl run --rm` through berthd (a pod + a container over CRI, output from
# the CRI log, the pod removed), `podman run --rm` (podman 4.3 with runc, conmon) and
# `berthctl run --local --rm` (no daemon: image -> bundle -> berth in the foreground).
# Each sample is one whole client process, as a user types it. Medians and ratios to
# podman; never a pass/fail.
#
#   sudo bench/ctl_run.sh                      # binaries from build/ (built if missing)
#   sudo BUILD=/path/to/build ROUNDS=5 RUNS=20 bench/ctl_run.sh
#   sudo NET=cni bench/ctl_run.sh              # pod network (berthd's CNI bridge, podman's
#                                              # netavark/CNI bridge) instead of the host's
#
# Rounds interleave the three tools, each round starting with the next one. Everything lives
# under $WORK (removed at the end): the registry, berthd's roots (state on a tmpfs, as /run
# on a node), podman's root and runroot (runroot on the same tmpfs), berthctl's store.
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$SRC_DIR/build}
ROUNDS=${ROUNDS:-5}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
NET=${NET:-host}
TOOLS=${TOOLS:-"berthd podman local"}
WORK=$(mktemp -d /var/tmp/berth-bench-ctlrun.XXXXXX)
chmod 755 "$WORK"
OUT=${OUT:-/tmp/berth-bench-ctlrun-results.$(date +%Y%m%d-%H%M%S).md}
CG_PARENT=berth-bench-ctlrun-$$
PIDS=()
BERTHD_PID=""

note() { printf '[ctl-run-bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { note "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (containers, cgroups, mounts)"
case $NET in host | cni) ;; *) die "NET is host or cni" ;; esac

for t in podman conmon runc docker-registry curl jq python3; do
  command -v "$t" >/dev/null || die "$t not found (scripts/install-deps.sh installs it)"
done
RUNC=$(command -v runc)
BERTHCTL=$BUILD/berthctl BERTHD=$BUILD/berthd BERTH=$BUILD/berth SHIM=$BUILD/berth-shim
if ! [ -x "$BERTHCTL" ] || ! [ -x "$BERTHD" ] || ! [ -x "$BERTH" ] || ! [ -x "$SHIM" ]; then
  note "building berthctl berthd berth berth-shim in $BUILD"
  [ -f "$BUILD/build.ninja" ] || cmake -S "$SRC_DIR" -B "$BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$BUILD" -j2 berthctl berthd berth berth-shim >/dev/null
fi

BD=$WORK/berthd BSOCK=$WORK/berthd/berth.sock
BEP=unix://$BSOCK
RUN=$WORK/run
PM_CONF=$WORK/podman
export CONTAINERS_CONF=$PM_CONF/containers.conf CONTAINERS_STORAGE_CONF=$PM_CONF/storage.conf
PODMAN=(podman --root "$PM_CONF/root" --runroot "$RUN/podman" --tmpdir "$RUN/libpod"
  --storage-driver overlay --cgroup-manager cgroupfs --events-backend file --runtime "$RUNC")
LOCAL=("$BERTHCTL" --config /dev/null --root "$WORK/local/images" --hosts-dir "$WORK/no-hosts")
REMOTE=("$BERTHCTL" --config /dev/null --crictl-config /dev/null -r "$BEP" --timeout 60)

stop_pid() {  # PID — TERM, then KILL after 5 s
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  set +e
  if [ -n "$BERTHD_PID" ]; then
    for p in $("${REMOTE[@]}" -n berthctl pods -q 2>/dev/null); do
      "${REMOTE[@]}" -n berthctl rmp -f "$p" >/dev/null 2>&1
    done
  fi
  stop_pid "$BERTHD_PID"
  timeout 60 "${PODMAN[@]}" rm -f -a -t 0 >/dev/null 2>&1
  local p id root
  for p in $(pgrep -f "berth-shim .*--address $BEP( |\$)"); do kill -KILL "$p" 2>/dev/null; done
  for root in "$RUN"/berthd/runtime/*/*; do
    [ -d "$root" ] || continue
    for id in $("$BERTH" --root "$root" list -q 2>/dev/null); do
      "$BERTH" --root "$root" delete -f "$id" >/dev/null 2>&1
    done
  done
  find /sys/fs/cgroup -path "*/$CG_PARENT/*" -name cgroup.procs 2>/dev/null | xargs -r cat 2>/dev/null |
    sort -u | while read -r p; do kill -KILL "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
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

mkdir -p "$BD"/{root,cni} "$RUN" "$PM_CONF" "$WORK/no-hosts" "$WORK/local" "$WORK/logs"
mount -t tmpfs -o mode=0755 bench-ctlrun-run "$RUN"
# environment.md: podman's default rlimits exceed this host's hard limits.
cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
printf '[storage]\ndriver = "overlay"\nrunroot = "%s"\ngraphroot = "%s"\n' "$RUN/podman" "$PM_CONF/root" \
  >"$CONTAINERS_STORAGE_CONF"

# --- a busybox image in a local registry -------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
mkdir -p "$WORK/registry"
cat >"$WORK/registry/config.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $WORK/registry/data}}
http: {addr: "$REG"}
YML
(cd / && exec docker-registry serve "$WORK/registry/config.yml") >"$WORK/registry/log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://$REG/v2/" >/dev/null || die "registry did not start: $(cat "$WORK/registry/log")"
R=$WORK/rootfs
mkdir -p "$R"/{bin,etc,tmp,proc,sys,dev}
cp /bin/busybox "$R/bin/busybox"
ldd "$R/bin/busybox" >/dev/null 2>&1 && die "/bin/busybox is not static (install busybox-static)"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$R/bin/$a"; done
L=$WORK/layout
mkdir -p "$L/blobs/sha256"
tar -C "$R" -cf "$WORK/layer.tar" .
ld=$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1) ls=$(stat -c %s "$WORK/layer.tar")
mv "$WORK/layer.tar" "$L/blobs/sha256/$ld"
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$ld" >"$WORK/config.json"
cd_=$(sha256sum "$WORK/config.json" | cut -d' ' -f1) cs=$(stat -c %s "$WORK/config.json")
mv "$WORK/config.json" "$L/blobs/sha256/$cd_"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$cd_" "$cs" "$ld" "$ls" >"$WORK/manifest.json"
# Blobs by monolithic upload, then the manifest.
for blob in "$ld" "$cd_"; do
  loc=$(curl -fsS -D - -o /dev/null -X POST "http://$REG/v2/bench/busybox/blobs/uploads/" | tr -d '\r' |
    sed -n 's/^[Ll]ocation: //p')
  case $loc in http*) ;; *) loc=http://$REG$loc ;; esac
  sep='?'; case $loc in *\?*) sep='&' ;; esac
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$L/blobs/sha256/$blob" \
    "$loc${sep}digest=sha256:$blob" >/dev/null || die "blob upload failed"
done
curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "@$WORK/manifest.json" "http://$REG/v2/bench/busybox/manifests/1" >/dev/null ||
  die "manifest upload failed"
IMAGE=$REG/bench/busybox:1
note "image $IMAGE in the local registry"

# --- berthd, and the image pulled by each tool ---------------------------------------------------
"$BERTHD" --config /dev/null --listen "$BEP" --root "$BD/root" --state "$RUN/berthd" \
  --cni-conf-dir "$BD/cni" --insecure-registry "$REG" --log-level warn >"$WORK/logs/berthd.log" 2>&1 &
BERTHD_PID=$!
for _ in $(seq 100); do [ -S "$BSOCK" ] && break; sleep 0.1; done
[ -S "$BSOCK" ] || die "berthd did not serve: $(tail -n 5 "$WORK/logs/berthd.log")"
if [ "$NET" = cni ]; then
  cat >"$BD/cni/10-bench.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "bench-ctlrun", "plugins": [
  {"type": "bridge", "bridge": "bctlrun0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.231.77.0/24"}]]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
fi
"${REMOTE[@]}" img pull "$IMAGE" >/dev/null || die "berthd could not pull $IMAGE"
"${PODMAN[@]}" pull -q --tls-verify=false "$IMAGE" >/dev/null || die "podman could not pull $IMAGE"
"${LOCAL[@]}" --insecure-registry "$REG" pull -q "$IMAGE" >/dev/null || die "berthctl could not pull $IMAGE"

PM_NET=(--network host)
BD_NET=(--network host)
[ "$NET" = cni ] && PM_NET=() BD_NET=()
cmd_of() {  # TOOL — the command line of one `run --rm IMAGE true`
  case $1 in
    berthd) echo "${REMOTE[*]} run --rm ${BD_NET[*]} --cgroup-parent /$CG_PARENT $IMAGE true" ;;
    podman) echo "${PODMAN[*]} run --rm ${PM_NET[*]} --cgroup-parent /$CG_PARENT $IMAGE true" ;;
    local) echo "${LOCAL[*]} run --local --rm --runtime $BERTH $IMAGE true" ;;
  esac
}
one() {  # TOOL — one run, its wall time in µs on stdout; non-zero exit on a failed run
  local t0 t1
  t0=${EPOCHREALTIME/[.,]/}
  case $1 in
    berthd) "${REMOTE[@]}" run --rm "${BD_NET[@]}" --cgroup-parent "/$CG_PARENT" "$IMAGE" true ;;
    podman) "${PODMAN[@]}" run --rm "${PM_NET[@]}" --cgroup-parent "/$CG_PARENT" "$IMAGE" true ;;
    local) "${LOCAL[@]}" run --local --rm --runtime "$BERTH" "$IMAGE" true ;;
  esac </dev/null >/dev/null 2>>"$WORK/logs/$1.err" || return 1
  t1=${EPOCHREALTIME/[.,]/}
  echo $((t1 - t0))
}

read -ra tools <<<"$TOOLS"
for t in "${tools[@]}"; do
  for ((i = 0; i < WARMUP; i++)); do one "$t" >/dev/null || die "$t: a warm-up run failed: $(tail -n 3 "$WORK/logs/$t.err")"; done
done
mkdir -p "$WORK/samples"
fails=0
for ((r = 0; r < ROUNDS; r++)); do
  k=$((r % ${#tools[@]}))
  order=("${tools[@]:k}" "${tools[@]:0:k}")
  for t in "${order[@]}"; do
    for ((i = 0; i < RUNS; i++)); do
      if us=$(one "$t"); then echo "$us" >>"$WORK/samples/$t"; else fails=$((fails + 1)); fi
    done
  done
  note "round $((r + 1))/$ROUNDS done (load $(cut -d' ' -f1-3 /proc/loadavg))"
done

# Where berthctl run's time goes: PHASES runs with -D, each CRI call's own time and the gaps
# (berthctl's start-up before its first call, the wait for the exit, the exit) as medians.
PHASES=${PHASES:-20}
phases=""
if [ "$PHASES" -gt 0 ] && [[ " $TOOLS " == *" berthd "* ]]; then
  mkdir -p "$WORK/phases"
  for ((i = 0; i < PHASES; i++)); do
    s=$EPOCHREALTIME
    "${REMOTE[@]}" -D run --rm "${BD_NET[@]}" --cgroup-parent "/$CG_PARENT" "$IMAGE" true \
      </dev/null >/dev/null 2>"$WORK/phases/$i.log" || true
    echo "$s $EPOCHREALTIME" >"$WORK/phases/$i.times"
  done
  phases=$(python3 - "$WORK/phases" "$PHASES" <<'PY'
import re, statistics, sys
d, n = sys.argv[1], int(sys.argv[2])
rows = {}
order = []
def add(k, v):
    if k not in rows:
        rows[k] = []
        order.append(k)
    rows[k].append(v)
for i in range(n):
    start, end = map(float, open(f"{d}/{i}.times").read().split())
    prev = None
    for line in open(f"{d}/{i}.log"):
        m = re.search(r'T(\d\d):(\d\d):([\d.]+)Z.*msg="cri: (\w+) on .* OK in (\d+) ms', line)
        if not m:
            continue
        t = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
        t0 = start % 86400
        ms, call = int(m.group(5)), m.group(4)
        begin = (t - t0) * 1000 - ms
        if prev is None:
            add("start-up (exec to the first call)", begin)
        elif call == "ContainerStatus":
            add("the container runs; its exit reaches berthctl", begin - prev)
        add(call, ms)
        prev = (t - t0) * 1000
    add("exit (after the last call)", (end % 86400 - start % 86400) * 1000 - prev)
    add("total", (end - start) * 1000)
for k in order:
    print(f"| {k} | {statistics.median(rows[k]):.1f} |")
PY
)
fi

median_ms() { sort -n "$1" | awk '{a[NR] = $1} END {if (NR == 0) {print "-"; exit}
  m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f", m / 1000}'; }
{
  echo "## \`run --rm IMAGE true\`: berthctl through berthd vs podman (runc) vs berthctl --local"
  echo
  echo "$(date -u +%F), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), network $NET, $ROUNDS rounds × $RUNS runs per tool (+ $WARMUP warm-up), $fails failed runs"
  echo
  echo "| tool | median ms | × podman | command |"
  echo "|---|---|---|---|"
  pm=$(median_ms "$WORK/samples/podman" 2>/dev/null || echo -)
  for t in "${tools[@]}"; do
    m=$(median_ms "$WORK/samples/$t")
    ratio=$(awk -v a="$m" -v b="$pm" 'BEGIN {if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "-"}')
    echo "| $t | $m | $ratio | \`$(cmd_of "$t" | sed "s|$WORK|\$WORK|g")\` |"
  done
  if [ -n "$phases" ]; then
    echo
    echo "berthctl run through berthd, $PHASES runs with -D (medians, ms; the calls as berthctl timed them):"
    echo
    echo "| phase | ms |"
    echo "|---|---|"
    echo "$phases"
  fi
} | tee "$OUT"
note "results in $OUT"
