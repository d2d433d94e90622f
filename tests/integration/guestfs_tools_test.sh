#!/bin/bash
# kvmkit's libguestfs-like one-shot tools (virt-ls, virt-cat, virt-df,
# virt-filesystems, virt-copy-out, virt-tar-out) against libguestfs itself:
#  1. tests/guestfs/mkimages.sh builds the reproducible images; for each,
#     every cached libguestfs reference run of one of these tools
#     (tests/guestfs/ref/<sha256 prefix>/SLUG.{status,out,err}) is rerun with
#     kvmkit: stdout and exit status must be equal byte for byte, stderr too
#     except where docs/guestfs-tools.md lists a deliberate difference. An
#     image without a reference directory is a failure (run
#     tests/guestfs/libguestfs-ref.py to make them).
#  2. virt-copy-out and virt-tar-out of a tree (modes, mtimes, symlinks, a
#     hard link, a FIFO, long names, other owners in a setgid directory)
#     made into ext4 by mke2fs -d: the copy (also into a directory with a
#     default ACL), and GNU tar's extraction of the tarball, equal the
#     source tree; a 9 GiB sparse file gets a base-256 size GNU tar reads.
#  3. Errors: exact messages and exit statuses.
# Usage: guestfs_tools_test.sh KVMKIT   (prints TAP, plan at the end)
# GFS_REF_DIR overrides the reference directory.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tap.sh"
K=$(realpath "$1")
GDIR=$(cd "$HERE/../guestfs" && pwd)
REF=${GFS_REF_DIR:-$GDIR/ref}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1

for tool in python3 mke2fs debugfs e2fsck mkfs.fat mcopy sfdisk mkswap qemu-img qemu-io tar; do
    if ! command -v $tool >/dev/null; then
        echo "1..0 # SKIP $tool not installed (scripts/deps.sh)"
        exit 0
    fi
done

# ---- 1. the libguestfs references -------------------------------------------
mkdir img
if ! bash "$GDIR/mkimages.sh" img >sums.txt 2>mkimages.err; then
    sed 's/^/# /' mkimages.err
    ok "tests/guestfs/mkimages.sh builds the images" false
    echo "1..$tap_n"
    exit 1
fi

# stderr that differs on purpose (docs/guestfs-tools.md): SLUG -> reason
declare -A stderr_differs=(
    [virt-ls-lR-no-mount]="our no-operating-system message is one line"
)

# run_ref IMAGE REFDIR SLUG: rerun one reference command with kvmkit.
run_ref() {
    local image=$1 ref=$2 slug=$3
    local cmd want_status
    cmd=$(sed -n 's/^command: //p' "$ref/$slug.status")
    want_status=$(sed -n 's/^exit: //p' "$ref/$slug.status")
    cmd=$(printf '%s' "$cmd" | sed "s/\bIMG\b/$image/g")
    (cd img && eval "\"\$K\" $cmd") >"out.$slug" 2>"err.$slug"
    local st=$? bad=0
    if [ "$st" != "$want_status" ]; then
        echo "# $image $slug: exit $st, libguestfs $want_status"
        bad=1
    fi
    # st_dev (virt-ls --extra-stats): the appliance's kernel numbers its
    # disks in whatever order its SCSI scan finds them, so libguestfs shows
    # 8:0 or 8:16 for the same /dev/sda; ours is always /dev/sda's. The
    # field is compared without its value (docs/guestfs-tools.md).
    local norm='s/(^|[ ,])[0-9]+:[0-9]+([ ,][0-9]+[ ,][0-9]+[ ,][0-9]+:[0-9]+[ ,])/\1DEV\2/'
    if [[ $slug == *extra* ]]; then
        sed -Ei "$norm" "out.$slug"
        sed -E "$norm" "$ref/$slug.out" >"ref.$slug"
    else
        cp "$ref/$slug.out" "ref.$slug"
    fi
    if ! cmp -s "out.$slug" "ref.$slug"; then
        echo "# $image $slug: stdout differs (< kvmkit, > libguestfs):"
        diff "out.$slug" "ref.$slug" | head -20 | sed 's/^/#   /'
        bad=1
    fi
    if [ -z "${stderr_differs[$slug]:-}" ] && ! cmp -s "err.$slug" "$ref/$slug.err"; then
        echo "# $image $slug: stderr differs (< kvmkit, > libguestfs):"
        diff "err.$slug" "$ref/$slug.err" | head -10 | sed 's/^/#   /'
        bad=1
    fi
    return $bad
}

while read -r sum name; do
    key=${sum:0:16}
    # the overlay's key covers its backing file too (tests/guestfs/ref/README.md)
    if [ "$name" = overlay.qcow2 ]; then
        key=$(cat img/overlay.qcow2 img/backing.qcow2 | sha256sum | cut -c1-16)
    fi
    ref=$REF/$key
    if [ ! -d "$ref" ]; then
        echo "# no libguestfs reference outputs for $name (sha256 $key...) in $REF:"
        echo "# run tests/guestfs/libguestfs-ref.py (needs libguestfs-tools) and commit ref/$key"
        ok "$name: libguestfs references exist" false
        continue
    fi
    for status in "$ref"/*.status; do
        [ -e "$status" ] || continue
        slug=$(basename "$status" .status)
        tool=$(sed -n 's/^command: \([^ ]*\).*/\1/p' "$status")
        case $tool in
        virt-ls | virt-cat | virt-df | virt-filesystems) ;;
        *) continue ;;
        esac
        ok "$name: $slug as libguestfs" run_ref "$name" "$ref" "$slug"
    done
done <sums.txt

# Options libguestfs's references do not cover, on ext4.img.
E="$K virt-ls -a img/ext4.img -m /dev/sda"
ok "virt-ls: plain listing is sorted (strcmp), hidden files included" \
    bash -c "$E /names | diff - <(python3 -c 'print(\"\\n\".join(sorted([\"-dash\", \".hidden\", \"café.txt\", \"n\" * 255, \"with space.txt\", \"日本語.txt\"], key=lambda s: s.encode())))')"
ok "virt-ls -R: relative paths sorted as one list" \
    bash -c "$E -R /dir1 | diff - <(printf 'dir2\ndir2/dir3\ndir2/dir3/deep.txt\nfile-in-dir1\n')"
for t in crc md5 sha1 sha224 sha256 sha384 sha512; do
    case $t in crc) prog="cksum" ;; *) prog="${t}sum" ;; esac
    ok "virt-ls -lR --checksum=$t equals $prog of the file" \
        bash -c "want=\$('$K' virt-cat -a img/ext4.img -m /dev/sda /data/1m.bin | $prog | cut -d' ' -f1); \
                 $E -lR --checksum=$t /data | grep -qx -- \"- 0644    1048593 \$want /data/1m.bin\""
done
ok "virt-ls -lR -h: human sizes, right-aligned" \
    bash -c "$E -lR -h /data | grep -qx -- '- 0644       1.0M /data/1m.bin'"
ok "virt-ls -lR --times: local dates" \
    bash -c "TZ=UTC $E -lR --times /dir1/dir2/dir3 | grep -qx -- '- 0644          5 2000-01-01 00:00:00 2000-01-01 00:00:00 2024-01-02 12:53:20 /dir1/dir2/dir3/deep.txt'"
ok "virt-ls -lR --time-days: days before now" \
    bash -c "d=\$(( (\$(date +%s) - 946684800) / 86400 )); $E -lR --time-days /dir1/dir2/dir3 | grep -q -- \" \$d \""
ok "virt-cat streams a 1 MiB + 17 file whole" \
    bash -c "[ \$('$K' virt-cat -a img/ext4.img -m /dev/sda /data/1m.bin | wc -c) = 1048593 ]"

# ---- 2. copy-out and tar-out against a source tree --------------------------
mkdir -p src/tree/sub/deeper src/tree/private src/tree/sticky
printf 'hello\n' >src/tree/hello.txt
head -c 3000000 /dev/urandom >src/tree/random.bin
: >src/tree/empty
printf '#!/bin/sh\n' >src/tree/exec.sh && chmod 0755 src/tree/exec.sh
printf 'ro\n' >src/tree/readonly && chmod 0444 src/tree/readonly
printf 'suid\n' >src/tree/suid && chmod 04755 src/tree/suid
printf 'secret\n' >src/tree/private/key && chmod 0600 src/tree/private/key
chmod 0700 src/tree/private
chmod 01777 src/tree/sticky
ln src/tree/hello.txt src/tree/sub/hardlink.txt
ln -s ../hello.txt src/tree/sub/rel-link
ln -s /etc/nothing src/tree/dangling
long=$(printf 'L%.0s' {1..150})
printf 'long\n' >"src/tree/sub/deeper/$long.txt"
mkfifo src/tree/fifo
# A setgid directory whose files have other owners (restored when root):
# copy-out calls fchown only where a new file's owner differs.
mkdir src/tree/group && chmod 02775 src/tree/group
printf 'o\n' >src/tree/group/ours && printf 'o\n' >src/tree/group/their-group
printf 'o\n' >src/tree/group/theirs && chmod 0640 src/tree/group/theirs
if [ "$(id -u)" = 0 ]; then
    chown 1234:5678 src/tree/group src/tree/group/theirs
    chown 0:5678 src/tree/group/their-group
fi
n=0
for p in $(cd src/tree && find . -depth | LC_ALL=C sort -r); do
    n=$((n + 1))
    touch -h -d "@$((1600000000 + n * 3600))" "src/tree/$p"
done
truncate -s 64M tree.img
mke2fs -q -F -t ext4 -d src tree.img

cmp_tree() { # A B: type, mode, size, content, link target, mtime, hard links
    python3 - "$1" "$2" <<'EOF'
import hashlib, os, stat, sys
a, b = sys.argv[1], sys.argv[2]
umask = os.umask(0); os.umask(umask)
root = os.geteuid() == 0
def walk(top):
    out = {}
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(d, n)
            out[os.path.relpath(p, top)] = os.lstat(p)
    out['.'] = os.lstat(top)
    return out
A, B = walk(a), walk(b)
bad = []
if set(A) != set(B):
    bad.append('names: only in source %s, only in copy %s' % (sorted(set(A) - set(B)), sorted(set(B) - set(A))))
for n in sorted(set(A) & set(B)):
    x, y = A[n], B[n]
    want = stat.S_IMODE(x.st_mode) if root else stat.S_IMODE(x.st_mode) & ~umask
    if stat.S_IFMT(x.st_mode) != stat.S_IFMT(y.st_mode) or want != stat.S_IMODE(y.st_mode):
        bad.append('%s: mode %o vs %o' % (n, x.st_mode, y.st_mode))
    if x.st_mtime_ns // 10**9 != y.st_mtime_ns // 10**9:
        bad.append('%s: mtime %d vs %d' % (n, x.st_mtime, y.st_mtime))
    if stat.S_ISLNK(x.st_mode) and os.readlink(os.path.join(a, n)) != os.readlink(os.path.join(b, n)):
        bad.append('%s: link target' % n)
    if stat.S_ISREG(x.st_mode):
        h = lambda p: hashlib.sha256(open(p, 'rb').read()).hexdigest()
        if h(os.path.join(a, n)) != h(os.path.join(b, n)):
            bad.append('%s: content' % n)
        if x.st_nlink != y.st_nlink:
            bad.append('%s: %d links vs %d' % (n, x.st_nlink, y.st_nlink))
    if root and (x.st_uid, x.st_gid) != (y.st_uid, y.st_gid):
        bad.append('%s: owner' % n)
if bad:
    print('\n'.join('# ' + l for l in bad[:20]))
    sys.exit(1)
EOF
}

mkdir out
ok "virt-copy-out of a directory: exit 0" "$K" virt-copy-out -a tree.img -m /dev/sda /tree out
ok "virt-copy-out: the copy equals the source tree" cmp_tree src/tree out/tree
ok "virt-copy-out: the hard link is a hard link" \
    bash -c '[ "$(stat -c %i out/tree/hello.txt)" = "$(stat -c %i out/tree/sub/hardlink.txt)" ]'
# A default ACL decides new files' modes there (o::--- takes the others'
# bits): copy-out must then set each mode itself, as before.
mkdir outacl
if setfacl -d -m u::rwx,g::rwx,o::--- outacl 2>/dev/null; then
    ok "virt-copy-out into a directory with a default ACL: exit 0" \
        "$K" virt-copy-out -a tree.img -m /dev/sda /tree outacl
    ok "virt-copy-out into a directory with a default ACL: modes, owners as the source's" \
        cmp_tree src/tree outacl/tree
fi
ok "virt-copy-out of a file: its content" \
    bash -c "'$K' virt-copy-out -a tree.img -m /dev/sda /tree/random.bin out && cmp out/random.bin src/tree/random.bin"
ok "virt-tar-out: exit 0" "$K" virt-tar-out -a tree.img -m /dev/sda /tree tree.tar
ok "virt-tar-out: GNU tar lists every name" \
    bash -c "diff <(tar -tf tree.tar | LC_ALL=C sort) <(cd src/tree && find . \( -type d -printf '%p/\n' \) -o -print | sed 's|^\./\$|./|; s|^\.//|./|' | LC_ALL=C sort)"
ok "virt-tar-out: tar -tvf shows modes, owners, link targets" \
    bash -c "tar -tvf tree.tar >tv.txt && grep -q '^-rwsr-xr-x root/root .* ./suid\$' tv.txt && \
             grep -q '^drwxrwxrwt .* ./sticky/\$' tv.txt && grep -q ' ./sub/rel-link -> ../hello.txt\$' tv.txt && \
             grep -q '^p.* ./fifo\$' tv.txt && grep -Eq ' ./(hello.txt|sub/hardlink.txt) link to ./(sub/hardlink.txt|hello.txt)\$' tv.txt"
mkdir x
ok "virt-tar-out: GNU tar extracts it without a complaint" tar -xf tree.tar -C x
ok "virt-tar-out: the extracted tree equals the source tree" cmp_tree src/tree x
ok "virt-tar-out: the archive is whole 10240-byte records" bash -c '[ $(( $(stat -c %s tree.tar) % 10240 )) = 0 ]'
ok "virt-tar-out compress:gzip: gzip of the same archive" \
    bash -c "'$K' virt-tar-out -a tree.img -m /dev/sda /tree - compress:gzip | gzip -dc | cmp - tree.tar"
ok "virt-tar-out to stdout equals the file" \
    bash -c "'$K' virt-tar-out -a tree.img -m /dev/sda /tree - | cmp - tree.tar"

# A file of 9 GiB (sparse): its size needs GNU's base-256 field.
mkdir -p big && truncate -s 9G big/huge && printf 'end' >>big/huge
truncate -s 32M big.img && mke2fs -q -F -t ext4 -d big big.img
ok "virt-tar-out: a 9 GiB file's size in base-256, as GNU tar reads it" \
    bash -c "'$K' virt-tar-out -a big.img -m /dev/sda / - 2>/dev/null | head -c 4096 | tar -tvf - 2>/dev/null | grep -q ' 9663676419 .* ./huge\$'"

# ---- 3. errors ----------------------------------------------------------------
err_is() { # EXPECTED_STATUS EXPECTED_STDERR COMMAND...
    local want_st=$1 want=$2
    shift 2
    "$@" >/dev/null 2>err.txt
    local st=$?
    [ "$st" = "$want_st" ] && [ "$(cat err.txt)" = "$want" ] ||
        { echo "# exit $st, stderr: $(cat err.txt)"; return 1; }
}
I="-a img/ext4.img -m /dev/sda"
ok "virt-cat: no such file" err_is 1 "libguestfs: error: download: /nope: No such file or directory" "$K" virt-cat $I /nope
ok "virt-cat: a directory" err_is 1 "libguestfs: error: download: /dir1: is a directory" "$K" virt-cat $I /dir1
ok "virt-ls: no such directory" err_is 1 "virt-ls: error: /nope: No such file or directory" "$K" virt-ls $I /nope
ok "virt-ls -R: not a directory" err_is 1 "virt-ls: error: /README.txt: Not a directory" "$K" virt-ls $I -R /README.txt
ok "virt-ls: bad -m device" err_is 1 "virt-ls: error: mount: /dev/sdz on /: /dev/sdz: no such device" "$K" virt-ls -a img/ext4.img -m /dev/sdz /
ok "virt-ls: unknown checksum" err_is 1 "virt-ls: error: checksum: unknown checksum type, expecting crc|md5|sha1|sha224|sha256|sha384|sha512" "$K" virt-ls $I -lR --checksum=md4 /
ok "virt-ls: no directory is a usage error" err_is 2 "virt-ls: error: no DIRECTORY given
Try \`kvmkit virt-ls --help' for more information." "$K" virt-ls $I
ok "virt-copy-out: no such file" err_is 1 "virt-copy-out: error: '/nope' is not a file or directory" "$K" virt-copy-out $I /nope out
ok "virt-copy-out: target not a directory" err_is 1 "virt-copy-out: error: target 'tree.img' is not a directory" "$K" virt-copy-out $I /data tree.img
ok "virt-tar-out: not a directory" err_is 1 "virt-tar-out: error: tar-out: /README.txt: Not a directory" "$K" virt-tar-out $I /README.txt t.tar
ok "virt-df: -h with --csv" err_is 1 "virt-df: you cannot use -h and --csv options together." "$K" virt-df -a img/ext4.img -h --csv
cp img/ext4.img corrupt.img
dd if=/dev/zero of=corrupt.img bs=1024 seek=1 count=1 conv=notrunc status=none
ok "corrupt image: the superblock is gone" err_is 1 "virt-ls: error: mount: /dev/sda on /: /dev/sda: no filesystem recognised" "$K" virt-ls -a corrupt.img -m /dev/sda /
printf 'QFI\xfb\0\0\0\x03' >bad.qcow2 && truncate -s 4096 bad.qcow2
ok "corrupt qcow2: an error, exit 1" bash -c "'$K' virt-cat -a bad.qcow2 /x 2>err.txt; [ \$? = 1 ] && grep -q '^virt-cat: error: bad.qcow2: ' err.txt"
for t in virt-ls virt-cat virt-copy-out virt-tar-out virt-df; do
    ok "$t --help" bash -c "'$K' $t --help | grep -q '^Usage: kvmkit $t '"
done

echo "1..$tap_n"
tap_exit
