#!/bin/bash
# berthctl's docker-style commands against a real berthd (temporary roots, a local registry):
# `run` pulls the image through berthd when it lacks it, makes a pod and a container in the
# berthctl namespace, streams the output (stdout and stderr apart) and exits with the
# container's code; --rm leaves nothing (pod, container, shim, bundle, runtime state, cgroup,
# log); -d + ps + logs + stop + rm; -e/-v/-w/-u/--read-only/--entrypoint seen from inside;
# SIGTERM to berthctl stops the container; a duplicate --name, a missing image, a pod network
# without CNI config and no berthd at all: clear errors and nothing left; `namespaces` counts
# and k8s.io listings without berthctl's containers. Needs root.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthd_lib.sh"
require_root
require_tools jq skopeo docker-registry python3
export CRI_CONFIG_FILE=/dev/null
unset CONTAINER_RUNTIME_ENDPOINT IMAGE_SERVICE_ENDPOINT BERTH_NAMESPACE

# The berthctl namespace's pods go through the API first (berthd_cleanup, registered by
# berthd_init after this, then removes the rest by force).
run_cleanup() {
  local p
  [ -n "$BERTHD_PID" ] || return 0
  for p in $(b -n berthctl pods -q 2>/dev/null); do b -n berthctl rmp -f "$p" >/dev/null 2>&1; done
}
on_exit run_cleanup
berthd_init run
berthd_image
berthd_start --insecure-registry "$REG_BD"

# No CNI config in this berthd: the pods use the host's network, in this test's cgroup.
R=(run --network host --cgroup-parent "/$CG_PARENT")
own() { b -n berthctl "$@"; }
LOGS=$BD/root/berthctl-logs/berthctl
# nothing_left WHAT — no pod, container, shim, bundle, runtime state, cgroup or log of run's.
nothing_left() {
  assert_eq "" "$(own pods -q 2>&1)" "$1: no pod left in namespace berthctl"
  assert_eq "" "$(own ps -a -q 2>&1)" "$1: no container left"
  assert_eq "" "$(shims_of_berthd)" "$1: no berth-shim left"
  assert_eq "" "$(ls -A "$BD/state/bundles/berthctl" 2>/dev/null)" "$1: no bundle left"
  assert_eq "" "$("$BERTH" --root "$BD/state/runtime/berth/berthctl" list -q 2>/dev/null)" "$1: no runtime state left"
  assert_eq "" "$(find /sys/fs/cgroup -mindepth 2 -type d -path "*/$CG_PARENT/*" 2>/dev/null)" \
    "$1: no cgroup left under the parent"
  assert_eq "" "$(ls -A "$LOGS" 2>/dev/null)" "$1: no log directory left"
}

section "run pulls a missing image through berthd, prints the output, exits 0"
assert_not_contains "$(b img ls -q 2>&1)" "$IMAGE_CONFIG" "the image is not in berthd's store yet"
b "${R[@]}" --rm "$IMAGE" echo hello >"$TEST_DIR/out" 2>"$TEST_DIR/err"
rc=$?
assert_eq 0 "$rc" "run --rm IMAGE echo hello exits 0"
assert_eq "hello" "$(cat "$TEST_DIR/out")" "... and prints hello on stdout"
assert_contains "$(cat "$TEST_DIR/err")" "not in berthd's image store: pulling it" "... saying on stderr that berthd pulls it"
assert_match "$(cat "$TEST_DIR/err")" "pulled $IMAGE \(.*\) in [0-9.]+ s" "... and how long the pull took"
assert_contains "$(b img ls -q 2>&1)" "$IMAGE_CONFIG" "the image is in berthd's store now"
b "${R[@]}" --rm "$IMAGE" true >"$TEST_DIR/out" 2>"$TEST_DIR/err"
assert_eq "0||" "$?|$(cat "$TEST_DIR/out")|$(cat "$TEST_DIR/err")" "a second run pulls nothing and prints nothing"
nothing_left "run --rm"

section "output streams and exit codes"
b "${R[@]}" --rm "$IMAGE" sh -c 'echo out1; echo err1 >&2; echo out2; printf partial; exit 3' \
  >"$TEST_DIR/out" 2>"$TEST_DIR/err"
rc=$?
assert_eq 3 "$rc" "run exits with the container's code (3)"
assert_eq "$(printf 'out1\nout2\npartial')" "$(cat "$TEST_DIR/out")" "stdout has the container's stdout, the unterminated last line too"
assert_eq "err1" "$(cat "$TEST_DIR/err")" "stderr has the container's stderr"
# The command is PID 1 of its namespace (the kernel drops its own kill -KILL $$): a stop whose
# TERM it ignores ends with SIGKILL.
"$BERTHCTL" --config /dev/null -r "$ENDPOINT" "${R[@]}" --rm --name ign "$IMAGE" \
  sh -c 'trap "" TERM; echo ready; while :; do sleep 0.2; done' >"$TEST_DIR/ign.out" 2>&1 </dev/null &
pid=$!
track_pid "$pid"
wait_until 20 grep -q ready "$TEST_DIR/ign.out" || fail "the TERM-ignoring container did not start: $(cat "$TEST_DIR/ign.out")"
assert_ok "stop -t 1 ign" b stop -t 1 ign
wait_until 30 sh -c "! kill -0 $pid 2>/dev/null"
wait "$pid"
assert_eq 137 "$?" "a container killed by SIGKILL: run exits 137"
seq 1 2000 >"$TEST_DIR/seq"
assert_eq "$(cat "$TEST_DIR/seq")" "$(b "${R[@]}" --rm "$IMAGE" seq 1 2000 2>&1)" "2000 lines, all of them, in order"
nothing_left "runs with output"

section "-e, -v (ro refuses writes), -w, -u, --read-only, --entrypoint from inside"
mkdir -p "$TEST_DIR/vol" "$TEST_DIR/ro"
echo input >"$TEST_DIR/vol/in"
echo kept >"$TEST_DIR/ro/f"
chmod 777 "$TEST_DIR/vol"
out=$(b "${R[@]}" --rm -e FOO=bar -e "SP=a b" -w /tmp -u 1234:5678 -v "$TEST_DIR/vol:/vol" -v "$TEST_DIR/ro:/ro:ro" \
  "$IMAGE" sh -c 'echo "$FOO|$SP|$(pwd)|$(id -u):$(id -g)|$(cat /vol/in)"; echo new >/vol/out;
    if echo x >>/ro/f; then echo ro-written; else echo ro-refused; fi' 2>/dev/null)
assert_eq "$(printf 'bar|a b|/tmp|1234:5678|input\nro-refused')" "$out" "env, workdir, user:group, the volume's file; :ro refuses the write"
assert_eq "new" "$(cat "$TEST_DIR/vol/out" 2>&1)" "the container wrote into the rw volume on the host"
assert_eq "kept" "$(cat "$TEST_DIR/ro/f")" "the ro volume's file is unchanged"
assert_eq "1000" "$(b "${R[@]}" --rm -u user "$IMAGE" id -u 2>&1)" "-u NAME: resolved in the image's passwd"
assert_eq "ro" "$(b "${R[@]}" --rm --read-only "$IMAGE" sh -c 'touch /x 2>/dev/null && echo rw || echo ro' 2>&1)" \
  "--read-only: the root filesystem refuses writes"
assert_eq "a b" "$(b "${R[@]}" --rm --entrypoint /bin/echo "$IMAGE" a b 2>&1)" "--entrypoint replaces the image's entrypoint"
assert_eq "-e|x|--rm|-d|" "$(b "${R[@]}" --rm "$IMAGE" printf '%s|' -e x --rm -d 2>&1)" "words after IMAGE go to the command"
assert_fails_with "-u.*group.*number" b "${R[@]}" --rm -u 1:staff "$IMAGE" true
assert_fails_with "-v.*absolute" b "${R[@]}" --rm -v relative:/x "$IMAGE" true
assert_fails_with "-p.*HOST:CONTAINER" b run --rm -p 80 "$IMAGE" true
assert_fails_with "-p.*host's network" b "${R[@]}" --rm -p 8080:80 "$IMAGE" true
assert_fails_with "--hostname.*host's network" b "${R[@]}" --rm --hostname h "$IMAGE" true
assert_fails_with "berthctl attach -i -t.*--local" b "${R[@]}" --rm -t "$IMAGE" true
assert_fails_with "berthctl attach -i -t.*--local" b "${R[@]}" --rm -i "$IMAGE" true
nothing_left "runs with options"

section "-d, then ps, logs, stop, rm (by name and by id)"
ID=$(b "${R[@]}" -d --name web "$IMAGE" sh -c 'echo started; echo to-err >&2; trap "echo bye; exit 0" TERM; while :; do sleep 0.2; done' 2>&1)
assert_match "$ID" "^[0-9a-f]{64}$" "run -d prints the container id"
assert_contains "$(own ps -q 2>&1)" "$ID" "-n berthctl ps: the container runs"
assert_contains "$(own ps 2>&1)" "web" "... under its name"
assert_contains "$(own pods 2>&1)" "web" "-n berthctl pods: its pod, of the same name"
assert_eq "run" "$(own inspectp "$(own pods -q)" | jq -r '.status.labels["berth.io/berthctl"]')" "the pod carries berthctl's label"
assert_not_contains "$(b ps -a -q 2>&1)" "$ID" "k8s.io's ps does not list it"
assert_not_contains "$(b pods -q 2>&1)" "$(own pods -q)" "k8s.io's pods does not list its pod"
wait_until 10 sh -c "'$BERTHCTL' --config /dev/null -r '$ENDPOINT' logs web 2>/dev/null | grep -q started"
assert_eq "started" "$(b logs web 2>/dev/null)" "logs NAME (without -n): the container's stdout"
assert_eq "to-err" "$(b logs "${ID:0:12}" 2>&1 >/dev/null)" "logs ID-PREFIX: its stderr on stderr"
assert_fails_with "running.*stop it first.*rm -f" b rm web
assert_ok "stop web (without -n: found in the berthctl namespace)" b stop -t 5 web
wait_until 10 sh -c "[ \"\$('$BERTHCTL' --config /dev/null -r '$ENDPOINT' -n berthctl inspectc '$ID' | jq -r .status.state)\" = CONTAINER_EXITED ]"
assert_eq "CONTAINER_EXITED 0" "$(own inspectc "$ID" | jq -r '"\(.status.state) \(.status.exitCode)"')" "stop: it exited 0 from its TERM trap"
assert_eq "$(printf 'started\nbye')" "$(b logs web 2>/dev/null)" "logs after stop: what the trap printed too"
assert_contains "$(own ps 2>&1)" "CONTAINER" "ps without -a: the header"
assert_not_contains "$(own ps -q 2>&1)" "$ID" "... and no longer the exited container"
assert_contains "$(own ps -a -q 2>&1)" "$ID" "ps -a still lists it"
assert_eq "web" "$(b rm web 2>&1)" "rm web"
assert_fails_with "NOT_FOUND.*web.*no such container in namespace berthctl" b rm web
assert_fails_with "NOT_FOUND.*nosuch.*nor in namespace berthctl" b stop nosuch
nothing_left "rm of a stopped container"
ID=$(b "${R[@]}" -d "$IMAGE" sleep 1000 2>&1)
assert_match "$ID" "^[0-9a-f]{64}$" "run -d without --name"
assert_match "$(own ps 2>&1 | tail -n1)" "run-[0-9a-f]{8}" "... gets a name run-XXXXXXXX"
assert_eq "$ID" "$(b rm -f "$ID" 2>&1)" "rm -f of a running container, by id"
nothing_left "rm -f"

section "--name taken: a clear error, the first container untouched"
FIRST=$(b "${R[@]}" -d --name dup "$IMAGE" sleep 1000 2>&1)
assert_fails_with "container named \"dup\" exists in namespace berthctl.*berthctl rm dup" b "${R[@]}" --rm --name dup "$IMAGE" true
assert_eq "$FIRST" "$(own ps -q 2>&1)" "only the first container, still running"
assert_eq "1" "$(own pods -q 2>&1 | wc -l)" "and its pod only"
assert_fails_with "--name.*a-zA-Z0-9" b "${R[@]}" --rm --name "bad_name" "$IMAGE" true
b rm -f dup >/dev/null 2>&1 || fail "rm -f dup failed"
nothing_left "a taken name"

section "a missing image, a pod network without CNI config: clear errors, nothing left"
assert_fails_with "pull $REG_BD/test/nothere:v1.*NOT_FOUND|pull $REG_BD/test/nothere:v1.*not found" \
  b "${R[@]}" --rm "$REG_BD/test/nothere:v1" true
nothing_left "a missing image"
assert_fails_with "CNI.*--network host" b run --rm --cgroup-parent "/$CG_PARENT" "$IMAGE" true
nothing_left "no CNI network"
assert_fails_with "--network.*cni.*host" b run --rm --network none "$IMAGE" true

section "SIGTERM and SIGINT to berthctl stop the container; --rm still cleans up"
for sig in TERM INT; do
  "$BERTHCTL" --config /dev/null -r "$ENDPOINT" "${R[@]}" --rm --name "sig-${sig,,}" "$IMAGE" \
    sh -c "trap 'echo got-$sig; exit 7' TERM; echo ready; while :; do sleep 0.2; done" \
    >"$TEST_DIR/sig.out" 2>"$TEST_DIR/sig.err" </dev/null &
  pid=$!
  track_pid "$pid"
  wait_until 20 grep -q ready "$TEST_DIR/sig.out" || fail "SIG$sig: the container did not start: $(cat "$TEST_DIR/sig.err")"
  kill -"$sig" "$pid"
  wait_until 30 sh -c "! kill -0 $pid 2>/dev/null"
  wait "$pid"
  assert_eq 7 "$?" "SIG$sig to berthctl: the container got its stop signal and berthctl exits with its code"
  assert_eq "$(printf 'ready\ngot-%s' "$sig")" "$(cat "$TEST_DIR/sig.out")" "... its output to the end"
  nothing_left "SIG$sig with --rm"
done

section "namespaces: counts of k8s.io and berthctl; k8s.io listings without berthctl's"
pod_json k8spod >"$TEST_DIR/k8spod.json"
K8SPOD=$(b runp "$TEST_DIR/k8spod.json" 2>&1) || die "runp: $K8SPOD"
ctr_json k8sctr k8sctr.log 'sleep 1000' >"$TEST_DIR/k8sctr.json"
K8SCTR=$(b create "$K8SPOD" "$TEST_DIR/k8sctr.json" "$TEST_DIR/k8spod.json" 2>&1) || die "create: $K8SCTR"
pod_json k8spod2 >"$TEST_DIR/k8spod2.json"
K8SPOD2=$(b runp "$TEST_DIR/k8spod2.json" 2>&1) || die "runp: $K8SPOD2"
R1=$(b "${R[@]}" -d --name one "$IMAGE" sleep 1000 2>&1)
ns=$(b namespaces -o json 2>&1)
assert_eq "2 1" "$(jq -r '.namespaces[] | select(.name == "k8s.io") | "\(.pods) \(.containers)"' <<<"$ns")" \
  "namespaces -o json: k8s.io has 2 pods, 1 container"
assert_eq "1 1" "$(jq -r '.namespaces[] | select(.name == "berthctl") | "\(.pods) \(.containers)"' <<<"$ns")" \
  "... berthctl has 1 pod, 1 container"
table=$(b namespaces 2>&1)
assert_match "$table" "^NAMESPACE +PODS +CONTAINERS" "namespaces: a table with a header"
assert_match "$table" $'\n''berthctl +1 +1' "... and a row per namespace"
assert_eq "$K8SCTR" "$(b ps -a -q 2>&1)" "k8s.io's ps -a: only its own container"
assert_eq "$(printf '%s\n' "$K8SPOD" "$K8SPOD2" | sort)" "$(b pods -q 2>&1 | sort)" "k8s.io's pods: only its own"
assert_eq "$R1" "$(own ps -a -q 2>&1)" "berthctl's ps -a: only run's"
assert_fails_with "NOT_FOUND.*no such container in namespace berthctl" b rm "$K8SCTR"
b rm -f one >/dev/null 2>&1 || fail "rm -f one failed"
b rmp -f "$K8SPOD" "$K8SPOD2" >/dev/null 2>&1 || fail "rmp failed"
assert_eq "0 0" "$(b namespaces -o json | jq -r '.namespaces[] | select(.name == "k8s.io") | "\(.pods) \(.containers)"')" \
  "k8s.io empty again"
assert_eq "" "$(b namespaces -o json | jq -r '.namespaces[] | select(.name == "berthctl") | .name')" \
  "an empty berthctl namespace is not listed"
nothing_left "namespaces"

section "no berthd answers"
NOBODY=unix://$TEST_DIR/nobody.sock
out=$("$BERTHCTL" --config /dev/null -r "$NOBODY" run --rm "$IMAGE" true 2>&1 </dev/null)
rc=$?
assert_ne 0 "$rc" "run against nobody fails"
assert_contains "$out" "no CRI runtime answers on $NOBODY" "... naming the endpoint"
assert_contains "$out" "Is berthd running?" "... asking whether berthd runs"
assert_contains "$out" "berthctl run --local" "... and how to run without a daemon"
out=$("$BERTHCTL" --config /dev/null -r "$NOBODY" rm web 2>&1 </dev/null)
assert_ne 0 "$?" "rm against nobody fails"
assert_contains "$out" "no CRI runtime answers on $NOBODY" "... saying so"
