#!/bin/bash
# A qemu (TCG) guest booted with Debian's kernel from an initramfs, for tests that need a
# machine of their own (test_images_powercut.sh; test_cgroup_v2_guest.sh does the same by
# hand). Source after lib.sh.
#
#   guest_find_kernel        sets GUEST_KERNEL, GUEST_KVER, GUEST_MODDIR (its modules'
#                            kernel/ dir) or dies; BERTH_GUEST_KERNEL overrides the kernel
#   guest_tree DIR           an initramfs tree: busybox and its applets (make-bundle.sh's),
#                            /proc /sys /dev /tmp /mnt ...
#   guest_add_binary DIR BIN...   copies each binary to DIR/bin with the shared libraries
#                            ldd names (and the dynamic loader) at their paths
#   guest_add_modules DIR MODULE...   copies kernel/<MODULE>.ko into DIR/modules; the
#                            guest loads them with guest_load_modules (see below)
#   guest_pack DIR OUT       cpio + gzip -1
#   guest_boot LOG INITRD APPEND [qemu args]   starts qemu in the background: GUEST_PID
#   guest_wait_for LOG REGEX SECONDS   waits for a console line (fails when qemu exits)
#
# The guest's init can load the modules with this loop (a module whose dependencies are
# not loaded yet fails and is retried on the next pass, so no modules.dep is needed):
#   for pass in 1 2 3 4; do for m in /modules/*.ko; do insmod $m 2>/dev/null; done; done
: "${TEST_DIR:?source lib.sh first}"

GUEST_QEMU=$(command -v qemu-system-x86_64) ||
  die "qemu-system-x86_64 not found (scripts/install-deps.sh installs qemu-system-x86)"
for t in cpio gzip ldd; do command -v $t >/dev/null || die "$t not found"; done

guest_find_kernel() {
  GUEST_KERNEL=${BERTH_GUEST_KERNEL:-}
  if [ -z "$GUEST_KERNEL" ]; then
    GUEST_KERNEL=$(ls -1 /boot/vmlinuz-*-amd64 /var/cache/berth/guest-kernel/boot/vmlinuz-*-amd64 2>/dev/null |
      sort -V | tail -n1)
  fi
  [ -n "$GUEST_KERNEL" ] && [ -r "$GUEST_KERNEL" ] ||
    die "no guest kernel: install linux-image-amd64 or run scripts/install-deps.sh (or set BERTH_GUEST_KERNEL)"
  GUEST_KVER=${GUEST_KERNEL##*/vmlinuz-}
  local kroot=${GUEST_KERNEL%/boot/vmlinuz-*}  # "" for /boot, the cache dir for the .deb's
  GUEST_MODDIR=$kroot/lib/modules/$GUEST_KVER/kernel
}

guest_tree() {
  local d=$1 b
  mkdir -p "$d"/{bin,lib,lib64,proc,sys,dev,run,tmp,mnt,modules,etc}
  b=$(make_bundle true)
  cp -a "$b/rootfs/." "$d/"
}

guest_add_binary() {
  local d=$1 bin lib
  shift
  for bin in "$@"; do
    cp "$bin" "$d/bin/"
    for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
      mkdir -p "$d$(dirname "$lib")"
      [ -e "$d$lib" ] || cp -L "$lib" "$d$lib"
    done
  done
}

guest_add_modules() {
  local d=$1 m
  shift
  for m in "$@"; do
    [ -r "$GUEST_MODDIR/$m.ko" ] ||
      die "kernel module $m.ko not in $GUEST_MODDIR (scripts/install-deps.sh extracts it)"
    cp "$GUEST_MODDIR/$m.ko" "$d/modules/"
  done
}

guest_pack() {
  (cd "$1" && find . -mindepth 1 | cpio -o -H newc --quiet | gzip -1) >"$2" ||
    die "building the initramfs from $1 failed"
}

guest_boot() {
  local log=$1 initrd=$2 append=$3
  shift 3
  : >"$log"
  "$GUEST_QEMU" -nographic -no-reboot -m 1024 -smp 1 -kernel "$GUEST_KERNEL" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 quiet loglevel=3 $append" "$@" </dev/null >"$log" 2>&1 &
  GUEST_PID=$!
  track_pid "$GUEST_PID"
}

guest_wait_for() {
  local log=$1 re=$2 deadline=$((SECONDS + $3))
  while [ $SECONDS -lt "$deadline" ]; do
    tr -d '\r' <"$log" | grep -Eq -- "$re" && return 0
    kill -0 "$GUEST_PID" 2>/dev/null || { tr -d '\r' <"$log" | grep -Eq -- "$re"; return; }
    sleep 0.2
  done
  return 1
}
