#!/bin/sh
# Run every benchmark, each side by side with its anchor. Results go to
# bench/results/<name>.json; each prints a table and a one-line summary.
set -eu
cd "$(dirname "$0")/.."
python3 bench/ring/compare.py --rounds "${ROUNDS:-5}"
python3 bench/vhost/compare.py --rounds "${VHOST_ROUNDS:-3}"
python3 bench/pkt/compare.py --rounds "${PKT_ROUNDS:-3}"
python3 bench/image/compare.py
python3 bench/blk/vhost.py --rounds "${BLK_ROUNDS:-3}"
python3 bench/blk/nbd.py --rounds "${BLK_ROUNDS:-3}"
# Switches: kvmkit-switchd (once it exists) vs OVS-DPDK vs dpdk-testpmd; about
# 3 s per run plus start-up, 3 switches x 34 cases x rounds (~35 min at 3 rounds).
python3 bench/switch/switch.py --rounds "${SWITCH_ROUNDS:-3}"
# OpenFlow flow-mods: kvmkit-switchd vs Open vSwitch, 100,000 flows (~1 min per round).
python3 bench/openflow/flowmod.py --rounds "${OPENFLOW_ROUNDS:-3}"
python3 bench/openflow/flowmod.py --rounds "${OPENFLOW_ROUNDS:-3}" --protocol OpenFlow10 \
    --out bench/results/openflow-of10
# Reading disk images: kvmkit's virt-* tools vs libguestfs's (appliance under TCG
# here: ~50 s per libguestfs command, 8 operations, ~7 min per libguestfs round).
python3 bench/guestfs/guestfs.py --rounds "${GUESTFS_ROUNDS:-5}" \
    --libguestfs-rounds "${GUESTFS_LIBGUESTFS_ROUNDS:-2}"
