#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Source trees for tests/guestfs/mkimages.sh, written deterministically.

Usage: mktree.py TREE DIR [DEBUGFS_SCRIPT]

Creates DIR (which must not exist) holding tree TREE (ext4, mbr-ext2,
mbr-ext4, fat, mbr-vfat, esp, debian, backing, overlay) with fixed contents,
modes and mtimes. What a source tree cannot carry reproducibly -- owners,
device nodes and FIFOs (creating them needs root), xattrs (tmpfs may not take
user.*), ctimes, atimes and crtimes -- is written as a debugfs(8) command file
to DEBUGFS_SCRIPT, to run with `debugfs -w -f DEBUGFS_SCRIPT fs.img` after
`mke2fs -d DIR`. FAT trees need no script (FAT has no owners; mcopy -m keeps
the mtimes).

Every byte comes from this file and tests/guestfs/debian-dpkg-status: no
randomness, no host files, no current time.
"""
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# 2024-01-02 03:04:05 UTC: the default mtime; ctimes and crtimes are all
# CTIME. Every time is far more than six months in the past, so `ls -l` in
# libguestfs's appliance prints a year, not a time of day, whatever the date.
T0 = 1704164645
CTIME = 1704200000
ROOT_UID = 0


def prand(seed, n):
    """@n pseudo-random bytes from @seed (SHA-256 in counter mode)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"%s:%d" % (seed.encode(), i)).digest()
        i += 1
    return bytes(out[:n])


def elf_x86_64(tag):
    """A tiny valid static x86-64 ELF executable that exits 0; @tag is
    appended inside its loaded segment so each program differs."""
    code = bytes.fromhex("b83c00000031ff0f05")  # mov eax,60; xor edi,edi; syscall
    base = 0x400000
    ehsize, phsize = 64, 56
    body = code + b"\0" + tag.encode() + b"\0"
    size = ehsize + phsize + len(body)
    entry = base + ehsize + phsize
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    eh = ident + struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, entry, ehsize, 0, 0,
                             ehsize, phsize, 1, 0, 0, 0)
    ph = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    return eh + ph + body


def lines(n, prefix="line"):
    return "".join("%s %d\n" % (prefix, i) for i in range(1, n + 1)).encode()


class Tree:
    """A list of entries, created in order (parents before children)."""

    def __init__(self):
        self.entries = []

    def dir(self, path, mode=0o755, uid=0, gid=0, mtime=T0, xattrs=None):
        self.entries.append(dict(kind="dir", path=path, mode=mode, uid=uid, gid=gid,
                                 mtime=mtime, xattrs=xattrs or {}))

    def file(self, path, data=b"", mode=0o644, uid=0, gid=0, mtime=T0, xattrs=None,
             sparse=None):
        if isinstance(data, str):
            data = data.encode()
        self.entries.append(dict(kind="file", path=path, data=data, mode=mode, uid=uid,
                                 gid=gid, mtime=mtime, xattrs=xattrs or {}, sparse=sparse))

    def symlink(self, path, target, uid=0, gid=0, mtime=T0):
        self.entries.append(dict(kind="symlink", path=path, target=target, mode=0o777,
                                 uid=uid, gid=gid, mtime=mtime, xattrs={}))

    def hardlink(self, path, to):
        self.entries.append(dict(kind="hardlink", path=path, to=to))

    def node(self, path, kind, mode, major=0, minor=0, uid=0, gid=0, mtime=T0):
        """kind: "fifo", "chr" or "blk"; made by debugfs (no root needed)."""
        self.entries.append(dict(kind=kind, path=path, mode=mode, major=major, minor=minor,
                                 uid=uid, gid=gid, mtime=mtime, xattrs={}))

    def create(self, top):
        os.makedirs(top)
        os.chmod(top, 0o755)
        dirs = []
        for e in self.entries:
            p = os.path.join(top, e["path"].lstrip("/"))
            k = e["kind"]
            if k == "dir":
                os.mkdir(p)
                dirs.append(e)
            elif k == "file":
                with open(p, "wb") as f:
                    if e["sparse"]:
                        size, chunks = e["sparse"]
                        for off, data in chunks:
                            f.seek(off)
                            f.write(data)
                        f.truncate(size)
                    else:
                        f.write(e["data"])
            elif k == "symlink":
                os.symlink(e["target"], p)
            elif k == "hardlink":
                os.link(os.path.join(top, e["to"].lstrip("/")), p)
            if k in ("file", "dir"):
                # Readable and searchable for whoever runs mke2fs -d; the
                # debugfs script sets the real mode.
                os.chmod(p, e["mode"] | (0o700 if k == "dir" else 0o600))
            if k in ("file", "symlink"):
                os.utime(p, (e["mtime"], e["mtime"]), follow_symlinks=False)
        # Directory mtimes last: creating entries changed them.
        for e in reversed(dirs):
            p = os.path.join(top, e["path"].lstrip("/"))
            os.utime(p, (e["mtime"], e["mtime"]))
        os.utime(top, (T0, T0))

    def debugfs_script(self, root_mode=0o755):
        """debugfs commands: device nodes, owners, modes of nodes, xattrs and
        all four times of every inode (root and lost+found included)."""
        out = []

        def q(path):
            assert '"' not in path and "\n" not in path
            return '"%s"' % path

        def times(path, mtime):
            for field, t in (("atime", mtime), ("mtime", mtime), ("ctime", CTIME),
                             ("crtime", CTIME)):
                out.append("sif %s %s @%d" % (q(path), field, t))
                out.append("sif %s %s_extra 0" % (q(path), field))

        for e in self.entries:
            k = e["kind"]
            if k == "hardlink":
                continue
            path = e["path"]
            # debugfs's mknod takes a name in the current directory, not a path.
            parent, name = os.path.split(path)
            if k == "fifo":
                out += ["cd %s" % q(parent), "mknod %s p" % q(name), "cd /"]
            elif k in ("chr", "blk"):
                out += ["cd %s" % q(parent),
                        "mknod %s %s %d %d" % (q(name), "c" if k == "chr" else "b",
                                               e["major"], e["minor"]),
                        "cd /"]
            if k != "symlink":
                # Also for files and directories: a non-root chmod may drop
                # setgid, and the umask must not matter.
                ftype = {"fifo": 0o010000, "chr": 0o020000, "blk": 0o060000,
                         "file": 0o100000, "dir": 0o040000}[k]
                out.append("sif %s mode 0%o" % (q(path), ftype | e["mode"]))
            out.append("sif %s uid %d" % (q(path), e["uid"]))
            out.append("sif %s gid %d" % (q(path), e["gid"]))
            for name, value in sorted(e["xattrs"].items()):
                out.append("ea_set %s %s %s" % (q(path), name, value))
            times(path, e["mtime"])
        for path in ("/", "/lost+found"):
            times(path, T0)
        return "\n".join(out) + "\n"


def tree_ext4():
    t = Tree()
    t.file("/README.txt", "kvmkit guestfs test image: a whole-disk ext4.\n"
           "Made by tests/guestfs/mkimages.sh; every byte is reproducible.\n")
    t.file("/empty", b"", mtime=T0 - 86400 * 400)
    t.dir("/data")
    t.file("/data/small.txt", "hello, world\n", mtime=T0 + 60)
    t.hardlink("/data/small-hardlink.txt", "/data/small.txt")
    t.file("/data/4k.bin", bytes(range(256)) * 16)
    t.file("/data/1m.bin", prand("1m.bin", (1 << 20) + 17), mtime=1000000000)
    t.file("/data/lines.txt", lines(200))
    # 8 MiB with two data ranges: a hole first, 4 KiB at 1 MiB, 1 byte at the end.
    t.file("/data/sparse.img", sparse=(8 << 20, [(1 << 20, b"SPARSE" * 682 + b"\n\n\n\n"),
                                                 ((8 << 20) - 1, b"Z")]))
    t.dir("/dir1")
    t.file("/dir1/file-in-dir1", "dir1\n")
    t.dir("/dir1/dir2")
    t.dir("/dir1/dir2/dir3")
    t.file("/dir1/dir2/dir3/deep.txt", "deep\n", mtime=946684800)  # 2000-01-01
    t.dir("/names")
    t.file("/names/with space.txt", "space\n")
    t.file("/names/café.txt", "caf\u00e9\n")
    t.file("/names/日本語.txt", "nihongo\n")
    t.file("/names/.hidden", "hidden\n")
    t.file("/names/-dash", "dash\n")
    t.file("/names/" + "n" * 255, "longest name\n")
    t.dir("/links")
    t.symlink("/links/abs", "/data/small.txt")
    t.symlink("/links/rel", "../data/small.txt")
    t.symlink("/links/slow", "/dir1/dir2/dir3/../../dir2/dir3/../dir3/../../dir2/dir3/deep.txt")
    t.symlink("/links/dangling", "/does/not/exist")
    t.symlink("/links/dirlink", "../dir1")
    t.dir("/special")
    t.node("/special/fifo", "fifo", 0o644)
    t.node("/special/null", "chr", 0o666, 1, 3)
    t.node("/special/sda", "blk", 0o660, 8, 0, gid=6)
    t.dir("/perms")
    t.file("/perms/private", "secret\n", mode=0o600)
    t.file("/perms/setuid", elf_x86_64("setuid"), mode=0o4755)
    t.file("/perms/setgid", "setgid\n", mode=0o2755, gid=50)
    t.file("/perms/readonly", "ro\n", mode=0o444)
    t.file("/perms/exec.sh", "#!/bin/sh\necho hello\n", mode=0o755)
    t.file("/perms/none", "", mode=0o000)
    t.dir("/perms/tmp", mode=0o1777)
    t.dir("/home")
    t.dir("/home/user", mode=0o750, uid=1000, gid=1000)
    t.file("/home/user/.profile", "PATH=$HOME/bin:$PATH\n", uid=1000, gid=1000)
    t.file("/home/user/notes.txt", "notes of uid 1000\n", mode=0o600, uid=1000, gid=1000)
    t.file("/home/user/other-group", "uid 1000, gid 100\n", uid=1000, gid=100)
    t.dir("/xattr")
    t.file("/xattr/file", "has xattrs\n",
           xattrs={"user.comment": '"hello world"', "user.number": "42", "user.empty": '""'})
    t.dir("/xattr/dir", xattrs={"user.dir": "yes"})
    # Enough entries for several directory blocks (e2fsck -D indexes it).
    t.dir("/many")
    for i in range(400):
        t.file("/many/file-%04d.txt" % i, "file %d\n" % i)
    return t


def tree_mbr_ext2():
    t = Tree()
    t.file("/hello.txt", "hello from ext2 (MBR primary 1)\n")
    t.dir("/dir")
    t.file("/dir/file.txt", "a file in a dir on ext2\n")
    t.symlink("/dir/link", "file.txt")
    t.file("/dir/owned", "uid 1000\n", uid=1000, gid=1000)
    return t


def tree_mbr_ext4():
    t = Tree()
    t.file("/hello.txt", "hello from ext4 (MBR logical 6)\n")
    t.dir("/logical")
    t.file("/logical/data.bin", prand("mbr-ext4", 70000))
    t.file("/logical/empty", b"")
    return t


def tree_fat():
    t = Tree()
    t.file("/README.TXT", "FAT32 whole-disk image\r\n")
    t.file("/readme-lower.txt", "lower-case name\n")
    t.file("/MixedCase.Txt", "mixed case\n")
    t.file("/A long file name with spaces.txt", "long name\n")
    t.file("/Ünïcödé – ƒïlé.txt", "unicode\n", mtime=T0 + 2)
    t.file("/日本語のファイル.txt", "japanese\n")
    t.file("/emoji 🙂.txt", "astral plane (UTF-16 surrogate pair)\n")
    t.file("/empty.txt", b"")
    t.dir("/Dir With Long Name")
    t.dir("/Dir With Long Name/nested")
    t.file("/Dir With Long Name/nested/deep file.txt", "deep\n", mtime=946684800)
    t.dir("/UPPER")
    t.file("/UPPER/LOWER.TXT", "upper\n")
    t.dir("/data")
    t.file("/data/64k.bin", prand("fat-64k", 65536))
    t.file("/data/odd.bin", prand("fat-odd", 12345))
    t.file("/data/lines.txt", lines(50))
    return t


def tree_mbr_vfat():
    t = Tree()
    t.file("/Hello from vfat.txt", "hello from vfat (MBR logical 5)\n")
    t.file("/SHORT.TXT", "short\n")
    t.dir("/Long Directory Name")
    t.file("/Long Directory Name/Another long file name.data", prand("mbr-vfat", 5000))
    return t


def tree_esp():
    t = Tree()
    t.dir("/EFI")
    t.dir("/EFI/debian")
    t.file("/EFI/debian/shimx64.efi", b"MZ" + prand("shim", 3000))
    t.file("/EFI/debian/grubx64.efi", b"MZ" + prand("grub", 5000))
    t.file("/EFI/debian/grub.cfg", "search.fs_uuid 3d1e0a4f-6c3b-4b7e-9d2a-1f2e3d4c5b6a root\n"
           "set prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n")
    t.dir("/EFI/BOOT")
    t.file("/EFI/BOOT/BOOTX64.EFI", b"MZ" + prand("shim", 3000))
    return t


DEBIAN_ROOT_UUID = "3d1e0a4f-6c3b-4b7e-9d2a-1f2e3d4c5b6a"
DEBIAN_ESP_SERIAL = "4B56-4D4B"
DEBIAN_SWAP_UUID = "5f0c2a1e-8b7d-4e6f-a1b2-c3d4e5f60718"


def tree_debian():
    t = Tree()
    old = 1700000000  # 2023-11-14: the "install" date
    for link, target in (("/bin", "usr/bin"), ("/sbin", "usr/sbin"), ("/lib", "usr/lib"),
                         ("/lib64", "usr/lib64")):
        t.symlink(link, target, mtime=old)
    t.dir("/boot")
    t.dir("/boot/efi", mode=0o700)
    t.dir("/boot/grub")
    t.file("/boot/grub/grub.cfg", "# fake grub.cfg\nset default=0\nset timeout=5\n")
    for d in ("/dev", "/home", "/media", "/mnt", "/opt", "/proc", "/run", "/srv", "/sys"):
        t.dir(d, mode=0o555 if d in ("/proc", "/sys") else 0o755, mtime=old)
    t.dir("/tmp", mode=0o1777)
    t.dir("/root", mode=0o700)
    t.file("/root/.bashrc", "# ~/.bashrc: executed by bash(1) for non-login shells.\n")
    t.dir("/home/user", uid=1000, gid=1000)
    t.file("/home/user/.bashrc", "# user's bashrc\n", uid=1000, gid=1000)
    t.dir("/etc")
    t.symlink("/etc/os-release", "../usr/lib/os-release", mtime=old)
    t.file("/etc/debian_version", "12.11\n", mtime=old)
    t.file("/etc/hostname", "kvmkit-debian\n")
    t.file("/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tkvmkit-debian\n\n"
           "::1     localhost ip6-localhost ip6-loopback\n")
    t.file("/etc/machine-id", "0f1e2d3c4b5a69788796a5b4c3d2e1f0\n")
    t.file("/etc/fstab",
           "# /etc/fstab: static file system information.\n"
           "# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n"
           "UUID=%s /               ext4    errors=remount-ro 0       1\n"
           "UUID=%s  /boot/efi       vfat    umask=0077      0       1\n"
           "UUID=%s none            swap    sw              0       0\n"
           % (DEBIAN_ROOT_UUID, DEBIAN_ESP_SERIAL, DEBIAN_SWAP_UUID))
    t.file("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
           "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
           "user:x:1000:1000:Test User,,,:/home/user:/bin/bash\n")
    t.file("/etc/group", "root:x:0:\ndaemon:x:1:\nshadow:x:42:\nusers:x:100:\nuser:x:1000:\n")
    t.file("/etc/shadow", "root:*:19675:0:99999:7:::\ndaemon:*:19675:0:99999:7:::\n"
           "user:!:19675:0:99999:7:::\n", mode=0o640, gid=42)
    t.file("/etc/timezone", "Etc/UTC\n")
    t.symlink("/etc/localtime", "/usr/share/zoneinfo/Etc/UTC")
    t.dir("/etc/apt")
    t.file("/etc/apt/sources.list",
           "deb http://deb.debian.org/debian bookworm main\n"
           "deb http://deb.debian.org/debian-security bookworm-security main\n")
    t.dir("/usr")
    t.dir("/usr/bin")
    for prog in ("bash", "dash", "ls", "cat", "cp", "echo", "env", "true", "uname"):
        t.file("/usr/bin/" + prog, elf_x86_64(prog), mode=0o755, mtime=old)
    t.symlink("/usr/bin/sh", "dash", mtime=old)
    t.dir("/usr/sbin")
    t.file("/usr/sbin/init", elf_x86_64("init"), mode=0o755, mtime=old)
    t.dir("/usr/lib")
    t.file("/usr/lib/os-release",
           'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
           'NAME="Debian GNU/Linux"\n'
           'VERSION_ID="12"\n'
           'VERSION="12 (bookworm)"\n'
           "VERSION_CODENAME=bookworm\n"
           "ID=debian\n"
           'HOME_URL="https://www.debian.org/"\n'
           'SUPPORT_URL="https://www.debian.org/support"\n'
           'BUG_REPORT_URL="https://bugs.debian.org/"\n', mtime=old)
    t.dir("/usr/lib/x86_64-linux-gnu")
    t.dir("/usr/lib64")
    t.symlink("/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    t.dir("/usr/share")
    t.dir("/usr/share/doc")
    t.dir("/usr/share/doc/base-files")
    t.file("/usr/share/doc/base-files/README", "This is a fake Debian 12 system for tests.\n")
    t.dir("/var")
    t.dir("/var/lib")
    t.dir("/var/lib/dpkg")
    with open(os.path.join(HERE, "debian-dpkg-status"), "rb") as f:
        t.file("/var/lib/dpkg/status", f.read())
    t.dir("/var/log")
    t.file("/var/log/dpkg.log", "2023-11-14 22:13:20 startup archives install\n", mode=0o640)
    t.dir("/var/tmp", mode=0o1777)
    return t


def tree_backing(version):
    t = Tree()
    if version == 1:
        t.file("/hello.txt", "version 1: in the backing file\n")
    else:
        t.file("/hello.txt", "version 2: changed in the overlay\n", mtime=T0 + 3600)
    t.file("/unchanged.txt", "the same in backing and overlay\n")
    t.dir("/dir")
    t.file("/dir/data.bin", prand("backing", 20000))
    return t


TREES = {
    "ext4": tree_ext4, "mbr-ext2": tree_mbr_ext2, "mbr-ext4": tree_mbr_ext4,
    "fat": tree_fat, "mbr-vfat": tree_mbr_vfat, "esp": tree_esp, "debian": tree_debian,
    "backing": lambda: tree_backing(1), "overlay": lambda: tree_backing(2),
}


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in TREES:
        sys.exit("usage: mktree.py {%s} DIR [DEBUGFS_SCRIPT]" % "|".join(TREES))
    os.umask(0o022)
    t = TREES[sys.argv[1]]()
    t.create(sys.argv[2])
    if len(sys.argv) == 4:
        with open(sys.argv[3], "w") as f:
            f.write(t.debugfs_script())


if __name__ == "__main__":
    main()
