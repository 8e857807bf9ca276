#!/bin/bash
# bench/churn.sh — pod churn on berthd and containerd 1.6's CRI plugin, side by side:
# CHURN_ROUNDS (1,000) pod lifecycles on a CNI bridge, each with a log line and an ExecSync,
# from one client (berth-cri-bench churn); the time per lifecycle and its ratio, the daemon's
# fds/threads/RSS before and after, and what is left. The set-up (images, registry, network
# namespace, both daemons) is bench/cri.sh's; this runs its `churn` step alone.
#   sudo bench/churn.sh
#   sudo CHURN_ROUNDS=200 bench/churn.sh
exec env STEPS=churn "$(dirname "${BASH_SOURCE[0]}")/cri.sh" "$@"
