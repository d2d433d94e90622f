#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Reference outputs of the real libguestfs tools on kvmkit's test images.

For each image of tests/guestfs/mkimages.sh, runs libguestfs's virt-ls,
virt-cat, virt-df, virt-filesystems, virt-inspector and one guestfish script
(tests/guestfs/fish-script-NAME.txt) and stores, under
tests/guestfs/ref/KEY/ (KEY: the first 16 hex digits of the image's sha256;
for an overlay, of sha256(overlay bytes + backing bytes)):

  SLUG.out      the command's stdout
  SLUG.err      its stderr (often empty)
  SLUG.status   the command line (IMG is the image's name, run in the
                image's directory), the sha256 of the guestfish script, and
                the exit status
  image         the image's name and full sha256 (and its backing file's)
  commands.tsv  SLUG <TAB> exit status <TAB> command line, for every command

It is a cache: a command whose SLUG.status already records the same
command line (and script checksum) is not run again, so a changed image
gets a new directory and a changed command is rerun. Commands run one at a
time (each boots libguestfs's appliance: 20-60 s under TCG) with
LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg TZ=UTC
LC_ALL=C.UTF-8 (tests/guestfs/ref/README.md).

Usage: libguestfs-ref.py [--images DIR] [--only NAME[,NAME...]] [--list]
  --images DIR  images already built by mkimages.sh (default: build them in
                a temporary directory)
  --only        image names (ext4, mbr, debian, debian.qcow2, fat32,
                overlay, backing)
  --list        print the commands and whether each is cached; run nothing
"""
import argparse
import hashlib
import os
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REF = os.path.join(HERE, "ref")

ENV = {
    "LIBGUESTFS_BACKEND": "direct",
    "LIBGUESTFS_BACKEND_SETTINGS": "force_tcg",
    "TZ": "UTC",
    "LC_ALL": "C.UTF-8",
    "LANG": "C.UTF-8",
}


def fish(name):
    """The guestfish run of fish-script-NAME.txt (path relative to the repo)."""
    return ["guestfish", "--ro", "-a", "IMG", "-f",
            "tests/guestfs/fish-script-%s.txt" % name]


def standard():
    """virt-df and virt-filesystems, same for every image."""
    return [
        ("virt-df", ["virt-df", "-a", "IMG"]),
        ("virt-df-h", ["virt-df", "-a", "IMG", "-h"]),
        ("virt-df-csv", ["virt-df", "-a", "IMG", "--csv"]),
        ("virt-filesystems-all-long", ["virt-filesystems", "-a", "IMG", "--all", "--long"]),
        ("virt-filesystems-all-long-h", ["virt-filesystems", "-a", "IMG", "--all", "--long", "-h"]),
        ("virt-filesystems-all-long-csv",
         ["virt-filesystems", "-a", "IMG", "--all", "--long", "--csv"]),
    ]


# Per image: (name, file, backing file or None, [(slug, argv)]). IMG in argv
# is replaced by the image's file name; commands run in the images' directory
# so no temporary path appears in an output.
def images():
    ext4 = [
        ("virt-ls-lR", ["virt-ls", "-a", "IMG", "-m", "/dev/sda", "-lR", "/"]),
        ("virt-ls-lR-no-mount", ["virt-ls", "-a", "IMG", "-lR", "/"]),
        # virt-ls refuses --checksum without -l: the error is a reference too.
        ("virt-ls-R-checksum", ["virt-ls", "-a", "IMG", "-m", "/dev/sda", "-R", "--checksum", "/"]),
        ("virt-ls-lR-checksum",
         ["virt-ls", "-a", "IMG", "-m", "/dev/sda", "-lR", "--checksum", "/"]),
        ("virt-ls-lR-uids-time-t-extra-csv",
         ["virt-ls", "-a", "IMG", "-m", "/dev/sda", "-lR", "--uids", "--time-t",
          "--extra-stats", "--csv", "/"]),
        # -h, like --checksum, needs -lR: -l -h is an error.
        ("virt-ls-lh-data", ["virt-ls", "-a", "IMG", "-m", "/dev/sda", "-l", "-h", "/data"]),
        ("virt-ls-lRh-data", ["virt-ls", "-a", "IMG", "-m", "/dev/sda", "-lR", "-h", "/data"]),
        ("virt-cat-small", ["virt-cat", "-a", "IMG", "-m", "/dev/sda", "/data/small.txt"]),
        ("virt-cat-symlink", ["virt-cat", "-a", "IMG", "-m", "/dev/sda", "/links/rel"]),
        ("virt-cat-space", ["virt-cat", "-a", "IMG", "-m", "/dev/sda", "/names/with space.txt"]),
        ("virt-cat-dir", ["virt-cat", "-a", "IMG", "-m", "/dev/sda", "/dir1"]),
    ] + standard() + [("guestfish", fish("ext4"))]
    mbr = [
        ("virt-ls-lR-sda1", ["virt-ls", "-a", "IMG", "-m", "/dev/sda1", "-lR", "/"]),
        ("virt-ls-lR-sda5", ["virt-ls", "-a", "IMG", "-m", "/dev/sda5", "-lR", "/"]),
        ("virt-ls-lR-checksum-sda5",
         ["virt-ls", "-a", "IMG", "-m", "/dev/sda5", "-lR", "--checksum", "/"]),
        ("virt-cat-sda5-long-name",
         ["virt-cat", "-a", "IMG", "-m", "/dev/sda5", "/Hello from vfat.txt"]),
        ("virt-cat-sda1-symlink", ["virt-cat", "-a", "IMG", "-m", "/dev/sda1", "/dir/link"]),
        ("virt-filesystems-all-long-uuid-csv",
         ["virt-filesystems", "-a", "IMG", "--all", "--long", "--uuid", "--csv"]),
    ] + [c for c in standard() if not c[0].endswith("-h")] + [("guestfish", fish("mbr"))]
    debian = [
        ("virt-ls-lR", ["virt-ls", "-a", "IMG", "-lR", "/"]),
        ("virt-ls-lR-uids-time-t-extra-csv-etc",
         ["virt-ls", "-a", "IMG", "-lR", "--uids", "--time-t", "--extra-stats", "--csv", "/etc"]),
        ("virt-cat-hostname", ["virt-cat", "-a", "IMG", "/etc/hostname"]),
        ("virt-cat-esp-grub-cfg", ["virt-cat", "-a", "IMG", "/boot/efi/EFI/debian/grub.cfg"]),
        ("virt-filesystems-all-long-uuid-csv",
         ["virt-filesystems", "-a", "IMG", "--all", "--long", "--uuid", "--csv"]),
        ("virt-inspector", ["virt-inspector", "-a", "IMG"]),
    ] + standard() + [("guestfish", fish("debian"))]
    # The same disk as debian.img: the outputs must be the same.
    debian_qcow2 = [
        ("virt-ls-lR", ["virt-ls", "-a", "IMG", "-lR", "/"]),
        ("virt-inspector", ["virt-inspector", "-a", "IMG"]),
    ]
    fat32 = [
        ("virt-ls-lR", ["virt-ls", "-a", "IMG", "-m", "/dev/sda", "-lR", "/"]),
        ("virt-ls-lR-checksum",
         ["virt-ls", "-a", "IMG", "-m", "/dev/sda", "-lR", "--checksum", "/"]),
        ("virt-cat-unicode", ["virt-cat", "-a", "IMG", "-m", "/dev/sda", "/Ünïcödé – ƒïlé.txt"]),
        ("virt-df", ["virt-df", "-a", "IMG"]),
        ("virt-filesystems-all-long-csv",
         ["virt-filesystems", "-a", "IMG", "--all", "--long", "--csv"]),
        ("guestfish", fish("fat32")),
    ]
    overlay = [
        ("virt-ls-lR", ["virt-ls", "-a", "IMG", "-m", "/dev/sda", "-lR", "/"]),
        ("virt-cat-changed", ["virt-cat", "-a", "IMG", "-m", "/dev/sda", "/hello.txt"]),
        ("virt-df", ["virt-df", "-a", "IMG"]),
        ("virt-filesystems-all-long-csv",
         ["virt-filesystems", "-a", "IMG", "--all", "--long", "--csv"]),
        ("guestfish", fish("overlay")),
    ]
    backing = [
        ("virt-cat-original", ["virt-cat", "-a", "IMG", "-m", "/dev/sda", "/hello.txt"]),
    ]
    return [
        ("ext4", "ext4.img", None, ext4),
        ("debian", "debian.img", None, debian),
        ("mbr", "mbr.img", None, mbr),
        ("fat32", "fat32.img", None, fat32),
        ("overlay", "overlay.qcow2", "backing.qcow2", overlay),
        ("backing", "backing.qcow2", None, backing),
        ("debian.qcow2", "debian.qcow2", None, debian_qcow2),
    ]


def sha256_file(path, h=None):
    h = h or hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h


def status_text(argv):
    """What SLUG.status holds before the exit status: the command line and
    the checksum of a guestfish script."""
    text = "command: %s\n" % shlex.join(argv)
    if argv[0] == "guestfish":
        script = os.path.join(ROOT, argv[argv.index("-f") + 1])
        text += "script-sha256: %s\n" % sha256_file(script).hexdigest()
    return text


def cached(d, slug, argv):
    try:
        with open(os.path.join(d, slug + ".status")) as f:
            have = f.read()
    except FileNotFoundError:
        return False
    return have.startswith(status_text(argv)) and os.path.exists(os.path.join(d, slug + ".out"))


def run(imgdir, d, slug, argv, image):
    full = [image if a == "IMG" else a for a in argv]
    if full[0] == "guestfish":
        i = full.index("-f") + 1
        full[i] = os.path.join(ROOT, full[i])
    env = dict(os.environ, **ENV)
    t0 = time.monotonic()
    r = subprocess.run(full, cwd=imgdir, env=env, capture_output=True, timeout=1800)
    secs = time.monotonic() - t0
    for ext, data in ((".out", r.stdout), (".err", r.stderr)):
        with open(os.path.join(d, slug + ext + ".tmp"), "wb") as f:
            f.write(data)
    with open(os.path.join(d, slug + ".status.tmp"), "w") as f:
        f.write(status_text(argv) + "exit: %d\n" % r.returncode)
    # .status last: it is what marks the command done.
    for ext in (".out", ".err", ".status"):
        os.replace(os.path.join(d, slug + ext + ".tmp"), os.path.join(d, slug + ext))
    return r.returncode, secs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images")
    ap.add_argument("--only")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    tmp = None
    if args.images:
        imgdir = os.path.abspath(args.images)
    else:
        tmp = tempfile.mkdtemp(prefix="kvmkit-gfsref.")
        imgdir = tmp
        subprocess.run([os.path.join(HERE, "mkimages.sh"), imgdir], check=True,
                       stdout=subprocess.DEVNULL)
    only = set(args.only.split(",")) if args.only else None
    total = 0.0
    try:
        for name, image, backing, cmds in images():
            if only and name not in only:
                continue
            h = sha256_file(os.path.join(imgdir, image))
            ident = "%s %s\n" % (image, h.hexdigest())
            if backing:
                bh = sha256_file(os.path.join(imgdir, backing)).hexdigest()
                h = sha256_file(os.path.join(imgdir, backing), h)
                ident += "backing %s %s\nkey: sha256(%s + %s)\n" % (backing, bh, image, backing)
            key = h.hexdigest()[:16]
            d = os.path.join(REF, key)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "image"), "w") as f:
                f.write(ident)
            for slug, argv in cmds:
                if cached(d, slug, argv):
                    print("%-13s %-40s cached" % (name, slug), flush=True)
                    continue
                if args.list:
                    print("%-13s %-40s TO RUN: %s" % (name, slug, shlex.join(argv)), flush=True)
                    continue
                rc, secs = run(imgdir, d, slug, argv, image)
                total += secs
                print("%-13s %-40s exit %d  %5.1f s" % (name, slug, rc, secs), flush=True)
            # Outputs of commands no longer in the table go.
            slugs = {slug for slug, _ in cmds}
            for f in os.listdir(d):
                base, ext = os.path.splitext(f)
                if ext in (".out", ".err", ".status") and base not in slugs and not args.list:
                    os.remove(os.path.join(d, f))
            rows = []
            for slug, argv in cmds:
                p = os.path.join(d, slug + ".status")
                if os.path.exists(p):
                    rc = open(p).read().rsplit("exit: ", 1)[1].strip()
                    rows.append("%s\t%s\t%s\n" % (slug, rc, shlex.join(argv)))
            with open(os.path.join(d, "commands.tsv"), "w") as f:
                f.writelines(rows)
    finally:
        if tmp:
            subprocess.run(["rm", "-rf", tmp])
    print("libguestfs time: %.0f s" % total)


if __name__ == "__main__":
    main()
