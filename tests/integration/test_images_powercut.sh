#!/bin/bash
# A power cut during `berthctl pull`: a qemu (TCG) guest with an ext4 disk (a raw file on
# the host, virtio-blk, cache=writeback) pulls an image from a registry on the host (qemu
# user networking: the host's 127.0.0.1 is 10.0.2.2 in the guest) into a store on that
# disk, and the host kills qemu with SIGKILL at a random moment of the pull. Whatever the
# guest kernel had not written to the disk by then is lost, as in a power cut: its page
# cache (periodic writeback is turned off in the guest, so only what berth syncs is on the
# disk; ext4 commits its journal every second, so renames reach the disk quickly) and the
# requests in flight. (What qemu had written stays in the host's page cache: the disk
# itself loses no acknowledged write.) The guest is booted again on the same disk, ext4
# replays its journal, `berthctl check` must find nothing committed that is broken; then
# it pulls again and is cut again. The last boot completes the pull: check clean, the
# image's files whole.
#
# BERTH_POWERCUT_ROUNDS (default 3) cuts, ~30 s each. BERTH_POWERCUT_NOSYNC=1 is the
# control, by hand: berthctl runs with syncfs/fsync/fdatasync as no-ops (data/nosync.c,
# LD_PRELOAD) and the cut comes 3 s after the pull; the check then finds committed blobs
# and layers with missing data, so the test FAILS (that is the point of the control).
# Needs what test_cgroup_v2_guest.sh needs, plus mkfs.ext4 and the guest kernel's virtio
# and ext4 modules (scripts/install-deps.sh).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthctl_lib.sh"
source "$(dirname "$0")/guest_lib.sh"

ROUNDS=${BERTH_POWERCUT_ROUNDS:-3}
BOOT_TIMEOUT=${BERTH_GUEST_TIMEOUT:-240}
command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 not found (install e2fsprogs)"
guest_find_kernel
echo "guest kernel: $GUEST_KERNEL"

# --- the image: busybox, two layers of small files, a 6 MiB layer of random bytes ---------
start_registry plain
L=$IMAGES_DIR/pc
S=$IMAGES_DIR/src
oci_init "$L"
busybox_rootfs "$S/base"
oci_layer "$L" gzip "$S/base"
descs=("$LAYER_DESC") diffs=("$LAYER_DIFF_ID")
for n in 1 2; do
  mkdir -p "$S/small$n/files$n"
  "$PYTHON" -c 'import os, sys
for i in range(400):
    with open(os.path.join(sys.argv[1], "f%04d" % i), "wb") as f:
        f.write(os.urandom(512 * (1 + i % 8)))' "$S/small$n/files$n"
  oci_layer "$L" gzip "$S/small$n"
  descs+=("$LAYER_DESC") diffs+=("$LAYER_DIFF_ID")
done
mkdir -p "$S/big"
head -c $((6 << 20)) /dev/urandom >"$S/big/random"
oci_layer "$L" gzip "$S/big"
descs+=("$LAYER_DESC") diffs+=("$LAYER_DIFF_ID")
BIG_SUM=$(sha256sum <"$S/big/random" | cut -d' ' -f1)
TOP_CHAIN=$(chain_ids "${diffs[@]}" | tail -n1)
oci_manifest "$L" "$(image_config "$HOST_ARCH" "$(printf '%s\n' "${diffs[@]}" | jq -R . | jq -cs .)" \
  '{"Cmd": ["/bin/sh"]}')" "${descs[@]}"
oci_tag "$L" pc "$MANIFEST_DESC"
push_raw "$L" "$MANIFEST_DIGEST" "$REG_PLAIN/test/pc:v1"
GUEST_REG=10.0.2.2:${REG_PLAIN##*:}

# --- the initramfs -----------------------------------------------------------------------------
IMG=$TEST_DIR/initramfs
guest_tree "$IMG"
# berthctl without its debug info (it is most of the file).
objcopy --strip-debug "$BERTHCTL" "$TEST_DIR/berthctl" || die "objcopy of $BERTHCTL failed"
guest_add_binary "$IMG" "$TEST_DIR/berthctl"
guest_add_modules "$IMG" drivers/virtio/virtio drivers/virtio/virtio_ring \
  drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci \
  drivers/block/virtio_blk net/core/failover drivers/net/net_failover drivers/net/virtio_net \
  lib/crc16 crypto/crc32c_generic lib/libcrc32c fs/mbcache fs/jbd2/jbd2 fs/ext4/ext4
if [ "${BERTH_POWERCUT_NOSYNC:-}" = 1 ]; then
  cc -shared -fPIC -O2 -o "$IMG/lib/nosync.so" "$BERTH_SOURCE_DIR/tests/integration/data/nosync.c" ||
    die "building nosync.so failed"
  echo "NOSYNC: berthctl runs with syncfs/fsync/fdatasync as no-ops: expect the check to fail"
fi
mkdir -p "$IMG/etc/berth-hosts"
echo '{"auths": {}}' >"$IMG/etc/no-auth.json"
printf 'REG=%s\nREF=%s\nTOP_HEX=%s\nNOSYNC=%s\n' "$GUEST_REG" "$GUEST_REG/test/pc:v1" \
  "${TOP_CHAIN#sha256:}" "${BERTH_POWERCUT_NOSYNC:-}" >"$IMG/guest.env"
cat >"$IMG/init" <<'GUEST'
#!/bin/sh
# Guest side of test_images_powercut.sh: mount the disk, check the store a cut left, pull
# (the host cuts the power somewhere in it); with berth.mode=final finish the pull and
# check again. Lines for the host: CHECK…, CHECKRC, MEASURE, PULL-START, PULL-DONE, DONE.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
. /guest.env
mode=$(sed -n 's/.*berth\.mode=\([a-z]*\).*/\1/p' /proc/cmdline)
for pass in 1 2 3 4; do for m in /modules/*.ko; do insmod "$m" 2>/dev/null; done; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
# Only what berth syncs reaches the disk before the cut: no periodic or background writeback.
echo 0 >/proc/sys/vm/dirty_writeback_centisecs
echo 360000 >/proc/sys/vm/dirty_expire_centisecs
echo 80 >/proc/sys/vm/dirty_background_ratio
echo 90 >/proc/sys/vm/dirty_ratio
if ! mount -t ext4 -o commit=1 /dev/vda /mnt; then
  echo "GUEST: mounting /dev/vda failed"; dmesg | tail -n 20; poweroff -f
fi
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2
echo "GUEST: mode $mode, disk mounted, $(ls /mnt/store/snapshots/layers 2>/dev/null | wc -l) layers"
# The guest's disk (1 GiB) is below the default free-space floor (1 GiB or 5%): a small one.
FLOOR="--min-free-bytes 16MiB --min-free-percent 0"
bctl() {
  if [ -n "$NOSYNC" ]; then
    LD_PRELOAD=/lib/nosync.so berthctl --hosts-dir /etc/berth-hosts --auth-file /etc/no-auth.json --insecure-registry "$REG" $FLOOR "$@"
  else
    berthctl --hosts-dir /etc/berth-hosts --auth-file /etc/no-auth.json --insecure-registry "$REG" $FLOOR "$@"
  fi
}
ms() { awk '{printf "%d\n", $1 * 1000}' /proc/uptime; }
check() {  # PREFIX
  bctl --root /mnt/store check >/tmp/check.out 2>&1
  rc=$?
  sed "s/^/$1 /" /tmp/check.out
  echo "${1}RC $rc"
}
if [ -d /mnt/store ]; then
  check CHECK
else
  # The cut came before the store's first directory was durable: nothing of it is there.
  echo "CHECK no store on the disk"
  echo "CHECKRC 0"
fi
if [ "$mode" = measure ]; then
  t0=$(ms)
  bctl --root /mnt/measure pull -q "$REF" >/tmp/pull.out 2>&1 || cat /tmp/pull.out
  echo "MEASURE $(($(ms) - t0))"
  rm -rf /mnt/measure
  sync
fi
echo PULL-START
t0=$(ms)
bctl --root /mnt/store pull -q "$REF" >/tmp/pull.out 2>&1
rc=$?
echo "PULL-DONE $rc $(($(ms) - t0)) ms"
[ $rc -eq 0 ] || cat /tmp/pull.out
if [ "$mode" = final ]; then
  check FINAL
  echo "BIGSUM $(sha256sum </mnt/store/snapshots/layers/$TOP_HEX/fs/random | cut -d' ' -f1)"
  umount /mnt
  echo DONE
  poweroff -f
fi
while :; do sleep 60; done  # until the power is cut
GUEST
chmod 755 "$IMG/init"
guest_pack "$IMG" "$TEST_DIR/initramfs.gz"
echo "initramfs: $(du -h "$TEST_DIR/initramfs.gz" | cut -f1)"

DISK=$TEST_DIR/disk.img
truncate -s 1G "$DISK"
mkfs.ext4 -q -F "$DISK" || die "mkfs.ext4 failed"

# boot MODE LOG — the guest on the disk, with the host's registry reachable.
boot() {
  guest_boot "$2" "$TEST_DIR/initramfs.gz" "berth.mode=$1" \
    -drive "file=$DISK,format=raw,if=virtio,cache=writeback" \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile=
}
show_log() {
  echo "--- guest log $1 ---"
  tr -d '\r' <"$1"
  echo "--- end of guest log ---"
}
# verdict LOG PREFIX WHAT — the check the guest ran at boot found nothing broken.
verdict() {
  local log=$1 lines rc
  lines=$(tr -d '\r' <"$log" | sed -n "s/^$2 //p")
  rc=$(tr -d '\r' <"$log" | sed -n "s/^${2}RC //p")
  if [ "$rc" = 0 ] && ! grep -q '^broken' <<<"$lines"; then
    pass "$3: check finds nothing broken ($(tail -n1 <<<"$lines"))"
  else
    fail "$3: check finds nothing broken (exit ${rc:-none})"
    _show "$lines"
  fi
}

# --- power cuts ----------------------------------------------------------------------------------
cut_ms=0
for round in $(seq 1 "$ROUNDS"); do
  section "power cut $round of $ROUNDS"
  t0=$SECONDS
  log=$TEST_DIR/guest-$round.log
  mode=cut
  [ "$round" -eq 1 ] && mode=measure
  boot "$mode" "$log"
  if ! guest_wait_for "$log" '^PULL-START' "$BOOT_TIMEOUT"; then
    fail "round $round: the guest reached its pull"
    show_log "$log"
    kill -KILL "$GUEST_PID" 2>/dev/null
    wait "$GUEST_PID" 2>/dev/null
    break
  fi
  [ "$round" -gt 1 ] && verdict "$log" CHECK "after power cut $((round - 1))"
  if [ "$round" -eq 1 ]; then
    cut_ms=$(tr -d '\r' <"$log" | sed -n 's/^MEASURE //p')
    echo "  a cold pull in the guest takes ${cut_ms:-?} ms"
    [ -n "$cut_ms" ] || cut_ms=20000
  fi
  delay=$((RANDOM % (cut_ms + 1000)))
  if [ "${BERTH_POWERCUT_NOSYNC:-}" = 1 ]; then
    # The control: cut 3 s after the pull, when ext4 has committed the renames but
    # (without syncs) not the data.
    guest_wait_for "$log" '^PULL-DONE' "$BOOT_TIMEOUT"
    delay=3000
  fi
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -KILL "$GUEST_PID" 2>/dev/null
  wait "$GUEST_PID" 2>/dev/null
  done_line=$(tr -d '\r' <"$log" | grep '^PULL-DONE' || true)
  echo "  power cut ${delay} ms into the pull (${done_line:-the pull was still running}); round took $((SECONDS - t0)) s"
done

section "after the last power cut"
t0=$SECONDS
log=$TEST_DIR/guest-final.log
boot final "$log"
if guest_wait_for "$log" '^DONE' "$BOOT_TIMEOUT"; then pass "the last boot finished"; else
  fail "the last boot finished within ${BOOT_TIMEOUT}s"
  kill -KILL "$GUEST_PID" 2>/dev/null
fi
wait "$GUEST_PID" 2>/dev/null
verdict "$log" CHECK "after power cut $ROUNDS"
assert_match "$(tr -d '\r' <"$log" | grep '^PULL-DONE')" '^PULL-DONE 0 ' "the pull after the cuts completes"
verdict "$log" FINAL "after the completing pull"
assert_eq "$BIG_SUM" "$(tr -d '\r' <"$log" | sed -n 's/^BIGSUM //p')" "the top layer's 6 MiB file is whole"
echo "  the last boot took $((SECONDS - t0)) s"
if [ "$FAILURES" -ne 0 ]; then
  for f in "$TEST_DIR"/guest-*.log; do show_log "$f"; done
fi
