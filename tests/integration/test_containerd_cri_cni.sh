#!/bin/bash
# berth under containerd 1.6's CRI plugin with pods on a real CNI network: Debian's
# containernetworking-plugins (bridge + host-local IPAM, and loopback, which the CRI plugin
# always runs for lo). Two pods WITHOUT host network each get an address from the range
# (inspectp's .status.network.ip); a third finds the range used up and leaves nothing. A
# container in each pod sees its address on eth0 and lo up; the pods ping each other and
# talk TCP (busybox nc, both ways; refused once the listener is gone). stopp releases the
# addresses (host-local's reservations) and removes the pods' namespaces and veths; nothing
# is left: berth state, cgroups, mounts, shims, containerd, the test's namespace.
#
# Containment: the bridge plugin makes its bridge and host-side veths in the network
# namespace of the process that runs it, and containerd runs it. So this test's containerd
# runs inside a network namespace the test creates (`ip netns add berth-it-cni-PID`, entered
# with `nsenter --net`, which changes nothing else: mounts and everything else are the
# host's, as in test_containerd_cri.sh). That namespace has only lo and the bridge, no route
# out, and the pods get no default route: traffic stays between the pods and the bridge.
# The pods' namespaces are bind-mounted under containerd's state dir
# (netns_mounts_under_state_dir), host-local's dataDir is under $TEST_DIR, and the CNI
# bin_dir holds symlinks to the three plugins only.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containerd_lib.sh"

PLUGINS=/usr/lib/cni
for plugin in bridge host-local loopback; do
  [ -x "$PLUGINS/$plugin" ] ||
    die "$PLUGINS/$plugin not found: the CNI network needs Debian's containernetworking-plugins (run scripts/install-deps.sh)"
done
for tool in ip nsenter; do
  command -v "$tool" >/dev/null || die "$tool is not installed (iproute2, util-linux: run scripts/install-deps.sh)"
done

cri_init cni
NETNS=berth-it-cni-$$
NET_NAME=berth-it-cni
BRIDGE=berth-cni0         # in $NETNS only
SUBNET_PREFIX=10.77.88    # a /24 that exists only inside $NETNS and the pods
IPAM_DIR=$TEST_DIR/cni/ipam
for plugin in bridge host-local loopback; do
  ln -s "$PLUGINS/$plugin" "$CNI_BIN_DIR/$plugin" || die "symlink $CNI_BIN_DIR/$plugin failed"
done
cat >"$CNI_CONF_DIR/10-berth-it.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "$NET_NAME",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "dataDir": "$IPAM_DIR",
        "ranges": [[{"subnet": "$SUBNET_PREFIX.0/24", "gateway": "$SUBNET_PREFIX.1",
                      "rangeStart": "$SUBNET_PREFIX.2", "rangeEnd": "$SUBNET_PREFIX.3"}]]
      }
    }
  ]
}
JSON
jq -e . "$CNI_CONF_DIR/10-berth-it.conflist" >/dev/null || die "the CNI conflist is not valid JSON"

section "containerd inside the test's own network namespace"
out=$(ip netns add "$NETNS" 2>&1) || die "ip netns add $NETNS failed: $out"
CRI_NETNS=$NETNS  # cri_cleanup deletes it after stopping containerd
ip -n "$NETNS" link set lo up || die "ip -n $NETNS link set lo up failed"
cri_config '  netns_mounts_under_state_dir = true'
cri_start nsenter --net="/run/netns/$NETNS"
assert_eq "$(stat -L -c %i "/run/netns/$NETNS")" "$(stat -L -c %i "/proc/$CONTAINERD_PID/ns/net")" \
  "containerd runs in the test's namespace $NETNS"
out=$(b info 2>&1)
assert_eq true "$(jq -r '.status.conditions[] | select(.type == "NetworkReady") | .status' <<<"$out" 2>/dev/null)" \
  "info: NetworkReady is true (the CRI plugin loaded the conflist)"
cri_images

section "runp: two pods on the CNI network"
declare -A POD IP NS_PATH
for p in a b; do
  pod_json "pod-$p" POD >"$TEST_DIR/pod-$p.json"
  POD[$p]=$(b runp "$TEST_DIR/pod-$p.json" 2>&1)
  [[ ${POD[$p]} =~ ^[0-9a-f]{64}$ ]] && pass "runp pod-$p (network POD) prints the pod id" ||
    die "runp pod-$p failed: ${POD[$p]} $(shim_says)"
  st=$(b inspectp "${POD[$p]}" 2>&1)
  assert_eq SANDBOX_READY "$(jq -r .status.state <<<"$st")" "inspectp pod-$p: SANDBOX_READY"
  IP[$p]=$(jq -r '.status.network.ip // empty' <<<"$st")
  assert_match "${IP[$p]}" "^$SUBNET_PREFIX\.[0-9]+\$" "inspectp pod-$p: .status.network.ip ${IP[$p]} is in $SUBNET_PREFIX.0/24"
  assert_eq POD "$(jq -r .status.linux.namespaces.options.network <<<"$st")" "inspectp pod-$p: network mode POD"
  NS_PATH[$p]=$(jq -r '.info.info.runtimeSpec.linux.namespaces[] | select(.type == "network") | .path // empty' <<<"$st")
  assert_match "${NS_PATH[$p]}" "^$CD/state/.*/cni-[0-9a-f-]+\$" \
    "pod-$p's network namespace is under containerd's state: ${NS_PATH[$p]}"
  assert_eq nsfs "$(findmnt -n -o FSTYPE --mountpoint "${NS_PATH[$p]}" 2>&1)" \
    "pod-$p's network namespace is bind-mounted there (nsfs)"
  assert_eq "$(jq -r .info.info.pid <<<"$st")" "$("$BERTH" --root "$STATE_NS" state "${POD[$p]}" 2>/dev/null | jq -r .pid)" \
    "berth ran pod-$p's sandbox (its state under Root has the pid containerd reports)"
  # host-local's reservation: a file named by the address, holding the sandbox id.
  assert_contains "$(cat "$IPAM_DIR/$NET_NAME/${IP[$p]}" 2>&1)" "${POD[$p]}" \
    "host-local reserved ${IP[$p]} for pod-$p in $IPAM_DIR/$NET_NAME"
done
assert_ne "${IP[a]}" "${IP[b]}" "the two pods got different addresses"
assert_eq 2 "$(ip -n "$NETNS" -o link show type veth 2>/dev/null | grep -c "master $BRIDGE")" \
  "two veths on $BRIDGE in $NETNS"
assert_eq "" "$(ip -o link show "$BRIDGE" 2>/dev/null)" "no $BRIDGE in the host's namespace"

section "error path: a third pod finds the range (two addresses) used up"
pod_json pod-c POD >"$TEST_DIR/pod-c.json"
assert_fails_with "RunPodSandbox on $ENDPOINT: .*no IP addresses available in range set" \
  b runp "$TEST_DIR/pod-c.json"
assert_eq "$(printf '%s\n' "${POD[a]}" "${POD[b]}" | sort)" "$(b pods -q 2>&1 | sort)" \
  "the failed runp left no pod: pods lists pod-a and pod-b only"
assert_eq "$(printf '%s\n' "${POD[a]}" "${POD[b]}" | sort)" "$("$BERTH" --root "$STATE_NS" list -q 2>&1 | sort)" \
  "berth's state holds only the two sandboxes"
assert_eq 2 "$(ip -n "$NETNS" -o link show type veth 2>/dev/null | wc -l)" "the failed runp left no veth in $NETNS"
assert_eq 2 "$(findmnt -rn -t nsfs -o TARGET | grep -cF "$CD/")" "the failed runp left no mounted namespace"
assert_eq "$(printf '%s\n' "${IP[a]}" "${IP[b]}" | sort)" \
  "$(ls "$IPAM_DIR/$NET_NAME" | grep -E '^[0-9.]+$' | sort)" "host-local holds only pod-a's and pod-b's addresses"

section "containers see their pod's network"
declare -A CTR_ID CTR_PID
for p in a b; do
  if [ $p = a ]; then
    script='echo ready; exec sleep 1000'
  else
    # One TCP exchange: sends a line to the client and keeps what the client sends.
    script='echo ready; echo "hello from pod-b" | nc -l -p 7777 >/got; echo served; exec sleep 1000'
  fi
  ctr_json "ctr-$p" "ctr-$p.log" "$script" >"$TEST_DIR/ctr-$p.json"
  CTR_ID[$p]=$(b create "${POD[$p]}" "$TEST_DIR/ctr-$p.json" "$TEST_DIR/pod-$p.json" 2>&1)
  [[ ${CTR_ID[$p]} =~ ^[0-9a-f]{64}$ ]] || die "create ctr-$p failed: ${CTR_ID[$p]} $(shim_says)"
  assert_ok "start ctr-$p" b start "${CTR_ID[$p]}"
  wait_until 10 grep -q ready "$TEST_DIR/logs/pod-$p/ctr-$p.log" || fail "ctr-$p did not print ready"
  out=$(b exec -s "${CTR_ID[$p]}" ip -o -4 addr show dev eth0 2>&1)
  assert_match "$out" "eth0 +inet ${IP[$p]//./\\.}/24 " "ctr-$p sees its pod's address ${IP[$p]}/24 on eth0"
  assert_match "$(b exec -s "${CTR_ID[$p]}" ip -o link show dev lo 2>&1)" "<LOOPBACK,UP" \
    "ctr-$p: lo is up (the loopback plugin)"
  assert_eq "$SUBNET_PREFIX.0/24 dev eth0 scope link  src ${IP[$p]}" \
    "$(b exec -s "${CTR_ID[$p]}" ip -4 route 2>&1 | sed 's/proto kernel //; s/ *$//')" \
    "ctr-$p: the pod's only route is its subnet (no way out of the test's namespaces)"
  CTR_PID[$p]=$("$BERTH" --root "$STATE_NS" state "${CTR_ID[$p]}" 2>/dev/null | jq -r .pid)
  assert_eq "$(stat -L -c %i "${NS_PATH[$p]}" 2>&1)" "$(stat -L -c %i "/proc/${CTR_PID[$p]}/ns/net" 2>&1)" \
    "ctr-$p (pid ${CTR_PID[$p]}, run by berth) is in pod-$p's network namespace"
done
assert_ne "$(stat -L -c %i "/proc/${CTR_PID[a]}/ns/net")" "$(stat -L -c %i /proc/$$/ns/net)" \
  "the containers are not in the host's network namespace"

section "pod to pod: ping and TCP, inside the test's namespaces"
out=$(b exec -s "${CTR_ID[a]}" ping -c 2 -W 2 "${IP[b]}" 2>&1)
assert_match "$out" "2 packets transmitted, 2 packets received" "ctr-a pings pod-b (${IP[b]})"
out=$(b exec -s "${CTR_ID[b]}" ping -c 1 -W 2 "${IP[a]}" 2>&1)
assert_match "$out" "1 packets transmitted, 1 packets received" "ctr-b pings pod-a (${IP[a]})"
# The listener may not be bound yet right after "ready": retry until a connection succeeds.
got=""
for _ in $(seq 50); do
  got=$(b exec -s --timeout 10 "${CTR_ID[a]}" sh -c "echo 'hi from pod-a' | nc -w 3 ${IP[b]} 7777" 2>&1) && [ -n "$got" ] && break
  sleep 0.1
done
assert_eq "hello from pod-b" "$got" "ctr-a connects to pod-b's nc listener on ${IP[b]}:7777 and reads its line"
wait_until 10 grep -q served "$TEST_DIR/logs/pod-b/ctr-b.log" || fail "ctr-b's listener did not finish"
assert_eq "hi from pod-a" "$(b exec -s "${CTR_ID[b]}" cat /got 2>&1)" "pod-b's listener received pod-a's line"
# The listener served once: pod-b's namespace now answers the port with a reset.
assert_fails_with "connection refused" b exec -s --timeout 10 "${CTR_ID[a]}" nc -w 2 "${IP[b]}" 7777

section "stopp releases the addresses and removes the namespaces and veths"
for p in a b; do
  assert_ok "stop ctr-$p" b stop -t 1 "${CTR_ID[$p]}"
  assert_ok "rmc ctr-$p" b rmc "${CTR_ID[$p]}"
  assert_ok "stopp pod-$p" b stopp "${POD[$p]}"
  assert_eq SANDBOX_NOTREADY "$(b inspectp "${POD[$p]}" | jq -r .status.state)" "pod-$p is NotReady"
  [ -e "$IPAM_DIR/$NET_NAME/${IP[$p]}" ] && fail "host-local still reserves ${IP[$p]} after stopp" ||
    pass "stopp released ${IP[$p]} (no reservation file)"
  [ -e "${NS_PATH[$p]}" ] && fail "pod-$p's namespace ${NS_PATH[$p]} is still there after stopp" ||
    pass "stopp removed pod-$p's network namespace ${NS_PATH[$p]}"
done
assert_eq "" "$(ip -n "$NETNS" -o link show type veth 2>&1)" "no veth left in $NETNS"
assert_eq "" "$(ls "$IPAM_DIR/$NET_NAME" 2>&1 | grep -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$')" \
  "host-local holds no reservation in $IPAM_DIR/$NET_NAME"
assert_eq "" "$(findmnt -rn -t nsfs -o TARGET | grep -F "$CD/")" "no pod namespace of this containerd is still mounted"
for p in a b; do assert_ok "rmp pod-$p" b rmp "${POD[$p]}"; done
cri_assert_pods_gone

section "nothing leaked after containerd stops"
cri_stop_and_check "${POD[@]}" "${CTR_ID[@]}"
out=$(ip netns delete "$NETNS" 2>&1)
assert_eq 0 $? "ip netns delete $NETNS: $out"
CRI_NETNS=""
assert_eq "" "$(ip netns list | grep -w "$NETNS")" "the test's namespace $NETNS is gone"
assert_eq "" "$(ls -A "$CD/state/io.containerd.grpc.v1.cri/netns" 2>/dev/null)" "no pod namespace file left"
