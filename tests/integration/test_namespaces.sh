#!/bin/bash
# Namespaces, seen from inside the container: pid 1, hostname, new uts/ipc/net/mnt/cgroup/pid
# namespaces, a user namespace with id mappings, and joining namespaces by path.
source "$(dirname "$0")/lib.sh"

section "pid 1 and hostname"
BUNDLE_JQ='.hostname = "berth-ns-test"' run_ctr sh -c 'echo "$$ $(hostname)"'
expect_run "container runs"
assert_eq "1 berth-ns-test" "$OUT" "the container process is pid 1 and sees its hostname"

section "new namespaces differ from the host's"
BUNDLE_JQ='.linux.namespaces += [{"type": "cgroup"}]' \
  run_ctr sh -c 'for n in pid uts ipc net mnt cgroup; do echo "$n $(readlink /proc/self/ns/$n)"; done'
expect_run "container with pid uts ipc net mnt cgroup namespaces runs"
for n in pid uts ipc net mnt cgroup; do
  inside=$(awk -v n="$n" '$1 == n {print $2}' <<<"$OUT")
  assert_match "$inside" "^$n:\[[0-9]+\]\$" "$n namespace link readable inside"
  assert_ne "$(readlink /proc/self/ns/$n)" "$inside" "$n namespace differs from the host"
done
run_ctr sh -c 'readlink /proc/self/ns/cgroup; readlink /proc/self/ns/user'
assert_eq "$(readlink /proc/self/ns/cgroup; readlink /proc/self/ns/user)" "$OUT" \
  "namespaces not in the config (cgroup, user) are the host's"
run_ctr sh -c 'ip link 2>/dev/null | grep -c "^[0-9]*:" || cat /proc/net/dev | tail -n +3 | wc -l'
assert_eq 1 "$OUT" "a new network namespace has only lo"

section "user namespace with id mappings"
USERNS_JQ='.linux.namespaces += [{"type": "user"}]
  | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
  | .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]'
BUNDLE_JQ=$USERNS_JQ run_ctr sh -c 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user'
expect_run "container with a user namespace runs"
lines=$(tr -s ' ' <<<"$OUT" | sed 's/^ //')
assert_eq 0 "$(sed -n 1p <<<"$lines")" "id -u is 0 inside"
assert_eq 0 "$(sed -n 2p <<<"$lines")" "id -g is 0 inside"
assert_eq "0 100000 65536" "$(sed -n 3p <<<"$lines")" "/proc/self/uid_map matches uidMappings"
assert_eq "0 200000 65536" "$(sed -n 4p <<<"$lines")" "/proc/self/gid_map matches gidMappings"
assert_ne "$(readlink /proc/self/ns/user)" "$(sed -n 5p <<<"$lines")" "user namespace differs from the host"

b=$(BUNDLE_JQ=$USERNS_JQ make_bundle sleep 1000)
run_detached "$b"
pid=$(ctr_pid "$ID")
assert_eq "100000 200000" "$(awk '/^Uid:/ {u=$2} /^Gid:/ {g=$2} END {print u, g}' /proc/"$pid"/status)" \
  "the host sees the container's root as uid 100000 / gid 200000"
rt delete --force "$ID"

section "joining namespaces by path"
netns=berth-it-$$
ip netns add "$netns" || die "ip netns add $netns"
on_exit ip netns delete "$netns"
ino=$(stat -L -c %i "/run/netns/$netns")
BUNDLE_JQ=".linux.namespaces |= map(if .type == \"network\" then .path = \"/run/netns/$netns\" else . end)" \
  run_ctr readlink /proc/self/ns/net
expect_run "container joining /run/netns/$netns runs"
assert_eq "net:[$ino]" "$OUT" "the container is in the netns created by ip netns add"

# Container B joins the uts and ipc namespaces of running container A.
a=$(BUNDLE_JQ='.hostname = "ns-owner"' make_bundle sleep 1000)
run_detached "$a"
ida=$ID
pida=$(ctr_pid "$ida")
BUNDLE_JQ="del(.hostname) | .linux.namespaces |= map(if .type == \"uts\" or .type == \"ipc\" then .path = \"/proc/$pida/ns/\" + .type else . end)" \
  run_ctr sh -c 'hostname; readlink /proc/self/ns/uts; readlink /proc/self/ns/ipc'
expect_run "container joining another container's uts and ipc namespaces runs"
assert_eq "ns-owner" "$(sed -n 1p <<<"$OUT")" "the joined uts namespace carries the first container's hostname"
assert_eq "$(readlink /proc/"$pida"/ns/uts)" "$(sed -n 2p <<<"$OUT")" "same uts namespace as container A"
assert_eq "$(readlink /proc/"$pida"/ns/ipc)" "$(sed -n 3p <<<"$OUT")" "same ipc namespace as container A"
rt delete --force "$ida"
