#!/bin/bash
# berthctl helpers for the image tests (test_images*.sh); source after lib.sh.
#
#   bctl ARGS...        "$BERTHCTL" --root "$ROOT" with this test's hosts dir and auth
#                       file (never the host's /etc/berth/certs.d or ~/.docker/config.json)
#                       and --insecure-registry for each entry of INSECURE, with a timeout.
#                       ROOT=dir bctl … uses another store for one call.
#   bctl_capture ARGS   bctl with stdout/stderr captured: sets OUT ERR RC
#   has_blob DIGEST     the store has the blob committed;  blob_count, layer_count
#   chain_ids DIFF_ID…  the chain ids (image-spec: chainID(n) = sha256(chainID(n-1) + " " +
#                       diffID(n))) — the names of the layer snapshots
#   layer_dir CHAIN_ID  the fs dir of a committed layer snapshot
#   assert_store_clean WHAT   every visible blob matches its digest, no tmp layer is left
#   assert_error_line WHAT    ERR is one "berthctl: …" line (the CLI contract)
: "${TEST_DIR:?source lib.sh first}"

BERTH_BUILD_DIR=${BERTH_BUILD_DIR:-$(dirname "$(readlink -f "$BERTH")")}
BERTHCTL=${BERTHCTL:-$BERTH_BUILD_DIR/berthctl}
[ -x "$BERTHCTL" ] || die "berthctl not found at $BERTHCTL (build it, or set BERTHCTL)"
BCTL_TIMEOUT=${BCTL_TIMEOUT:-120}

ROOT=$TEST_DIR/store
HOSTS_DIR=$TEST_DIR/hosts.d
AUTH_FILE=$TEST_DIR/no-auth.json
mkdir -p "$HOSTS_DIR"
echo '{"auths": {}}' >"$AUTH_FILE"
unset REGISTRY_AUTH_FILE DOCKER_CONFIG
INSECURE=()

bctl() {
  local insecure=() h
  for h in "${INSECURE[@]}"; do insecure+=(--insecure-registry "$h"); done
  # --config /dev/null: no host berth.toml changes the limits under test.
  timeout -k 5 "$BCTL_TIMEOUT" "$BERTHCTL" --root "$ROOT" --hosts-dir "$HOSTS_DIR" \
    --auth-file "$AUTH_FILE" --config /dev/null "${insecure[@]}" "$@"
}
bctl_capture() {
  bctl "$@" </dev/null >"$TEST_DIR/.bout" 2>"$TEST_DIR/.berr"
  RC=$?
  OUT=$(cat "$TEST_DIR/.bout")
  ERR=$(cat "$TEST_DIR/.berr")
}
# expect_ok WHAT — RC must be 0; shows stderr otherwise (after bctl_capture).
expect_ok() {
  if [ "$RC" -eq 0 ]; then pass "$1"; else
    fail "$1"
    echo "         berthctl exited $RC; stderr:"
    _show "$ERR"
  fi
}
# expect_error ERE WHAT — RC must be 1 (the contract's error status) and ERR one
# "berthctl: …" line matching ERE (case-insensitive).
expect_error() {
  if [ "$RC" -eq 1 ] && printf '%s\n' "$ERR" | grep -Eiq -- "$1"; then
    pass "$2: fails with /$1/"
  else
    fail "$2: fails with /$1/"
    echo "         got exit $RC; stderr:"
    _show "$ERR"
  fi
  assert_error_line "$2"
}
assert_error_line() {
  local lines
  lines=$(grep -c . <<<"$ERR")
  if [ "$lines" -eq 1 ] && [[ $ERR == "berthctl: "* ]]; then
    pass "$1: the error is one 'berthctl: …' line"
  else
    fail "$1: the error is one 'berthctl: …' line"
    _show "$ERR"
  fi
}

blob_path() { echo "${2:-$ROOT}/content/blobs/sha256/${1#sha256:}"; }
has_blob() { [ -f "$(blob_path "$1" "${2:-$ROOT}")" ]; }
blob_count() { find "${1:-$ROOT}/content/blobs" -type f 2>/dev/null | wc -l; }
layer_count() { find "${1:-$ROOT}/snapshots/layers" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l; }

chain_ids() {
  local chain="" d
  for d in "$@"; do
    if [ -z "$chain" ]; then chain=$d; else
      chain=sha256:$(printf '%s %s' "$chain" "$d" | sha256sum | cut -d' ' -f1)
    fi
    echo "$chain"
  done
}
layer_dir() { echo "${2:-$ROOT}/snapshots/layers/${1#sha256:}/fs"; }

# assert_blobs_present WHAT DIGEST... / assert_blobs_absent WHAT DIGEST... (in $ROOT)
assert_blobs_present() {
  local what=$1 d missing=""
  shift
  for d in "$@"; do has_blob "$d" || missing+=" $d"; done
  assert_eq "" "$missing" "$what: blobs in the store"
}
assert_blobs_absent() {
  local what=$1 d found=""
  shift
  for d in "$@"; do has_blob "$d" && found+=" $d"; done
  assert_eq "" "$found" "$what: blobs not in the store"
}

# Every committed blob's content hashes to its name: a failed or interrupted write never
# leaves a visible partial or corrupt blob. And no half-unpacked layer is left in tmp/.
assert_store_clean() {
  local bad="" f
  while IFS= read -r f; do
    [ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || bad+=" $f"
  done < <(find "$ROOT/content/blobs" -type f 2>/dev/null)
  assert_eq "" "$bad" "$1: every visible blob matches its digest"
  assert_eq "" "$(ls -A "$ROOT/snapshots/tmp" 2>/dev/null)" "$1: no unpack left in snapshots/tmp"
}

# mounts_under DIR — mount points at or below DIR.
mounts_under() { awk -v d="$1" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo; }
