#!/usr/bin/env python3
"""Forwarder between two vhost-user ports: kvmkit testpmd vs dpdk-testpmd, io mode.

Topology (2 cores): build/bench/pkt_gen on CPU 0 is both traffic source and
sink (two vhost-user frontends, kvmkit's lib/virtio frontend like DPDK's
virtio-user): it keeps port 1's TX ring full of frames and port 2's RX ring
full of buffers. The forwarder has CPU 1 alone:
  kvmkit: kvmkit testpmd -p vhost-user:path=P1 -p vhost-user:path=P2 -f io -c 1 --busy-poll
  DPDK:   dpdk-testpmd -l 0-1 --vdev net_vhost0,iface=P1 --vdev net_vhost1,iface=P2
          --forward-mode=io (forwarding lcore 1; the main lcore sleeps at its prompt)
Forwarders alternate case by case for --rounds rounds; each figure is the
median. Metrics: frames per second arriving at the sink, and the
forwarder's busy cycles per packet (TSC cycles of forwarding iterations that
moved packets, divided by packets: kvmkit testpmd's --json figure, DPDK
testpmd's --record-core-cycles "CPU cycles/packet").
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchlib  # noqa: E402


def run_case(backend, size, seconds, tmp):
    p1, p2 = os.path.join(tmp, "p1.sock"), os.path.join(tmp, "p2.sock")
    for p in (p1, p2):
        if os.path.exists(p):
            os.unlink(p)
    extra = {}
    if backend == "kvmkit":
        proc = subprocess.Popen(["build/apps/kvmkit", "testpmd", "-p", "vhost-user:path=" + p1,
                                 "-p", "vhost-user:path=" + p2, "-f", "io", "-c", "1", "-s",
                                 "0", "--json", "--busy-poll"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    else:
        proc = subprocess.Popen(["dpdk-testpmd", "--no-huge", "-m", "1024", "--no-pci", "-l",
                                 "0-1", "--file-prefix", "kvmkit-pb-%d" % os.getpid(),
                                 "--vdev", "net_vhost0,iface=" + p1,
                                 "--vdev", "net_vhost1,iface=" + p2, "--", "-i",
                                 "--total-num-mbufs=32768", "--forward-mode=io",
                                 "--auto-start", "--record-core-cycles"],
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
                m = re.search(r"CPU cycles/packet=([0-9.]+)", stdout.decode(errors="replace"))
                if m:
                    extra["busy_cycles_per_packet"] = float(m.group(1))
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
        kc = seen.get((size, "kvmkit", "busy_cycles_per_packet"))
        dc = seen.get((size, "dpdk", "busy_cycles_per_packet"))
        kc = round(statistics.median(kc), 1) if kc else None
        dc = round(statistics.median(dc), 1) if dc else None
        rows.append({"case": "io %dB" % size, "dpdk_sink_pps": round(d),
                     "kvmkit_sink_pps": round(k), "speedup": round(k / d, 3) if d else None,
                     "dpdk_busy_cycles_per_packet": dc, "kvmkit_busy_cycles_per_packet": kc,
                     "cycles_ratio": round(dc / kc, 3) if dc and kc else None})
    print("\n%-10s %14s %14s %8s %9s %10s %8s" % ("case", "DPDK sink pps", "kvmkit sink pps",
                                                "speedup", "DPDK c/p", "kvmkit c/p",
                                                "c ratio"))
    for r in rows:
        print("%-10s %14d %14d %7.2fx %9s %10s %8s" % (
            r["case"], r["dpdk_sink_pps"], r["kvmkit_sink_pps"], r["speedup"],
            benchlib.fmt(r["dpdk_busy_cycles_per_packet"], "%.0f"),
            benchlib.fmt(r["kvmkit_busy_cycles_per_packet"], "%.0f"), benchlib.fmt(r["cycles_ratio"], "%.2fx")))
    result = {"benchmark": "pkt",
              "anchor": "DPDK 22.11 dpdk-testpmd io mode between two net_vhost ports, 1 core",
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "rounds": args.rounds, "seconds_per_run": args.seconds,
              "statistic": "median of rounds",
              "busy_cycles": "TSC cycles of forwarding iterations that moved packets / packets; "
                             "cycles_ratio = DPDK / kvmkit (> 1: kvmkit cheaper)"}
    result = benchlib.summarise(result, rows, args.json)
    geo, worst = result["geomean_speedup"], result["min_speedup"]
    print("pkt: kvmkit testpmd vs dpdk-testpmd (io, vhost-user to vhost-user): geomean %.2fx, "
          "worst %.2fx" % (geo, worst))


if __name__ == "__main__":
    main()
