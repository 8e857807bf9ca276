#!/bin/bash
# Common helpers for the integration tests (tests/integration/test_*.sh).
#
# Each test is a standalone bash script that sources this file. It runs real containers
# with the runtime in $BERTH (ctest sets it to the built berth; any runc-compatible
# runtime works: BERTH=$(command -v runc) tests/integration/test_lifecycle.sh).
#
# What sourcing gives a test:
#   rt ARGS...             "$BERTH" --root "$STATE" ARGS... (with a timeout)
#   new_id                 prints a fresh container id and records it for cleanup
#   make_bundle [ARGS...]  prints the path of a new busybox bundle (BUNDLE_JQ=... edits config)
#   run_ctr ARGS...        make_bundle + `rt run` in the foreground: sets OUT ERR RC ID BUNDLE
#   assert_* / pass / fail checks that print what was expected and what was got
#   berth_specific WHY     false (and prints a skip) when the runtime is runc or crun
#   on_exit CMD            runs CMD at cleanup (e.g. `ip netns delete x`)
# At exit every container is deleted, tracked processes are killed, and the test FAILS
# if anything leaked: a state entry, a cgroup directory or a process of one of its
# containers, a mount under its temp dir, or a process whose cwd/root is in its temp dir.
set -u -o pipefail

: "${BERTH:?set BERTH to the runtime binary (ctest sets it to <build>/berth)}"
BERTH_SOURCE_DIR=${BERTH_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export BERTH BERTH_SOURCE_DIR
TEST_NAME=$(basename "$0" .sh)
RT_TIMEOUT=${RT_TIMEOUT:-60}
export DATA_DIR=$BERTH_SOURCE_DIR/tests/integration/data  # helper sources (recvtty.c)

CHECKS=0
FAILURES=0

# --- reporting --------------------------------------------------------------------------
section() { printf '\n=== %s: %s\n' "$TEST_NAME" "$*"; }
pass() {
  CHECKS=$((CHECKS + 1))
  printf 'ok     %s\n' "$*"
}
fail() {
  CHECKS=$((CHECKS + 1))
  FAILURES=$((FAILURES + 1))
  printf 'FAIL   %s\n' "$*"
}
# Fatal: the rest of the test cannot run (cleanup still runs).
die() {
  echo "FATAL  $*"
  FAILURES=$((FAILURES + 1))
  exit 1
}
# Indents captured output under a failure line.
_show() { printf '%s\n' "$1" | sed -n '1,40s/^/         | /p'; }

# --- assertions -------------------------------------------------------------------------
assert_eq() {  # EXPECTED ACTUAL WHAT
  if [ "$1" = "$2" ]; then pass "$3"; else
    fail "$3"
    echo "         expected: '$1'"
    echo "         got:      '$2'"
  fi
}
assert_ne() {  # UNEXPECTED ACTUAL WHAT
  if [ "$1" != "$2" ]; then pass "$3"; else
    fail "$3"
    echo "         expected anything but: '$1'"
  fi
}
assert_contains() {  # HAYSTACK NEEDLE WHAT
  if [[ $1 == *"$2"* ]]; then pass "$3"; else
    fail "$3"
    echo "         expected to contain: '$2'"
    echo "         got:"
    _show "$1"
  fi
}
assert_not_contains() {  # HAYSTACK NEEDLE WHAT
  if [[ $1 != *"$2"* ]]; then pass "$3"; else
    fail "$3"
    echo "         expected NOT to contain: '$2'"
    echo "         got:"
    _show "$1"
  fi
}
assert_match() {  # HAYSTACK ERE WHAT
  if printf '%s\n' "$1" | grep -Eq -- "$2"; then pass "$3"; else
    fail "$3"
    echo "         expected to match /$2/"
    echo "         got:"
    _show "$1"
  fi
}
# assert_ok WHAT CMD... — CMD must succeed.
assert_ok() {
  local what=$1 out rc
  shift
  out=$("$@" 2>&1 </dev/null)
  rc=$?
  if [ $rc -eq 0 ]; then pass "$what"; else
    fail "$what"
    echo "         command: $*"
    echo "         expected exit 0, got $rc; output:"
    _show "$out"
  fi
}
# assert_fails_with ERE CMD... — CMD must exit non-zero and print (stdout or stderr)
# something matching ERE (case-insensitive). Sets LAST_OUT.
assert_fails_with() {
  local pattern=$1 rc
  shift
  LAST_OUT=$("$@" 2>&1 </dev/null)
  rc=$?
  if [ $rc -ne 0 ] && printf '%s\n' "$LAST_OUT" | grep -Eiq -- "$pattern"; then
    pass "fails with /$pattern/: $*"
  else
    fail "fails with /$pattern/: $*"
    echo "         expected non-zero exit and output matching /$pattern/"
    echo "         got exit $rc; output:"
    _show "$LAST_OUT"
  fi
}

# --- runtime identity -------------------------------------------------------------------
RUNTIME_VERSION=$("$BERTH" --version 2>/dev/null | head -n1)
case "$(basename "$BERTH") $RUNTIME_VERSION" in
  runc* | *"runc version"*) RUNTIME_KIND=runc ;;
  crun* | *"crun version"*) RUNTIME_KIND=crun ;;
  *) RUNTIME_KIND=berth ;;
esac
# `if berth_specific "why"; then <check>; fi` — for what berth's issue requires beyond
# runc (wording, extra JSON fields, hybrid cgroups); skipped only for runc and crun.
berth_specific() {
  if [ "$RUNTIME_KIND" = berth ]; then return 0; fi
  printf 'skip   (berth-specific, runtime is %s) %s\n' "$RUNTIME_KIND" "$*"
  return 1
}

require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "$TEST_NAME: needs root (containers, namespaces, cgroups, mounts); run as root" >&2
    exit 1
  fi
}

# --- per-test state ---------------------------------------------------------------------
require_root
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/berth-it-${TEST_NAME#test_}.XXXXXX") || exit 1
TEST_DIR=$(cd "$TEST_DIR" && pwd -P)
chmod 755 "$TEST_DIR"  # containers with a user namespace must reach their rootfs
STATE=$TEST_DIR/state
mkdir -p "$STATE" "$TEST_DIR/bundles"
: >"$TEST_DIR/.ids"
: >"$TEST_DIR/.pids"
: >"$TEST_DIR/.on_exit"
ID_PREFIX="${TEST_NAME#test_}-$$-"

# The base config.json of every bundle: `$BERTH spec` once, or make-bundle.sh's template.
mkdir "$TEST_DIR/.spec"
if timeout 10 "$BERTH" spec -b "$TEST_DIR/.spec" >/dev/null 2>&1 && jq -e .process "$TEST_DIR/.spec/config.json" >/dev/null 2>&1; then
  export BUNDLE_BASE_CONFIG=$TEST_DIR/.spec/config.json
else
  echo "NOTE   '$BERTH spec' failed; bundles use make-bundle.sh's template"
  export BUNDLE_SPEC=template
fi

rt() { timeout -k 5 "$RT_TIMEOUT" "$BERTH" --root "$STATE" "$@"; }

new_id() {
  local n
  n=$(($(wc -l <"$TEST_DIR/.ids") + 1))
  echo "$ID_PREFIX$n" >>"$TEST_DIR/.ids"
  echo "$ID_PREFIX$n"
}

make_bundle() {
  local n dir
  n=$(($(find "$TEST_DIR/bundles" -mindepth 1 -maxdepth 1 | wc -l) + 1))
  dir=$TEST_DIR/bundles/b$n
  "$BERTH_SOURCE_DIR/scripts/make-bundle.sh" "$dir" "$@" >&2 || die "make-bundle.sh $dir failed"
  echo "$dir"
}

# edit_config BUNDLE JQ — applies a jq program to BUNDLE/config.json in place.
edit_config() {
  jq "$2" "$1/config.json" >"$1/config.json.new" && mv "$1/config.json.new" "$1/config.json" ||
    die "jq '$2' on $1/config.json failed"
}

# run_bundle BUNDLE [ID] — `rt run` in the foreground; sets OUT ERR RC ID.
run_bundle() {
  BUNDLE=$1
  ID=${2:-$(new_id)}
  rt run --bundle "$BUNDLE" "$ID" </dev/null >"$TEST_DIR/.out" 2>"$TEST_DIR/.err"
  RC=$?
  OUT=$(cat "$TEST_DIR/.out")
  ERR=$(cat "$TEST_DIR/.err")
}
# run_ctr ARGS... — a fresh bundle running ARGS (BUNDLE_JQ=... applies); sets OUT ERR RC ID BUNDLE.
run_ctr() {
  local b
  b=$(make_bundle "$@") || exit 1
  run_bundle "$b"
}
# kv KEY — the value of a "KEY=value" line of $OUT (containers print results that way).
kv() { sed -n "s/^$1=//p" <<<"$OUT" | head -n1; }
# expect_run WHAT — RC must be 0 (prints stderr otherwise); use after run_ctr.
expect_run() {
  if [ "$RC" -eq 0 ]; then pass "$1"; else
    fail "$1"
    echo "         run exited $RC; stderr:"
    _show "$ERR"
  fi
}

# run_detached BUNDLE [ID] — `rt run -d`; container stdio goes to $TEST_DIR/ID.log. Sets ID RC.
run_detached() {
  ID=${2:-$(new_id)}
  rt run -d --bundle "$1" "$ID" </dev/null >"$TEST_DIR/$ID.log" 2>&1
  RC=$?
}

# ctr_pid ID — the container's init pid as the runtime reports it.
ctr_pid() { rt state "$1" 2>/dev/null | jq -r '.pid // empty'; }
ctr_status() { rt state "$1" 2>/dev/null | jq -r '.status // empty'; }

# wait_until SECONDS CMD... — polls CMD every 50 ms until it succeeds.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  while ! "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

# proc_alive PID — the process exists and is not a zombie.
proc_alive() {
  local st
  st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
# wait_status ID STATUS [SECONDS]
wait_status() {
  local deadline=$((SECONDS + ${3:-5}))
  while [ "$(ctr_status "$1")" != "$2" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

# track_pid PID — a helper process started by the test, killed at cleanup.
track_pid() { echo "$1" >>"$TEST_DIR/.pids"; }
on_exit() { printf '%s\n' "$*" >>"$TEST_DIR/.on_exit"; }

# Cgroup directories named after a container id, in every hierarchy (v1, hybrid, v2).
_cgroup_dirs_of() {
  find /sys/fs/cgroup/ -mindepth 1 -maxdepth 5 -type d -name "$1" 2>/dev/null
}

# assert_nothing_left ID WHAT — no state, cgroup dir or process remains for container ID.
assert_nothing_left() {
  local st
  st=$(rt state "$1" 2>/dev/null) && fail "$2: state still answers for $1: $st" || pass "$2: state $1 fails"
  assert_eq "" "$(ls -A "$STATE")" "$2: no state entry left"
  assert_eq "" "$(_cgroup_dirs_of "$1")" "$2: no cgroup dir left"
  assert_eq "" "$(grep -El "/$1(/|\$)" /proc/[0-9]*/cgroup 2>/dev/null)" "$2: no process left in its cgroup"
  assert_eq "" "$(awk -v d="$TEST_DIR" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo)" "$2: no mount left"
}

# --- cleanup and leak check -------------------------------------------------------------
_cleanup() {
  local rc=$? id ids p leaks="" dirs mnts
  set +e
  trap - EXIT INT TERM
  cd /
  ids=$( (cat "$TEST_DIR/.ids"; ls -A "$STATE" 2>/dev/null; "$BERTH" --root "$STATE" list -q 2>/dev/null) | sort -u)

  # 1. what the test did not clean itself
  for id in $ids; do
    timeout -k 5 30 "$BERTH" --root "$STATE" delete --force "$id" >/dev/null 2>&1
  done
  while read -r p; do
    [ -n "$p" ] && kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done <"$TEST_DIR/.pids"
  while read -r p; do
    [ -n "$p" ] && eval "$p" >/dev/null 2>&1
  done <"$TEST_DIR/.on_exit"

  # 2. what the runtime failed to clean: each one is a test failure
  if [ -n "$(ls -A "$STATE" 2>/dev/null)" ]; then
    leaks+="state entries left in $STATE: $(ls -A "$STATE" | tr '\n' ' ')"$'\n'
    rm -rf "${STATE:?}"/*
  fi
  # One find and one grep over /proc: a loop of forks per process is slow on a busy host.
  local procs="" re
  procs=$(find /proc/[0-9]*/ -maxdepth 1 \( -name cwd -o -name root \) -printf '%p %l\n' 2>/dev/null |
    awk -v d="$TEST_DIR" '$2 == d || index($2, d "/") == 1 {split($1, a, "/"); print a[3]}')
  if [ -n "$ids" ]; then
    re=$(printf '%s|' $ids)
    procs+=" "$(grep -El "/(${re%|})(/|\$)" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3)
  fi
  procs=$(echo $procs | tr ' ' '\n' | grep -vx "$$" | sort -u | tr '\n' ' ')
  if [ -n "${procs// /}" ]; then
    leaks+="processes of this test left:"$'\n'
    for p in $procs; do leaks+="  $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"$'\n'; done
    kill -KILL $procs 2>/dev/null
    sleep 0.2
  fi
  for id in $ids; do
    dirs=$(_cgroup_dirs_of "$id")
    if [ -n "$dirs" ]; then
      leaks+="cgroup directories left for $id:"$'\n'"$(echo "$dirs" | sed 's/^/  /')"$'\n'
      # deepest first
      echo "$dirs" | awk '{print length($0) " " $0}' | sort -rn | cut -d' ' -f2- |
        while read -r d; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
    fi
  done
  mnts=$(awk -v d="$TEST_DIR" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo)
  if [ -n "$mnts" ]; then
    leaks+="mounts left under $TEST_DIR:"$'\n'"$(echo "$mnts" | sed 's/^/  /')"$'\n'
    echo "$mnts" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  fi
  if [ -n "$leaks" ]; then
    CHECKS=$((CHECKS + 1))
    FAILURES=$((FAILURES + 1))
    echo "FAIL   nothing leaked:"
    printf '%s' "$leaks" | sed 's/^/         /'
  else
    pass "nothing leaked (state, cgroups, mounts, processes)"
  fi

  if awk -v d="$TEST_DIR" 'index($5, d) == 1 {f=1} END {exit !f}' /proc/self/mountinfo; then
    echo "NOTE   $TEST_DIR kept: mounts remain under it"
  elif [ -n "${KEEP_TEST_DIR:-}" ]; then
    echo "NOTE   $TEST_DIR kept (KEEP_TEST_DIR)"
  else
    rm -rf --one-file-system "$TEST_DIR"
  fi
  echo
  if [ $FAILURES -eq 0 ] && [ $rc -eq 0 ]; then
    echo "$TEST_NAME: PASS ($CHECKS checks, runtime $RUNTIME_KIND: $BERTH)"
    exit 0
  fi
  echo "$TEST_NAME: FAIL ($FAILURES of $CHECKS checks failed, exit $rc, runtime $RUNTIME_KIND: $BERTH)"
  [ $rc -ne 0 ] && exit $rc
  exit 1
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# scenario_results LOG WHO — turns the "RESULT ok|skip|fail NAME [DETAIL]" lines that
# cgroup_scenarios.sh printed into LOG into checks, and requires its final DONE and at least
# 50 results (test_cgroup_scenarios_host.sh, test_cgroup_v2_guest.sh).
scenario_results() {
  local log=$1 who=$2 n=0 st name detail
  while read -r _ st name detail; do
    n=$((n + 1))
    case $st in
      ok) pass "$name" ;;
      skip) printf 'skip   %s: %s\n' "$name" "$detail" ;;
      *) fail "$name: $detail" ;;
    esac
  done < <(grep -a '^RESULT ' "$log")
  grep -aqx DONE "$log" && pass "$who printed DONE" || fail "$who printed DONE"
  [ $n -ge 50 ] && pass "$who reported $n results" || fail "$who reported only $n results"
}
