#!/bin/bash
# kvmkit fish against real guestfish and on its own:
#  1. each tests/guestfs/fish-script-NAME.txt runs on the image that
#     tests/guestfs/mkimages.sh builds (bit-reproducible) and stdout, stderr
#     and the exit status must equal real guestfish's, cached in
#     tests/guestfs/ref/KEY/guestfish.* (KEY: first 16 hex digits of the
#     image's sha256), except the differences docs/guestfs-fish.md lists,
#     masked narrowly below (mask_*). A missing reference is a failure:
#     run tests/guestfs/libguestfs-ref.py.
#  2. our own image (mke2fs -d, sfdisk): -f, ':' commands, stdin, -i, -m,
#     download/copy-out/tar-out against the source tree, error messages and
#     exit statuses, hostile input to the parser (quotes, a 100 KiB line,
#     NUL bytes), an interactive session on a pty (history, line editing).
# Usage: guestfs_fish_test.sh KVMKIT   (prints TAP, plan at the end)
#   GUESTFS_TREE=DIR takes tests/guestfs/ (scripts, mkimages.sh, ref/) from
#   another checkout.
set -u
. "$(dirname "$0")/../tap.sh"
K=$(realpath "$1")
SRC=$(cd "${GUESTFS_TREE:-$(dirname "$0")/../..}" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1

for tool in mke2fs sfdisk python3 tar; do
    if ! command -v $tool >/dev/null; then
        echo "1..0 # SKIP $tool not installed (scripts/deps.sh)"
        exit 0
    fi
done
fish() { "$K" fish "$@"; }

# ---- 1. real guestfish's outputs ---------------------------------------------
compare_ref() { # NAME IMAGE
    local name=$1 img=$2 key refdir
    key=$(sha256sum "imgs/$img" | cut -c1-16)
    if [ "$name" = overlay ]; then
        key=$(cat imgs/overlay.qcow2 imgs/backing.qcow2 | sha256sum | cut -c1-16)
    fi
    refdir=$SRC/tests/guestfs/ref/$key
    if [ ! -f "$refdir/guestfish.out" ]; then
        echo "# no reference for $img ($refdir): run tests/guestfs/libguestfs-ref.py --only $name"
        return 1
    fi
    (cd imgs && "$K" fish --ro -a "$img" -f "$SRC/tests/guestfs/fish-script-$name.txt" \
        >"../$name.out" 2>"../$name.err"; echo "exit: $?" >"../$name.status")
    python3 - "$refdir" "$name" <<'EOF'
import re, sys
refdir, name = sys.argv[1], sys.argv[2]
def sections(text):
    """Split guestfish output at the '== COMMAND' lines the scripts echo."""
    out, cur = [], ('', [])
    for line in text.split('\n'):
        if line.startswith('== '):
            out.append(cur)
            cur = (line[3:], [])
        else:
            cur[1].append(line)
    out.append(cur)
    return out
# Deliberate differences (docs/guestfs-fish.md), as narrow as possible:
APPLIANCE_DF = re.compile(r'^(/dev/root|/dev|shmfs|tmpfs|devtmpfs|none) ')
LIBMAGIC_GUESSES = {('ext4', 'file /data/4k.bin')}
# vfat inode numbers are the kernel's own (handed out as files are looked up)
VFAT_INODES = {('mbr', 'statns "/Hello from vfat.txt"'), ('mbr', 'statns "/Long Directory Name"'),
               ('debian', 'statns /boot/efi/EFI/debian/grubx64.efi')}
def mask(cmd, lines, ref):
    if cmd == 'll /':
        # '..' of the guest's root is the appliance's own / in guestfish; its
        # blocks count in "total" and its link count sizes the columns
        lines = [' '.join(l.split()) for l in lines
                 if not l.endswith(' ..') and not l.startswith('total ')]
    if name == 'debian' and cmd.startswith('inspect-list-applications') and not ref and lines:
        # the test's dpkg status ends without a blank line: libguestfs drops
        # that last package (zlib1g), lib/guestfs lists it
        text = '\n'.join(lines)
        text = re.sub(r'\n\[\d+\] = \{\n  app2?_name: zlib1g\n.*?\n\}', '', text, flags=re.S)
        lines = text.split('\n')
    if (name, cmd) in VFAT_INODES or (name == 'fat32' and cmd.split()[:1] in (['statns'], ['lstatns'])):
        lines = [l for l in lines if not l.startswith('st_ino: ')]
    if cmd in ('df', 'df-h'):
        # the appliance's own filesystems; columns sized by them
        lines = [' '.join(l.split()) for l in lines if not APPLIANCE_DF.match(l)]
    if (name, cmd) in LIBMAGIC_GUESSES:
        lines = ['(libmagic guess masked)']
    return lines
def norm(text, ref):
    return [(c, mask(c, l, ref)) for c, l in sections(text)]
ref = open(refdir + '/guestfish.out', encoding='utf-8', errors='surrogateescape').read()
got = open(name + '.out', encoding='utf-8', errors='surrogateescape').read()
bad = 0
r, g = norm(ref, True), norm(got, False)
if [c for c, _ in r] != [c for c, _ in g]:
    print('# %s: commands differ: %s' % (name, set(c for c, _ in r) ^ set(c for c, _ in g)))
    sys.exit(1)
for (c, a), (_, b) in zip(r, g):
    if a != b:
        bad += 1
        i = next(i for i in range(max(len(a), len(b))) if a[i:i + 1] != b[i:i + 1])
        print('# %s: == %s (line %d)\n#   guestfish: %r\n#   kvmkit:    %r'
              % (name, c, i + 1, a[i:i + 3], b[i:i + 3]))
# stderr: the script's path differs (guestfish ran it elsewhere)
# mounting an MBR extended partition: the appliance's mount(8) fails with
# ENOMEM, lib/guestfs says what the device is
EXTENDED = re.compile(r'^(SCRIPT:\d+: libguestfs: error: mount_ro: ).*(Cannot allocate memory\.|'
                      r'an MBR extended partition holds logical partitions, not a filesystem)$')
def err(text):
    lines = [re.sub(r'^\S*fish-script-[a-z0-9]+\.txt:', 'SCRIPT:', l) for l in text.split('\n')]
    return [EXTENDED.sub(r'\1(an extended partition)', l) for l in lines
            if not l.endswith('dmesg(1) may have more information after failed mount system call.')]
ea = err(open(refdir + '/guestfish.err', encoding='utf-8', errors='replace').read())
eb = err(open(name + '.err', encoding='utf-8', errors='replace').read())
if ea != eb:
    bad += 1
    for x, y in zip(ea + [''] * len(eb), eb + [''] * len(ea)):
        if x != y:
            print('# %s stderr:\n#   guestfish: %s\n#   kvmkit:    %s' % (name, x, y))
            break
sa = [l for l in open(refdir + '/guestfish.status') if l.startswith('exit:')]
sb = open(name + '.status').read().split('\n')[:1]
if sa[0].strip() != sb[0].strip():
    bad += 1
    print('# %s: %s vs %s' % (name, sa[0].strip(), sb[0]))
sys.exit(1 if bad else 0)
EOF
}

if [ -x "$SRC/tests/guestfs/mkimages.sh" ]; then
    if "$SRC/tests/guestfs/mkimages.sh" imgs >mk.log 2>&1; then
        for script in "$SRC"/tests/guestfs/fish-script-*.txt; do
            name=$(basename "$script" .txt)
            name=${name#fish-script-}
            case $name in
            overlay) img=overlay.qcow2 ;;
            *) img=$name.img ;;
            esac
            ok "guestfish reference: $name ($img)" compare_ref "$name" "$img"
        done
    else
        sed 's/^/# /' mk.log | tail -5
        ok "tests/guestfs/mkimages.sh builds the images" false
    fi
else
    ok "tests/guestfs/mkimages.sh exists (merge the gref branch)" false
fi

# ---- 2. our own image ---------------------------------------------------------
mkdir -p tree/etc tree/data/sub tree/bin
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' >tree/etc/os-release
echo 12.5 >tree/etc/debian_version
echo fishhost >tree/etc/hostname
printf 'LABEL=fishroot / ext4 defaults 0 1\n' >tree/etc/fstab
printf 'line %s\n' $(seq 1 30) >tree/data/lines.txt
head -c 300000 /dev/urandom >tree/data/sub/random.bin
printf 'with space\n' >"tree/data/a file.txt"
ln -s ../lines.txt tree/data/sub/link
chmod 0640 tree/data/lines.txt
truncate -s 64M root.fs
mke2fs -q -t ext4 -L fishroot -d tree root.fs
truncate -s 80M disk.img
printf 'label: dos\nstart=2048, size=131072, type=83\n' | sfdisk -q disk.img
dd if=root.fs of=disk.img bs=512 seek=2048 conv=notrunc,sparse status=none

out=$(fish --ro -a disk.img run : list-filesystems : mount-ro /dev/sda1 / : cat /etc/hostname 2>&1)
ok "':'-separated commands" [ "$out" = $'/dev/sda1: ext4\nfishhost' ]
out=$(printf 'run\nmount-ro /dev/sda1 /\nhead-n 2 /data/lines.txt\n' | fish -a disk.img 2>&1)
ok "commands from stdin" [ "$out" = $'line 1\nline 2' ]
printf '# a comment\n\nrun\n  mount-ro /dev/sda1 /   \nis-dir /data\n' >s.fish
out=$(fish -a disk.img -f s.fish 2>&1)
ok "-f script with comments and blank lines" [ "$out" = true ]
out=$(fish --ro -a disk.img -i cat /etc/hostname 2>&1)
ok "-i inspects and mounts" [ "$out" = fishhost ]
out=$(fish --ro -a disk.img -i inspect-get-distro /dev/sda1 : inspect-get-major-version /dev/sda1 2>&1)
ok "-i then inspect-get-*" [ "$out" = $'debian\n12' ]
out=$(fish --ro -a disk.img -m /dev/sda1 ls /data 2>&1)
ok "-m mounts" [ "$out" = $'a file.txt\nlines.txt\nsub' ]
out=$(fish --ro -a disk.img -m /dev/sda1:/ readlink /data/sub/link : realpath /data/sub/link 2>&1)
ok "-m dev:/ with readlink, realpath" [ "$out" = $'../lines.txt\n/data/lines.txt' ]

# download, copy-out, tar-out against the source tree
mkdir -p co
fish --ro -a disk.img -m /dev/sda1 download /data/sub/random.bin dl.bin : \
    copy-out /data co : tar-out /data data.tar : tar-out /data data.tgz compress:gzip \
    : download /dev/sda1 dev.img 2>err.txt
ok "download is byte-identical" cmp dl.bin tree/data/sub/random.bin
ok "copy-out copies the tree (contents, links, modes)" diff -r --no-dereference tree/data co/data
ok "copy-out keeps the mode" [ "$(stat -c %a co/data/lines.txt)" = 640 ]
mkdir -p untar untgz
ok "tar-out archive extracts to the tree" sh -c 'tar -xf data.tar -C untar && diff -r --no-dereference tree/data untar'
ok "tar-out compress:gzip" sh -c 'tar -xzf data.tgz -C untgz && diff -r --no-dereference tree/data untgz'
ok "download of a device" cmp dev.img root.fs
sum=$(fish --ro -a disk.img -m /dev/sda1 checksum sha256 /data/sub/random.bin 2>&1)
ok "checksum sha256 = sha256sum" [ "$sum" = "$(sha256sum <tree/data/sub/random.bin | cut -d' ' -f1)" ]
sum=$(fish --ro -a disk.img -m /dev/sda1 checksum crc /data/lines.txt 2>&1)
ok "checksum crc = cksum" [ "$sum" = "$(cksum <tree/data/lines.txt | cut -d' ' -f1)" ]
ok "find0 writes NUL-separated names" sh -c "'$K' fish -a disk.img -m /dev/sda1 find0 /data f0 && [ \"\$(tr '\\0' '\\n' <f0)\" = \"\$(printf '/a file.txt\\n/lines.txt\\n/sub\\n/sub/link\\n/sub/random.bin')\" ]"

# errors and exit statuses
printf 'run\ncat /etc/hostname\n' >e1.fish
out=$(fish -a disk.img -f e1.fish 2>&1); rc=$?
ok "a failing script command: guestfish's message, exit 1" \
    [ "$rc" = 1 -a "$out" = "e1.fish:2: libguestfs: error: download: download_stub: you must call 'mount' first to mount the root filesystem" ]
printf 'run\n-cat /nope\nmount-ro /dev/sda1 /\ncat /nope\necho not reached\n' >e2.fish
out=$(fish -a disk.img -f e2.fish 2>&1); rc=$?
ok "'-' lets a command fail; the next failure ends the script" \
    [ "$rc" = 1 -a "$out" = "e2.fish:2: libguestfs: error: download: download_stub: you must call 'mount' first to mount the root filesystem
e2.fish:4: libguestfs: error: download: /nope: No such file or directory" ]
out=$(fish -a disk.img list-devices 2>&1); rc=$?
# stdin is not a terminal: guestfish prefixes "*stdin*:0:" even to command-line commands
ok "before run: call launch first" [ "$rc" = 1 -a "$out" = "*stdin*:0: libguestfs: error: list_devices: call launch before using this function
(in guestfish, don't forget to use the 'run' command)" ]
out=$(echo 'cat' | fish 2>&1); rc=$?
ok "wrong number of arguments" [ "$rc" = 1 -a "$out" = "error: incorrect number of arguments
usage: cat path
type 'help cat' for more help on cat" ]
out=$(echo 'frobnicate x' | fish 2>&1); rc=$?
ok "unknown command" [ "$rc" = 1 -a "${out%%$'\n'*}" = "frobnicate: unknown command" ]
out=$(fish -a disk.img run : mount-ro /dev/sda1 / : mkdir /x 2>&1); rc=$?
ok "a write command says lib/guestfs is read-only" [ "$rc" = 1 -a "$out" = "*stdin*:0: libguestfs: error: mkdir: kvmkit fish is read-only: lib/guestfs does not write to disk images" ]
out=$(fish -a nope.img run 2>&1); rc=$?
ok "a missing image: exit 1 with a message" [ "$rc" = 1 -a -n "$out" ]
head -c 1048576 /dev/urandom >garbage.img
out=$(fish -a garbage.img run : list-filesystems : -mount-ro /dev/sda / : -ls / 2>&1); rc=$?
ok "a corrupt image does not crash" [ "$rc" -le 1 ]

# the parser
out=$(printf '%s\n' 'echo "a\tb" '"'"'c d'"'"' "\x41\101\\"' | fish 2>&1)
ok "quotes and escapes" [ "$out" = $'a\tb c d AA\\' ]
out=$(printf 'echo "unterminated\n' | fish 2>&1); rc=$?
ok "unterminated quote: message, exit 1" [ "$rc" = 1 -a "$out" = "guestfish: unterminated double quote" ]
out=$(printf 'echo "bad \\q"\n' | fish 2>&1); rc=$?
ok "invalid escape" [ "$rc" = 1 -a "$out" = "guestfish: invalid escape sequence in string (starting at offset 4)" ]
out=$(printf "echo 'a'b\n" | fish 2>&1); rc=$?
ok "quoted argument glued to the next" [ "$rc" = 1 -a "$out" = "guestfish: command arguments not separated by whitespace" ]
out=$(printf 'echo%s\n' "$(printf ' x%.0s' $(seq 64))" | fish 2>&1); rc=$?
ok "64 arguments are too many" [ "$rc" = 1 -a "$out" = "guestfish: too many arguments" ]
python3 -c 'print("echo " + "x" * 102400)' >long.fish
out=$(fish -f long.fish | wc -c)
ok "a 100 KiB line" [ "$out" = 102401 ]
printf 'echo a\0b\necho c\n' >nul.fish
out=$(fish -f nul.fish 2>&1)
ok "NUL bytes end the line's text, not the shell" [ "$out" = $'a\nc' ]
python3 -c 'import random; random.seed(7); print("\n".join("".join(random.choice("\"\x27\\\\ \tx|#-") for _ in range(random.randint(0, 40))) for _ in range(500)))' >fuzz.fish
fish -f fuzz.fish >/dev/null 2>&1; rc=$?
ok "random quote soup: no crash" [ "$rc" -le 1 ]
out=$(echo 'echo hello | tr a-z A-Z' | fish 2>&1)
ok "| pipes output to a shell command" [ "$out" = HELLO ]
out=$(fish --help | head -1)
ok "--help" [ "$out" = "Usage: kvmkit fish [--options] [cmd [: cmd : cmd ...]]" ]
out=$(echo 'help mount-ro' | fish | sed -n 2p)
ok "help CMD" [ "$out" = "    mount-ro - mount a guest disk, read-only" ]

# interactive, on a pty: history and line editing
cat >fish_pty.py <<'EOF'
import os, pty, sys, time, select
k, img, home = sys.argv[1], sys.argv[2], sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    os.environ['HOME'] = home
    os.environ['TERM'] = 'xterm'
    os.execv(k, [k, 'fish', '-a', img])
out = b''
def read(t=1.0):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 65536)
            except OSError:
                return
def send(s):
    os.write(fd, s)
    read(0.5)
read(1.5)
send(b'run\r')
send(b'echo first\r')
send(b'\x1b[A\r')              # up arrow: the last line again
send(b'echo sekond\x1b[D\x1b[D\x1b[D\x7fc\r')  # left x3, backspace, 'c': "second"
send(b'quit\r')
read(1.0)
os.waitpid(pid, 0)
text = out.decode('utf-8', 'replace')
sys.exit(0 if text.count('first\r\n') >= 2 and 'second\r\n' in text else 1)
EOF
mkdir -p home
ok "interactive: prompt, history (up arrow), line editing" python3 fish_pty.py "$K" disk.img home
ok "interactive: history saved in ~/.kvmkit-fish_history" grep -q 'first' home/.kvmkit-fish_history

echo "1..$tap_n"
tap_exit
