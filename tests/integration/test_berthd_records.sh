#!/bin/bash
# berthd starts again whatever one bad record says, and what no readable record claims does
# not run on unseen. A pod record made unreadable while berthd was down: berthd serves, the
# record is set aside (.corrupt) and named in the log, the pod is not listed, and its
# container, shim, PID holder, pinned namespaces, bundle and directories are removed (kubelet
# makes the pod again: the old one must not run twice). A container record lost the same
# way: the container is removed, its pod stays ready and takes a new one. Empty and torn
# records, a record whose id is not its file's, a write that never reached its rename: all set
# aside or dropped, the other pods untouched. Nothing left at the end.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthd_lib.sh"
require_root
require_tools jq skopeo docker-registry

berthd_init bdrec
berthd_image
echo '{"cniVersion": "1.0.0", "name": "berth-it-lo", "plugins": [{"type": "loopback"}]}' >"$BD/cni/10-lo.conflist"
berthd_start --insecure-registry "$REG_BD"
b img pull "$IMAGE" >/dev/null 2>&1 || die "pull failed"
META=$BD/root/meta/k8s.io

# make_pod NAME — a pod with its own namespaces and a sleeping container: sets P_<NAME>, C_<NAME>.
make_pod() {
  local p c
  pod_json "$1" POD >"$TEST_DIR/$1.json"
  ctr_json "$1-c" "$1-c.log" 'exec sleep 1000' >"$TEST_DIR/$1-ctr.json"
  p=$(b runp "$TEST_DIR/$1.json" 2>&1) || die "runp $1: $p"
  c=$(b create "$p" "$TEST_DIR/$1-ctr.json" "$TEST_DIR/$1.json" 2>&1) || die "create $1: $c"
  b start "$c" >/dev/null 2>&1 || die "start $1 failed"
  printf -v "P_$1" %s "$p"
  printf -v "C_$1" %s "$c"
}
ctr_pid_of() { b inspectc "$1" | jq -r .info.info.pid; }
shim_of_pod() { pgrep -f "berth-shim --namespace k8s.io --id $1"; }
# What the pod made on the host: its directory under the state, its mounts (pinned ns, shm).
pod_leftovers() {
  local left=""
  [ -e "$BD/state/pods/k8s.io/$1" ] && left+=" pod-dir"
  [ -e "$BD/state/shims/${1:0:20}" ] && left+=" shim-dir"
  awk -v d="$BD/state/pods/k8s.io/$1/" 'index($5, d) == 1' /proc/self/mountinfo | grep -q . && left+=" mounts"
  shim_of_pod "$1" >/dev/null && left+=" shim"
  echo "${left# }"
}

make_pod alpha
make_pod beta
a_pid=$(ctr_pid_of "$C_alpha")
b_pid=$(ctr_pid_of "$C_beta")
a_holder=$(cat "$BD/state/pods/k8s.io/$P_alpha/ns/pause.pid" 2>/dev/null)

section "a pod record made unreadable while berthd was down"
berthd_kill9
printf '{"id": "%s", "state": "rea' "$P_alpha" >"$META/pods/$P_alpha.json"
berthd_start --insecure-registry "$REG_BD"
pass "berthd serves with a torn pod record"
[ -e "$META/pods/$P_alpha.json.corrupt" ] && pass "the record is set aside as .corrupt" ||
  fail "no $P_alpha.json.corrupt: $(ls "$META/pods")"
[ -e "$META/pods/$P_alpha.json" ] && fail "the torn record is still read at every start" || pass "the torn record is not read again"
assert_contains "$(cat "$BD/berthd.log")" "recover: skipped" "the log says a record was skipped"
assert_contains "$(grep "recover: skipped" "$BD/berthd.log")" "$P_alpha" "... naming it"
assert_eq "$P_beta" "$(b pods -q 2>&1)" "only the readable pod is listed"
assert_eq "$C_beta" "$(b ps -q 2>&1)" "only its container is listed"
assert_contains "$(grep "recover: removing pod" "$BD/berthd.log")" "$P_alpha" "the unclaimed pod's removal is logged"
wait_until 10 bash -c "! kill -0 $a_pid 2>/dev/null" && pass "the unclaimed pod's container no longer runs" ||
  fail "container $a_pid of the unclaimed pod still runs"
[ -n "$a_holder" ] && ! proc_alive "$a_holder" && pass "its PID namespace holder is stopped" ||
  fail "its PID holder (${a_holder:-none recorded}) still runs"
assert_eq "" "$(pod_leftovers "$P_alpha")" "nothing of the unclaimed pod is left (dir, shim dir, mounts, shim)"
[ -e "$BD/state/bundles/k8s.io/$C_alpha" ] && fail "its container's bundle is left" || pass "its container's bundle is removed"
assert_eq "" "$("$BERTH" --root "$BD/state/runtime/berth/k8s.io" list -q 2>/dev/null | grep -x "$C_alpha")" \
  "the runtime no longer knows its container"
proc_alive "$b_pid" && pass "the other pod's container ran on" || fail "the other pod's container died"
assert_eq beta-ok "$(b exec "$C_beta" echo beta-ok 2>&1)" "exec into the other pod works"
p=$(b runp "$TEST_DIR/alpha.json" 2>&1)
[[ $p =~ ^[0-9a-f]{64}$ ]] && [ "$p" != "$P_alpha" ] && pass "kubelet's RunPodSandbox makes the pod again (a new id)" ||
  fail "runp alpha again: $p"
P_alpha2=$p

section "a container record made unreadable while berthd was down"
berthd_kill9
echo '{"id": 42}' >"$META/containers/$C_beta.json"
berthd_start --insecure-registry "$REG_BD"
assert_contains "$(grep "recover: skipped" "$BD/berthd.log" | tail -n 3)" "$C_beta" "the container record is skipped, named"
assert_eq "" "$(b ps -a -q 2>&1)" "the container is not listed"
assert_contains "$(grep "recover: removing container" "$BD/berthd.log")" "$C_beta" "its removal is logged"
wait_until 10 bash -c "! kill -0 $b_pid 2>/dev/null" && pass "the unclaimed container no longer runs" ||
  fail "container $b_pid still runs"
[ -e "$BD/state/bundles/k8s.io/$C_beta" ] && fail "its bundle is left" || pass "its bundle is removed"
assert_eq SANDBOX_READY "$(b inspectp "$P_beta" | jq -r .status.state)" "its pod stays ready"
c=$(b create "$P_beta" "$TEST_DIR/beta-ctr.json" "$TEST_DIR/beta.json" 2>&1) && b start "$c" >/dev/null 2>&1
assert_eq 0 $? "the pod takes the container again (kubelet's CreateContainer): $c"
assert_eq again "$(b exec "$c" echo again 2>&1)" "exec into the new container"

section "empty, torn and misnamed records, an unfinished write"
berthd_kill9
: >"$META/pods/0000000000000000000000000000000000000000000000000000000000000001.json"
cp "$META/pods/$P_beta.json" "$META/pods/00000000000000000000000000000000000000000000000000000000000000ff.json"
echo 'partial' >"$META/pods/$P_beta.json.tmp-123"
head -c 100 /dev/urandom >"$META/containers/0000000000000000000000000000000000000000000000000000000000000002.json"
berthd_start --insecure-registry "$REG_BD"
assert_eq "$(printf '%s\n' "$P_alpha2" "$P_beta" | sort)" "$(b pods -q 2>&1 | sort)" "the two good pods are listed, nothing else"
for f in pods/0000000000000000000000000000000000000000000000000000000000000001.json \
  pods/00000000000000000000000000000000000000000000000000000000000000ff.json \
  containers/0000000000000000000000000000000000000000000000000000000000000002.json; do
  [ -e "$META/$f.corrupt" ] && [ ! -e "$META/$f" ] && pass "$(basename "$(dirname "$f")") record ${f##*/} set aside" ||
    fail "$f not set aside"
done
[ -e "$META/pods/$P_beta.json.tmp-123" ] && fail "the unfinished write is left" || pass "the unfinished write is dropped"
assert_eq SANDBOX_READY "$(b inspectp "$P_beta" | jq -r .status.state)" "the pod whose record was copied is untouched"
assert_eq CONTAINER_RUNNING "$(b inspectc "$c" | jq -r .status.state)" "its container runs on"
n=$(grep -c "berthd serving" "$BD/berthd.log")
assert_eq 4 "$n" "berthd started every time (4 starts)"

section "nothing left"
for p in $(b pods -q 2>/dev/null); do b rmp -f "$p" >/dev/null 2>&1 || fail "rmp -f $p"; done
assert_eq "" "$(shims_of_berthd)" "no shim left"
assert_eq "" "$(pgrep -f "berth-shim pause $BD/")" "no PID namespace holder left"
assert_eq "" "$(awk -v d="$BD/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo)" "no mount left"
assert_eq "" "$(ls "$BD/state/pods/k8s.io" "$BD/state/shims" "$BD/state/bundles/k8s.io" 2>/dev/null | grep -v ':$' | grep .)" \
  "no pod dir, shim dir or bundle left"
assert_eq "" "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/$CG_PARENT/*" 2>/dev/null)" "no container cgroup left"
