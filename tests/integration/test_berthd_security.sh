#!/bin/bash
# Every field of the CRI LinuxContainerSecurityContext (and the rest of a ContainerConfig
# that shapes the process) checked from INSIDE containers that a real berthd made: pods and
# containers created with berthctl over gRPC, then `berthctl exec` (ExecSync) reads
# /proc/self/status, /proc/self/mountinfo, id, /etc/resolv.conf … in the running container.
# test_daemon_spec.sh checks the same translation with berth alone; this one goes through
# berthd, its pods (namespaces, resolv.conf, sysctls), the shim's exec and the runtime.
# Needs root.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthd_lib.sh"
require_root
require_tools jq docker-registry

berthd_init sec
start_registry sec none

# --- the image: its own users and groups, an entrypoint that reports how it was called -----
R=$TEST_DIR/sec-rootfs
busybox_rootfs "$R"
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'app:x:1234:1234:app:/home/app:/bin/sh' \
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$R/etc/passwd"
printf '%s\n' 'root:x:0:' 'app:x:1234:' 'extra:x:5000:app' 'other:x:5001:nobody,app' \
  'unrelated:x:5002:nobody' 'nogroup:x:65534:' >"$R/etc/group"
mkdir -p "$R/home/app" "$R/srv/rodir" "$R/srv/work"
chown 1234:1234 "$R/home/app"
echo "top secret" >"$R/srv/secret"
cat >"$R/bin/entry" <<'EOF'
#!/bin/sh
echo "args=$*"
echo "cwd=$(pwd)"
env | sed 's/^/env:/'
exec sleep 1000
EOF
chmod 755 "$R/bin/entry"
berthd_push_image "$R" '{"Entrypoint": ["/bin/entry", "from-entrypoint"], "Cmd": ["from-cmd"],
  "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "IMG=image", "OVER=image"],
  "WorkingDir": "/srv/work"}' "$REG_SEC/test/sec:v1"
IMAGE=$REG_SEC/test/sec:v1

berthd_start --insecure-registry "$REG_SEC"
echo '{"cniVersion": "1.0.0", "name": "berth-sec-lo", "plugins": [{"type": "loopback"}]}' \
  >"$BD/cni/10-lo.conflist"
b img pull "$IMAGE" >/dev/null 2>&1 || die "pull $IMAGE: $(b img pull "$IMAGE" 2>&1)"

# --- helpers ------------------------------------------------------------------------------
# A pod: sec_pod NAME JQ_EDIT (applied to pod_json NAME POD). Prints nothing; sets POD_<NAME>.
sec_pod() {
  pod_json "$1" POD | jq "$2" >"$TEST_DIR/pod-$1.json" || die "pod json $1"
  local id
  id=$(b runp "$TEST_DIR/pod-$1.json" 2>&1)
  [[ $id =~ ^[0-9a-f]{64}$ ]] || die "runp $1: $id"
  printf -v "POD_${1//-/_}" '%s' "$id"
}
# sec_ctr POD NAME JQ_EDIT — creates a container (sleep 1000 in the image, edited by JQ_EDIT)
# in pod POD; prints its id, or the error with status 1.
sec_ctr() {
  local pod=$1 name=$2 edit=${3:-.} podvar="POD_${1//-/_}" id
  jq -n --arg n "$name" --arg img "$IMAGE" \
    '{metadata: {name: $n}, image: {image: $img}, command: ["sleep", "1000"], log_path: ($n + ".log"),
      linux: {security_context: {}}}' | jq "$edit" >"$TEST_DIR/ctr-$name.json" || die "ctr json $name"
  id=$(b create "${!podvar}" "$TEST_DIR/ctr-$name.json" "$TEST_DIR/pod-$pod.json" 2>&1) || { echo "$id"; return 1; }
  [[ $id =~ ^[0-9a-f]{64}$ ]] || { echo "$id"; return 1; }
  echo "$id"
}
# run_ctr_in POD NAME JQ_EDIT — create + start; sets C (the id) or fails the check.
run_in() {
  C=$(sec_ctr "$@") || { fail "create $2: $C"; C=""; return 1; }
  local out
  out=$(b start "$C" 2>&1) || { fail "start $2: $out"; return 1; }
  wait_until 10 ctr_state_is "$C" CONTAINER_RUNNING || { fail "$2 is not running: $(b inspectc "$C" | jq -c .status)"; return 1; }
}
x() { local id=$1; shift; b exec "$id" sh -c "$*" 2>&1; }   # ExecSync of a shell line
status_of() { x "$1" "awk '/^$2:/ {print \$2}' /proc/self/status"; }
hex() { printf '%016x' "$1"; }
bit() { echo $((1 << $1)); }
HOST_BND=$((16#$(awk '/^CapBnd/ {print $2}' /proc/self/status)))
DEFAULT_CAPS=$((16#a80425fb))  # containerd's default set (image::DefaultCapabilities)
CAP_CHOWN=0 CAP_KILL=5 CAP_NET_ADMIN=12 CAP_SYS_ADMIN=21 CAP_MKNOD=27

sec_pod sec '.hostname = "sec-host"
  | .dns_config = {servers: ["192.0.2.53", "198.51.100.53"], searches: ["svc.test", "test"], options: ["ndots:3", "timeout:2"]}
  | .linux.sysctls = {"kernel.shm_rmid_forced": "1", "net.ipv4.ip_unprivileged_port_start": "99"}
  | .linux.security_context.namespace_options = {network: "POD", pid: "POD", ipc: "POD"}'

section "capabilities: add/drop, drop ALL, add ALL (CapEff/CapBnd inside)"
run_in sec caps '.linux.security_context.capabilities = {add_capabilities: ["NET_ADMIN"], drop_capabilities: ["MKNOD", "CAP_CHOWN"]}'
want=$(hex $(((DEFAULT_CAPS | $(bit $CAP_NET_ADMIN)) & ~$(bit $CAP_MKNOD) & ~$(bit $CAP_CHOWN))))
assert_eq "$want" "$(status_of "$C" CapEff)" "add NET_ADMIN, drop MKNOD and CAP_CHOWN: CapEff"
assert_eq "$want" "$(status_of "$C" CapBnd)" "... and CapBnd the same"
assert_eq 0000000000000000 "$(status_of "$C" CapAmb)" "... no ambient capabilities"
pid=$(b inspectc "$C" | jq -r .info.info.pid)
assert_eq "$want" "$(awk '/^CapEff/ {print $2}' /proc/"$pid"/status)" "the container's init has the same set (host's /proc)"
run_in sec dropall '.linux.security_context.capabilities = {drop_capabilities: ["ALL"]}'
assert_eq 0000000000000000 "$(status_of "$C" CapEff)" "drop ALL: CapEff empty"
assert_eq 0000000000000000 "$(status_of "$C" CapBnd)" "drop ALL: CapBnd empty"
assert_contains "$(x "$C" 'chown 1234 /tmp 2>&1; echo rc=$?')" "rc=1" "drop ALL: root cannot chown"
run_in sec dropall-kill '.linux.security_context.capabilities = {drop_capabilities: ["ALL"], add_capabilities: ["KILL"]}'
assert_eq "$(hex $(bit $CAP_KILL))" "$(status_of "$C" CapEff)" "drop ALL + add KILL: only KILL"
run_in sec addall '.linux.security_context.capabilities = {add_capabilities: ["ALL"], drop_capabilities: ["CHOWN"]}'
assert_eq "$(hex $((HOST_BND & ~$(bit $CAP_CHOWN))))" "$(status_of "$C" CapEff)" "add ALL + drop CHOWN: every capability berthd has but CHOWN"
run_in sec ambient '.linux.security_context.run_as_user = {value: 1234}
  | .linux.security_context.capabilities = {add_ambient_capabilities: ["NET_BIND_SERVICE"]}'
assert_eq "$(hex $(bit 10))" "$(status_of "$C" CapAmb)" "add_ambient_capabilities NET_BIND_SERVICE: CapAmb (uid 1234)"
assert_eq "$(hex $(bit 10))" "$(status_of "$C" CapEff)" "... and effective for the non-root user"
out=$(sec_ctr sec badcap '.linux.security_context.capabilities = {add_capabilities: ["NOT_A_CAP"]}')
assert_contains "$out" "INVALID_ARGUMENT" "an unknown capability: INVALID_ARGUMENT"
assert_contains "$out" "add_capabilities[0]" "... naming the field"

section "users: run_as_user / run_as_username / run_as_group from the image's passwd and group"
run_in sec uid 'del(.command) | .linux.security_context.run_as_user = {value: 1234}'
assert_eq "uid=1234(app) gid=1234(app) groups=1234(app),5000(extra),5001(other)" "$(x "$C" id)" \
  "run_as_user 1234: the passwd entry's gid and the image's group memberships"
assert_eq 0000000000000000 "$(status_of "$C" CapEff)" "a non-root user has no effective capabilities"
wait_until 5 grep -q ' F cwd=' "$TEST_DIR/logs/sec/uid.log"
assert_contains "$(b logs "$C" 2>&1)" "env:HOME=/home/app" "HOME from the passwd entry"
run_in sec uname '.linux.security_context.run_as_username = "app"'
assert_eq "1234 1234" "$(x "$C" 'echo $(id -u) $(id -g)')" "run_as_username app: uid and gid 1234"
run_in sec ugid '.linux.security_context.run_as_user = {value: 1234} | .linux.security_context.run_as_group = {value: 777}'
assert_eq "1234 777" "$(x "$C" 'echo $(id -u) $(id -g)')" "run_as_group 777 replaces the passwd gid"
assert_eq "777 5000 5001" "$(x "$C" "awk '/^Groups:/ {\$1=\"\"; print}' /proc/self/status | xargs -n1 | sort -n | xargs")" \
  "... the groups: the primary gid and the image's memberships"
run_in sec supp '.linux.security_context.run_as_user = {value: 1234} | .linux.security_context.supplemental_groups = [3000, 5000]'
assert_eq "1234 3000 5000 5001" "$(x "$C" "id -G | xargs -n1 | sort -n | xargs")" \
  "supplemental_groups [3000, 5000] merged with the image's (each once)"
run_in sec strict '.linux.security_context.run_as_user = {value: 1234} | .linux.security_context.supplemental_groups = [3000]
  | .linux.security_context.supplemental_groups_policy = "Strict"'
assert_eq "1234 3000" "$(x "$C" "id -G | xargs -n1 | sort -n | xargs")" \
  "supplemental_groups_policy Strict: the image's memberships are not merged"
run_in sec rootgroup '.linux.security_context.run_as_group = {value: 777}'
assert_eq "0 777" "$(x "$C" 'echo $(id -u) $(id -g)')" "run_as_group alone: the image's user (root) with gid 777"
run_in sec nobody '.linux.security_context.run_as_user = {value: 4242}'
assert_eq "4242 0" "$(x "$C" 'echo $(id -u) $(id -g)')" "a uid the image does not know: gid 0, no error"
out=$(sec_ctr sec mallory '.linux.security_context.run_as_username = "mallory"')
assert_contains "$out" "INVALID_ARGUMENT" "a run_as_username the image lacks: INVALID_ARGUMENT"
assert_contains "$out" "run_as_username" "... naming the field"

section "readonly_rootfs, no_new_privs"
run_in sec ro '.linux.security_context.readonly_rootfs = true | .linux.security_context.no_new_privs = true'
assert_contains "$(x "$C" 'touch /newfile; echo rc=$?')" "Read-only file system" "readonly_rootfs: a write to / fails"
assert_contains "$(x "$C" 'echo x >>/etc/resolv.conf; echo rc=$?')" "rc=1" "... so does one to the pod's resolv.conf"
assert_eq 1 "$(status_of "$C" NoNewPrivs)" "no_new_privs: NoNewPrivs 1"
run_in sec rw '.'
assert_contains "$(x "$C" 'touch /newfile && echo rc=$?')" "rc=0" "without readonly_rootfs / is writable"
assert_eq 0 "$(status_of "$C" NoNewPrivs)" "without no_new_privs: NoNewPrivs 0"

section "masked and readonly paths: the defaults and explicit lists"
C_RW=$C
mi() { x "$1" "awk '\$5 == \"$2\" {print \$6}' /proc/self/mountinfo | tail -n1"; }
# (this kernel has no /proc/kcore: the defaults that exist here)
assert_eq "character special file 1:3" "$(x "$C_RW" "stat -c '%F %t:%T' /proc/keys")" "default: /proc/keys masked by /dev/null"
assert_eq "" "$(x "$C_RW" 'cat /proc/timer_list')" "default: /proc/timer_list reads empty"
assert_ne "" "$(ls /sys/firmware)" "(the host's /sys/firmware is not empty)"
assert_eq "" "$(x "$C_RW" 'ls /sys/firmware')" "default: /sys/firmware is empty"
assert_match "$(mi "$C_RW" /proc/sys)" "^ro" "default: /proc/sys read-only"
assert_contains "$(x "$C_RW" 'echo 1 > /proc/sys/kernel/shm_rmid_forced; echo rc=$?')" "rc=1" "... writing to it fails"
run_in sec paths '.linux.security_context.masked_paths = ["/srv/secret"] | .linux.security_context.readonly_paths = ["/srv/rodir"]'
assert_eq "" "$(x "$C" 'cat /srv/secret')" "explicit masked_paths: /srv/secret reads empty"
assert_eq "character special file 1:3" "$(x "$C" "stat -c '%F %t:%T' /srv/secret")" "... masked by /dev/null"
assert_contains "$(x "$C" 'touch /srv/rodir/f; echo rc=$?')" "Read-only file system" "explicit readonly_paths: /srv/rodir is read-only"
assert_eq "regular empty file" "$(x "$C" "stat -c '%F' /proc/keys")" "explicit lists replace the defaults (kubelet sends its own)"
assert_contains "$(x "$C" 'touch /srv/work/f && echo rc=$?')" "rc=0" "... and the rest of /srv is writable"

section "seccomp: RuntimeDefault, Unconfined, Localhost"
run_in sec sc-default '.linux.security_context.seccomp = {profile_type: "RuntimeDefault"}'
assert_eq 2 "$(status_of "$C" Seccomp)" "RuntimeDefault: a seccomp filter (mode 2)"
# A new user namespace needs no capability; the default profile allows namespace flags of
# clone/unshare only with CAP_SYS_ADMIN (as Docker's), so this is the filter's refusal.
assert_contains "$(x "$C" 'unshare -U true; echo rc=$?')" "Operation not permitted" "RuntimeDefault: unshare(CLONE_NEWUSER) is refused"
assert_contains "$(x "$C" 'ls /bin >/dev/null && echo ok')" "ok" "RuntimeDefault: ordinary programs run"
run_in sec sc-unconfined '.linux.security_context.seccomp = {profile_type: "Unconfined"}'
assert_eq 0 "$(status_of "$C" Seccomp)" "Unconfined: no filter (mode 0)"
assert_contains "$(x "$C" 'unshare -U true && echo rc=$?')" "rc=0" "Unconfined: unshare -U works (the control for the check above)"
run_in sec sc-none '.'
assert_eq 0 "$(status_of "$C" Seccomp)" "no seccomp field: unconfined (kubelet sends one when the pod asks)"
cat >"$TEST_DIR/profile.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
EOF
run_in sec sc-local "$(jq -n --arg p "$TEST_DIR/profile.json" '".linux.security_context.seccomp = {profile_type: \"Localhost\", localhost_ref: \"\($p)\"}"' -r)"
assert_eq 2 "$(status_of "$C" Seccomp)" "Localhost: a seccomp filter"
assert_contains "$(x "$C" 'mkdir /tmp/d; echo rc=$?')" "Permission denied" "Localhost: mkdir gets the profile's errno (EACCES)"
assert_contains "$(x "$C" 'touch /tmp/f && echo rc=$?')" "rc=0" "Localhost: what the profile allows works"
out=$(sec_ctr sec sc-missing "$(jq -n --arg p "$TEST_DIR/none.json" '".linux.security_context.seccomp = {profile_type: \"Localhost\", localhost_ref: \"\($p)\"}"' -r)")
assert_contains "$out" "INVALID_ARGUMENT" "Localhost with a missing file: INVALID_ARGUMENT"
assert_contains "$out" "seccomp.localhost_ref" "... naming the field"

section "AppArmor and SELinux: what this host has"
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]; then
  run_in sec aa-default '.linux.security_context.apparmor = {profile_type: "RuntimeDefault"}'
  assert_ne "" "$(x "$C" 'cat /proc/self/attr/current')" "AppArmor: the container is confined"
else
  for t in RuntimeDefault Unconfined; do
    run_in sec "aa-${t,,}" ".linux.security_context.apparmor = {profile_type: \"$t\"}" &&
      pass "no AppArmor here: apparmor $t is accepted (as containerd)"
  done
  run_in sec aa-string '.linux.security_context.apparmor_profile = "runtime/default"' &&
    pass "... and the deprecated apparmor_profile runtime/default too"
  out=$(sec_ctr sec aa-named '.linux.security_context.apparmor = {profile_type: "Localhost", localhost_ref: "my-profile"}')
  assert_contains "$out" "INVALID_ARGUMENT" "a named AppArmor profile without AppArmor: INVALID_ARGUMENT"
  assert_contains "$out" "AppArmor is not enabled on this host" "... saying why"
fi
if [ -e /sys/fs/selinux/enforce ]; then
  echo "NOTE   SELinux is on here: labels are not checked by this test"
else
  run_in sec selinux '.linux.security_context.selinux_options = {user: "system_u", role: "system_r", type: "container_t", level: "s0:c1,c2"}' &&
    pass "no SELinux here: selinux_options are ignored (as containerd)"
fi

section "PID namespaces: POD, CONTAINER, TARGET, NODE"
run_in sec pid-pod '.command = ["sleep", "1001"]'
C_PODPID=$C
run_in sec pid-own '.command = ["sleep", "1002"] | .linux.security_context.namespace_options = {pid: "CONTAINER"}'
C_OWN=$C
assert_eq "sleep 1002" "$(x "$C_OWN" "tr '\0' ' ' </proc/1/cmdline" | sed 's/ $//')" "CONTAINER: its own command is pid 1"
assert_eq 1 "$(x "$C_OWN" "ps -o comm | grep -c '^sleep'")" "CONTAINER: it sees only its own sleep"
assert_ne "sleep 1001" "$(x "$C_PODPID" "tr '\0' ' ' </proc/1/cmdline" | sed 's/ $//')" "POD: pid 1 is the pod's, not the container's"
assert_contains "$(x "$C_PODPID" 'ps -o args')" "sleep 1000" "POD: it sees the other containers of the pod"
assert_contains "$(x "$C_PODPID" 'ps -o args')" "sleep 1001" "... and itself"
run_in sec pid-target "$(jq -n --arg t "$C_OWN" '".linux.security_context.namespace_options = {pid: \"TARGET\", target_id: \"\($t)\"}"' -r)"
assert_eq "sleep 1002" "$(x "$C" "tr '\0' ' ' </proc/1/cmdline" | sed 's/ $//')" "TARGET: the target container's process is pid 1"
C_NOTRUN=$(sec_ctr sec pid-notrunning '.linux.security_context.namespace_options = {pid: "CONTAINER"}')
out=$(sec_ctr sec pid-target2 "$(jq -n --arg t "$C_NOTRUN" '".linux.security_context.namespace_options = {pid: \"TARGET\", target_id: \"\($t)\"}"' -r)")
assert_contains "$out" "FAILED_PRECONDITION" "TARGET naming a container that is not running: FAILED_PRECONDITION"
C_EXITED=$(sec_ctr sec pid-exits '.command = ["true"] | .linux.security_context.namespace_options = {pid: "CONTAINER"}')
b start "$C_EXITED" >/dev/null 2>&1
wait_until 10 ctr_state_is "$C_EXITED" CONTAINER_EXITED || fail "pid-exits did not exit"
out=$(sec_ctr sec pid-target3 "$(jq -n --arg t "$C_EXITED" '".linux.security_context.namespace_options = {pid: \"TARGET\", target_id: \"\($t)\"}"' -r)")
assert_contains "$out" "FAILED_PRECONDITION" "TARGET naming a container that exited: FAILED_PRECONDITION"
out=$(sec_ctr sec pid-badtarget '.linux.security_context.namespace_options = {pid: "TARGET", target_id: "0123456789abcdef"}')
assert_contains "$out" "NOT_FOUND" "TARGET naming no container: NOT_FOUND"

sec_pod host '.linux.security_context.namespace_options = {network: "NODE", pid: "NODE", ipc: "NODE"}'
run_in host hostns '.linux.security_context.namespace_options = {pid: "NODE"}'
C_HOST=$C
assert_eq "$(tr '\0' ' ' </proc/1/cmdline)" "$(x "$C_HOST" "tr '\0' ' ' </proc/1/cmdline")" "NODE: pid 1 is the host's init"

section "host network and IPC, the pod's own namespaces"
assert_eq "$(readlink /proc/self/ns/net)" "$(x "$C_HOST" 'readlink /proc/self/ns/net')" "host network: the host's network namespace"
assert_eq "$(readlink /proc/self/ns/ipc)" "$(x "$C_HOST" 'readlink /proc/self/ns/ipc')" "host IPC: the host's IPC namespace"
assert_eq "$(hostname)" "$(x "$C_HOST" hostname)" "host network: the host's hostname"
assert_ne "$(readlink /proc/self/ns/net)" "$(x "$C_PODPID" 'readlink /proc/self/ns/net')" "pod network: its own namespace"
assert_ne "$(readlink /proc/self/ns/ipc)" "$(x "$C_PODPID" 'readlink /proc/self/ns/ipc')" "pod IPC: its own namespace"
assert_eq "$(x "$C_OWN" 'readlink /proc/self/ns/net')" "$(x "$C_PODPID" 'readlink /proc/self/ns/net')" "the pod's containers share it"

section "sysctls, hostname, DNS"
assert_eq 1 "$(x "$C_PODPID" 'cat /proc/sys/kernel/shm_rmid_forced')" "sysctl kernel.shm_rmid_forced (IPC) in the pod"
assert_eq 99 "$(x "$C_PODPID" 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start')" "sysctl net.ipv4.ip_unprivileged_port_start (network)"
assert_ne 99 "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" "... the host's is untouched"
assert_eq sec-host "$(x "$C_PODPID" hostname)" "hostname: the pod's"
assert_eq sec-host "$(x "$C_PODPID" 'cat /etc/hostname')" "/etc/hostname: the pod's"
resolv=$(x "$C_PODPID" 'cat /etc/resolv.conf')
assert_contains "$resolv" "nameserver 192.0.2.53" "resolv.conf: the first server"
assert_contains "$resolv" "nameserver 198.51.100.53" "resolv.conf: the second server"
assert_contains "$resolv" "search svc.test test" "resolv.conf: the searches"
assert_contains "$resolv" "options ndots:3 timeout:2" "resolv.conf: the options"
jq '.metadata.name = "netsysctl" | .metadata.uid = "netsysctl-uid" | .linux.sysctls = {"net.ipv4.ip_unprivileged_port_start": "99"}
  | .linux.security_context.namespace_options.network = "NODE"' "$TEST_DIR/pod-sec.json" >"$TEST_DIR/pod-netsysctl.json"
# Each container gets the pod's sysctls (berthd has no sandbox container): one no container
# of the pod could take is refused at RunPodSandbox already, and no pod is left.
out=$(b runp "$TEST_DIR/pod-netsysctl.json" 2>&1)
assert_contains "$out" "INVALID_ARGUMENT" "a network sysctl in a host-network pod: RunPodSandbox INVALID_ARGUMENT"
assert_contains "$out" "needs the pod's own network namespace" "... saying why"
assert_eq "" "$(b pods -q --name netsysctl 2>&1)" "... and no pod is left"
assert_ne 99 "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" "... and the host's value is untouched"

section "mounts: propagation (private, rslave, rshared) and read-only"
P=$TEST_DIR/prop
mkdir -p "$P" "$TEST_DIR/rovol"
echo data >"$TEST_DIR/rovol/file"
on_exit "umount -R $P"
mount --bind "$P" "$P" && mount --make-shared "$P" || die "cannot make $P a shared mount"
mnts=$(jq -n --arg p "$P" --arg ro "$TEST_DIR/rovol" '[
  {container_path: "/mnt/priv", host_path: $p, propagation: "PROPAGATION_PRIVATE"},
  {container_path: "/mnt/slave", host_path: $p, propagation: "PROPAGATION_HOST_TO_CONTAINER"},
  {container_path: "/mnt/shared", host_path: $p, propagation: "PROPAGATION_BIDIRECTIONAL"},
  {container_path: "/mnt/ro", host_path: $ro, readonly: true, selinux_relabel: true}]')
run_in sec mounts ".mounts = $mnts"
fields() { x "$1" "awk '\$5 == \"$2\" {for (i = 7; \$i != \"-\"; i++) printf \"%s \", \$i; print \"\"}' /proc/self/mountinfo | tail -n1"; }
# Peer group ids are global: the host's shared mount is in group G; in the container an
# rshared mount is a peer of G, an rslave one its slave (master:G), a private one neither.
# (A mount may also be shared in a group of its own: the root's rshared propagation,
# applied last, as runc does, gives every mount one; that reaches no other namespace.)
G=$(awk -v m="$P" '$5 == m {for (i = 7; $i != "-"; i++) if ($i ~ /^shared:/) print substr($i, 8)}' /proc/self/mountinfo)
f=$(fields "$C" /mnt/priv)
assert_not_contains " $f" " shared:$G " "private: not a peer of the host's group $G ($f)"
assert_not_contains " $f" "master:" "private: no master"
f=$(fields "$C" /mnt/slave)
assert_contains " $f" " master:$G " "rslave (HOST_TO_CONTAINER): a slave of the host's group ($f)"
assert_not_contains " $f" " shared:$G " "rslave: not a peer (nothing goes back)"
f=$(fields "$C" /mnt/shared)
assert_contains " $f" " shared:$G " "rshared (BIDIRECTIONAL): a peer of the host's group ($f)"
mkdir -p "$P/sub"
mount -t tmpfs -o size=1m berth-sec-prop "$P/sub" || fail "mount on the host under $P"
assert_eq "" "$(x "$C" "awk '\$5 == \"/mnt/priv/sub\"' /proc/self/mountinfo")" "private: a host mount made later is not seen"
assert_ne "" "$(x "$C" "awk '\$5 == \"/mnt/slave/sub\"' /proc/self/mountinfo")" "rslave: a host mount made later is seen"
assert_ne "" "$(x "$C" "awk '\$5 == \"/mnt/shared/sub\"' /proc/self/mountinfo")" "rshared: a host mount made later is seen"
umount "$P/sub"
assert_eq "" "$(x "$C" "awk '\$5 == \"/mnt/slave/sub\"' /proc/self/mountinfo")" "rslave: the host's unmount is seen too"
assert_eq data "$(x "$C" 'cat /mnt/ro/file')" "read-only mount: readable"
assert_contains "$(x "$C" 'touch /mnt/ro/new; echo rc=$?')" "Read-only file system" "read-only mount: a write fails"
assert_match "$(mi "$C" /mnt/ro)" "^ro" "read-only mount: ro in mountinfo (its selinux_relabel ignored without SELinux)"
assert_eq "" "$(awk -v d="$BD/" 'index($5, d) == 1 && $5 ~ /rootfs\/(proc|dev|sys)/' /proc/self/mountinfo)" \
  "the container's own mounts (proc, dev, sys) did not propagate back to the host's rootfs"

section "devices"
# The device cgroup allows by major:minor, so the read-only check needs a device of its own.
devs='[{host_path: "/dev/fuse", container_path: "/dev/fuse", permissions: "r"},
  {host_path: "/dev/null", container_path: "/dev/mynull", permissions: "rwm"}]'
run_in sec devices ".devices = $devs"
assert_eq "character special file a:e5" "$(x "$C" "stat -c '%F %t:%T' /dev/fuse")" "/dev/fuse (10:229) is there"
assert_contains "$(x "$C" ': </dev/fuse && echo opened')" "opened" "... and may be opened for reading (device cgroup)"
assert_contains "$(x "$C" 'echo x >/dev/fuse; echo rc=$?')" "Operation not permitted" "... not for writing (permissions r)"
assert_eq "character special file 1:3" "$(x "$C" "stat -c '%F %t:%T' /dev/mynull")" "/dev/null aliased as /dev/mynull"
assert_contains "$(x "$C" 'echo x >/dev/mynull && echo written')" "written" "/dev/mynull (rwm) is writable"
assert_contains "$(x "$C_RW" 'ls /dev/fuse 2>&1')" "No such file" "a container without devices has no /dev/fuse"
out=$(sec_ctr sec nodev '.devices = [{host_path: "/dev/no-such-device", container_path: "/dev/x", permissions: "rwm"}]')
assert_contains "$out" "INVALID_ARGUMENT" "a device the host lacks: INVALID_ARGUMENT"

section "command, args, env and working dir merged with the image's"
logs_of() { wait_until 5 grep -q '^.* F cwd=' "$TEST_DIR/logs/sec/$1.log"; b logs "$2" 2>&1; }
run_in sec cmd-image 'del(.command)'
l=$(logs_of cmd-image "$C")
assert_contains "$l" "args=from-entrypoint from-cmd" "neither command nor args: the image's Entrypoint + Cmd"
assert_contains "$l" "cwd=/srv/work" "the image's WorkingDir"
assert_contains "$l" "env:IMG=image" "the image's Env"
assert_contains "$l" "env:HOSTNAME=sec-host" "HOSTNAME is the pod's"
assert_contains "$l" "env:HOME=/root" "HOME from root's passwd entry"
run_in sec cmd-args 'del(.command) | .args = ["a1", "a 2"] | .working_dir = "/tmp"
  | .envs = [{key: "OVER", value: "request"}, {key: "NEW", value: "x=y"}]'
l=$(logs_of cmd-args "$C")
assert_contains "$l" "args=from-entrypoint a1 a 2" "args alone replace the image's Cmd, its Entrypoint stays"
assert_contains "$l" "cwd=/tmp" "working_dir replaces the image's"
assert_contains "$l" "env:OVER=request" "envs replace the image's value"
assert_not_contains "$l" "env:OVER=image" "... not added twice"
assert_contains "$l" "env:NEW=x=y" "envs add new variables"
assert_contains "$l" "env:IMG=image" "... and keep the image's others"
run_in sec cmd-command '.command = ["/bin/entry", "c1"]'
l=$(logs_of cmd-command "$C")
assert_contains "$l" "args=c1" "command replaces the Entrypoint and drops the Cmd"
run_in sec cmd-both '.command = ["/bin/entry", "c1"] | .args = ["a1"]'
l=$(logs_of cmd-both "$C")
assert_contains "$l" "args=c1 a1" "command + args"

section "resources: cpu, memory, oom_score_adj"
run_in sec res '.linux.resources = {cpu_shares: 512, cpu_quota: 50000, cpu_period: 100000,
  memory_limit_in_bytes: 67108864, oom_score_adj: 500, cpuset_cpus: "0", cpuset_mems: "0",
  hugepage_limits: [{page_size: "2MB", limit: 4194304}]}'
pid=$(b inspectc "$C" | jq -r .info.info.pid)
cg_file() {  # CONTROLLER FILE — the container's cgroup file on the host (v1 or v2)
  local rel
  rel=$(awk -F: -v c="$1" '$2 == c || ($2 == "" && c == "") {print $3}' /proc/"$pid"/cgroup | head -n1)
  [ -z "$rel" ] && rel=$(awk -F: '$1 == 0 {print $3}' /proc/"$pid"/cgroup)
  if [ -d "/sys/fs/cgroup/$1" ]; then cat "/sys/fs/cgroup/$1$rel/$2"; else cat "/sys/fs/cgroup$rel/$2"; fi
}
if [ -d /sys/fs/cgroup/cpu ]; then
  assert_eq 512 "$(cg_file cpu,cpuacct cpu.shares 2>/dev/null || cg_file cpu cpu.shares)" "cpu_shares: cpu.shares 512"
  assert_eq 50000 "$(cg_file cpu,cpuacct cpu.cfs_quota_us 2>/dev/null || cg_file cpu cpu.cfs_quota_us)" "cpu_quota: cfs_quota_us"
  assert_eq 100000 "$(cg_file cpu,cpuacct cpu.cfs_period_us 2>/dev/null || cg_file cpu cpu.cfs_period_us)" "cpu_period: cfs_period_us"
  assert_eq 67108864 "$(cg_file memory memory.limit_in_bytes)" "memory_limit_in_bytes: memory.limit_in_bytes"
  [ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ] &&
    assert_eq 67108864 "$(cg_file memory memory.memsw.limit_in_bytes)" "no swap limit asked: memsw = the memory limit (no swapping, as containerd)"
  assert_eq 0 "$(cg_file cpuset cpuset.cpus)" "cpuset_cpus: cpuset.cpus"
  assert_eq 0 "$(cg_file cpuset cpuset.mems)" "cpuset_mems: cpuset.mems"
else
  assert_eq "50000 100000" "$(cg_file "" cpu.max)" "cpu_quota/period: cpu.max"
  assert_eq 67108864 "$(cg_file "" memory.max)" "memory_limit_in_bytes: memory.max"
fi
assert_contains "$(cat /proc/"$pid"/cgroup)" "/$CG_PARENT/$C" "the container's cgroup is under the pod's parent"
# hugetlb: a v1 controller, or (hybrid hosts like this one) the cgroup2 tree's.
if [ -d /sys/fs/cgroup/hugetlb ]; then
  assert_eq 4194304 "$(cg_file hugetlb hugetlb.2MB.limit_in_bytes)" "hugepage_limits 2MB: hugetlb.2MB.limit_in_bytes"
elif [ -d /sys/fs/cgroup/unified ]; then
  rel=$(awk -F: '$1 == 0 {print $3}' /proc/"$pid"/cgroup)
  assert_eq 4194304 "$(cat "/sys/fs/cgroup/unified$rel/hugetlb.2MB.max")" "hugepage_limits 2MB: hugetlb.2MB.max (cgroup2 tree of a hybrid host)"
else
  assert_eq 4194304 "$(cg_file "" hugetlb.2MB.max)" "hugepage_limits 2MB: hugetlb.2MB.max"
fi
out=$(sec_ctr sec res-bad '.linux.resources = {hugepage_limits: [{page_size: "3MB", limit: 1}]}')
assert_contains "$out" "INVALID_ARGUMENT" "a huge page size the host lacks: INVALID_ARGUMENT"
assert_eq 500 "$(x "$C" 'cat /proc/self/oom_score_adj')" "oom_score_adj 500 inside"
assert_eq 500 "$(cat /proc/"$pid"/oom_score_adj)" "... and on its init"
BERTHD_OOM=$(cat /proc/"$BERTHD_PID"/oom_score_adj)
run_in sec res-low '.linux.resources = {oom_score_adj: -999}'
assert_eq "$BERTHD_OOM" "$(x "$C" 'cat /proc/self/oom_score_adj')" "oom_score_adj below berthd's own is raised to berthd's ($BERTHD_OOM), not refused"

section "privileged"
sec_pod priv '.linux.security_context.privileged = true
  | .linux.security_context.namespace_options = {network: "POD", pid: "CONTAINER", ipc: "POD"}'
run_in priv priv '.linux.security_context.privileged = true | .linux.security_context.namespace_options = {pid: "CONTAINER"}
  | .linux.security_context.seccomp = {profile_type: "RuntimeDefault"}
  | .linux.security_context.masked_paths = ["/srv/secret"]
  | .mounts = [{container_path: "/mnt/shared", host_path: "'"$P"'", propagation: "PROPAGATION_BIDIRECTIONAL"}]'
C_PRIV=$C
assert_eq "$(hex $HOST_BND)" "$(status_of "$C_PRIV" CapEff)" "privileged: every capability berthd holds"
assert_eq 0 "$(status_of "$C_PRIV" Seccomp)" "privileged: no seccomp filter, RuntimeDefault or not"
assert_eq 0 "$(status_of "$C_PRIV" NoNewPrivs)" "privileged: NoNewPrivs 0"
host_devs=$(find /dev -maxdepth 1 -type c ! -name console ! -name ptmx | sort)
ctr_devs=$(x "$C_PRIV" 'find /dev -maxdepth 1 -type c' | sort)
assert_eq "" "$(comm -23 <(echo "$host_devs") <(echo "$ctr_devs") | tr '\n' ' ')" \
  "privileged: every character device of the host's /dev is there ($(echo "$host_devs" | wc -l))"
assert_contains "$(x "$C_PRIV" 'ls /dev/fuse /dev/loop-control 2>&1')" "/dev/fuse" "privileged: /dev/fuse without asking"
assert_match "$(mi "$C_PRIV" /sys)" "^rw" "privileged: /sys is mounted read-write"
assert_match "$(mi "$C_RW" /sys)" "^ro" "(not privileged: /sys is read-only)"
assert_eq "top secret" "$(x "$C_PRIV" 'cat /srv/secret')" "privileged: no masked paths"
assert_contains "$(x "$C_PRIV" 'mkdir -p /mnt/shared/back && mount -t tmpfs -o size=1m berth-sec-back /mnt/shared/back && echo mounted')" "mounted" \
  "privileged + BIDIRECTIONAL: a mount inside the container"
assert_ne "" "$(awk -v m="$P/back" '$5 == m' /proc/self/mountinfo)" "... appears on the host"
umount "$P/back" 2>/dev/null
out=$(sec_ctr sec notpriv '.linux.security_context.privileged = true')
assert_contains "$out" "INVALID_ARGUMENT" "a privileged container in a pod that is not: INVALID_ARGUMENT"

section "cleanup"
for p in $(b pods -q 2>/dev/null); do b rmp -f "$p" >/dev/null 2>&1 || fail "rmp -f $p"; done
assert_eq "" "$(b ps -a -q 2>&1)" "no container left"
assert_eq "" "$(shims_of_berthd)" "no shim left"
umount -R "$P" 2>/dev/null
assert_eq "" "$(awk -v d="$TEST_DIR/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo)" "no mount left under the test's dirs"
assert_eq "" "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/$CG_PARENT/*" 2>/dev/null)" "no container cgroup left"
berthd_stop
