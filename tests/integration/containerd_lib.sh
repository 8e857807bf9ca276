#!/bin/bash
# Helpers for the tests that run a private containerd (test_containerd.sh,
# test_containerd_cri.sh, test_containerd_cri_cni.sh). Sourced after lib.sh.

# oci_archive ROOTFS OUT NAME [CONFIG] — an OCI image archive built by hand, for
# `ctr images import`: one uncompressed layer with ROOTFS, named NAME. CONFIG is the image
# config's "config" object (default: a PATH and Cmd ["sh"]).
oci_archive() {
  local config=${4:-'{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]}'}
  local d ld ls cd cs md ms
  d=$(mktemp -d "$TEST_DIR/oci.XXXXXX") || return 1
  mkdir -p "$d/blobs/sha256"
  tar -C "$1" --numeric-owner -cf "$d/layer" . || return 1
  ld=$(sha256sum <"$d/layer" | cut -d' ' -f1) ls=$(stat -c %s "$d/layer")
  mv "$d/layer" "$d/blobs/sha256/$ld"
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$config" "$ld" >"$d/config"
  cd=$(sha256sum <"$d/config" | cut -d' ' -f1) cs=$(stat -c %s "$d/config")
  mv "$d/config" "$d/blobs/sha256/$cd"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cd" "$cs" "$ld" "$ls" >"$d/manifest"
  md=$(sha256sum <"$d/manifest" | cut -d' ' -f1) ms=$(stat -c %s "$d/manifest")
  mv "$d/manifest" "$d/blobs/sha256/$md"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s"}}]}' \
    "$md" "$ms" "$3" >"$d/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
  tar -C "$d" -cf "$2" oci-layout index.json blobs && rm -rf "$d"
}

# stop_containerd PID SOCKET — SIGTERM, then SIGKILL after 5 s; then the shims whose
# -address is SOCKET (only this containerd's: other containerds on the host keep theirs).
stop_containerd() {
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  pkill -KILL -f "containerd-shim-runc-v2 .*-address $2" 2>/dev/null
}

# --- a private containerd with the CRI plugin, driven by berthctl -----------------------
# cri_init NAME — checks the tools and sets what the CRI tests share: CD (containerd's
# config, root, state and sockets, under $TEST_DIR), SOCK, ENDPOINT, BERTH_ROOT (the
# runtime's Root option; the shim adds /k8s.io: STATE_NS), CG_PARENT (the pods'
# cgroup_parent, this test's own), IMAGE and PAUSE, CNI_BIN_DIR and CNI_CONF_DIR. Registers
# cri_cleanup, which also deletes the network namespace $CRI_NETNS if a test sets it.
cri_init() {
  local tool
  for tool in containerd ctr containerd-shim-runc-v2; do
    command -v "$tool" >/dev/null || die "$tool is not installed (run scripts/install-deps.sh)"
  done
  BERTH_BUILD_DIR=${BERTH_BUILD_DIR:-$(dirname "$(readlink -f "$BERTH")")}
  BERTHCTL=${BERTHCTL:-$BERTH_BUILD_DIR/berthctl}
  [ -x "$BERTHCTL" ] || die "berthctl not found at $BERTHCTL (build it, or set BERTHCTL)"
  CD=$TEST_DIR/containerd
  SOCK=$CD/containerd.sock
  ENDPOINT=unix://$SOCK
  BERTH_ROOT=$TEST_DIR/berth-root
  STATE_NS=$BERTH_ROOT/k8s.io
  CG_PARENT=berth-$1-it-$$
  IMAGE=localhost/berth-busybox:cri-test
  PAUSE=localhost/berth-pause:cri-test
  CNI_BIN_DIR=$TEST_DIR/cni/bin
  CNI_CONF_DIR=$TEST_DIR/cni/conf
  CONTAINERD_PID=""
  CRI_NETNS=""
  CTR=(ctr --address "$SOCK" --namespace k8s.io)
  mkdir -p "$CD" "$CNI_BIN_DIR" "$CNI_CONF_DIR" "$TEST_DIR/logs"
  on_exit cri_cleanup
}
c() { timeout -k 5 60 "${CTR[@]}" "$@"; }
b() { timeout -k 5 60 "$BERTHCTL" --runtime-endpoint "$ENDPOINT" --timeout 30 "$@"; }

# cri_config [TOML] — writes $CD/config.toml: the CRI plugin with the default runtime class
# "berth" (BinaryName $BERTH, Root $BERTH_ROOT, cgroupfs); TOML is added to the plugin's
# own table (keys only: it comes before the subtables).
cri_config() {
  cat >"$CD/config.toml" <<TOML
version = 2
root = "$CD/root"
state = "$CD/state"
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$CD/containerd-ttrpc.sock"
[debug]
  level = "debug"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CD/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
${1:-}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CNI_CONF_DIR"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "berth"
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth.options]
        BinaryName = "$BERTH"
        Root = "$BERTH_ROOT"
        SystemdCgroup = false
TOML
}

# cri_start [WRAPPER...] — starts containerd with $CD/config.toml, through WRAPPER if given
# (e.g. `nsenter --net=...`; it must exec containerd, so that $! is containerd's pid), and
# waits until its CRI plugin answers. Sets CONTAINERD_PID.
cri_start() {
  "$@" containerd --config "$CD/config.toml" >"$CD/containerd.log" 2>&1 &
  CONTAINERD_PID=$!
  wait_until 20 "$BERTHCTL" -r "$ENDPOINT" --timeout 2 version ||
    die "containerd's CRI plugin did not answer: $(tail -n 20 "$CD/containerd.log")"
  pass "private containerd with the CRI plugin is up (pid $CONTAINERD_PID)"
}

cri_cleanup() {
  local id
  if [ -n "$CONTAINERD_PID" ]; then
    for id in $(timeout 10 "$BERTHCTL" -r "$ENDPOINT" pods -q 2>/dev/null); do
      timeout 30 "$BERTHCTL" -r "$ENDPOINT" rmp -f "$id" >/dev/null 2>&1
    done
  fi
  stop_containerd "$CONTAINERD_PID" "$SOCK"
  for id in $(ls "$STATE_NS" 2>/dev/null); do
    "$BERTH" --root "$STATE_NS" delete --force "$id" >/dev/null 2>&1
  done
  # The pods' parent cgroup (the runtime creates it and, like runc, leaves it), deepest first.
  find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -depth -type d -path "*/$CG_PARENT*" \
    -exec rmdir {} + 2>/dev/null
  umount -R "$CD/root" 2>/dev/null
  # Deleting the name frees the namespace (its bridge and veths with it) once containerd,
  # the last process in it, has gone.
  [ -n "$CRI_NETNS" ] && ip netns delete "$CRI_NETNS" 2>/dev/null
}

# shim_says — the last errors containerd logged, for failure messages.
shim_says() { grep -a 'level=error' "$CD/containerd.log" | tail -n 5 | cut -c1-400; }

# cri_images — a pause image and a busybox image, built by hand and imported into k8s.io.
cri_images() {
  local rootfs out tar
  rootfs=$(make_bundle true)/rootfs
  # The sandbox's only process: waits for SIGTERM and exits at once (as pid 1 it would
  # otherwise ignore SIGTERM, the default action does not apply to a namespace's init).
  cat >"$rootfs/pause" <<'SH'
#!/bin/sh
trap 'exit 0' TERM INT
sleep 2147483647 &
wait
SH
  chmod 755 "$rootfs/pause"
  oci_archive "$rootfs" "$TEST_DIR/pause.tar" "$PAUSE" '{"Entrypoint":["/pause"]}' ||
    die "building the pause image failed"
  oci_archive "$rootfs" "$TEST_DIR/busybox.tar" "$IMAGE" ||
    die "building the busybox image failed"
  rm -rf "$(dirname "$rootfs")"
  for tar in pause busybox; do
    out=$(c images import "$TEST_DIR/$tar.tar" 2>&1) || die "ctr images import $tar failed: $out"
  done
  out=$(b img ls 2>&1)
  assert_match "$out" "localhost/berth-pause +cri-test" "img ls (ImageService) lists the pause image"
  assert_match "$out" "localhost/berth-busybox +cri-test" "img ls lists the busybox image"
}

# pod_json NAME [NETWORK] — a PodSandboxConfig in protobuf JSON (crictl's format) under
# $CG_PARENT; NETWORK is the pod's network namespace mode: NODE (host network, the default)
# or POD (its own namespace, set up by CNI).
pod_json() {
  mkdir -p "$TEST_DIR/logs/$1"
  cat <<JSON
{
  "metadata": {"name": "$1", "namespace": "berth-it", "uid": "uid-$1-$$", "attempt": 0},
  "log_directory": "$TEST_DIR/logs/$1",
  "linux": {
    "cgroup_parent": "/$CG_PARENT",
    "security_context": {"namespace_options": {"network": "${2:-NODE}"}}
  }
}
JSON
}
# ctr_json NAME LOG SCRIPT — a ContainerConfig running `sh -c SCRIPT`.
ctr_json() {
  jq -n --arg n "$1" --arg log "$2" --arg img "$IMAGE" --arg script "$3" \
    '{metadata: {name: $n}, image: {image: $img}, command: ["sh", "-c", $script], log_path: $log}'
}

# cri_assert_pods_gone — after the last rmp: no pod, berth state, container cgroup, rootfs
# or shm mount, or shim of this containerd is left.
cri_assert_pods_gone() {
  assert_eq "" "$(b pods -q 2>&1)" "no pod left"
  assert_eq "" "$(ls -A "$STATE_NS" 2>/dev/null)" "no berth state left under $STATE_NS"
  assert_eq "" "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/$CG_PARENT/*" 2>/dev/null)" \
    "no container cgroup left under /$CG_PARENT"
  assert_eq "" "$(awk -v d="$CD/state" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo)" \
    "no rootfs, shm or netns mount left under containerd's state"
  assert_eq "" "$(pgrep -f "containerd-shim-runc-v2 .*-address $SOCK" | tr '\n' ' ')" "no shim left"
}

# cri_stop_and_check ID... — stops containerd by its pid and checks that it, its shims and
# the fifos of the pods and containers ID... are gone; prints the errors containerd logged.
cri_stop_and_check() {
  stop_containerd "$CONTAINERD_PID" "$SOCK"
  kill -0 "$CONTAINERD_PID" 2>/dev/null && fail "containerd $CONTAINERD_PID still runs" ||
    pass "containerd (pid $CONTAINERD_PID) stopped"
  assert_eq "" "$(pgrep -f "containerd-shim-runc-v2 .*-address $SOCK" | tr '\n' ' ')" "no shim of this containerd left"
  local pats=() id
  for id in "$@"; do pats+=(-e "$id"); done
  assert_eq "" "$(ls /run/containerd/fifo 2>/dev/null | grep -F "${pats[@]}")" \
    "no fifo of ours left in /run/containerd/fifo"
  if grep -aq 'level=error' "$CD/containerd.log"; then
    echo "NOTE   containerd logged errors:"
    grep -a 'level=error' "$CD/containerd.log" | cut -c1-300 | sed -n '1,10s/^/         | /p'
  fi
}
