#!/bin/bash
# fuzz.sh [SECONDS] — builds the libFuzzer targets with clang 16 (Debian's clang 14 cannot
# compile libstdc++ 12's std::expected) and runs the config.json fuzzer for SECONDS (60).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
scripts/install-deps.sh
if ! command -v clang++-16 >/dev/null; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    clang-16 libclang-rt-16-dev
fi
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -G Ninja -DBERTH_FUZZ=ON -DBERTH_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}"
ninja -C build-fuzz -j2 config_fuzz
mkdir -p build-fuzz/corpus
cp tests/unit/testdata/spec/*.json tests/fuzz/corpus/*.json build-fuzz/corpus/
# A crash input lands in build-fuzz/, not in the source tree.
build-fuzz/tests/fuzz/config_fuzz -max_total_time="$secs" -artifact_prefix=build-fuzz/ \
  build-fuzz/corpus
