#!/usr/bin/env python3
"""The datapath (build/bench/dp_fwd) vs kvmkit testpmd io between two vhost-user ports.

Same topology as bench/pkt/compare.py: build/bench/pkt_gen on CPU 0 is source
and sink, the forwarder has CPU 1. Cases alternate within each round; each
figure is the median over rounds (min and max are printed too, to show the
noise of the shared machine). Metrics: frames per second at the sink and the
forwarder's busy cycles per packet.

  bench/switch/dp_fwd.py [--rounds 5] [--seconds 3] [--cases io,one,learn1,learn1000]
  bench/switch/dp_fwd.py --cases io,one,one@/path/to/old/checkout   (before/after)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CASES = {
    # name: (forwarder command builder, pkt_gen --flows); "NAME@DIR" runs DIR's build
    # of the forwarder (e.g. an older checkout) against the same pkt_gen.
    "io": (lambda p1, p2: ["build/apps/kvmkit", "testpmd", "-p", "vhost-user:path=" + p1,
                           "-p", "vhost-user:path=" + p2, "-f", "io", "-c", "1", "-s", "0",
                           "--json", "--busy-poll"], 1),
    "one": (lambda p1, p2: ["build/bench/dp_fwd", "--port1", p1, "--port2", p2,
                            "--mode", "one", "--cpu", "1"], 1),
    "learn1": (lambda p1, p2: ["build/bench/dp_fwd", "--port1", p1, "--port2", p2,
                               "--mode", "learn", "--cpu", "1"], 1),
    "learn1000": (lambda p1, p2: ["build/bench/dp_fwd", "--port1", p1, "--port2", p2,
                                  "--mode", "learn", "--cpu", "1"], 1000),
    "learn10000": (lambda p1, p2: ["build/bench/dp_fwd", "--port1", p1, "--port2", p2,
                                   "--mode", "learn", "--cpu", "1"], 10000),
}


def run_case(name, seconds, tmp):
    p1, p2 = os.path.join(tmp, "p1.sock"), os.path.join(tmp, "p2.sock")
    for p in (p1, p2):
        if os.path.exists(p):
            os.unlink(p)
    case, _, root = name.partition("@")
    build, flows = CASES[case]
    cmd = build(p1, p2)
    if root:
        cmd[0] = os.path.join(root, cmd[0])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    for _ in range(400):
        if os.path.exists(p1) and os.path.exists(p2):
            break
        time.sleep(0.05)
    args = ["build/bench/pkt_gen", "--in", p1, "--out", p2, "--size", "64", "--seconds",
            str(seconds), "--cpu", "0", "--flows", str(flows)]
    extra = {}
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        proc.terminate()
        stdout, _ = proc.communicate(timeout=30)
        try:
            extra = json.loads(stdout.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            pass
    if out.returncode != 0:
        sys.exit("pkt_gen failed against %s: %s" % (name, out.stderr))
    return json.loads(out.stdout.strip().splitlines()[-1])["sink_pps"], extra


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--cases", default="io,one,learn1,learn1000")
    ap.add_argument("--json", default=None, help="write the rows here")
    args = ap.parse_args()
    names = args.cases.split(",")
    seen = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name in names:
                pps, extra = run_case(name, args.seconds, tmp)
                seen.setdefault((name, "pps"), []).append(pps)
                if "busy_cycles_per_packet" in extra:
                    seen.setdefault((name, "cpp"), []).append(extra["busy_cycles_per_packet"])
                if "emc_hits" in extra:
                    seen.setdefault((name, "emc"), []).append(extra["emc_hits"] /
                                                              max(1, extra["packets"]))
            print("round %d/%d done (load %s)" % (r + 1, args.rounds,
                                                  open("/proc/loadavg").read().split()[0]),
                  flush=True)
    rows = []
    io = statistics.median(seen[("io", "pps")]) if ("io", "pps") in seen else None
    print("\n%-24s %9s %9s %9s %8s %8s %8s" % ("case", "Mpps med", "min", "max", "c/p med",
                                             "c/p min", "vs io"))
    for name in names:
        pps = seen[(name, "pps")]
        cpp = seen.get((name, "cpp"), [0])
        row = {"case": name, "mpps_median": round(statistics.median(pps) / 1e6, 3),
               "mpps_min": round(min(pps) / 1e6, 3), "mpps_max": round(max(pps) / 1e6, 3),
               "cycles_per_packet_median": round(statistics.median(cpp), 1),
               "cycles_per_packet_min": round(min(cpp), 1),
               "vs_io": round(statistics.median(pps) / io, 3) if io else None,
               "runs_mpps": [round(x / 1e6, 3) for x in pps], "runs_cycles_per_packet": cpp}
        rows.append(row)
        print("%-24s %9.3f %9.3f %9.3f %8.1f %8.1f %8s" % (
            name, row["mpps_median"], row["mpps_min"], row["mpps_max"],
            row["cycles_per_packet_median"], row["cycles_per_packet_min"],
            "%.3f" % row["vs_io"] if row["vs_io"] else "-"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rounds": args.rounds, "seconds": args.seconds, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
