#!/bin/bash
# berthd, the CRI v1 daemon, driven by berthctl's crictl-style commands over gRPC: version,
# info, image pull from a local registry, pods (host network and own namespaces), containers
# (create, start, logs, exec, inspect, stop, remove), the errors kubelet can get (unknown
# ids, a missing image, a taken name), kubelet's retry of the same request, and kill -9 of
# berthd with a running container and one that exits while berthd is down. At the end no
# pod, shim, mount, cgroup or runtime state of this test is left.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthd_lib.sh"
require_root
require_tools jq skopeo docker-registry runc crun

berthd_init bd
berthd_image
HANDLERS=(--runtime runc="$(command -v runc)" --runtime crun="$(command -v crun)")
berthd_start --insecure-registry "$REG_BD" "${HANDLERS[@]}"

section "version, info"
out=$(b version 2>&1)
assert_contains "$out" "RuntimeName:  berth" "version: the runtime is berth"
assert_match "$out" 'RuntimeApiVersion: +v1' "version: CRI API v1"
out=$(b info 2>&1)
assert_eq true "$(jq -r '.status.conditions[] | select(.type == "RuntimeReady") | .status' <<<"$out")" \
  "info: RuntimeReady"
assert_eq false "$(jq -r '.status.conditions[] | select(.type == "NetworkReady") | .status' <<<"$out")" \
  "info: NetworkReady is false without a CNI config"
assert_contains "$(jq -r '.status.conditions[] | select(.type == "NetworkReady") | .message' <<<"$out")" \
  "no network config found in $BD/cni" "info: NetworkReady says why"
assert_contains "$(grep -c 'berthd serving' "$BD/berthd.log")" 1 "berthd logs one line when it serves"
assert_eq 660 "$(stat -c %a "$SOCK")" "the socket is mode 0660"
pod_json pod0 POD >"$TEST_DIR/pod0.json"
out=$(b runp "$TEST_DIR/pod0.json" 2>&1)
assert_contains "$out" "FAILED_PRECONDITION" "runp of a pod network without a CNI config: FAILED_PRECONDITION"
assert_contains "$out" "no network config found" "... saying why"
assert_eq "" "$(b pods -q 2>&1)" "... and no pod is left"
# Pods of this test get their own network namespace with lo only (a conflist of the loopback
# plugin; berthd sets lo up itself too):
# nothing is made in the host's network namespace. test_berthd_cni.sh has a real network.
echo '{"cniVersion": "1.0.0", "name": "berth-it-lo", "plugins": [{"type": "loopback"}]}' \
  >"$BD/cni/10-lo.conflist"
assert_eq true "$(b info | jq -r '.status.conditions[] | select(.type == "NetworkReady") | .status')" \
  "info: NetworkReady once a CNI config is there"

section "images: pull through the ImageService"
out=$(b img pull "$IMAGE" 2>&1)
assert_contains "$out" "$IMAGE_CONFIG" "img pull answers with the image id (config digest)"
out=$(b img ls 2>&1)
assert_match "$out" "$REG_BD/test/busybox +v1" "img ls lists the pulled image"
assert_eq "$IMAGE_CONFIG" "$(b img inspect "$IMAGE" | jq -r .status.id)" "img inspect: the id"
out=$(b img pull "$REG_BD/test/nothing:v1" 2>&1)
assert_contains "$out" "NOT_FOUND" "pull of an image the registry does not have: NOT_FOUND"

section "a host-network pod, a container that prints and exits 3"
pod_json pod1 >"$TEST_DIR/pod1.json"
POD=$(b runp "$TEST_DIR/pod1.json" 2>&1)
[[ $POD =~ ^[0-9a-f]{64}$ ]] && pass "runp prints the pod id" || die "runp failed: $POD"
assert_eq "$POD" "$(b runp "$TEST_DIR/pod1.json" 2>&1)" \
  "the same RunPodSandbox again (kubelet's retry) answers with the same pod"
assert_eq SANDBOX_READY "$(b inspectp "$POD" | jq -r .status.state)" "inspectp: SANDBOX_READY"
assert_eq pod1 "$(b pods --format json | jq -r '.items[0].metadata.name')" "pods lists it"
shim=$(shims_of_berthd)
[ -n "$shim" ] && pass "one berth-shim for the pod ($shim)" || fail "no shim runs"
assert_contains "$(tr '\0' ' ' </proc/"$shim"/cmdline)" "--id $POD" "the shim's command line names the pod"
ctr_json hello hello.log 'echo "hello from $(hostname)"; echo to-stderr >&2; exit 3' >"$TEST_DIR/hello.json"
HELLO=$(b create "$POD" "$TEST_DIR/hello.json" "$TEST_DIR/pod1.json" 2>&1)
[[ $HELLO =~ ^[0-9a-f]{64}$ ]] && pass "create prints the container id" || die "create failed: $HELLO"
assert_eq "$HELLO" "$(b create "$POD" "$TEST_DIR/hello.json" "$TEST_DIR/pod1.json" 2>&1)" \
  "the same CreateContainer again answers with the same container"
assert_eq CONTAINER_CREATED "$(b inspectc "$HELLO" | jq -r .status.state)" "inspectc: CONTAINER_CREATED"
b start "$HELLO" >/dev/null 2>&1 || fail "start failed"
wait_until 10 ctr_state_is "$HELLO" CONTAINER_EXITED
st=$(b inspectc "$HELLO")
assert_eq CONTAINER_EXITED "$(jq -r .status.state <<<"$st")" "the container exited"
assert_eq 3 "$(jq -r .status.exitCode <<<"$st")" "exit code 3"
assert_eq Error "$(jq -r .status.reason <<<"$st")" "reason Error"
assert_eq "$TEST_DIR/logs/pod1/hello.log" "$(jq -r .status.logPath <<<"$st")" "log path"
out=$(b logs "$HELLO" 2>&1)
assert_contains "$out" "hello from $(hostname)" "logs: stdout (the host's hostname: host network)"
assert_contains "$out" "to-stderr" "logs: stderr"
assert_match "$(head -n1 "$TEST_DIR/logs/pod1/hello.log")" \
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (stdout|stderr) F ' "the log file is in the CRI format"

section "a pod with its own namespaces: hostname, exec"
pod_json pod2 POD >"$TEST_DIR/pod2.json"
POD2=$(b runp "$TEST_DIR/pod2.json" 2>&1)
[[ $POD2 =~ ^[0-9a-f]{64}$ ]] && pass "runp of a pod with its own network namespace" || die "runp failed: $POD2"
ctr_json sleeper sleeper.log 'echo started; exec sleep 1000' >"$TEST_DIR/sleeper.json"
SLEEPER=$(b create "$POD2" "$TEST_DIR/sleeper.json" "$TEST_DIR/pod2.json" 2>&1)
b start "$SLEEPER" >/dev/null 2>&1 || fail "start sleeper failed"
assert_eq CONTAINER_RUNNING "$(b inspectc "$SLEEPER" | jq -r .status.state)" "the sleeper runs"
assert_eq pod2-host "$(b exec "$SLEEPER" hostname 2>&1)" "exec: the pod's hostname"
out=$(b exec "$SLEEPER" sh -c 'readlink /proc/1/ns/net; exit 7' 2>&1); rc=$?
assert_eq 7 "$rc" "exec returns the command's exit code"
assert_ne "$(readlink /proc/self/ns/net)" "$out" "the container has its own network namespace"
assert_eq 0x9 "$(b exec "$SLEEPER" cat /sys/class/net/lo/flags 2>&1)" "lo is up in the pod"
pid=$(b inspectc "$SLEEPER" | jq -r .info.info.pid)
proc_alive "$pid" && pass "the container's process $pid runs" || fail "no process ($pid)"
assert_contains "$(cat /proc/"$pid"/cgroup)" "/$CG_PARENT/$SLEEPER" "the container is in its cgroup under the pod's parent"
assert_eq "$(readlink /proc/"$pid"/ns/net)" "$(b exec "$SLEEPER" readlink /proc/self/ns/net 2>&1)" \
  "exec runs in the container's namespaces"
assert_eq "$SLEEPER" "$(b ps -q 2>&1)" "ps lists the running container only"
assert_eq 2 "$(b ps -a -q 2>&1 | wc -l)" "ps -a lists both"
assert_eq "$SLEEPER" "$(b ps -a -q -p "$POD2" 2>&1)" "ps -p filters by pod"

section "exec timeout"
out=$(b exec --timeout 1 "$SLEEPER" sleep 30 2>&1); rc=$?
assert_ne 0 "$rc" "exec past its timeout fails"
assert_contains "$out" "DEADLINE_EXCEEDED" "... with DEADLINE_EXCEEDED (what kubelet's probes expect)"

section "a shared PID namespace: a container whose init exits leaves no process behind"
ctr_json forker forker.log 'trap "exit 0" TERM; sleep 3600 & echo $! > /tmp/child; wait' >"$TEST_DIR/forker.json"
FORKER=$(b create "$POD2" "$TEST_DIR/forker.json" "$TEST_DIR/pod2.json" 2>&1)
b start "$FORKER" >/dev/null 2>&1 || fail "start forker failed"
sleep 0.3
fpid=$(b inspectc "$FORKER" | jq -r .info.info.pid)
assert_ne 1 "$(b exec "$FORKER" cat /tmp/child 2>&1)" "the init is not pid 1 of the pod's namespace: its child's pid is $(b exec "$FORKER" cat /tmp/child 2>&1)"
child=$(pgrep -P "$fpid" sleep)
b stop -t 5 "$FORKER" >/dev/null 2>&1 || fail "stop forker failed"
assert_eq 0 "$(b inspectc "$FORKER" | jq -r .status.exitCode)" "the init exited 0 on SIGTERM"
b rmc "$FORKER" >/dev/null 2>&1 && pass "rmc of the container whose child outlived its init" || fail "rmc failed"
proc_alive "$child" && fail "its child $child still runs" || pass "its child went with the container"

section "errors"
out=$(b inspectp 0123456789abcdef 2>&1)
assert_contains "$out" "NOT_FOUND" "inspectp of an unknown id: NOT_FOUND"
out=$(b start 0123456789abcdef 2>&1)
assert_contains "$out" "NOT_FOUND" "start of an unknown id: NOT_FOUND"
jq '.image.image = "localhost/none:v0"' "$TEST_DIR/hello.json" | jq '.metadata.name = "noimage"' >"$TEST_DIR/noimage.json"
out=$(b create "$POD" "$TEST_DIR/noimage.json" "$TEST_DIR/pod1.json" 2>&1)
assert_contains "$out" "NOT_FOUND" "create with an image not pulled: NOT_FOUND"
assert_contains "$out" "pull it first" "... saying so"
jq '.command = ["true"]' "$TEST_DIR/hello.json" >"$TEST_DIR/hello2.json"
out=$(b create "$POD" "$TEST_DIR/hello2.json" "$TEST_DIR/pod1.json" 2>&1)
assert_contains "$out" "ALREADY_EXISTS" "a taken name with another config: ALREADY_EXISTS"
out=$(b start "$HELLO" 2>&1)
assert_contains "$out" "FAILED_PRECONDITION" "start of an exited container: FAILED_PRECONDITION"
assert_contains "$(b stop 0123456789abcdef 2>&1)" "NOT_FOUND" "stop of an unknown id: NOT_FOUND (as containerd)"

section "runtime handlers: runc and crun run containers of their pods"
for h in runc crun; do
  pod_json "pod-$h" >"$TEST_DIR/pod-$h.json"
  P=$(b runp --runtime "$h" "$TEST_DIR/pod-$h.json" 2>&1) || { fail "runp --runtime $h: $P"; continue; }
  assert_eq "$h" "$(b inspectp "$P" | jq -r .status.runtimeHandler)" "inspectp: runtime handler $h"
  ctr_json "c-$h" "c-$h.log" 'echo hi from handler; exec sleep 100' >"$TEST_DIR/c-$h.json"
  C=$(b create "$P" "$TEST_DIR/c-$h.json" "$TEST_DIR/pod-$h.json" 2>&1)
  if [ "$h" = crun ] && [ -d /sys/fs/cgroup/unified ]; then
    # crun 1.8 refuses hybrid cgroup hosts (docs/environment.md): its own error comes back
    # and the failed create leaves nothing.
    assert_contains "$C" "cgroups in hybrid mode not supported" "crun's own error reaches the CRI client"
    assert_eq "" "$(b ps -a -q -p "$P" 2>&1)" "... and the failed create left no container"
    assert_eq "" "$(ls "$BD/state/bundles/k8s.io" 2>/dev/null | grep -v -e "$SLEEPER" -e "$HELLO")" "... nor a bundle"
  else
    b start "$C" >/dev/null 2>&1 || fail "start under $h: $C"
    assert_eq CONTAINER_RUNNING "$(b inspectc "$C" | jq -r .status.state)" "a container runs under $h"
    assert_match "$("$h" --root "$BD/state/runtime/$h/k8s.io" list 2>&1)" "^$C +[0-9]+ +running" \
      "$h list (its own root) shows it running"
  fi
  b rmp -f "$P" >/dev/null 2>&1 || fail "rmp -f of the $h pod failed"
  assert_eq "" "$("$h" --root "$BD/state/runtime/$h/k8s.io" list -q 2>&1)" "$h's root is empty after rmp"
done
out=$(b runp --runtime kata "$TEST_DIR/pod1.json" 2>&1)
assert_contains "$out" "INVALID_ARGUMENT" "an unknown runtime handler: INVALID_ARGUMENT"
assert_contains "$out" "known: berth, crun, runc" "... listing the known ones"

section "kill -9 of berthd: the running container keeps running, an exit meanwhile is seen"
ctr_json later later.log 'sleep 2; exit 42' >"$TEST_DIR/later.json"
LATER=$(b create "$POD2" "$TEST_DIR/later.json" "$TEST_DIR/pod2.json" 2>&1)
b start "$LATER" >/dev/null 2>&1 || fail "start later failed"
berthd_kill9
proc_alive "$pid" && pass "the sleeper runs on while berthd is dead" || fail "the sleeper died with berthd"
sleep 3
berthd_start --insecure-registry "$REG_BD" "${HANDLERS[@]}"
assert_contains "$(cat "$BD/berthd.log")" "recovered 2 pod sandboxes and 3 containers" "berthd recovered from disk"
assert_eq CONTAINER_RUNNING "$(b inspectc "$SLEEPER" | jq -r .status.state)" "after restart: the sleeper is running"
st=$(b inspectc "$LATER")
assert_eq CONTAINER_EXITED "$(jq -r .status.state <<<"$st")" "after restart: the container that exited meanwhile is exited"
assert_eq 42 "$(jq -r .status.exitCode <<<"$st")" "... with its real exit code"
assert_eq 3 "$(b inspectc "$HELLO" | jq -r .status.exitCode)" "... and the earlier exit code is kept"
assert_eq "$POD" "$(b runp "$TEST_DIR/pod1.json" 2>&1)" "after restart: the same RunPodSandbox still answers with the pod"
assert_eq pod2-host "$(b exec "$SLEEPER" hostname 2>&1)" "exec works after the restart"

section "stop, remove"
b stop -t 5 "$SLEEPER" >/dev/null 2>&1 || fail "stop failed"
st=$(b inspectc "$SLEEPER")
assert_eq CONTAINER_EXITED "$(jq -r .status.state <<<"$st")" "stop: exited"
assert_eq 143 "$(jq -r .status.exitCode <<<"$st")" "stop: SIGTERM (143)"
b rmc "$SLEEPER" "$LATER" >/dev/null 2>&1 || fail "rmc failed"
assert_eq "" "$(b ps -a -q -p "$POD2" 2>&1)" "rmc: no container left in pod2"
b stopp "$POD2" >/dev/null 2>&1 || fail "stopp failed"
b stopp "$POD2" >/dev/null 2>&1 && pass "stopp again is fine" || fail "stopp twice failed"
assert_eq SANDBOX_NOTREADY "$(b inspectp "$POD2" | jq -r .status.state)" "stopp: SANDBOX_NOTREADY"
b rmp "$POD2" >/dev/null 2>&1 || fail "rmp failed"
b rmp -f "$POD" >/dev/null 2>&1 || fail "rmp -f of the pod with an exited container failed"
b rmp "$POD" >/dev/null 2>&1 && pass "rmp again is fine" || fail "rmp twice failed"
assert_eq "" "$(b pods -q 2>&1)" "no pod left"
assert_eq "" "$(b ps -a -q 2>&1)" "no container left"
assert_eq "" "$(shims_of_berthd)" "no shim left"
assert_eq "" "$(pgrep -f "berth-shim pause $BD/")" "no PID namespace holder left"
assert_eq "" "$(awk -v d="$BD/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo)" \
  "no mount left under berthd's dirs (rootfs, shm, namespaces)"
assert_eq "" "$(ls "$BD"/root/meta/k8s.io/pods "$BD"/root/meta/k8s.io/containers 2>/dev/null | grep json)" \
  "no record left"
assert_eq "" "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/$CG_PARENT/*" 2>/dev/null)" \
  "no container cgroup left"
assert_eq "" "$("$BERTH" --root "$BD/state/runtime/berth/k8s.io" list -q 2>/dev/null)" "no runtime state left"

berthd_stop
