#!/bin/bash
# Setup+Teardown timing of berth::cni with bridge + host-local + portmap (docs/cni.md), as
# root: a node and a pod namespace of its own (bridge bbench0, 10.66.93.0/24 exist only in
# them), RUNS (20) pods one after another, the median. DEBUG=1 logs each plugin's duration.
#   tests/integration/data/cni_bench.sh      (CTL=path/to/berth-cni-ctl, default build/)
set -e
CTL=${CTL:-${BERTH_BUILD_DIR:-build}/tests/berth-cni-ctl}
T=$(mktemp -d /tmp/cni-bench.XXXXXX); N=cnibench-node-$$; P=cnibench-pod-$$
trap 'ip netns del $N 2>/dev/null; ip netns del $P 2>/dev/null; rm -rf $T' EXIT
ip netns add $N; ip netns add $P; ip -n $N link set lo up
mkdir -p $T/conf
cat > $T/conf/10-bench.conflist <<JSON
{"cniVersion":"1.0.0","name":"bench","plugins":[
 {"type":"bridge","bridge":"bbench0","isGateway":true,"ipMasq":true,"hairpinMode":true,
  "ipam":{"type":"host-local","dataDir":"$T/ipam","ranges":[[{"subnet":"10.66.93.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}},
 {"type":"portmap","capabilities":{"portMappings":true},"snat":true}]}
JSON
C="ip netns exec $N $CTL ${DEBUG:+--debug} --conf-dir $T/conf --cache-dir $T/cache"
$C bench 3 /run/netns/$P --port 18085:80 >/dev/null 2>&1  # warm-up (bridge created, caches)
show() { if [ -n "${DEBUG:-}" ]; then cat; else tail -1; fi; }
echo "== with lo (PodNetworking: loopback + bridge + portmap)"; $C bench ${RUNS:-20} /run/netns/$P --port 18085:80 2>&1 | show
echo "== the conflist only (Network)"; $C bench ${RUNS:-20} /run/netns/$P --port 18085:80 --no-lo 2>&1 | show
