#!/bin/bash
# demo.sh — installs the dependencies, builds berth, and runs one busybox container that
# shows it is isolated (pid 1, its own hostname, uid 0, only a loopback interface), then
# deletes the container and its bundle. Run as root: `sudo scripts/demo.sh`.
#
# BERTH=/path/to/runtime skips the build and demos that runtime instead (e.g. runc).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: running a container needs root (namespaces, cgroups, mounts): sudo $0" >&2
  exit 1
fi

scripts/install-deps.sh
if [ -z "${BERTH:-}" ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C build -j2 berth
  BERTH=$PWD/build/berth
fi
export BERTH

work=$(mktemp -d /tmp/berth-demo.XXXXXX)
id=demo-$$
cleanup() {
  "$BERTH" --root "$work/state" delete --force "$id" >/dev/null 2>&1 || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

BUNDLE_JQ='.hostname = "berth-demo"' scripts/make-bundle.sh "$work/bundle" sh -c '
  echo "hello from berth: pid $$ on $(hostname)"
  echo "user:       $(id)"
  echo "interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\n" " ")"
  echo "processes:  $(ls -d /proc/[0-9]* | wc -l) visible"
  echo "root fs:    $(touch /x 2>&1 || true)"'

echo "--- $BERTH run $id"
"$BERTH" --root "$work/state" run --bundle "$work/bundle" "$id" </dev/null
echo "--- container exited; $("$BERTH" --root "$work/state" list -q | wc -l) containers left in $work/state"
