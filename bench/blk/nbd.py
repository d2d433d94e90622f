#!/usr/bin/env python3
"""NBD servers per CPU second: kvmkit-blkd against nbdkit memory and qemu-nbd.

The same client, fio's nbd ioengine (libnbd) pinned to CPU 0, drives each
server pinned to CPU 1 over a Unix socket (nbd+unix:///?socket=SOCK):

  kvmkit   kvmkit-blkd --cores 1, a 1 GiB malloc bdev exported as ""
  nbdkit   nbdkit memory 1G (its default thread pool)
  qemu-nbd a 1 GiB raw file in /dev/shm (--cache=writeback --aio=io_uring:
           tmpfs has no O_DIRECT, so --cache=none is not possible there)

Cases: 4 KiB random read and write at depth 1 and 32, 128 KiB sequential
read at depth 8. Servers alternate case by case for --rounds rounds; each
number is the median of the rounds. Per run: IOPS, mean and p99 completion
latency (fio clat), and the server's CPU time from /proc/PID/stat
(utime + stime of all its threads) over the fio run: CPU microseconds per
I/O and IOPS per server CPU second. The goal ratio is kvmkit's IOPS per
CPU second over nbdkit's (issue: at least 1.2x; reference measurement:
nbdkit memory ~78k IOPS at 5.5 us of CPU per 4 KiB random read at depth 32).

Writes JSON to --json and a markdown summary to --markdown.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchlib  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
SIZE = 1 << 30
CASES = [  # name, rw, bs, depth
    ("randread 4k qd1", "randread", "4k", 1),
    ("randread 4k qd32", "randread", "4k", 32),
    ("randwrite 4k qd1", "randwrite", "4k", 1),
    ("randwrite 4k qd32", "randwrite", "4k", 32),
    ("read 128k qd8", "read", "128k", 8),
]
SERVERS = ["kvmkit", "nbdkit", "qemu-nbd"]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime, stime


def wait_socket(path, proc, what):
    for _ in range(400):
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            sys.exit("%s exited at start (code %d)" % (what, proc.returncode))
        time.sleep(0.025)
    sys.exit("%s did not create %s" % (what, path))


def start(server, tmp, cpu):
    sock = os.path.join(tmp, "nbd.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    pin = ["taskset", "-c", str(cpu)]
    if server == "kvmkit":
        rpc = os.path.join(tmp, "rpc.sock")
        proc = subprocess.Popen(pin + ["build/apps/kvmkit-blkd", "--rpc", rpc, "--cores",
                                       str(cpu), "--log", "warn"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_socket(rpc, proc, "kvmkit-blkd")
        k = ["build/apps/kvmkit", "rpc", "-s", rpc]
        subprocess.run(k + ["bdev_create", json.dumps(
            {"name": "d0", "type": "malloc", "params": {"size": str(SIZE)}})],
            check=True, stdout=subprocess.DEVNULL)
        subprocess.run(k + ["export_add", json.dumps(
            {"id": "n0", "type": "nbd", "bdev": "d0", "name": "", "unix": sock})],
            check=True, stdout=subprocess.DEVNULL)
    elif server == "nbdkit":
        proc = subprocess.Popen(pin + ["nbdkit", "--foreground", "--unix", sock, "memory",
                                       str(SIZE)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        img = "/dev/shm/kvmkit-bench-nbd-%d.raw" % os.getpid()
        if not os.path.exists(img):
            with open(img, "wb") as f:
                f.truncate(SIZE)
        proc = subprocess.Popen(pin + ["qemu-nbd", "--format=raw", "--cache=writeback",
                                       "--aio=io_uring", "--shared=16", "--persistent",
                                       "--socket", sock, img],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_socket(sock, proc, server)
    time.sleep(0.1)
    return proc, sock


def run_fio(sock, rw, bs, depth, seconds, cpu):
    out = subprocess.run(
        ["taskset", "-c", str(cpu), "fio", "--name=nbd", "--ioengine=nbd",
         "--uri=nbd+unix:///?socket=" + sock, "--rw=" + rw, "--bs=" + bs,
         "--iodepth=%d" % depth, "--size=%d" % SIZE, "--time_based",
         "--runtime=%g" % seconds, "--ramp_time=0.5", "--output-format=json"],
        capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        sys.exit("fio failed: %s" % out.stderr[-2000:])
    text = out.stdout
    job = json.loads(text[text.index("{"):])["jobs"][0]
    side = job["read"] if rw.endswith("read") else job["write"]
    ios = side["total_ios"]
    return {"iops": side["iops"], "ios": ios,
            "lat_mean_us": side["clat_ns"]["mean"] / 1000,
            "lat_p99_us": side["clat_ns"].get("percentile", {}).get("99.000000", 0) / 1000}


def run_case(server, case, seconds, tmp):
    _, rw, bs, depth = case
    proc, sock = start(server, tmp, 1)
    try:
        c0 = cpu_seconds(proc.pid)
        t0 = time.monotonic()
        r = run_fio(sock, rw, bs, depth, seconds, 0)
        c1 = cpu_seconds(proc.pid)
        wall = time.monotonic() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    cpu = c1 - c0
    # fio's ios exclude the ramp; CPU covers the whole run: scale the
    # I/O count to the whole run by the measured IOPS
    total_ios = r["iops"] * wall
    r["server_cpu_s"] = cpu
    r["server_cpu_us_per_io"] = cpu / total_ios * 1e6 if total_ios else None
    r["iops_per_cpu_s"] = total_ios / cpu if cpu > 0 else None
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--cases", default="", help="only cases whose name contains this")
    ap.add_argument("--json", default="bench/results/nbd.json")
    ap.add_argument("--markdown", default="bench/results/nbd.md")
    args = ap.parse_args()
    servers = [s for s in args.servers.split(",") if s]
    global CASES
    CASES = [c for c in CASES if args.cases in c[0]]
    for tool in ["fio", "taskset"] + [s for s in servers if s != "kvmkit"]:
        if not shutil.which(tool):
            sys.exit("%s is not installed" % tool)
    seen = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for rnd in range(args.rounds):
                for case in CASES:
                    for server in servers:
                        r = run_case(server, case, args.seconds, tmp)
                        seen.setdefault((case[0], server), []).append(r)
                    print("round %d/%d: %s done" % (rnd + 1, args.rounds, case[0]), flush=True)
        finally:
            img = "/dev/shm/kvmkit-bench-nbd-%d.raw" % os.getpid()
            if os.path.exists(img):
                os.unlink(img)

    def med(case, server, key):
        vals = [r[key] for r in seen[(case, server)] if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    rows = []
    for case in CASES:
        row = {"case": case[0]}
        for s in servers:
            for key in ("iops", "lat_mean_us", "lat_p99_us", "server_cpu_us_per_io",
                        "iops_per_cpu_s"):
                v = med(case[0], s, key)
                row["%s_%s" % (s, key)] = round(v, 2) if v is not None else None
        k = row.get("kvmkit_iops_per_cpu_s")
        n = row.get("nbdkit_iops_per_cpu_s")
        q = row.get("qemu-nbd_iops_per_cpu_s")
        row["speedup"] = round(row["kvmkit_iops"] / row["nbdkit_iops"], 3) \
            if "nbdkit" in servers and row.get("nbdkit_iops") else 1.0
        row["per_cpu_ratio_vs_nbdkit"] = round(k / n, 3) if k and n else None
        row["per_cpu_ratio_vs_qemu_nbd"] = round(k / q, 3) if k and q else None
        # benchlib's cycle summary: CPU per I/O ratio, nbdkit / kvmkit
        row["cycles_ratio"] = row["per_cpu_ratio_vs_nbdkit"]
        rows.append(row)

    hdr = "| case | " + " | ".join("%s IOPS | %s lat us (mean/p99) | %s CPU us/IO" % (s, s, s)
                                    for s in servers) + " | kvmkit/nbdkit IOPS per CPU s |"
    lines = [hdr, "|" + "---|" * (hdr.count("|") - 1)]
    for r in rows:
        cells = [r["case"]]
        for s in servers:
            cells += [benchlib.fmt(r["%s_iops" % s], "%.0f"),
                      "%s / %s" % (benchlib.fmt(r["%s_lat_mean_us" % s], "%.1f"),
                                   benchlib.fmt(r["%s_lat_p99_us" % s], "%.1f")),
                      benchlib.fmt(r["%s_server_cpu_us_per_io" % s], "%.2f")]
        cells.append(benchlib.fmt(r["per_cpu_ratio_vs_nbdkit"], "%.2fx"))
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print()
    print(table)
    result = {"benchmark": "nbd",
              "anchor": "nbdkit memory 1G and qemu-nbd (raw file in /dev/shm), fio nbd "
                        "ioengine over a Unix socket; client on CPU 0, server on CPU 1",
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "rounds": args.rounds, "seconds_per_run": args.seconds,
              "statistic": "median of rounds",
              "goal": "kvmkit IOPS per server CPU second >= 1.2x nbdkit's",
              "servers": servers}
    result = benchlib.summarise(result, rows, args.json)
    with open(args.markdown, "w") as f:
        f.write("# NBD: kvmkit-blkd vs %s\n\n" % ", ".join(s for s in servers if s != "kvmkit"))
        f.write("%s; %d round(s) of %g s per case, medians.\n\n" % (result["anchor"],
                                                                   args.rounds, args.seconds))
        f.write(table + "\n")
        if "cycles_geomean_ratio" in result:
            f.write("\nkvmkit IOPS per server CPU second / nbdkit's: geomean %.2fx, worst %.2fx "
                    "(goal >= 1.2x)\n" % (result["cycles_geomean_ratio"],
                                          result["cycles_min_ratio"]))
    if "cycles_geomean_ratio" in result:
        print("nbd: kvmkit IOPS per server CPU second vs nbdkit: geomean %.2fx, worst %.2fx "
              "(goal >= 1.2x)" % (result["cycles_geomean_ratio"], result["cycles_min_ratio"]))


if __name__ == "__main__":
    main()
