#!/bin/bash
# Registries, proxies and test images for the image tests (test_images*.sh).
#
# Source it after lib.sh (it needs TEST_DIR, track_pid, die). It knows nothing about
# berthctl: it starts local registries, builds OCI images from busybox-static by hand (tar,
# gzip, zstd, sha256sum, jq) or with umoci, and pushes them with skopeo or curl, so it can
# check any client.
#
#   start_registry NAME [none|htpasswd|token|tls]
#       Debian's docker-registry (distribution 2.8) on 127.0.0.1:<free port>, storage in
#       $TEST_DIR/registries/NAME. Exports REG_<NAME>=127.0.0.1:PORT, REGPID_<NAME>,
#       REGDIR_<NAME> (its storage root). htpasswd and token registries accept
#       $REG_USER/$REG_PASS. Token mode also starts token_server.py (TOKEN_<NAME>=host:port,
#       log in $TEST_DIR/registries/NAME/token.log): wrong credentials get 401 there, no
#       credentials an empty-handed token the registry then refuses.
#       tls: no auth, HTTPS only, with a server certificate for IP 127.0.0.1 signed by a
#       CA made for this registry; exports REGCA_<NAME> (the CA's PEM). skopeo pushes to
#       it with push_image (--dest-tls-verify=false); push_raw speaks plain HTTP only.
#   stop_registry NAME          kills it (by PID) — e.g. to test an upstream that is down
#   registry_blob_path NAME DIGEST   the file holding a blob in a registry's storage
#                               (tests corrupt and repair blobs there)
#   registry_manifest_digest HOST/REPO:TAG [USER:PASS]   digest of what the registry serves
#   start_cut_proxy NAME UPSTREAM [cut_proxy.py args]
#       exports PROXY_<NAME>=127.0.0.1:PORT, PROXYLOG_<NAME> (one line per request),
#       PROXYPID_<NAME>
#   write_auth_file FILE [HOST USER PASS]...   a docker config.json with base64 "auth"
#   unused_port                 a port nothing listens on (for "registry is down")
#
#   Image building (an OCI image layout directory per image set):
#     oci_init LAYOUT
#     oci_layer LAYOUT gzip|zstd|none DIR|TARFILE  -> LAYER_DESC, LAYER_DIFF_ID
#     image_config ARCH DIFF_IDS_JSON CONFIG_JSON   an image config (prints it)
#     oci_manifest LAYOUT CONFIG LAYER_DESC...  -> MANIFEST_DESC, MANIFEST_DIGEST, CONFIG_DIGEST
#     oci_index LAYOUT MANIFEST_DESC_WITH_PLATFORM...  -> INDEX_DESC, INDEX_DIGEST
#     oci_tag LAYOUT TAG DESC                    names DESC TAG in index.json
#     push_image LAYOUT TAG HOST/REPO:TAG [skopeo copy args]   (skopeo may recompress)
#     push_raw LAYOUT DIGEST HOST/REPO:TAG [USER:PASS]         (byte for byte, with curl)
#     busybox_rootfs DIR          bin/busybox + an applet symlink per command, etc/passwd…
#   build_test_images            the standard set (a)–(d) below, built once per test file
#   push_test_images HOST [USER:PASS]   pushes them as test/{multi,mixed,multiarch,umoci,
#                                schema2}:v1 (schema2 = (a) converted by skopeo)
#
# Processes started here are recorded with track_pid, so lib.sh's exit trap kills them by
# PID even when a test fails half-way; all files live under $TEST_DIR.

: "${TEST_DIR:?source lib.sh first}"
INTEGRATION_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The distribution's python3 when there is one: version-manager shims cost a second a call.
PYTHON=${PYTHON:-$(if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi)}
REG_USER=berth-tester
REG_PASS='pull-secret-42'
REG_SERVICE=berth-test-registry
REG_ISSUER=berth-test-token-issuer
# Fixed config and tar timestamps: the same image built twice has the same digests.
IMAGE_CREATED=2024-01-02T03:04:05Z
IMAGE_MTIME=@1704164645

require_tools() {  # TOOL... — dies naming the missing ones (and their Debian package)
  local t missing=""
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=" $t"; done
  [ -z "$missing" ] || die "missing tools:$missing (scripts/install-deps.sh installs docker-registry, skopeo, umoci, apache2-utils, zstd, jq, python3, openssl)"
}
require_tools docker-registry skopeo jq zstd gzip sha256sum tar curl openssl "$PYTHON"

case $(uname -m) in
  x86_64) HOST_ARCH=amd64 OTHER_ARCH=arm64 ;;
  aarch64) HOST_ARCH=arm64 OTHER_ARCH=amd64 ;;
  *) HOST_ARCH=$(uname -m) OTHER_ARCH=amd64 ;;
esac

# skopeo without /etc/containers/policy.json, and never over TLS to our local registries.
skopeo_() { timeout -k 5 120 skopeo --insecure-policy "$@"; }

# --- processes ----------------------------------------------------------------------------
# wait_port_file FILE PID — waits (10 s) for a python helper to write its port; prints it.
wait_port_file() {
  local deadline=$((SECONDS + 10))
  while [ ! -s "$1" ]; do
    kill -0 "$2" 2>/dev/null || return 1
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
  cat "$1"
}

# A port free right now. The registry cannot take port 0 and report it, so there is a
# small race with other processes; start_registry retries on a collision.
unused_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# http_code URL [curl args] — the status code, 000 when nothing answers.
http_code() {
  local url=$1
  shift
  curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" "$url" 2>/dev/null
}

_make_token_keys() {
  local d=$TEST_DIR/registries/token-keys
  [ -s "$d/cert.pem" ] && return 0
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" \
    -days 2 -subj "/CN=$REG_ISSUER" >/dev/null 2>&1 || die "openssl: cannot make the token signing key"
}

# start_token_server NAME — token_server.py for registry NAME; sets TOKEN_PORT.
start_token_server() {
  local name=$1 d=$TEST_DIR/registries/$1 pid
  _make_token_keys
  rm -f "$d/token.port"
  (cd / && exec "$PYTHON" "$INTEGRATION_DIR/token_server.py" \
    --key "$TEST_DIR/registries/token-keys/key.pem" --issuer "$REG_ISSUER" \
    --service "$REG_SERVICE" --user "$REG_USER" --password "$REG_PASS" \
    --port-file "$d/token.port" --log "$d/token.log") >"$d/token.stderr" 2>&1 &
  pid=$!
  track_pid "$pid"
  TOKEN_PORT=$(wait_port_file "$d/token.port" "$pid") ||
    die "token server for $name did not start: $(cat "$d/token.stderr")"
  export "TOKEN_${name^^}=127.0.0.1:$TOKEN_PORT" "TOKENPID_${name^^}=$pid"
}

# _make_tls_cert NAME — a CA and a server certificate for 127.0.0.1 in the registry's dir
# (ca.pem, server.pem, server.key). The CA is the registry's own, so no client trusts it
# unless told to. P-256 keys: quicker to make than RSA, and Go, OpenSSL and curl take them.
_make_tls_cert() {
  local d=$TEST_DIR/registries/$1 out
  [ -s "$d/server.pem" ] && return 0
  out=$(
    set -e
    exec 2>&1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj "/CN=berth test CA for $1" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$d/server.key" -out "$d/server.csr" -subj /CN=127.0.0.1
    # Clients match an IP against the subjectAltName (skopeo, in Go, never reads the CN).
    printf '%s\n' subjectAltName=IP:127.0.0.1 basicConstraints=CA:FALSE \
      keyUsage=critical,digitalSignature extendedKeyUsage=serverAuth >"$d/server.ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
      -CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.pem"
  ) || die "openssl: cannot make the TLS certificates for registry $1: $out"
}

_registry_config() {  # NAME PORT MODE
  local d=$TEST_DIR/registries/$1
  cat <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $d/storage
  delete:
    enabled: true
  # No blob descriptor cache: tests corrupt and repair blobs behind the registry's back.
http:
  addr: 127.0.0.1:$2
  secret: berth-integration-test-secret
EOF
  case $3 in
    none) ;;
    tls)
      printf '  tls:\n    certificate: %s\n    key: %s\n' "$d/server.pem" "$d/server.key"
      ;;
    htpasswd)
      printf 'auth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n' "$d/htpasswd"
      ;;
    token)
      cat <<EOF
auth:
  token:
    realm: http://127.0.0.1:$TOKEN_PORT/token
    service: $REG_SERVICE
    issuer: $REG_ISSUER
    rootcertbundle: $TEST_DIR/registries/token-keys/cert.pem
EOF
      ;;
  esac
}

start_registry() {
  local name=$1 mode=${2:-none} d=$TEST_DIR/registries/$1 port pid code try scheme=http curl_ca=()
  case $mode in none | htpasswd | token | tls) ;; *) die "start_registry $name: unknown mode $mode" ;; esac
  [[ $name =~ ^[a-zA-Z][a-zA-Z0-9_]*$ ]] || die "start_registry: bad name '$name' (used in variable names)"
  mkdir -p "$d/storage"
  if [ "$mode" = htpasswd ]; then
    require_tools htpasswd
    htpasswd -Bbn "$REG_USER" "$REG_PASS" >"$d/htpasswd" 2>/dev/null || die "htpasswd failed"
  fi
  [ "$mode" = token ] && start_token_server "$name"
  if [ "$mode" = tls ]; then
    _make_tls_cert "$name"
    scheme=https curl_ca=(--cacert "$d/ca.pem")
  fi
  for try in 1 2 3; do
    port=$(unused_port)
    _registry_config "$name" "$port" "$mode" >"$d/config.yml"
    (cd / && exec docker-registry serve "$d/config.yml") >"$d/registry.log" 2>&1 &
    pid=$!
    track_pid "$pid"
    # /v2/ answers 200 (open) or 401 (auth) once it listens; over TLS, only once the
    # certificate checks out against our CA.
    local deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
      code=$(http_code "$scheme://127.0.0.1:$port/v2/" "${curl_ca[@]}")
      case $code in 200 | 401) break ;; esac
      sleep 0.1
    done
    if [ "$code" = 200 ] || [ "$code" = 401 ]; then
      export "REG_${name^^}=127.0.0.1:$port" "REGPID_${name^^}=$pid" "REGDIR_${name^^}=$d/storage"
      [ "$mode" = tls ] && export "REGCA_${name^^}=$d/ca.pem"
      return 0
    fi
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  die "registry $name did not start on 127.0.0.1:$port: $(tail -n 5 "$d/registry.log")"
}

stop_registry() {
  local var="REGPID_${1^^}"
  [ -n "${!var:-}" ] || return 0
  kill -TERM "${!var}" 2>/dev/null
  wait "${!var}" 2>/dev/null
  export "$var="
}

# The registry's filesystem layout (distribution's storage driver paths).
registry_blob_path() {  # NAME DIGEST
  local var="REGDIR_${1^^}" hex=${2#sha256:}
  echo "${!var}/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

start_cut_proxy() {  # NAME UPSTREAM [cut_proxy.py args]
  local name=$1 upstream=$2 d=$TEST_DIR/proxies/$1 pid port
  shift 2
  mkdir -p "$d"
  : >"$d/requests.log"
  (cd / && exec "$PYTHON" "$INTEGRATION_DIR/cut_proxy.py" --upstream "$upstream" \
    --port-file "$d/port" --log "$d/requests.log" "$@") >"$d/stderr" 2>&1 &
  pid=$!
  track_pid "$pid"
  port=$(wait_port_file "$d/port" "$pid") || die "cut_proxy $name did not start: $(cat "$d/stderr")"
  export "PROXY_${name^^}=127.0.0.1:$port" "PROXYLOG_${name^^}=$d/requests.log" "PROXYPID_${name^^}=$pid"
}

# write_auth_file FILE [HOST USER PASS]... — docker's config.json ({"auths": {HOST: {auth}}}).
write_auth_file() {
  local file=$1 json='{"auths": {}}'
  shift
  while [ $# -ge 3 ]; do
    json=$(jq --arg h "$1" --arg a "$(printf '%s:%s' "$2" "$3" | base64 -w0)" \
      '.auths[$h] = {auth: $a}' <<<"$json")
    shift 3
  done
  printf '%s\n' "$json" >"$file"
}

# --- OCI image layouts by hand ------------------------------------------------------------
# Blobs are written by content, so the same layer built twice has the same digest and
# registries and stores share it (as real images share base layers).

oci_init() {
  mkdir -p "$1/blobs/sha256"
  echo '{"imageLayoutVersion": "1.0.0"}' >"$1/oci-layout"
  [ -f "$1/index.json" ] || echo '{"schemaVersion": 2, "manifests": []}' >"$1/index.json"
}

# oci_put LAYOUT FILE — moves FILE into the layout's blobs; prints its digest.
oci_put() {
  local hex
  hex=$(sha256sum "$2" | cut -d' ' -f1)
  mv -f "$2" "$1/blobs/sha256/$hex"
  echo "sha256:$hex"
}

# tar_dir DIR — a reproducible tar of DIR's contents on stdout: sorted names without "./",
# numeric owners as they are on disk, fixed mtimes, no atime/ctime records.
tar_dir() {
  (cd "$1" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
    tar --no-recursion -T - --numeric-owner --mtime="$IMAGE_MTIME" --format=posix \
      --pax-option=delete=atime,delete=ctime -cf -)
}

# oci_layer LAYOUT COMPRESSION DIR|TARFILE — adds a layer; sets LAYER_DESC (JSON) and
# LAYER_DIFF_ID (sha256 of the uncompressed tar).
oci_layer() {
  local layout=$1 comp=$2 src=$3 tmp mt digest
  tmp=$(mktemp "$layout/.layer.XXXXXX")
  if [ -d "$src" ]; then tar_dir "$src" >"$tmp.tar"; else cp "$src" "$tmp.tar"; fi || die "tar of $src failed"
  LAYER_DIFF_ID=sha256:$(sha256sum "$tmp.tar" | cut -d' ' -f1)
  case $comp in
    gzip) gzip -n -6 -c "$tmp.tar" >"$tmp" && mt=application/vnd.oci.image.layer.v1.tar+gzip ;;
    zstd) zstd -q -3 -c "$tmp.tar" >"$tmp" && mt=application/vnd.oci.image.layer.v1.tar+zstd ;;
    none) cp "$tmp.tar" "$tmp" && mt=application/vnd.oci.image.layer.v1.tar ;;
    *) die "oci_layer: unknown compression $comp" ;;
  esac || die "compressing $src ($comp) failed"
  rm -f "$tmp.tar"
  local size
  size=$(stat -c %s "$tmp")
  digest=$(oci_put "$layout" "$tmp")
  LAYER_DESC=$(jq -cn --arg mt "$mt" --arg d "$digest" --argjson s "$size" \
    '{mediaType: $mt, digest: $d, size: $s}')
}

# oci_manifest LAYOUT CONFIG_JSON LAYER_DESC... — writes the config (CONFIG_JSON with
# rootfs.diff_ids from the layers, which must be the LAYER_DIFF_IDS array) and the
# manifest. Sets MANIFEST_DESC, MANIFEST_DIGEST, CONFIG_DIGEST.
# Callers pass CONFIG_JSON with .rootfs already set (see image_config).
oci_manifest() {
  local layout=$1 config=$2 tmp cdigest csize layers
  shift 2
  tmp=$(mktemp "$layout/.config.XXXXXX")
  printf '%s' "$config" | jq -c . >"$tmp" || die "oci_manifest: bad config JSON"
  csize=$(stat -c %s "$tmp")
  cdigest=$(oci_put "$layout" "$tmp")
  layers=$(printf '%s\n' "$@" | jq -cs .)
  tmp=$(mktemp "$layout/.manifest.XXXXXX")
  jq -cn --arg cd "$cdigest" --argjson cs "$csize" --argjson layers "$layers" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
      layers: $layers}' >"$tmp"
  local msize
  msize=$(stat -c %s "$tmp")
  MANIFEST_DIGEST=$(oci_put "$layout" "$tmp")
  CONFIG_DIGEST=$cdigest
  MANIFEST_DESC=$(jq -cn --arg d "$MANIFEST_DIGEST" --argjson s "$msize" \
    '{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s}')
}

# image_config ARCH DIFF_IDS_JSON CONFIG_SECTION_JSON [EXTRA_JQ] — an image config.
image_config() {
  jq -cn --arg arch "$1" --argjson diff "$2" --argjson cfg "$3" --arg created "$IMAGE_CREATED" \
    '{created: $created, architecture: $arch, os: "linux", config: $cfg,
      rootfs: {type: "layers", diff_ids: $diff},
      history: [$diff[] | {created: $created, created_by: "registry_lib.sh"}]}' |
    jq -c "${4:-.}"
}

# oci_index LAYOUT DESC... — an image index of the manifests (DESCs carry .platform).
oci_index() {
  local layout=$1 tmp size
  shift
  tmp=$(mktemp "$layout/.index.XXXXXX")
  printf '%s\n' "$@" | jq -cs '{schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json", manifests: .}' >"$tmp"
  size=$(stat -c %s "$tmp")
  INDEX_DIGEST=$(oci_put "$layout" "$tmp")
  INDEX_DESC=$(jq -cn --arg d "$INDEX_DIGEST" --argjson s "$size" \
    '{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s}')
}

# oci_tag LAYOUT TAG DESC — index.json gets DESC named TAG (replacing an older TAG).
oci_tag() {
  jq --arg t "$2" --argjson desc "$3" \
    '.manifests = ([.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] != $t)]
      + [$desc + {annotations: {"org.opencontainers.image.ref.name": $t}}])' \
    "$1/index.json" >"$1/index.json.new" && mv "$1/index.json.new" "$1/index.json" ||
    die "oci_tag $1 $2 failed"
}

# push_image LAYOUT TAG DEST [skopeo copy args] — DEST is HOST/REPO:TAG (plain HTTP).
push_image() {
  local layout=$1 tag=$2 dest=$3 out
  shift 3
  out=$(skopeo_ copy -q --dest-tls-verify=false "$@" "oci:$layout:$tag" "docker://$dest" 2>&1) ||
    die "skopeo copy oci:$layout:$tag docker://$dest $*: $out"
}

# push_raw LAYOUT DIGEST HOST/REPO:TAG [USER:PASS] — uploads a manifest (or index, with
# its manifests) and its blobs byte for byte with the distribution API over plain HTTP.
# skopeo cannot do this for every image: it compresses uncompressed layers on the way to a
# registry.
push_raw() {
  local layout=$1 digest=$2 ref=$3
  local host=${ref%%/*} rest=${ref#*/}
  local repo=${rest%:*} tag=${rest##*:}
  registry_auth_args "$host" "repository:$repo:pull,push" "${4:-}"
  _push_raw_manifest "$layout" "$digest" "http://$host/v2/$repo" "$tag" "${AUTH_ARGS[@]}"
}

# registry_auth_args HOST SCOPE [USER:PASS] — sets AUTH_ARGS, the curl arguments that
# authenticate to HOST: none, basic auth, or a bearer token fetched from the realm the
# registry's challenge names (the docker token protocol, as a client does it).
registry_auth_args() {
  local host=$1 scope=$2 creds=${3:-} challenge realm service token
  AUTH_ARGS=()
  challenge=$(curl -s -m 5 -o /dev/null -w '%header{www-authenticate}' "http://$host/v2/")
  case $challenge in
    "") return 0 ;;
    Basic* | basic*) AUTH_ARGS=(-u "$creds") ;;
    Bearer* | bearer*)
      realm=$(sed -n 's/.*realm="\([^"]*\)".*/\1/p' <<<"$challenge")
      service=$(sed -n 's/.*service="\([^"]*\)".*/\1/p' <<<"$challenge")
      token=$(curl -s -m 10 -G ${creds:+-u "$creds"} --data-urlencode "service=$service" \
        --data-urlencode "scope=$scope" "$realm" | jq -r '.token // .access_token // empty')
      [ -n "$token" ] || die "no token from $realm for $scope"
      AUTH_ARGS=(-H "Authorization: Bearer $token")
      ;;
    *) die "registry $host: unknown challenge '$challenge'" ;;
  esac
}
_push_raw_blob() {  # LAYOUT DIGEST BASEURL [curl auth]
  local layout=$1 digest=$2 base=$3 loc code
  shift 3
  code=$(http_code "$base/blobs/$digest" -I "$@")
  [ "$code" = 200 ] && return 0
  loc=$(curl -s -m 30 -o /dev/null -w '%header{location}' -X POST "$@" "$base/blobs/uploads/") ||
    die "push_raw: starting an upload to $base failed"
  [ -n "$loc" ] || die "push_raw: no upload location from $base"
  case $loc in /*) loc=${base%%/v2/*}$loc ;; esac
  case $loc in *\?*) loc+="&digest=$digest" ;; *) loc+="?digest=$digest" ;; esac
  code=$(curl -s -m 60 -o /dev/null -w '%{http_code}' -X PUT "$@" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$layout/blobs/sha256/${digest#sha256:}" "$loc")
  [ "$code" = 201 ] || die "push_raw: uploading $digest to $base: HTTP $code"
}
_push_raw_manifest() {  # LAYOUT DIGEST BASEURL REFERENCE [curl auth]
  local layout=$1 digest=$2 base=$3 reference=$4 file mt d code
  shift 4
  file=$layout/blobs/sha256/${digest#sha256:}
  mt=$(jq -r '.mediaType // (if .manifests then "application/vnd.oci.image.index.v1+json"
              else "application/vnd.oci.image.manifest.v1+json" end)' "$file")
  for d in $(jq -r '.manifests[]?.digest' "$file"); do
    _push_raw_manifest "$layout" "$d" "$base" "$d" "$@"
  done
  for d in $(jq -r '.config.digest // empty, .layers[]?.digest' "$file"); do
    _push_raw_blob "$layout" "$d" "$base" "$@"
  done
  code=$(curl -s -m 30 -o "$TEST_DIR/.push-out" -w '%{http_code}' -X PUT "$@" \
    -H "Content-Type: $mt" --data-binary "@$file" "$base/manifests/$reference")
  [ "$code" = 201 ] || die "push_raw: manifest $digest to $base:$reference: HTTP $code $(cat "$TEST_DIR/.push-out")"
}

# busybox_rootfs DIR — busybox-static and one relative symlink per applet in bin/, the
# files an image like the official busybox one has (no proc/sys: the runtime makes them).
busybox_rootfs() {
  local d=$1 busybox=${BUSYBOX:-/bin/busybox}
  [ -x "$busybox" ] || die "$busybox not found (install busybox-static)"
  ldd "$busybox" >/dev/null 2>&1 && die "$busybox is not static (install busybox-static)"
  mkdir -p "$d"/{bin,dev,etc,root,tmp,var,home/user}
  cp "$busybox" "$d/bin/busybox"
  # ~400 symlinks: one python process instead of one ln each.
  "$busybox" --list | "$PYTHON" -c 'import os, sys
for a in sys.stdin.read().split():
    if a != "busybox": os.symlink("busybox", os.path.join(sys.argv[1], a))' "$d/bin" ||
    die "making busybox applet links in $d/bin failed"
  chmod 1777 "$d/tmp"
  chmod 700 "$d/root"
  chown 1000:1000 "$d/home/user"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'user:x:1000:1000:test user:/home/user:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$d/etc/passwd"
  printf '%s\n' 'root:x:0:' 'user:x:1000:' 'nogroup:x:65534:' >"$d/etc/group"
}

# --- the standard test images ---------------------------------------------------------------
# (a) IMG_MULTI  test/multi:v1 — 2 gzip layers: busybox + /etc files, then a layer that
#     deletes /etc/removeme (.wh.removeme), replaces /etc/motd, adds /etc/added and makes
#     /data/old opaque (.wh..wh..opq) with only "new" in it. Cmd prints "hello from image";
#     Env GREETING, WorkingDir /home/user, User user (uid 1000 via /etc/passwd).
# (b) IMG_MIXED  test/mixed:v1 — the busybox layer zstd-compressed, plus an uncompressed
#     layer with /plain/file. Same diff_id as (a)'s first layer, other blob digest.
# (c) IMG_MULTIARCH test/multiarch:v1 — an index: linux/$HOST_ARCH = (a)'s manifest,
#     linux/$OTHER_ARCH = a marker image (config label berth.test.marker=$OTHER_ARCH).
# (d) IMG_UMOCI  test/umoci:v1 — made by umoci (new/insert/insert --whiteout/config).
# (e) test/schema2:v1 — (a) pushed by skopeo --format v2s2 (Docker schema 2 media types).
# For each X: X_MANIFEST X_CONFIG (digests), X_DIFF_IDS (space-separated), X_LAYERS.
# Also MULTIARCH_INDEX, OTHER_MANIFEST, OTHER_CONFIG, OTHER_LAYERS.
IMAGES_DIR=$TEST_DIR/images

build_test_images() {
  local L=$IMAGES_DIR/layout s=$IMAGES_DIR/src cfg l1 l2 d1 d2
  [ -n "${MULTI_MANIFEST:-}" ] && return 0
  mkdir -p "$s"
  oci_init "$L"

  # (a)
  busybox_rootfs "$s/base"
  echo "layer1 motd" >"$s/base/etc/motd"
  echo "deleted by layer 2" >"$s/base/etc/removeme"
  mkdir -p "$s/base/data/old"
  echo a >"$s/base/data/old/a"
  echo b >"$s/base/data/old/b"
  echo kept >"$s/base/data/keep"
  oci_layer "$L" gzip "$s/base"
  l1=$LAYER_DESC d1=$LAYER_DIFF_ID
  mkdir -p "$s/upper/etc" "$s/upper/data/old"
  : >"$s/upper/etc/.wh.removeme"
  echo "layer2 motd" >"$s/upper/etc/motd"
  echo "added by layer 2" >"$s/upper/etc/added"
  : >"$s/upper/data/old/.wh..wh..opq"
  echo new >"$s/upper/data/old/new"
  oci_layer "$L" gzip "$s/upper"
  l2=$LAYER_DESC d2=$LAYER_DIFF_ID
  cfg=$(image_config "$HOST_ARCH" "[\"$d1\", \"$d2\"]" '{
      "Cmd": ["/bin/sh", "-c", "echo hello from image"],
      "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hi there"],
      "WorkingDir": "/home/user", "User": "user",
      "Labels": {"berth.test.image": "multi"}}')
  oci_manifest "$L" "$cfg" "$l1" "$l2"
  oci_tag "$L" multi "$MANIFEST_DESC"
  MULTI_MANIFEST=$MANIFEST_DIGEST MULTI_CONFIG=$CONFIG_DIGEST MULTI_DIFF_IDS="$d1 $d2"
  MULTI_LAYERS="$(jq -r .digest <<<"$l1") $(jq -r .digest <<<"$l2")"
  local multi_desc=$MANIFEST_DESC

  # (b)
  oci_layer "$L" zstd "$s/base"
  l1=$LAYER_DESC d1=$LAYER_DIFF_ID
  mkdir -p "$s/plain/plain"
  echo "from an uncompressed layer" >"$s/plain/plain/file"
  oci_layer "$L" none "$s/plain"
  l2=$LAYER_DESC d2=$LAYER_DIFF_ID
  cfg=$(image_config "$HOST_ARCH" "[\"$d1\", \"$d2\"]" '{
      "Cmd": ["/bin/sh", "-c", "echo hello from mixed; cat /plain/file"],
      "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}')
  oci_manifest "$L" "$cfg" "$l1" "$l2"
  oci_tag "$L" mixed "$MANIFEST_DESC"
  MIXED_MANIFEST=$MANIFEST_DIGEST MIXED_CONFIG=$CONFIG_DIGEST MIXED_DIFF_IDS="$d1 $d2"
  MIXED_LAYERS="$(jq -r .digest <<<"$l1") $(jq -r .digest <<<"$l2")"

  # (c) the other platform's image cannot run here: a marker file and a labelled config.
  mkdir -p "$s/other"
  echo "marker for linux/$OTHER_ARCH" >"$s/other/marker"
  oci_layer "$L" gzip "$s/other"
  cfg=$(image_config "$OTHER_ARCH" "[\"$LAYER_DIFF_ID\"]" "{
      \"Cmd\": [\"/marker\"], \"Labels\": {\"berth.test.marker\": \"$OTHER_ARCH\"}}")
  oci_manifest "$L" "$cfg" "$LAYER_DESC"
  OTHER_MANIFEST=$MANIFEST_DIGEST OTHER_CONFIG=$CONFIG_DIGEST
  OTHER_LAYERS=$(jq -r .digest <<<"$LAYER_DESC")
  oci_index "$L" \
    "$(jq -c --arg a "$HOST_ARCH" '. + {platform: {architecture: $a, os: "linux"}}' <<<"$multi_desc")" \
    "$(jq -c --arg a "$OTHER_ARCH" '. + {platform: {architecture: $a, os: "linux"}}' <<<"$MANIFEST_DESC")"
  oci_tag "$L" multiarch "$INDEX_DESC"
  MULTIARCH_INDEX=$INDEX_DIGEST

  # (d) another tool's image: umoci writes its own tars, whiteouts and config.
  require_tools umoci
  local U=$IMAGES_DIR/umoci out
  mkdir -p "$s/umoci-etc"
  echo "written by umoci" >"$s/umoci-etc/umoci-marker"
  out=$(
    set -e
    umoci init --layout "$U"
    umoci new --image "$U:v1"
    umoci insert --image "$U:v1" "$s/base" /
    umoci insert --image "$U:v1" "$s/umoci-etc/umoci-marker" /etc/umoci-marker
    umoci insert --image "$U:v1" --whiteout /etc/removeme
    umoci config --image "$U:v1" --architecture "$HOST_ARCH" --os linux \
      --config.cmd /bin/sh --config.cmd -c --config.cmd 'echo hello from umoci; cat /etc/umoci-marker' \
      --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin --config.workingdir /
  ) 2>&1 || die "umoci failed: $out"
  UMOCI_MANIFEST=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "v1") | .digest' "$U/index.json")
  UMOCI_CONFIG=$(jq -r .config.digest "$U/blobs/sha256/${UMOCI_MANIFEST#sha256:}")
  UMOCI_DIFF_IDS=$(jq -r '.rootfs.diff_ids | join(" ")' "$U/blobs/sha256/${UMOCI_CONFIG#sha256:}")
  UMOCI_LAYERS=$(jq -r '[.layers[].digest] | join(" ")' "$U/blobs/sha256/${UMOCI_MANIFEST#sha256:}")
  IMAGES_LAYOUT=$L UMOCI_LAYOUT=$U
}

# push_test_images HOST [USER:PASS] — pushes (a)–(e) to HOST (a registry or a proxy).
# Sets SCHEMA2_MANIFEST (the registry's digest of the manifest skopeo converted).
push_test_images() {
  local host=$1 creds=()
  [ -n "${2:-}" ] && creds=(--dest-creds "$2")
  build_test_images
  push_image "$IMAGES_LAYOUT" multi "$host/test/multi:v1" "${creds[@]}"
  push_raw "$IMAGES_LAYOUT" "$MIXED_MANIFEST" "$host/test/mixed:v1" ${2:+"$2"}
  push_image "$IMAGES_LAYOUT" multiarch "$host/test/multiarch:v1" --all "${creds[@]}"
  push_image "$UMOCI_LAYOUT" v1 "$host/test/umoci:v1" "${creds[@]}"
  push_image "$IMAGES_LAYOUT" multi "$host/test/schema2:v1" --format v2s2 "${creds[@]}"
  SCHEMA2_MANIFEST=$(registry_manifest_digest "$host/test/schema2:v1" ${2:+"$2"})
  # The tests expect the digests built here: the registry must serve the same bytes.
  local r want got
  for r in multi:MULTI_MANIFEST mixed:MIXED_MANIFEST multiarch:MULTIARCH_INDEX umoci:UMOCI_MANIFEST; do
    want=${r#*:}
    want=${!want}
    got=$(registry_manifest_digest "$host/test/${r%%:*}:v1" ${2:+"$2"})
    [ "$got" = "$want" ] || die "$host/test/${r%%:*}:v1 is $got in the registry, built as $want"
  done
}

# registry_manifest_digest HOST/REPO:TAG [USER:PASS] — digest of the bytes the registry
# serves for the tag (the manifest or index as stored).
registry_manifest_digest() {
  local creds=()
  [ -n "${2:-}" ] && creds=(--creds "$2")
  skopeo_ inspect --raw --tls-verify=false "${creds[@]}" "docker://$1" >"$TEST_DIR/.raw-manifest" ||
    die "skopeo inspect --raw docker://$1 failed"
  echo "sha256:$(sha256sum <"$TEST_DIR/.raw-manifest" | cut -d' ' -f1)"
}
