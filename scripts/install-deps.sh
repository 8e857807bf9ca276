#!/bin/sh
# Installs every Debian 12 package that building berth and running its tests needs.
# Idempotent: when all packages are already installed it does not touch apt at all,
# so re-runs (CI, scripts/test.sh, scripts/demo.sh) cost a single dpkg-query.
set -eu

PACKAGES="
  build-essential g++ cmake ninja-build pkg-config
  libseccomp-dev nlohmann-json3-dev libgtest-dev libcap-dev
  busybox-static jq iproute2 util-linux procps
  podman conmon containerd docker.io bsdutils containernetworking-plugins iptables
  qemu-system-x86 cpio
  libcurl4-openssl-dev libssl-dev libisal-dev libzstd-dev zlib1g-dev libarchive-dev
  libtomlplusplus-dev libcli11-dev libhttp-parser-dev libwslay-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  docker-registry skopeo umoci apache2-utils python3 python3-yaml zstd e2fsprogs
"
# busybox-static: the test rootfs (scripts/make-bundle.sh).
# jq: builds/edits config.json in tests. iproute2: `ip netns` in the namespace tests.
# util-linux (unshare, nsenter, findmnt, prlimit) and procps are on every Debian, listed
# so a minimal image still works.
# podman, conmon, containerd (with ctr and containerd-shim-runc-v2): the real clients of
# tests/integration/test_podman.sh and test_containerd.sh. Without recommends, podman pulls
# only conmon, containers-common and crun|runc (which the tests never run: they pass berth);
# fuse-overlayfs and slirp4netns are not needed (vfs storage, --network none).
# docker.io (dockerd 20.10 and the docker CLI, with tini): the real client of
# tests/integration/test_docker.sh, which starts its own dockerd on private directories.
# The test never uses the host's dockerd (which the package starts where systemd runs).
# bsdutils: script(1), the pty for `podman exec -it`, `docker run -it` and `ctr run -t`.
# qemu-system-x86, cpio: tests/integration/test_cgroup_v2_guest.sh boots a pure cgroup v2
# guest (TCG) from an initramfs; its kernel comes from install_guest_kernel below.
# libcurl (registry client), OpenSSL (digests), ISA-L (igzip inflate), zstd, zlib,
# libarchive (tar format), toml++ (hosts.toml), CLI11 (berthctl): the image library.
# libhttp-parser-dev, libwslay-dev: HTTP/1.1 requests and WebSocket frames of the streaming
# server (src/stream: exec, attach, port-forward; zlib for SPDY's header blocks).
# libgrpc++-dev, libprotobuf-dev, protobuf-compiler, protobuf-compiler-grpc (grpc_cpp_plugin):
# the CRI v1 API (proto/cri/v1/api.proto) generated at build time, and berthctl's CRI client;
# tests/integration/test_containerd_cri.sh drives containerd's CRI plugin with it.
# containernetworking-plugins (/usr/lib/cni: bridge, host-local, loopback, portmap): the pods'
# CNI network in tests/integration/test_containerd_cri_cni.sh and test_cni.sh (berthd's
# src/cni); iptables: what bridge (ipMasq) and portmap run.
# docker-registry, skopeo, umoci, apache2-utils (htpasswd), python3 (the tests' token
# server and connection-cutting proxy), zstd: tests/integration/test_images*.sh run a real
# registry on 127.0.0.1 and fill it with images made by berth's tests and by skopeo/umoci.
# python3-yaml: tests/integration/test_berthd_ctl.sh parses berthctl's -o yaml back.
# e2fsprogs (mkfs.ext4): the guest disk of tests/integration/test_images_powercut.sh.

# The guest's kernel: Debian's linux-image-amd64, whose vmlinuz (and brd.ko, the guest's
# only block device) are extracted from the .deb into a cache dir instead of installing
# the package, which would run initramfs-tools and fill /boot. Skipped when a Debian amd64
# kernel is already in /boot or in the cache. The power-cut test also needs the modules of
# a virtio disk and NIC and of ext4 (GUEST_MODULES): a cache without them is refreshed.
GUEST_KERNEL_DIR=${BERTH_GUEST_KERNEL_DIR:-/var/cache/berth/guest-kernel}
GUEST_MODULES="drivers/block/brd.ko drivers/block/virtio_blk.ko drivers/virtio/*.ko
  drivers/net/virtio_net.ko drivers/net/net_failover.ko net/core/failover.ko fs/ext4/ext4.ko
  fs/jbd2/jbd2.ko fs/mbcache.ko lib/crc16.ko crypto/crc32c_generic.ko lib/libcrc32c.ko"
have_guest_kernel() {
  ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 ||
    ls "$GUEST_KERNEL_DIR"/lib/modules/*/kernel/drivers/block/virtio_blk.ko >/dev/null 2>&1
}
kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}'
}
install_guest_kernel() {
  have_guest_kernel && return 0
  echo "install-deps: extracting Debian's linux-image-amd64 kernel into $GUEST_KERNEL_DIR"
  pkg=$(kernel_pkg)
  if [ -z "$pkg" ]; then
    apt-get update
    pkg=$(kernel_pkg)
  fi
  [ -n "$pkg" ] || { echo "install-deps: cannot resolve linux-image-amd64" >&2; return 1; }
  tmp=$(mktemp -d)
  chown _apt "$tmp" 2>/dev/null || chmod 755 "$tmp"  # apt-get download runs as _apt
  if ! (cd "$tmp" && apt-get download "$pkg"); then
    rm -rf "$tmp"
    return 1
  fi
  mkdir -p "$GUEST_KERNEL_DIR"
  rc=0
  deb=$(ls "$tmp"/*.deb)
  set -f  # the module patterns are tar's wildcards, not the shell's
  globs=""
  for m in $GUEST_MODULES; do globs="$globs ./lib/modules/*/kernel/$m"; done
  # shellcheck disable=SC2086
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$GUEST_KERNEL_DIR" --wildcards \
    './boot/vmlinuz-*' $globs || rc=$?
  set +f
  rm -rf "$tmp"
  return $rc
}

missing=""
for p in $PACKAGES; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing="$missing $p"
done

if [ -z "$missing" ] && have_guest_kernel; then
  echo "install-deps: all packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  [ -z "$missing" ] || echo "install-deps: missing packages:$missing" >&2
  have_guest_kernel || echo "install-deps: missing the qemu guest kernel (linux-image-amd64)" >&2
  echo "install-deps: run as root (sudo $0) to install them" >&2
  exit 1
fi

if [ -z "$missing" ]; then
  install_guest_kernel
  exit 0
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086  # word splitting of the package list is intended
apt-get install -y --no-install-recommends $missing
install_guest_kernel
