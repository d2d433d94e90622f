#!/bin/bash
# lib/guestfs partition tables and probing against Debian's tools, no root:
# raw images partitioned with sfdisk (MBR with logical partitions) and sgdisk
# (GPT with names), filesystems made by mkfs.* in separate files and copied
# in with dd, qcow2 copies (plain and compressed) made by qemu-img. What
# lib/guestfs reads (gfs_dump) must equal sfdisk -J for the tables and
# blkid -p for every partition; `kvmkit virt-filesystems` must print the
# same rows for the raw and the qcow2 images.
# Usage: guestfs_part_test.sh KVMKIT GFS_DUMP   (prints TAP, plan at the end)
set -u
. "$(dirname "$0")/../tap.sh"
K=$(realpath "$1")
D=$(realpath "$2")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1

for tool in sfdisk sgdisk blkid mkfs.ext4 mkfs.vfat mkswap qemu-img python3; do
    if ! command -v $tool >/dev/null; then
        echo "1..0 # SKIP $tool not installed (scripts/deps.sh)"
        exit 0
    fi
done

# put IMAGE START_SECTOR FILE: copy a filesystem image into a partition.
put() { dd if="$3" of="$1" bs=512 seek="$2" conv=notrunc,sparse status=none; }
mkfile() { rm -f "$1"; truncate -s "$2" "$1"; }
start_of() { sfdisk -J "$1" | python3 -c 'import json,sys; p=[x for x in json.load(sys.stdin)["partitiontable"]["partitions"] if x["node"].endswith(sys.argv[1])]; print(p[0]["start"])' "$2"; }

# Compare gfs_dump IMAGE with sfdisk -J and blkid -p (python prints a
# message and fails on the first difference).
compare() { # IMAGE [FORMAT]
    "$D" "$@" >dump.txt 2>dump.err || { cat dump.err; return 1; }
    python3 - "$1" dump.txt <<'EOF'
import json, re, subprocess, sys
img, dump = sys.argv[1], sys.argv[2]
lines = [l.rstrip('\n').split('\t') for l in open(dump)]
table = [l for l in lines if l[0] == 'table'][0]
parts = {int(l[1]): l for l in lines if l[0] == 'part'}
probes = {int(l[1]): l for l in lines if l[0] == 'probe'}
def bad(msg):
    print('# ' + img + ': ' + msg)
    sys.exit(1)
r = subprocess.run(['sfdisk', '-J', img], capture_output=True, text=True)
if r.returncode != 0:
    if table[1] != 'none':
        bad('sfdisk sees no table, kvmkit sees ' + table[1])
    sf = []
    sector = 512
else:
    pt = json.loads(r.stdout)['partitiontable']
    # sfdisk takes a whole-disk FAT boot sector (55 AA) for an empty DOS
    # table; blkid and libguestfs see a filesystem, and so does kvmkit.
    if pt['label'] == 'dos' and not pt.get('partitions') and table[1] == 'none':
        pt = {'label': 'none', 'id': table[3], 'sectorsize': 512, 'partitions': []}
    if pt['label'] != table[1]:
        bad('label %s vs %s' % (pt['label'], table[1]))
    sector = pt['sectorsize']
    want_id = pt['id'].upper() if pt['label'] == 'gpt' else pt['id']
    if want_id != table[3]:
        bad('disk id %s vs %s' % (pt['id'], table[3]))
    sf = pt['partitions']
if len(sf) != len(parts):
    bad('%d partitions, kvmkit %d' % (len(sf), len(parts)))
for p in sf:
    n = int(p['node'][len(img):].lstrip('p'))
    k = parts.get(n)
    if not k:
        bad('partition %d missing' % n)
    if int(k[2]) != p['start'] or int(k[3]) != p['size']:
        bad('partition %d start/size %s/%s vs %s/%s' % (n, k[2], k[3], p['start'], p['size']))
    if k[4].lower() != p['type'].lower():
        bad('partition %d type %s vs %s' % (n, k[4], p['type']))
    if p.get('uuid', '') != k[5] or p.get('name', '') != k[7]:
        bad('partition %d uuid/name %s/%s vs %s/%s' % (n, k[5], k[7], p.get('uuid'), p.get('name')))
    if bool(p.get('bootable', False)) != (k[6] == '1'):
        bad('partition %d bootable' % n)
# blkid -p on each partition (or the whole disk).
ranges = [(int(n), int(k[2]) * sector, int(k[3]) * sector) for n, k in parts.items()
          if k[4] not in ('5', 'f', '85')] or [(0, 0, None)]
for n, off, size in ranges:
    cmd = ['blkid', '-p', '-o', 'export', '-O', str(off)] + (['-S', str(size)] if size else []) + [img]
    r = subprocess.run(cmd, capture_output=True, text=True)
    b = dict(l.split('=', 1) for l in r.stdout.splitlines() if '=' in l)
    b = {k: re.sub(r'\\(.)', r'\1', v) for k, v in b.items()}  # export quoting
    got = probes.get(n)
    if not got:
        bad('no probe line for %d' % n)
    want = [b.get('TYPE', ''), b.get('UUID', ''), b.get('LABEL', ''), b.get('VERSION', '')]
    if got[2:6] != want:
        bad('partition %d: probe %s, blkid %s' % (n, got[2:6], want))
EOF
}

# Filesystems, each in its own file.
mkfile ext2.fs 8M && mkfs.ext2 -q -L Ext2-lab ext2.fs
mkfile ext3.fs 8M && mkfs.ext3 -q -L "ext3 label" ext3.fs
mkfile ext4.fs 16M && mkfs.ext4 -q -L root ext4.fs
mkfile ext4b.fs 16M && mkfs.ext4 -q -b 4096 -O ^has_journal ext4b.fs
mkfile f16.fs 16M && mkfs.vfat -F 16 -n BOOTFS f16.fs >/dev/null
mkfile f32.fs 40M && mkfs.vfat -F 32 -n "EFI SYS" f32.fs >/dev/null
mkfile f12.fs 2M && mkfs.vfat -F 12 f12.fs >/dev/null
mkfile swap.fs 8M && mkswap -L swp swap.fs >/dev/null 2>&1

# 1. MBR: primaries, an extended partition and logical partitions.
mkfile mbr.img 100M
printf 'label: dos\n,16M,83,*\n,8M,82\n,,5\n,8M,83\n,16M,c\n,16M,83\n,16M,e\n' | sfdisk -q mbr.img
put mbr.img "$(start_of mbr.img 1)" ext4.fs
put mbr.img "$(start_of mbr.img 2)" swap.fs
put mbr.img "$(start_of mbr.img 5)" ext2.fs
put mbr.img "$(start_of mbr.img 6)" f16.fs
put mbr.img "$(start_of mbr.img 7)" ext4b.fs
ok "MBR: table and blkid agree" compare mbr.img

# 2. GPT with names, via sgdisk.
mkfile gpt.img 120M
sgdisk -n 1:1M:+40M -t 1:ef00 -c 1:"EFI System" -n 2:0:+8M -t 2:8300 -c 2:"Linux ext3" \
    -n 3:0:+16M -t 3:8300 -c 3:"données ☃" -n 5:0:+8M -t 5:8200 -c 5:swap gpt.img >/dev/null 2>&1
put gpt.img "$(start_of gpt.img 1)" f32.fs
put gpt.img "$(start_of gpt.img 2)" ext3.fs
put gpt.img "$(start_of gpt.img 3)" ext4.fs
put gpt.img "$(start_of gpt.img 5)" swap.fs
ok "GPT: table, names and blkid agree" compare gpt.img
ok "GPT: sgdisk -v finds no problem" sh -c 'sgdisk -v gpt.img | grep -q "No problems found"'

# 3. GPT with a corrupt primary header: the backup is used, and said so.
cp gpt.img gpt-bad.img
printf 'XXXX' | dd of=gpt-bad.img bs=1 seek=$((512 + 16)) conv=notrunc status=none
ok "GPT: primary header CRC broken -> backup used" \
    sh -c "'$D' gpt-bad.img | grep -q 'warning.*primary header at LBA 1 is bad.*CRC32.*using the backup'"
ok "GPT: backup gives the same partitions" \
    bash -c "diff <('$D' gpt.img | grep -v warning) <('$D' gpt-bad.img | grep -v warning)"

# 4. Whole-disk filesystems (no table): FAT12 is not taken for an MBR.
ok "whole-disk FAT12: no table, blkid agrees" compare f12.fs
ok "whole-disk ext3: blkid agrees" compare ext3.fs
ok "swap: blkid agrees" compare swap.fs

# 5. Optional filesystems, when their tools are installed.
if command -v mkfs.xfs >/dev/null; then
    mkfile xfs.fs 300M && mkfs.xfs -q -L xfslab xfs.fs
    ok "xfs: blkid agrees" compare xfs.fs
fi
if command -v mkfs.btrfs >/dev/null; then
    mkfile btrfs.fs 128M && mkfs.btrfs -q -L btrlab btrfs.fs >/dev/null 2>&1
    ok "btrfs: blkid agrees" compare btrfs.fs
fi
if command -v cryptsetup >/dev/null; then
    mkfile luks.fs 20M
    echo -n secret >key
    for v in luks1 luks2; do
        if cryptsetup luksFormat -q --type $v --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
            --label lab-$v --key-file key luks.fs >/dev/null 2>&1 ||
            cryptsetup luksFormat -q --type $v --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
                --key-file key luks.fs >/dev/null 2>&1; then
            ok "$v: blkid agrees" compare luks.fs
        fi
    done
fi
# An LVM2 PV label, written per the on-disk format (pvcreate needs a device).
python3 - <<'EOF'
import struct
def lvm_crc(data, crc=0xf597a6cf):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc
img = bytearray(4 << 20)
lab = bytearray(512)
lab[0:8] = b'LABELONE'
lab[8:16] = struct.pack('<Q', 1)
lab[20:24] = struct.pack('<I', 32)
lab[24:32] = b'LVM2 001'
lab[32:64] = b'Abcdef0123456789ghijKLMNopqrSTUV'
lab[64:72] = struct.pack('<Q', 4 << 20)
lab[16:20] = struct.pack('<I', lvm_crc(lab[20:]))
img[512:1024] = lab
open('pv.fs', 'wb').write(img)
EOF
ok "LVM2 PV (hand-built label): blkid agrees" compare pv.fs

# 6. qcow2 copies read the same; virt-filesystems prints the same rows.
qemu-img convert -O qcow2 mbr.img mbr.qcow2
qemu-img convert -c -O qcow2 gpt.img gpt-c.qcow2
ok "qcow2: MBR image agrees with sfdisk/blkid on the raw image" \
    bash -c "diff <('$D' mbr.img) <('$D' mbr.qcow2)"
ok "compressed qcow2: GPT image agrees" bash -c "diff <('$D' gpt.img) <('$D' gpt-c.qcow2)"
vf() { "$K" virt-filesystems "$@"; }
ok "virt-filesystems: raw and qcow2 print the same" \
    bash -c "diff <('$K' virt-filesystems -a mbr.img -a gpt.img --all --long --uuid --csv) \
                <('$K' virt-filesystems -a mbr.qcow2 --format qcow2 -a gpt-c.qcow2 --all --long --uuid --csv)"
vf -a mbr.img -a gpt.img --all --long --uuid --csv >vf.csv 2>vf.err
blkid_of() { blkid -p -o value -s "$3" -O $(($(start_of "$1" "$2") * 512)) "$1"; }
expect_row() { grep -qxF -- "$1" vf.csv || { echo "# missing row: $1"; cat vf.csv | sed 's/^/# /'; return 1; }; }
# A mountable filesystem's size is its statvfs size (libguestfs 1.48): below
# its partition's size. expect_fs_row NAME,...,LABEL PART_SIZE UUID
expect_fs_row() {
    local got
    got=$(grep -F -- "$1,," vf.csv | grep -E -- ",$3\$") || { echo "# missing row: $1"; sed 's/^/# /' vf.csv; return 1; }
    local size
    size=$(printf '%s' "$got" | awk -F, '{print $6}')
    [ "$size" -gt 0 ] && [ "$size" -le "$2" ] || { echo "# $got: size not in (0, $2]"; return 1; }
}
ok "virt-filesystems: ext4 row" expect_fs_row "/dev/sda1,filesystem,ext4,root" 16777216 "$(blkid_of mbr.img 1 UUID)"
ok "virt-filesystems: swap row (--all)" expect_row "/dev/sda2,filesystem,swap,swp,,8388608,,$(blkid_of mbr.img 2 UUID)"
ok "virt-filesystems: logical vfat row" expect_fs_row "/dev/sda6,filesystem,vfat,BOOTFS" 16777216 "$(blkid_of mbr.img 6 UUID)"
ok "virt-filesystems: GPT label with a space" expect_fs_row "/dev/sdb2,filesystem,ext3,\"ext3 label\"" 8388608 "$(blkid_of gpt.img 2 UUID)"
# Linux (and so libguestfs) gives an extended container a 1 KiB device
ok "virt-filesystems: extended partition row (1024 bytes, as Linux has it)" \
    expect_row "/dev/sda3,partition,,,05,1024,/dev/sda,"
ok "virt-filesystems: GPT partition has no MBR id" expect_row "/dev/sdb5,partition,,,,8388608,/dev/sdb,"
ok "virt-filesystems: devices" sh -c 'grep -qx "/dev/sda,device,,,,104857600,," vf.csv && grep -qx "/dev/sdb,device,,,,125829120,," vf.csv'
ok "virt-filesystems: the header" sh -c 'head -1 vf.csv | grep -qx "Name,Type,VFS,Label,MBR,Size,Parent,UUID"'
vf -a mbr.img >plain.txt
ok "virt-filesystems: default lists mountable filesystems only" \
    sh -c 'printf "/dev/sda1\n/dev/sda5\n/dev/sda6\n/dev/sda7\n" | diff - plain.txt'
vf -a mbr.img --long -h >long.txt
ok "virt-filesystems --long -h: aligned columns, human sizes" \
    bash -c 'head -2 long.txt | tr -s " " | sed -E "s/ [0-9.]+M / SIZE /" | diff - <(printf "Name Type VFS Label Size Parent\n/dev/sda1 filesystem ext4 root SIZE -\n")'
ok "virt-filesystems: -h with --csv is refused" sh -c "! '$K' virt-filesystems -a mbr.img -h --csv 2>/dev/null"

# 7. Damage: clear errors, never a crash.
cp mbr.img trunc.img && truncate -s 20M trunc.img
ok "truncated MBR image: error names the partition" \
    sh -c "! '$D' trunc.img 2>err.txt && grep -q 'trunc.img: MBR partition [0-9]: .*past the end of the disk' err.txt"
ok "virt-filesystems: error exit 1 with the message" \
    sh -c "'$K' virt-filesystems -a trunc.img 2>err.txt; [ \$? = 1 ] && grep -q 'kvmkit virt-filesystems: trunc.img: MBR' err.txt"
echo "1..$tap_n"
tap_exit
