#!/bin/bash
# berth's CNI client (src/cni) with Debian's real plugins (bridge, host-local, portmap,
# loopback), driven by berth-cni-ctl (data/cni_ctl.cc) as berthd will drive it: two pods
# get addresses from the test's own subnet, lo is up, they ping each other, a hostPort on
# 127.0.0.1 reaches a listener in a pod (portmap), CHECK passes (and fails once the pod's
# address is gone), DEL twice succeeds, and afterwards no veth, host-local reservation,
# portmap rule or cache file of the pod remains. A caller killed right after Setup, and a
# lost cache, are torn down as well. Missing configs and plugins are clear errors.
#
# Containment: the plugins make the bridge, the host-side veths and the iptables rules in
# the network namespace of the process that runs them. berth-cni-ctl runs (`ip netns exec`)
# in a "node" namespace the test creates, standing for the host berthd runs in, so the
# bridge, its subnet, ip_forward and the NAT rules exist only there and go with it; the
# pods' namespaces are `ip netns add`ed too. host-local's dataDir and the result cache are
# under $TEST_DIR. No traffic leaves the test's namespaces.
source "$(dirname "$0")/lib.sh"

PLUGINS=/usr/lib/cni
for plugin in bridge host-local portmap loopback; do
  [ -x "$PLUGINS/$plugin" ] ||
    die "$PLUGINS/$plugin not found: install containernetworking-plugins (scripts/install-deps.sh)"
done
for tool in ip iptables-save busybox jq; do
  command -v "$tool" >/dev/null || die "$tool is not installed (run scripts/install-deps.sh)"
done
CTL=${BERTH_BUILD_DIR:-$(dirname "$BERTH")}/tests/berth-cni-ctl
[ -x "$CTL" ] || die "$CTL not built (ninja -C build berth-cni-ctl)"

NODE=berth-it-cni-node-$$
NS_A=berth-it-cni-a-$$
NS_B=berth-it-cni-b-$$
NS_C=berth-it-cni-c-$$
NS_F=berth-it-cni-f-$$
NET=berth-it-cni-$$
NET2=berth-it-cni2-$$
BRIDGE=bcni$$   # in $NODE only (<= 15 characters)
BRIDGE2=bcnx$$
SUBNET=10.66.91  # /24s that exist only inside the test's namespaces
SUBNET2=10.66.92
CONF=$TEST_DIR/conf
CONF2=$TEST_DIR/conf2
CACHE=$TEST_DIR/cache
IPAM=$TEST_DIR/ipam
mkdir -p "$CONF" "$CONF2" "$TEST_DIR/empty"

ctl() { timeout -k 5 90 ip netns exec "$NODE" "$CTL" --conf-dir "$CONF" --cache-dir "$CACHE" "$@"; }
ctl2() { timeout -k 5 90 ip netns exec "$NODE" "$CTL" --conf-dir "$CONF2" --cache-dir "$CACHE" "$@"; }
# host-local's reservations: files named by the address, holding the container id.
reservations() { ls "$IPAM/$1" 2>/dev/null | grep -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' | sort; }
# portmap's rules for one container (their comment names it) in the node's nat table.
portmap_rules() { ip netns exec "$NODE" iptables-save -t nat 2>/dev/null | grep -cF "id: \\\"$1\\\""; }
veths() { ip -n "$NODE" -o link show type veth 2>/dev/null | grep -c "master $1 "; }

section "namespaces: a node and four pods"
for ns in "$NODE" "$NS_A" "$NS_B" "$NS_C" "$NS_F"; do
  out=$(ip netns add "$ns" 2>&1) || die "ip netns add $ns failed: $out"
  on_exit ip netns delete "$ns"
done
ip -n "$NODE" link set lo up || die "ip -n $NODE link set lo up failed"

cat >"$CONF/10-it.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "$NET",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "dataDir": "$IPAM",
              "ranges": [[{"subnet": "$SUBNET.0/24", "gateway": "$SUBNET.1"}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
  ]
}
JSON
# The same without portmap: Debian's portmap 1.1.1 fails CHECK on IPv4-only pods (it looks
# for ip6tables rules it never made: containernetworking/plugins#819), so CHECK is tested
# on bridge + host-local, with a range of one address (the second pod finds it used up).
cat >"$CONF2/10-it2.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "$NET2",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE2", "isGateway": true,
     "ipam": {"type": "host-local", "dataDir": "$IPAM", "ranges": [[{"subnet": "$SUBNET2.0/24", "rangeStart": "$SUBNET2.2", "rangeEnd": "$SUBNET2.2"}]]}}
  ]
}
JSON

section "config: status, and the NetworkReady reason when there is none"
assert_eq "ok $CONF/10-it.conflist" "$(ctl status 2>&1)" "status: the conf dir's conflist is loaded"
assert_fails_with "no network config found in $TEST_DIR/empty" \
  ip netns exec "$NODE" "$CTL" --conf-dir "$TEST_DIR/empty" --cache-dir "$CACHE" status
assert_fails_with "no network config found in $TEST_DIR/nope .*NOT_FOUND" \
  ip netns exec "$NODE" "$CTL" --conf-dir "$TEST_DIR/nope" --cache-dir "$CACHE" status

section "setup: two pods on the bridge"
ID_A=cni-a-$$
ID_B=cni-b-$$
declare -A IP
for p in A B; do
  id_var=ID_$p ns_var=NS_$p
  id=${!id_var} ns=${!ns_var}
  args=(setup "$id" "/run/netns/$ns" --k8s "default/pod-$p/uid-$p")
  [ $p = A ] && args+=(--port "18080:8080@127.0.0.1")
  out=$(ctl "${args[@]}" 2>&1) || die "setup pod $p failed: $out"
  IP[$p]=$(jq -r .ip <<<"$out")
  assert_match "${IP[$p]}" "^$SUBNET\.[0-9]+\$" "pod $p got ${IP[$p]} from $SUBNET.0/24"
  assert_eq "$SUBNET.1" "$(jq -r '.result.ips[0].gateway' <<<"$out")" "pod $p's result names the gateway"
  assert_match "$(ip -n "$ns" -o -4 addr show dev eth0 2>&1)" "inet ${IP[$p]//./\\.}/24 " \
    "pod $p has ${IP[$p]}/24 on eth0 in its namespace"
  assert_match "$(ip -n "$ns" -o link show dev lo 2>&1)" "<LOOPBACK,UP" "pod $p: lo is UP (loopback plugin)"
  assert_contains "$(cat "$IPAM/$NET/${IP[$p]}" 2>&1)" "$id" "host-local reserved ${IP[$p]} for $id"
  [ -s "$CACHE/$NET-$id-eth0" ] && pass "the ADD result is cached in $CACHE/$NET-$id-eth0" ||
    fail "no cache file $CACHE/$NET-$id-eth0"
  assert_eq "${IP[$p]}/24" "$(jq -r '.result.ips[0].address' "$CACHE/$NET-$id-eth0" 2>&1)" \
    "the cached result holds pod $p's address"
done
assert_ne "${IP[A]}" "${IP[B]}" "the pods got different addresses"
assert_eq 2 "$(veths "$BRIDGE")" "two veths on $BRIDGE in the node namespace"
assert_eq "" "$(ip -o link show "$BRIDGE" 2>/dev/null)" "no $BRIDGE in the host's namespace"

section "traffic: pod to pod, and a hostPort on the node's 127.0.0.1"
assert_match "$(ip netns exec "$NS_A" busybox ping -c 1 -W 2 "${IP[B]}" 2>&1)" "1 packets received" \
  "pod A pings pod B (${IP[B]})"
assert_match "$(ip netns exec "$NS_B" busybox ping -c 1 -W 2 "${IP[A]}" 2>&1)" "1 packets received" \
  "pod B pings pod A (${IP[A]})"
assert_eq 1 "$(portmap_rules "$ID_A")" "portmap made pod A's DNAT rule in the node namespace"
ip netns exec "$NS_A" busybox nc -l -p 8080 -e echo hello-from-pod-a >/dev/null 2>&1 &
track_pid $!
got=""
for _ in $(seq 50); do
  got=$(timeout 5 ip netns exec "$NODE" busybox nc -w 2 127.0.0.1 18080 </dev/null 2>/dev/null) && [ -n "$got" ] && break
  sleep 0.1
done
assert_eq "hello-from-pod-a" "$got" "127.0.0.1:18080 on the node reaches pod A's listener on 8080"

section "check"
ID_C=cni-c-$$
out=$(ctl2 setup "$ID_C" "/run/netns/$NS_C" 2>&1) || die "setup pod C on $NET2 failed: $out"
IP_C=$(jq -r .ip <<<"$out")
assert_match "$IP_C" "^$SUBNET2\." "pod C got $IP_C on the second network"
assert_ok "CHECK of pod C (bridge, host-local, loopback)" ctl2 check "$ID_C" "/run/netns/$NS_C"
# A failed ADD in the middle of the chain is undone: bridge made the veth, host-local failed.
ID_F=cni-f-$$
assert_fails_with "CNI ADD bridge for container $ID_F .*no IP addresses available" \
  ctl2 setup "$ID_F" "/run/netns/$NS_F"
assert_eq 1 "$(veths "$BRIDGE2")" "the failed ADD left no veth on $BRIDGE2 (pod C's only)"
assert_eq "" "$(ip -n "$NS_F" -o link show dev eth0 2>/dev/null)" "nor an eth0 in its namespace"
assert_eq "" "$(ls "$CACHE" | grep -F -- "-$ID_F-")" "nor a cache file (lo's undone too)"
assert_eq "$IP_C" "$(reservations "$NET2")" "host-local still holds pod C's address only"
ip -n "$NS_C" addr flush dev eth0
assert_fails_with "CNI CHECK bridge for container $ID_C .*$IP_C" ctl2 check "$ID_C" "/run/netns/$NS_C"
assert_ok "teardown of pod C" ctl2 teardown "$ID_C" "/run/netns/$NS_C"
assert_eq "" "$(reservations "$NET2")" "pod C's address released"
assert_fails_with "no cached ADD result" ctl2 check "$ID_C" "/run/netns/$NS_C"

section "teardown twice"
assert_ok "teardown of pod A" ctl teardown "$ID_A" "/run/netns/$NS_A"
assert_ok "teardown of pod A again" ctl teardown "$ID_A" "/run/netns/$NS_A"
assert_eq 1 "$(veths "$BRIDGE")" "pod A's veth is gone (pod B's remains)"
assert_eq "" "$(ip -n "$NS_A" -o link show dev eth0 2>/dev/null)" "pod A has no eth0"
assert_eq "${IP[B]}" "$(reservations "$NET")" "host-local holds only pod B's address"
assert_eq 0 "$(portmap_rules "$ID_A")" "pod A's portmap rule is gone"
assert_eq "" "$(ls "$CACHE" | grep -F -- "-$ID_A-")" "pod A's cache files are gone"
# The port is the node's own again: a listener there answers (a DNAT left behind would
# send the connection to pod A's address, where nothing listens).
ip netns exec "$NODE" busybox nc -l -p 18080 -e echo hello-from-node >/dev/null 2>&1 &
track_pid $!
got=""
for _ in $(seq 50); do
  got=$(timeout 5 ip netns exec "$NODE" busybox nc -w 2 127.0.0.1 18080 </dev/null 2>/dev/null) && [ -n "$got" ] && break
  sleep 0.1
done
assert_eq "hello-from-node" "$got" "127.0.0.1:18080 reaches the node's own listener after teardown"
assert_ok "teardown of a pod never set up" ctl teardown "never-$$" "/run/netns/$NS_A"

section "teardown after the caller was killed right after setup"
ID_D=cni-d-$$
ctl setup "$ID_D" "/run/netns/$NS_A" --port 18081:8081 --crash >/dev/null 2>&1
assert_eq 137 $? "the caller died of SIGKILL after Setup"
IP_D=$(jq -r '.result.ips[0].address' "$CACHE/$NET-$ID_D-eth0" 2>/dev/null)
IP_D=${IP_D%/*}
assert_match "$IP_D" "^$SUBNET\." "its result was cached before Setup returned ($IP_D)"
assert_eq 1 "$(portmap_rules "$ID_D")" "its portmap rule is there"
# A new caller that knows only the id: the cache gives config, args, port mappings, result.
assert_ok "teardown by a new process" ctl teardown "$ID_D"
assert_eq "${IP[B]}" "$(reservations "$NET")" "the killed caller's address is released"
assert_eq 0 "$(portmap_rules "$ID_D")" "and its portmap rule removed"
assert_eq 1 "$(veths "$BRIDGE")" "and its veth"
assert_eq "" "$(ls "$CACHE" | grep -F -- "-$ID_D-")" "and its cache files"

section "teardown with the cache lost"
ID_E=cni-e-$$
out=$(ctl setup "$ID_E" "/run/netns/$NS_A" --port 18082:8082 2>&1) || fail "setup of pod E failed: $out"
rm -f "$CACHE"/*"-$ID_E-"*
# No prevResult: plugins release what they hold by container id; portmap needs the
# mappings, which berthd has in its own pod record.
assert_ok "teardown without a cache entry" ctl teardown "$ID_E" "/run/netns/$NS_A" --port 18082:8082
assert_eq "${IP[B]}" "$(reservations "$NET")" "pod E's address is released"
assert_eq 0 "$(portmap_rules "$ID_E")" "pod E's portmap rule is gone"
assert_eq 1 "$(veths "$BRIDGE")" "pod E's veth is gone"

section "errors"
cat >"$TEST_DIR/empty/10-missing.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "missing", "plugins": [{"type": "nosuchplugin-$$"}]}
JSON
assert_fails_with "nosuchplugin-$$.* in $PLUGINS" \
  ip netns exec "$NODE" "$CTL" --conf-dir "$TEST_DIR/empty" --cache-dir "$CACHE" setup x-$$ "/run/netns/$NS_A"
assert_eq "" "$(ls "$CACHE" | grep -F -- "-x-$$-")" "a setup with a missing plugin leaves no cache file"
ID_G=cni-g-$$
assert_fails_with "CNI ADD loopback for container $ID_G .*nonexistent-$$" \
  ctl setup "$ID_G" "/run/netns/nonexistent-$$"
assert_eq "${IP[B]}" "$(reservations "$NET")" "a failed ADD (no such namespace) holds no address"

section "nothing left after the last teardown"
assert_ok "teardown of pod B" ctl teardown "$ID_B" "/run/netns/$NS_B"
assert_eq 0 "$(veths "$BRIDGE")" "no veth on $BRIDGE"
assert_eq "" "$(reservations "$NET")" "host-local holds no address"
assert_eq "" "$(ip netns exec "$NODE" iptables-save -t nat | grep -E '^:CNI-DN-|^-A CNI-DN-')" \
  "no per-pod portmap chain in the node namespace"
assert_eq "" "$(ls -A "$CACHE")" "the cache dir is empty"
for ns in "$NS_A" "$NS_B" "$NS_C" "$NS_F" "$NODE"; do
  out=$(ip netns delete "$ns" 2>&1)
  assert_eq 0 $? "ip netns delete $ns $out"
done
assert_eq "" "$(ip netns list | grep -F -- "-$$")" "the test's namespaces are gone"
