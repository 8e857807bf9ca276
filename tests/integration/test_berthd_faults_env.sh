#!/bin/bash
# berthd when its environment fails (issue 13, "Faults"):
#  - the disk under its metadata fills (berthd's root on a small tmpfs of the test's, filled
#    with a file): RunPodSandbox and CreateContainer fail with RESOURCE_EXHAUSTED, nothing
#    half-made is listed or left, the running pod keeps serving, a restart finds every
#    record whole; once the space is back every call works again;
#  - a CNI plugin that hangs or fails (a fake plugin script in a CNI bin dir of the test's:
#    the real plugins cannot be made to hang): RunPodSandbox fails within the configured
#    cni_plugin_timeout with the plugin's own error, the hung plugin (and its child) killed,
#    nothing of the sandbox left; kubelet's retry succeeds once the plugin works;
#  - the disk under the shims' work dirs fills (berthd's state dir, a tmpfs too): a container's
#    exit is still reported (exit code, also to a restarted berthd) without its exit.json.
# No network is made: the fake plugin only answers; berthd's pods get their own namespaces.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthd_lib.sh"
require_root
require_tools jq skopeo docker-registry

berthd_init bdfenv
mount -t tmpfs -o size=48m,mode=0755 berth-it-bdfenv "$BD/root" || die "mount tmpfs on $BD/root failed"
on_exit "umount -l $BD/root"
mount -t tmpfs -o size=48m,mode=0755 berth-it-bdfenv-state "$BD/state" || die "mount tmpfs on $BD/state failed"
on_exit "umount -l $BD/state"
# The fake CNI plugin: what it does is read from $CNI_MODE at each call (ok, fail, hang).
CNI_BIN=$TEST_DIR/cni-bin CNI_MODE=$TEST_DIR/cni-mode
mkdir -p "$CNI_BIN"
cat >"$CNI_BIN/berth-fake" <<SH
#!/bin/sh
# A CNI plugin for the test: ADD as \$(cat $CNI_MODE) says; DEL, CHECK and VERSION succeed.
echo "\$CNI_COMMAND \$\$" >>$TEST_DIR/cni-calls
case "\$CNI_COMMAND" in
  VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}'; exit 0 ;;
  DEL|CHECK) exit 0 ;;
esac
cat >/dev/null
case "\$(cat $CNI_MODE)" in
  fail) echo '{"cniVersion":"1.0.0","code":11,"msg":"berth-fake: no address left in the test range","details":"as the test asked"}'; exit 1 ;;
  hang) sleep 1000 & echo \$! >$TEST_DIR/cni-child; wait ;;
esac
echo '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"'"\$CNI_NETNS"'"}],"ips":[{"address":"10.99.0.5/24","interface":0}]}'
SH
chmod +x "$CNI_BIN/berth-fake"
echo ok >"$CNI_MODE"
echo '{"cniVersion": "1.0.0", "name": "berth-it-fake", "plugins": [{"type": "berth-fake"}]}' \
  >"$BD/cni/10-fake.conflist"
berthd_image
# start_berthd — berthd with the test's registry and fake CNI plugin (at start and restarts).
start_berthd() { berthd_start --insecure-registry "$REG_BD" --cni-bin-dir "$CNI_BIN" --cni-plugin-timeout 3; }
start_berthd
# berthctl's pull into berthd's store (the same layout and locks), without the free-space
# floor of pulls (1 GiB), which a 48 MiB disk is always below.
out=$("$BERTHCTL" --config /dev/null --root "$BD/root/images" --insecure-registry "$REG_BD" \
  --min-free-bytes 0 --min-free-percent 0 pull -q "$IMAGE" 2>&1) || die "pull into berthd's store failed: $out"

# fill_disk DIR WHAT — everything of DIR's filesystem taken by DIR/filler* (the last blocks
# by small files: tmpfs hands out pages), checked: "WHAT is full".
fill_disk() {
  dd if=/dev/zero of="$1/filler" bs=1M 2>/dev/null
  local i=0
  while head -c 4096 /dev/zero >"$1/filler-$i" 2>/dev/null; do i=$((i + 1)); done
  assert_eq 0 "$(df --output=avail "$1" | tail -n 1 | tr -d ' ')" "$2 is full"
}

section "the metadata disk fills"
pod_json steady POD >"$TEST_DIR/steady.json"
STEADY=$(b runp "$TEST_DIR/steady.json" 2>&1) || die "runp steady: $STEADY"
ctr_json sleeper sleeper.log 'echo up; exec sleep 1000' >"$TEST_DIR/sleeper.json"
SLEEPER=$(b create "$STEADY" "$TEST_DIR/sleeper.json" "$TEST_DIR/steady.json" 2>&1) || die "create: $SLEEPER"
b start "$SLEEPER" >/dev/null || die "start sleeper failed"
fill_disk "$BD/root" "berthd's root"
pod_json full POD >"$TEST_DIR/full.json"
out=$(b runp "$TEST_DIR/full.json" 2>&1)
assert_contains "$out" "RESOURCE_EXHAUSTED" "runp on a full disk: RESOURCE_EXHAUSTED"
assert_contains "$out" "No space left on device" "... saying why"
assert_eq "$STEADY" "$(b pods -q 2>&1)" "... and only the steady pod is listed"
assert_eq 1 "$(pgrep -f "berth-shim .*--address $ENDPOINT" | wc -l)" "... one shim (the steady pod's)"
ctr_json second second.log 'exec sleep 1000' >"$TEST_DIR/second.json"
out=$(b create "$STEADY" "$TEST_DIR/second.json" "$TEST_DIR/steady.json" 2>&1)
assert_contains "$out" "RESOURCE_EXHAUSTED" "create on a full disk: RESOURCE_EXHAUSTED"
assert_eq "$SLEEPER" "$(b ps -a -q 2>&1)" "... and only the running container is listed"
assert_eq ok "$(b exec -s "$SLEEPER" echo ok 2>&1)" "the running container still serves exec"
assert_eq CONTAINER_RUNNING "$(b inspectc "$SLEEPER" | jq -r .status.state)" "... and is running"
berthd_kill9
start_berthd
assert_eq "" "$(grep -E 'corrupt|unreadable' "$BD/berthd.log")" "a restart on the full disk finds every record whole"
assert_eq "$STEADY" "$(b pods -q 2>&1)" "... the steady pod listed"
assert_eq CONTAINER_RUNNING "$(b inspectc "$SLEEPER" | jq -r .status.state)" "... its container running"

section "space returns"
rm -f "$BD/root"/filler*
FULL=$(b runp "$TEST_DIR/full.json" 2>&1)
assert_match "$FULL" '^[0-9a-f]{64}$' "runp works again (kubelet's retry)"
SECOND=$(b create "$STEADY" "$TEST_DIR/second.json" "$TEST_DIR/steady.json" 2>&1)
assert_match "$SECOND" '^[0-9a-f]{64}$' "create works again"
b start "$SECOND" >/dev/null 2>&1 && pass "start of it works" || fail "start after space returned failed"
b stopp "$STEADY" "$FULL" >/dev/null 2>&1 || fail "stopp failed"
b rmp "$STEADY" "$FULL" >/dev/null 2>&1 || fail "rmp failed"
berthd_assert_no_leftovers

section "a shim that cannot write its exit record"
# The shims' work dirs are under berthd's state dir, a tmpfs of its own here: filled while a
# container runs, its exit reaches berthd anyway (the shim's event and its memory), also
# across a berthd restart, though exit.json could not be written.
pod_json rec POD >"$TEST_DIR/rec.json"
REC=$(b runp "$TEST_DIR/rec.json" 2>&1) || die "runp rec: $REC"
ctr_json victim victim.log 'exec sleep 1000' >"$TEST_DIR/victim.json"
VICTIM=$(b create "$REC" "$TEST_DIR/victim.json" "$TEST_DIR/rec.json" 2>&1) || die "create victim: $VICTIM"
b start "$VICTIM" >/dev/null || die "start victim failed"
vpid=$(b inspectc "$VICTIM" | jq -r .info.info.pid)
ctr_dir=$(dirname "$(find "$BD/state/shims" -name container.json -path "*/$VICTIM/*" | head -n 1)")
[ -d "$ctr_dir" ] || die "no shim work dir holds $VICTIM"
fill_disk "$BD/state" "berthd's state dir"
kill -9 "$vpid"
wait_until 20 ctr_state_is "$VICTIM" CONTAINER_EXITED &&
  pass "the container's exit is reported with its state dir full" ||
  fail "state $(b inspectc "$VICTIM" | jq -r .status.state) after its process was killed"
assert_eq "137" "$(b inspectc "$VICTIM" | jq -r .status.exitCode)" "... exit code 137 (SIGKILL)"
[ -e "$ctr_dir/exit.json" ] && fail "an exit.json was written on a full disk" ||
  pass "... though no exit.json could be written"
assert_eq "" "$(find "$ctr_dir" -name '*.tmp*' 2>/dev/null)" "... and no partial record is left"
berthd_kill9
start_berthd
assert_eq "CONTAINER_EXITED 137" "$(b inspectc "$VICTIM" | jq -r '"\(.status.state) \(.status.exitCode)"')" \
  "a restarted berthd hears the exit from the shim"
rm -f "$BD/state"/filler*
out=$(b rmc "$VICTIM" 2>&1) || fail "rmc of the exited container failed: $out"
b stopp "$REC" >/dev/null 2>&1 || fail "stopp rec failed"
b rmp "$REC" >/dev/null 2>&1 || fail "rmp rec failed"
berthd_assert_no_leftovers

section "a CNI plugin that fails"
pod_json net POD >"$TEST_DIR/net.json"
echo fail >"$CNI_MODE"
out=$(b runp "$TEST_DIR/net.json" 2>&1)
assert_contains "$out" "no address left in the test range" "runp: the plugin's own message"
assert_eq "" "$(b pods -q 2>&1)" "... no pod listed"
berthd_assert_no_leftovers
assert_contains "$(cat "$TEST_DIR/cni-calls")" "DEL" "... and the failed ADD was undone with a DEL"

section "a CNI plugin that hangs"
echo hang >"$CNI_MODE"
: >"$TEST_DIR/cni-calls"
t0=$SECONDS
out=$(b runp "$TEST_DIR/net.json" 2>&1)
took=$((SECONDS - t0))
assert_contains "$out" "berth-fake" "runp: the error names the plugin"
assert_contains "$out" "no answer within 3 s" "... and the timeout"
# Bounded: the plugin would sleep 1000 s; berthctl gives up at 30 s.
[ "$took" -lt 30 ] && pass "runp returned in ${took} s (cni_plugin_timeout 3 s)" ||
  fail "runp took ${took} s with a 3 s plugin timeout"
child=$(cat "$TEST_DIR/cni-child" 2>/dev/null)
# (Killed, it may stay a zombie a moment: its parent died too and it is reaped by init.)
gone() { ! proc_alive "$1"; }
[ -n "$child" ] && wait_until 5 gone "$child" && pass "the plugin's child was killed with it" ||
  fail "the hung plugin's child ($child) still runs"
assert_eq "" "$(b pods -q 2>&1)" "... no pod listed"
berthd_assert_no_leftovers
echo ok >"$CNI_MODE"
NET=$(b runp "$TEST_DIR/net.json" 2>&1)
assert_match "$NET" '^[0-9a-f]{64}$' "kubelet's retry succeeds once the plugin answers"
assert_eq 10.99.0.5 "$(b inspectp "$NET" | jq -r .status.network.ip)" "... with the plugin's address"
b rmp -f "$NET" >/dev/null 2>&1 || fail "rmp -f failed"
berthd_assert_no_leftovers
berthd_stop
