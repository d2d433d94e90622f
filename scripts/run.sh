#!/bin/sh
# The main job. kvmkit's full host (switch + storage + VMs, issue "The whole
# host") is not built yet; until it is, `make run` shows what exists: the
# kvmkit CLI, and the shared runtime's rings measured against DPDK's on this
# machine (one round; `make bench` runs more).
set -eu
cd "$(dirname "$0")/.."
echo "== $(build/apps/kvmkit --version)"
build/apps/kvmkit --help
echo
echo "== lib/core rings vs DPDK rte_ring (one round; see docs/benchmarks.md)"
exec python3 bench/ring/compare.py --rounds 1 --json build/ring-run.json "$@"
