#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Reading disk images: kvmkit's guestfs tools vs libguestfs's, side by side.

Two images are built in a temporary directory:
  debian.img  tests/guestfs/mkimages.sh's GPT image of a fake Debian 12
              (EFI vfat, ext4 root, swap; inspectable)
  bench.img   a whole-disk ext4 (256 MiB, 4 KiB blocks) holding the same
              Debian tree (so that inspection, which virt-copy-out and
              virt-tar-out need, finds an OS) plus /srv/bench/random.bin
              (50 MiB of random bytes) and /srv/bench/many/ (5,000 small
              files, 1-4,000 bytes, one directory, indexed by e2fsck -D)

Operations (the same arguments for both tools; kvmkit's are `kvmkit virt-cat
...` etc. from build/apps/kvmkit, or $KVMKIT_BUILD/apps/kvmkit):
  virt-cat          virt-cat -a debian.img /etc/hostname (inspection)
  virt-ls -lR       virt-ls -a bench.img -m /dev/sda -lR /
  virt-df           virt-df -a debian.img
  virt-filesystems  virt-filesystems -a debian.img --all --long
  virt-inspector    virt-inspector -a debian.img
  copy-out file     virt-copy-out -a bench.img /srv/bench/random.bin DIR (MB/s)
  copy-out dir      virt-copy-out -a bench.img /srv/bench/many DIR (files/s)
  tar-out dir       virt-tar-out -a bench.img /srv/bench/many OUT.tar (files/s)

libguestfs runs with LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=
force_tcg (its appliance does not boot under this machine's nested KVM), so
each of its commands costs 20-60 s: it runs --libguestfs-rounds rounds
(default 1) and kvmkit --rounds rounds (default 5). In each round the two
run one after the other, the order alternating from round to round; a round
has only kvmkit once libguestfs's rounds are done. Reported: the median wall
time of each, the ratio libguestfs/kvmkit (> 1: kvmkit is faster), MB/s or
files/s where it applies. Every copy-out and tar-out result is checked
against the files put in the image, and the two tools' outputs are compared
(the copied files must be byte-identical; for the stdout commands the
report says whether they printed the same). A kvmkit command that does not
exist yet (exit status 2, "unknown command") is reported as missing, never
replaced by anything else.

Where the outputs go: the images are built in a temporary directory
($TMPDIR or /tmp) and read from the page cache, but both tools write their
outputs (copied trees, tarballs, captured stdout) under --dest-dir, by
default /dev/shm when it is a writable directory (tmpfs), else $TMPDIR.
The reason: with 5,000 small files the copy-out is mostly the host's file
creation, and on this machine's /tmp (ext4 on the VM's virtual disk,
shared with other work) the same kvmkit binary took anywhere from 0.11 s
to 6 s from run to run, nearly all of it system time in file creation
(journal and writeback stalls of the host disk; a python loop creating the
same 5,000 files varied from 0.19 s to 7.8 s the same way), so the result
measured the disk, not the tools. On tmpfs both tools pay only the
kernel's file creation. The same directory is used for both tools. For the record, the copy-out of the directory is also run by
kvmkit alone with its output on the images' directory (--disk-dest-dir,
default the temporary directory, i.e. /tmp): reported as an informational
row (median, min, max), not counted in the ratios.

Usage: guestfs.py [--rounds N] [--libguestfs-rounds N] [--only OP,...] [--out PREFIX]
                  [--dest-dir DIR] [--disk-dest-dir DIR]
Writes bench/results/guestfs.{json,md} (or PREFIX.{json,md}).
"""
import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("KVMKIT_BUILD", os.path.join(ROOT, "build"))
KVMKIT = os.path.join(BUILD, "apps", "kvmkit")
TESTS = os.path.join(ROOT, "tests", "guestfs")
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, TESTS)
import benchlib  # noqa: E402
import mktree  # noqa: E402

LIBGUESTFS_ENV = {"LIBGUESTFS_BACKEND": "direct", "LIBGUESTFS_BACKEND_SETTINGS": "force_tcg",
                  "TZ": "UTC", "LC_ALL": "C.UTF-8"}
BIG_SIZE = 50 << 20
NFILES = 5000
BENCH_UUID = "6b766d6b-6974-4000-8000-0000000be4c4"


def sh(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode,
                                                   (r.stderr or r.stdout)[-2000:]))
    return r


def make_images(tmp):
    """debian.img from mkimages.sh; bench.img built here. Returns the
    source files of /srv/bench as {relative path: bytes}."""
    imgs = os.path.join(tmp, "mkimages")
    sh([os.path.join(TESTS, "mkimages.sh"), imgs])
    os.rename(os.path.join(imgs, "debian.img"), os.path.join(tmp, "debian.img"))
    shutil.rmtree(imgs)

    src = os.path.join(tmp, "bench-src")
    tree = mktree.tree_debian()
    tree.create(src)
    script = os.path.join(tmp, "bench.debugfs")
    with open(script, "w") as f:
        f.write(tree.debugfs_script())
    # A whole-disk root: /etc/fstab mounts only it.
    with open(os.path.join(src, "etc", "fstab"), "w") as f:
        f.write("UUID=%s / ext4 errors=remount-ro 0 1\n" % BENCH_UUID)
    files = {}
    bench = os.path.join(src, "srv", "bench")
    os.makedirs(os.path.join(bench, "many"))
    data = os.urandom(BIG_SIZE)
    with open(os.path.join(bench, "random.bin"), "wb") as f:
        f.write(data)
    files["random.bin"] = data
    seed = os.urandom(16)
    for i in range(NFILES):
        name = "many/file-%05d.dat" % i
        size = 1 + (i * 7919) % 4000
        body = hashlib.sha256(seed + b"%d" % i).digest() * (size // 32 + 1)
        with open(os.path.join(bench, name), "wb") as f:
            f.write(body[:size])
        files[name] = body[:size]
    img = os.path.join(tmp, "bench.img")
    with open(img, "wb") as f:
        f.truncate(256 << 20)
    env = dict(os.environ, MKE2FS_CONFIG=os.path.join(TESTS, "mke2fs.conf"), LC_ALL="C.UTF-8")
    sh(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-U", BENCH_UUID, "-d", src, img],
       env=env)
    sh(["debugfs", "-w", "-f", script, img])
    r = subprocess.run(["e2fsck", "-fyD", img], capture_output=True, text=True)
    if r.returncode > 1:
        raise RuntimeError("e2fsck bench.img: %s" % r.stdout[-2000:])
    shutil.rmtree(src)
    # Both tools start from the page cache.
    for name in ("debian.img", "bench.img"):
        with open(os.path.join(tmp, name), "rb") as f:
            while f.read(1 << 24):
                pass
    return files


def check_tree(root, files, prefix):
    """None if @root holds exactly @files under @prefix (e.g. "many/"),
    else what differs."""
    want = {k[len(prefix):]: v for k, v in files.items() if k.startswith(prefix)}
    got = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            got[os.path.relpath(p, root)] = p
    if set(got) != set(want):
        return "%d files, expected %d (e.g. missing %s, extra %s)" % (
            len(got), len(want), sorted(set(want) - set(got))[:1], sorted(set(got) - set(want))[:1])
    for k, p in got.items():
        with open(p, "rb") as f:
            if f.read() != want[k]:
                return "%s differs" % k
    return None


def check_tar(path, files, prefix):
    try:
        with tarfile.open(path) as t:
            got = {}
            for m in t.getmembers():
                if m.isfile():
                    got[os.path.normpath(m.name)] = t.extractfile(m).read()
    except (tarfile.TarError, OSError) as e:
        return "not a tar file: %s" % e
    want = {k[len(prefix):]: v for k, v in files.items() if k.startswith(prefix)}
    if set(got) != set(want):
        return "%d files, expected %d (e.g. %s)" % (len(got), len(want), sorted(got)[:2])
    bad = [k for k in want if got[k] != want[k]]
    return "%s differs" % bad[0] if bad else None


def same_tree(a, b):
    """True if directories (or files) @a and @b hold byte-identical files."""
    if os.path.isfile(a) or os.path.isfile(b):
        return os.path.isfile(a) and os.path.isfile(b) and open(a, "rb").read() == open(b, "rb").read()
    la = sorted(os.path.relpath(os.path.join(d, n), a) for d, _, ns in os.walk(a) for n in ns)
    lb = sorted(os.path.relpath(os.path.join(d, n), b) for d, _, ns in os.walk(b) for n in ns)
    return la == lb and all(same_tree(os.path.join(a, p), os.path.join(b, p)) for p in la)


def tar_contents(path):
    with tarfile.open(path) as t:
        return sorted((os.path.normpath(m.name), m.type, m.isfile() and t.extractfile(m).read())
                      for m in t.getmembers())


# name, argv after the tool name (IMG/OUT placeholders), unit, what to check
OPS = [
    ("virt-cat", "virt-cat", ["-a", "debian.img", "/etc/hostname"], None),
    ("virt-ls -lR", "virt-ls", ["-a", "bench.img", "-m", "/dev/sda", "-lR", "/"], None),
    ("virt-df", "virt-df", ["-a", "debian.img"], None),
    ("virt-filesystems", "virt-filesystems", ["-a", "debian.img", "--all", "--long"], None),
    ("virt-inspector", "virt-inspector", ["-a", "debian.img"], None),
    ("copy-out file", "virt-copy-out", ["-a", "bench.img", "/srv/bench/random.bin", "OUT"], "file"),
    ("copy-out dir", "virt-copy-out", ["-a", "bench.img", "/srv/bench/many", "OUT"], "dir"),
    ("tar-out dir", "virt-tar-out", ["-a", "bench.img", "/srv/bench/many", "OUT.tar"], "tar"),
]


class Side:
    def __init__(self, name, tmp, work):
        self.name = name
        self.tmp = tmp    # the images (the working directory of the commands)
        self.work = work  # outputs: --dest-dir

    def argv(self, tool, args):
        return ([tool] if self.name == "libguestfs" else [KVMKIT, tool]) + args

    def env(self):
        return dict(os.environ, **LIBGUESTFS_ENV) if self.name == "libguestfs" else \
            dict(os.environ, TZ="UTC", LC_ALL="C.UTF-8")


def run_op(side, op, files, keep):
    """One timed run. Returns a dict: status ok/missing/failed, seconds,
    error, and the output path kept in @keep for the comparison."""
    name, tool, args, kind = op
    out = os.path.join(side.work, "out-%s" % side.name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    args = [os.path.join(out, "x.tar") if a == "OUT.tar" else out if a == "OUT" else a
            for a in args]
    stdout_path = os.path.join(side.work, "stdout-%s" % side.name)
    with open(stdout_path, "wb") as so:
        t0 = time.monotonic()
        r = subprocess.run(side.argv(tool, args), cwd=side.tmp, env=side.env(), stdout=so,
                           stderr=subprocess.PIPE, timeout=3600)
        secs = time.monotonic() - t0
    err = r.stderr.decode(errors="replace")
    if side.name == "kvmkit" and r.returncode == 2 and "unknown command" in err:
        return {"status": "missing", "error": err.strip().splitlines()[0]}
    if r.returncode != 0:
        return {"status": "failed", "seconds": round(secs, 3),
                "error": "exit %d: %s" % (r.returncode, err.strip()[-500:])}
    res = {"status": "ok", "seconds": round(secs, 3)}
    problem = None
    if kind == "file":
        problem = check_tree(out, {"random.bin": files["random.bin"]}, "")
        result_path = os.path.join(out, "random.bin")
    elif kind == "dir":
        problem = check_tree(os.path.join(out, "many"), files, "many/")
        result_path = os.path.join(out, "many")
    elif kind == "tar":
        problem = check_tar(os.path.join(out, "x.tar"), files, "many/")
        result_path = os.path.join(out, "x.tar")
    else:
        result_path = stdout_path
    if problem:
        res.update(status="failed", error="wrong output: " + problem)
        return res
    # Keep the last good output of each side for the comparison.
    dest = os.path.join(side.work, "keep-%s" % side.name)
    if os.path.isdir(dest) and not os.path.islink(dest):
        shutil.rmtree(dest)
    elif os.path.lexists(dest):
        os.remove(dest)
    os.rename(result_path, dest)
    keep[side.name] = dest
    return res


def compare(kind, a, b):
    if kind in ("file", "dir"):
        return same_tree(a, b)
    if kind == "tar":
        return tar_contents(a) == tar_contents(b)
    return open(a, "rb").read() == open(b, "rb").read()


def default_dest_dir():
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return tempfile.gettempdir()


def fs_type(path):
    """The type of the filesystem holding @path ("tmpfs", "ext4")."""
    r = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "--target", path],
                       capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        r = subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True)
    lines = r.stdout.split()
    return lines[-1] if lines else "?"  # the last of stacked mounts is the one seen


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="kvmkit rounds (default 5)")
    ap.add_argument("--libguestfs-rounds", type=int, default=None,
                    help="libguestfs rounds (default 1; at most --rounds; 0: kvmkit only)")
    ap.add_argument("--only", help="comma-separated operation names")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "guestfs"))
    ap.add_argument("--dest-dir", default=None,
                    help="where both tools write their outputs (default /dev/shm if writable, "
                         "else $TMPDIR)")
    ap.add_argument("--disk-dest-dir", default=None,
                    help="output directory of the informational kvmkit-only copy-out row "
                         "(default: the images' temporary directory; 'none' to skip it)")
    args = ap.parse_args()
    dest_dir = os.path.abspath(args.dest_dir or default_dest_dir())
    lg_rounds = min(args.rounds, 1 if args.libguestfs_rounds is None else args.libguestfs_rounds)
    for tool in ("virt-ls", "virt-copy-out", "guestfish", "mke2fs", "debugfs", "qemu-img"):
        if not shutil.which(tool):
            sys.exit("guestfs.py: %s is missing (scripts/deps.sh)" % tool)
    if not os.access(KVMKIT, os.X_OK):
        sys.exit("guestfs.py: %s not built (meson compile -C build, or set KVMKIT_BUILD)" % KVMKIT)
    ops = OPS
    if args.only:
        want = set(args.only.split(","))
        ops = [o for o in OPS if o[0] in want]
    versions = {
        "libguestfs": sh(["guestfish", "--version"]).stdout.strip(),
        "kvmkit": subprocess.run([KVMKIT, "--version"], capture_output=True,
                                 text=True).stdout.strip(),
        "qemu": sh(["qemu-system-x86_64", "--version"]).stdout.splitlines()[0],
    }
    tmp = tempfile.mkdtemp(prefix="kkgfs-")
    work = tempfile.mkdtemp(prefix="kkgfs-out-", dir=dest_dir)
    disk_work = None
    if args.disk_dest_dir != "none":
        disk_work = tempfile.mkdtemp(prefix="kkgfs-disk-", dir=args.disk_dest_dir or tmp)
    dest_fs = fs_type(work)
    cases = []
    disk_case = None
    try:
        t0 = time.monotonic()
        files = make_images(tmp)
        print("images built in %.1f s (%s); outputs in %s (%s)" % (
            time.monotonic() - t0, tmp, work, dest_fs), flush=True)
        sides = [Side("libguestfs", tmp, work), Side("kvmkit", tmp, work)]
        for op in ops:
            name, tool, oargs, kind = op
            runs = {"libguestfs": [], "kvmkit": []}
            keep = {}
            kvmkit_missing = None
            for r in range(args.rounds):
                order = sides if r % 2 == 0 else sides[::-1]
                for side in order:
                    if side.name == "libguestfs" and r >= lg_rounds:
                        continue
                    if side.name == "kvmkit" and kvmkit_missing:
                        continue
                    res = run_op(side, op, files, keep)
                    runs[side.name].append(res)
                    if res["status"] == "missing":
                        kvmkit_missing = res["error"]
                    print("%-17s round %d %-10s %-7s %s" % (
                        name, r + 1, side.name, res["status"],
                        "%.2f s" % res["seconds"] if "seconds" in res else res.get("error", "")),
                        flush=True)
                    if res["status"] == "failed":
                        print("    " + res["error"], flush=True)
            case = {"op": name, "command": " ".join([tool] + oargs)}
            for s in ("libguestfs", "kvmkit"):
                ok = [x["seconds"] for x in runs[s] if x["status"] == "ok"]
                statuses = {x["status"] for x in runs[s]}
                case[s] = {
                    "status": "ok" if ok and statuses == {"ok"} else
                              "missing" if "missing" in statuses else "failed" if runs[s] else "not run",
                    "runs_s": [x.get("seconds") for x in runs[s]],
                    "median_s": round(statistics.median(ok), 3) if ok else None,
                    "errors": sorted({x["error"] for x in runs[s] if "error" in x}),
                }
                med = case[s]["median_s"]
                if med and kind == "file":
                    case[s]["mb_per_s"] = round(BIG_SIZE / 1e6 / med, 1)
                if med and kind in ("dir", "tar"):
                    case[s]["files_per_s"] = round(NFILES / med)
            lg, kv = case["libguestfs"]["median_s"], case["kvmkit"]["median_s"]
            case["ratio"] = round(lg / kv, 2) if lg and kv else None
            if len(keep) == 2:
                case["same_output"] = compare(kind, keep["libguestfs"], keep["kvmkit"])
            else:
                case["same_output"] = None
            cases.append(case)
        dir_op = [o for o in ops if o[3] == "dir"]
        if disk_work and dir_op:
            # Informational: kvmkit alone, its output on a disk filesystem.
            side = Side("kvmkit", tmp, disk_work)
            runs = []
            for r in range(args.rounds):
                res = run_op(side, dir_op[0], files, {})
                runs.append(res)
                print("%-17s round %d %-10s %-7s %s" % (
                    dir_op[0][0] + " (disk)", r + 1, side.name, res["status"],
                    "%.2f s" % res["seconds"] if "seconds" in res else res.get("error", "")),
                    flush=True)
            ok = [x["seconds"] for x in runs if x["status"] == "ok"]
            disk_case = {
                "op": dir_op[0][0], "command": " ".join([dir_op[0][1]] + dir_op[0][2]),
                "dest_dir": os.path.dirname(disk_work), "dest_fs": fs_type(disk_work),
                "status": "ok" if len(ok) == len(runs) else "failed",
                "runs_s": [x.get("seconds") for x in runs],
                "median_s": round(statistics.median(ok), 3) if ok else None,
                "min_s": min(ok) if ok else None, "max_s": max(ok) if ok else None,
                "errors": sorted({x["error"] for x in runs if "error" in x}),
            }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        if disk_work:
            shutil.rmtree(disk_work, ignore_errors=True)

    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "rounds": args.rounds, "libguestfs_rounds": lg_rounds,
        "libguestfs_env": LIBGUESTFS_ENV, "versions": versions,
        "big_file_bytes": BIG_SIZE, "small_files": NFILES,
        "dest_dir": dest_dir, "dest_fs": dest_fs, "cases": cases,
        "kvmkit_disk_dest": disk_case,
    }
    ratios = [c["ratio"] for c in cases if c["ratio"]]
    result["geomean_ratio"] = round(statistics.geometric_mean(ratios), 2) if ratios else None
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")

    def cell(c, s):
        x = c[s]
        if x["status"] != "ok":
            return x["status"]
        extra = ""
        if "mb_per_s" in x:
            extra = " (%.1f MB/s)" % x["mb_per_s"]
        if "files_per_s" in x:
            extra = " (%d files/s)" % x["files_per_s"]
        return "%.3f s%s" % (x["median_s"], extra)

    md = ["# Reading disk images: kvmkit vs libguestfs", "",
          "`python3 bench/guestfs/guestfs.py --rounds %d --libguestfs-rounds %d` (%s); %s, "
          "LIBGUESTFS_BACKEND=direct, force_tcg (TCG appliance); %s. Both tools write their "
          "outputs to %s (%s); the images are read from the page cache." % (
              args.rounds, lg_rounds, result["date"], versions["libguestfs"], versions["qemu"],
              dest_dir, dest_fs),
          "",
          "| operation | libguestfs | kvmkit | libguestfs/kvmkit | same output |",
          "|---|---|---|---|---|"]
    for c in cases:
        same = {True: "yes", False: "NO", None: "-"}[c["same_output"]]
        md.append("| %s | %s | %s | %s | %s |" % (c["op"], cell(c, "libguestfs"), cell(c, "kvmkit"),
                                                 benchlib.fmt(c["ratio"], "%.1fx"), same))
    md += ["", "Medians of the wall time of each command (libguestfs: %d round(s), kvmkit: %d); "
           "ratio > 1: kvmkit is faster. Geometric mean of the ratios: %s. MB = 10^6 bytes; "
           "%d small files; the 50 MiB file is random." % (
               lg_rounds, args.rounds, benchlib.fmt(result["geomean_ratio"], "%.1fx"), NFILES), ""]
    if disk_case:
        md += ["Informational, not in the ratios: kvmkit's `%s` with its output on %s (%s, the "
               "host's disk): median %s, min %s, max %s over %d runs (%s). Creating 5,000 files "
               "there is bound by the host disk's journal and writeback, which is why the "
               "comparison writes to %s." % (
                   disk_case["command"], disk_case["dest_dir"], disk_case["dest_fs"],
                   benchlib.fmt(disk_case["median_s"], "%.3f s"),
                   benchlib.fmt(disk_case["min_s"], "%.3f s"),
                   benchlib.fmt(disk_case["max_s"], "%.3f s"), len(disk_case["runs_s"]),
                   disk_case["status"], dest_fs), ""]
    for c in cases:
        for s in ("libguestfs", "kvmkit"):
            for e in c[s]["errors"]:
                md.append("- %s, %s: %s" % (c["op"], s, e.replace("\n", " ")))
    if disk_case:
        for e in disk_case["errors"]:
            md.append("- %s (disk), kvmkit: %s" % (disk_case["op"], e.replace("\n", " ")))
    md.append("")
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
