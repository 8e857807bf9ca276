#!/bin/bash
# berthd's CRI -> OCI translation (src/daemon/container_spec*.cc) checked from inside real
# containers: berth-spec-ctl turns a CRI ContainerConfig (crictl's JSON) into the bundle's
# config.json on a busybox rootfs, berth runs it, and the container reports its uid, gids,
# capabilities, no_new_privs, seccomp mode and whether its rootfs is writable.
source "$(dirname "$0")/lib.sh"

BERTH_BUILD_DIR=${BERTH_BUILD_DIR:-$(dirname "$(readlink -f "$BERTH")")}
CTL=${BERTH_SPEC_CTL:-$BERTH_BUILD_DIR/tests/berth-spec-ctl}
[ -x "$CTL" ] || die "$CTL not built (ninja berth-spec-ctl)"

# spec_bundle CONTAINER_JSON [SANDBOX_JSON] — a busybox bundle whose config.json is
# BuildContainerSpec's; the pod's network, IPC and UTS namespaces are new ones (a pod's
# would be joined). Sets BUNDLE and CTL_ERR, returns berth-spec-ctl's status.
spec_bundle() {
  BUNDLE=$(make_bundle) || exit 1
  rm "$BUNDLE/config.json"
  printf '%s' "$1" >"$BUNDLE/container.json"
  printf '%s' "${2:-{\}}" >"$BUNDLE/sandbox.json"
  CTL_ERR=$("$CTL" --bundle "$BUNDLE" --container "$BUNDLE/container.json" \
    --sandbox "$BUNDLE/sandbox.json" 2>&1) || return 1
  edit_config "$BUNDLE" '.linux.namespaces += [{"type":"network"},{"type":"ipc"},{"type":"uts"}]'
}

# container_json SCRIPT SECURITY_CONTEXT_JSON — a ContainerConfig running `sh -c SCRIPT`.
container_json() {
  jq -n --arg s "$1" --argjson sc "$2" '{
    metadata: {name: "check"}, image: {image: "busybox"},
    command: ["sh", "-c", $s],
    linux: {security_context: ({namespace_options: {pid: "CONTAINER"}} + $sc)}}'
}

report='echo "uid=$(id -u)"; echo "gid=$(id -g)"
  echo "groups=$(awk '\''/^Groups:/ {$1=""; print}'\'' /proc/self/status)"
  echo "eff=$(awk '\''/^CapEff/ {print $2}'\'' /proc/self/status)"
  echo "nnp=$(awk '\''/^NoNewPrivs/ {print $2}'\'' /proc/self/status)"
  echo "seccomp=$(awk '\''/^Seccomp:/ {print $2}'\'' /proc/self/status)"
  if touch /rootfs-write 2>/dev/null; then echo "rootfs=rw"; else echo "rootfs=ro"; fi'

section "non-root user, RuntimeDefault seccomp, read-only rootfs, no_new_privs"
sc='{"run_as_user": {"value": 1000}, "run_as_group": {"value": 1000},
     "supplemental_groups": [2000], "readonly_rootfs": true, "no_new_privs": true,
     "seccomp": {"profile_type": "RuntimeDefault"}}'
spec_bundle "$(container_json "$report; ls / >/dev/null && echo ls=ok; cat /etc/passwd >/dev/null && echo cat=ok" "$sc")" ||
  die "berth-spec-ctl: $CTL_ERR"
run_bundle "$BUNDLE"
expect_run "a container built from a CRI config runs"
assert_eq 1000 "$(kv uid)" "run_as_user: uid 1000"
assert_eq 1000 "$(kv gid)" "run_as_group: gid 1000"
groups=" $(kv groups) "
assert_contains "$groups" " 1000 " "the primary gid is a supplementary group too"
assert_contains "$groups" " 1001 " "the image's /etc/group membership (extra) is merged"
assert_contains "$groups" " 2000 " "supplemental_groups 2000 is there"
assert_eq 0000000000000000 "$(kv eff)" "a non-root user has no effective capabilities"
assert_eq 1 "$(kv nnp)" "no_new_privs: NoNewPrivs 1"
assert_eq 2 "$(kv seccomp)" "RuntimeDefault: a seccomp filter (mode 2)"
assert_eq ro "$(kv rootfs)" "readonly_rootfs: the root cannot be written"
assert_eq ok "$(kv ls)" "ls works under RuntimeDefault"
assert_eq ok "$(kv cat)" "cat works under RuntimeDefault"

section "root with capabilities added and dropped: wget and ping under RuntimeDefault"
sc='{"capabilities": {"add_capabilities": ["NET_ADMIN"], "drop_capabilities": ["MKNOD"]},
     "seccomp": {"profile_type": "RuntimeDefault"}}'
net='ip link set lo up; mkdir -p /tmp/www && echo served >/tmp/www/x
  httpd -p 127.0.0.1:8080 -h /tmp/www && sleep 0.2
  echo "wget=$(wget -q -O- http://127.0.0.1:8080/x 2>&1)"
  ping -c1 -W2 127.0.0.1 >/dev/null 2>&1 && echo ping=ok || echo ping=failed
  unshare -n true 2>/dev/null && echo unshare=allowed || echo unshare=denied
  mount -t tmpfs none /mnt 2>/dev/null && echo mount=allowed || echo mount=denied'
spec_bundle "$(container_json "$report; $net" "$sc")" || die "berth-spec-ctl: $CTL_ERR"
run_bundle "$BUNDLE"
expect_run "root container with NET_ADMIN runs"
assert_eq 0 "$(kv uid)" "uid 0 from the image's default user"
# containerd's default set (a80425fb) + CAP_NET_ADMIN (bit 12) - CAP_MKNOD (bit 27).
assert_eq 00000000a00435fb "$(kv eff)" "CapEff: the default set, NET_ADMIN added, MKNOD dropped"
assert_eq 0 "$(kv nnp)" "no_new_privs unset: NoNewPrivs 0"
assert_eq 2 "$(kv seccomp)" "RuntimeDefault: seccomp mode 2"
assert_eq rw "$(kv rootfs)" "the rootfs is writable without readonly_rootfs"
assert_eq served "$(kv wget)" "wget fetches from a local httpd"
assert_eq ok "$(kv ping)" "ping (CAP_NET_RAW) works"
assert_eq denied "$(kv unshare)" "unshare without CAP_SYS_ADMIN is denied"
assert_eq denied "$(kv mount)" "mount without CAP_SYS_ADMIN is denied"

section "a Localhost seccomp profile"
cat >"$TEST_DIR/profile.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
EOF
sc=$(jq -n --arg p "$TEST_DIR/profile.json" '{seccomp: {profile_type: "Localhost", localhost_ref: $p}}')
spec_bundle "$(container_json 'mkdir /tmp/d 2>&1; echo "rc=$?"; echo "seccomp=$(awk '\''/^Seccomp:/ {print $2}'\'' /proc/self/status)"' "$sc")" ||
  die "berth-spec-ctl: $CTL_ERR"
run_bundle "$BUNDLE"
expect_run "container with a Localhost profile runs"
assert_contains "$OUT" "Permission denied" "mkdir gets the profile's errno (EACCES)"
assert_eq 2 "$(kv seccomp)" "the profile is a seccomp filter"

section "privileged"
sc='{"privileged": true, "seccomp": {"profile_type": "RuntimeDefault"}}'
spec_bundle "$(container_json "$report; test -c /dev/null && echo null=ok" "$sc")" \
  '{"linux": {"security_context": {"privileged": true}}}' || die "berth-spec-ctl: $CTL_ERR"
run_bundle "$BUNDLE"
expect_run "privileged container runs"
host_bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
assert_eq "$host_bnd" "$(kv eff)" "privileged: every capability the runtime holds"
assert_eq 0 "$(kv seccomp)" "privileged: no seccomp filter"
assert_eq 0 "$(kv nnp)" "privileged: NoNewPrivs 0"
assert_eq ok "$(kv null)" "the host's devices are there"

section "refusals name the CRI field"
spec_bundle "$(container_json true '{"run_as_username": "mallory"}')"
assert_eq 1 "$?" "an unknown run_as_username is refused"
assert_contains "$CTL_ERR" "INVALID_ARGUMENT" "as INVALID_ARGUMENT"
assert_contains "$CTL_ERR" "linux.security_context.run_as_username" "naming the field"
spec_bundle "$(container_json true '{"privileged": true}')"
assert_contains "$CTL_ERR" "the pod sandbox is not privileged" "a privileged container needs a privileged pod"
