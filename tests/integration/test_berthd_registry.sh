#!/bin/bash
# berthd's ImageService against real registries on 127.0.0.1 (Debian's docker-registry, as
# registry_lib.sh starts them), driven with berthctl over gRPC (and raw CRI calls with curl
# + protoc for the fields berthctl does not send): PullImage with the request's AuthConfig
# (htpasswd and token auth: right, wrong and no credentials, the gRPC code, nothing half
# written), mirrors from --hosts-dir and --insecure-registry (a mirror that answers, one
# that lacks the image, one that is down), pull_stall_timeout (a registry that stops sending
# mid-blob fails the pull; one that is slow but moving succeeds), ImageStatus verbose,
# ListImages with a filter, RemoveImage, ImageFsInfo against the store's real use, and an
# index with two platforms. Needs root (berthd).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthd_lib.sh"
require_root
require_tools jq docker-registry htpasswd protoc curl

berthd_init reg
start_registry open none
start_registry auth htpasswd
start_registry tok token
start_registry mirror none
start_registry orig2 none
CREDS="$REG_USER:$REG_PASS"
STORE=$BD/root/images

# --- images: busybox (~1 MB gzip layer) and small ones with a marker file each ---------------
busybox_rootfs "$TEST_DIR/bb"
BB_CFG='{"Cmd": ["sh"], "Env": ["PATH=/bin", "FROM=busybox"], "Labels": {"berth.test": "bb"}}'
berthd_push_image "$TEST_DIR/bb" "$BB_CFG" "$REG_OPEN/test/busybox:v1"
BB_ID=$PUSHED_CONFIG BB_MANIFEST=$PUSHED_MANIFEST BB_LAYER=$(jq -r .digest <<<"$LAYER_DESC")
BB_LAYER_SIZE=$(jq -r .size <<<"$LAYER_DESC")
push_raw "$TEST_DIR/push-layout" "$BB_MANIFEST" "$REG_ORIG2/test/busybox:v1"
# marker_image NAME — a one-file image; sets MK_ID, MK_LAYER.
marker_image() {
  mkdir -p "$TEST_DIR/mk-$1"
  echo "marker $1" >"$TEST_DIR/mk-$1/marker"
  berthd_push_image "$TEST_DIR/mk-$1" "{\"Cmd\": [\"/marker\"], \"Labels\": {\"berth.test\": \"$1\"}}" "$2" ${3:+"$3"}
  MK_ID=$PUSHED_CONFIG MK_LAYER=$(jq -r .digest <<<"$LAYER_DESC")
}
marker_image auth "$REG_AUTH/test/auth:v1" "$CREDS"
AUTH_ID=$MK_ID AUTH_LAYER=$MK_LAYER
marker_image tok "$REG_TOK/test/tok:v1" "$CREDS"
TOK_ID=$MK_ID
marker_image mirrored "$REG_MIRROR/test/mirrored:v1"
MIRRORED_ID=$MK_ID
# 1 MiB that does not compress: the blob the paced downloads fetch.
mkdir -p "$TEST_DIR/big"
head -c 1048576 /dev/urandom >"$TEST_DIR/big/random"
berthd_push_image "$TEST_DIR/big" '{"Cmd": ["/random"]}' "$REG_OPEN/test/big:v1"
BIG_ID=$PUSHED_CONFIG BIG_LAYER=$(jq -r .digest <<<"$LAYER_DESC")

# An index: this platform's manifest (busybox) and another platform's marker image.
L=$TEST_DIR/push-layout
mkdir -p "$TEST_DIR/other"
echo "other platform" >"$TEST_DIR/other/marker"
oci_layer "$L" gzip "$TEST_DIR/other"
OTHER_LAYER=$(jq -r .digest <<<"$LAYER_DESC")
oci_manifest "$L" "$(image_config "$OTHER_ARCH" "[\"$LAYER_DIFF_ID\"]" '{"Cmd": ["/marker"]}')" "$LAYER_DESC"
OTHER_DESC=$MANIFEST_DESC OTHER_ID=$CONFIG_DIGEST
BB_DESC=$(jq -cn --arg d "$BB_MANIFEST" --argjson s "$(stat -c %s "$L/blobs/sha256/${BB_MANIFEST#sha256:}")" \
  '{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s}')
oci_index "$L" "$(jq -c --arg a "$OTHER_ARCH" '. + {platform: {architecture: $a, os: "linux"}}' <<<"$OTHER_DESC")" \
  "$(jq -c --arg a "$HOST_ARCH" '. + {platform: {architecture: $a, os: "linux"}}' <<<"$BB_DESC")"
push_raw "$L" "$INDEX_DIGEST" "$REG_OPEN/test/multi:v1"

# --- hosts.toml: the open registry with a mirror; orig2 behind a mirror that is down ------------
HOSTS=$TEST_DIR/certs.d
DEAD=127.0.0.1:$(unused_port)
mkdir -p "$HOSTS/$REG_OPEN" "$HOSTS/$REG_ORIG2"
printf 'server = "http://%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
  "$REG_OPEN" "$REG_MIRROR" >"$HOSTS/$REG_OPEN/hosts.toml"
printf 'server = "http://%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
  "$REG_ORIG2" "$DEAD" >"$HOSTS/$REG_ORIG2/hosts.toml"

# --- proxies that pace blob downloads (a tiny python3 server of this test) --------------------
cat >"$TEST_DIR/slow_proxy.py" <<'EOF'
# slow_proxy.py UPSTREAM PORT_FILE LOG MODE CHUNK GAP — forwards to UPSTREAM; blob GETs are
# paced. slow: CHUNK bytes every GAP seconds. stall: CHUNK bytes of each blob over all its
# requests (a resumed Range request gets none), then nothing until the client goes away.
import http.client, os, re, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
up_host, up_port = sys.argv[1].rsplit(":", 1)
port_file, log_path, mode, chunk, gap = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
sent, lock = {}, threading.Lock()
log = open(log_path, "a", buffering=1)
BLOB = re.compile(r"/blobs/sha256:[0-9a-f]{64}$")
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        c = http.client.HTTPConnection(up_host, int(up_port), timeout=60)
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        head = self.command == "HEAD"
        self.send_header("Content-Length", r.getheader("Content-Length", "0") if head else str(len(data)))
        self.end_headers()
        log.write(f"{self.command} {self.path} {r.status} {self.headers.get('Range') or '-'}\n")
        if head:
            return
        if not (self.command == "GET" and BLOB.search(self.path) and r.status in (200, 206)):
            self.wfile.write(data)
            return
        off = 0
        while off < len(data):
            if mode == "stall":
                with lock:
                    piece = data[off:off + max(0, chunk - sent.get(self.path, 0))]
                    sent[self.path] = sent.get(self.path, 0) + len(piece)
                if not piece:
                    log.write(f"stalled {self.path} at {off}\n")
                    self.connection.settimeout(1)
                    while True:
                        try:
                            if not self.connection.recv(4096): return
                        except socket.timeout: continue
                        except OSError: return
            else:
                piece = data[off:off + chunk]
            try:
                self.wfile.write(piece)
                self.wfile.flush()
            except OSError:
                return
            off += len(piece)
            if mode == "slow" and off < len(data):
                log.write(f"paused {self.path} at {off}\n")
                time.sleep(gap)
    do_GET = do_HEAD = do
class S(ThreadingHTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(f"{s.server_address[1]}\n")
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
EOF
# start_pacer NAME MODE CHUNK GAP — sets PACER_<NAME> (host:port) and PACERLOG_<NAME>.
start_pacer() {
  local d=$TEST_DIR/pacer-$1 pid port
  mkdir -p "$d"
  (cd / && exec "$PYTHON" "$TEST_DIR/slow_proxy.py" "$REG_OPEN" "$d/port" "$d/log" "$2" "$3" "$4") >"$d/stderr" 2>&1 &
  pid=$!
  track_pid "$pid"
  port=$(wait_port_file "$d/port" "$pid") || die "pacer $1 did not start: $(cat "$d/stderr")"
  printf -v "PACER_${1^^}" '127.0.0.1:%s' "$port"
  printf -v "PACERLOG_${1^^}" '%s' "$d/log"
}
# Stall after 64 KiB of a layer; slow: 192 KiB, then a 1.5 s pause (less than the stall timeout), …
start_pacer stall stall 65536 0
start_pacer slow slow 196608 1.5
STALL_TIMEOUT=2

berthd_start --hosts-dir "$HOSTS" --insecure-registry "$REG_AUTH" --insecure-registry "$REG_TOK" \
  --insecure-registry "$PACER_STALL" --insecure-registry "$PACER_SLOW" \
  --pull-stall-timeout "$STALL_TIMEOUT"

ingest_files() { find "$STORE/content/ingest" -type f -name data 2>/dev/null | wc -l; }
has_blob() { [ -f "$STORE/content/blobs/sha256/${1#sha256:}" ]; }
reg_gets() { grep -c "GET /v2/$2/manifests/" "$TEST_DIR/registries/$1/registry.log"; }

section "htpasswd auth: the request's AuthConfig (berthctl img pull --creds)"
out=$(b img pull "$REG_AUTH/test/auth:v1" 2>&1)
assert_contains "$out" "UNAUTHENTICATED" "no credentials: UNAUTHENTICATED"
assert_contains "$out" "requires credentials" "... saying credentials are needed"
out=$(b img pull --creds "$REG_USER:wrong-password" "$REG_AUTH/test/auth:v1" 2>&1)
assert_contains "$out" "UNAUTHENTICATED" "wrong credentials: UNAUTHENTICATED"
assert_contains "$out" "rejected the credentials of \"$REG_USER\"" "... naming whose credentials were rejected"
assert_eq 0 "$(ingest_files)" "... nothing half written in the store's ingest"
has_blob "$AUTH_LAYER" && fail "... a blob of the image was stored" || pass "... no blob of the image stored"
assert_eq "" "$(b img ls -q 2>&1)" "... and no image listed"
out=$(b img pull --creds "$CREDS" "$REG_AUTH/test/auth:v1" 2>&1)
assert_contains "$out" "$AUTH_ID" "right credentials: pulled (the image id)"
has_blob "$AUTH_LAYER" && pass "... its layer is in the store" || fail "... its layer is not in the store"
out=$(cri_call ImageService PullImage "image { image: \"$REG_AUTH/test/auth:v1\" } auth { auth: \"$(printf '%s' "$CREDS" | base64 -w0)\" }" 2>&1)
assert_contains "$out" "image_ref: \"$AUTH_ID\"" "AuthConfig.auth (base64 user:password, as kubelet may send it)"
out=$(cri_call ImageService PullImage "image { image: \"$REG_AUTH/test/auth:v1\" } auth { auth: \"not base64!\" }" 2>&1)
assert_contains "$out" "grpc-status 3" "AuthConfig.auth that is not base64: INVALID_ARGUMENT (3)"

section "token auth"
out=$(b img pull "$REG_TOK/test/tok:v1" 2>&1)
assert_contains "$out" "UNAUTHENTICATED" "token registry, no credentials: UNAUTHENTICATED"
assert_contains "$out" "rejected anonymous access" "... saying no credentials were sent"
out=$(b img pull --creds "$REG_USER:nope" "$REG_TOK/test/tok:v1" 2>&1)
assert_contains "$out" "UNAUTHENTICATED" "token registry, wrong credentials: UNAUTHENTICATED"
assert_eq 0 "$(ingest_files)" "... nothing half written"
out=$(b img pull --creds "$CREDS" "$REG_TOK/test/tok:v1" 2>&1)
assert_contains "$out" "$TOK_ID" "token registry, right credentials: pulled"

section "mirrors from --hosts-dir"
m0=$(reg_gets mirror test/mirrored) o0=$(reg_gets open test/mirrored)
out=$(b img pull "$REG_OPEN/test/mirrored:v1" 2>&1)
assert_contains "$out" "$MIRRORED_ID" "an image only the mirror has: pulled through the mirror"
assert_eq $((m0 + 1)) "$(reg_gets mirror test/mirrored)" "... the mirror served its manifest"
m0=$(reg_gets mirror test/busybox) o0=$(reg_gets open test/busybox)
out=$(b img pull "$REG_OPEN/test/busybox:v1" 2>&1)
assert_contains "$out" "$BB_ID" "an image the mirror lacks: pulled from the origin"
assert_ne "$m0" "$(reg_gets mirror test/busybox)" "... the mirror was asked first"
assert_eq $((o0 + 1)) "$(reg_gets open test/busybox)" "... then the origin served it"
o0=$(reg_gets orig2 test/busybox)
out=$(b img pull "$REG_ORIG2/test/busybox:v1" 2>&1)
assert_contains "$out" "$BB_ID" "a mirror that is down ($DEAD): falls back to the origin"
assert_eq $((o0 + 1)) "$(reg_gets orig2 test/busybox)" "... which served it"
out=$(b img pull "$REG_OPEN/test/nothing:v1" 2>&1)
assert_contains "$out" "NOT_FOUND" "a tag neither mirror nor origin has: NOT_FOUND"

section "ImageStatus verbose, ListImages with a filter"
st=$(b inspecti "$REG_OPEN/test/busybox:v1" 2>&1)
assert_eq "$BB_ID" "$(jq -r .status.id <<<"$st")" "inspecti: the id"
assert_contains "$(jq -c .status.repoTags <<<"$st")" "$REG_OPEN/test/busybox:v1" "inspecti: the repo tag"
assert_contains "$(jq -c .status.repoDigests <<<"$st")" "$REG_OPEN/test/busybox@$BB_MANIFEST" "inspecti: the repo digest"
assert_eq "FROM=busybox" "$(jq -r '.info.info.imageSpec.config.Env[1] // .info.info.imageSpec.config.Env' <<<"$st")" \
  "ImageStatus verbose: the image config (its Env)"
assert_eq bb "$(jq -r '.info.info.imageSpec.config.Labels["berth.test"]' <<<"$st")" "... and its labels"
assert_eq "" "$(cri_call ImageService ImageStatus 'image { image: "localhost/none:v0" }' 2>&1)" \
  "ImageStatus of an unknown image: no image, no error"
all=$(cri_call ImageService ListImages '' 2>&1)
assert_eq 4 "$(grep -c '^  id:' <<<"$all")" "ListImages: 4 images (auth, tok, mirrored, busybox under two names)"
out=$(cri_call ImageService ListImages "filter { image { image: \"$REG_OPEN/test/mirrored:v1\" } }" 2>&1)
assert_eq "id: \"$MIRRORED_ID\"" "$(grep -o '^  id: .*' <<<"$out" | sed 's/^  //')" "ListImages filter by reference: that image only"
out=$(cri_call ImageService ListImages "filter { image { image: \"$AUTH_ID\" } }" 2>&1)
assert_eq "id: \"$AUTH_ID\"" "$(grep -o '^  id: .*' <<<"$out" | sed 's/^  //')" "ListImages filter by id"
out=$(cri_call ImageService ListImages "filter { image { image: \"$REG_OPEN/test/none:v1\" } }" 2>&1)
assert_eq "" "$out" "ListImages filter matching nothing: empty"

section "an index with two platforms"
out=$(b img pull "$REG_OPEN/test/multi:v1" 2>&1)
assert_contains "$out" "$BB_ID" "the index resolves to this platform's ($HOST_ARCH) image"
has_blob "$OTHER_LAYER" && fail "the other platform's layer was fetched" || pass "the other platform's layer was not fetched"
# CRI v1 carries no platform for Linux pods: a sandbox_config changes nothing (as containerd).
out=$(cri_call ImageService PullImage "image { image: \"$REG_OPEN/test/multi:v1\" } sandbox_config { metadata { name: \"p\" namespace: \"n\" uid: \"u\" } linux { } }" 2>&1)
assert_contains "$out" "image_ref: \"$BB_ID\"" "PullImage with a sandbox_config: this platform's image"

section "pull_stall_timeout: a registry that stops sending mid-blob, one that is slow but moving"
start=$SECONDS
out=$(b img pull "$PACER_STALL/test/big:v1" 2>&1); rc=$?
took=$((SECONDS - start))
assert_ne 0 "$rc" "a stalled download fails"
grep -q "^stalled " "$PACERLOG_STALL" && pass "... after the registry stopped sending mid-blob" || fail "the pacer never stalled: $(cat "$PACERLOG_STALL")"
assert_contains "$out" "${BIG_LAYER#sha256:}" "... naming the layer"
assert_contains "$out" "pull_stall_timeout" "... and the stall timeout that fired: $(grep -o 'pull.*' <<<"$out" | head -c 300)"
assert_not_contains "$out" "berthctl: cri: .*DEADLINE_EXCEEDED: .*context deadline" "... (berthd's answer, not the client's deadline)"
echo "NOTE   the stalled pull failed after $took s (pull_stall_timeout = $STALL_TIMEOUT s)"
assert_eq 1 "$(grep -c "^GET /v2/test/big/blobs/$BIG_LAYER " "$PACERLOG_STALL")" \
  "... at the first stall: the blob was asked for once (retries would multiply the timeout)"
has_blob "$BIG_LAYER" && fail "... a partial blob is visible" || pass "... no partial blob is visible"
start=$SECONDS
out=$(b img pull "$PACER_SLOW/test/big:v1" 2>&1)
took=$((SECONDS - start))
assert_contains "$out" "$BIG_ID" "a slow but moving download succeeds ($took s)"
pauses=$(grep -c '^paused ' "$PACERLOG_SLOW")
[ "$pauses" -ge 2 ] && pass "... through $pauses pauses of 1.5 s: more time without data than the stall timeout, in pieces shorter than it" ||
  fail "the slow download paused $pauses times (log: $(cat "$PACERLOG_SLOW"))"
has_blob "$BIG_LAYER" && pass "... its layer is committed" || fail "... its layer is not committed"

section "RemoveImage, ImageFsInfo"
fs_used() { b imagefsinfo -o json | jq -r '.status.imageFilesystems[0].usedBytes.value'; }
fs_inodes() { b imagefsinfo -o json | jq -r '.status.imageFilesystems[0].inodesUsed.value'; }
assert_eq "$STORE" "$(b imagefsinfo -o json | jq -r '.status.imageFilesystems[0].fsId.mountpoint')" "ImageFsInfo: the store's directory"
used=$(fs_used) real=$(du -sB1 "$STORE" | cut -f1)
inodes=$(fs_inodes) real_inodes=$(find "$STORE" -xdev | wc -l)
echo "NOTE   ImageFsInfo: $used bytes, $inodes inodes; du: $real bytes, find: $real_inodes entries"
# Blobs and unpacked files by their sizes, against du's blocks and every directory: the
# two differ by block rounding and directories, not by whole layers.
within() { [ "$1" -ge $(($2 * 3 / 4)) ] && [ "$1" -le $(($2 * 5 / 4)) ]; }
within "$used" "$real" && pass "used_bytes ($used) is within 25 % of du ($real)" || fail "used_bytes $used vs du $real"
within "$inodes" "$real_inodes" && pass "inodes_used ($inodes) is within 25 % of the store's entries ($real_inodes)" ||
  fail "inodes_used $inodes vs $real_inodes entries"
b img rm "$REG_OPEN/test/busybox:v1" >/dev/null 2>&1 || fail "img rm"
assert_eq "" "$(cri_call ImageService ImageStatus "image { image: \"$BB_ID\" }" 2>&1)" "RemoveImage: ImageStatus finds it no more"
assert_not_contains "$(b img ls -q 2>&1)" "$BB_ID" "... nor does ListImages"
assert_eq "" "$(jq -r --arg n "$REG_ORIG2/test/busybox:v1" '.. | strings | select(. == $n)' "$STORE/images.json" 2>/dev/null)" \
  "... every name of the image went (also $REG_ORIG2's and multi's)"
b img rm "$BB_ID" >/dev/null 2>&1 && pass "RemoveImage again: fine (idempotent)" || fail "RemoveImage of a removed image failed"
used2=$(fs_used)
has_blob "$BB_LAYER" && fail "the removed image's layer blob is still in the store" || pass "the removed image's blobs are gone"
[ "$used2" -lt $((used - BB_LAYER_SIZE)) ] && pass "ImageFsInfo drops by at least the layer blob ($used -> $used2)" ||
  fail "ImageFsInfo after RemoveImage: $used -> $used2"
real2=$(du -sB1 "$STORE" | cut -f1)
within "$used2" "$real2" && pass "... and is still within 25 % of du ($real2)" || fail "used_bytes $used2 vs du $real2"
out=$(b img pull --creds "$CREDS" "$REG_AUTH/test/auth:v1" 2>&1)
assert_contains "$out" "$AUTH_ID" "the other images are intact (pull again is a no-op)"

section "cleanup"
assert_eq "" "$(b pods -q 2>&1)" "no pod was made"
berthd_stop
