#!/bin/bash
# The command line: --version, spec (and --rootless), features, single-dash long options,
# --log/--log-format json, ps, and list's table.
source "$(dirname "$0")/lib.sh"

section "--version"
out=$("$BERTH" --version 2>&1)
assert_eq 0 $? "--version exits 0"
assert_match "$out" 'version [0-9]+\.[0-9]+' "--version prints a version number"
assert_match "$out" 'spec: [0-9]+\.[0-9]+' "--version prints the runtime-spec version"

section "spec"
mkdir -p "$TEST_DIR/spec1" "$TEST_DIR/spec2" "$TEST_DIR/spec3"
assert_ok "spec -b DIR" "$BERTH" spec -b "$TEST_DIR/spec1"
c=$TEST_DIR/spec1/config.json
assert_eq true "$(jq -e 'type == "object"' "$c" 2>&1)" "spec writes a JSON object to DIR/config.json"
assert_eq '["sh"]' "$(jq -c .process.args "$c")" "default args are [sh]"
assert_eq rootfs "$(jq -r .root.path "$c")" "default root.path is rootfs"
assert_eq true "$(jq -r .process.terminal "$c")" "default spec asks for a terminal"
assert_match "$(jq -r .ociVersion "$c")" '^1\.[0-9]+\.[0-9]+' "ociVersion is 1.x.y"
assert_eq "ipc mount network pid uts" "$(jq -r '[.linux.namespaces[].type] | sort | join(" ")' "$c")" \
  "default namespaces: pid network ipc uts mount"
assert_fails_with 'exist|config.json' "$BERTH" spec -b "$TEST_DIR/spec1"
(cd "$TEST_DIR/spec2" && "$BERTH" spec) >/dev/null 2>&1
assert_eq true "$(jq -e .process "$TEST_DIR/spec2/config.json" >/dev/null 2>&1 && echo true)" "spec without -b writes ./config.json"
assert_ok "spec --rootless" "$BERTH" spec --rootless -b "$TEST_DIR/spec3"
r=$TEST_DIR/spec3/config.json
assert_eq true "$(jq '[.linux.namespaces[].type] | index("user") != null' "$r")" "rootless spec has a user namespace"
assert_eq false "$(jq '[.linux.namespaces[].type] | index("network") != null' "$r")" "rootless spec has no network namespace"
assert_eq "0 $(id -u) 1" "$(jq -r '.linux.uidMappings[0] | "\(.containerID) \(.hostID) \(.size)"' "$r")" "rootless uid mapping 0 -> caller"
assert_eq "0 $(id -g) 1" "$(jq -r '.linux.gidMappings[0] | "\(.containerID) \(.hostID) \(.size)"' "$r")" "rootless gid mapping 0 -> caller"

section "features"
f=$("$BERTH" features 2>&1)
assert_eq 0 $? "features exits 0"
assert_match "$(jq -r .ociVersionMin <<<"$f" 2>&1)" '^1\.[0-9]+\.[0-9]+' "features has ociVersionMin"
assert_match "$(jq -r .ociVersionMax <<<"$f" 2>&1)" '^1\.[0-9]+\.[0-9]+' "features has ociVersionMax"
assert_eq "createContainer createRuntime poststart poststop prestart startContainer" \
  "$(jq -r '.hooks | sort | join(" ")' <<<"$f" 2>&1)" "features lists the six hooks"
assert_contains "$(jq -r '.linux.namespaces | join(" ")' <<<"$f" 2>&1)" "cgroup" "features lists namespaces"
assert_contains "$(jq -r '.linux.capabilities | join(" ")' <<<"$f" 2>&1)" "CAP_SYS_ADMIN" "features lists capabilities"
# berth-specific: berth implements runtime-spec 1.2.
if berth_specific "features ociVersionMax is 1.2.x"; then
  assert_match "$(jq -r .ociVersionMax <<<"$f")" '^1\.2\.' "ociVersionMax is 1.2.x"
fi

section "single-dash long options"
b=$(make_bundle sleep 1000)
run_detached "$b"
id=$ID
assert_contains "$("$BERTH" -root "$STATE" list -q 2>&1)" "$id" "-root DIR list -q"
assert_eq running "$("$BERTH" -root "$STATE" state "$id" 2>&1 | jq -r .status 2>&1)" "-root DIR state"
assert_eq running "$("$BERTH" -root "$STATE" list -format json 2>&1 | jq -r ".[] | select(.id == \"$id\") | .status" 2>&1)" \
  "list -format json"

section "list table"
table=$(rt list)
assert_eq "ID PID STATUS BUNDLE CREATED OWNER" "$(head -n1 <<<"$table" | tr -s ' ' | sed 's/ $//')" "list prints the table header"
pid=$(ctr_pid "$id")
row=$(awk -v id="$id" '$1 == id' <<<"$table")
assert_eq "$id $pid running $b" "$(awk '{print $1, $2, $3, $4}' <<<"$row")" "list row: id pid status bundle"
assert_match "$row" ' [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+' "list row: creation time (RFC 3339)"
assert_match "$row" ' root$' "list row: owner root"
lj=$(rt list --format json)
assert_match "$(jq -r ".[] | select(.id == \"$id\") | .created" <<<"$lj")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "list --format json: created"
assert_eq root "$(jq -r ".[] | select(.id == \"$id\") | .owner" <<<"$lj")" "list --format json: owner"

section "ps"
b2=$(make_bundle sh -c 'sleep 1000 & sleep 1001 & wait')
run_detached "$b2"
id2=$ID
pid2=$(ctr_pid "$id2")
wait_until 5 sh -c "pgrep -P $pid2 | wc -l | grep -qx 2"
children=$(pgrep -P "$pid2" | sort -n | tr '\n' ' ' | sed 's/ $//')
ps_json=$(rt ps --format json "$id2")
assert_eq "$(echo $pid2 $children | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')" \
  "$(jq -r 'sort | map(tostring) | join(" ")' <<<"$ps_json" 2>&1)" "ps --format json lists exactly the container's host pids"
ps_table=$(rt ps "$id2")
assert_match "$(head -n1 <<<"$ps_table")" 'PID' "ps prints a header with PID"
for p in $pid2 $children; do
  assert_match "$ps_table" "(^|[^0-9])$p([^0-9]|\$)" "ps table lists pid $p"
done
assert_eq "" "$(grep -Ew "$pid" <<<"$ps_table")" "ps does not list the other container's init"
rt delete --force "$id2"

section "--log and --log-format json"
log=$TEST_DIR/runtime.log
"$BERTH" --root "$STATE" --log "$log" --log-format json state no-such-container >/dev/null 2>&1
assert_ne 0 $? "state of a missing container fails"
assert_eq true "$(test -s "$log" && echo true)" "--log FILE received the error"
bad=$(jq -c 'select((has("level") and has("msg") and has("time")) | not)' "$log" 2>&1)
assert_eq "" "$bad" "every log line is JSON with level, msg and time"
assert_eq error "$(jq -r 'select(.level == "error") | .level' "$log" 2>/dev/null | head -n1)" "the error is logged at level error"
"$BERTH" --root "$STATE" --log "$TEST_DIR/text.log" --log-format text state no-such-container >/dev/null 2>&1
assert_match "$(cat "$TEST_DIR/text.log" 2>&1)" 'level=error' "--log-format text writes level=error"

rt delete --force "$id"

section "--systemd-cgroup"
# berth has no systemd driver: it warns, naming the directory it manages through cgroupfs
# instead, and refuses a cgroupsPath that the systemd driver would refuse.
if berth_specific "--systemd-cgroup without systemd (runc needs a running systemd)"; then
  slice=berthtest$$.slice
  on_exit "find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -depth -type d -path '*/$slice*' -exec rmdir {} +"
  b=$(BUNDLE_JQ=".linux.cgroupsPath = \"$slice:bt:$$\"" make_bundle true)
  id=$(new_id)
  out=$(rt --systemd-cgroup run --bundle "$b" "$id" </dev/null 2>&1)
  assert_eq 0 $? "--systemd-cgroup run with a slice:prefix:name cgroupsPath exits 0"
  assert_match "$out" "systemd.*/$slice/bt-$$\.scope" "the warning names the cgroupfs directory used instead"
  assert_eq 1 "$(grep -c systemd <<<"$out")" "the warning is printed once"
  # The state records which parents create made: the slice goes too.
  assert_eq "" "$(find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -path "*/$slice*")" \
    "delete removes the scope and the slice it made in every hierarchy"
  b=$(BUNDLE_JQ='.linux.cgroupsPath = "/plain/path"' make_bundle true)
  id=$(new_id)
  assert_fails_with 'systemd-cgroup.*cgroupsPath.*slice:prefix:name' rt --systemd-cgroup create --bundle "$b" "$id"
  assert_nothing_left "$id" "--systemd-cgroup with a plain cgroupsPath"
  assert_eq "" "$(find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name plain)" "no /plain cgroup was created"
fi
