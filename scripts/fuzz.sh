#!/bin/bash
# fuzz.sh [SECONDS] [TARGET...] — builds the libFuzzer targets of tests/fuzz with clang 16
# (Debian's clang 14 cannot compile libstdc++ 12's std::expected) in build-fuzz/ and runs each
# chosen TARGET (default: all; names as in tests/fuzz/NAME_fuzz.cc) for SECONDS (60).
# Each target starts from its seeds in tests/fuzz/corpus/NAME and keeps what it learns in
# build-fuzz/corpus/NAME; a crash, leak or timeout input lands in build-fuzz/artifacts/NAME/,
# never in the source tree. Exit status 1 when any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/*_fuzz.cc; do
    n=$(basename "$f" _fuzz.cc)
    targets+=("$n")
  done
fi
if ! command -v clang++-16 >/dev/null; then
  scripts/install-deps.sh
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    clang-16 libclang-rt-16-dev
fi
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -G Ninja -DBERTH_FUZZ=ON -DBERTH_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}"
fi
ninja -C build-fuzz -j"${FUZZ_JOBS:-2}" "${targets[@]/%/_fuzz}"
# Symbolized stacks in crash reports (llvm-symbolizer comes with llvm-14, Debian's default).
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && command -v llvm-symbolizer >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)
fi
found=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t"
  seeds=("tests/fuzz/corpus/$t")
  # config.json also starts from the unit tests' real-world configs.
  [ "$t" = config ] && seeds+=(tests/unit/testdata/spec)
  echo "fuzz.sh: $t for ${secs}s"
  # -rss_limit_mb: ASan's shadow memory aside, a parser of small inputs stays small.
  if ! "build-fuzz/tests/fuzz/${t}_fuzz" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" \
      "build-fuzz/corpus/$t" "${seeds[@]}"; then
    echo "fuzz.sh: $t found a problem: build-fuzz/artifacts/$t/" >&2
    found=1
  fi
  # A target that aborted skipped its atexit cleanup: its private temporary directory stays.
  rm -rf /dev/shm/berth-unpack-fuzz.* /tmp/berth-hosts-fuzz.* /tmp/berth-spec-fuzz.* \
    /tmp/berth-cri-fuzz.*
done
exit $found
