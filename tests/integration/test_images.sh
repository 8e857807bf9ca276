#!/bin/bash
# Image pulls with berthctl from local registries (Debian's docker-registry): OCI images
# with whiteouts, zstd and uncompressed layers, an index with two platforms, an image made
# by umoci, a Docker schema2 image; images/inspect/run; pulling twice; a mirror from
# hosts.toml; basic (htpasswd) and token auth; an HTTPS registry (ca, skip_verify, and
# --insecure-registry against it); rmi + gc; import/export round trips.
# The images are built once (registry_lib.sh) and pushed with skopeo.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthctl_lib.sh"

start_registry plain
push_test_images "$REG_PLAIN"
INSECURE=("$REG_PLAIN")
MULTI=$REG_PLAIN/test/multi:v1
MIXED=$REG_PLAIN/test/mixed:v1
MULTIARCH=$REG_PLAIN/test/multiarch:v1
UMOCI=$REG_PLAIN/test/umoci:v1
SCHEMA2=$REG_PLAIN/test/schema2:v1
{ read -r MULTI_C1; read -r MULTI_C2; } < <(chain_ids $MULTI_DIFF_IDS)
RUN=(run --local --rm --runtime "$BERTH")

section "pull an OCI image: two gzip layers, whiteouts"
bctl_capture pull "$MULTI"
expect_ok "pull $MULTI"
assert_contains "$OUT" "Pulled $MULTI $MULTI_MANIFEST" "pull prints 'Pulled <ref> <manifest digest>'"
assert_blobs_present "test/multi" "$MULTI_MANIFEST" "$MULTI_CONFIG" $MULTI_LAYERS
assert_store_clean "after the pull"

section "images"
bctl_capture images
expect_ok "images"
line=$(grep -E "^$REG_PLAIN/test/multi[[:space:]]+v1[[:space:]]" <<<"$OUT")
assert_ne "" "$line" "images lists REPOSITORY $REG_PLAIN/test/multi TAG v1"
assert_contains "$line" "${MULTI_CONFIG:7:12}" "IMAGE ID is the first 12 hex of the config digest"
assert_match "$(head -n1 <<<"$OUT")" 'REPOSITORY +TAG +IMAGE ID +SIZE' "images has a header line"
bctl_capture images --digests
assert_contains "$(grep -E "^$REG_PLAIN/test/multi[[:space:]]" <<<"$OUT")" "$MULTI_MANIFEST" "images --digests shows the manifest digest"
bctl_capture images -q
assert_eq "$MULTI" "$OUT" "images -q prints the fully qualified name only"

section "inspect"
bctl_capture inspect "$MULTI"
expect_ok "inspect $MULTI"
J=$OUT
assert_eq '["/bin/sh","-c","echo hello from image"]' "$(jq -c .config.Cmd <<<"$J")" "inspect: config.Cmd"
assert_eq true "$(jq 'any(.config.Env[]; . == "GREETING=hi there")' <<<"$J")" "inspect: config.Env has GREETING"
assert_eq "/home/user user" "$(jq -r '"\(.config.WorkingDir) \(.config.User)"' <<<"$J")" "inspect: WorkingDir and User"
assert_eq "$MULTI_DIFF_IDS" "$(jq -r '.rootfs.diff_ids | join(" ")' <<<"$J")" "inspect: rootfs.diff_ids"
assert_eq "linux $HOST_ARCH" "$(jq -r '"\(.os) \(.architecture)"' <<<"$J")" "inspect: os and architecture"
assert_eq "$MULTI_MANIFEST" "$(jq -r .Digest <<<"$J")" "inspect: Digest is the manifest digest"
assert_eq true "$(jq --arg n "$MULTI" 'any(.RepoTags[]; . == $n)' <<<"$J")" "inspect: RepoTags has $MULTI"
bctl_capture inspect "${MULTI_MANIFEST:7:12}"
assert_eq "$MULTI_MANIFEST" "$(jq -r .Digest <<<"$OUT" 2>/dev/null)" "inspect by a digest prefix of the image"

section "the snapshot is in overlayfs form"
L1=$(layer_dir "$MULTI_C1")
L2=$(layer_dir "$MULTI_C2")
[ -d "$L1" ] && [ -d "$L2" ] && pass "layer dirs exist for both chain ids" || {
  fail "layer dirs exist for both chain ids ($L1, $L2)"
  ls -la "$ROOT/snapshots/layers" 2>&1 | sed 's/^/         | /'
}
assert_eq "character special file 0:0" "$(stat -c '%F %t:%T' "$L2/etc/removeme" 2>&1)" ".wh.removeme became a 0/0 character device"
assert_eq y "$("$PYTHON" -c 'import os, sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())' "$L2/data/old" 2>&1)" \
  ".wh..wh..opq became trusted.overlay.opaque=y on data/old"
assert_eq "" "$(find "$L1" "$L2" -name '.wh.*' 2>&1)" "no .wh. file is left in the layers"
assert_eq "new" "$(ls -A "$L2/data/old" 2>&1)" "the opaque dir holds only the new layer's file"
assert_eq "layer2 motd" "$(cat "$L2/etc/motd" 2>&1)" "layer 2 has its replacement of etc/motd"
assert_eq "" "$(ls -A "$L2/bin" 2>/dev/null)" "layer 2's dir holds only its own changes"
assert_eq "deleted by layer 2" "$(cat "$L1/etc/removeme" 2>&1)" "layer 1 keeps the file layer 2 deletes"
assert_eq "regular file" "$(stat -c %F "$L1/data/old/a" 2>&1)" "layer 1 keeps data/old/a"
assert_eq "1000:1000 1777 busybox" \
  "$(stat -c %u:%g "$L1/home/user" 2>&1) $(stat -c %a "$L1/tmp" 2>&1) $(readlink "$L1/bin/sh" 2>&1)" \
  "owners, modes and symlinks are kept"
assert_contains "$(cat "$ROOT/snapshots/layers/${MULTI_C2#sha256:}/parent" 2>&1)" "${MULTI_C1#sha256:}" "layer 2's parent is layer 1's chain id"

section "run the image"
bctl_capture "${RUN[@]}" "$MULTI"
expect_ok "run --rm $MULTI"
assert_eq "hello from image" "$OUT" "run prints the image's Cmd output"
bctl_capture "${RUN[@]}" "$MULTI" sh -c 'echo "$GREETING|$(pwd)|$(id -u):$(id -g)"; echo etc: $(ls /etc); echo old: $(ls /data/old); cat /etc/motd /data/keep'
expect_ok "run with a command"
assert_eq "hi there|/home/user|1000:1000" "$(head -n1 <<<"$OUT")" "Env, WorkingDir and User (user from /etc/passwd) apply"
etc=$(grep '^etc:' <<<"$OUT")
assert_not_contains "$etc" removeme "the deleted file is gone in the container"
assert_contains "$etc" added "the added file is there"
assert_eq "old: new" "$(grep '^old:' <<<"$OUT")" "data/old shows only the opaque layer's file"
assert_eq "layer2 motd
kept" "$(tail -n2 <<<"$OUT")" "replaced files have the upper layer's content, untouched ones the lower's"
bctl_capture "${RUN[@]}" -e GREETING=changed -e EXTRA=1 -w /tmp -u 0:0 "$MULTI" sh -c 'echo "$GREETING|$EXTRA|$(pwd)|$(id -u):$(id -g)"'
assert_eq "changed|1|/tmp|0:0" "$OUT" "-e, -w and -u override the image config"
bctl_capture "${RUN[@]}" --entrypoint /bin/echo "$MULTI" a b
assert_eq "a b" "$OUT" "--entrypoint replaces the entrypoint"
bctl_capture "${RUN[@]}" "$MULTI" printf '%s|' -e x --rm -u y -t
assert_eq "-e|x|--rm|-u|y|-t|" "$OUT" "words after IMAGE go to the command, berthctl's own flags included"
bctl_capture "${RUN[@]}" -e A=1 -e B=2 "$MULTI" sh -c 'echo $A$B'
assert_eq "12" "$OUT" "each -e takes one value: the image still follows"
bctl_capture "${RUN[@]}" --name "../escape" "$MULTI" true
expect_error "container name" "run --name with a path"
assert_eq "" "$(ls -d "$ROOT/escape" "$ROOT/bundles/escape" 2>/dev/null)" "a bad --name creates nothing"
bctl_capture "${RUN[@]}" "$MULTI" sh -c 'exit 3'
assert_eq 3 "$RC" "run exits with the container's status"
bctl_capture "${RUN[@]}" -u 0 "$MULTI" sh -c 'echo scratch >/etc/motd; echo x >/tmp/f'
bctl_capture "${RUN[@]}" "$MULTI" sh -c 'cat /etc/motd; test -e /tmp/f && echo persisted || echo fresh'
assert_eq "layer2 motd
fresh" "$OUT" "a container's writes do not reach the image or the next container"
assert_eq "layer2 motd" "$(cat "$L2/etc/motd")" "the committed layer is unchanged"
assert_eq "" "$(ls -A "$ROOT/snapshots/active" 2>/dev/null)" "--rm removes the container's snapshot"
assert_eq "" "$(mounts_under "$ROOT")" "no mount is left under the store"

section "run without --rm, then rm --runtime"
KEPT=bctl-kept-$$
bctl_capture run --local --runtime "$BERTH" --name "$KEPT" "$MULTI" true
expect_ok "run --name $KEPT without --rm"
assert_eq "yes yes" "$([ -d "$ROOT/bundles/$KEPT" ] && echo yes) $([ -d "$ROOT/snapshots/active/$KEPT" ] && echo yes)" \
  "without --rm the bundle and the writable layer stay"
assert_eq "" "$(mounts_under "$ROOT")" "the stopped container's rootfs is unmounted"
bctl_capture run --local --runtime "$BERTH" --name "$KEPT" "$MULTI" true
expect_error "$KEPT.*exists.*berthctl rm --local" "run --name of a container that exists"
# A runtime of the test's own that records its calls and still knows the container:
# rm must ask it (berth, the default, no longer knows $KEPT) and keep the container.
FAKE_RT=$TEST_DIR/fake-runtime
printf '#!/bin/sh\necho "$*" >>"%s"\necho %s\n' "$TEST_DIR/fake-runtime.calls" \
  "'{\"ociVersion\":\"1.2.0\",\"id\":\"$KEPT\",\"status\":\"running\",\"pid\":1,\"bundle\":\"/x\"}'" \
  >"$FAKE_RT"
chmod +x "$FAKE_RT"
bctl_capture rm --local --runtime "$FAKE_RT" "$KEPT"
expect_error "$KEPT.*still exists in the runtime \(running\)" "rm while --runtime's runtime has the container"
assert_eq "state $KEPT" "$(cat "$TEST_DIR/fake-runtime.calls" 2>&1)" "rm asks the --runtime binary for the state"
assert_eq "yes" "$([ -d "$ROOT/bundles/$KEPT" ] && echo yes)" "rm refused: the bundle stays"
# The same runtime by name, through PATH; now saying what runc says of a missing container.
printf '#!/bin/sh\necho %s >&2\nexit 1\n' \
  "'time=\"2026-01-01T00:00:00Z\" level=error msg=\"container does not exist\"'" >"$FAKE_RT"
PATH=$TEST_DIR:$PATH bctl_capture rm --local --runtime fake-runtime "$KEPT"
expect_ok "rm --runtime NAME when that runtime does not have the container"
assert_eq "" "$(ls -d "$ROOT/bundles/$KEPT" "$ROOT/snapshots/active/$KEPT" 2>/dev/null)" \
  "rm removes the bundle and the writable layer"
bctl_capture rm --local --runtime "$BERTH" "$KEPT"
expect_error "$KEPT.*no such container" "rm of a container that is gone"
bctl_capture rm --local --runtime "$TEST_DIR/no-such-runtime" "$KEPT"
expect_error "no-such-runtime" "rm --runtime of a missing binary"

section "zstd and uncompressed layers"
layers_before=$(layer_count)
bctl_capture pull "$MIXED"
expect_ok "pull $MIXED"
assert_contains "$OUT" "Pulled $MIXED $MIXED_MANIFEST" "Pulled line for the mixed image"
assert_blobs_present "test/mixed" "$MIXED_MANIFEST" "$MIXED_CONFIG" $MIXED_LAYERS
# Its zstd busybox layer has the diff_id of test/multi's gzip one: same chain, one snapshot.
assert_eq $((layers_before + 1)) "$(layer_count)" "a layer already unpacked from another blob is shared (one new layer)"
bctl_capture "${RUN[@]}" "$MIXED"
expect_ok "run $MIXED"
assert_eq "hello from mixed
from an uncompressed layer" "$OUT" "zstd and uncompressed layers unpack"

section "an index with two platforms"
bctl_capture pull "$MULTIARCH"
expect_ok "pull $MULTIARCH"
assert_contains "$OUT" "Pulled $MULTIARCH $MULTIARCH_INDEX" "Pulled line names the index digest"
assert_blobs_absent "the $OTHER_ARCH image's config and layer are not fetched" "$OTHER_CONFIG" $OTHER_LAYERS
bctl_capture inspect "$MULTIARCH"
assert_eq "$HOST_ARCH multi" "$(jq -r '"\(.architecture) \(.config.Labels["berth.test.image"])"' <<<"$OUT")" \
  "inspect resolves the index to the $HOST_ARCH image"
bctl_capture "${RUN[@]}" "$MULTIARCH"
assert_eq "hello from image" "$OUT" "run an index runs the host platform's image"
ROOT_ARM=$TEST_DIR/store-other
ROOT=$ROOT_ARM bctl_capture pull --platform "linux/$OTHER_ARCH" "$MULTIARCH"
expect_ok "pull --platform linux/$OTHER_ARCH"
assert_contains "$OUT" "Pulled $MULTIARCH $MULTIARCH_INDEX" "Pulled line for --platform"
has_blob "$OTHER_CONFIG" "$ROOT_ARM" && pass "the $OTHER_ARCH config is fetched" || fail "the $OTHER_ARCH config $OTHER_CONFIG is fetched"
has_blob "$MULTI_CONFIG" "$ROOT_ARM" && fail "the $HOST_ARCH config is fetched too" || pass "the $HOST_ARCH config is not fetched"
assert_eq "$OTHER_ARCH" "$(jq -r '.config.Labels["berth.test.marker"]' "$(blob_path "$OTHER_CONFIG" "$ROOT_ARM")" 2>&1)" "the marker config is the stored one"
ROOT=$ROOT_ARM bctl_capture pull --platform linux/s390x "$MULTIARCH"
expect_error 's390x|platform' "pull --platform for a platform the index lacks"

section "an image made by umoci"
bctl_capture pull "$UMOCI"
expect_ok "pull $UMOCI"
assert_contains "$OUT" "Pulled $UMOCI $UMOCI_MANIFEST" "Pulled line for the umoci image"
bctl_capture inspect "$UMOCI"
assert_eq "$UMOCI_DIFF_IDS" "$(jq -r '.rootfs.diff_ids | join(" ")' <<<"$OUT")" "inspect: umoci's diff_ids"
bctl_capture "${RUN[@]}" "$UMOCI"
assert_eq "hello from umoci
written by umoci" "$OUT" "run the umoci image"
bctl_capture "${RUN[@]}" "$UMOCI" sh -c 'test -e /etc/removeme && echo present || echo absent'
assert_eq absent "$OUT" "umoci's whiteout deletes the file"

section "a Docker schema2 image"
layers_before=$(layer_count)
bctl_capture pull "$SCHEMA2"
expect_ok "pull $SCHEMA2"
assert_contains "$OUT" "Pulled $SCHEMA2 $SCHEMA2_MANIFEST" "Pulled line for the schema2 image"
assert_eq application/vnd.docker.distribution.manifest.v2+json "$(jq -r .mediaType "$(blob_path "$SCHEMA2_MANIFEST")" 2>&1)" "the stored manifest is Docker schema2"
assert_eq "$layers_before" "$(layer_count)" "its layers (the same blobs as test/multi) are not unpacked again"
bctl_capture inspect "$SCHEMA2"
assert_eq '["/bin/sh","-c","echo hello from image"]' "$(jq -c .config.Cmd <<<"$OUT")" "inspect: schema2 config.Cmd"
bctl_capture "${RUN[@]}" "$SCHEMA2"
assert_eq "hello from image" "$OUT" "run the schema2 image"
bctl_capture images -q
assert_eq "$(printf '%s\n' "$MIXED" "$MULTI" "$MULTIARCH" "$SCHEMA2" "$UMOCI" | sort)" "$(sort <<<"$OUT")" "images -q lists the five images"

section "pulling again is a no-op"
start_cut_proxy log "$REG_PLAIN" --cut-count 0
INSECURE+=("$PROXY_LOG")
ROOT_TWICE=$TEST_DIR/store-twice
ROOT=$ROOT_TWICE bctl_capture pull "$PROXY_LOG/test/multi:v1"
expect_ok "first pull through a logging proxy"
blob_gets() { grep -c '^GET /v2/[^ ]*/blobs/sha256:' "$PROXYLOG_LOG"; }
first=$(blob_gets)
assert_eq 3 "$(grep -o '^GET /v2/[^ ]*/blobs/sha256:[0-9a-f]*' "$PROXYLOG_LOG" | sort -u | wc -l)" \
  "the first pull fetches 3 blobs (config, 2 layers)"
blobs=$(blob_count "$ROOT_TWICE") layers=$(layer_count "$ROOT_TWICE")
ROOT=$ROOT_TWICE bctl_capture pull "$PROXY_LOG/test/multi:v1"
expect_ok "the second pull succeeds"
assert_contains "$OUT" "Pulled $PROXY_LOG/test/multi:v1 $MULTI_MANIFEST" "the second pull prints the same digest"
assert_eq "$first" "$(blob_gets)" "the second pull fetches no blob"
assert_eq "$blobs $layers" "$(blob_count "$ROOT_TWICE") $(layer_count "$ROOT_TWICE")" "the second pull adds no blob or layer"
ROOT=$ROOT_TWICE bctl_capture pull -q "$PROXY_LOG/test/multi:v1"
expect_ok "pull -q"
n=$(grep -c . <<<"$OUT")
[ "$n" -le 1 ] && pass "pull -q prints at most one line" || { fail "pull -q prints at most one line"; _show "$OUT"; }
: >"$PROXYLOG_LOG"
bctl_capture pull "$PROXY_LOG/test/multi:v1"
expect_ok "pull of content already in the store under another name"
assert_eq 0 "$(blob_gets)" "blobs already in the store are not fetched again"

section "a mirror from hosts.toml"
start_registry mirror
push_image "$IMAGES_LAYOUT" multi "$REG_MIRROR/test/mirrored:v1"
# The upstream (the plain registry) lacks test/mirrored: only the mirror can serve it.
mkdir -p "$HOSTS_DIR/$REG_PLAIN"
cat >"$HOSTS_DIR/$REG_PLAIN/hosts.toml" <<EOF
server = "http://$REG_PLAIN"

[host."http://$REG_MIRROR"]
  capabilities = ["pull", "resolve"]
EOF
ROOT_MIRROR=$TEST_DIR/store-mirror
ROOT=$ROOT_MIRROR bctl_capture pull "$REG_PLAIN/test/mirrored:v1"
expect_ok "pull through the mirror (upstream lacks the image)"
assert_contains "$OUT" "Pulled $REG_PLAIN/test/mirrored:v1 $MULTI_MANIFEST" "the image keeps its upstream name"
ROOT=$ROOT_MIRROR bctl_capture pull "$UMOCI"
expect_ok "an image the mirror lacks falls back to the upstream"
# An upstream that is down, with a mirror that has the image.
down=127.0.0.1:$(unused_port)
mkdir -p "$HOSTS_DIR/$down"
printf 'server = "http://%s"\n\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$down" "$REG_MIRROR" >"$HOSTS_DIR/$down/hosts.toml"
ROOT=$ROOT_MIRROR bctl_capture pull "$down/test/mirrored:v1"
expect_ok "pull through the mirror while the upstream is down"
ROOT=$ROOT_MIRROR bctl_capture images -q
assert_contains "$OUT" "$down/test/mirrored:v1" "images lists it under the upstream's name"
ROOT=$ROOT_MIRROR bctl_capture "${RUN[@]}" "$down/test/mirrored:v1"
assert_eq "hello from image" "$OUT" "run the mirrored image"
rm -rf "${HOSTS_DIR:?}/$REG_PLAIN"

section "basic auth (htpasswd)"
start_registry basic htpasswd
push_image "$IMAGES_LAYOUT" multi "$REG_BASIC/test/private:v1" --dest-creds "$REG_USER:$REG_PASS"
INSECURE+=("$REG_BASIC")
PRIVATE=$REG_BASIC/test/private:v1
ROOT_AUTH=$TEST_DIR/store-auth
ROOT=$ROOT_AUTH bctl_capture pull "$PRIVATE"
expect_error 'unauthori[sz]ed|authentication required|401' "pull without credentials"
write_auth_file "$TEST_DIR/wrong-auth.json" "$REG_BASIC" "$REG_USER" wrong-password
ROOT=$ROOT_AUTH AUTH_FILE=$TEST_DIR/wrong-auth.json bctl_capture pull "$PRIVATE"
expect_error "unauthori[sz]ed" "pull with wrong credentials"
assert_eq "0 0" "$(blob_count "$ROOT_AUTH") $(layer_count "$ROOT_AUTH")" "failed pulls leave no blob or layer"
assert_eq "" "$(ROOT=$ROOT_AUTH bctl images -q 2>&1)" "failed pulls leave no image"
write_auth_file "$TEST_DIR/auth.json" "$REG_BASIC" "$REG_USER" "$REG_PASS"
ROOT=$ROOT_AUTH AUTH_FILE=$TEST_DIR/auth.json bctl_capture pull "$PRIVATE"
expect_ok "pull with the right credentials from --auth-file"
assert_contains "$OUT" "Pulled $PRIVATE $MULTI_MANIFEST" "Pulled line for the private image"
ROOT=$TEST_DIR/store-auth2 bctl_capture pull --user "$REG_USER:$REG_PASS" "$PRIVATE"
expect_ok "pull --user USER:PASS"
ROOT=$TEST_DIR/store-auth3 bctl_capture pull --user "$REG_USER:nope" "$PRIVATE"
expect_error "unauthori[sz]ed" "pull --user with a wrong password"

section "token auth"
start_registry tok token
push_image "$IMAGES_LAYOUT" multi "$REG_TOK/test/private:v1" --dest-creds "$REG_USER:$REG_PASS"
INSECURE+=("$REG_TOK")
ROOT_TOK=$TEST_DIR/store-token
ROOT=$ROOT_TOK bctl_capture pull "$REG_TOK/test/private:v1"
expect_error 'unauthori[sz]ed|denied|authentication required|401' "pull without credentials from a token registry"
assert_eq "0 0" "$(blob_count "$ROOT_TOK") $(layer_count "$ROOT_TOK")" "the failed pull leaves no blob or layer"
write_auth_file "$TEST_DIR/tok-wrong.json" "$REG_TOK" "$REG_USER" wrong-password
ROOT=$ROOT_TOK AUTH_FILE=$TEST_DIR/tok-wrong.json bctl_capture pull "$REG_TOK/test/private:v1"
expect_error 'unauthori[sz]ed|denied|401' "pull with wrong credentials from a token registry"
write_auth_file "$TEST_DIR/tok.json" "$REG_TOK" "$REG_USER" "$REG_PASS"
: >"$TEST_DIR/registries/tok/token.log"
ROOT=$ROOT_TOK AUTH_FILE=$TEST_DIR/tok.json bctl_capture pull "$REG_TOK/test/private:v1"
expect_ok "pull with credentials from a token registry"
assert_contains "$OUT" "Pulled $REG_TOK/test/private:v1 $MULTI_MANIFEST" "Pulled line for the token registry"
assert_contains "$(cat "$TEST_DIR/registries/tok/token.log")" "token for $REG_USER" "the token server issued a token for the user"
ROOT=$ROOT_TOK bctl_capture "${RUN[@]}" "$REG_TOK/test/private:v1"
assert_eq "hello from image" "$OUT" "run the image pulled with a token"

section "HTTPS registry"
start_registry tls tls
push_image "$IMAGES_LAYOUT" multi "$REG_TLS/test/secure:v1"
SECURE=$REG_TLS/test/secure:v1
# Each case has its own hosts dir and store: every pull fetches the manifest and the blobs
# over TLS. hosts.toml's top-level ca/skip_verify apply to `server`; a [host."…"] table's
# apply to that entry only (tried first, as a mirror).
tls_hosts() {  # NAME [HOSTS.TOML] — a hosts dir for the TLS registry; prints its path
  local dir=$TEST_DIR/hosts-tls-$1
  mkdir -p "$dir"
  if [ $# -gt 1 ]; then
    mkdir -p "$dir/$REG_TLS"
    printf '%s\n' "$2" >"$dir/$REG_TLS/hosts.toml"
  fi
  echo "$dir"
}
tls_pull() {  # CASE HOSTS_DIR — pulls $SECURE into the store $TEST_DIR/store-tls-CASE
  ROOT=$TEST_DIR/store-tls-$1 HOSTS_DIR=$2 bctl_capture pull "$SECURE"
}
tls_store_empty() {  # CASE WHAT
  local root=$TEST_DIR/store-tls-$1
  assert_eq "0 0" "$(blob_count "$root") $(layer_count "$root")" "$2 leaves no blob or layer"
  assert_eq "" "$(ROOT=$root bctl images -q 2>&1)" "$2 leaves no image"
}

tls_pull noca "$(tls_hosts noca)"
expect_error "certificate" "pull from an HTTPS registry whose CA is not configured"
assert_contains "$ERR" "https://$REG_TLS/v2/" "the certificate error names the registry's URL"
tls_store_empty noca "the failed pull"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=some other CA" -keyout "$TEST_DIR/other-ca.key" -out "$TEST_DIR/other-ca.pem" \
  >/dev/null 2>&1 || die "openssl: cannot make a second CA"
tls_pull otherca "$(tls_hosts otherca "server = \"https://$REG_TLS\"
ca = \"$TEST_DIR/other-ca.pem\"")"
expect_error "certificate" "pull with another CA than the one that signed the registry's certificate"
tls_store_empty otherca "the pull with the wrong CA"
tls_pull missingca "$(tls_hosts missingca "server = \"https://$REG_TLS\"
ca = \"$TEST_DIR/no-such-ca.pem\"")"
expect_error "no-such-ca\.pem" "pull with a ca file that does not exist"

tls_pull hostca "$(tls_hosts hostca "server = \"https://$REG_TLS\"

[host.\"https://$REG_TLS\"]
  ca = \"$REGCA_TLS\"")"
expect_ok "pull with the registry's CA as ca of its [host] entry"
assert_contains "$OUT" "Pulled $SECURE $MULTI_MANIFEST" "Pulled line for the HTTPS registry"
ROOT=$TEST_DIR/store-tls-hostca assert_blobs_present "pull over HTTPS" "$MULTI_MANIFEST" "$MULTI_CONFIG" $MULTI_LAYERS
ROOT=$TEST_DIR/store-tls-hostca assert_store_clean "after the pull over HTTPS"
ROOT=$TEST_DIR/store-tls-hostca bctl_capture "${RUN[@]}" "$SECURE"
assert_eq "hello from image" "$OUT" "run the image pulled over HTTPS"
tls_pull serverca "$(tls_hosts serverca "server = \"https://$REG_TLS\"
ca = \"$REGCA_TLS\"")"
expect_ok "pull with the registry's CA as the server's (top-level) ca"
tls_pull skip "$(tls_hosts skip "server = \"https://$REG_TLS\"
skip_verify = true")"
expect_ok "pull with skip_verify = true and no ca"
ROOT=$TEST_DIR/store-tls-skip assert_blobs_present "pull with skip_verify" "$MULTI_MANIFEST" "$MULTI_CONFIG" $MULTI_LAYERS

# --insecure-registry means plain HTTP: against a TLS-only server that must fail, clearly,
# not quietly switch to HTTPS or to anything else.
saved_insecure=("${INSECURE[@]}")
INSECURE+=("$REG_TLS")
tls_pull insecure "$(tls_hosts insecure)"
expect_error "400 from http://$REG_TLS/v2/" "pull with --insecure-registry from an HTTPS-only registry"
assert_contains "$ERR" "speaks HTTPS" "the error says the server speaks HTTPS"
tls_store_empty insecure "the plain-HTTP pull"
INSECURE=("${saved_insecure[@]}")

section "rmi and gc"
ROOT_GC=$TEST_DIR/store-gc
ROOT=$ROOT_GC bctl_capture pull "$MULTI"
expect_ok "pull $MULTI (gc store)"
ROOT=$ROOT_GC bctl_capture pull "$UMOCI"
expect_ok "pull $UMOCI (gc store)"
umoci_chains=$(chain_ids $UMOCI_DIFF_IDS)
before=$(blob_count "$ROOT_GC")
assert_eq $((4 + 2 + $(wc -w <<<"$UMOCI_LAYERS"))) "$before" "the store holds both images' blobs"
ROOT=$ROOT_GC bctl_capture rmi "$MULTI"
expect_ok "rmi $MULTI"
ROOT=$ROOT_GC bctl_capture images -q
assert_eq "$UMOCI" "$OUT" "rmi removes the name"
assert_eq "$before" "$(blob_count "$ROOT_GC")" "rmi leaves the blobs for gc"
ROOT=$ROOT_GC bctl_capture gc
expect_ok "gc"
assert_match "$OUT" '[1-9][0-9]*' "gc prints counts"
ROOT=$ROOT_GC assert_blobs_absent "gc" "$MULTI_MANIFEST" "$MULTI_CONFIG" $MULTI_LAYERS
ROOT=$ROOT_GC assert_blobs_present "gc keeps test/umoci" "$UMOCI_MANIFEST" "$UMOCI_CONFIG" $UMOCI_LAYERS
assert_eq "$((before - 4))" "$(blob_count "$ROOT_GC")" "gc removes exactly test/multi's 4 blobs"
if [ -e "$(layer_dir "$MULTI_C1" "$ROOT_GC")" ] || [ -e "$(layer_dir "$MULTI_C2" "$ROOT_GC")" ]; then
  fail "gc removes test/multi's layers"
else
  pass "gc removes test/multi's layers"
fi
assert_eq "$(wc -w <<<"$umoci_chains")" "$(layer_count "$ROOT_GC")" "gc keeps test/umoci's layers"
ROOT=$ROOT_GC bctl_capture "${RUN[@]}" "$UMOCI"
assert_contains "$OUT" "hello from umoci" "test/umoci still runs after gc"
ROOT=$ROOT_GC bctl_capture rmi "$UMOCI"
ROOT=$ROOT_GC bctl_capture gc
assert_eq "0 0" "$(blob_count "$ROOT_GC") $(layer_count "$ROOT_GC")" "rmi of the last image + gc empties the store"
ROOT=$ROOT_GC bctl_capture rmi "$UMOCI"
expect_error "test/umoci|not found|no such" "rmi of an image that is not there"

section "export and import"
ROOT_IO=$TEST_DIR/store-io
ROOT=$ROOT_IO bctl_capture pull "$MULTI"
expect_ok "pull $MULTI (import/export store)"
ROOT=$ROOT_IO bctl_capture export --format oci -o "$TEST_DIR/multi-oci.tar" "$MULTI"
expect_ok "export --format oci"
members=$(tar -tf "$TEST_DIR/multi-oci.tar" 2>&1)
assert_match "$members" '^(\./)?oci-layout$' "the OCI archive has oci-layout"
assert_match "$members" '^(\./)?index\.json$' "the OCI archive has index.json"
assert_eq '["/bin/sh","-c","echo hello from image"]' \
  "$(skopeo_ inspect --config "oci-archive:$TEST_DIR/multi-oci.tar" 2>&1 | jq -c .config.Cmd 2>&1)" \
  "skopeo reads the exported OCI archive"
ROOT=$ROOT_IO bctl_capture export --format docker -o "$TEST_DIR/multi-docker.tar" "$MULTI"
expect_ok "export --format docker"
di=$(skopeo_ inspect "docker-archive:$TEST_DIR/multi-docker.tar" 2>&1)
assert_eq 2 "$(jq '.Layers | length' <<<"$di" 2>&1)" "skopeo reads the docker archive: 2 layers"
assert_eq '["/bin/sh","-c","echo hello from image"]' \
  "$(skopeo_ inspect --config "docker-archive:$TEST_DIR/multi-docker.tar" 2>&1 | jq -c .config.Cmd 2>&1)" \
  "skopeo reads the docker archive's config"
assert_contains "$(tar -xOf "$TEST_DIR/multi-docker.tar" manifest.json 2>&1 | jq -r '.[0].RepoTags[]' 2>&1)" "test/multi:v1" "manifest.json names the image"
ROOT=$ROOT_IO bctl_capture rmi "$MULTI"
ROOT=$ROOT_IO bctl_capture gc
assert_eq "0 0" "$(blob_count "$ROOT_IO") $(layer_count "$ROOT_IO")" "rmi + gc empty the store before import"
ROOT=$ROOT_IO bctl_capture import "$TEST_DIR/multi-oci.tar"
expect_ok "import the OCI archive"
assert_contains "$OUT" "Imported $MULTI $MULTI_MANIFEST" "import prints 'Imported <name> <digest>'"
ROOT=$ROOT_IO bctl_capture inspect "$MULTI"
assert_eq "$MULTI_DIFF_IDS" "$(jq -r '.rootfs.diff_ids | join(" ")' <<<"$OUT")" "the imported image has its diff_ids"
ROOT=$ROOT_IO bctl_capture "${RUN[@]}" "$MULTI"
assert_eq "hello from image" "$OUT" "the imported image runs"
ROOT_IO2=$TEST_DIR/store-io2
ROOT=$ROOT_IO2 bctl_capture import "$TEST_DIR/multi-docker.tar"
expect_ok "import the docker archive"
assert_contains "$OUT" "Imported " "import of a docker archive prints Imported"
ROOT=$ROOT_IO2 bctl_capture "${RUN[@]}" "$(awk '/^Imported / {print $2; exit}' <<<"$OUT")"
assert_eq "hello from image" "$OUT" "the image imported from a docker archive runs"
# Another tool's layout, as a directory and as a tar on stdin, named with --name.
skopeo_ copy -q "oci:$UMOCI_LAYOUT:v1" "oci:$TEST_DIR/umoci-untagged" || die "skopeo copy of the umoci layout failed"
ROOT=$ROOT_IO2 bctl_capture import --name localhost/imported/umoci:dir "$TEST_DIR/umoci-untagged"
expect_ok "import an OCI layout directory with --name"
assert_contains "$OUT" "Imported localhost/imported/umoci:dir" "import --name names the image"
tar -C "$TEST_DIR/umoci-untagged" -cf - . | ROOT=$ROOT_IO2 bctl import --name localhost/imported/umoci:stdin - \
  >"$TEST_DIR/.bout" 2>"$TEST_DIR/.berr"
RC=$? OUT=$(cat "$TEST_DIR/.bout") ERR=$(cat "$TEST_DIR/.berr")
expect_ok "import an OCI layout tar from stdin"
ROOT=$ROOT_IO2 bctl_capture "${RUN[@]}" localhost/imported/umoci:stdin
assert_contains "$OUT" "written by umoci" "the imported umoci image runs"
ROOT=$ROOT_IO2 bctl_capture import "$TEST_DIR/no-such-archive.tar"
expect_error "no-such-archive" "import of a missing file"

assert_eq "" "$(mounts_under "$TEST_DIR")" "no mount is left after the runs"
