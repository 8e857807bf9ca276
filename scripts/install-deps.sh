#!/bin/sh
# Installs every Debian 12 package that building berth and running its tests needs.
# Idempotent: when all packages are already installed it does not touch apt at all,
# so re-runs (CI, scripts/test.sh, scripts/demo.sh) cost a single dpkg-query.
set -eu

PACKAGES="
  build-essential g++ cmake ninja-build pkg-config
  libseccomp-dev nlohmann-json3-dev libgtest-dev libcap-dev
  busybox-static jq iproute2 util-linux procps
"
# busybox-static: the test rootfs (scripts/make-bundle.sh).
# jq: builds/edits config.json in tests. iproute2: `ip netns` in the namespace tests.
# util-linux (unshare, nsenter, findmnt, prlimit) and procps are on every Debian, listed
# so a minimal image still works.

missing=""
for p in $PACKAGES; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
  echo "install-deps: all packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages:$missing" >&2
  echo "install-deps: run as root (sudo $0) to install them" >&2
  exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086  # word splitting of the package list is intended
apt-get install -y --no-install-recommends $missing
