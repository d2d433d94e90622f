#!/bin/bash
# lib/image and `kvmkit img` against qemu-img and qemu-io (Debian qemu-utils):
# images qemu makes read byte-identical through kvmkit; images kvmkit makes
# and writes pass `qemu-img check` and `qemu-img compare`; info and map agree;
# writers killed with SIGKILL (also inside snapshot create/apply/delete)
# leave consistent images with their flushed data and whole snapshots;
# corrupt images give clear errors.
# Usage: img_qemu_test.sh KVMKIT IMG_TORTURE IMG_POWERFAIL   (prints TAP, plan at the end)
# IMG_SNAP_ROUNDS (default 3): SIGKILL rounds per geometry for snapshot operations.
set -u
. "$(dirname "$0")/../tap.sh"
K=$(realpath "$1")
T=$(realpath "$2")
P=$(realpath "$3")
dir=$(mktemp -d)
wpid=
loopdev=
trap '[ -n "$wpid" ] && kill -9 $wpid 2>/dev/null; [ -n "$loopdev" ] && losetup -d $loopdev; rm -rf "$dir"' EXIT
cd "$dir" || exit 1
RANDOM=4242

if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
    echo "1..0 # SKIP qemu-img/qemu-io not installed"
    exit 0
fi

# Random qemu-io writes (pattern, zeros) over an image of SIZE bytes.
qemu_writes() { # IMAGE FORMAT SIZE COUNT
    local args=() i off len
    for ((i = 0; i < $4; i++)); do
        len=$((RANDOM * 7 % 200000 + 1))
        off=$(((RANDOM * 32768 + RANDOM) % ($3 - len)))
        if ((i % 5 == 4)); then
            args+=(-c "write -z $off $len")
        else
            args+=(-c "write -P $((RANDOM % 255 + 1)) $off $len")
        fi
    done
    qemu-io -f "$2" "${args[@]}" "$1" >/dev/null
}

# Our raw conversion of IMAGE equals qemu's.
reads_like_qemu() {
    rm -f q.raw k.raw
    qemu-img convert -O raw "$1" q.raw && "$K" img convert -O raw "$1" k.raw && cmp -s q.raw k.raw
}

qcheck_clean() { qemu-img check -q "$@" >/dev/null 2>&1; }
quiet() { "$@" >/dev/null 2>&1; }
qcheck_leaks_ok() {
    qemu-img check -q "$1" >/dev/null 2>&1
    local rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 3 ]
}
qcheck_leaks_ok_say() { # ...and name the first errors when there are more
    qcheck_leaks_ok "$1" && return 0
    qemu-img check "$1" 2>&1 | grep -m3 -E 'ERROR|Leaked' | sed 's/^/# /'
    return 1
}

# --- images made by qemu, read by kvmkit ------------------------------------
for cs in 512 1k 2k 4k 8k 16k 32k 64k 128k 256k 512k 1M 2M; do
    rm -f c.qcow2
    qemu-img create -q -f qcow2 -o cluster_size=$cs c.qcow2 6M
    qemu_writes c.qcow2 qcow2 $((6 << 20)) 10
    ok "qemu image, cluster_size=$cs, reads identically" reads_like_qemu c.qcow2
done
for rb in 1 2 4 8 16 32 64; do
    rm -f r.qcow2
    qemu-img create -q -f qcow2 -o cluster_size=4k,refcount_bits=$rb r.qcow2 4M
    qemu_writes r.qcow2 qcow2 $((4 << 20)) 10
    ok "qemu image, refcount_bits=$rb, reads identically" reads_like_qemu r.qcow2
done
for cs in 16k 64k 2M; do
    rm -f x.qcow2
    qemu-img create -q -f qcow2 -o cluster_size=$cs,extended_l2=on x.qcow2 8M
    qemu_writes x.qcow2 qcow2 $((8 << 20)) 12
    qemu-io -c "discard 0 $((3 << 20))" x.qcow2 >/dev/null
    qemu_writes x.qcow2 qcow2 $((8 << 20)) 4
    ok "qemu image, extended_l2, cluster_size=$cs, reads identically" reads_like_qemu x.qcow2
done
# Mixed data: random, text-like, zeros.
head -c 3M /dev/urandom > mixed.raw
yes "kvmkit mixed data line" | head -c 3M >> mixed.raw
head -c 2M /dev/zero >> mixed.raw
for ct in zlib zstd; do
    rm -f z.qcow2
    qemu-img convert -c -f raw -O qcow2 -o compression_type=$ct,cluster_size=16k mixed.raw z.qcow2
    ok "qemu image, compressed with $ct, reads identically" reads_like_qemu z.qcow2
done
# Backing chain of depth 3, raw at the bottom.
qemu-img create -q -f raw base.raw 8M
qemu_writes base.raw raw $((8 << 20)) 8
qemu-img create -q -f qcow2 -b base.raw -F raw -o cluster_size=16k,extended_l2=on mid.qcow2
qemu_writes mid.qcow2 qcow2 $((8 << 20)) 8
qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 -o cluster_size=4k top.qcow2
qemu_writes top.qcow2 qcow2 $((8 << 20)) 8
ok "qemu chain raw <- qcow2 <- qcow2 reads identically" reads_like_qemu top.qcow2
# Internal snapshots made by qemu.
qemu-img create -q -f qcow2 -o cluster_size=8k s.qcow2 4M
qemu_writes s.qcow2 qcow2 $((4 << 20)) 6
qemu-img snapshot -c first s.qcow2
qemu_writes s.qcow2 qcow2 $((4 << 20)) 6
qemu-img snapshot -c second s.qcow2
qemu_writes s.qcow2 qcow2 $((4 << 20)) 6
out=$("$K" img snapshot -l s.qcow2)
ok "qemu snapshots are listed" bash -c "grep -q ' first ' <<<'$out' && grep -q ' second ' <<<'$out'"
cp s.qcow2 s2.qcow2
qemu-img convert -O raw -l snapshot.name=first s.qcow2 first.raw
"$K" img convert -O raw -l snapshot.name=first s.qcow2 kfirst.raw
ok "a qemu snapshot reads identically through convert -l" cmp -s first.raw kfirst.raw
"$K" img snapshot -a first s2.qcow2
ok "applying a qemu snapshot gives its contents" qemu-img compare -q s2.qcow2 first.raw
ok "the image passes qemu-img check after applying" qcheck_clean s2.qcow2
"$K" img snapshot -d second s2.qcow2
ok "deleting a qemu snapshot leaves a clean image" qcheck_clean s2.qcow2
# Many operations in a row, judged by qemu after each: no error, no leak, the
# contents qemu reads for every snapshot, and a file that does not keep growing.
snapshot_sequence() { # OPTIONS
    local img=seq.qcow2 i bad=0 size1=0
    rm -f $img seq-*.raw
    "$K" img create -q -f qcow2 -o "$1" $img 4M || return 1
    local cs
    cs=$(qemu-img info --output=json $img | python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster-size"])')
    # Two compressed clusters (more, packed into one host cluster, would
    # overflow 8-bit refcounts once a few snapshots share them).
    qemu-io -c "write -P 1 0 1M" -c "write -z 1M 64k" -c "write -c -P 2 2M $((2 * cs))" $img >/dev/null
    for i in $(seq 1 12); do
        "$K" img snapshot -c c$i $img || bad=1
        qemu-img convert -O raw $img seq-c$i.raw
        qemu-io -c "write -P $((i + 2)) $((i * 200000)) 300k" $img >/dev/null
        if ((i % 3 == 0)); then
            "$K" img snapshot -a c$((i - 1)) $img || bad=1
            qemu-img compare -q $img seq-c$((i - 1)).raw || { echo "# apply c$((i - 1)): contents differ"; bad=1; }
        fi
        if ((i > 2)); then
            "$K" img snapshot -d c$((i - 2)) $img || bad=1
            rm -f seq-c$((i - 2)).raw
        fi
        qcheck_clean $img || { echo "# after step $i: $(qemu-img check $img 2>&1 | head -3)"; bad=1; }
    done
    for f in seq-c*.raw; do
        local n=${f#seq-}
        n=${n%.raw}
        rm -f seq-snap.raw
        qemu-img convert -O raw -l snapshot.name=$n $img seq-snap.raw && cmp -s seq-snap.raw $f ||
            { echo "# snapshot $n reads differently through qemu"; bad=1; }
    done
    # 8 more create/apply/delete of one snapshot: the file does not grow.
    size1=$(stat -c %s $img)
    for i in $(seq 1 8); do
        "$K" img snapshot -c again $img && "$K" img snapshot -a again $img &&
            "$K" img snapshot -d again $img || bad=1
    done
    local size2
    size2=$(stat -c %s $img)
    qcheck_clean $img || bad=1
    echo "# $1: file $size1 bytes, $size2 after 8 more create/apply/delete"
    [ $bad -eq 0 ] && [ $size2 -le $((size1 + 8 * cs)) ]
}
for so in cluster_size=4k cluster_size=64k cluster_size=32k,extended_l2=on \
    cluster_size=512,refcount_bits=8 compat=0.10,cluster_size=16k; do
    ok "kvmkit snapshot create/apply/delete sequence ($so): qemu-img check clean after each" snapshot_sequence $so
done

# --- images made and written by kvmkit, judged by qemu ----------------------
variant_n=0
torture_variant() { # OPTIONS SIZE OPS
    variant_n=$((variant_n + 1))
    local img=t$variant_n.qcow2 ref=t$variant_n.ref
    "$K" img create -q -f qcow2 -o "$1" $img $2 || return 1
    truncate -s $2 $ref
    "$T" mirror $img $ref $variant_n 400 "$3"
    ok "kvmkit writes ($1, ops $3) complete" [ $? -eq 0 ]
    ok "kvmkit image ($1) passes qemu-img check" qcheck_clean $img
    ok "kvmkit image ($1) holds the expected data" qemu-img compare -q -f qcow2 -F raw $img $ref
    if [[ $3 == *s* ]]; then
        local s bad=0 n=0
        for s in $ref.s*; do
            [ -e "$s" ] || continue
            n=$((n + 1))
            rm -f snap.raw ksnap.raw
            qemu-img convert -O raw -l snapshot.name=${s##*.} $img snap.raw
            cmp -s snap.raw "$s" || bad=1
            "$K" img convert -O raw -l snapshot.name=${s##*.} $img ksnap.raw
            cmp -s ksnap.raw "$s" || bad=2
        done
        ok "kvmkit snapshots ($1) read back through qemu and convert -l ($n)" test $bad -eq 0 -a $n -gt 0
    fi
}
torture_variant "cluster_size=64k" 8M wzdcs
torture_variant "compat=0.10,cluster_size=4k" 4M wzdcs
torture_variant "cluster_size=512,refcount_bits=1" 2M wzdc
torture_variant "cluster_size=32k,extended_l2=on" 8M wzdcs
torture_variant "cluster_size=8k,compression_type=zstd,refcount_bits=8" 4M wzdcs
torture_variant "cluster_size=16k,lazy_refcounts=on" 4M wzdc
torture_variant "cluster_size=2M,refcount_bits=64" 16M wzdc
torture_variant "cluster_size=1k,refcount_bits=2,preallocation=metadata" 1M wzd
# Refcount blocks of 64 clusters, a table of 64 blocks: both grow many times.
torture_variant "cluster_size=512,refcount_bits=64" 6M wzdc

# Writes into the top of qemu's chain: copy-on-write from both layers.
qemu-img convert -O raw top.qcow2 top.ref
"$T" mirror top.qcow2 top.ref 77 300 wzd
ok "kvmkit writes into a chain pass qemu-img check" qcheck_clean top.qcow2
ok "kvmkit writes into a chain read back through qemu" qemu-img compare -q -F raw top.qcow2 top.ref

# convert: compressed, and -B onto a backing file.
for ct in zlib zstd; do
    rm -f kc.qcow2
    "$K" img convert -c -O qcow2 -o compression_type=$ct mixed.raw kc.qcow2
    ok "kvmkit convert -c ($ct) passes qemu-img check" qcheck_clean kc.qcow2
    ok "kvmkit convert -c ($ct) equals its source for qemu" qemu-img compare -q kc.qcow2 mixed.raw
done
"$K" img convert -O qcow2 -B mid.qcow2 -F qcow2 top.qcow2 rebased.qcow2
ok "kvmkit convert -B keeps only the top layer's data" qemu-img compare -q rebased.qcow2 top.qcow2
ok "kvmkit convert -B output passes qemu-img check" qcheck_clean rebased.qcow2
"$K" img convert -O raw -p top.qcow2 top2.raw >/dev/null
ok "kvmkit convert to raw equals qemu's" cmp -s top2.raw top.ref

# External data file and persistent bitmaps made by qemu, written by kvmkit.
qemu-img create -q -f qcow2 -o data_file=df.data df.qcow2 4M
qemu_writes df.qcow2 qcow2 $((4 << 20)) 6
ok "qemu image with an external data file reads identically" reads_like_qemu df.qcow2
qemu-img convert -O raw df.qcow2 df.ref
"$T" mirror df.qcow2 df.ref 5 200 wzd
ok "kvmkit writes through an external data file pass qemu-img check" qcheck_clean df.qcow2
ok "kvmkit writes through an external data file read back through qemu" qemu-img compare -q df.qcow2 df.ref
for dfo in "data_file=kd.data,data_file_raw=on" "data_file=ke.data,cluster_size=16k,extended_l2=on"; do
    rm -f kd.qcow2 kd.ref
    "$K" img create -q -f qcow2 -o "$dfo" kd.qcow2 4M
    truncate -s 4M kd.ref
    "$T" mirror kd.qcow2 kd.ref 12 200 wzd
    ok "kvmkit image with an external data file ($dfo) passes qemu-img check" qcheck_clean kd.qcow2
    ok "kvmkit image with an external data file ($dfo) reads back through qemu" qemu-img compare -q kd.qcow2 kd.ref
    if [[ $dfo == *raw=on ]]; then
        ok "a raw external data file stays identical to the image" cmp -s kd.data kd.ref
    fi
done
qemu-img create -q -f qcow2 bm.qcow2 4M
qemu-img bitmap --add bm.qcow2 tracking
qemu-img bitmap --add --disable bm.qcow2 frozen
qemu_writes bm.qcow2 qcow2 $((4 << 20)) 4
qemu-img convert -O raw bm.qcow2 bm.ref
"$T" mirror bm.qcow2 bm.ref 6 100 wz
ok "kvmkit writes keep the bitmaps consistent for qemu-img check" qcheck_clean bm.qcow2
ok "kvmkit writes beside bitmaps read back through qemu" qemu-img compare -q bm.qcow2 bm.ref
bitmaps_state() {
    qemu-img info --output=json bm.qcow2 | python3 -c '
import json, sys
b = {x["name"]: x["flags"] for x in json.load(sys.stdin)["format-specific"]["data"]["bitmaps"]}
sys.exit(0 if b == {"tracking": ["in-use", "auto"], "frozen": []} else 1)'
}
ok "the tracking bitmap is marked in use, the disabled one is untouched" bitmaps_state
"$K" img snapshot -c with-bitmaps bm.qcow2
"$T" mirror bm.qcow2 bm.ref 7 50 w
"$K" img snapshot -a with-bitmaps bm.qcow2 && "$K" img snapshot -d with-bitmaps bm.qcow2
ok "snapshot operations keep the bitmaps referenced (qemu-img check clean)" qcheck_clean bm.qcow2
ok "snapshot operations keep the bitmap directory" bitmaps_state

# resize, rebase, commit
"$K" img resize t6.qcow2 +3M >/dev/null
vs=$(qemu-img info --output=json t6.qcow2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
ok "kvmkit resize is seen by qemu" [ "$vs" = $(((4 + 3) << 20)) ]
ok "a resized image passes qemu-img check" qcheck_clean t6.qcow2
cp top.qcow2 rb.qcow2
"$K" img rebase -b base.raw -F raw rb.qcow2
ok "kvmkit rebase keeps the contents" qemu-img compare -q rb.qcow2 top.ref
bf=$(qemu-img info --output=json rb.qcow2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["backing-filename"])')
ok "kvmkit rebase changes the backing file" [ "$bf" = base.raw ]
# commit -b: into the raw image at the bottom of a copy of the chain, through
# the middle layer; the top is left as it is (-b implies -d, as in qemu-img).
cp base.raw cb-base.raw
cp mid.qcow2 cb-mid.qcow2
cp top.qcow2 cb-top.qcow2
qemu-img rebase -q -u -b cb-base.raw -F raw cb-mid.qcow2
qemu-img rebase -q -u -b cb-mid.qcow2 -F qcow2 cb-top.qcow2
top_before=$(md5sum <cb-top.qcow2)
"$K" img commit -b cb-base.raw -r 1G cb-top.qcow2 >/dev/null
ok "kvmkit commit -b writes every layer above the base into it" \
    qemu-img compare -q -f raw -F raw cb-base.raw top.ref
ok "kvmkit commit -b leaves the top image file as it was" \
    bash -c "[ \"\$(md5sum <cb-top.qcow2)\" = '$top_before' ]"
"$K" img commit -b not-in-chain.raw cb-top.qcow2 >/dev/null 2>"$dir/commit-b.err"
ok "kvmkit commit -b with an image outside the chain is refused, saying so" \
    grep -q "not in the backing chain" "$dir/commit-b.err"
"$K" img commit -r fast cb-top.qcow2 >/dev/null 2>&1
ok "kvmkit commit -r with a bad rate is refused" [ $? = 2 ]
"$K" img commit top.qcow2 >/dev/null
ok "kvmkit commit writes the top layer into its backing file" qemu-img compare -q mid.qcow2 top.ref
ok "the committed-into image passes qemu-img check" qcheck_clean mid.qcow2
ok "the committed image is emptied and passes qemu-img check" qcheck_clean top.qcow2
ok "the emptied image still reads the same (through its backing file)" qemu-img compare -q top.qcow2 top.ref
emptied() {
    qemu-img map --output=json top.qcow2 | python3 -c '
import json, sys
sys.exit(0 if all(e["depth"] > 0 or not e["data"] for e in json.load(sys.stdin)) else 1)'
}
ok "the emptied image allocates no data of its own" emptied

# --- info and map agree with qemu -------------------------------------------
info_agrees() {
    python3 - "$1" "$K" <<'EOF'
import json, subprocess, sys
img, k = sys.argv[1], sys.argv[2]
q = json.loads(subprocess.check_output(["qemu-img", "info", "--output=json", img]))
o = json.loads(subprocess.check_output([k, "img", "info", "--output=json", img]))
bad = [key for key in q if key in o and q[key] != o[key]]
missing = [key for key in ("virtual-size", "format", "filename", "dirty-flag", "actual-size") if key not in o]
for key in ("cluster-size", "format-specific", "backing-filename", "backing-filename-format", "snapshots"):
    if key in q and key not in o:
        missing.append(key)
if bad or missing:
    print("# differ:", bad, "missing:", missing, file=sys.stderr)
    sys.exit(1)
EOF
}
for f in t1.qcow2 t2.qcow2 t4.qcow2 t5.qcow2 s.qcow2 rb.qcow2 base.raw; do
    ok "info --output=json agrees with qemu on $f" info_agrees $f
done
map_agrees() {
    cmp -s <(qemu-img map --output=json "$1") <("$K" img map --output=json "$1")
}
ok "map --output=json agrees with qemu (no backing file)" map_agrees c.qcow2
ok "map --output=json agrees with qemu (extended L2)" map_agrees x.qcow2

# --- check and repair, both ways ---------------------------------------------
set_refcount() { # IMAGE CLUSTER VALUE (16-bit refcounts)
    python3 - "$@" <<'EOF'
import struct, sys
path, cluster, value = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "r+b") as f:
    h = f.read(104)
    cb = struct.unpack(">I", h[20:24])[0]
    rt = struct.unpack(">Q", h[48:56])[0]
    f.seek(rt)
    rb = struct.unpack(">Q", f.read(8))[0]
    f.seek(rb + cluster * 2)
    f.write(struct.pack(">H", value))
EOF
}
qemu-img create -q -f qcow2 -o cluster_size=4k leak.qcow2 4M
qemu_writes leak.qcow2 qcow2 $((4 << 20)) 5
set_refcount leak.qcow2 1000 1
"$K" img check leak.qcow2 >/dev/null
ok "kvmkit check reports a leak qemu made (exit 3)" [ $? -eq 3 ]
"$K" img check -r leaks leak.qcow2 >/dev/null
ok "kvmkit check -r leaks repairs it for qemu" qcheck_clean leak.qcow2
l1=$(python3 -c 'import struct,sys; f=open("leak.qcow2","rb"); h=f.read(48); print(struct.unpack(">Q",h[40:48])[0]//4096)')
set_refcount leak.qcow2 "$l1" 0
"$K" img check leak.qcow2 >/dev/null
ok "kvmkit check reports a refcount too low (exit 2)" [ $? -eq 2 ]
"$K" img check -r all leak.qcow2 >/dev/null
ok "kvmkit check -r all rebuilds the refcounts for qemu" qcheck_clean leak.qcow2
qemu-img convert -O raw leak.qcow2 leak.raw
ok "the repaired image keeps its data" reads_like_qemu leak.qcow2

# --- writers killed at random moments -----------------------------------------
crash_round() { # N OPTIONS
    local img=crash$1.qcow2
    rm -f $img crash.log
    "$K" img create -q -f qcow2 -o "$2" $img 8M
    "$T" crash $img $1 > crash.log 2>crash.err &
    wpid=$!
    sleep 0.$((RANDOM % 6 + 2))
    kill -9 $wpid 2>/dev/null
    wait $wpid 2>/dev/null
    wpid=
    local n
    n=$(grep '^flushed' crash.log | tail -1 | cut -d' ' -f2)
    ok "SIGKILL round $1 ($2): qemu-img check finds at most leaks" qcheck_leaks_ok $img
    ok "SIGKILL round $1 ($2): data of the last flush (${n:-0} slots) is there" "$T" verify $img ${n:-0}
}
crash_round 1 cluster_size=4k
crash_round 2 cluster_size=64k
crash_round 3 cluster_size=32k,extended_l2=on
crash_round 4 cluster_size=512,refcount_bits=8
crash_round 5 cluster_size=16k,compression_type=zstd
# Lazy refcounts: the dirty bit makes the next writer rebuild refcounts.
rm -f lazy.qcow2
"$K" img create -q -f qcow2 -o cluster_size=4k,lazy_refcounts=on lazy.qcow2 8M
"$T" crash lazy.qcow2 9 > crash.log 2>/dev/null &
wpid=$!
sleep 0.5
kill -9 $wpid 2>/dev/null
wait $wpid 2>/dev/null
wpid=
n=$(grep '^flushed' crash.log | tail -1 | cut -d' ' -f2)
dirty=$("$K" img info --output=json lazy.qcow2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["dirty-flag"])')
ok "a killed lazy-refcounts writer leaves the dirty bit set" [ "$dirty" = True ]
"$K" img snapshot -c after-crash lazy.qcow2
ok "reopening read-write rebuilds the refcounts (qemu-img check clean)" qcheck_clean lazy.qcow2
ok "the lazy-refcounts image holds its flushed data" "$T" verify lazy.qcow2 ${n:-0}

# Writers doing snapshot create/apply/delete between writes, killed at random
# moments: at most leaks for qemu-img check; the last completed step's data
# and snapshots (or the next step's, for a snapshot operation under way: all
# or nothing) read back through our reader; and qemu reads every snapshot as
# we do.
snap_rounds=0
snap_kills_in_ops=0
snapshots_read_alike() { # IMAGE
    local s bad=0
    for s in $(qemu-img snapshot -l "$1" | awk 'NR > 2 { print $2 }'); do
        rm -f sq.raw sk.raw
        qemu-img convert -O raw -l snapshot.name=$s "$1" sq.raw &&
            "$K" img convert -O raw -l snapshot.name=$s "$1" sk.raw && cmp -s sq.raw sk.raw || bad=1
    done
    return $bad
}
snap_round_intact() { # IMAGE SEED MAXSNAPS
    local v rc
    v=$("$T" snapverify "$1" "$2" "$3" snap.log 2>&1)
    rc=$?
    sed 's/^/# /' <<<"$v" | head -8
    [[ $v == *"(create,"* || $v == *"(apply,"* || $v == *"(delete,"* ]] && snap_kills_in_ops=$((snap_kills_in_ops + 1))
    [ $rc -eq 0 ] && [ ! -s snap.err ] && snapshots_read_alike "$1"
}
snap_crash_round() { # N OPTIONS MAXSNAPS
    local img=snapcrash$1.qcow2 seed=$RANDOM
    rm -f $img
    : > snap.log # a writer killed before it started has done 0 steps
    "$K" img create -q -f qcow2 -o "$2" $img 4M
    "$T" snapcrash $img $seed $3 > snap.log 2>snap.err &
    wpid=$!
    sleep 0.$((RANDOM % 6 + 2))
    kill -9 $wpid 2>/dev/null
    wait $wpid 2>/dev/null
    wpid=
    snap_rounds=$((snap_rounds + 1))
    ok "snapshot SIGKILL round $1 ($2): qemu-img check finds at most leaks" qcheck_leaks_ok_say $img
    ok "snapshot SIGKILL round $1 ($2): completed steps intact, snapshots whole, qemu reads them alike" \
        snap_round_intact $img $seed $3
    rm -f $img
}
n=0
for geo in "cluster_size=4k 4" "cluster_size=64k 4" "cluster_size=32k,extended_l2=on 4" \
    "cluster_size=512,refcount_bits=8 4" "cluster_size=4k,refcount_bits=2 2" "compat=0.10,cluster_size=8k 3"; do
    set -- $geo
    for _ in $(seq 1 "${IMG_SNAP_ROUNDS:-3}"); do
        n=$((n + 1))
        snap_crash_round $n "$1" "$2"
    done
done
echo "# $snap_rounds snapshot SIGKILL rounds, $snap_kills_in_ops of them killed inside a snapshot operation"

# --- block devices (a loop device, when we may create one) ------------------
truncate -s 16M blk.img
if loopdev=$(losetup -f --show blk.img 2>/dev/null) && [ -b "$loopdev" ]; then
    "$K" img convert -n -O raw mixed.raw "$loopdev" 2>/dev/null
    head -c 16M mixed.raw > mixed16.raw
    ok "raw on a block device: convert writes it, compare reads it" "$K" img compare -q -f raw -F raw "$loopdev" mixed16.raw
    "$K" img create -q -f qcow2 "$loopdev" 8M
    truncate -s 8M blk.ref
    "$T" mirror "$loopdev" blk.ref 8 300 wzdc
    ok "qcow2 on a block device passes qemu-img check" qcheck_clean -f qcow2 "$loopdev"
    ok "qcow2 on a block device holds the expected data" qemu-img compare -q -f qcow2 -F raw "$loopdev" blk.ref
    losetup -d "$loopdev"
    loopdev=
else
    loopdev=
    for t in 1 2 3; do echo "ok $((tap_n + 1)) # SKIP no loop device"; tap_n=$((tap_n + 1)); done
fi

# --- image locking, both ways ---------------------------------------------------
qemu-img create -q -f qcow2 lock.qcow2 64M
qemu-img bench -w -c 100000000 -d 1 -s 4k lock.qcow2 >/dev/null 2>&1 &
qpid=$!
# Until qemu-img bench holds its locks, seen in /proc/locks: probing with
# another opener (qemu-img info) could take a lock at the moment bench takes
# its own and make bench fail. Seconds on a loaded machine.
lock_ino=$(stat -c %i lock.qcow2)
for _ in $(seq 400); do
    kill -0 $qpid 2>/dev/null || break
    grep -q ":$lock_ino " /proc/locks && break
    sleep 0.05
done
expect_lock_error() { ! "$@" >/dev/null 2>lock.err && grep -qi "lock" lock.err; }
ok "kvmkit refuses to write an image QEMU is writing" expect_lock_error "$K" img resize lock.qcow2 +1M
ok "kvmkit refuses to read it without -U" expect_lock_error "$K" img info lock.qcow2
ok "kvmkit reads it with -U" quiet "$K" img info -U lock.qcow2
kill $qpid
wait $qpid 2>/dev/null
"$K" img create -q -f qcow2 lock2.qcow2 8M
"$T" crash lock2.qcow2 1 >/dev/null 2>&1 &
wpid=$!
sleep 0.3
ok "QEMU refuses an image kvmkit is writing" expect_lock_error qemu-img info lock2.qcow2
kill -9 $wpid
wait $wpid 2>/dev/null
wpid=

# --- power loss: lost unsynced writes, in any combination ---------------------
powerfail_clean() { # SEED OPTIONS
    local pd=pf$1 f bad=0
    mkdir -p $pd
    "$P" $pd $1 20 "$2" > $pd/list 2>/dev/null || return 1
    for f in $(cat $pd/list); do
        qcheck_leaks_ok $f || { echo "# $f: $(qemu-img check $f 2>&1 | grep -m1 ERROR)"; bad=1; }
    done
    rm -rf $pd
    return $bad
}
for po in cluster=4096 cluster=65536 cluster=32768,extl2 cluster=512,rbits=8 v2,cluster=8192 cluster=16384,zstd,rbits=64; do
    ok "power loss at 20 random points ($po): qemu-img check finds at most leaks" powerfail_clean $RANDOM $po
done
powerfail_snapshots() { # OPTIONS
    local pd=pfs f bad=0
    mkdir -p $pd
    "$P" $pd $RANDOM 20 "$1" > $pd/list 2>/dev/null || return 1
    for f in $(cat $pd/list); do
        qcheck_leaks_ok $f || { echo "# $f: $(qemu-img check $f 2>&1 | grep -m1 ERROR)"; bad=1; }
    done
    rm -rf $pd
    return $bad
}
for po in cluster=4096,snapshots cluster=32768,extl2,snapshots cluster=512,rbits=8,snapshots; do
    ok "power loss during snapshot create/apply/delete ($po): qemu-img check finds at most leaks" powerfail_snapshots $po
done

# --- corrupt images: clear errors, never a crash -------------------------------
expect_error() { # DESCRIPTION PATTERN COMMAND...
    local desc=$1 pat=$2
    shift 2
    local err rc
    err=$("$@" 2>&1 >/dev/null)
    rc=$?
    ok "$desc" bash -c "[ $rc -ge 1 ] && [ $rc -lt 128 ] && grep -q -- '$pat' <<<'$err'"
}
patch() { # IMAGE OFFSET FORMAT VALUE
    python3 -c 'import struct,sys; f=open(sys.argv[1],"r+b"); f.seek(int(sys.argv[2])); f.write(struct.pack(sys.argv[3], int(sys.argv[4])))' "$@"
}
qemu-img create -q -f qcow2 bad.qcow2 1M
cp bad.qcow2 bad1.qcow2 && patch bad1.qcow2 72 '>Q' 32
expect_error "an unknown incompatible feature is named" "incompatible feature bit 5" "$K" img info bad1.qcow2
cp bad.qcow2 bad2.qcow2 && patch bad2.qcow2 40 '>Q' $((1 << 40))
expect_error "an L1 table past the end of the file is refused" "past the end" "$K" img info bad2.qcow2
cp bad.qcow2 bad3.qcow2 && patch bad3.qcow2 20 '>I' 40
expect_error "a cluster size of 2^40 is refused" "cluster_bits" "$K" img info bad3.qcow2
qemu-img create -q -f qcow2 -F qcow2 -b loop2.qcow2 -u loop1.qcow2 1M
qemu-img create -q -f qcow2 -F qcow2 -b loop1.qcow2 -u loop2.qcow2 1M
qemu-img rebase -q -u -F qcow2 -b loop2.qcow2 loop1.qcow2
expect_error "a backing-file loop is refused" "loop" "$K" img info --backing-chain loop1.qcow2
qemu-img create -q -f qcow2 -o cluster_size=4k bad5.qcow2 1M
qemu-io -c 'write -P 9 0 4k' bad5.qcow2 >/dev/null
python3 - <<'EOF2'
import struct
with open("bad5.qcow2", "r+b") as f:
    h = f.read(48)
    f.seek(struct.unpack(">Q", h[40:48])[0])
    l2 = struct.unpack(">Q", f.read(8))[0] & 0x00fffffffffffe00
    f.seek(l2)
    entry = struct.unpack(">Q", f.read(8))[0]
    f.seek(l2)
    f.write(struct.pack(">Q", entry + 512))
EOF2
expect_error "an unaligned data cluster offset is refused" "invalid L2 entry" "$K" img convert -O raw bad5.qcow2 bad5.raw
qemu-img create -q -f qcow2 -u -b nosuch.raw -F raw nb.qcow2 1M
expect_error "a missing backing file is named" "nosuch.raw" "$K" img convert -O raw nb.qcow2 nb.raw
ok "info does not need the backing file (as qemu-img)" quiet "$K" img info nb.qcow2
echo "1..$tap_n"
tap_exit
