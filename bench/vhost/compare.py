#!/usr/bin/env python3
"""vhost-user backends per core: kvmkit-responder against DPDK testpmd's vhost PMD.

The same frontend (build/bench/vhost_pps, kvmkit's vhost-user frontend,
pinned to CPU 0) drives each backend (pinned to CPU 1) through one queue
pair, alternating backends case by case for --rounds rounds, and reports
the median of the rounds:

  drop     backend consumes TX frames: kvmkit-responder --mode drop vs
           testpmd --forward-mode=rxonly            (metric: TX pps)
  reflect  backend sends every frame back, MACs swapped: --mode reflect vs
           testpmd --forward-mode=macswap           (metric: RX pps)

for 64- and 1500-byte frames, split and packed rings. speedup = kvmkit pps /
DPDK pps (> 1: kvmkit's backend is faster). Writes JSON to --json.

Each run also records how often the backend's polls found work (kvmkit: the
responder's reactor counters from daemon.info, busy turns / turns; DPDK:
testpmd --record-burst-stats, the share of non-empty RX bursts). A backend
whose polls mostly come back empty is waiting for the frontend: the rate of
that case is the frontend's ceiling, not the backend's.
"""
import re
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run_case(kind, backend, mode, size, packed, seconds, tmp):
    sock = os.path.join(tmp, "vhost.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    if backend == "kvmkit":
        rpc = os.path.join(tmp, "rpc.sock")
        if os.path.exists(rpc):
            os.unlink(rpc)
        proc = subprocess.Popen(["taskset", "-c", "1", "build/apps/kvmkit-responder",
                                 "--socket", sock, "--mode", mode, "--rpc", rpc],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        fwd = "rxonly" if mode == "drop" else "macswap"
        proc = subprocess.Popen(["dpdk-testpmd", "--no-huge", "-m", "512", "--no-pci",
                                 "-l", "0-1", "--file-prefix", "kvmkit-vb-%d" % os.getpid(),
                                 "--vdev", "net_vhost0,iface=%s" % sock, "--", "-i",
                                 "--total-num-mbufs=16384", "--forward-mode=" + fwd,
                                 "--auto-start", "--record-burst-stats"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    args = ["build/bench/vhost_pps", "--socket", sock, "--size", str(size), "--seconds",
            str(seconds), "--cpu", "0"]
    if mode == "reflect":
        args.append("--rx")
    if packed:
        args.append("--packed")
    busy = None
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        if backend == "kvmkit":
            info = subprocess.run(["build/apps/kvmkit", "rpc", "-s", rpc, "daemon.info"],
                                  capture_output=True, text=True, timeout=10)
            if info.returncode == 0:
                r = json.loads(info.stdout)["reactor"]
                busy = r["busy_turns"] / r["turns"] if r["turns"] else None
            proc.terminate()
        else:
            try:
                stdout, _ = proc.communicate(b"show fwd stats all\nquit\n", timeout=10)
                m = re.search(r"RX-bursts\s*:\s*\d+\s*\[(\d+)% of 0 pkts",
                              stdout.decode(errors="replace"))
                if m:
                    busy = 1 - int(m.group(1)) / 100
            except subprocess.TimeoutExpired:
                pass
            proc.kill()
        proc.wait()
    if out.returncode != 0:
        sys.exit("vhost_pps failed against %s: %s" % (backend, out.stderr))
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return (r["rx_pps"] if mode == "reflect" else r["tx_pps"]), busy


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--json", default="bench/results/vhost.json")
    args = ap.parse_args()
    cases = [(mode, size, packed) for packed in (False, True) for mode in ("drop", "reflect")
             for size in (64, 1500)]
    seen = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for mode, size, packed in cases:
                for backend in ("dpdk", "kvmkit"):
                    pps, busy = run_case("vhost", backend, mode, size, packed, args.seconds,
                                         tmp)
                    seen.setdefault((mode, size, packed, backend), []).append(pps)
                    if busy is not None:
                        seen.setdefault((mode, size, packed, backend, "busy"), []).append(busy)
                print("round %d/%d: %s %dB %s done" % (r + 1, args.rounds, mode, size,
                                                       "packed" if packed else "split"),
                      flush=True)
    rows = []
    for mode, size, packed in cases:
        d = statistics.median(seen[(mode, size, packed, "dpdk")])
        k = statistics.median(seen[(mode, size, packed, "kvmkit")])
        def busy(backend):
            b = seen.get((mode, size, packed, backend, "busy"))
            return round(statistics.median(b), 3) if b else None
        rows.append({"case": "%s %dB %s" % (mode, size, "packed" if packed else "split"),
                     "dpdk_pps": round(d), "kvmkit_pps": round(k),
                     "speedup": round(k / d, 3) if d else None,
                     "dpdk_busy_polls": busy("dpdk"), "kvmkit_busy_polls": busy("kvmkit")})
    print("\n%-22s %14s %14s %8s %11s %11s" % ("case", "DPDK pps", "kvmkit pps", "speedup",
                                              "DPDK busy", "kvmkit busy"))
    pct = lambda v: "%10.0f%%" % (v * 100) if v is not None else "%11s" % "-"
    for r in rows:
        print("%-22s %14d %14d %7.2fx %s %s" % (r["case"], r["dpdk_pps"], r["kvmkit_pps"],
                                               r["speedup"], pct(r["dpdk_busy_polls"]),
                                               pct(r["kvmkit_busy_polls"])))
    speedups = [r["speedup"] for r in rows]
    geo = statistics.geometric_mean(speedups)
    result = {"benchmark": "vhost",
              "anchor": "DPDK 22.11 testpmd vhost PMD (rxonly / macswap), 1 forwarding core",
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "rounds": args.rounds, "seconds_per_run": args.seconds,
              "statistic": "median of rounds",
              "busy_polls": "share of the backend's polls that found work (median of rounds)",
              "cases": rows,
              "geomean_speedup": round(geo, 3), "min_speedup": min(speedups)}
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    slower = [r["case"] for r in rows if r["speedup"] < 1]
    print("vhost: kvmkit backend vs DPDK vhost per core over %d cases: geomean %.2fx, worst "
          "%.2fx; %s" % (len(rows), geo, min(speedups),
                         "no case slower" if not slower else "slower: " + ", ".join(slower)))


if __name__ == "__main__":
    main()
