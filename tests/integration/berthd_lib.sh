#!/bin/bash
# A private berthd for the tests that drive it through berthctl's CRI commands
# (test_berthd*.sh). Sourced after lib.sh and registry_lib.sh.
#
#   berthd_init NAME      sets BD (root, state, socket, logs under $TEST_DIR), SOCK, ENDPOINT,
#                         CG_PARENT (the pods' cgroup parent, this test's own), BERTHD, BERTHCTL,
#                         and registers berthd_cleanup
#   berthd_start [ARGS]   starts berthd on them (BERTHD_PID), waits until it serves; through
#                         the command in the array BERTHD_WRAP when set (e.g. nsenter --net=…);
#                         with the config file BERTHD_CONFIG when set (else none: /dev/null)
#   berthd_kill9          SIGKILL, as a crash; its shims and containers keep running
#   berthd_stop           SIGTERM, waits (containers keep running)
#   berthd_image          a busybox image pushed to a local registry: IMAGE (its reference)
#   pod_json NAME [NETWORK]  a PodSandboxConfig (crictl's JSON) under $CG_PARENT
#   ctr_json NAME LOG SCRIPT  a ContainerConfig running `sh -c SCRIPT` in $IMAGE
#   b ARGS                berthctl against this berthd
#   ctr_state_is ID STATE  the container's state is STATE (for wait_until)
#   shims_of_berthd       pids of the berth-shims whose --address is this berthd's
#   berthd_cni_node NAME  berthd (when started) in a network namespace of the test's with a
#                         bridge + host-local + portmap chain: NETNS, IPAM_DIR, BERTHD_WRAP;
#                         the image from berthd_image; berthd_pull_into_store after the start
#   berthd_on_cni_node NAME  all of that for a test driving berthd with berth-cri-bench
#                         (CRI_BENCH): berthd_init, berthd_cni_node, started, image pulled
#   berthd_assert_no_leftovers [NETNS IPAM_DIR]  nothing of this berthd's is left
#   stream_leak_baseline SHIM    records berthd's fds and threads and SHIM's fds (streaming tests)
#   assert_no_stream_leaks       no berthctl or runtime exec process runs; the counts are back

berthd_init() {
  BERTH_BUILD_DIR=${BERTH_BUILD_DIR:-$(dirname "$(readlink -f "$BERTH")")}
  BERTHCTL=${BERTHCTL:-$BERTH_BUILD_DIR/berthctl}
  BERTHD=${BERTHD:-$BERTH_BUILD_DIR/berthd}
  for f in "$BERTHCTL" "$BERTHD" "$BERTH_BUILD_DIR/berth-shim"; do
    [ -x "$f" ] || die "$f not found (build it)"
  done
  BD=$TEST_DIR/berthd
  SOCK=$BD/berth.sock
  ENDPOINT=unix://$SOCK
  CG_PARENT=berth-$1-it-$$
  BERTHD_PID=""
  mkdir -p "$BD/root" "$BD/state" "$BD/cni" "$TEST_DIR/logs"
  on_exit berthd_cleanup
}

b() { timeout -k 5 60 "$BERTHCTL" --config /dev/null --runtime-endpoint "$ENDPOINT" --timeout 30 "$@"; }

berthd_start() {
  local before
  before=$(grep -c "berthd serving" "$BD/berthd.log" 2>/dev/null)
  # The berth next to berthd is the default handler; berth-shim is found beside berthd too.
  ${BERTHD_WRAP[@]+"${BERTHD_WRAP[@]}"} "$BERTHD" --config "${BERTHD_CONFIG:-/dev/null}" --listen "$ENDPOINT" --root "$BD/root" --state "$BD/state" \
    --cni-conf-dir "$BD/cni" --log-level debug "$@" >>"$BD/berthd.log" 2>&1 &
  BERTHD_PID=$!
  track_pid "$BERTHD_PID"
  local i n
  for i in $(seq 100); do
    n=$(grep -c "berthd serving" "$BD/berthd.log" 2>/dev/null)
    [ "${n:-0}" -gt "${before:-0}" ] && [ -S "$SOCK" ] && return 0
    kill -0 "$BERTHD_PID" 2>/dev/null || die "berthd exited: $(tail -n 20 "$BD/berthd.log")"
    sleep 0.1
  done
  die "berthd did not serve in 10 s: $(tail -n 20 "$BD/berthd.log")"
}

berthd_kill9() {
  kill -KILL "$BERTHD_PID" 2>/dev/null
  wait "$BERTHD_PID" 2>/dev/null
  BERTHD_PID=""
}

berthd_stop() {
  [ -n "$BERTHD_PID" ] || return 0
  kill -TERM "$BERTHD_PID" 2>/dev/null
  local i
  for i in $(seq 50); do kill -0 "$BERTHD_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$BERTHD_PID" 2>/dev/null
  wait "$BERTHD_PID" 2>/dev/null
  BERTHD_PID=""
}

ctr_state_is() { [ "$(b inspectc "$1" 2>/dev/null | jq -r .status.state)" = "$2" ]; }
shims_of_berthd() { pgrep -f "berth-shim .*--address $ENDPOINT" | tr '\n' ' ' | sed 's/ $//'; }

# The streaming tests' leak check: a baseline taken with one pod's shim and berthd idle, compared
# once the test's sessions are over (and the pods it added removed).
count_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
count_threads() { ls "/proc/$1/task" 2>/dev/null | wc -l; }
stream_leak_baseline() {
  LEAK_SHIM=$1
  FD0=$(count_fds "$BERTHD_PID") TH0=$(count_threads "$BERTHD_PID") SFD0=$(count_fds "$LEAK_SHIM")
}
assert_no_stream_leaks() {
  assert_eq "" "$(pgrep -f "^$BERTHCTL " | tr '\n' ' ')" "no berthctl runs"
  assert_eq "" "$(pgrep -f "exec --detach --process .*$BD/" | tr '\n' ' ')" "no runtime exec process runs"
  wait_until 20 sh -c "[ \$(ls /proc/$BERTHD_PID/fd | wc -l) -le $FD0 ]"
  assert_eq "$FD0" "$(count_fds "$BERTHD_PID")" "berthd's open fds are back to where they were"
  wait_until 20 sh -c "[ \$(ls /proc/$BERTHD_PID/task | wc -l) -le $TH0 ]"
  assert_eq "$TH0" "$(count_threads "$BERTHD_PID")" "berthd's threads are back to where they were"
  wait_until 20 sh -c "[ \$(ls /proc/$LEAK_SHIM/fd | wc -l) -le $SFD0 ]"
  assert_eq "$SFD0" "$(count_fds "$LEAK_SHIM")" "the shim's fds (stream connections) are back to where they were"
}

# Everything this berthd made: pods removed through the API first where possible, then
# by force (shims by pid, mounts under its state, its cgroups).
berthd_cleanup() {
  if [ -n "$BERTHD_PID" ] && kill -0 "$BERTHD_PID" 2>/dev/null; then
    local p
    for p in $(b pods -q 2>/dev/null); do b rmp -f "$p" >/dev/null 2>&1; done
  fi
  berthd_stop
  local pid
  for pid in $(shims_of_berthd) $(pgrep -f "berth-shim pause $BD/"); do kill -KILL "$pid" 2>/dev/null; done
  # Containers the shims ran: their runtime state is under the berthd's state dir.
  local root id
  for root in "$BD"/state/runtime/*/*; do
    [ -d "$root" ] || continue
    for id in $("$BERTH" --root "$root" list -q 2>/dev/null); do
      "$BERTH" --root "$root" delete -f "$id" >/dev/null 2>&1
    done
  done
  awk -v d="$BD/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null; done
  find /sys/fs/cgroup -depth -type d -name "$CG_PARENT" 2>/dev/null |
    while read -r d; do find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
}

# berthd_image — busybox (static) as a one-layer image in a local registry: IMAGE.
berthd_image() {
  start_registry bd none
  local L=$TEST_DIR/bd-layout cfg
  busybox_rootfs "$TEST_DIR/bd-rootfs"
  oci_init "$L"
  oci_layer "$L" gzip "$TEST_DIR/bd-rootfs"
  cfg=$(image_config "$HOST_ARCH" "[\"$LAYER_DIFF_ID\"]" \
    '{"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "StopSignal": "SIGTERM"}')
  oci_manifest "$L" "$cfg" "$LAYER_DESC"
  IMAGE_CONFIG=$CONFIG_DIGEST
  push_raw "$L" "$MANIFEST_DIGEST" "$REG_BD/test/busybox:v1"
  IMAGE=$REG_BD/test/busybox:v1
}

pod_json() {
  mkdir -p "$TEST_DIR/logs/$1"
  cat <<JSON
{
  "metadata": {"name": "$1", "namespace": "berth-it", "uid": "uid-$1-$$", "attempt": 0},
  "hostname": "$1-host",
  "log_directory": "$TEST_DIR/logs/$1",
  "labels": {"app": "$1"},
  "linux": {
    "cgroup_parent": "/$CG_PARENT",
    "security_context": {"namespace_options": {"network": "${2:-NODE}"}}
  }
}
JSON
}

ctr_json() {
  jq -n --arg n "$1" --arg log "$2" --arg img "$IMAGE" --arg script "$3" \
    '{metadata: {name: $n}, image: {image: $img}, command: ["sh", "-c", $script], log_path: $log,
      labels: {ctr: $n}}'
}

# berthctl reads crictl's config (/etc/crictl.yaml unless CRI_CONFIG_FILE or --crictl-config
# says otherwise): these tests never depend on the machine's.
export CRI_CONFIG_FILE=/dev/null

# berthd_push_image ROOTFS CONFIG_SECTION_JSON REF [USER:PASS] — ROOTFS as a one-layer gzip
# image (CONFIG_SECTION_JSON is the config's "config" object) pushed byte for byte to REF
# (HOST/REPO:TAG, plain HTTP). Sets PUSHED_CONFIG (the image id) and PUSHED_MANIFEST.
berthd_push_image() {
  local L=$TEST_DIR/push-layout cfg
  oci_init "$L"
  oci_layer "$L" gzip "$1"
  cfg=$(image_config "$HOST_ARCH" "[\"$LAYER_DIFF_ID\"]" "$2")
  oci_manifest "$L" "$cfg" "$LAYER_DESC"
  push_raw "$L" "$MANIFEST_DIGEST" "$3" ${4:+"$4"}
  PUSHED_CONFIG=$CONFIG_DIGEST PUSHED_MANIFEST=$MANIFEST_DIGEST
}

# cri_call SERVICE METHOD [TEXT] — one CRI call to this berthd with curl (HTTP/2 over the
# unix socket) and protoc (the request in protobuf text format, the response printed the
# same way): for request fields berthctl does not send (a ListImages filter, a PullImage
# sandbox_config). SERVICE is RuntimeService or ImageService. On a gRPC error prints
# "grpc-status CODE: MESSAGE" (CODE as a number) and returns 1.
cri_call() {
  local svc=$1 method=$2 text=${3:-} d=$TEST_DIR/.cri-call proto_dir=$BERTH_SOURCE_DIR/proto len
  mkdir -p "$d"
  printf '%s' "$text" | protoc -I "$proto_dir" --encode="runtime.v1.${method}Request" \
    cri/v1/api.proto >"$d/msg" || { echo "cri_call: protoc cannot encode: $text"; return 1; }
  len=$(stat -c %s "$d/msg")
  # gRPC's length-prefixed message: no compression, a 4-byte big-endian length.
  { printf '\x00'; printf "\\x$(printf %02x $((len >> 24 & 255)))\\x$(printf %02x $((len >> 16 & 255)))"
    printf "\\x$(printf %02x $((len >> 8 & 255)))\\x$(printf %02x $((len & 255)))"
    cat "$d/msg"; } >"$d/req"
  curl -s -m 60 --http2-prior-knowledge --unix-socket "$SOCK" -D "$d/headers" -o "$d/resp" \
    -H 'content-type: application/grpc' -H 'te: trailers' --data-binary "@$d/req" \
    "http://localhost/runtime.v1.$svc/$method" || { echo "cri_call: curl failed"; return 1; }
  local status
  status=$(tr -d '\r' <"$d/headers" | sed -n 's/^grpc-status: *//p' | tail -n1)
  if [ "${status:-0}" != 0 ]; then
    echo "grpc-status $status: $(tr -d '\r' <"$d/headers" | sed -n 's/^grpc-message: *//p' | tail -n1)"
    return 1
  fi
  tail -c +6 "$d/resp" | protoc -I "$proto_dir" --decode="runtime.v1.${method}Response" cri/v1/api.proto
}

# berthd_assert_no_leftovers [NODE_NETNS IPAM_DIR] — once every pod is removed, nothing of
# this berthd's is left: no pod or container listed, shim, PID namespace holder, mount under
# $BD (rootfs, shm, pinned namespaces), record, container cgroup, runtime state, pod, shim
# or bundle directory, cached CNI result; given the node's network namespace and the
# host-local data dir, also no veth in it and no address reserved.
berthd_assert_no_leftovers() {
  assert_eq "" "$(b pods -q 2>&1)" "no pod left"
  assert_eq "" "$(b ps -a -q 2>&1)" "no container left"
  assert_eq "" "$(shims_of_berthd)" "no shim left"
  assert_eq "" "$(pgrep -f "berth-shim pause $BD/")" "no PID namespace holder left"
  # (A test's own mount on berthd's root or state, e.g. a small tmpfs, is not berthd's.)
  assert_eq "" "$(awk -v d="$BD/" 'index($5, d) == 1 && $5 != d "root" && $5 != d "state" {print $5}' /proc/self/mountinfo)" \
    "no mount left under berthd's dirs (rootfs, shm, namespaces)"
  assert_eq "" "$(find "$BD"/root/meta -name '*.json' 2>/dev/null)" "no record left"
  assert_eq "" "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/$CG_PARENT/*" 2>/dev/null)" \
    "no container cgroup left"
  local root ids=""
  for root in "$BD"/state/runtime/*/*; do
    [ -d "$root" ] && ids+=$("$BERTH" --root "$root" list -q 2>/dev/null)
  done
  assert_eq "" "$ids" "no runtime state left"
  assert_eq "" "$(find "$BD"/state/pods "$BD"/state/bundles -mindepth 2 -maxdepth 2 2>/dev/null;
    find "$BD"/state/shims -mindepth 1 -maxdepth 1 2>/dev/null)" "no pod, bundle or shim dir left"
  assert_eq "" "$(ls "$BD/root/cni/results" 2>/dev/null)" "no cached CNI result left"
  [ $# -ge 2 ] || return 0
  assert_eq "" "$(ip -n "$1" -o link show type veth 2>&1)" "no veth left in the node"
  assert_eq "" "$(find "$2" -type f -regex '.*/[0-9.]+' 2>/dev/null)" "host-local reserved no address"
}

# berthd_cni_node NAME — see the top. The bridge, veths and iptables rules exist only in
# NETNS; the pods get no route out.
berthd_cni_node() {
  local plugin
  for plugin in bridge host-local portmap loopback; do
    [ -x "/usr/lib/cni/$plugin" ] ||
      die "/usr/lib/cni/$plugin not found: install containernetworking-plugins (scripts/install-deps.sh)"
  done
  NETNS=berth-it-$1-$$
  IPAM_DIR=$TEST_DIR/ipam
  ip netns add "$NETNS" || die "ip netns add $NETNS failed"
  on_exit "ip netns delete $NETNS"
  ip -n "$NETNS" link set lo up
  cat >"$BD/cni/10-test.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "berth-it-$1",
  "plugins": [
    {"type": "bridge", "bridge": "${1:0:10}0", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "dataDir": "$IPAM_DIR",
              "ranges": [[{"subnet": "10.67.$((RANDOM % 200 + 20)).0/24"}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
  ]
}
JSON
  berthd_image
  BERTHD_WRAP=(nsenter --net=/run/netns/"$NETNS")
}
# berthd cannot reach the registry on the host's 127.0.0.1 from the node namespace: the
# image goes into its store with berthctl's own pull (the same store layout and locks).
berthd_pull_into_store() {
  local out
  out=$("$BERTHCTL" --config /dev/null --root "$BD/root/images" --insecure-registry "$REG_BD" pull -q "$IMAGE" 2>&1) ||
    die "berthctl pull into berthd's store failed: $out"
}

berthd_on_cni_node() {
  require_tools jq skopeo docker-registry ip nsenter iptables
  CRI_BENCH=${BERTH_BUILD_DIR:-$(dirname "$(readlink -f "$BERTH")")}/tests/berth-cri-bench
  [ -x "$CRI_BENCH" ] || die "$CRI_BENCH not found (ninja berth-cri-bench)"
  berthd_init "$1"
  berthd_cni_node "$1"
  berthd_start --insecure-registry "$REG_BD"
  berthd_pull_into_store
}
