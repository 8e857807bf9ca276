#!/bin/bash
# berthctl's crictl-style monitoring commands against a real berthd: the GetContainerEvents
# order of a pod's lifecycle (events -o json in the background, ended by SIGINT/SIGTERM),
# stats and statsp against the cgroup files, logs -f across a ReopenContainerLog rotation,
# inspecti, imagefsinfo, update, -o json/yaml (the YAML parsed back and compared), namespaces
# (berth-namespace metadata), crictl.yaml and its precedence, and what berthctl says when no
# berthd answers. Nothing of this test is left at the end.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
source "$(dirname "$0")/berthd_lib.sh"
require_root
require_tools jq skopeo docker-registry python3
python3 -c 'import yaml' 2>/dev/null || die "python3-yaml is needed (scripts/install-deps.sh)"
# Never the machine's /etc/crictl.yaml, nor an endpoint from the caller's environment.
export CRI_CONFIG_FILE=/dev/null
unset CONTAINER_RUNTIME_ENDPOINT IMAGE_SERVICE_ENDPOINT BERTH_NAMESPACE

berthd_init ctl
berthd_image
berthd_start --insecure-registry "$REG_BD"
b img pull "$IMAGE" >/dev/null 2>&1 || die "img pull failed"

# yaml_is_json WHAT CMD... — `CMD -o yaml` parses to the same document as `CMD -o json`
# (but for the "timestamp" fields: each call is a new sample).
yaml_is_json() {
  local what=$1
  shift
  b "$@" -o json >"$TEST_DIR/doc.json" 2>&1 || { fail "$what: -o json failed: $(cat "$TEST_DIR/doc.json")"; return; }
  b "$@" -o yaml >"$TEST_DIR/doc.yaml" 2>&1 || { fail "$what: -o yaml failed: $(cat "$TEST_DIR/doc.yaml")"; return; }
  if python3 - "$TEST_DIR/doc.json" "$TEST_DIR/doc.yaml" <<'PY'; then
import json, sys, yaml
def strip(d):
    if isinstance(d, dict):
        return {k: strip(v) for k, v in d.items() if k != "timestamp"}
    if isinstance(d, list):
        return [strip(v) for v in d]
    return d
j = strip(json.load(open(sys.argv[1])))
y = strip(yaml.safe_load(open(sys.argv[2])))
sys.exit(0 if j == y and j not in (None, {}, []) else 1)
PY
    pass "$what: -o yaml is the -o json document"
  else
    fail "$what: -o yaml differs from -o json"
    _show "$(head -n 30 "$TEST_DIR/doc.yaml")"
  fi
}

# event_types ID — the types of ID's events in the order the stream gave them.
event_types() {
  jq -r --arg id "$1" 'select(.containerId == $id) | .containerEventType' "$TEST_DIR/events.json" |
    sed 's/^CONTAINER_//; s/_EVENT$//' | tr '\n' ' ' | sed 's/ $//'
}

section "events: a pod's lifecycle in order (events -o json in the background)"
"$BERTHCTL" --config /dev/null -r "$ENDPOINT" events -o json \
  >"$TEST_DIR/events.json" 2>"$TEST_DIR/events.err" &
EV_PID=$!
track_pid "$EV_PID"
# The stream is live once it carries an event: warm-up pods until one shows.
live=""
for i in 1 2 3 4 5; do
  pod_json "warm$i" >"$TEST_DIR/warm$i.json"
  w=$(b runp "$TEST_DIR/warm$i.json" 2>&1) || die "runp warm$i: $w"
  if wait_until 3 grep -q "$w" "$TEST_DIR/events.json"; then live=$w; break; fi
done
[ -n "$live" ] || die "events shows nothing: $(cat "$TEST_DIR/events.err")"
pod_json evpod >"$TEST_DIR/evpod.json"
EVPOD=$(b runp "$TEST_DIR/evpod.json" 2>&1) || die "runp: $EVPOD"
ctr_json evctr evctr.log 'exec sleep 1000' >"$TEST_DIR/evctr.json"
EVCTR=$(b create "$EVPOD" "$TEST_DIR/evctr.json" "$TEST_DIR/evpod.json" 2>&1) || die "create: $EVCTR"
b start "$EVCTR" >/dev/null 2>&1 || fail "start failed"
b stop -t 2 "$EVCTR" >/dev/null 2>&1 || fail "stop failed"
b rmc "$EVCTR" >/dev/null 2>&1 || fail "rmc failed"
b stopp "$EVPOD" >/dev/null 2>&1 || fail "stopp failed"
b rmp "$EVPOD" >/dev/null 2>&1 || fail "rmp failed"
wait_until 10 sh -c "grep '$EVPOD' '$TEST_DIR/events.json' | grep -q CONTAINER_DELETED_EVENT"
assert_eq "CREATED STARTED STOPPED DELETED" "$(event_types "$EVCTR")" \
  "the container's events: created, started, stopped, deleted, in this order"
assert_eq "CREATED STARTED STOPPED DELETED" "$(event_types "$EVPOD")" \
  "the sandbox's events: created, started, stopped, deleted"
order=$(jq -r --arg p "$EVPOD" --arg c "$EVCTR" \
  'select(.containerId == $p or .containerId == $c) |
   (if .containerId == $p then "pod" else "ctr" end) + ":" + (.containerEventType | sub("CONTAINER_"; "") | sub("_EVENT"; ""))' \
  "$TEST_DIR/events.json" | tr '\n' ' ' | sed 's/ $//')
assert_eq "pod:CREATED pod:STARTED ctr:CREATED ctr:STARTED ctr:STOPPED ctr:DELETED pod:STOPPED pod:DELETED" \
  "$order" "sandbox and container events interleave in the lifecycle's order"
assert_eq "$EVPOD" "$(jq -r --arg c "$EVCTR" 'select(.containerId == $c) | .podSandboxStatus.id' "$TEST_DIR/events.json" | sort -u)" \
  "a container's events carry its pod's status"
assert_eq "" "$(jq -r '.createdAt' "$TEST_DIR/events.json" | awk 'NR > 1 && $1 + 0 < prev + 0 {print "out of order: " $1} {prev = $1}')" \
  "createdAt never goes back"
kill -INT "$EV_PID"
wait_until 10 sh -c "! kill -0 $EV_PID 2>/dev/null"
wait "$EV_PID"; rc=$?
assert_eq 0 "$rc" "events exits 0 on SIGINT"
assert_eq "" "$(cat "$TEST_DIR/events.err")" "... and says nothing on stderr"
"$BERTHCTL" --config /dev/null -r "$ENDPOINT" events >"$TEST_DIR/events.txt" 2>&1 &
EV_PID=$!
track_pid "$EV_PID"
for i in 1 2 3 4 5; do
  b stopp "$live" >/dev/null 2>&1; b rmp "$live" >/dev/null 2>&1
  wait_until 3 grep -q "$live" "$TEST_DIR/events.txt" && break
  pod_json "warm-t$i" >"$TEST_DIR/warm-t$i.json"
  live=$(b runp "$TEST_DIR/warm-t$i.json" 2>&1)
done
grep -q "$live" "$TEST_DIR/events.txt" || fail "events (table) shows nothing: $(cat "$TEST_DIR/events.txt")"
pod_json tpod >"$TEST_DIR/tpod.json"
TPOD=$(b runp "$TEST_DIR/tpod.json" 2>&1) || die "runp tpod: $TPOD"
wait_until 10 grep -q "CONTAINER_STARTED_EVENT $TPOD" "$TEST_DIR/events.txt"
assert_match "$(grep "CONTAINER_CREATED_EVENT $TPOD" "$TEST_DIR/events.txt")" \
  "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z CONTAINER_CREATED_EVENT $TPOD $TPOD\$" \
  "events (table): time, type, container id, pod id on one line"
kill -TERM "$EV_PID"
wait_until 10 sh -c "! kill -0 $EV_PID 2>/dev/null"
wait "$EV_PID"; rc=$?
assert_eq 0 "$rc" "events exits 0 on SIGTERM"
for p in $(b pods -q 2>/dev/null); do b rmp -f "$p" >/dev/null 2>&1; done

section "stats and statsp against the cgroup files"
# Its own cgroup parent (the pod's figures are that cgroup's); annotations YAML must quote
# (pods -o yaml is parsed back below).
pod_json spod | jq --arg cg "/$CG_PARENT/spod" '.linux.cgroup_parent = $cg |
  .annotations = {"yes": "no", "num": "0123", "float": "1e3", "colon": "x: y # z", "empty": "",
    "nl": "two\nlines", "dash": "- item", "utf8": "\u00fcn\u00ef", "null": "null", "tilde": "~",
    "quote": "'"'"'q'"'"' \"d\"", "tab": "a\tb", "on": "off", "brace": "{a: 1}", "star": "*ref",
    "trail": "space ", "lead": " space", "bool": "True", "pct": "%x", "at": "@x"}' >"$TEST_DIR/spod.json"
SPOD=$(b runp "$TEST_DIR/spod.json" 2>&1) || die "runp spod: $SPOD"
# 20 MB held by the shell, ~0.5 s of CPU, 3 MB in the writable layer; then it waits.
ctr_json busy busy.log 'a=$(head -c 20000000 /dev/zero | tr "\0" x); head -c 3000000 /dev/zero >/big;
  i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done; echo busy-done; while :; do sleep 100; done' \
  >"$TEST_DIR/busy.json"
BUSY=$(b create "$SPOD" "$TEST_DIR/busy.json" "$TEST_DIR/spod.json" 2>&1) || die "create busy: $BUSY"
b start "$BUSY" >/dev/null 2>&1 || fail "start busy failed"
ctr_json done1 done1.log 'true' >"$TEST_DIR/done1.json"
DONE1=$(b create "$SPOD" "$TEST_DIR/done1.json" "$TEST_DIR/spod.json" 2>&1) || die "create done1: $DONE1"
b start "$DONE1" >/dev/null 2>&1
wait_until 120 grep -q busy-done "$TEST_DIR/logs/spod/busy.log" || fail "the busy loop did not finish"
wait_until 10 ctr_state_is "$DONE1" CONTAINER_EXITED
pid=$(b inspectc "$BUSY" | jq -r .info.info.pid)
st=$(b stats -o json --id "$BUSY" 2>&1)
assert_eq "$BUSY" "$(jq -r '.stats[0].attributes.id' <<<"$st")" "stats --id: that container"
cpu=$(jq -r '.stats[0].cpu.usageCoreNanoSeconds.value | tonumber' <<<"$st")
ws=$(jq -r '.stats[0].memory.workingSetBytes.value | tonumber' <<<"$st")
usage=$(jq -r '.stats[0].memory.usageBytes.value | tonumber' <<<"$st")
disk=$(jq -r '.stats[0].writableLayer.usedBytes.value | tonumber' <<<"$st")
inodes=$(jq -r '.stats[0].writableLayer.inodesUsed.value | tonumber' <<<"$st")
memline=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/"$pid"/cgroup)
if [ -n "$memline" ]; then  # cgroup v1 (this host's hybrid mode)
  cg_mem=$(cat "/sys/fs/cgroup/memory$memline/memory.usage_in_bytes")
  cpuline=$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ {print $3}' /proc/"$pid"/cgroup)
  cg_cpu=$(cat /sys/fs/cgroup/cpuacct"$cpuline"/cpuacct.usage 2>/dev/null ||
    cat /sys/fs/cgroup/cpu,cpuacct"$cpuline"/cpuacct.usage)
else  # cgroup v2
  v2=$(awk -F: '$1 == 0 {print $3}' /proc/"$pid"/cgroup)
  cg_mem=$(cat "/sys/fs/cgroup$v2/memory.current")
  cg_cpu=$(($(awk '$1 == "usage_usec" {print $2}' "/sys/fs/cgroup$v2/cpu.stat") * 1000))
fi
[ "$cpu" -gt 100000000 ] && pass "CPU: ${cpu} ns used (> 0.1 s after the busy loop)" || fail "CPU: $cpu ns"
# The loop is over: the figure and the cgroup's may differ only by the sleeps since.
d=$((cpu > cg_cpu ? cpu - cg_cpu : cg_cpu - cpu))
[ $((d * 20)) -le "$cg_cpu" ] && pass "CPU matches the cgroup's ($cg_cpu ns) within 5%" ||
  fail "CPU $cpu ns vs the cgroup's $cg_cpu ns"
[ "$ws" -gt 20000000 ] && pass "memory working set $ws > the 20 MB the shell holds" || fail "working set $ws"
[ "$ws" -le "$usage" ] && pass "working set <= usage ($usage)" || fail "working set $ws > usage $usage"
d=$((usage > cg_mem ? usage - cg_mem : cg_mem - usage))
[ $((d * 10)) -le "$cg_mem" ] && pass "memory usage matches the cgroup's ($cg_mem) within 10%" ||
  fail "memory usage $usage vs the cgroup's $cg_mem"
[ "$disk" -ge 3000000 ] && pass "writable layer: $disk bytes (the 3 MB file)" || fail "writable layer $disk"
[ "$inodes" -gt 0 ] && pass "writable layer inodes: $inodes" || fail "inodes $inodes"
out=$(b stats 2>&1)
assert_match "$(head -n1 <<<"$out")" '^CONTAINER +NAME +CPU % +MEM +DISK +INODES$' "stats: crictl's columns"
assert_match "$out" "${BUSY:0:13} +busy +[0-9]+\.[0-9]{2} +[0-9.]+MB +[0-9.]+MB +[0-9]+" "stats: the busy container's row"
assert_not_contains "$out" "done1" "stats without -a: running containers only"
assert_eq 2 "$(b stats -a -o json -p "$SPOD" | jq '.stats | length')" "stats -a -p: both containers of the pod"
assert_eq 1 "$(b stats -o json -p "$SPOD" | jq '.stats | length')" "stats -p: the running one"
assert_eq "$BUSY" "$(b stats -o json -l ctr=busy | jq -r '.stats[].attributes.id')" "stats -l: by label"
out=$(b stats -o yaml --id "$BUSY" 2>&1)
assert_eq "$BUSY" "$(python3 -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["stats"][0]["attributes"]["id"])' <<<"$out" 2>&1)" \
  "stats -o yaml parses (python3 yaml)"
st=$(b statsp -o json --id "$SPOD" 2>&1)
assert_eq "$SPOD" "$(jq -r '.stats[0].attributes.id' <<<"$st")" "statsp --id: that pod"
assert_eq 2 "$(jq '.stats[0].linux.containers | length' <<<"$st")" "statsp: its two containers"
pws=$(jq -r '.stats[0].linux.memory.workingSetBytes.value | tonumber' <<<"$st")
[ "$pws" -gt 20000000 ] && pass "statsp: the pod's working set $pws holds the container's" || fail "pod working set $pws"
pcpu=$(jq -r '.stats[0].linux.cpu.usageCoreNanoSeconds.value | tonumber' <<<"$st")
[ "$pcpu" -ge "$cpu" ] && pass "statsp: the pod's CPU $pcpu >= the container's" || fail "pod CPU $pcpu < $cpu"
out=$(b statsp 2>&1)
assert_match "$(head -n1 <<<"$out")" '^POD +POD ID +CPU % +MEM +CONTAINERS$' "statsp: columns"
assert_match "$out" "spod +${SPOD:0:13} +[0-9]+\.[0-9]{2} +[0-9.]+MB +2" "statsp: the pod's row"

section "update"
out=$(b update --memory 104857600 --cpu-quota 50000 --cpu-period 100000 "$BUSY" 2>&1); rc=$?
if [ $rc -eq 0 ]; then
  limit=$(cat "/sys/fs/cgroup/memory$memline/memory.limit_in_bytes" 2>/dev/null ||
    cat "/sys/fs/cgroup$v2/memory.max")
  assert_eq 104857600 "$limit" "update --memory: the cgroup's limit"
else
  assert_contains "$out" "UNIMPLEMENTED" "update: berthd answers UNIMPLEMENTED"
  assert_contains "$out" "does not implement UpdateContainerResources" "... and berthctl says so clearly"
  assert_contains "$out" "were not changed" "... and that nothing changed"
fi

section "logs -f across a rotation (mv + reopen-log)"
ctr_json ticker ticker.log 'i=0; while [ $i -lt 25 ]; do echo tick-$i; i=$((i+1)); sleep 0.2; done' \
  >"$TEST_DIR/ticker.json"
TICK=$(b create "$SPOD" "$TEST_DIR/ticker.json" "$TEST_DIR/spod.json" 2>&1) || die "create ticker: $TICK"
b start "$TICK" >/dev/null 2>&1 || fail "start ticker failed"
LOG=$TEST_DIR/logs/spod/ticker.log
"$BERTHCTL" --config /dev/null -r "$ENDPOINT" logs -f "$TICK" >"$TEST_DIR/follow.out" 2>"$TEST_DIR/follow.err" &
F_PID=$!
track_pid "$F_PID"
wait_until 20 grep -q tick-3 "$TEST_DIR/follow.out" || fail "logs -f shows nothing: $(cat "$TEST_DIR/follow.err")"
mv "$LOG" "$LOG.1"
out=$(b reopen-log "$TICK" 2>&1) && pass "reopen-log" || fail "reopen-log: $out"
wait_until 30 sh -c "! kill -0 $F_PID 2>/dev/null" || fail "logs -f did not stop after the container exited"
wait "$F_PID"; rc=$?
assert_eq 0 "$rc" "logs -f exits 0 once the container has exited"
assert_eq "$(seq 0 24 | sed 's/^/tick-/')" "$(cat "$TEST_DIR/follow.out")" \
  "logs -f: every line once, in order, across the rotation"
assert_contains "$(cat "$LOG.1")" "tick-0" "the rotated file has the first lines"
assert_contains "$(cat "$LOG")" "tick-24" "the reopened file has the last"
assert_eq "$(printf 'tick-23\ntick-24')" "$(b logs --tail 2 "$TICK" 2>&1)" "logs --tail 2 reads the current file"
assert_eq "" "$(b logs --since 2099-01-01T00:00:00Z "$TICK" 2>&1)" "logs --since a later time: nothing"
assert_eq "tick-24" "$(b logs --since 1h "$TICK" 2>&1 | tail -n1)" "logs --since 1h: the lines"
out=$(b reopen-log "$TICK" 2>&1)
assert_contains "$out" "FAILED_PRECONDITION" "reopen-log of an exited container: FAILED_PRECONDITION"

section "inspecti, imagefsinfo, -o json/yaml"
out=$(b inspecti "$IMAGE" 2>&1)
assert_eq "$IMAGE_CONFIG" "$(jq -r .status.id <<<"$out")" "inspecti: the image id"
assert_contains "$(jq -r '.status.repoTags[]' <<<"$out")" "$IMAGE" "inspecti: the tag"
assert_eq "[\"sh\"]" "$(jq -c '.. | objects | select(has("Cmd")) | .Cmd' <<<"$out" | head -n1)" \
  "inspecti: the verbose info holds the image config"
out=$(b imagefsinfo 2>&1)
used=$(jq -r '.status.imageFilesystems[0].usedBytes.value | tonumber' <<<"$out")
[ "${used:-0}" -gt 0 ] && pass "imagefsinfo: $used bytes used" || fail "imagefsinfo: $out"
[ "$(jq -r '.status.imageFilesystems[0].inodesUsed.value | tonumber' <<<"$out")" -gt 0 ] &&
  pass "imagefsinfo: inodes used" || fail "imagefsinfo inodes: $out"
assert_contains "$(jq -r '.status.imageFilesystems[0].fsId.mountpoint' <<<"$out")" "$BD/root" \
  "imagefsinfo: the store's mountpoint"
assert_match "$(b imagefsinfo -o table 2>&1)" "image +$BD/root[^ ]* +[0-9.]+[kMG]?B +[0-9]+" "imagefsinfo -o table"
yaml_is_json "pods" pods
yaml_is_json "ps -a" ps -a
yaml_is_json "img ls" img ls
yaml_is_json "inspecti" inspecti "$IMAGE"
yaml_is_json "inspectc" inspectc "$BUSY"
yaml_is_json "imagefsinfo" imagefsinfo
assert_eq "$SPOD" "$(b pods -o json | jq -r '.items[].id')" "pods -o json: the pod"
assert_eq "$BUSY" "$(b ps -o json | jq -r '.containers[].id')" "ps -o json: the running container"
assert_contains "$(b img ls -o json | jq -r '.images[].repoTags[]')" "$IMAGE" "img ls -o json: the image"

section "namespaces: berth-namespace metadata"
pod_json nspod >"$TEST_DIR/nspod.json"
NSPOD=$(b -n other runp "$TEST_DIR/nspod.json" 2>&1) || die "runp -n other: $NSPOD"
assert_eq "$NSPOD" "$(b -n other pods -q 2>&1)" "-n other: its pod is listed there"
assert_not_contains "$(b pods -q 2>&1)" "$NSPOD" "... and not in k8s.io"
assert_not_contains "$(b -n other pods -q 2>&1)" "$SPOD" "k8s.io's pod is not listed in other"
assert_eq "$NSPOD" "$(BERTH_NAMESPACE=other b pods -q 2>&1)" "BERTH_NAMESPACE=other: the same"
assert_eq "$SPOD" "$(BERTH_NAMESPACE=other b -n k8s.io pods -q 2>&1)" "-n wins over BERTH_NAMESPACE"
ctr_json nsctr nsctr.log 'exec sleep 1000' >"$TEST_DIR/nsctr.json"
NSCTR=$(b -n other create "$NSPOD" "$TEST_DIR/nsctr.json" "$TEST_DIR/nspod.json" 2>&1) || die "create -n other: $NSCTR"
assert_eq "$NSCTR" "$(b -n other ps -a -q 2>&1)" "-n other ps: its container"
assert_not_contains "$(b ps -a -q 2>&1)" "$NSCTR" "... not in k8s.io's ps"
assert_contains "$(b inspectp "$NSPOD" 2>&1)" "NOT_FOUND" "k8s.io cannot see other's pod by id"
assert_contains "$(b -n Bad_NS pods 2>&1)" "INVALID_ARGUMENT" "a namespace berthd refuses: INVALID_ARGUMENT"
b -n other rmp -f "$NSPOD" >/dev/null 2>&1 || fail "rmp -n other failed"
assert_eq "" "$(b -n other pods -q 2>&1)" "-n other: the pod is gone"

section "crictl.yaml: flags > environment > file > defaults"
bc() { timeout -k 5 60 "$BERTHCTL" --config /dev/null "$@"; }
NOBODY=unix://$TEST_DIR/nobody.sock
printf '# crictl config\nruntime-endpoint: %s\ntimeout: 20\npull-image-on-create: false\n' "$ENDPOINT" >"$TEST_DIR/good.yaml"
printf 'runtime-endpoint: "%s"\n' "$NOBODY" >"$TEST_DIR/bad.yaml"
printf 'runtime-endpoint: %s\nimage-endpoint: %s\n' "$ENDPOINT" "$NOBODY" >"$TEST_DIR/img.yaml"
printf 'runtime-endpoint: %s\ntimeout: -1\n' "$ENDPOINT" >"$TEST_DIR/timeout.yaml"
printf 'runtime-endpoint: %s\ndebug: true\n' "$ENDPOINT" >"$TEST_DIR/debug.yaml"
printf 'runtime-endpoint:\n  nested: x\n' >"$TEST_DIR/nested.yaml"
assert_contains "$(bc --crictl-config "$TEST_DIR/good.yaml" version 2>&1)" "RuntimeName:  berth" \
  "runtime-endpoint from --crictl-config"
assert_contains "$(CRI_CONFIG_FILE=$TEST_DIR/good.yaml bc version 2>&1)" "RuntimeName:  berth" \
  "... from CRI_CONFIG_FILE"
assert_contains "$(CRI_CONFIG_FILE=$TEST_DIR/bad.yaml bc --crictl-config "$TEST_DIR/good.yaml" version 2>&1)" \
  "RuntimeName:  berth" "--crictl-config wins over CRI_CONFIG_FILE"
assert_contains "$(bc --crictl-config "$TEST_DIR/bad.yaml" -r "$ENDPOINT" version 2>&1)" "RuntimeName:  berth" \
  "-r wins over the file"
assert_contains "$(CONTAINER_RUNTIME_ENDPOINT=$ENDPOINT bc --crictl-config "$TEST_DIR/bad.yaml" version 2>&1)" \
  "RuntimeName:  berth" "CONTAINER_RUNTIME_ENDPOINT wins over the file"
out=$(CONTAINER_RUNTIME_ENDPOINT=$NOBODY bc --crictl-config "$TEST_DIR/good.yaml" version 2>&1)
assert_contains "$out" "on $NOBODY: UNAVAILABLE" "... also when it names a dead socket"
assert_contains "$(CONTAINER_RUNTIME_ENDPOINT=$NOBODY bc --crictl-config "$TEST_DIR/good.yaml" -r "$ENDPOINT" version 2>&1)" \
  "RuntimeName:  berth" "-r wins over CONTAINER_RUNTIME_ENDPOINT"
assert_contains "$(bc --crictl-config "$TEST_DIR/img.yaml" pods 2>&1)" "POD ID" "image-endpoint: pods go to the runtime endpoint"
out=$(bc --crictl-config "$TEST_DIR/img.yaml" img ls 2>&1)
assert_contains "$out" "ListImages on $NOBODY: UNAVAILABLE" "image-endpoint: img ls goes to the image endpoint"
assert_contains "$(bc --crictl-config "$TEST_DIR/img.yaml" --image-endpoint "$ENDPOINT" img ls 2>&1)" "IMAGE ID" \
  "--image-endpoint wins over the file"
assert_contains "$(IMAGE_SERVICE_ENDPOINT=$ENDPOINT bc --crictl-config "$TEST_DIR/img.yaml" img ls 2>&1)" "IMAGE ID" \
  "IMAGE_SERVICE_ENDPOINT wins over the file"
assert_contains "$(bc -r "$ENDPOINT" --crictl-config /dev/null --image-endpoint "$NOBODY" imagefsinfo 2>&1)" \
  "ImageFsInfo on $NOBODY" "--image-endpoint: imagefsinfo goes there"
out=$(bc --crictl-config "$TEST_DIR/timeout.yaml" version 2>&1)
assert_contains "$out" "timeout" "a timeout the file gets wrong is refused, naming it"
assert_contains "$out" "$TEST_DIR/timeout.yaml" "... and the file"
assert_contains "$(bc --crictl-config "$TEST_DIR/timeout.yaml" --timeout 5 version 2>&1)" "RuntimeName:  berth" \
  "--timeout wins over the file"
out=$(bc --crictl-config "$TEST_DIR/debug.yaml" version 2>&1 >/dev/null)
assert_contains "$out" "cri: Version on $ENDPOINT: OK" "debug: true logs each call"
assert_eq "" "$(bc --crictl-config "$TEST_DIR/good.yaml" version 2>&1 >/dev/null)" "... and without it nothing"
out=$(bc --crictl-config "$TEST_DIR/none.yaml" version 2>&1)
assert_contains "$out" "$TEST_DIR/none.yaml" "a --crictl-config file that does not exist is an error"
out=$(bc --crictl-config "$TEST_DIR/nested.yaml" version 2>&1)
assert_contains "$out" "nested.yaml:2" "a file that is not crictl's flat format: an error with its line"

section "no berthd answers"
for ep in "$NOBODY" "$TEST_DIR/nobody.sock"; do
  out=$(bc -r "$ep" --crictl-config /dev/null version 2>&1); rc=$?
  assert_ne 0 "$rc" "version against $ep fails"
  assert_contains "$out" "UNAVAILABLE" "... UNAVAILABLE"
  assert_contains "$out" "no CRI runtime answers on" "... says nothing answers"
  assert_contains "$out" "Is berthd running? Start it with \`berthd --listen" "... and how to start berthd"
done
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TEST_DIR/stale.sock"
out=$(bc -r "unix://$TEST_DIR/stale.sock" --crictl-config /dev/null pods 2>&1)
assert_contains "$out" "no CRI runtime answers on unix://$TEST_DIR/stale.sock (socket: connect $TEST_DIR/stale.sock: Connection refused)" \
  "a stale socket: connection refused, said"
out=$(timeout 20 "$BERTHCTL" --config /dev/null -r "$NOBODY" events 2>&1); rc=$?
assert_eq 1 "$rc" "events against nobody exits 1 at once"
assert_contains "$out" "GetContainerEvents on $NOBODY: UNAVAILABLE" "... naming the stream and the endpoint"
assert_contains "$out" "no CRI runtime answers" "... with the hint"

section "clean up"
for c in $(b ps -a -q); do b rmc -f "$c" >/dev/null 2>&1; done
b rmp -f "$SPOD" >/dev/null 2>&1 || fail "rmp -f spod failed"
assert_eq "" "$(b pods -q 2>&1)" "no pod left in k8s.io"
assert_eq "" "$(b -n other pods -q 2>&1)" "no pod left in other"
berthd_stop
out=$(b pods 2>&1)
assert_contains "$out" "no CRI runtime answers on $ENDPOINT" "after berthd stopped, berthctl says nothing answers"
assert_eq "" "$(shims_of_berthd)" "no shim left"
