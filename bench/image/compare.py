#!/usr/bin/env python3
"""Disk-image tools: `kvmkit img` against `qemu-img` (Debian qemu-utils).

One 2 GiB image of mixed data (a third random, a third text-like, a third
zeros, interleaved in 64 MiB stretches) is made once; then, alternating the
two tools case by case for --rounds rounds, with the median of the rounds:

  convert qcow2->raw   convert -O raw of the qcow2 image
  convert raw->qcow2   convert -O qcow2 of the raw image
  convert compressed   convert -c -O qcow2 of the raw image (zlib)
  bench read           bench -c N -d 32 -s 4k -t none (O_DIRECT), strided
  bench write          the same with -w, on a fresh copy of the qcow2 image

Both tools get the same arguments (qemu-img bench walks the image with a
fixed step; -S 1052672, 1 MiB + 4 KiB, scatters the 4 KiB requests over the
whole image, each 4 KiB aligned so that -t none really is O_DIRECT for both).
The convert cases other than compression and the bench cases are short and
noisy on a shared machine: they run --fast-rounds rounds (default 7).
speedup = qemu-img seconds / kvmkit seconds (> 1: kvmkit is faster).
Writes JSON to --json (default bench/results/image.json).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time


def run(cmd):
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.monotonic() - t0


def make_image(path_raw, path_qcow2, size):
    if os.path.exists(path_raw) and os.path.getsize(path_raw) == size and os.path.exists(path_qcow2):
        return
    chunk = 64 << 20
    line = b"kvmkit image benchmark: some text that compresses, line %08d\n"
    with open(path_raw, "wb") as f:
        f.truncate(size)
        for i, off in enumerate(range(0, size, chunk)):
            kind = i % 3
            f.seek(off)
            if kind == 0:
                f.write(os.urandom(chunk))
            elif kind == 1:
                text = b"".join(line % n for n in range(chunk // len(line) + 1))
                f.write(text[:chunk])
            # kind 2: a hole (zeros)
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", path_raw, path_qcow2], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the compressed convert")
    ap.add_argument("--fast-rounds", type=int, default=7, help="rounds of the other cases")
    ap.add_argument("--size", type=int, default=2 << 30)
    ap.add_argument("--count", type=int, default=100000, help="bench requests")
    ap.add_argument("--dir", default="/var/tmp/kvmkit-bench-image")
    ap.add_argument("--kvmkit", default="build/apps/kvmkit")
    ap.add_argument("--json", default="bench/results/image.json")
    args = ap.parse_args()
    if not shutil.which("qemu-img"):
        print("qemu-img not installed", file=sys.stderr)
        return 1
    os.makedirs(args.dir, exist_ok=True)
    d = args.dir
    raw, qcow2 = os.path.join(d, "mixed.raw"), os.path.join(d, "mixed.qcow2")
    make_image(raw, qcow2, args.size)
    out = os.path.join(d, "out")
    k = [args.kvmkit, "img"]
    q = ["qemu-img"]
    bench_args = ["-c", str(args.count), "-d", "32", "-s", "4k", "-S", "1052672", "-t", "none"]
    cases = [
        ("convert qcow2->raw", lambda t: t + ["convert", "-O", "raw", qcow2, out], None),
        ("convert raw->qcow2", lambda t: t + ["convert", "-O", "qcow2", raw, out], None),
        ("convert compressed", lambda t: t + ["convert", "-c", "-O", "qcow2", raw, out], None),
        ("bench read 4k d32", lambda t: t + ["bench"] + bench_args + [qcow2], None),
        ("bench write 4k d32", lambda t: t + ["bench", "-w"] + bench_args + [out], "copy"),
    ]
    results = []
    for name, cmd, prep in cases:
        times = {"kvmkit": [], "qemu-img": []}
        rounds = args.rounds if "compressed" in name else args.fast_rounds
        for r in range(rounds):
            order = [("kvmkit", k), ("qemu-img", q)] if r % 2 == 0 else [("qemu-img", q), ("kvmkit", k)]
            for tool, prefix in order:
                if os.path.exists(out):
                    os.unlink(out)
                if prep == "copy":
                    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", out, str(args.size)],
                                   check=True)
                times[tool].append(run(cmd(prefix)))
        if os.path.exists(out):
            os.unlink(out)
        kt, qt = statistics.median(times["kvmkit"]), statistics.median(times["qemu-img"])
        results.append({"case": name, "kvmkit_s": round(kt, 3), "qemu_img_s": round(qt, 3),
                        "speedup": round(qt / kt, 3), "kvmkit_runs": times["kvmkit"],
                        "qemu_img_runs": times["qemu-img"]})
        print("%-22s kvmkit %7.3f s   qemu-img %7.3f s   speedup %.2fx" % (name, kt, qt, qt / kt),
              flush=True)
    speedups = [c["speedup"] for c in results]
    geo = statistics.geometric_mean(speedups)
    doc = {
        "benchmark": "image",
        "anchor": subprocess.run(["qemu-img", "--version"], capture_output=True,
                                 text=True).stdout.splitlines()[0],
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rounds": {"convert compressed": args.rounds, "other cases": args.fast_rounds},
        "image_size": args.size,
        "bench_requests": args.count,
        "statistic": "median seconds; speedup = qemu-img / kvmkit",
        "cases": results,
        "geomean_speedup": round(geo, 3),
        "min_speedup": min(speedups),
    }
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print("image: geomean speedup %.2fx (min %.2fx) over %d cases" % (geo, min(speedups), len(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
