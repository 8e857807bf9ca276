#!/bin/bash
# make-bundle.sh DIR [ARGS...] — creates an OCI bundle at DIR whose rootfs is busybox-static.
#
#   DIR/rootfs    bin/busybox + a symlink per applet, etc/passwd, etc/group, tmp, proc, sys, dev
#   DIR/config.json
#       from `$BERTH spec` when $BERTH is set and its spec works (BUNDLE_SPEC=template
#       forces the embedded template, which equals runc 1.1's default spec), then
#       process.args = ARGS (default: sh), process.terminal = false, and finally the jq
#       program in $BUNDLE_JQ, if any. Inside it, $bundle and $rootfs are the absolute paths.
#       BUNDLE_BASE_CONFIG=FILE uses FILE instead of `$BERTH spec` (tests make it once).
#
# Tests create many bundles, so the applet tree is built once in a cache dir
# ($BERTH_BUNDLE_CACHE, default ${TMPDIR:-/tmp}/berth-bundle-cache) and hard-linked
# (copied when the cache is on another filesystem).
set -euo pipefail

die() { echo "make-bundle: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: $0 DIR [ARGS...]"
dir=$1; shift
[ $# -ge 1 ] || set -- sh
command -v jq >/dev/null || die "jq is not installed (run scripts/install-deps.sh)"

busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || die "$busybox not found (install busybox-static)"

# --- rootfs template in the cache, keyed by busybox's identity -------------------------
cache_root=${BERTH_BUNDLE_CACHE:-${TMPDIR:-/tmp}/berth-bundle-cache}
key=$(stat -L -c '%s-%Y-%i' "$busybox")
cache=$cache_root/$key
if [ ! -x "$cache/bin/busybox" ]; then
  # Debian's dynamic busybox would need its libraries in the rootfs.
  if ldd "$busybox" >/dev/null 2>&1; then
    die "$busybox is not a static binary (install busybox-static)"
  fi
  mkdir -p "$cache_root"
  staging=$(mktemp -d "$cache_root/.staging.XXXXXX")
  chmod 755 "$staging"
  mkdir -p "$staging/bin"
  cp "$busybox" "$staging/bin/busybox"
  # Every applet as a relative symlink to /bin/busybox, in the directory busybox names.
  (
    cd "$staging"
    "$busybox" --list-full | while read -r applet; do
      case $applet in */busybox | "") continue ;; esac
      d=${applet%/*}
      mkdir -p "$d"
      case $d in
        bin) target=busybox ;;
        sbin | usr) target=../bin/busybox ;;
        *) target=../../bin/busybox ;;  # usr/bin, usr/sbin
      esac
      [ -e "$applet" ] || ln -s "$target" "$applet"
    done
  )
  # Another process may have won the race; either copy is fine.
  mv -T "$staging" "$cache" 2>/dev/null || rm -rf "$staging"
fi

# --- the bundle -------------------------------------------------------------------------
[ ! -e "$dir/config.json" ] || die "$dir/config.json already exists"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
rootfs=$dir/rootfs
mkdir -p "$rootfs"
cp -a --link "$cache/." "$rootfs/" 2>/dev/null || cp -a "$cache/." "$rootfs/"
chmod 755 "$dir" "$rootfs"  # reachable by a user namespace's root
mkdir -p "$rootfs"/{proc,sys,dev,etc,root,home/user,tmp}
chmod 1777 "$rootfs/tmp"
chown 1000:1000 "$rootfs/home/user"
cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:unprivileged test user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
tty:x:5:
user:x:1000:
extra:x:1001:user
nogroup:x:65534:
GROUP

spec=""
if [ -n "${BUNDLE_BASE_CONFIG:-}" ]; then
  spec=$(cat "$BUNDLE_BASE_CONFIG")
elif [ -n "${BERTH:-}" ] && [ "${BUNDLE_SPEC:-}" != template ]; then
  tmp=$(mktemp -d "$dir/.spec.XXXXXX")
  if timeout 10 "$BERTH" spec -b "$tmp" >/dev/null 2>&1 && jq -e .process "$tmp/config.json" >/dev/null 2>&1; then
    spec=$(cat "$tmp/config.json")
  fi
  rm -rf "$tmp"
fi
if [ -z "$spec" ]; then
  # runc 1.1's `runc spec` output.
  spec=$(cat <<'TEMPLATE'
{
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": true,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
TEMPLATE
)
fi

# Each argument as its own --arg: jq's --args would parse a "-c" among them as an option.
jq_args=() list=""
i=0
for a in "$@"; do
  jq_args+=(--arg "a$i" "$a")
  list="$list${list:+, }\$a$i"
  i=$((i + 1))
done
filter=".process.args = [$list] | .process.terminal = false"
[ -z "${BUNDLE_JQ:-}" ] || filter="$filter | (${BUNDLE_JQ})"
printf '%s\n' "$spec" |
  jq --arg bundle "$dir" --arg rootfs "$rootfs" "${jq_args[@]}" "$filter" >"$dir/config.json.tmp" ||
  die "jq failed on filter: $filter"
mv "$dir/config.json.tmp" "$dir/config.json"
