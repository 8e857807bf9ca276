#!/bin/bash
# Mounts, seen from inside: tmpfs options, read-only binds, readonly root, masked and
# read-only paths, /dev contents, Bidirectional (rshared) and HostToContainer (rslave)
# propagation with a shared host directory, and a bundle whose rootfs holds a symlink to the host.
source "$(dirname "$0")/lib.sh"

# mount_opts MOUNTPOINT — the options column of /proc/self/mounts inside the container.
section "tmpfs with options"
BUNDLE_JQ='.mounts += [{"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs",
                        "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=700"]}]' \
  run_ctr sh -c 'awk '\''$2 == "/mnt/t" {print $3, $4}'\'' /proc/self/mounts; stat -c %a /mnt/t; echo hi > /mnt/t/f && cat /mnt/t/f'
expect_run "container with a tmpfs mount runs"
line1=$(sed -n 1p <<<"$OUT")
assert_match "$line1" '^tmpfs ' "/mnt/t is a tmpfs"
for o in rw nosuid nodev noexec size=1024k mode=700; do
  assert_match "$line1" "[ ,]$o(,|\$)" "tmpfs option $o"
done
assert_eq 700 "$(sed -n 2p <<<"$OUT")" "tmpfs root has mode 700"
assert_eq hi "$(sed -n 3p <<<"$OUT")" "tmpfs is writable"

section "read-only bind mount"
mkdir -p "$TEST_DIR/shared"
echo host-data >"$TEST_DIR/shared/file"
BUNDLE_JQ='.mounts += [{"destination": "/data", "type": "bind", "source": "'"$TEST_DIR/shared"'",
                        "options": ["rbind", "ro"]}]' \
  run_ctr sh -c 'cat /data/file; if touch /data/new 2>/dev/null; then echo writable; else echo read-only; fi
                 awk '\''$2 == "/data" {print $4}'\'' /proc/self/mounts'
expect_run "container with a ro bind mount runs"
assert_eq host-data "$(sed -n 1p <<<"$OUT")" "bind mount shows the host file"
assert_eq read-only "$(sed -n 2p <<<"$OUT")" "ro bind mount refuses writes"
assert_match "$(sed -n 3p <<<"$OUT")" '^ro(,|$)' "ro bind mount has the ro flag"
[ -e "$TEST_DIR/shared/new" ] && fail "a file appeared in the host dir" || pass "host dir unchanged"

BUNDLE_JQ='.mounts += [{"destination": "/data", "type": "bind", "source": "'"$TEST_DIR/shared"'",
                        "options": ["rbind", "rw"]}]' \
  run_ctr sh -c 'echo from-container > /data/new'
expect_run "container writes through a rw bind mount"
assert_eq from-container "$(cat "$TEST_DIR/shared/new" 2>&1)" "rw bind mount writes reach the host"

section "readonly root"
run_ctr sh -c 'touch /newfile 2>&1; echo rc=$?'
assert_match "$OUT" 'Read-only file system' "readonly root refuses writes (EROFS)"
assert_contains "$OUT" "rc=1" "touch on the readonly root fails"
b=$(BUNDLE_JQ='.root.readonly = false' make_bundle sh -c 'echo x > /newfile')
run_bundle "$b"
expect_run "container with a writable root runs"
assert_eq x "$(cat "$b/rootfs/newfile" 2>&1)" "writable root: the file lands in the bundle's rootfs"

section "masked and read-only paths"
# This kernel may lack /proc/kcore; /proc/cpuinfo is added to test masking of a file that exists.
BUNDLE_JQ='.linux.maskedPaths += ["/proc/cpuinfo"]' \
  run_ctr sh -c 'for f in kcore keys timer_list cpuinfo; do
                   if [ -e /proc/$f ]; then echo "$f=$(wc -c < /proc/$f)"; else echo "$f=absent"; fi
                 done
                 echo "firmware=$(ls -A /sys/firmware | wc -l)"
                 if echo x > /proc/sys/kernel/hostname 2>/dev/null; then echo sys=writable; else echo sys=read-only; fi
                 echo "sysopts=$(awk '\''$5 == "/proc/sys" {print $6}'\'' /proc/self/mountinfo)"'
expect_run "container with the default masked/readonly paths runs"
for f in kcore keys timer_list cpuinfo; do
  if [ -e /proc/$f ]; then
    assert_eq 0 "$(kv $f | tr -d ' ')" "masked /proc/$f reads empty"
  else
    assert_eq absent "$(kv $f)" "/proc/$f, absent on the host, is absent inside"
  fi
done
assert_eq 0 "$(kv firmware | tr -d ' ')" "masked /sys/firmware is an empty dir"
assert_eq read-only "$(kv sys)" "readonlyPaths /proc/sys is not writable"
assert_match "$(kv sysopts)" '^ro(,|$)' "/proc/sys is mounted ro"

section "/dev"
run_ctr sh -c 'for d in null zero full random urandom tty; do echo "$d $(stat -c "%F %t:%T" /dev/$d)"; done
               for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done
               echo x > /dev/null && echo null-writable; ls /dev/pts/ptmx /dev/shm /dev/mqueue >/dev/null && echo dirs-ok'
expect_run "container with the default /dev runs"
assert_contains "$OUT" "null character special file 1:3" "/dev/null is char 1:3"
assert_contains "$OUT" "zero character special file 1:5" "/dev/zero is char 1:5"
assert_contains "$OUT" "full character special file 1:7" "/dev/full is char 1:7"
assert_contains "$OUT" "random character special file 1:8" "/dev/random is char 1:8"
assert_contains "$OUT" "urandom character special file 1:9" "/dev/urandom is char 1:9"
assert_contains "$OUT" "tty character special file 5:0" "/dev/tty is char 5:0"
assert_contains "$OUT" "fd -> /proc/self/fd" "/dev/fd symlink"
assert_contains "$OUT" "stdin -> /proc/self/fd/0" "/dev/stdin symlink"
assert_contains "$OUT" "stdout -> /proc/self/fd/1" "/dev/stdout symlink"
assert_contains "$OUT" "stderr -> /proc/self/fd/2" "/dev/stderr symlink"
assert_contains "$OUT" "ptmx -> pts/ptmx" "/dev/ptmx symlink"
assert_contains "$OUT" "null-writable" "/dev/null is writable (device cgroup allows it)"
assert_contains "$OUT" "dirs-ok" "/dev/pts /dev/shm /dev/mqueue exist"

section "mount types and propagation"
# The default bundle mounts proc, devpts, mqueue, sysfs and cgroup: each must be that
# filesystem inside. A tmpfs with "rshared" is a shared peer; rootfsPropagation "shared"
# makes / one too, while the default leaves the rootfs private (no shared:/master: tag).
BUNDLE_JQ='.linux.rootfsPropagation = "shared"
    | .mounts += [{"destination": "/shared", "type": "tmpfs", "source": "tmpfs", "options": ["rshared", "size=1m"]},
                  {"destination": "/priv", "type": "tmpfs", "source": "tmpfs", "options": ["rprivate", "size=1m"]}]' \
  run_ctr sh -c 'fstype() { awk -v m="$1" '\''$2 == m {t = $3} END {print t}'\'' /proc/self/mounts; }
                 prop() { awk -v m="$1" '\''$5 == m {t = "private"; for (i = 7; $i != "-"; i++) t = $i} END {print t}'\'' /proc/self/mountinfo; }
                 echo "proc=$(fstype /proc)"; echo "pts=$(fstype /dev/pts)"; echo "mqueue=$(fstype /dev/mqueue)"
                 echo "sys=$(fstype /sys)"
                 echo "cgroupfs=$(awk '\''index($2, "/sys/fs/cgroup") == 1 && ($3 == "cgroup" || $3 == "cgroup2")'\'' /proc/self/mounts | wc -l)"
                 echo "prop_root=$(prop /)"; echo "prop_shared=$(prop /shared)"; echo "prop_priv=$(prop /priv)"'
expect_run "container with propagation options runs"
assert_eq proc "$(kv proc)" "/proc is procfs"
assert_eq devpts "$(kv pts)" "/dev/pts is devpts"
assert_eq mqueue "$(kv mqueue)" "/dev/mqueue is mqueue"
assert_eq sysfs "$(kv sys)" "/sys is sysfs"
[ "$(kv cgroupfs)" -ge 1 ] 2>/dev/null && pass "/sys/fs/cgroup holds cgroup mounts ($(kv cgroupfs))" ||
  fail "no cgroup or cgroup2 mount under /sys/fs/cgroup inside"
assert_match "$(kv prop_shared)" '^shared:[0-9]+$' "an rshared tmpfs is a shared mount"
assert_eq private "$(kv prop_priv)" "an rprivate tmpfs is private"
assert_match "$(kv prop_root)" '^shared:[0-9]+$' "rootfsPropagation shared makes / shared"
run_ctr sh -c "awk '\$5 == \"/\" {t = \"private\"; for (i = 7; \$i != \"-\"; i++) t = \$i} END {print t}' /proc/self/mountinfo"
expect_run "container with the default rootfsPropagation runs"
assert_match "$OUT" '^(private|master:[0-9]+)$' "by default / is not shared with the host"

section "Bidirectional and HostToContainer propagation of a shared host directory"
# Kubernetes' Bidirectional (containerd: the bind "rshared", rootfsPropagation "rshared"): a
# mount made on the host under the directory after the container started appears inside,
# and one made inside appears on the host. HostToContainer ("rslave" both): only the first.
# The host directory must be a shared mount (kubelet's are); this host's / is private.
# shared_vol NAME — $TEST_DIR/NAME, bind-mounted onto itself and made shared.
shared_vol() {
  local v=$TEST_DIR/$1
  mkdir -p "$v/inner" "$v/hostsub"
  mount --bind "$v" "$v" && mount --make-shared "$v" || die "making $v a shared mount failed"
  on_exit "umount -R -l $v"
  echo "$v"
}
# The container mounts a tmpfs on /vol/inner, then waits for the host's mount on
# /vol/hostsub and copies what it finds there to /vol/saw (the volume's own directory).
PROP_SCRIPT='mount -t tmpfs -o size=1m tmpfs /vol/inner && echo from-container >/vol/inner/f
  touch /vol/mounted; i=0
  while [ ! -e /vol/hostsub/f ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  cat /vol/hostsub/f >/vol/saw 2>&1; exec sleep 1000'
for mode in rshared rslave; do
  vol=$(shared_vol "vol-$mode")
  b=$(BUNDLE_JQ='.linux.rootfsPropagation = "'$mode'"
      | .process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])
      | .mounts += [{"destination": "/vol", "type": "bind", "source": "'"$vol"'", "options": ["rbind", "'$mode'", "rw"]}]' \
    make_bundle sh -c "$PROP_SCRIPT")
  run_detached "$b"
  wait_until 10 test -e "$vol/mounted" || fail "$mode: the container did not mount /vol/inner: $(cat "$TEST_DIR/$ID.log")"
  mount -t tmpfs -o size=1m tmpfs "$vol/hostsub" && echo from-host >"$vol/hostsub/f"
  wait_until 10 test -s "$vol/saw"
  assert_eq from-host "$(cat "$vol/saw" 2>&1)" "$mode: a mount made on the host after the start appears inside"
  if [ $mode = rshared ]; then
    assert_eq from-container "$(cat "$vol/inner/f" 2>&1)" "rshared: a mount made inside appears on the host"
    assert_eq tmpfs "$(awk -v m="$vol/inner" '$5 == m {print $9}' /proc/self/mountinfo)" \
      "rshared: the host's mount table holds the container's tmpfs at $vol/inner"
  else
    [ -e "$vol/inner/f" ] && fail "rslave: the container's mount reached the host" ||
      pass "rslave: a mount made inside stays inside"
    assert_eq "" "$(awk -v m="$vol/inner" '$5 == m' /proc/self/mountinfo)" "rslave: no mount on the host at $vol/inner"
  fi
  rt delete --force "$ID"
  umount -R -l "$vol"
done

section "symlink escape: rootfs/evil -> /tmp"
escape=berth-escape-$$
on_exit "umount -l /tmp/$escape; rmdir /tmp/$escape"
b=$(BUNDLE_JQ='.mounts += [{"destination": "/evil/'"$escape"'", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}]' \
  make_bundle sh -c "awk '\$2 == \"/tmp/$escape\" {print \$3}' /proc/self/mounts")
ln -s /tmp "$b/rootfs/evil"
run_bundle "$b"
expect_run "container with a mount through an absolute symlink runs"
assert_eq tmpfs "$OUT" "the mount is at /tmp/$escape inside the container"
[ -d "$b/rootfs/tmp/$escape" ] && pass "its mount point was created inside the rootfs" ||
  fail "no mount point $b/rootfs/tmp/$escape"
[ -e "/tmp/$escape" ] && fail "/tmp/$escape was created on the HOST" || pass "host /tmp untouched"
assert_eq "" "$(awk -v m="/tmp/$escape" '$5 == m' /proc/self/mountinfo)" "no mount on the host's /tmp/$escape"

b=$(BUNDLE_JQ='.mounts += [{"destination": "/evil/'"$escape"'", "type": "bind", "source": "'"$TEST_DIR/shared"'", "options": ["rbind", "ro"]}]' \
  make_bundle cat "/tmp/$escape/file")
ln -s /tmp "$b/rootfs/evil"
run_bundle "$b"
expect_run "container with a bind mount through an absolute symlink runs"
assert_eq host-data "$OUT" "the bind mount is inside the container's /tmp"
[ -e "/tmp/$escape" ] && fail "/tmp/$escape was created on the HOST" || pass "host /tmp untouched by the bind"
