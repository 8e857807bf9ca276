#!/bin/bash
# Namespaces, seen from inside the container: pid 1, hostname, new uts/ipc/net/mnt/cgroup/pid
# namespaces, a user namespace with id mappings, joining namespaces by path, a container
# without a mount namespace of its own (chroot, no mount; what needs one is refused) and one
# joining another container's mount namespace.
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

# --- mount namespaces that are not the container's own -----------------------------------
# berth-specific: runc 1.1 prepares the rootfs in whatever mount namespace the init is in
# (it makes / rslave, binds the rootfs onto itself, mounts /proc ... there): run with runc,
# these checks would change the host's mounts or the joined container's.
# A config that asks for no mount: no "mount" namespace, no mounts, maskedPaths,
# readonlyPaths, devices, rootfsPropagation, readonly root.
NO_MOUNTS_JQ='.mounts = [] | .linux.maskedPaths = [] | .linux.readonlyPaths = [] | .root.readonly = false
  | del(.linux.rootfsPropagation) | .linux.devices = []'
NO_MNT_NS_JQ="$NO_MOUNTS_JQ | del(.linux.namespaces[] | select(.type == \"mount\"))"
host_root_mount() { awk '$5 == "/" {print $6, $7}' /proc/self/mountinfo | head -n1; }

if berth_specific "a config without a mount namespace runs in the runtime's, without mounting"; then
  section "no mount namespace: the container shares the runtime's and mounts nothing"
  root_before=$(host_root_mount)
  b=$(BUNDLE_JQ=$NO_MNT_NS_JQ make_bundle sh -c 'cat /marker; ls /proc | wc -l; echo pid=$$')
  echo in-rootfs >"$b/rootfs/marker"
  run_bundle "$b"
  expect_run "a container without a mount namespace runs"
  assert_eq in-rootfs "$(sed -n 1p <<<"$OUT")" "its root is root.path (it reads the rootfs's /marker)"
  assert_eq 0 "$(sed -n 2p <<<"$OUT")" "no /proc was mounted in it (the rootfs's empty directory)"
  assert_eq pid=1 "$(sed -n 3p <<<"$OUT")" "its other namespaces are still new (pid 1)"
  assert_eq "$root_before" "$(host_root_mount)" "the host's / keeps its propagation and options"
  assert_eq "" "$(awk -v d="$b" 'index($5, d) == 1' /proc/self/mountinfo)" "nothing was mounted on the host under the bundle"

  b=$(BUNDLE_JQ=$NO_MNT_NS_JQ make_bundle sleep 1000)
  echo in-rootfs >"$b/rootfs/marker"
  run_detached "$b"
  pid=$(ctr_pid "$ID")
  assert_eq "$(readlink /proc/self/ns/mnt)" "$(readlink /proc/"$pid"/ns/mnt 2>&1)" "the init is in the runtime's mount namespace"
  assert_eq "$b/rootfs" "$(readlink /proc/"$pid"/root 2>&1)" "the init's root is the rootfs (chroot)"
  assert_eq in-rootfs "$(rt exec "$ID" cat /marker 2>&1)" "exec runs in the container's root too"
  rt delete --force "$ID"

  section "no mount namespace: what needs one is refused, naming the field"
  for edit in '.mounts = [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]|mounts\[0\] \(/tmp\)' \
    '.linux.maskedPaths = ["/proc/kcore"]|linux\.maskedPaths' \
    '.linux.readonlyPaths = ["/proc/sys"]|linux\.readonlyPaths' \
    '.root.readonly = true|root\.readonly' \
    '.linux.rootfsPropagation = "rslave"|linux\.rootfsPropagation' \
    '.linux.devices = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]|linux\.devices'; do
    b=$(BUNDLE_JQ="$NO_MNT_NS_JQ | ${edit%%|*}" make_bundle true)
    id=$(new_id)
    assert_fails_with "${edit##*|}: needs a mount namespace of the container's own: without a .{0,2}mount.{0,2} entry" \
      rt run --bundle "$b" "$id"
    assert_nothing_left "$id" "refused ${edit%%|*}"
  done
  assert_eq "$root_before" "$(host_root_mount)" "the host's / is unchanged after the refused configs"
fi

if berth_specific "a joined mount namespace is used as it is (runc would re-mount the rootfs in it)"; then
  section "joining another container's mount namespace by path"
  a=$(make_bundle sleep 1000)
  echo from-A >"$a/rootfs/a-marker"
  run_detached "$a"
  ida=$ID
  pida=$(ctr_pid "$ida")
  mounts_a=$(wc -l <"/proc/$pida/mountinfo")
  JOIN_JQ="$NO_MOUNTS_JQ | .root.path = \"/\"
    | .linux.namespaces |= map(if .type == \"mount\" then .path = \"/proc/$pida/ns/mnt\" else . end)"
  b=$(BUNDLE_JQ=$JOIN_JQ make_bundle sh -c 'cat /a-marker')
  run_bundle "$b"
  expect_run "a container joining container A's mount namespace runs"
  assert_eq from-A "$OUT" "with root.path \"/\" its root is the joined namespace's: it reads A's files"
  b=$(BUNDLE_JQ=$JOIN_JQ make_bundle sleep 1000)
  run_detached "$b"
  idb=$ID
  assert_eq "$(readlink /proc/"$pida"/ns/mnt)" "$(readlink /proc/"$(ctr_pid "$idb")"/ns/mnt 2>&1)" \
    "B is in A's mount namespace"
  assert_eq from-A "$(rt exec "$idb" cat /a-marker 2>&1)" "exec into B sees A's files"
  assert_eq "$mounts_a" "$(wc -l <"/proc/$pida/mountinfo")" "B mounted nothing in A's namespace"
  rt delete --force "$idb"

  b=$(BUNDLE_JQ="$JOIN_JQ | .root.path = \"rootfs\"" make_bundle true)
  id1=$(new_id)
  assert_fails_with "root.path: chdir $b/rootfs: resolved in the joined mount namespace /proc/$pida/ns/mnt" \
    rt run --bundle "$b" "$id1"
  b=$(BUNDLE_JQ="$JOIN_JQ | .linux.maskedPaths = [\"/proc/kcore\"]" make_bundle true)
  id2=$(new_id)
  assert_fails_with "linux.maskedPaths: needs a mount namespace of the container's own: the container joins the mount namespace /proc/$pida/ns/mnt" \
    rt run --bundle "$b" "$id2"
  assert_eq "$mounts_a" "$(wc -l <"/proc/$pida/mountinfo")" "A's mounts are unchanged"
  rt delete --force "$ida"
  assert_nothing_left "$id1" "root.path missing in the joined namespace"
  assert_nothing_left "$id2" "maskedPaths in a joined mount namespace"
fi
