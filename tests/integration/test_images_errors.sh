#!/bin/bash
# Image pulls that go wrong: unknown images and tags, registries that are down or answer
# garbage, blobs and manifests that do not match their digest, downloads cut short (they
# must resume with a Range request, also after the client was killed), hostile tar layers
# (../, absolute names, symlinks and hard links pointing out of the layer, whiteouts
# outside it), and a store on a full filesystem. Each failure must be one clear
# "berthctl: …" line and leave nothing half-done visible in the store.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthctl_lib.sh"

start_registry plain
INSECURE=("$REG_PLAIN")
L=$IMAGES_DIR/errors
oci_init "$L"

# tiny_image TAG TEXT — one gzip layer with a unique random file (no layer is shared with
# another image, so corrupting one affects nothing else). Sets TINY_* digests.
tiny_image() {
  local src=$IMAGES_DIR/src-$1
  mkdir -p "$src"
  echo "$2" >"$src/text"
  head -c 262144 /dev/urandom >"$src/random"
  oci_layer "$L" gzip "$src"
  TINY_LAYER=$(jq -r .digest <<<"$LAYER_DESC") TINY_DIFF=$LAYER_DIFF_ID
  oci_manifest "$L" "$(image_config "$HOST_ARCH" "[\"$LAYER_DIFF_ID\"]" "{\"Labels\": {\"tag\": \"$1\"}}")" "$LAYER_DESC"
  TINY_MANIFEST=$MANIFEST_DIGEST TINY_CONFIG=$CONFIG_DIGEST
  oci_tag "$L" "$1" "$MANIFEST_DESC"
  push_raw "$L" "$MANIFEST_DIGEST" "$REG_PLAIN/test/$1:v1"
}

# The big image: a 12 MiB layer of random bytes (gzip cannot shrink it), bigger than the
# 8 MiB filesystem of the disk-full test and long enough to cut mid-way.
mkdir -p "$IMAGES_DIR/src-big"
head -c $((12 << 20)) /dev/urandom >"$IMAGES_DIR/src-big/random"
echo "big" >"$IMAGES_DIR/src-big/text"
oci_layer "$L" gzip "$IMAGES_DIR/src-big"
BIG_LAYER=$(jq -r .digest <<<"$LAYER_DESC") BIG_SIZE=$(jq -r .size <<<"$LAYER_DESC") BIG_DIFF=$LAYER_DIFF_ID
oci_manifest "$L" "$(image_config "$HOST_ARCH" "[\"$BIG_DIFF\"]" '{"Labels": {"tag": "big"}}')" "$LAYER_DESC"
BIG_MANIFEST=$MANIFEST_DIGEST BIG_CONFIG=$CONFIG_DIGEST
oci_tag "$L" big "$MANIFEST_DESC"
push_raw "$L" "$BIG_MANIFEST" "$REG_PLAIN/test/big:v1"
tiny_image ok "an image that pulls fine"
OK_MANIFEST=$TINY_MANIFEST

section "unknown images, tags and registries"
bctl_capture pull "$REG_PLAIN/test/nosuch:v1"
expect_error "test/nosuch" "pull of an unknown repository names it"
expect_error "not found|unknown|does not exist|no such" "pull of an unknown repository says it is not there"
bctl_capture pull "$REG_PLAIN/test/ok:nosuchtag"
expect_error "nosuchtag" "pull of an unknown tag names it"
expect_error "not found|unknown|does not exist|no such" "pull of an unknown tag says it is not there"
bctl_capture pull "$REG_PLAIN/test/ok@sha256:$(printf 'x' | sha256sum | cut -d' ' -f1)"
expect_error "not found|unknown|does not exist|no such" "pull of an unknown digest"
bctl_capture pull 'Not A Valid/Reference!!'
expect_error "reference|invalid" "pull of a malformed reference"
down=127.0.0.1:$(unused_port)
INSECURE+=("$down")
bctl_capture pull "$down/test/ok:v1"
expect_error "$down" "pull from a registry that is down names it"
expect_error "connect|refused" "pull from a registry that is down says why"
# The plain-HTTP registry without --insecure-registry: HTTPS fails, and berthctl must not
# fall back to HTTP on its own.
saved=("${INSECURE[@]}")
INSECURE=()
bctl_capture pull "$REG_PLAIN/test/ok:v1"
INSECURE=("${saved[@]}")
expect_error "$REG_PLAIN" "pull over HTTPS from a plain-HTTP registry fails naming it"
bctl_capture inspect "$REG_PLAIN/test/never-pulled:v1"
expect_error "never-pulled" "inspect of an image not in the store"
bctl_capture run --local --rm --runtime "$BERTH" "$REG_PLAIN/test/never-pulled:v1"
expect_error "never-pulled" "run of an image not in the store"
bctl_capture rmi "$REG_PLAIN/test/never-pulled:v1"
expect_error "never-pulled" "rmi of an image not in the store"
assert_eq "0 0" "$(blob_count) $(layer_count)" "failed pulls leave no blob or layer"

section "a registry that answers garbage"
cat >"$TEST_DIR/junk_server.py" <<'EOF'
# Answers /v2/ with 200, then per repository: junk (not JSON), badschema (JSON of the
# wrong shape), huge (an endless manifest), lying (a manifest whose config blob has other
# bytes than its digest).
import hashlib, json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
CFG = b'{"architecture": "amd64", "os": "linux"}'
LIE = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(CFG),
               "digest": "sha256:" + hashlib.sha256(b"something else").hexdigest()},
    "layers": []}).encode()
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, code, body, ctype="application/vnd.oci.image.manifest.v1+json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def do_GET(self):
        p = self.path
        if p == "/v2/": return self.send(200, b"{}", "application/json")
        if p.startswith("/v2/junk/"): return self.send(200, b"\x00\xff<html>this is not a manifest")
        if p.startswith("/v2/badschema/"):
            return self.send(200, b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": "nope", "layers": 5}')
        if p.startswith("/v2/huge/") and "/manifests/" in p:
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command == "HEAD": return
            try:
                self.wfile.write(b'{"schemaVersion": 2, "annotations": {"x": "')
                for _ in range(1024): self.wfile.write(b"a" * 65536)  # 64 MiB, no end
            except OSError: pass
            self.close_connection = True
            return
        if p.startswith("/v2/lying/image/manifests/"): return self.send(200, LIE)
        if p.startswith("/v2/lying/image/blobs/"): return self.send(200, CFG, "application/octet-stream")
        self.send(404, b'{"errors": [{"code": "NAME_UNKNOWN", "message": "unknown"}]}', "application/json")
    do_HEAD = do_GET
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f: f.write(str(srv.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
EOF
(cd / && exec "$PYTHON" "$TEST_DIR/junk_server.py" "$TEST_DIR/junk.port") >"$TEST_DIR/junk.log" 2>&1 &
track_pid $!
JUNK=127.0.0.1:$(wait_port_file "$TEST_DIR/junk.port" $!) || die "junk server did not start: $(cat "$TEST_DIR/junk.log")"
INSECURE+=("$JUNK")
ROOT_JUNK=$TEST_DIR/store-junk
ROOT=$ROOT_JUNK bctl_capture pull "$JUNK/junk/image:v1"
expect_error "manifest|json|pars|invalid" "a manifest that is not JSON"
ROOT=$ROOT_JUNK bctl_capture pull "$JUNK/badschema/image:v1"
expect_error "manifest|config|layers|invalid|pars" "a manifest of the wrong shape"
start=$SECONDS
ROOT=$ROOT_JUNK bctl_capture pull "$JUNK/huge/image:v1"
expect_error "manifest|large|size|limit|exceed" "an endless manifest"
[ $((SECONDS - start)) -lt 60 ] && pass "an endless manifest is refused in time" || fail "an endless manifest took $((SECONDS - start)) s"
ROOT=$ROOT_JUNK bctl_capture pull "$JUNK/lying/image:v1"
expect_error "digest" "a config blob whose bytes do not match its digest"
assert_eq "0 0" "$(blob_count "$ROOT_JUNK") $(layer_count "$ROOT_JUNK")" "garbage leaves no blob or layer"
assert_eq "" "$(ROOT=$ROOT_JUNK bctl images -q 2>&1)" "garbage leaves no image"

section "blobs that do not match their digest"
tiny_image corrupt "a layer that gets corrupted"
CORRUPT_LAYER=$TINY_LAYER CORRUPT_MANIFEST=$TINY_MANIFEST
f=$(registry_blob_path plain "$CORRUPT_LAYER")
cp "$f" "$TEST_DIR/corrupt-layer.orig"
# Bytes 4-7 are gzip's MTIME: changing them alters the blob's digest but not the tar in
# it, so only checking the digest of what was downloaded catches it (not the diff_id).
printf '\x01\x02\x03\x04' | dd of="$f" bs=1 seek=4 conv=notrunc status=none
gunzip -c "$f" | sha256sum | grep -q "${TINY_DIFF#sha256:}" || die "the corrupted layer should still gunzip to the same tar"
ROOT_C=$TEST_DIR/store-corrupt
ROOT=$ROOT_C bctl_capture pull "$REG_PLAIN/test/corrupt:v1"
expect_error "digest" "a layer blob with other bytes than its digest"
assert_contains "$ERR" "${CORRUPT_LAYER#sha256:}" "the error names the blob"
has_blob "$CORRUPT_LAYER" "$ROOT_C" && fail "the corrupt blob is visible in the store" || pass "the corrupt blob is not in the store"
assert_eq 0 "$(layer_count "$ROOT_C")" "no snapshot is added"
assert_eq "" "$(ROOT=$ROOT_C bctl images -q 2>&1)" "no image is added"
ROOT=$ROOT_C assert_store_clean "after a digest mismatch"
cp "$TEST_DIR/corrupt-layer.orig" "$f"
ROOT=$ROOT_C bctl_capture pull "$REG_PLAIN/test/corrupt:v1"
expect_ok "the pull succeeds once the registry serves the right bytes"
assert_contains "$OUT" "Pulled $REG_PLAIN/test/corrupt:v1 $CORRUPT_MANIFEST" "Pulled line after the repair"
has_blob "$CORRUPT_LAYER" "$ROOT_C" && pass "the repaired blob is committed" || fail "the repaired blob is committed"
ROOT=$ROOT_C assert_store_clean "after the repaired pull"

# A manifest pulled by digest whose bytes the registry altered (same length, valid JSON).
tiny_image corrupt-manifest "a manifest that gets corrupted"
f=$(registry_blob_path plain "$TINY_MANIFEST")
sed -i 's/^{/{ /' "$f"  # still valid JSON, other bytes
[ "$(sha256sum <"$f" | cut -d' ' -f1)" != "${TINY_MANIFEST#sha256:}" ] || die "the manifest was not altered"
ROOT=$ROOT_C bctl_capture pull "$REG_PLAIN/test/corrupt-manifest@$TINY_MANIFEST"
expect_error "digest" "a manifest pulled by digest whose bytes do not match"
has_blob "$TINY_MANIFEST" "$ROOT_C" && fail "the altered manifest is stored" || pass "the altered manifest is not stored"

section "interrupted downloads resume"
# resumed_ok LOG PATH — every cut response for PATH (Range start S, N bytes sent) is
# followed by a request starting at S+N: the client resumed where it broke.
resumed_ok() {
  awk -v p="$2" -F' [|] ' '
    { split($1, r, " "); if (r[2] != p) next
      s = 0; if ($2 ~ /bytes=[0-9]+-/) { x = $2; sub(/.*bytes=/, "", x); sub(/-.*/, "", x); s = x + 0 }
      starts[s] = 1; n = $4; sub(/sent /, "", n)
      if ($5 == "cut" || $5 == "stalled") ends[s + n] = 1 }
    END { bad = 0; cuts = 0
          for (e in ends) { cuts++; if (!(e in starts)) { print "no request resumed at " e; bad = 1 } }
          if (cuts == 0) { print "nothing was cut"; bad = 1 }
          exit bad }' "$1"
}
start_cut_proxy cut "$REG_PLAIN" --cut-after $((1 << 20)) --cut-count 2
INSECURE+=("$PROXY_CUT")
ROOT_CUT=$TEST_DIR/store-cut
ROOT=$ROOT_CUT bctl_capture pull "$PROXY_CUT/test/big:v1"
expect_ok "a pull whose layer download is cut twice succeeds"
BIG_PATH=/v2/test/big/blobs/$BIG_LAYER
log=$(cat "$PROXYLOG_CUT")
assert_match "$log" "^GET $BIG_PATH \\| Range: bytes=$((1 << 20))-" "the client asked for the rest: Range: bytes=$((1 << 20))-"
out=$(resumed_ok "$PROXYLOG_CUT" "$BIG_PATH") && pass "every cut download was resumed where it broke" || {
  fail "every cut download was resumed where it broke: $out"
  _show "$log"
}
has_blob "$BIG_LAYER" "$ROOT_CUT" && pass "the big layer is committed" || fail "the big layer is committed"
ROOT=$ROOT_CUT assert_store_clean "after the resumed pull"
assert_eq 1 "$(layer_count "$ROOT_CUT")" "the big layer is unpacked"

# The client is killed mid-download: the next pull resumes from what the first one saved.
start_cut_proxy stall "$REG_PLAIN" --cut-after $((3 << 20)) --cut-count 1 --stall
INSECURE+=("$PROXY_STALL")
ROOT_KILL=$TEST_DIR/store-kill
insecure=()
for h in "${INSECURE[@]}"; do insecure+=(--insecure-registry "$h"); done
"$BERTHCTL" --root "$ROOT_KILL" --hosts-dir "$HOSTS_DIR" --auth-file "$AUTH_FILE" "${insecure[@]}" \
  pull "$PROXY_STALL/test/big:v1" </dev/null >"$TEST_DIR/killed-pull.log" 2>&1 &
pull_pid=$!
track_pid "$pull_pid"
ingest_size() { find "$ROOT_KILL/content/ingest" -type f -name data -printf '%s\n' 2>/dev/null | sort -n | tail -n1; }
wait_until 30 grep -q stalled "$PROXYLOG_STALL" || fail "the download reached the stall point (log: $(cat "$PROXYLOG_STALL"))"
ingest_full() { [ "$(ingest_size)" = $((3 << 20)) ]; }
wait_until 15 ingest_full
kill -KILL "$pull_pid" 2>/dev/null
wait "$pull_pid" 2>/dev/null
saved=$(ingest_size)
assert_match "${saved:-0}" '^[1-9][0-9]*$' "the killed pull left its partial download in content/ingest"
has_blob "$BIG_LAYER" "$ROOT_KILL" && fail "a partial blob is visible" || pass "the partial blob is not visible"
ROOT=$ROOT_KILL bctl_capture pull "$PROXY_STALL/test/big:v1"
expect_ok "the pull after a killed one succeeds"
if [ -n "$saved" ] && [ "$saved" -gt 0 ]; then
  assert_match "$(cat "$PROXYLOG_STALL")" "^GET $BIG_PATH \\| Range: bytes=$saved-" "it resumed with Range: bytes=$saved- (what the killed pull saved)"
fi
has_blob "$BIG_LAYER" "$ROOT_KILL" && pass "the big layer is committed" || fail "the big layer is committed"
ROOT=$ROOT_KILL assert_store_clean "after the resumed pull"

# A server that never sends a byte of the body: the client must give up, clearly.
start_cut_proxy dead "$REG_PLAIN" --cut-after 0 --cut-count 1000000
INSECURE+=("$PROXY_DEAD")
ROOT_DEAD=$TEST_DIR/store-dead
start=$SECONDS
ROOT=$ROOT_DEAD BCTL_TIMEOUT=150 bctl_capture pull "$PROXY_DEAD/test/big:v1"
# (The config blob is cut too: the error may name it or the layer.)
expect_error "${BIG_LAYER#sha256:}|${BIG_CONFIG#sha256:}|$PROXY_DEAD|test/big" "a download that never progresses fails naming what"
[ $((SECONDS - start)) -lt 120 ] && pass "it gives up within 2 minutes ($((SECONDS - start)) s)" || fail "giving up took $((SECONDS - start)) s"
has_blob "$BIG_LAYER" "$ROOT_DEAD" && fail "a partial blob is visible" || pass "no partial blob is visible"
kill -TERM "$PROXYPID_DEAD" && wait "$PROXYPID_DEAD" 2>/dev/null

section "hostile layers"
ESC=$TEST_DIR/escape
mkdir -p "$ESC"
echo "keep me" >"$ESC/victim3"
echo original >"$TEST_DIR/victim.txt"
echo original >"$TEST_DIR/victim2.txt"
shadow_before=$(stat -c '%h %s %Y %i' /etc/shadow)$(sha256sum </etc/shadow)
mkdir -p "$IMAGES_DIR/hostile"
"$PYTHON" - "$IMAGES_DIR/hostile" "$ESC" "$TEST_DIR/victim.txt" "$TEST_DIR/victim2.txt" <<'EOF' || die "building the hostile tars failed"
# One tar per attack; every file that would land outside the layer is named escaped-*.
import io, sys, tarfile
out, esc, victim, victim2 = sys.argv[1:5]
up = "../" * 24
rel = up + esc.lstrip("/")
def entry(t, kind, name, arg=None):
    ti = tarfile.TarInfo(name)
    ti.mtime, ti.mode, ti.uid, ti.gid = 1704164645, 0o644, 0, 0
    if kind == "file":
        data = arg if arg is not None else b"escaped\n"
        ti.size = len(data)
        return t.addfile(ti, io.BytesIO(data))
    if kind == "dir":
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
    elif kind == "symlink":
        ti.type, ti.linkname = tarfile.SYMTYPE, arg
    elif kind == "hardlink":
        ti.type, ti.linkname = tarfile.LNKTYPE, arg
    t.addfile(ti)
cases = {
    "dotdot": [("file", rel + "/escaped-dotdot")],
    "dotdot-in-dir": [("dir", "a"), ("file", "a/" + rel + "/escaped-dotdot-in-dir")],
    "absolute": [("file", esc + "/escaped-absolute")],
    "symlink-dir": [("symlink", "evil", esc), ("file", "evil/escaped-symlink-dir")],
    "symlink-relative": [("symlink", "evil", rel), ("file", "evil/escaped-symlink-relative")],
    "symlink-overwrite": [("symlink", "victim", victim), ("file", "victim", b"pwned\n")],
    "hardlink-shadow": [("hardlink", "shadow", "/etc/shadow"),
                        ("hardlink", "shadow-rel", up + "etc/shadow")],
    "hardlink-write": [("hardlink", "hl", victim2), ("file", "hl", b"pwned\n")],
    "whiteout": [("file", rel + "/.wh.victim3", b"")],
}
for name, entries in cases.items():
    with tarfile.open(f"{out}/{name}.tar", "w", format=tarfile.PAX_FORMAT) as t:
        entry(t, "file", "ok-file", b"a harmless file\n")
        for e in entries:
            entry(t, *e)
EOF
ROOT_H=$TEST_DIR/store-hostile
for tarfile in "$IMAGES_DIR"/hostile/*.tar; do
  kind=$(basename "$tarfile" .tar)
  oci_layer "$L" gzip "$tarfile"
  oci_manifest "$L" "$(image_config "$HOST_ARCH" "[\"$LAYER_DIFF_ID\"]" '{}')" "$LAYER_DESC"
  push_raw "$L" "$MANIFEST_DIGEST" "$REG_PLAIN/test/hostile-$kind:v1"
  layers=$(layer_count "$ROOT_H")
  ROOT=$ROOT_H bctl_capture pull "$REG_PLAIN/test/hostile-$kind:v1"
  if [ "$RC" -eq 0 ]; then
    pass "hostile $kind: pulled (contained)"
    [ -f "$(layer_dir "$LAYER_DIFF_ID" "$ROOT_H")/ok-file" ] && pass "hostile $kind: its harmless file is in the layer" ||
      fail "hostile $kind: its harmless file is in the layer"
  else
    pass "hostile $kind: refused: $ERR"
    assert_eq 1 "$RC" "hostile $kind: exit status 1"
    assert_error_line "hostile $kind"
    assert_eq "$layers" "$(layer_count "$ROOT_H")" "hostile $kind: no layer is committed"
  fi
done
assert_eq "victim3" "$(ls -A "$ESC")" "nothing was created in the directory the layers aim at"
assert_eq "keep me" "$(cat "$ESC/victim3" 2>&1)" "a whiteout cannot delete or replace a file outside the layer"
assert_eq "original 1" "$(cat "$TEST_DIR/victim.txt") $(stat -c %h "$TEST_DIR/victim.txt")" "writing over a symlink does not write through it"
assert_eq "original 1" "$(cat "$TEST_DIR/victim2.txt") $(stat -c %h "$TEST_DIR/victim2.txt")" "a hard link cannot reach or change a file outside the layer"
assert_eq "$shadow_before" "$(stat -c '%h %s %Y %i' /etc/shadow)$(sha256sum </etc/shadow)" "/etc/shadow is unchanged (content, mtime and link count)"
assert_eq "" "$(find "$TEST_DIR" -path "$ROOT_H" -prune -o -name 'escaped-*' -print; ls -d /escaped-* /tmp/escaped-* 2>/dev/null)" \
  "no escaped-* file exists outside the store"
for l in $(find "$ROOT_H/snapshots/layers" -mindepth 1 -maxdepth 1 2>/dev/null); do
  if [ -e "$l/fs/shadow" ] && [ "$(stat -c %d:%i "$l/fs/shadow")" = "$(stat -c %d:%i /etc/shadow)" ]; then
    fail "a layer's 'shadow' is a hard link to the host's /etc/shadow"
  fi
done
ROOT=$ROOT_H assert_store_clean "after the hostile layers"

section "a full filesystem"
FULL=$TEST_DIR/full
mkdir -p "$FULL"
mount -t tmpfs -o size=8m,mode=755 berth-test-full "$FULL" || die "mount tmpfs on $FULL failed"
on_exit "umount -l '$FULL'"
# The free-space floor off: the filesystem itself runs out.
NOFLOOR=(--min-free-bytes 0 --min-free-percent 0)
ROOT=$FULL/root bctl_capture "${NOFLOOR[@]}" pull "$REG_PLAIN/test/big:v1"
expect_error "no space left" "a pull into an 8 MiB filesystem of a 12 MiB image"
has_blob "$BIG_LAYER" "$FULL/root" && fail "a partial blob is visible" || pass "no partial blob is visible"
assert_eq 0 "$(layer_count "$FULL/root")" "no layer is committed"
ROOT=$FULL/root assert_store_clean "after ENOSPC"
mount -o remount,size=96m "$FULL" || die "remount of $FULL failed"
# The default floor (1 GiB or 5%, the larger) is more than this filesystem holds.
ROOT=$FULL/root bctl_capture pull "$REG_PLAIN/test/big:v1"
expect_error "free-space floor of 1 GiB" "the default free-space floor refuses a 96 MiB filesystem"
assert_eq 0 "$(layer_count "$FULL/root")" "no layer is committed"
ROOT=$FULL/root assert_store_clean "after the floor"
# A floor of 90% of 96 MiB (86 MiB) leaves 10 MiB: the 12 MiB layer stops before it fills it.
ROOT=$FULL/root bctl_capture --min-free-bytes 0 --min-free-percent 90 pull "$REG_PLAIN/test/big:v1"
expect_error "min_free_percent 90%" "a 90% floor stops the pull"
used=$(df --output=used -B1 "$FULL" | tail -n1)
[ "$used" -lt $((12 << 20)) ] && pass "the floor left the filesystem with room ($used bytes used)" ||
  fail "the floor let the filesystem fill: $used bytes used"
ROOT=$FULL/root assert_store_clean "after the 90% floor"
ROOT=$FULL/root bctl_capture --min-free-bytes 16MiB --min-free-percent 0 pull "$REG_PLAIN/test/big:v1"
expect_ok "the pull succeeds once there is space"
assert_contains "$OUT" "Pulled $REG_PLAIN/test/big:v1 $BIG_MANIFEST" "Pulled line after ENOSPC"
has_blob "$BIG_LAYER" "$FULL/root" && pass "the big layer is committed" || fail "the big layer is committed"
ROOT=$FULL/root assert_store_clean "after the pull with space"
umount "$FULL" && pass "the tmpfs unmounts (nothing holds it)" || { fail "umount $FULL"; umount -l "$FULL"; }
