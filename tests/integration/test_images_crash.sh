#!/bin/bash
# The image store survives crashes of its writers (docs/images.md, "Crash safety"):
#  - `berthctl pull` killed with SIGKILL at random moments, many times: after each kill
#    `berthctl check` finds nothing committed that is broken (leftovers in ingest/ and
#    tmp/ are expected and are only notes), and a last pull completes the image, which runs.
#  - two pulls of images sharing layers at once: both succeed, each shared blob is
#    downloaded once (a logging proxy counts blob GETs) and each chain committed once.
#  - `check --repair` on a store damaged by hand (a truncated file in a layer, a blob with
#    a flipped byte): found, repaired, the next pull and run work, a second check is clean.
# The power cut (unsynced data lost) is test_images_powercut.sh, in a qemu guest.
# BERTH_CRASH_ROUNDS (default 25) sets the number of kills.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthctl_lib.sh"

ROUNDS=${BERTH_CRASH_ROUNDS:-25}
start_registry plain
INSECURE=("$REG_PLAIN")
RUN=(run --local --rm --runtime "$BERTH")
L=$IMAGES_DIR/crash
S=$IMAGES_DIR/src
oci_init "$L"

# --- images -----------------------------------------------------------------------------------
# test/crash:v1: busybox, then three layers of many small files and an 8 MiB layer of random
# bytes (gzip cannot shrink it), so that a pull spends time in download, unpack and commit.
# test/share-a:v1 and test/share-b:v1 share busybox and an 8 MiB random layer, then differ.
busybox_rootfs "$S/base"
oci_layer "$L" gzip "$S/base"
BASE_DESC=$LAYER_DESC BASE_DIFF=$LAYER_DIFF_ID
crash_descs=("$BASE_DESC") crash_diffs=("$BASE_DIFF")
for n in 1 2 3; do
  mkdir -p "$S/small$n/files$n"
  # 800 files of 1-4 KiB, one python process.
  "$PYTHON" -c 'import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(800):
    with open(os.path.join(d, "f%04d" % i), "wb") as f:
        f.write(os.urandom(1024 * (1 + (i * n) % 4)))' "$S/small$n/files$n" "$n"
  echo "marker $n" >"$S/small$n/marker$n"
  oci_layer "$L" gzip "$S/small$n"
  crash_descs+=("$LAYER_DESC") crash_diffs+=("$LAYER_DIFF_ID")
done
mkdir -p "$S/big/big"
head -c $((8 << 20)) /dev/urandom >"$S/big/big/random"
oci_layer "$L" gzip "$S/big"
crash_descs+=("$LAYER_DESC") crash_diffs+=("$LAYER_DIFF_ID")
BIG_SUM=$(sha256sum <"$S/big/big/random" | cut -d' ' -f1)
diffs_json() { printf '%s\n' "$@" | jq -R . | jq -cs .; }
oci_manifest "$L" "$(image_config "$HOST_ARCH" "$(diffs_json "${crash_diffs[@]}")" \
  '{"Cmd": ["/bin/sh", "-c", "cat /marker1 /marker2 /marker3"], "Env": ["PATH=/bin"]}')" "${crash_descs[@]}"
oci_tag "$L" crash "$MANIFEST_DESC"
push_raw "$L" "$MANIFEST_DIGEST" "$REG_PLAIN/test/crash:v1"
CRASH_CHAINS=$(chain_ids "${crash_diffs[@]}")

mkdir -p "$S/shared/shared"
head -c $((8 << 20)) /dev/urandom >"$S/shared/shared/random"
oci_layer "$L" gzip "$S/shared"
SHARED_DESC=$LAYER_DESC SHARED_DIFF=$LAYER_DIFF_ID
SHARED_BLOB=$(jq -r .digest <<<"$SHARED_DESC") BASE_BLOB=$(jq -r .digest <<<"$BASE_DESC")
for x in a b; do
  mkdir -p "$S/only-$x"
  echo "only in $x" >"$S/only-$x/only-$x"
  head -c $((2 << 20)) /dev/urandom >"$S/only-$x/random-$x"
  oci_layer "$L" gzip "$S/only-$x"
  declare "ONLY_${x^^}_BLOB=$(jq -r .digest <<<"$LAYER_DESC")" "ONLY_${x^^}_DIFF=$LAYER_DIFF_ID"
  oci_manifest "$L" "$(image_config "$HOST_ARCH" "[\"$BASE_DIFF\", \"$SHARED_DIFF\", \"$LAYER_DIFF_ID\"]" \
    "{\"Cmd\": [\"/bin/cat\", \"/only-$x\"], \"Env\": [\"PATH=/bin\"]}")" "$BASE_DESC" "$SHARED_DESC" "$LAYER_DESC"
  oci_tag "$L" "share-$x" "$MANIFEST_DESC"
  push_raw "$L" "$MANIFEST_DIGEST" "$REG_PLAIN/test/share-$x:v1"
done

# check_store WHAT [ROOT] — `berthctl check` must exit 0 and report nothing broken.
check_store() {
  ROOT=${2:-$ROOT} bctl_capture check
  if [ "$RC" -eq 0 ] && ! grep -q '^broken' <<<"$OUT"; then
    pass "$1: check finds nothing broken ($(tail -n1 <<<"$OUT"))"
  else
    fail "$1: check finds nothing broken (exit $RC)"
    _show "$OUT"
    _show "$ERR"
  fi
}

insecure_args() {
  local h
  for h in "${INSECURE[@]}"; do printf -- '--insecure-registry\n%s\n' "$h"; done
}
mapfile -t INSECURE_ARGS < <(insecure_args)
# pull_bg ROOT REF — a pull in the background (no timeout wrapper: the kill must hit berthctl).
PULL_BG_ARGS=()
pull_bg() {
  "$BERTHCTL" --root "$1" --hosts-dir "$HOSTS_DIR" --auth-file "$AUTH_FILE" "${INSECURE_ARGS[@]}" \
    --config /dev/null "${PULL_BG_ARGS[@]}" pull -q "$2" </dev/null >>"$TEST_DIR/pull-bg.log" 2>&1 &
  BG_PID=$!
}

# --- kill -9 at random points -------------------------------------------------------------
echo "  images built in $SECONDS s"
section "pull killed with SIGKILL at random points ($ROUNDS rounds)"
t_kill=$SECONDS
REF=$REG_PLAIN/test/crash:v1
# How long one cold pull takes here: the kills are spread over it.
t0=$(date +%s%N)
ROOT=$TEST_DIR/store-timing bctl_capture pull -q "$REF"
expect_ok "a cold pull of test/crash:v1"
PULL_MS=$((($(date +%s%N) - t0) / 1000000))
echo "  a cold pull takes ${PULL_MS} ms"
rm -rf "$TEST_DIR/store-timing"

ROOT_KILL=$TEST_DIR/store-kill
killed_mid=0 completed=0 broken_rounds=0 stores=1
for round in $(seq 1 "$ROUNDS"); do
  # Mostly fresh stores; every third round continues the last one (resume after a kill).
  if [ $((round % 3)) -ne 0 ]; then
    rm -rf "$ROOT_KILL"
    stores=$((stores + 1))
  fi
  delay_ms=$((RANDOM % (PULL_MS + 100)))
  pull_bg "$ROOT_KILL" "$REF"
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  if kill -KILL "$BG_PID" 2>/dev/null; then killed_mid=$((killed_mid + 1)); fi
  wait "$BG_PID" 2>/dev/null
  st=$?
  [ "$st" -eq 0 ] && completed=$((completed + 1))
  ROOT=$ROOT_KILL bctl_capture check
  if [ "$RC" -ne 0 ] || grep -q '^broken' <<<"$OUT"; then
    broken_rounds=$((broken_rounds + 1))
    fail "round $round (killed after ${delay_ms} ms, pull status $st): check finds nothing broken (exit $RC)"
    _show "$OUT"
    _show "$ERR"
  fi
done
[ "$broken_rounds" -eq 0 ] && pass "after each of $ROUNDS kills, check finds nothing committed that is broken"
echo "  $killed_mid pulls killed mid-way, $completed finished before the kill; $((SECONDS - t_kill)) s"
[ "$killed_mid" -ge $((ROUNDS / 2)) ] && pass "most kills hit a running pull ($killed_mid of $ROUNDS)" ||
  fail "most kills hit a running pull ($killed_mid of $ROUNDS)"

ROOT=$ROOT_KILL bctl_capture pull -q "$REF"
expect_ok "the pull after the last kill completes the image"
check_store "after the completing pull" "$ROOT_KILL"
# The pull removed the tmp dirs of the killed ones; ingests stay for gc (24 h) or --repair.
assert_eq "" "$(grep -E '^broken|left by process' <<<"$OUT")" "no tmp leftovers once a pull completed"
grep '^note' <<<"$OUT" | sed 's/^/  /'
ROOT=$ROOT_KILL bctl_capture check --repair
assert_eq 0 "$RC" "check --repair of the store after the kills"
ROOT=$ROOT_KILL bctl_capture check
assert_eq "0" "$RC$(grep -E '^(broken|note)' <<<"$OUT")" "after --repair the check reports nothing"
ROOT=$ROOT_KILL bctl_capture "${RUN[@]}" "$REF"
expect_ok "the image runs"
assert_eq "$(printf 'marker 1\nmarker 2\nmarker 3')" "$OUT" "it sees every layer's marker"
big=$(layer_dir "$(tail -n1 <<<"$CRASH_CHAINS")" "$ROOT_KILL")/big/random
assert_eq "$BIG_SUM" "$(sha256sum <"$big" | cut -d' ' -f1)" "the 8 MiB file of the top layer is whole"
assert_eq "" "$(mounts_under "$ROOT_KILL")" "run --rm leaves no mount"

# --- two pulls at once, sharing layers -------------------------------------------------------
section "two pulls of images sharing layers, at the same time"
start_cut_proxy log "$REG_PLAIN" --cut-count 0
INSECURE+=("$PROXY_LOG")
mapfile -t INSECURE_ARGS < <(insecure_args)
ROOT_TWO=$TEST_DIR/store-two
: >"$TEST_DIR/pull-bg.log"
PULL_BG_ARGS=(--log-level debug)  # "unpacking chain …" for each unpack
pull_bg "$ROOT_TWO" "$PROXY_LOG/test/share-a:v1"
pid_a=$BG_PID
pull_bg "$ROOT_TWO" "$PROXY_LOG/test/share-b:v1"
pid_b=$BG_PID
wait "$pid_a"
st_a=$?
wait "$pid_b"
st_b=$?
assert_eq "0 0" "$st_a $st_b" "both pulls succeed"
[ "$st_a$st_b" = 00 ] || _show "$(cat "$TEST_DIR/pull-bg.log")"
gets() { grep -c "^GET /v2/[^ ]*/blobs/$1 " "$PROXYLOG_LOG"; }
assert_eq "1 1" "$(gets "$SHARED_BLOB") $(gets "$BASE_BLOB")" "each shared blob is downloaded once"
assert_eq "1 1" "$(gets "$ONLY_A_BLOB") $(gets "$ONLY_B_BLOB")" "each image's own layer is downloaded once"
# 4 chains: busybox, busybox+shared, and one top layer per image; each committed once
# (RENAME_NOREPLACE: a second commit of a chain would be discarded, never nested or doubled).
want=$( (chain_ids "$BASE_DIFF" "$SHARED_DIFF" "$ONLY_A_DIFF"; chain_ids "$BASE_DIFF" "$SHARED_DIFF" "$ONLY_B_DIFF") |
  sed 's/^sha256://' | sort -u)
assert_eq "$want" "$(ls "$ROOT_TWO/snapshots/layers" | sort)" "the layers are the 4 chains, each once"
assert_eq "" "$(ls -A "$ROOT_TWO/snapshots/tmp")" "no unpack is left in tmp/"
unpacks=""
for c in $(chain_ids "$BASE_DIFF" "$SHARED_DIFF"); do
  unpacks+="$(grep -c "unpacking chain $c" "$TEST_DIR/pull-bg.log") "
done
assert_eq "1 1 " "$unpacks" "each shared chain is unpacked once (by one of the pulls)"
grep -q "was unpacked by another pull" "$TEST_DIR/pull-bg.log" &&
  echo "  (the pulls overlapped: one waited for the other's unpack)"
PULL_BG_ARGS=()
check_store "after the two pulls" "$ROOT_TWO"
for x in a b; do
  ROOT=$ROOT_TWO bctl_capture "${RUN[@]}" "$PROXY_LOG/test/share-$x:v1"
  expect_ok "share-$x runs"
  assert_eq "only in $x" "$OUT" "share-$x sees its own top layer"
done

# --- check --repair on a damaged store -------------------------------------------------------------
section "check --repair on a damaged store"
chain_a=$(chain_ids "$BASE_DIFF" "$SHARED_DIFF" "$ONLY_A_DIFF" | tail -n1)
file_a=$(layer_dir "$chain_a" "$ROOT_TWO")/only-a
truncate -s 0 "$file_a"
blob_b=$(blob_path "$ONLY_B_BLOB" "$ROOT_TWO")
chmod 0644 "$blob_b"
printf 'X' | dd of="$blob_b" bs=1 seek=1000 conv=notrunc status=none
chmod 0444 "$blob_b"
ROOT=$ROOT_TWO bctl_capture check
assert_eq 1 "$RC" "check exits 1 on a damaged store"
assert_match "$OUT" "broken: layer $chain_a: fs/ holds .* its commit record says" "the truncated file's layer is found"
assert_match "$OUT" "broken: blob $ONLY_B_BLOB: its [0-9]+ bytes hash to sha256:" "the flipped byte's blob is found"
assert_match "$OUT" "broken: image $PROXY_LOG/test/share-b:v1: layer blob $ONLY_B_BLOB failed its digest" "the image needing it is named"
ROOT=$ROOT_TWO bctl_capture check -o json
assert_eq "false 3" "$(jq -r '"\(.clean) \(.broken)"' <<<"$OUT")" "check -o json: not clean, 3 problems"
ROOT=$ROOT_TWO bctl_capture check --repair
assert_eq 0 "$RC" "check --repair exits 0: everything found was repaired"
assert_match "$OUT" "repaired: layer $chain_a: .*\\[removed, unpacked again from its blob\\]" "the layer is unpacked again"
assert_match "$OUT" "repaired: blob $ONLY_B_BLOB: .*\\[removed" "the bad blob is removed"
assert_match "$OUT" "repaired: image $PROXY_LOG/test/share-b:v1: .*name removed" "the image without its blob loses its name"
[ "$RC" -eq 0 ] || _show "$OUT"
assert_eq "only in a" "$(cat "$file_a")" "the truncated file is whole again"
check_store "after --repair" "$ROOT_TWO"
assert_eq "" "$(grep -E '^(broken|note)' <<<"$OUT")" "the second check reports nothing"
: >"$PROXYLOG_LOG"
ROOT=$ROOT_TWO bctl_capture pull -q "$PROXY_LOG/test/share-b:v1"
expect_ok "share-b pulls again"
assert_eq "1 0 0" "$(gets "$ONLY_B_BLOB") $(gets "$SHARED_BLOB") $(gets "$BASE_BLOB")" \
  "the pull fetches only the blob --repair removed"
for x in a b; do
  ROOT=$ROOT_TWO bctl_capture "${RUN[@]}" "$PROXY_LOG/test/share-$x:v1"
  expect_ok "share-$x runs after the repair"
  assert_eq "only in $x" "$OUT" "share-$x's output after the repair"
done
check_store "after the pull" "$ROOT_TWO"
assert_eq "" "$(grep -E '^(broken|note)' <<<"$OUT")" "the last check reports nothing"

# A check that cannot look at the store exits 2.
echo garbage >"$TEST_DIR/store-bad-images.json"
mkdir -p "$TEST_DIR/store-bad"
cp "$TEST_DIR/store-bad-images.json" "$TEST_DIR/store-bad/images.json"
ROOT=$TEST_DIR/store-bad bctl_capture check
assert_eq 2 "$RC" "check of a store with an unreadable images.json exits 2"
assert_error_line "check of an unreadable store"
