#!/usr/bin/env python3
"""Forwarder between two vhost-user ports: kvmkit testpmd vs dpdk-testpmd, io mode.

Topology (2 cores): build/bench/pkt_gen on CPU 0 is both traffic source and
sink (two vhost-user frontends, kvmkit's lib/virtio frontend like DPDK's
virtio-user): it keeps port 1's TX ring full of frames and port 2's RX ring
full of buffers. The forwarder has CPU 1 alone:
  kvmkit: kvmkit testpmd -p vhost-user:path=P1 -p vhost-user:path=P2 -f io -c 1
  DPDK:   dpdk-testpmd -l 0-1 --vdev net_vhost0,iface=P1 --vdev net_vhost1,iface=P2
          --forward-mode=io (forwarding lcore 1; the main lcore sleeps at its prompt)
Forwarders alternate case by case for --rounds rounds; each figure is the
median. Metric: frames per second arriving at the sink. Also recorded:
kvmkit's busy cycles per packet (TSC cycles of worker iterations that moved
packets / packets) and the share of DPDK's RX bursts that were not empty
(testpmd 22.11's own cycles/packet counts idle polls too, so it is not
comparable and not used).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def run_case(backend, size, seconds, tmp):
    p1, p2 = os.path.join(tmp, "p1.sock"), os.path.join(tmp, "p2.sock")
    for p in (p1, p2):
        if os.path.exists(p):
            os.unlink(p)
    extra = {}
    if backend == "kvmkit":
        proc = subprocess.Popen(["build/apps/kvmkit", "testpmd", "-p", "vhost-user:path=" + p1,
                                 "-p", "vhost-user:path=" + p2, "-f", "io", "-c", "1", "-s",
                                 "0", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    else:
        proc = subprocess.Popen(["dpdk-testpmd", "--no-huge", "-m", "1024", "--no-pci", "-l",
                                 "0-1", "--file-prefix", "kvmkit-pb-%d" % os.getpid(),
                                 "--vdev", "net_vhost0,iface=" + p1,
                                 "--vdev", "net_vhost1,iface=" + p2, "--", "-i",
                                 "--total-num-mbufs=32768", "--forward-mode=io",
                                 "--auto-start", "--record-burst-stats"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
    for _ in range(400):
        if os.path.exists(p1) and os.path.exists(p2):
            break
        time.sleep(0.05)
    args = ["build/bench/pkt_gen", "--in", p1, "--out", p2, "--size", str(size), "--seconds",
            str(seconds), "--cpu", "0"]
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        if backend == "kvmkit":
            proc.terminate()
            stdout, _ = proc.communicate(timeout=20)
            try:
                extra["busy_cycles_per_packet"] = json.loads(stdout)["busy_cycles_per_packet"]
            except (ValueError, KeyError):
                pass
        else:
            try:
                stdout, _ = proc.communicate(b"show fwd stats all\nquit\n", timeout=20)
                m = re.search(r"RX-bursts\s*:\s*\d+\s*\[(\d+)% of 0 pkts",
                              stdout.decode(errors="replace"))
                if m:
                    extra["busy_polls"] = 1 - int(m.group(1)) / 100
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.wait()
    if out.returncode != 0:
        sys.exit("pkt_gen failed against %s: %s" % (backend, out.stderr))
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r["sink_pps"], extra


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--json", default="bench/results/pkt.json")
    args = ap.parse_args()
    sizes = (64, 1500)
    seen = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for size in sizes:
                for backend in ("dpdk", "kvmkit"):
                    pps, extra = run_case(backend, size, args.seconds, tmp)
                    seen.setdefault((size, backend), []).append(pps)
                    for k, v in extra.items():
                        seen.setdefault((size, backend, k), []).append(v)
                print("round %d/%d: %dB done" % (r + 1, args.rounds, size), flush=True)
    rows = []
    for size in sizes:
        d = statistics.median(seen[(size, "dpdk")])
        k = statistics.median(seen[(size, "kvmkit")])
        cpp = seen.get((size, "kvmkit", "busy_cycles_per_packet"))
        busy = seen.get((size, "dpdk", "busy_polls"))
        rows.append({"case": "io %dB" % size, "dpdk_sink_pps": round(d),
                     "kvmkit_sink_pps": round(k), "speedup": round(k / d, 3) if d else None,
                     "kvmkit_busy_cycles_per_packet": round(statistics.median(cpp), 1)
                     if cpp else None,
                     "dpdk_busy_polls": round(statistics.median(busy), 3) if busy else None})
    print("\n%-10s %14s %14s %8s %12s %10s" % ("case", "DPDK sink pps", "kvmkit sink pps",
                                             "speedup", "kvmkit cyc/p", "DPDK busy"))
    for r in rows:
        print("%-10s %14d %14d %7.2fx %12s %10s" % (
            r["case"], r["dpdk_sink_pps"], r["kvmkit_sink_pps"], r["speedup"],
            r["kvmkit_busy_cycles_per_packet"],
            "%.0f%%" % (r["dpdk_busy_polls"] * 100) if r["dpdk_busy_polls"] is not None
            else "-"))
    speedups = [r["speedup"] for r in rows]
    geo = statistics.geometric_mean(speedups)
    result = {"benchmark": "pkt",
              "anchor": "DPDK 22.11 dpdk-testpmd io mode between two net_vhost ports, 1 core",
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "rounds": args.rounds, "seconds_per_run": args.seconds,
              "statistic": "median of rounds", "cases": rows,
              "geomean_speedup": round(geo, 3), "min_speedup": min(speedups)}
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print("pkt: kvmkit testpmd vs dpdk-testpmd (io, vhost-user to vhost-user): geomean %.2fx, "
          "worst %.2fx" % (geo, min(speedups)))


if __name__ == "__main__":
    main()
