#!/bin/bash
# bench/load.sh — berthd and containerd 1.6's CRI plugin under the same load, one after the
# other: LOAD_CLIENTS (50) clients for LOAD_SECONDS (60) issuing ListPodSandbox,
# ListContainers, ContainerStatus, ListContainerStats and ExecSync while two threads start and
# remove pods (berth-cri-bench load): p50/p99 of each call, the answers by code (NOT_FOUND and
# FAILED_PRECONDITION for containers removed or stopping meanwhile are expected; anything
# else is counted as unexpected), what is left. The set-up is bench/cri.sh's `load` step.
#   sudo bench/load.sh
#   sudo LOAD_CLIENTS=20 LOAD_SECONDS=20 bench/load.sh
exec env STEPS=load "$(dirname "${BASH_SOURCE[0]}")/cri.sh" "$@"
