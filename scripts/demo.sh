#!/bin/bash
# demo.sh — installs the dependencies, builds berth, and runs one busybox container that
# shows it is isolated (pid 1, its own hostname, uid 0, only a loopback interface), then
# deletes the container and its bundle. Then the image path: it makes a busybox OCI image,
# pushes it to a local registry (Debian's docker-registry on 127.0.0.1, started here and
# stopped by PID), pulls it with berthctl and runs it. Then the stack: berthd (the CRI daemon)
# on temporary dirs pulls the image through the CRI ImageService, runs a pod on a CNI bridge
# network of the demo's own (bridge berthdemo0, no gateway: the host's routes and forwarding
# are not touched) with a container, prints its IP and logs, is killed with SIGKILL and
# started again — the container still runs — and everything is removed.
# Run as root: `sudo scripts/demo.sh`.
#
# BERTH=/path/to/runtime skips the build and demos that runtime instead (e.g. runc).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: running a container needs root (namespaces, cgroups, mounts): sudo $0" >&2
  exit 1
fi

scripts/install-deps.sh
if [ -z "${BERTH:-}" ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C build -j2 berth berthctl berthd berth-shim
  BERTH=$PWD/build/berth
fi
BERTHCTL=${BERTHCTL:-$(dirname "$BERTH")/berthctl}
export BERTH

work=$(mktemp -d /tmp/berth-demo.XXXXXX)
id=demo-$$
registry_pid=""
berthd_pid=""
BERTHD=$(dirname "$BERTH")/berthd
SOCK=unix://$work/berthd.sock
cleanup() {
  "$BERTH" --root "$work/state" delete --force "$id" >/dev/null 2>&1 || true
  if [ -n "$berthd_pid" ]; then
    for p in $(B pods -q 2>/dev/null); do B rmp -f "$p" >/dev/null 2>&1 || true; done
    kill "$berthd_pid" 2>/dev/null || true
    wait "$berthd_pid" 2>/dev/null || true
  fi
  for p in $(pgrep -f "berth-shim .*--address $SOCK" || true); do kill -KILL "$p" 2>/dev/null || true; done
  ip link del berthdemo0 2>/dev/null || true
  if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  { grep -o " $work[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$work"
}
B() { "$BERTHCTL" --config /dev/null --runtime-endpoint "$SOCK" "$@"; }
trap cleanup EXIT

BUNDLE_JQ='.hostname = "berth-demo"' scripts/make-bundle.sh "$work/bundle" sh -c '
  echo "hello from berth: pid $$ on $(hostname)"
  echo "user:       $(id)"
  echo "interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\n" " ")"
  echo "processes:  $(ls -d /proc/[0-9]* | wc -l) visible"
  echo "root fs:    $(touch /x 2>&1 || true)"'

echo "--- $BERTH run $id"
"$BERTH" --root "$work/state" run --bundle "$work/bundle" "$id" </dev/null
echo "--- container exited; $("$BERTH" --root "$work/state" list -q | wc -l) containers left in $work/state"

[ -x "$BERTHCTL" ] || { echo "(no berthctl at $BERTHCTL: image demo skipped)"; exit 0; }
echo
echo "--- image: build a busybox OCI image, push it to a local registry, pull and run it"
# One gzip layer (the bundle's busybox rootfs), a config with a Cmd, a manifest.
lay=$work/layout
mkdir -p "$lay/blobs/sha256"
blob() {  # FILE -> moves it into the layout, prints "digest size"
  local d s
  d=$(sha256sum <"$1" | cut -d' ' -f1); s=$(stat -c %s "$1")
  mv "$1" "$lay/blobs/sha256/$d"
  echo "sha256:$d $s"
}
tar --sort=name --owner=0 --group=0 -C "$work/bundle/rootfs" -cf "$work/layer.tar" .
diff_id=sha256:$(sha256sum <"$work/layer.tar" | cut -d' ' -f1)
gzip -n "$work/layer.tar"
read -r ldig lsize < <(blob "$work/layer.tar.gz")
jq -n --arg diff "$diff_id" '{architecture: "amd64", os: "linux",
  config: {Cmd: ["sh", "-c", "echo hello from an image pulled by berthctl: $(cat /etc/os-release 2>/dev/null || echo busybox $(busybox | head -n1 | cut -d\" \" -f2))"],
           Env: ["PATH=/bin"]}, rootfs: {type: "layers", diff_ids: [$diff]}}' >"$work/config.json"
read -r cdig csize < <(blob "$work/config.json")
jq -n --arg c "$cdig" --argjson cs "$csize" --arg l "$ldig" --argjson ls "$lsize" '{schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
  layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls}]}' >"$work/manifest.json"
read -r mdig msize < <(blob "$work/manifest.json")
echo '{"imageLayoutVersion": "1.0.0"}' >"$lay/oci-layout"
jq -n --arg m "$mdig" --argjson ms "$msize" '{schemaVersion: 2, manifests: [{mediaType:
  "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
  annotations: {"org.opencontainers.image.ref.name": "demo"}}]}' >"$lay/index.json"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$port}
YML
/usr/bin/docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
image=127.0.0.1:$port/demo/busybox:1
skopeo copy -q --dest-tls-verify=false "oci:$lay:demo" "docker://$image"
ctl() { "$BERTHCTL" --root "$work/images" --hosts-dir "$work/no-hosts" --insecure-registry "127.0.0.1:$port" "$@"; }
echo "--- berthctl pull $image"
ctl pull "$image"
echo "--- berthctl images"
ctl images
echo "--- berthctl run --local --rm $image   (no daemon: image -> bundle -> berth)"
ctl run --local --rm --runtime "$BERTH" "$image"

echo
echo "--- berthd: the CRI daemon, on $work/berthd"
mkdir -p "$work/cni" "$work/logs/demo"
cat >"$work/cni/10-demo.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "berth-demo", "plugins": [
  {"type": "bridge", "bridge": "berthdemo0", "isGateway": false, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$work/ipam", "ranges": [[{"subnet": "10.86.254.0/24"}]]}}]}
JSON
start_berthd() {
  "$BERTHD" --config /dev/null --listen "$SOCK" --root "$work/berthd/root" --state "$work/berthd/state" \
    --cni-conf-dir "$work/cni" --insecure-registry "127.0.0.1:$port" >>"$work/berthd.log" 2>&1 &
  berthd_pid=$!
  for _ in $(seq 100); do B version >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "berthd did not start:" >&2; tail "$work/berthd.log" >&2; exit 1
}
start_berthd
echo "--- berthctl img pull $image   (CRI PullImage)"
B img pull "$image"
cat >"$work/pod.json" <<JSON
{"metadata": {"name": "demo", "namespace": "default", "uid": "demo-$$", "attempt": 0},
 "hostname": "demo-pod", "log_directory": "$work/logs/demo"}
JSON
jq -n --arg img "$image" '{metadata: {name: "hello"}, image: {image: $img}, log_path: "hello.log",
  command: ["sh", "-c", "echo \"hello from $(hostname), eth0 $(ip -o -4 addr show eth0 | awk \u0027{print $4}\u0027)\"; exec sleep 3600"]}' \
  >"$work/ctr.json"
echo "--- berthctl runp, create, start   (RunPodSandbox on the CNI network, CreateContainer, StartContainer)"
pod=$(B runp "$work/pod.json")
ctr=$(B create "$pod" "$work/ctr.json" "$work/pod.json")
B start "$ctr" >/dev/null
echo "pod $pod, IP $(B inspectp "$pod" | jq -r .status.network.ip)"
sleep 0.5
echo "--- berthctl logs $ctr"
B logs "$ctr"
echo "--- ps -ef: berthd -> berth-shim -> the container"
ps -o pid,args -p "$berthd_pid" -p "$(pgrep -f "berth-shim .*--address $SOCK" | head -n1)" | cut -c1-150
echo "--- kill -9 berthd ($berthd_pid), then start it again"
kill -KILL "$berthd_pid"; wait "$berthd_pid" 2>/dev/null || true
start_berthd
grep -o 'recovered[^"]*' "$work/berthd.log" | tail -n1
B ps
echo "exec after the restart: $(B exec "$ctr" echo the container kept running)"
echo "--- berthctl stopp, rmp"
B stopp "$pod" && B rmp "$pod"
