#!/usr/bin/env python3
"""kvmkit rings against DPDK's rte_ring, on this machine, in one run.

Runs DPDK's ring_perf_autotest (dpdk-test, from Debian's dpdk-dev) and
kvmkit's bench/ring_perf alternately for --rounds rounds, takes the median
of the rounds for each case and side, and reports each case side by side
with the ratio

    speedup = DPDK cycles / kvmkit cycles   (> 1: kvmkit is faster)
    speedup = kvmkit count / DPDK count     (all-cores case)

dpdk-test's two-core and all-core cases run once for a few milliseconds, so
on a shared VM they swing several-fold between runs. bench/ring_pair links
DPDK's librte_ring beside kvmkit's ring and alternates the two, trial by
trial, reporting medians; its rows ("same harness, median: ...") are the
steadier comparison for those cases.

Writes JSON to --json and prints a table and a one-line summary.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

# DPDK 22.11 prints "legacy APIs: SP/SC: single: 54.33" etc.; the section
# header tells which measurement a line belongs to.
SECTIONS = {
    "### Testing single element enq/deq ###": "single",
    "### Testing burst enq/deq ###": "burst",
    "### Testing bulk enq/deq ###": "bulk",
    "### Testing empty bulk deq ###": "empty",
    "### Testing using two physical cores ###": "two cores",
    "### Testing using two hyperthreads ###": "two cores",
    "### Testing using two NUMA nodes ###": "two numa",
    "### Testing using all worker nodes ###": "all cores",
}

LEGACY = re.compile(r"^legacy APIs: (SP/SC|MP/MC): (single|burst|bulk)(?: \(size: (\d+)\))?: ([\d.]+)")
TOTAL = re.compile(r"^Total count \(size: (\d+)\): (\d+)")
OURS = re.compile(r"^kvmkit: ([^:]+): (.*): ([\d.]+)$")
PAIR = re.compile(r"^pair: (.*): dpdk=([\d.]+) kvmkit=([\d.]+)$")


def case_name(section, mode, kind, size):
    if section == "single":
        return "single: %s" % mode
    if section in ("burst", "bulk"):
        return "%s: %s (size: %s)" % (section, mode, size)
    return "%s: %s %s (size: %s)" % (section, mode, kind, size)


def parse_dpdk(text):
    out = {}
    section = None
    in_legacy = True
    for line in text.splitlines():
        line = line.strip()
        if line in SECTIONS:
            section = SECTIONS[line]
            continue
        if line.startswith("elem APIs"):
            in_legacy = False  # only the pointer (legacy) API compares to ours
        m = LEGACY.match(line)
        if m and section:
            mode, kind, size, value = m.groups()
            out[case_name(section, mode, kind, size)] = float(value)
            continue
        m = TOTAL.match(line)
        if m and section == "all cores" and in_legacy:
            out["all cores: MP/MC bulk count (size: %s)" % m.group(1)] = float(m.group(2))
    return out


def parse_ours(text):
    out = {}
    for line in text.splitlines():
        m = OURS.match(line.strip())
        if m:
            section, rest, value = m.groups()
            out["%s: %s" % (section, rest)] = float(value)
    return out


def parse_pair(text):
    dpdk, ours = {}, {}
    for line in text.splitlines():
        m = PAIR.match(line.strip())
        if m:
            case = "same harness, median: " + m.group(1)
            dpdk[case] = float(m.group(2))
            ours[case] = float(m.group(3))
    return dpdk, ours


def run(cmd, stdin=None, timeout=1200):
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.exit("%s failed (%d):\n%s%s" % (cmd[0], p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ours", default="build/bench/ring_perf")
    ap.add_argument("--dpdk", default="dpdk-test")
    ap.add_argument("--pair", default="build/bench/ring_pair",
                    help="same-harness two-core comparison (skipped if missing)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", default="bench/results/ring.json")
    args = ap.parse_args()

    seen_dpdk, seen_ours = {}, {}
    dpdk_cmd = [args.dpdk, "--no-huge", "-m", "256", "--no-pci", "-l", "0-1",
                "--file-prefix", "kvmkit-bench-%d" % os.getpid()]
    for r in range(args.rounds):
        print("round %d/%d: DPDK ring_perf_autotest ..." % (r + 1, args.rounds), flush=True)
        d = parse_dpdk(run(dpdk_cmd, stdin="ring_perf_autotest\nquit\n"))
        print("round %d/%d: kvmkit ring_perf ..." % (r + 1, args.rounds), flush=True)
        o = parse_ours(run([args.ours]))
        if os.path.exists(args.pair):
            print("round %d/%d: same-harness two-core cases ..." % (r + 1, args.rounds), flush=True)
            pd, po = parse_pair(run([args.pair]))
            d.update(pd)
            o.update(po)
        for seen, new in ((seen_dpdk, d), (seen_ours, o)):
            for k, v in new.items():
                seen.setdefault(k, []).append(v)
    # The median of the rounds: a lucky or unlucky round (a core descheduled
    # mid-case, which on a shared VM changes a figure several-fold) moves
    # neither side's figure.
    best_dpdk = {k: statistics.median(v) for k, v in seen_dpdk.items()}
    best_ours = {k: statistics.median(v) for k, v in seen_ours.items()}

    rows = []
    for case in best_ours:
        if case not in best_dpdk:
            continue
        d, o = best_dpdk[case], best_ours[case]
        higher_better = "count" in case
        speedup = (o / d) if higher_better else (d / o if o > 0 else float("inf"))
        rows.append({"case": case, "dpdk": d, "kvmkit": o,
                     "unit": "rounds in 100 ms" if higher_better else "cycles",
                     "speedup": round(speedup, 3)})
    if not rows:
        sys.exit("no comparable cases: DPDK output format not recognised")

    width = max(len(r["case"]) for r in rows)
    print("\n%-*s %12s %12s %8s" % (width, "case", "DPDK", "kvmkit", "speedup"))
    for r in rows:
        print("%-*s %12.2f %12.2f %7.2fx" % (width, r["case"], r["dpdk"], r["kvmkit"], r["speedup"]))
    speedups = [r["speedup"] for r in rows]
    slower = [r["case"] for r in rows if r["speedup"] < 1.0]
    geo = 1.0
    for s in speedups:
        geo *= s
    geo **= 1.0 / len(speedups)
    result = {
        "benchmark": "ring",
        "anchor": "DPDK rte_ring (dpdk-test ring_perf_autotest, legacy pointer API)",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rounds": args.rounds,
        "statistic": "median of rounds (same-harness rows: median of 31 trials per round)",
        "cases": rows,
        "geomean_speedup": round(geo, 3),
        "min_speedup": min(speedups),
        "cases_slower_than_anchor": slower,
    }
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(json.dumps({k: result[k] for k in ("benchmark", "geomean_speedup", "min_speedup")}))
    print("ring: kvmkit vs DPDK over %d cases: geomean %.2fx, worst %.2fx (%s); %s" % (
        len(rows), geo, min(speedups), min(rows, key=lambda r: r["speedup"])["case"],
        "no case slower" if not slower else "%d slower: %s" % (len(slower), ", ".join(slower))))


if __name__ == "__main__":
    main()
