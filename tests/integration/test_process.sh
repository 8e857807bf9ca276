#!/bin/bash
# The container process, seen from inside: env, cwd, user and groups, umask, rlimits,
# capabilities, no_new_privs, oom_score_adj, seccomp, and a terminal via --console-socket.
source "$(dirname "$0")/lib.sh"

section "env and cwd"
export BERTH_IT_HOST_ONLY=leak
BUNDLE_JQ='.process.env += ["FOO=bar baz", "EMPTY="] | .process.cwd = "/tmp"' \
  run_ctr sh -c 'echo "foo=$FOO"; echo "empty=${EMPTY-unset}"; echo "pwd=$(pwd)"; echo "host=${BERTH_IT_HOST_ONLY-unset}"; echo "path=$PATH"'
expect_run "container with env and cwd runs"
assert_eq "bar baz" "$(kv foo)" "process.env reaches the process (with spaces)"
assert_eq "" "$(kv empty)" "an empty env value stays set"
assert_eq /tmp "$(kv pwd)" "process.cwd is the working directory"
assert_eq unset "$(kv host)" "the runtime's own environment does not leak in"
assert_eq /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$(kv path)" "PATH from the config"

section "user, groups, umask"
BUNDLE_JQ='.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [1001, 5], "umask": 23}' \
  run_ctr sh -c 'echo "uid=$(id -u)"; echo "gid=$(id -g)"; echo "groups=$(awk '\''/^Groups:/ {$1=""; print}'\'' /proc/self/status)"
                 echo "umask=$(umask)"; echo "ids=$(awk '\''/^Uid:|^Gid:/ {printf "%s %s %s %s ", $2, $3, $4, $5}'\'' /proc/self/status)"'
expect_run "container as user 1000:1000 runs"
assert_eq 1000 "$(kv uid)" "uid is 1000"
assert_eq 1000 "$(kv gid)" "gid is 1000"
groups=" $(kv groups) "
assert_contains "$groups" " 1001 " "additionalGids 1001 is a supplementary group"
assert_contains "$groups" " 5 " "additionalGids 5 is a supplementary group"
assert_not_contains "$groups" " 0 " "root's group is not kept"
assert_eq "1000 1000 1000 1000 1000 1000 1000 1000 " "$(kv ids)" "real, effective, saved and fs ids are all 1000"
assert_eq 0027 "$(kv umask)" "umask 23 (027) applies"

section "rlimits"
BUNDLE_JQ='.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 768},
                               {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400}]' \
  run_ctr sh -c 'echo "soft=$(ulimit -n)"; echo "hard=$(ulimit -Hn)"
                 echo "limits=$(grep "Max open files" /proc/self/limits | tr -s " ")"
                 echo "nproc=$(grep "Max processes" /proc/self/limits | tr -s " ")"'
expect_run "container with rlimits runs"
assert_eq 512 "$(kv soft)" "ulimit -n shows the soft NOFILE limit"
assert_eq 768 "$(kv hard)" "ulimit -Hn shows the hard NOFILE limit"
assert_eq "Max open files 512 768 files " "$(kv limits)" "/proc/self/limits NOFILE"
assert_eq "Max processes 300 400 processes " "$(kv nproc)" "/proc/self/limits NPROC"

section "capabilities and no_new_privs"
caps_of='echo "eff=$(awk '\''/^CapEff/ {print $2}'\'' /proc/self/status)"; echo "bnd=$(awk '\''/^CapBnd/ {print $2}'\'' /proc/self/status)"
         echo "prm=$(awk '\''/^CapPrm/ {print $2}'\'' /proc/self/status)"; echo "nnp=$(awk '\''/^NoNewPrivs/ {print $2}'\'' /proc/self/status)"'
run_ctr sh -c "$caps_of"
expect_run "container with the default capabilities runs"
# CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
assert_eq 0000000020000420 "$(kv eff)" "CapEff matches the default spec's effective set"
assert_eq 0000000020000420 "$(kv bnd)" "CapBnd matches the default spec's bounding set"
assert_eq 0000000020000420 "$(kv prm)" "CapPrm matches the default spec's permitted set"
assert_eq 1 "$(kv nnp)" "noNewPrivileges true: NoNewPrivs 1"

# CAP_CHOWN (0), CAP_SYS_ADMIN (21). For root, execve makes permitted = bounding, so the
# sets are equal here; the uid 1000 case below shows a bounding set wider than the rest.
BUNDLE_JQ='.process.noNewPrivileges = false | .process.capabilities = {
    "bounding": ["CAP_CHOWN", "CAP_SYS_ADMIN"],
    "effective": ["CAP_CHOWN", "CAP_SYS_ADMIN"],
    "permitted": ["CAP_CHOWN", "CAP_SYS_ADMIN"]}' \
  run_ctr sh -c "$caps_of"
expect_run "container with custom capabilities runs"
assert_eq 0000000000200001 "$(kv eff)" "CapEff is exactly CHOWN|SYS_ADMIN"
assert_eq 0000000000200001 "$(kv bnd)" "CapBnd is exactly CHOWN|SYS_ADMIN"
assert_eq 0000000000200001 "$(kv prm)" "CapPrm is exactly CHOWN|SYS_ADMIN"
assert_eq 0 "$(kv nnp)" "noNewPrivileges false: NoNewPrivs 0"

BUNDLE_JQ='.process.user = {"uid": 1000, "gid": 1000}' run_ctr sh -c "$caps_of"
expect_run "container as uid 1000 runs"
assert_eq 0000000000000000 "$(kv eff)" "a non-root user without ambient caps has no effective caps"
assert_eq 0000000020000420 "$(kv bnd)" "... but keeps the bounding set"

# CAP_NET_RAW (13) only in the bounding set; CAP_CHOWN kept across execve as an ambient cap.
BUNDLE_JQ='.process.user = {"uid": 1000, "gid": 1000} | .process.capabilities = {
    "bounding": ["CAP_CHOWN", "CAP_NET_RAW"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"],
    "inheritable": ["CAP_CHOWN"], "ambient": ["CAP_CHOWN"]}' \
  run_ctr sh -c "$caps_of; echo \"amb=\$(awk '/^CapAmb/ {print \$2}' /proc/self/status)\""
expect_run "container as uid 1000 with an ambient capability runs"
assert_eq 0000000000000001 "$(kv eff)" "ambient CAP_CHOWN is effective for uid 1000"
assert_eq 0000000000000001 "$(kv amb)" "CapAmb is CHOWN"
assert_eq 0000000000002001 "$(kv bnd)" "CapBnd is CHOWN|NET_RAW"

section "oomScoreAdj"
cur=$(cat /proc/self/oom_score_adj)
want=$((cur + 100 > 1000 ? 1000 : cur + 100))  # lowering it needs CAP_SYS_RESOURCE
BUNDLE_JQ=".process.oomScoreAdj = $want" run_ctr cat /proc/self/oom_score_adj
expect_run "container with oomScoreAdj $want runs"
assert_eq "$want" "$OUT" "oom_score_adj read back inside"

section "seccomp"
TMPFS_JQ='.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}]'
SECCOMP_JQ="$TMPFS_JQ"' | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}]}'
BUNDLE_JQ=$TMPFS_JQ run_ctr sh -c 'mkdir /tmp/x && echo made'
assert_eq made "$OUT" "without seccomp, mkdir /tmp/x works (control)"
BUNDLE_JQ=$SECCOMP_JQ run_ctr sh -c 'mkdir /tmp/x; echo "rc=$?"; touch /tmp/y && echo "touch=ok"'
expect_run "container with a seccomp profile runs"
assert_match "$OUT$ERR" 'mkdir.*Invalid cross-device link' "mkdir fails with errnoRet 18 (EXDEV)"
assert_eq 1 "$(kv rc)" "mkdir exits 1"
assert_eq ok "$(kv touch)" "other syscalls are allowed"
BUNDLE_JQ="$TMPFS_JQ"' | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}' \
  run_ctr sh -c 'mkdir /tmp/x'
assert_match "$OUT$ERR" 'Operation not permitted' "SCMP_ACT_ERRNO without errnoRet gives EPERM"

section "terminal via --console-socket"
cc -O2 -o "$TEST_DIR/recvtty" "$DATA_DIR/recvtty.c" || die "cannot compile $DATA_DIR/recvtty.c"
sock=$TEST_DIR/console.sock
"$TEST_DIR/recvtty" "$sock" >"$TEST_DIR/pty.out" 2>"$TEST_DIR/pty.err" &
recv_pid=$!
track_pid $recv_pid
wait_until 5 test -S "$sock" || die "recvtty did not listen on $sock"
b=$(BUNDLE_JQ='.process.terminal = true' make_bundle sh -c 'echo "tty=$(tty)"; [ -t 0 ] && [ -t 1 ] && echo stdio=tty; echo hello-pty')
id=$(new_id)
rt run -d --console-socket "$sock" --bundle "$b" "$id" </dev/null >"$TEST_DIR/run.out" 2>&1
assert_eq 0 $? "run -d --console-socket exits 0"
wait_until 10 sh -c "! kill -0 $recv_pid" || fail "recvtty still waiting for output"
wait $recv_pid
out=$(tr -d '\r' <"$TEST_DIR/pty.out")
assert_eq "" "$(cat "$TEST_DIR/pty.err")" "recvtty received a pty master"
assert_contains "$out" "hello-pty" "the container's output came through the pty"
assert_contains "$out" "tty=/dev/pts/0" "tty inside prints /dev/pts/0"
assert_contains "$out" "stdio=tty" "stdin and stdout are the terminal"
assert_eq "" "$(cat "$TEST_DIR/run.out")" "nothing went to the runtime's own stdout"
wait_status "$id" stopped
rt delete "$id"

section "terminal in a foreground run without --console-socket"
# runc run holds the pty itself and copies it to its own stdio; the exit status passes through.
b=$(BUNDLE_JQ='.process.terminal = true' make_bundle sh -c 'echo "tty=$(tty)"; exit 5')
id=$(new_id)
out=$(rt run --bundle "$b" "$id" </dev/null 2>&1 | tr -d '\r')
assert_eq 5 "${PIPESTATUS[0]}" "foreground run with a terminal exits with the container's status"
assert_contains "$out" "tty=/dev/pts/0" "the process's stdio is a pty (/dev/pts/0)"

section "exec --process FILE"
b=$(make_bundle sleep 1000)
id=$(new_id)
rt run -d --bundle "$b" "$id" </dev/null >/dev/null 2>&1
cat >"$TEST_DIR/process.json" <<'JSON'
{"terminal": false, "args": ["sh", "-c", "echo \"$(id -u):$(id -g) $(pwd) $FOO\""], "cwd": "/tmp",
 "env": ["PATH=/bin", "FOO=bar"], "user": {"uid": 1000, "gid": 1000}}
JSON
assert_eq "1000:1000 /tmp bar" "$(rt exec --process "$TEST_DIR/process.json" "$id" 2>&1)" \
  "exec --process runs the process file's args, user, cwd and env"
rt delete --force "$id"

section "session keyring"
# Like runc, each container joins a session keyring of its own unless --no-new-keyring.
# berth-specific: the keyring's name (_ses.<id>); runc names it differently.
if berth_specific "session keyring named _ses.<id>"; then
  id=$(new_id)
  b=$(BUNDLE_JQ='.linux.maskedPaths = []' make_bundle sh -c "grep -c ' _ses\\.$id: ' /proc/keys")
  assert_eq 1 "$(rt run --bundle "$b" "$id" 2>&1)" "the container has its own session keyring named after it"
  id=$(new_id)
  b=$(BUNDLE_JQ='.linux.maskedPaths = []' make_bundle sh -c "grep -c ' _ses\\.$id: ' /proc/keys")
  assert_eq 0 "$(rt run --no-new-keyring --bundle "$b" "$id" 2>&1)" "--no-new-keyring keeps the caller's keyring"
fi

section "sysctl, domainname, personality, scheduler, ioPriority"
# Each read back from inside: namespaced sysctls of the container's net and ipc namespaces,
# the uts domainname, PER_LINUX32 (0x0008), SCHED_BATCH (policy 3), the idle I/O class.
BUNDLE_JQ='.domainname = "berth.test" | .linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "2048"}
    | .linux.personality = {"domain": "LINUX32"} | .process.scheduler = {"policy": "SCHED_BATCH"}
    | .process.ioPriority = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}' \
  run_ctr sh -c 'echo "domain=$(cat /proc/sys/kernel/domainname)"; echo "fwd=$(cat /proc/sys/net/ipv4/ip_forward)"
                 echo "shmmni=$(cat /proc/sys/kernel/shmmni)"; echo "pers=$(cat /proc/self/personality)"
                 echo "machine=$(uname -m)"; echo "policy=$(awk "/^policy/ {print \$3}" /proc/self/sched)"
                 echo "ioprio=$(ionice -p $$)"'
expect_run "container with sysctl, domainname, personality, scheduler and ioPriority runs"
assert_eq berth.test "$(kv domain)" "domainname"
assert_eq 1 "$(kv fwd)" "sysctl net.ipv4.ip_forward=1 in the container's network namespace"
assert_eq 2048 "$(kv shmmni)" "sysctl kernel.shmmni=2048 in the container's ipc namespace"
assert_eq 00000008 "$(kv pers)" "personality LINUX32"
assert_match "$(kv machine)" '^i[3-6]86$' "uname -m under LINUX32 is 32-bit"
assert_eq 3 "$(kv policy)" "scheduler policy SCHED_BATCH"
assert_match "$(kv ioprio)" '^idle' "ioPriority class idle"
[ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] && [ "$(cat /proc/sys/kernel/shmmni)" = 2048 ] &&
  fail "the host has the container's sysctl values too (test cannot tell)" ||
  pass "the host's own sysctls differ from the container's"
b=$(BUNDLE_JQ='.linux.sysctl = {"kernel.no_such_sysctl": "1"}' make_bundle true)
id=$(new_id)
assert_fails_with 'kernel.no_such_sysctl' rt create --bundle "$b" "$id"
assert_nothing_left "$id" "unknown sysctl"

section "cwd through a runtime fd (CVE-2024-21626)"
# Whatever fd the init holds while it sets up, a cwd of /proc/self/fd/N must not put the
# process outside the rootfs: create refuses it naming the cwd, or the cwd is inside.
for n in 3 4 5 6 7 8 9 10; do
  BUNDLE_JQ=".process.cwd = \"/proc/self/fd/$n\"" run_ctr sh -c 'echo "cwd=$(pwd)"'
  if [ "$RC" -ne 0 ]; then
    assert_match "$ERR" 'cwd' "process.cwd /proc/self/fd/$n is refused naming the cwd"
    assert_nothing_left "$ID" "refused cwd /proc/self/fd/$n"
  else
    assert_match "$OUT" '^cwd=/' "process.cwd /proc/self/fd/$n stays inside the container"
  fi
done

section "the runtime's own binary (CVE-2019-5736)"
# The container's command may not be the runtime binary itself: "/proc/self/exe" inside the
# container is the host's runtime while the init has not exec'd yet. runc runs it from a
# sealed copy; berth refuses it (both keep the host binary intact).
host_sum=$(sha256sum <"$BERTH")
b=$(make_bundle /proc/self/exe --version)
id=$(new_id)
out=$(rt run --bundle "$b" "$id" 2>&1 </dev/null)
rc=$?
if berth_specific "berth refuses /proc/self/exe as the container's command"; then
  [ $rc -ne 0 ] && pass "run of /proc/self/exe fails" || fail "run of /proc/self/exe succeeded: $out"
  assert_match "$out" "CVE-2019-5736" "the error names the reason"
fi
rt delete --force "$id" >/dev/null 2>&1
assert_eq "$host_sum" "$(sha256sum <"$BERTH")" "the runtime binary on the host is unchanged"

if berth_specific "sealed copy only where another process could reach the init"; then
  # A plain container: the init is alone in its new PID namespace until it execs, so berth
  # skips the sealed re-exec; its init still runs the host binary while "created".
  b=$(make_bundle sleep 100)
  id=$(new_id)
  rt create --bundle "$b" "$id" </dev/null >/dev/null 2>&1
  pid=$(ctr_pid "$id")
  assert_eq "$(readlink -f "$BERTH")" "$(readlink "/proc/$pid/exe")" "a plain container's init runs berth unsealed"
  assert_eq ok "$(rt exec "$id" echo ok 2>&1)" "exec into it works (its init is non-dumpable)"
  out=$(rt exec "$id" sh -c 'readlink /proc/1/exe || echo denied' 2>&1)
  assert_match "$out" "denied" "a process exec'd into it cannot reach the init's binary ($out)"
  assert_fails_with "CAP_SYS_PTRACE.*created container.*CVE-2019-5736" rt exec --cap CAP_SYS_PTRACE "$id" true
  rt delete --force "$id" >/dev/null 2>&1
  # With a startContainer hook (a program of the container, beside the init) or a joined
  # PID namespace the init runs from the sealed copy, and exec into it is allowed.
  b=$(make_bundle sleep 100)
  edit_config "$b" '.hooks.startContainer = [{"path": "/bin/true"}]'
  id=$(new_id)
  rt create --bundle "$b" "$id" </dev/null >/dev/null 2>&1
  pid=$(ctr_pid "$id")
  assert_match "$(readlink "/proc/$pid/exe")" "memfd" "with a startContainer hook the init runs a sealed copy"
  # Its seals (F_GET_SEALS = 1034): SEAL 1, SHRINK 2, GROW 4 and WRITE 8 or FUTURE_WRITE 16.
  seals=$(python3 -c 'import fcntl, os, sys; print(fcntl.fcntl(os.open(sys.argv[1], os.O_RDONLY), 1034))' \
    "/proc/$pid/exe" 2>&1)
  assert_eq yes "$( [ $(( ${seals:-0} & 7 )) = 7 ] && [ $(( ${seals:-0} & 24 )) != 0 ] && echo yes)" \
    "the copy is sealed against writes, growing, shrinking and unsealing (F_GET_SEALS $seals)"
  # Neither writing nor truncating the copy gets through (while it runs, exec's write
  # denial answers first; the seals answer for an fd opened before).
  out=$( (printf x >>"/proc/$pid/exe") 2>&1)
  assert_match "$out" "Text file busy|Operation not permitted" "the sealed copy cannot be written ($out)"
  out=$(truncate -s 0 "/proc/$pid/exe" 2>&1)
  assert_match "$out" "Text file busy|Operation not permitted" "the sealed copy cannot be truncated ($out)"
  assert_eq ok "$(rt exec "$id" echo ok 2>&1)" "exec into a created container whose init is sealed works"
  rt delete --force "$id" >/dev/null 2>&1
fi
