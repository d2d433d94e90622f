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

Each run also records the backend's busy cycles per packet: TSC cycles of
the loop iterations that moved packets, divided by the packets (kvmkit: the
responder's reactor counters from daemon.info, busy_tsc / frames received;
DPDK: testpmd --record-core-cycles, which adds up the cycles of forwarding
iterations that received packets). That is the per-core cost of each
backend, whatever limits the rate (on 2 cores, 64-byte cases are limited by
the one-core frontend, so their pps ratios stay near 1).
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchlib  # noqa: E402


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
                                 "--auto-start", "--record-core-cycles"],
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
    cpp = None
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        if backend == "kvmkit":
            info = subprocess.run(["build/apps/kvmkit", "rpc", "-s", rpc, "daemon.info"],
                                  capture_output=True, text=True, timeout=10)
            st = subprocess.run(["build/apps/kvmkit", "rpc", "-s", rpc, "responder.stats"],
                                capture_output=True, text=True, timeout=10)
            if info.returncode == 0 and st.returncode == 0:
                r = json.loads(info.stdout)["reactor"]
                frames = json.loads(st.stdout)["frames_in"]
                cpp = r["busy_tsc"] / frames if frames else None
            proc.terminate()
        else:
            try:
                stdout, _ = proc.communicate(b"show fwd stats all\nquit\n", timeout=10)
                m = re.search(r"CPU cycles/packet=([0-9.]+)", stdout.decode(errors="replace"))
                if m:
                    cpp = float(m.group(1))
            except subprocess.TimeoutExpired:
                pass
            proc.kill()
        proc.wait()
    if out.returncode != 0:
        sys.exit("vhost_pps failed against %s: %s" % (backend, out.stderr))
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return (r["rx_pps"] if mode == "reflect" else r["tx_pps"]), cpp


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
                    pps, cpp = run_case("vhost", backend, mode, size, packed, args.seconds,
                                        tmp)
                    seen.setdefault((mode, size, packed, backend), []).append(pps)
                    if cpp is not None:
                        seen.setdefault((mode, size, packed, backend, "cpp"), []).append(cpp)
                print("round %d/%d: %s %dB %s done" % (r + 1, args.rounds, mode, size,
                                                       "packed" if packed else "split"),
                      flush=True)
    rows = []
    for mode, size, packed in cases:
        d = statistics.median(seen[(mode, size, packed, "dpdk")])
        k = statistics.median(seen[(mode, size, packed, "kvmkit")])
        def cpp(backend):
            b = seen.get((mode, size, packed, backend, "cpp"))
            return round(statistics.median(b), 1) if b else None
        dc, kc = cpp("dpdk"), cpp("kvmkit")
        rows.append({"case": "%s %dB %s" % (mode, size, "packed" if packed else "split"),
                     "dpdk_pps": round(d), "kvmkit_pps": round(k),
                     "speedup": round(k / d, 3) if d else None,
                     "dpdk_busy_cycles_per_packet": dc, "kvmkit_busy_cycles_per_packet": kc,
                     "cycles_ratio": round(dc / kc, 3) if dc and kc else None})
    print("\n%-22s %12s %12s %8s %9s %10s %8s" % ("case", "DPDK pps", "kvmkit pps", "speedup",
                                                "DPDK c/p", "kvmkit c/p", "c ratio"))
    for r in rows:
        print("%-22s %12d %12d %7.2fx %9s %10s %8s" % (
            r["case"], r["dpdk_pps"], r["kvmkit_pps"], r["speedup"],
            benchlib.fmt(r["dpdk_busy_cycles_per_packet"], "%.0f"),
            benchlib.fmt(r["kvmkit_busy_cycles_per_packet"], "%.0f"), benchlib.fmt(r["cycles_ratio"], "%.2fx")))
    result = {"benchmark": "vhost",
              "anchor": "DPDK 22.11 testpmd vhost PMD (rxonly / macswap), 1 forwarding core",
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "rounds": args.rounds, "seconds_per_run": args.seconds,
              "statistic": "median of rounds",
              "busy_cycles": "TSC cycles of iterations that moved packets / packets, median of "
                             "rounds; cycles_ratio = DPDK / kvmkit (> 1: kvmkit cheaper)"}
    result = benchlib.summarise(result, rows, args.json)
    geo, worst = result["geomean_speedup"], result["min_speedup"]
    if "cycles_geomean_ratio" in result:
        print("vhost: busy cycles per packet, DPDK / kvmkit: geomean %.2fx, worst %.2fx"
              % (result["cycles_geomean_ratio"], result["cycles_min_ratio"]))
    slower = [r["case"] for r in rows if r["speedup"] < 1]
    print("vhost: kvmkit backend vs DPDK vhost per core over %d cases: geomean %.2fx, worst "
          "%.2fx; %s" % (len(rows), geo, worst,
                         "no case slower" if not slower else "slower: " + ", ".join(slower)))


if __name__ == "__main__":
    main()
