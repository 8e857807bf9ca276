#!/bin/bash
# Helpers for the tests that run a private containerd (test_containerd.sh,
# test_containerd_cri.sh). Sourced after lib.sh.

# oci_archive ROOTFS OUT NAME [CONFIG] — an OCI image archive built by hand, for
# `ctr images import`: one uncompressed layer with ROOTFS, named NAME. CONFIG is the image
# config's "config" object (default: a PATH and Cmd ["sh"]).
oci_archive() {
  local config=${4:-'{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]}'}
  local d ld ls cd cs md ms
  d=$(mktemp -d "$TEST_DIR/oci.XXXXXX") || return 1
  mkdir -p "$d/blobs/sha256"
  tar -C "$1" --numeric-owner -cf "$d/layer" . || return 1
  ld=$(sha256sum <"$d/layer" | cut -d' ' -f1) ls=$(stat -c %s "$d/layer")
  mv "$d/layer" "$d/blobs/sha256/$ld"
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$config" "$ld" >"$d/config"
  cd=$(sha256sum <"$d/config" | cut -d' ' -f1) cs=$(stat -c %s "$d/config")
  mv "$d/config" "$d/blobs/sha256/$cd"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cd" "$cs" "$ld" "$ls" >"$d/manifest"
  md=$(sha256sum <"$d/manifest" | cut -d' ' -f1) ms=$(stat -c %s "$d/manifest")
  mv "$d/manifest" "$d/blobs/sha256/$md"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s"}}]}' \
    "$md" "$ms" "$3" >"$d/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
  tar -C "$d" -cf "$2" oci-layout index.json blobs && rm -rf "$d"
}

# stop_containerd PID SOCKET — SIGTERM, then SIGKILL after 5 s; then the shims whose
# -address is SOCKET (only this containerd's: other containerds on the host keep theirs).
stop_containerd() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  pkill -KILL -f "containerd-shim-runc-v2 .*-address $2" 2>/dev/null
}
