#!/bin/bash
# bench/pull.sh — cold pull + unpack of one large multi-layer image from a local registry,
# berth against containerd (ctr pull, overlayfs snapshotter), podman (overlay storage) and
# skopeo (download + verify only, no unpack: the network floor), in rounds, in one run.
#
#   sudo bench/pull.sh                   # builds berthctl (Release, build-bench/) if needed
#   sudo BERTHCTL=/path/to/berthctl ROUNDS=5 bench/pull.sh
#
# The image (~700 MB unpacked, gzip layers) is made from directories of this machine
# (BENCH_DIRS), once, and cached as an OCI layout in $CACHE. Every round starts each tool
# from an empty store; tools are interleaved, each round starting with another one.
# Reported: wall time, CPU (user+sys, of the daemon too for containerd), peak RSS, and
# throughput against the machine's limits: sequential disk write speed and single-core
# inflate speed (zlib's gzip and ISA-L's igzip). Medians and ratios; never a pass/fail.
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-3}
# BERTHCTL_BASE: a second berthctl (say, built from the commit before a change) run as the
# tool "berth_base" beside berth, to measure what the change costs.
TOOLS=${TOOLS:-"berth${BERTHCTL_BASE:+ berth_base} containerd podman skopeo"}
BENCH_DIRS=${BENCH_DIRS:-"/usr/include /usr/lib/gcc /usr/share/locale /usr/share/doc"}
CACHE=${CACHE:-/var/tmp/berth-bench-pull}
WORK=$(mktemp -d /var/tmp/berth-bench-pull-work.XXXXXX)
OUT=${OUT:-/tmp/berth-bench-pull-results.$(date +%Y%m%d-%H%M%S).md}
PIDS=()

note() { printf '[pull-bench %s] %s\n' "$(date +%T)" "$*" >&2; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  # Stores may hold overlay mounts (containerd snapshots are mounted only while in use,
  # podman's are not mounted by pull): unmount anything left under WORK, then remove it.
  { grep -o " $WORK[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
  [ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

# --- tools ---------------------------------------------------------------------------------
need=""
for p in docker-registry:docker-registry skopeo:skopeo containerd:containerd podman:podman \
         igzip:isal time:time jq:jq; do
  command -v "${p%%:*}" >/dev/null || [ -x "/usr/bin/${p%%:*}" ] || need="$need ${p#*:}"
done
if [ -n "$need" ]; then
  note "installing$need"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
BERTHCTL=${BERTHCTL:-}
if [ -z "$BERTHCTL" ]; then
  note "building berthctl (Release) in $SRC_DIR/build-bench"
  cmake -S "$SRC_DIR" -B "$SRC_DIR/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DBERTH_TESTS=OFF >/dev/null
  ninja -C "$SRC_DIR/build-bench" berthctl >/dev/null
  BERTHCTL=$SRC_DIR/build-bench/berthctl
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

# --- the image -----------------------------------------------------------------------------
# One gzip layer per directory, plus busybox. Reproducible tars (sorted, mtime 0) so the
# cache key is stable.
build_image() {
  local lay=$CACHE/layout tmp blobs cfg_layers="" diffs="" i=0 d
  [ -f "$CACHE/done" ] && [ "$(cat "$CACHE/done")" = "$BENCH_DIRS" ] && return 0
  note "building the bench image from: $BENCH_DIRS (once; cached in $CACHE)"
  rm -rf "$CACHE"
  mkdir -p "$lay/blobs/sha256"
  blobs=$lay/blobs/sha256
  tmp=$CACHE/tmp
  mkdir -p "$tmp/base/bin"
  cp /bin/busybox "$tmp/base/bin/busybox"
  ln -s busybox "$tmp/base/bin/sh"
  local srcs=("$tmp/base" $BENCH_DIRS)
  for d in "${srcs[@]}"; do
    local t=$tmp/layer$i.tar
    if [ $i -eq 0 ]; then
      tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$d" -cf "$t" .
    else
      tar --sort=name --mtime=@0 -C / -cf "$t" "${d#/}"
    fi
    local diff gz size
    diff=$(sha256sum <"$t" | cut -d' ' -f1)
    gzip -6 -n <"$t" >"$t.gz"
    gz=$(sha256sum <"$t.gz" | cut -d' ' -f1)
    size=$(stat -c %s "$t.gz")
    mv "$t.gz" "$blobs/$gz"
    rm -f "$t"
    cfg_layers="$cfg_layers${cfg_layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$gz\",\"size\":$size}"
    diffs="$diffs${diffs:+,}\"sha256:$diff\""
    i=$((i + 1))
  done
  local cfg man cd cs md ms
  cfg="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diffs]}}"
  printf '%s' "$cfg" >"$tmp/cfg"
  cd=$(sha256sum <"$tmp/cfg" | cut -d' ' -f1); cs=$(stat -c %s "$tmp/cfg")
  mv "$tmp/cfg" "$blobs/$cd"
  man="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cd\",\"size\":$cs},\"layers\":[$cfg_layers]}"
  printf '%s' "$man" >"$tmp/man"
  md=$(sha256sum <"$tmp/man" | cut -d' ' -f1); ms=$(stat -c %s "$tmp/man")
  mv "$tmp/man" "$blobs/$md"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"1"}}]}' \
    "$md" "$ms" >"$lay/index.json"
  rm -rf "$tmp"
  echo "$BENCH_DIRS" >"$CACHE/done"
}
build_image
LAYERS=$(ls "$CACHE/layout/blobs/sha256" | wc -l)
COMPRESSED=$(du -sb "$CACHE/layout/blobs" | cut -f1)

# --- registry ------------------------------------------------------------------------------
PORT=$(free_port)
mkdir -p "$WORK/registry"
cat >"$WORK/registry/config.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/registry/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$PORT}
YML
/usr/bin/docker-registry serve "$WORK/registry/config.yml" >"$WORK/registry/log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/v2/" || { note "registry did not start"; cat "$WORK/registry/log"; exit 1; }
IMAGE=127.0.0.1:$PORT/bench/big:1
skopeo copy -q --dest-tls-verify=false "oci:$CACHE/layout:1" "docker://$IMAGE"
note "image $IMAGE: $((LAYERS - 2)) layers, $((COMPRESSED / 1000000)) MB compressed"

# --- measurements --------------------------------------------------------------------------
mkdir -p "$WORK/samples"
sample() { echo "$3" >>"$WORK/samples/$1.$2"; }  # METRIC TOOL VALUE
# timed TOOL CMD... — runs CMD under GNU time; records wall, cpu, rss.
timed() {
  local tool=$1
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$@" >"$WORK/$tool.out" 2>&1 ||
    { note "$tool failed:"; cat "$WORK/$tool.out" >&2; return 1; }
  read -r wall user sys rss <"$WORK/time"
  sample wall "$tool" "$wall"
  sample cpu "$tool" "$(echo "$user + $sys" | bc)"
  sample rss "$tool" "$rss"
}
proc_cpu() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }  # utime+stime, s (HZ=100)

run_berth() {
  rm -rf "$WORK/berth"
  sync
  timed berth "$BERTHCTL" --root "$WORK/berth" --insecure-registry "127.0.0.1:$PORT" pull -q "$IMAGE"
}

run_berth_base() {
  rm -rf "$WORK/berth_base"
  sync
  timed berth_base "$BERTHCTL_BASE" --root "$WORK/berth_base" --insecure-registry "127.0.0.1:$PORT" pull -q "$IMAGE"
  rm -rf "$WORK/berth_base"
}

run_containerd() {
  local d=$WORK/ctrd
  rm -rf "$d"
  mkdir -p "$d"
  cat >"$d/config.toml" <<TOML
version = 2
root = "$d/root"
state = "$d/state"
[grpc]
  address = "$d/sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
TOML
  containerd --config "$d/config.toml" >"$d/log" 2>&1 &
  local cpid=$!
  PIDS+=($cpid)
  for _ in $(seq 100); do [ -S "$d/sock" ] && ctr --address "$d/sock" version >/dev/null 2>&1 && break; sleep 0.1; done
  sync
  local c0 c1
  c0=$(proc_cpu $cpid)
  timed containerd ctr --address "$d/sock" -n bench images pull --plain-http "$IMAGE"
  c1=$(proc_cpu $cpid)
  # ctr is a thin client: the daemon does the work. CPU and RSS are the daemon's (+ ctr's).
  local last
  last=$(tail -n1 "$WORK/samples/cpu.containerd")
  sed -i '$d' "$WORK/samples/cpu.containerd"
  sample cpu containerd "$(echo "$last + $c1 - $c0" | bc)"
  local hwm
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$cpid/status")
  sed -i '$d' "$WORK/samples/rss.containerd"
  sample rss containerd "$hwm"
  kill $cpid
  wait $cpid 2>/dev/null || true
  { grep -o " $d[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf "$d"
}

run_podman() {
  local d=$WORK/podman
  rm -rf "$d"
  sync
  timed podman podman --root "$d/root" --runroot "$d/run" --storage-driver overlay \
    pull -q --tls-verify=false "$IMAGE"
  { grep -o " $d[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf "$d"
}

run_skopeo() {
  rm -rf "$WORK/skopeo"
  sync
  timed skopeo skopeo copy -q --src-tls-verify=false "docker://$IMAGE" "oci:$WORK/skopeo:1"
  rm -rf "$WORK/skopeo"
}

rotate() { local n=$1; shift; local a=("$@") i; for ((i = 0; i < ${#a[@]}; i++)); do echo -n "${a[$(((i + n) % ${#a[@]}))]} "; done; }
read -ra tools <<<"$TOOLS"
for ((r = 0; r < ROUNDS; r++)); do
  for t in $(rotate $r "${tools[@]}"); do
    note "round $((r + 1))/$ROUNDS: $t"
    "run_$t"
  done
done

# --- the machine's limits --------------------------------------------------------------------
note "measuring disk write and single-core inflate speed"
/usr/bin/time -f '%e' -o "$WORK/t" dd if=/dev/zero of="$WORK/dd" bs=1M count=1024 conv=fdatasync status=none
DISK=$(echo "scale=0; 1073.7 / $(cat "$WORK/t")" | bc)
rm -f "$WORK/dd"
UNCOMPRESSED=0
ZT=0; IT=0
for f in "$CACHE"/layout/blobs/sha256/*; do
  head -c2 "$f" | od -An -tx1 | grep -q '1f 8b' || continue
  n=$(gzip -dc "$f" | wc -c); UNCOMPRESSED=$((UNCOMPRESSED + n))
  /usr/bin/time -f '%e' -o "$WORK/t" sh -c "gzip -dc '$f' >/dev/null"; ZT=$(echo "$ZT + $(cat "$WORK/t")" | bc)
  /usr/bin/time -f '%e' -o "$WORK/t" sh -c "igzip -dc '$f' >/dev/null"; IT=$(echo "$IT + $(cat "$WORK/t")" | bc)
done
ZLIB=$(echo "scale=0; $UNCOMPRESSED / 1000000 / $ZT" | bc)
ISAL=$(echo "scale=0; $UNCOMPRESSED / 1000000 / $IT" | bc)

# --- report ----------------------------------------------------------------------------------
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
med() { median <"$WORK/samples/$1.$2"; }
{
  echo "Image: $((LAYERS - 2)) gzip layers, $((COMPRESSED / 1000000)) MB compressed, $((UNCOMPRESSED / 1000000)) MB unpacked; $ROUNDS rounds, load $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| tool | wall (s) | CPU (s) | peak RSS (MB) | wall / berth | unpacked MB/s |"
  echo "|---|---|---|---|---|---|"
  bw=$(med wall berth 2>/dev/null || echo 0)
  for t in "${tools[@]}"; do
    w=$(med wall "$t"); c=$(med cpu "$t"); m=$(med rss "$t")
    ratio=$( [ "$bw" != 0 ] && echo "scale=2; $w / $bw" | bc || echo -)
    echo "| $t | $w | $c | $(echo "scale=1; $m / 1024" | bc) | $ratio | $(echo "scale=0; $UNCOMPRESSED / 1000000 / $w" | bc) |"
  done
  echo
  echo "Machine limits: sequential write (dd, fdatasync) $DISK MB/s; single-core inflate zlib (gzip -d) $ZLIB MB/s, ISA-L (igzip -d) $ISAL MB/s (of unpacked bytes)."
  echo "skopeo only downloads and verifies (no unpack): it is the floor for fetching."
} | tee "$OUT"
note "results in $OUT"
