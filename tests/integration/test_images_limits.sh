#!/bin/bash
# Image limits against hostile images the test builds itself (docs/images.md "Limits"):
# a gzip bomb (600 MiB of zeros in about 600 KiB) stopped by the default compression
# ratio, a zstd bomb stopped by --max-layer-size, a sparse file claiming 2 GiB, a layer of
# 20,000 empty files, and an image whose layers each pass the per-layer limit but not the
# per-image one. Each must fail with one error naming the image, the layer and the limit
# and how far it got; leave no layer, no half-unpacked directory and no image name; keep
# in the content store only what gc removes; and the same pull must succeed once the limit
# is raised.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthctl_lib.sh"
require_tools jq gzip zstd tar truncate

start_registry plain
INSECURE=("$REG_PLAIN")
L=$IMAGES_DIR/limits
oci_init "$L"
BCTL_TIMEOUT=120

# image_of TAG COMPRESSION SRC... — an image of one layer per SRC (a directory or a tar),
# pushed as test/TAG:v1. Sets LAYERS (their digests, in order).
image_of() {
  local tag=$1 comp=$2 descs=() diffs=() src
  shift 2
  LAYERS=()
  for src in "$@"; do
    oci_layer "$L" "$comp" "$src"
    descs+=("$LAYER_DESC")
    diffs+=("$LAYER_DIFF_ID")
    LAYERS+=("$(jq -r .digest <<<"$LAYER_DESC")")
  done
  oci_manifest "$L" "$(image_config "$HOST_ARCH" "$(printf '%s\n' "${diffs[@]}" | jq -R . | jq -cs .)" \
    "{\"Labels\": {\"tag\": \"$tag\"}}")" "${descs[@]}"
  oci_tag "$L" "$tag" "$MANIFEST_DESC"
  push_raw "$L" "$MANIFEST_DIGEST" "$REG_PLAIN/test/$tag:v1"
}

# refused WHAT REF PATTERN [berthctl flags] — the pull fails naming the limit; nothing of
# the image is left but what gc removes.
refused() {
  local what=$1 ref=$2 pattern=$3
  shift 3
  local layers_before
  layers_before=$(layer_count)
  bctl_capture "$@" pull -q "$ref"
  expect_error "$pattern" "$what"
  REFUSED=$ERR
  assert_contains "$ERR" "pull $ref" "$what: the error names the image"
  assert_match "$ERR" "layer [0-9a-f]{12}" "$what: the error names the layer"
  assert_eq "$layers_before" "$(layer_count)" "$what: no layer of it is committed"
  bctl_capture images -q
  assert_not_contains "$OUT" "$ref" "$what: no image name"
  assert_store_clean "$what"
  bctl_capture gc
  expect_ok "$what: gc"
  assert_eq "" "$(ls -A "$ROOT/content/ingest" 2>/dev/null)" "$what: gc left no ingest"
}

# accepted WHAT REF [berthctl flags] — the same pull with the limit raised.
accepted() {
  local what=$1 ref=$2
  shift 2
  bctl_capture "$@" pull -q "$ref"
  expect_ok "$what"
  bctl_capture images -q
  assert_contains "$OUT" "$ref" "$what: the image is named"
}

section "a gzip bomb: the default ratio limit"
mkdir -p "$IMAGES_DIR/gzip-bomb"
truncate -s 600M "$IMAGES_DIR/gzip-bomb/zeros"  # read by tar as 600 MiB of zeros
image_of gzip-bomb gzip "$IMAGES_DIR/gzip-bomb"
size=$(stat -c %s "$L/blobs/sha256/${LAYERS[0]#sha256:}")
[ "$size" -lt $((2 << 20)) ] && pass "the bomb's blob is small ($size bytes)" || fail "the bomb's blob has $size bytes"
refused "600 MiB of zeros in gzip" "$REG_PLAIN/test/gzip-bomb:v1" \
  "more than the limit max_compression_ratio = 100:1 allows"
assert_match "$REFUSED" "unpacked to 5[0-9]{2}(\.[0-9])? MiB" "the unpack stopped just past the 512 MiB grace"
accepted "with --max-compression-ratio 0" "$REG_PLAIN/test/gzip-bomb:v1" --max-compression-ratio 0
bctl rmi "$REG_PLAIN/test/gzip-bomb:v1" >/dev/null && bctl gc >/dev/null

section "a zstd bomb: --max-layer-size"
mkdir -p "$IMAGES_DIR/zstd-bomb"
truncate -s 96M "$IMAGES_DIR/zstd-bomb/zeros"
image_of zstd-bomb zstd "$IMAGES_DIR/zstd-bomb"
refused "96 MiB of zeros in zstd, layers limited to 32 MiB" "$REG_PLAIN/test/zstd-bomb:v1" \
  "more data than the limit max_layer_size = 32 MiB allows \(stopped at 96 MiB, counting each file by its length, at entry \"zeros\"" \
  --max-layer-size 32MiB
accepted "with --max-layer-size 128MiB" "$REG_PLAIN/test/zstd-bomb:v1" --max-layer-size 128MiB

section "a sparse file counts by its length"
mkdir -p "$IMAGES_DIR/sparse"
truncate -s 2G "$IMAGES_DIR/sparse/disk.img"
tar -C "$IMAGES_DIR/sparse" --sparse --format=posix --numeric-owner --mtime="$IMAGE_MTIME" \
  -cf "$IMAGES_DIR/sparse.tar" disk.img || die "tar --sparse failed"
image_of sparse gzip "$IMAGES_DIR/sparse.tar"
refused "a 2 GiB sparse file, layers limited to 1 GiB" "$REG_PLAIN/test/sparse:v1" \
  "max_layer_size = 1 GiB allows \(stopped at 2 GiB, counting each file by its length, at entry \"disk.img\"" --max-layer-size 1GiB
accepted "with --max-layer-size 4GiB" "$REG_PLAIN/test/sparse:v1" --max-layer-size 4GiB
chain=$(chain_ids "$LAYER_DIFF_ID" | tail -n1)
f=$(layer_dir "$chain")/disk.img
assert_eq $((2 << 30)) "$(stat -c %s "$f")" "the file keeps its length"
[ "$(du -k "$f" | cut -f1)" -lt 1024 ] && pass "and its holes (under 1 MiB on disk)" ||
  fail "the sparse file takes $(du -k "$f" | cut -f1) KiB on disk"

section "many tiny entries"
mkdir -p "$IMAGES_DIR/tiny"
(cd "$IMAGES_DIR/tiny" && seq -f "f%05g" 1 20000 | xargs touch) || die "touch failed"
image_of tiny gzip "$IMAGES_DIR/tiny"
refused "20,000 files, layers limited to 10,000 entries" "$REG_PLAIN/test/tiny:v1" \
  "more entries than the limit max_layer_entries = 10000 allows \(stopped after 10001 entries" \
  --max-layer-entries 10000
accepted "with --max-layer-entries 30000" "$REG_PLAIN/test/tiny:v1" --max-layer-entries 30000

section "layers that pass one by one but not together"
for i in 1 2 3; do
  mkdir -p "$IMAGES_DIR/part$i"
  head -c $((20 << 20)) /dev/zero | tr '\0' "$i" >"$IMAGES_DIR/part$i/data"
done
image_of parts zstd "$IMAGES_DIR/part1" "$IMAGES_DIR/part2" "$IMAGES_DIR/part3"
refused "3 layers of 20 MiB, 32 MiB each and 50 MiB in all" "$REG_PLAIN/test/parts:v1" \
  "the image's layers unpack to more than the limit max_image_size = 50 MiB allows" \
  --max-layer-size 32MiB --max-image-size 50MiB
accepted "with --max-image-size 100MiB" "$REG_PLAIN/test/parts:v1" --max-layer-size 32MiB --max-image-size 100MiB

section "limits from berth.toml, flags over the file"
cat >"$TEST_DIR/berth.toml" <<TOML
[image]
max_layer_entries = 100
TOML
bctl rmi "$REG_PLAIN/test/tiny:v1" >/dev/null && bctl gc >/dev/null
bctl_capture --config "$TEST_DIR/berth.toml" pull -q "$REG_PLAIN/test/tiny:v1"
expect_error "max_layer_entries = 100 allows" "the config's limit applies"
bctl_capture --config "$TEST_DIR/berth.toml" --max-layer-entries 0 pull -q "$REG_PLAIN/test/tiny:v1"
expect_ok "a flag wins over the file"
printf '[image]\nmax_layer_entires = 1\n' >"$TEST_DIR/bad.toml"
bctl_capture --config "$TEST_DIR/bad.toml" images
expect_error "bad.toml \[image\] max_layer_entires: unknown key" "a misspelt key is refused naming the file"
bctl_capture --config "$TEST_DIR/none.toml" images
expect_error "none.toml" "a --config that does not exist is an error"

