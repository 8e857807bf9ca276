#!/bin/bash
# test.sh — installs the dependencies, builds everything in build/ and runs every test
# (unit tests and the integration tests, which run real containers) with ctest.
# Run as root: `sudo scripts/test.sh`. Extra arguments go to ctest (e.g. -L unit, -R lifecycle).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  cat >&2 <<MSG
test.sh: the integration tests run real containers: they create namespaces, cgroups and
mounts, which needs root. Run: sudo $0
MSG
  exit 1
fi

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
ninja -C build -j2
# -j1: the integration tests share the host's cgroup hierarchies and are timed.
ctest --test-dir build --output-on-failure -j1 "$@"
