#!/bin/bash
# sanitize.sh address|thread [CTEST ARGS...] — builds berth with a sanitizer in build-asan/ or
# build-tsan/ and runs test suites there; fails when a test fails or any process left a report.
#   address: AddressSanitizer + UndefinedBehaviorSanitizer (leaks included); by default the
#            unit and the integration suites (as scripts/test.sh does).
#   thread:  ThreadSanitizer; by default the unit tests (-L unit) and berthd's integration
#            tests (-R '^integration\.test_berthd'): berthd is the threaded program.
# Every executable writes its reports to <build>/sanitizer-reports/report.<exe>.<pid>
# (tests/sanitize/defaults.cc), whoever started it. NO_BUILD=1 skips configure and build.
# Run as root, like scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:-}
case $kind in
  address) dir=build-asan ;;
  thread) dir=build-tsan ;;
  *) echo "usage: $0 address|thread [ctest args...]" >&2; exit 2 ;;
esac
shift
if [ "$(id -u)" -ne 0 ]; then
  echo "sanitize.sh: the integration tests run real containers and need root: sudo $0 $kind" >&2
  exit 1
fi
# ThreadSanitizer (gcc 12) maps its shadow at fixed addresses: more than 28 bits of mmap
# randomisation (the default of newer kernels is 32) makes it fail at start-up.
if [ "$kind" = thread ] && [ "$(sysctl -n vm.mmap_rnd_bits)" -gt 28 ]; then
  echo "sanitize.sh: vm.mmap_rnd_bits > 28 breaks ThreadSanitizer: sysctl vm.mmap_rnd_bits=28" >&2
  exit 1
fi

if [ -z "${NO_BUILD:-}" ]; then
  scripts/install-deps.sh
  launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_SANITIZE="$kind" \
    "${launcher[@]}"
  ninja -C "$dir" -j2
fi

reports=$dir/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
chmod 1777 "$reports"  # processes of other users (a container's user) may report too
rc=0
run() { ctest --test-dir "$dir" --output-on-failure -j1 "$@" || rc=$?; }
if [ $# -gt 0 ]; then
  run "$@"
elif [ "$kind" = thread ]; then
  run -L unit
  run -R '^integration\.test_berthd'
else
  run
fi

found=$(find "$reports" -type f | sort)
if [ -n "$found" ]; then
  echo "sanitize.sh: $(echo "$found" | wc -l) sanitizer report(s) in $reports:" >&2
  for f in $found; do
    echo "=== $f" >&2
    head -n 40 "$f" >&2
  done
  exit 1
fi
[ $rc -eq 0 ] || { echo "sanitize.sh: ctest failed (exit $rc) under $kind, no sanitizer report" >&2; exit $rc; }
echo "sanitize.sh: $kind: every test passed and no process left a report"
