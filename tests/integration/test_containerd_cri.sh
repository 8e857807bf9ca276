#!/bin/bash
# berth under containerd 1.6's CRI plugin — the path kubelet takes — with berth named by the
# `BinaryName` runtime option of config.toml (the default runtime class "berth"), driven by
# berthctl's crictl-style commands: version, info, runp (host network), create + start,
# logs, inspectc (exit code), exec (ExecSync, exit codes, both streams), ps, pods, stop, rmc,
# stopp, rmp; Bidirectional and HostToContainer mounts in both directions; kill of an exited
# task (ctr) and stopp of a pod whose container exited; and the error paths (unknown pod, malformed JSON, endpoint not
# listening).
# It checks that berth ran the containers (its state under the configured Root) and that
# nothing is left: berth state, container cgroups, shims, mounts.
#
# A private containerd (config, root, state, sockets, CNI dirs under $TEST_DIR) is started
# here and stopped by its pid. Images are built by hand from busybox-static and imported with
# `ctr -n k8s.io images import`; the sandbox ("pause") image is one of them.
# containerd 1.6 always puts shim sockets in /run/containerd/s and fifos in
# /run/containerd/fifo; only this test's own are checked.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containerd_lib.sh"

cri_init cri
cri_config
cri_start

section "version, info"
out=$(b version 2>&1)
assert_contains "$out" "RuntimeName:  containerd" "version: the runtime is containerd"
assert_match "$out" 'RuntimeApiVersion: +v1' "version: CRI API v1"
out=$(b info 2>&1)
assert_eq true "$(jq -r '.status.conditions[] | select(.type == "RuntimeReady") | .status' <<<"$out" 2>/dev/null)" \
  "info: RuntimeReady is true"
assert_eq "$BERTH" "$(jq -r '.config.containerd.runtimes.berth.options.BinaryName' <<<"$out" 2>/dev/null)" \
  "info: containerd's config names berth as BinaryName of runtime class berth"

section "images: a pause image and a busybox image, imported into k8s.io"
cri_images

section "runp: a host-network pod under a test-owned cgroup parent"
pod_json pod1 >"$TEST_DIR/pod1.json"
POD=$(b runp "$TEST_DIR/pod1.json" 2>&1)
[[ $POD =~ ^[0-9a-f]{64}$ ]] && pass "runp prints the pod sandbox id" ||
  die "runp failed: $POD $(shim_says)"
assert_eq "$POD" "$(b pods -q 2>&1)" "pods -q lists the pod"
out=$(b pods 2>&1)
assert_match "$out" "^POD ID +CREATED +STATE +NAME" "pods prints a table header"
assert_match "$out" "${POD:0:13} .* Ready +pod1 +berth-it" "pods: the pod is Ready"
assert_eq SANDBOX_READY "$(b inspectp "$POD" | jq -r .status.state)" "inspectp: state SANDBOX_READY"
assert_eq pod1 "$(b pods --format json | jq -r '.items[0].metadata.name')" "pods --format json"
list=$("$BERTH" --root "$STATE_NS" list 2>&1)
assert_match "$list" "^$POD +[0-9]+ +running " "berth ran the sandbox: its state under Root lists it running"
sb_pid=$("$BERTH" --root "$STATE_NS" state "$POD" 2>/dev/null | jq -r .pid)
proc_alive "$sb_pid" && pass "the sandbox's pause process $sb_pid runs" || fail "no pause process ($sb_pid)"
assert_contains "$(cat /proc/"$sb_pid"/cgroup 2>/dev/null)" "/$CG_PARENT/$POD" \
  "the sandbox is in the cgroup under the pod's cgroup_parent"

section "create + start: a container that prints and exits 3"
ctr_json hello hello.log 'echo "hello from $(cat /proc/1/comm)"; echo to-stderr >&2; exit 3' \
  >"$TEST_DIR/hello.json"
HELLO=$(b create "$POD" "$TEST_DIR/hello.json" "$TEST_DIR/pod1.json" 2>&1)
[[ $HELLO =~ ^[0-9a-f]{64}$ ]] && pass "create prints the container id" ||
  die "create failed: $HELLO $(shim_says)"
assert_eq CONTAINER_CREATED "$(b inspectc "$HELLO" | jq -r .status.state)" "inspectc: created"
# containerd's CreateContainer only records the container; the runtime's create comes with
# StartContainer.
assert_eq "$HELLO" "$(b start "$HELLO" 2>&1)" "start prints the id"
wait_until 10 sh -c "$(printf '%q ' "$BERTHCTL" -r "$ENDPOINT") inspectc $HELLO | grep -q CONTAINER_EXITED"
st=$(b inspectc "$HELLO")
assert_eq CONTAINER_EXITED "$(jq -r .status.state <<<"$st")" "inspectc: the container exited"
assert_eq 3 "$(jq -r .status.exitCode <<<"$st")" "inspectc: exit code 3"
assert_eq "$TEST_DIR/logs/pod1/hello.log" "$(jq -r .status.logPath <<<"$st")" "inspectc: the log path"
b logs "$HELLO" >"$TEST_DIR/logs.out" 2>"$TEST_DIR/logs.err"
assert_eq 0 $? "logs exits 0"
assert_eq "hello from pause" "$(cat "$TEST_DIR/logs.out")" \
  "logs: the container's stdout on stdout (pid 1 is the pod's pause: a shared pid namespace)"
assert_eq to-stderr "$(cat "$TEST_DIR/logs.err")" "logs: the container's stderr on stderr"
assert_match "$(head -n1 "$TEST_DIR/logs/pod1/hello.log")" '^[0-9T:.Z-]+ std(out|err) F ' \
  "the log file is in the CRI format"
assert_eq "" "$(b ps -q 2>&1)" "ps (running only) does not list the exited container"
assert_eq "$HELLO" "$(b ps -a -q 2>&1)" "ps -a lists it"
assert_match "$(b ps -a 2>&1)" "${HELLO:0:13} .* Exited +hello +0 +${POD:0:13} +pod1" "ps -a table: Exited, its pod"

section "exec (ExecSync) in a running container"
ctr_json sleeper sleeper.log 'echo marker >/marker; echo ready; exec sleep 1000' >"$TEST_DIR/sleeper.json"
SLEEPER=$(b create "$POD" "$TEST_DIR/sleeper.json" "$TEST_DIR/pod1.json" 2>&1)
[[ $SLEEPER =~ ^[0-9a-f]{64}$ ]] || die "create sleeper failed: $SLEEPER $(shim_says)"
assert_ok "start sleeper" b start "$SLEEPER"
wait_until 10 grep -q ready "$TEST_DIR/logs/pod1/sleeper.log" || fail "sleeper did not print ready"
assert_eq "$SLEEPER" "$(b ps -q 2>&1)" "ps lists the running container"
assert_match "$("$BERTH" --root "$STATE_NS" list 2>&1)" "^$SLEEPER +[0-9]+ +running " \
  "berth runs the container (its state lists it running)"
b exec "$SLEEPER" sh -c 'echo "out $(cat /marker) $(cat /proc/1/comm)"; echo err >&2; exit 7' \
  >"$TEST_DIR/exec.out" 2>"$TEST_DIR/exec.err"
assert_eq 7 $? "exec exits with the command's code 7"
assert_eq "out marker pause" "$(cat "$TEST_DIR/exec.out")" "exec: stdout, inside the container (in the pod's pid namespace)"
assert_eq err "$(cat "$TEST_DIR/exec.err")" "exec: stderr"
out=$(b exec -s "$SLEEPER" true 2>&1)
assert_eq 0 $? "exec -s true exits 0"
# Streaming through containerd's own server: it has no WebSocket v5, so berthctl falls
# back to SPDY; stdin's EOF reaches the process.
assert_eq 2 "$(printf 'a\nb\n' | b exec -i "$SLEEPER" wc -l 2>&1 | tr -d ' ')" \
  "exec -i through containerd's streaming server: stdin and its EOF"
ctr_pid=$("$BERTH" --root "$STATE_NS" state "$SLEEPER" 2>/dev/null | jq -r .pid)
assert_eq "$(readlink /proc/"$sb_pid"/ns/net)" "$(readlink /proc/"$ctr_pid"/ns/net)" \
  "the container shares the sandbox's network namespace"
assert_eq "$(readlink /proc/$$/ns/net)" "$(readlink /proc/"$ctr_pid"/ns/net)" \
  "host network: that is the test's own"
assert_contains "$(cat /proc/"$ctr_pid"/cgroup 2>/dev/null)" "/$CG_PARENT/$SLEEPER" \
  "the container is in its cgroup under the pod's cgroup_parent"

section "stop, rmc, stopp, rmp"
assert_ok "stop -t 1" b stop -t 1 "$SLEEPER"
assert_eq CONTAINER_EXITED "$(b inspectc "$SLEEPER" | jq -r .status.state)" "the stopped container exited"
assert_ok "rmc" b rmc "$HELLO" "$SLEEPER"
assert_eq "" "$(b ps -a -q 2>&1)" "no container left in the pod"
assert_match "$("$BERTH" --root "$STATE_NS" list -q 2>&1)" "^$POD\$" "berth's state holds only the sandbox"
assert_ok "stopp" b stopp "$POD"
assert_eq SANDBOX_NOTREADY "$(b inspectp "$POD" | jq -r .status.state)" "the stopped pod is NotReady"
proc_alive "$sb_pid" && fail "the pause process $sb_pid still runs after stopp" ||
  pass "stopp ended the pause process"
assert_ok "rmp" b rmp "$POD"
cri_assert_pods_gone

section "Bidirectional and HostToContainer mounts, as containerd sets them up"
# containerd wants the host path on a shared mount (kubelet's dirs are); this host's / is
# private. It sets the bind "rshared" + rootfsPropagation "rshared" for Bidirectional and
# "rslave" for both with HostToContainer.
pod_json pod2 >"$TEST_DIR/pod2.json"
POD2=$(b runp "$TEST_DIR/pod2.json" 2>&1)
[[ $POD2 =~ ^[0-9a-f]{64}$ ]] || die "runp pod2 failed: $POD2 $(shim_says)"
PROP_SCRIPT='mount -t tmpfs -o size=1m tmpfs /vol/inner && echo from-container >/vol/inner/f
  touch /vol/mounted; i=0
  while [ ! -e /vol/hostsub/f ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  cat /vol/hostsub/f >/vol/saw 2>&1; exec sleep 1000'
for mode in BIDIRECTIONAL HOST_TO_CONTAINER; do
  vol=$TEST_DIR/cri-vol-$mode
  mkdir -p "$vol/inner" "$vol/hostsub"
  mount --bind "$vol" "$vol" && mount --make-shared "$vol" || die "making $vol a shared mount failed"
  on_exit "umount -R -l $vol"
  ctr_json "prop-$mode" "prop-$mode.log" "$PROP_SCRIPT" |
    jq --arg vol "$vol" --arg p "PROPAGATION_$mode" \
      '.mounts = [{container_path: "/vol", host_path: $vol, propagation: $p}]
       | .linux.security_context.capabilities.add_capabilities = ["SYS_ADMIN"]' >"$TEST_DIR/prop.json"
  cid=$(b create "$POD2" "$TEST_DIR/prop.json" "$TEST_DIR/pod2.json" 2>&1)
  [[ $cid =~ ^[0-9a-f]{64}$ ]] || die "create ($mode) failed: $cid $(shim_says)"
  assert_ok "start the $mode container" b start "$cid"
  want=rslave
  [ $mode = BIDIRECTIONAL ] && want=rshared
  assert_eq $want "$(jq -r .linux.rootfsPropagation "$STATE_NS/$cid/config.json" 2>&1)" \
    "$mode: containerd asked berth for rootfsPropagation $want"
  wait_until 10 test -e "$vol/mounted" || fail "$mode: the container did not mount /vol/inner: $(b logs "$cid" 2>&1)"
  mount -t tmpfs -o size=1m tmpfs "$vol/hostsub" && echo from-host >"$vol/hostsub/f"
  wait_until 10 test -s "$vol/saw"
  assert_eq from-host "$(cat "$vol/saw" 2>&1)" "$mode: a mount made on the host after the start appears inside"
  if [ $mode = BIDIRECTIONAL ]; then
    assert_eq from-container "$(cat "$vol/inner/f" 2>&1)" "$mode: a mount made inside appears on the host"
  else
    [ -e "$vol/inner/f" ] && fail "$mode: the container's mount reached the host" ||
      pass "$mode: a mount made inside stays inside"
  fi
  assert_ok "stop the $mode container" b stop -t 0 "$cid"
  assert_ok "rmc the $mode container" b rmc "$cid"
  umount -R -l "$vol"
done

section "kill of an exited task; stopp of a pod whose container has exited"
# containerd's shim sends the runtime's kill also to a task that has exited (StopPodSandbox
# does when the exit is not processed yet) and recognises "already finished" only by runc's
# texts ("container not running" ...): anything else is "unknown error after kill". ctr in
# a namespace of its own makes that kill deterministic: the task stays until `tasks rm`.
K=(timeout -k 5 60 ctr --address "$SOCK" --namespace berth-it-kill)
out=$("${K[@]}" images import "$TEST_DIR/busybox.tar" 2>&1) || die "ctr images import (berth-it-kill) failed: $out"
out=$("${K[@]}" run -d --runc-binary "$BERTH" --runc-root "$TEST_DIR/kill-root" "$IMAGE" k1 true 2>&1)
assert_eq 0 $? "ctr run -d of a task that exits at once"
wait_until 10 sh -c "$(printf '%q ' "${K[@]}") tasks ls | grep -q '^k1 .*STOPPED'" || fail "k1 did not stop"
assert_fails_with 'process already finished: not found' "${K[@]}" tasks kill -s KILL k1
assert_not_contains "$LAST_OUT" "unknown error after kill" "the shim knows the task had finished"
assert_ok "tasks rm k1" "${K[@]}" tasks rm k1
assert_ok "containers rm k1" "${K[@]}" containers rm k1
"${K[@]}" images rm "$IMAGE" >/dev/null 2>&1
ctr_json quick quick.log 'exit 0' >"$TEST_DIR/quick.json"
QUICK=$(b create "$POD2" "$TEST_DIR/quick.json" "$TEST_DIR/pod2.json" 2>&1)
[[ $QUICK =~ ^[0-9a-f]{64}$ ]] || die "create quick failed: $QUICK $(shim_says)"
assert_ok "start quick" b start "$QUICK"
wait_until 10 sh -c "$(printf '%q ' "$BERTHCTL" -r "$ENDPOINT") inspectc $QUICK | grep -q CONTAINER_EXITED" ||
  fail "quick did not exit"
assert_ok "stopp of the pod whose container exited" b stopp "$POD2"
assert_eq SANDBOX_NOTREADY "$(b inspectp "$POD2" | jq -r .status.state)" "the pod is stopped"
assert_ok "rmp" b rmp "$POD2"
cri_assert_pods_gone

section "error paths"
assert_fails_with "CreateContainer on $ENDPOINT: NOT_FOUND" \
  b create no-such-pod "$TEST_DIR/hello.json" "$TEST_DIR/pod1.json"
echo '{"metadata": {"name": "x",' >"$TEST_DIR/bad.json"
assert_fails_with "runp: parse $TEST_DIR/bad.json: not a valid runtime.v1.PodSandboxConfig" \
  b runp "$TEST_DIR/bad.json"
echo '{"metadata": {"name": "x"}, "no_such_field": 1}' >"$TEST_DIR/unknown.json"
assert_fails_with "parse $TEST_DIR/unknown.json: .*no_such_field" b runp "$TEST_DIR/unknown.json"
assert_fails_with "open $TEST_DIR/missing.json: No such file" b runp "$TEST_DIR/missing.json"
assert_fails_with "cri: Version on unix://$TEST_DIR/nobody.sock: UNAVAILABLE" \
  "$BERTHCTL" -r "unix://$TEST_DIR/nobody.sock" version
CONTAINER_RUNTIME_ENDPOINT=$TEST_DIR/nobody2.sock assert_fails_with \
  "Version on $TEST_DIR/nobody2.sock: UNAVAILABLE" "$BERTHCTL" version
assert_fails_with "unsupported scheme" "$BERTHCTL" -r tcp://127.0.0.1:1 version
assert_fails_with "StopPodSandbox on $ENDPOINT: NOT_FOUND: .*no-such-pod" b stopp no-such-pod

section "nothing leaked after containerd stops"
cri_stop_and_check "$POD" "$HELLO" "$SLEEPER" "$POD2" "$QUICK"
