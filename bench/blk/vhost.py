#!/usr/bin/env python3
"""vhost-user-blk targets per CPU second: kvmkit-blkd against qemu-storage-daemon.

The same driver (`kvmkit blkperf --vhost SOCKET`: the virtio-blk driver side
over kvmkit's vhost-user frontend, pinned to CPU 0) drives each target
(pinned to CPU 1, one queue, one worker / iothread) through these cases:

  randread  4 KiB, depth 1 and 32
  randwrite 4 KiB, depth 1 and 32
  read      128 KiB sequential, depth 32

on three backings:

  null    RAM, nothing stored: kvmkit `null` bdev vs qsd `null-co,read-zeroes=on`
  shm     a file in /dev/shm (page cache, buffered): kvmkit `file` vs qsd
          `file,aio=io_uring`
  direct  a file on --dir's filesystem with O_DIRECT through io_uring: kvmkit
          `file` with direct=true vs qsd `file,aio=io_uring,cache.direct=on`

Targets alternate within each round (the first one swaps every round); each
target is started fresh per backing and round. Reported per case: IOPS,
mean/p50/p99 latency, and the target's CPU seconds per million I/Os
(utime + stime of the whole process from /proc/PID/stat over the run).
ratios: speedup = kvmkit IOPS / qsd IOPS; efficiency = kvmkit IOPS per
target CPU second / qsd's (> 1: kvmkit cheaper; the goal is >= 1.5).
Medians over rounds. Writes JSON (--json) and a markdown summary (--md).
"""
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

KVMKIT = "build/apps/kvmkit"
BLKD = "build/apps/kvmkit-blkd"
WORKLOADS = [("randread", 4096, 1), ("randread", 4096, 32), ("randwrite", 4096, 1),
             ("randwrite", 4096, 32), ("read", 131072, 32)]
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def wait_for(path, proc, what):
    for _ in range(200):
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            sys.exit("%s exited at start (status %s)" % (what, proc.returncode))
        time.sleep(0.05)
    sys.exit("%s did not create %s" % (what, path))


KVMKIT_EXTRA = []


def start_kvmkit(backing, path, size, tmp, cpu):
    rpc = os.path.join(tmp, "blkd.sock")
    sock = os.path.join(tmp, "vblk.sock")
    for p in (rpc, sock):
        if os.path.exists(p):
            os.unlink(p)
    proc = subprocess.Popen(["taskset", "-c", cpu, BLKD, "--rpc", rpc, "--workers", "1",
                             "--log", "warn"] + KVMKIT_EXTRA,
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "blkd.log"), "a"))
    wait_for(rpc, proc, "kvmkit-blkd")
    if backing == "null":
        params = {"size": str(size)}
        btype = "null"
    else:
        params = {"path": path, "direct": backing == "direct"}
        btype = "file"

    def rpc_call(method, p):
        r = subprocess.run([KVMKIT, "rpc", "-s", rpc, method, json.dumps(p)],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            sys.exit("kvmkit-blkd %s failed: %s %s" % (method, r.stdout, r.stderr))
    rpc_call("bdev_create", {"name": "d0", "type": btype, "params": params})
    rpc_call("export_add", {"id": "v0", "type": "vhost-user-blk", "bdev": "d0",
                            "socket": sock, "num_queues": 1})
    wait_for(sock, proc, "kvmkit-blkd")
    return proc, sock


def start_qsd(backing, path, size, tmp, cpu):
    sock = os.path.join(tmp, "qsd.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    if backing == "null":
        dev = "driver=null-co,node-name=d0,read-zeroes=on,size=%d" % size
    else:
        dev = "driver=file,node-name=d0,filename=%s,aio=io_uring,cache.direct=%s" % (
            path, "on" if backing == "direct" else "off")
    proc = subprocess.Popen(
        ["taskset", "-c", cpu, "qemu-storage-daemon", "--blockdev", dev,
         "--object", "iothread,id=io0",
         "--export", "type=vhost-user-blk,id=e0,node-name=d0,addr.type=unix,addr.path=%s,"
                     "writable=on,num-queues=1,iothread=io0" % sock],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "qsd.log"), "a"))
    wait_for(sock, proc, "qemu-storage-daemon")
    return proc, sock


def run_blkperf(sock, rw, bs, depth, seconds, cpu, size):
    args = ["taskset", "-c", cpu, KVMKIT, "blkperf", "--vhost", sock, "-w", rw, "-b", str(bs),
            "-q", str(depth), "-t", str(seconds), "-r", str(size), "--json"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    if r.returncode != 0:
        sys.exit("blkperf failed against %s: %s %s" % (sock, r.stdout, r.stderr))
    return json.loads(r.stdout)


def prepare(backing, args, tmp):
    """The file a backing uses (written through, so reads hit real data)."""
    if backing == "null":
        return None
    d = "/dev/shm" if backing == "shm" else args.dir
    path = os.path.join(d, "kvmkit-blk-bench-%d-%s.raw" % (os.getpid(), backing))
    subprocess.run(["dd", "if=/dev/zero", "of=" + path, "bs=1M", "count=%d" % (args.size >> 20),
                    "conv=fsync", "status=none"], check=True)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--size", type=int, default=1 << 30, help="device bytes (default 1 GiB)")
    ap.add_argument("--dir", default=os.environ.get("TMPDIR", "/var/tmp"),
                    help="where the O_DIRECT file lives (not tmpfs)")
    ap.add_argument("--backings", default="null,shm,direct")
    ap.add_argument("--workloads", default="all",
                    help="comma-separated indexes into the workload list, or all")
    ap.add_argument("--driver-cpu", default="0")
    ap.add_argument("--target-cpu", default="1")
    ap.add_argument("--idle-us", type=int, default=0,
                    help="kvmkit-blkd --idle-us (default: the daemon's)")
    ap.add_argument("--json", default="bench/results/blk_vhost.json")
    ap.add_argument("--md", default="bench/results/blk_vhost.md")
    args = ap.parse_args()
    if args.idle_us:
        KVMKIT_EXTRA.extend(["--idle-us", str(args.idle_us)])
    backings = args.backings.split(",")
    workloads = WORKLOADS if args.workloads == "all" else [
        WORKLOADS[int(i)] for i in args.workloads.split(",")]
    seen = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = {b: prepare(b, args, tmp) for b in backings}
        try:
            for rnd in range(args.rounds):
                order = ("qsd", "kvmkit") if rnd % 2 == 0 else ("kvmkit", "qsd")
                for backing in backings:
                    for target in order:
                        start = start_kvmkit if target == "kvmkit" else start_qsd
                        proc, sock = start(backing, files[backing], args.size, tmp,
                                           args.target_cpu)
                        try:
                            for rw, bs, depth in workloads:
                                c0 = cpu_seconds(proc.pid)
                                r = run_blkperf(sock, rw, bs, depth, args.seconds,
                                                args.driver_cpu, args.size)
                                cpu = cpu_seconds(proc.pid) - c0
                                ios = r["reads"] + r["writes"]
                                lat = r.get("read_latency_us") or r.get("write_latency_us") or {}
                                key = (backing, rw, bs, depth, target)
                                seen.setdefault(key, []).append({
                                    "iops": r["iops"], "lat_mean": lat.get("mean"),
                                    "lat_p50": lat.get("p50"), "lat_p99": lat.get("p99"),
                                    "cpu_s_per_mio": cpu / (ios / 1e6) if ios and cpu > 0 else None,
                                    "errors": r["errors"]})
                        finally:
                            proc.terminate()
                            try:
                                proc.wait(timeout=10)
                            except subprocess.TimeoutExpired:
                                proc.kill()
                                proc.wait()
                    print("round %d/%d: %s done" % (rnd + 1, args.rounds, backing), flush=True)
        finally:
            for p in files.values():
                if p and os.path.exists(p):
                    os.unlink(p)

    def med(vals, k):
        v = [x[k] for x in vals if x[k] is not None]
        return statistics.median(v) if v else None

    rows = []
    for backing in backings:
        for rw, bs, depth in workloads:
            q = seen[(backing, rw, bs, depth, "qsd")]
            k = seen[(backing, rw, bs, depth, "kvmkit")]
            row = {"case": "%s %s %dK q%d" % (backing, rw, bs // 1024, depth)}
            for name, vals in (("qsd", q), ("kvmkit", k)):
                for f in ("iops", "lat_mean", "lat_p50", "lat_p99", "cpu_s_per_mio"):
                    v = med(vals, f)
                    row["%s_%s" % (name, f)] = round(v, 2) if v is not None else None
                row["%s_errors" % name] = sum(x["errors"] for x in vals)
            row["speedup"] = round(row["kvmkit_iops"] / row["qsd_iops"], 3) \
                if row["qsd_iops"] else None
            qc, kc = row["qsd_cpu_s_per_mio"], row["kvmkit_cpu_s_per_mio"]
            # IOPS per target CPU second, kvmkit / qsd = qsd's CPU per I/O / kvmkit's.
            row["cycles_ratio"] = round(qc / kc, 3) if qc and kc else None
            rows.append(row)

    hdr = "%-26s %10s %10s %7s %8s %8s %8s %8s %7s" % (
        "case", "qsd IOPS", "kvmkit", "speedup", "qsd p50", "kvm p50", "qsd cpu", "kvm cpu",
        "effic.")
    lines = [hdr]
    for r in rows:
        lines.append("%-26s %10.0f %10.0f %6.2fx %8s %8s %8s %8s %7s" % (
            r["case"], r["qsd_iops"], r["kvmkit_iops"], r["speedup"] or 0,
            benchlib.fmt(r["qsd_lat_p50"], "%.1f"), benchlib.fmt(r["kvmkit_lat_p50"], "%.1f"),
            benchlib.fmt(r["qsd_cpu_s_per_mio"], "%.2f"),
            benchlib.fmt(r["kvmkit_cpu_s_per_mio"], "%.2f"),
            benchlib.fmt(r["cycles_ratio"], "%.2fx")))
    print("\n" + "\n".join(lines))
    result = {"benchmark": "blk_vhost",
              "anchor": "qemu-storage-daemon vhost-user-blk export, 1 queue, 1 iothread",
              "driver": "kvmkit blkperf --vhost (kvmkit's vhost-user frontend), CPU %s"
                        % args.driver_cpu,
              "target_cpu": args.target_cpu,
              "kvmkit_blkd_args": KVMKIT_EXTRA,
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "rounds": args.rounds, "seconds_per_run": args.seconds, "size": args.size,
              "statistic": "median of rounds",
              "cpu": "target utime+stime per million I/Os (s); cycles_ratio = qsd / kvmkit "
                     "CPU per I/O = kvmkit IOPS per CPU second / qsd's (goal >= 1.5)",
              "latency_us": "p50/p99 of reads (writes for write cases)"}
    result = benchlib.summarise(result, rows, args.json)
    summary = ("vhost-user-blk: kvmkit-blkd vs qemu-storage-daemon over %d cases: IOPS geomean "
               "%.2fx (worst %.2fx); IOPS per target CPU second geomean %s (worst %s)"
               % (len(rows), result["geomean_speedup"], result["min_speedup"],
                  benchlib.fmt(result.get("cycles_geomean_ratio"), "%.2fx"),
                  benchlib.fmt(result.get("cycles_min_ratio"), "%.2fx")))
    print(summary)
    os.makedirs(os.path.dirname(args.md) or ".", exist_ok=True)
    with open(args.md, "w") as f:
        f.write("# vhost-user-blk: kvmkit-blkd vs qemu-storage-daemon\n\n")
        f.write("%s, %d round(s) of %.0f s, median. Driver: `kvmkit blkperf --vhost` on CPU %s; "
                "target on CPU %s. CPU = target utime+stime (s) per million I/Os; "
                "efficiency = kvmkit IOPS per CPU second / qsd's.\n\n"
                % (result["date"], args.rounds, args.seconds, args.driver_cpu, args.target_cpu))
        f.write("| case | qsd IOPS | kvmkit IOPS | speedup | qsd p50/p99 us | kvmkit p50/p99 us "
                "| qsd CPU s/M | kvmkit CPU s/M | efficiency |\n")
        f.write("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
        for r in rows:
            f.write("| %s | %.0f | %.0f | %.2fx | %s/%s | %s/%s | %s | %s | %s |\n" % (
                r["case"], r["qsd_iops"], r["kvmkit_iops"], r["speedup"] or 0,
                benchlib.fmt(r["qsd_lat_p50"], "%.1f"), benchlib.fmt(r["qsd_lat_p99"], "%.1f"),
                benchlib.fmt(r["kvmkit_lat_p50"], "%.1f"),
                benchlib.fmt(r["kvmkit_lat_p99"], "%.1f"),
                benchlib.fmt(r["qsd_cpu_s_per_mio"], "%.2f"),
                benchlib.fmt(r["kvmkit_cpu_s_per_mio"], "%.2f"),
                benchlib.fmt(r["cycles_ratio"], "%.2fx")))
        f.write("\n%s\n" % summary)


if __name__ == "__main__":
    main()
