#!/bin/bash
# XFS partitions (v5 with 4 KiB and 1 KiB blocks, 7 AGs on 4 KiB sectors
# with a short last AG, v4): ferry scan's used bytes against xfs_db, captures
# by used blocks checked with xfs_repair -n, xfs_db's free-space list and the
# kernel's own mount of the copy; a log left to replay (xfs_logprint says
# DIRTY) and features Ferry does not know make it copy every non-zero block
# instead, with a warning.
. "$(dirname "$0")/../lib/tap.sh"

if [ "$(id -u)" != 0 ] || ! command -v mkfs.xfs >/dev/null; then
	echo "1..0 # SKIP needs root (loop devices, mounts) and xfsprogs"
	exit 0
fi

plan 58
# A setup step that fails ends the test (set -e): say which.
set -E
trap 'echo "# line $LINENO failed: $BASH_COMMAND" >&2' ERR

MiB=1048576
XC=$TESTS_DIR/lib/xfscheck.py
mnt1=$T_DIR/mnt1 mnt2=$T_DIR/mnt2
mkdir -p "$mnt1" "$mnt2"

mnt() {
	mount "$@"
	on_exit "umount ${*: -1}"
}
unmnt() { undo_now "umount $1"; }

# mkdisk IMG MIB...: an msdos disk with one partition of each size, the
# first at 1 MiB.
mkdisk() {
	local img=$1 start=1 size table=""
	shift
	for size in "$@"; do
		table+="start=$((start * 2048)), size=$((size * 2048)), type=83"$'\n'
		start=$((start + size))
	done
	truncate -s $(((start + 1) * MiB)) "$img"
	printf '%s' "$table" | sfdisk -q "$img"
}

# files DIR COUNT MAXKIB: COUNT files of random bytes up to MAXKIB KiB (and
# a 3 MB one, a symlink, an empty directory) in DIR/data; with "holes",
# every other one is deleted again: free space in many pieces, with the
# deleted files' bytes still in it.
files() {
	python3 - "$@" <<'EOF'
import os, random, sys
root, n, maxkib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
holes = len(sys.argv) > 4
random.seed(n)
d = os.path.join(root, "data")
os.makedirs(os.path.join(d, "empty"))
for i in range(n):
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(os.urandom(random.randint(1, maxkib * 1024)))
with open(os.path.join(root, "big"), "wb") as f:
    f.write(os.urandom(3000000))
os.symlink("data/f00001", os.path.join(root, "link"))
if holes:
    os.sync()  # blocks are allocated at writeback: before it there is no hole
    for i in range(0, n, 2):
        os.unlink(os.path.join(d, "f%05d" % i))
EOF
}

# mkxfs IMG PART-OFFSET MIB LABEL FILES MAXKIB MKFS-OPTION...: the
# filesystem, filled through a kernel mount.
mkxfs() {
	local img=$1 off=$2 size=$(($3 * MiB)) label=$4 n=$5 maxkib=$6
	shift 6
	attach "$img" "$off" "$size"
	# shellcheck disable=SC2154 # dev: set by attach (tests/lib/cleanup.sh)
	mkfs.xfs -q -f -L "$label" "$@" "$dev"
	mnt "$dev" "$mnt1"
	files "$mnt1" "$n" "$maxkib" holes
	unmnt "$mnt1"
	detach "$dev"
}

# json_field FILE EXPR: EXPR (one value or several, printed with spaces)
# with j = the JSON in FILE.
json_field() {
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(*($2,))" "$1"
}

# scan_json DISK: ferry scan --json DISK into $T_DIR/scan.json.
scan_json() {
	"$FERRY" scan --json "$1" >"$T_DIR/scan.json" 2>"$T_DIR/scan.err"
}
# part_field N EXPR: the same with p = partition N of the last scan.
part_field() {
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); p=[p for p in j['disks'][0]['partitions'] if p['number'] == $1][0]; print(*($2,))" "$T_DIR/scan.json"
}

# capture NAME DISK: a raw capture (a data disk: no system to fix, and the
# missing root is forced past), the source's SHA-256 checked.
capture() {
	local name=$1 img=$2 sha rc=0
	sha=$(sha "$img")
	"$FERRY" capture --quiet --no-fix --force --json --format raw "$img" "$T_DIR/$name.raw" \
		>"$T_DIR/$name.json" 2>"$T_DIR/$name.err" || rc=$?
	if [ "$rc" = 0 ]; then
		ok "$name: capture exits 0"
	else
		not_ok "$name: capture exits 0" "exit $rc" "$(cat "$T_DIR/$name.err")"
	fi
	check_eq "$name: the source's SHA-256 is unchanged" "$sha" "$(sha "$img")"
}
# cap_part NAME N EXPR: p = partition N of capture NAME's JSON summary.
cap_part() {
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); p=[p for p in j['partitions'] if p['number'] == $2][0]; print(*($3,))" "$T_DIR/$1.json"
}

# check_part NAME CAPTURE DISK N OFFSET MIB MOUNT: partition N of DISK,
# captured in $T_DIR/CAPTURE.raw, checked against the source; with
# MOUNT=yes, the trees too.
check_part() {
	local name=$1 cap=$2 img=$3 n=$4 off=$5 size=$(($6 * MiB)) mount=$7 src out want res rc=0
	attach "$img" "$off" "$size" -r
	src=$dev
	{ read -r want; read -r res; } < <(python3 "$XC" used "$src")
	echo "# $name: xfs_db: $res"
	check_eq "$name: used bytes: ferry scan says what xfs_db says ($want)" "$want" "$(part_field "$n" "p['used_bytes']")"
	check_eq "$name: UUID and label as blkid reads them, the log clean (xfs_logprint)" \
		"$(blkid -p -o value -s UUID "$src") $(blkid -p -o value -s LABEL "$src") False CLEAN" \
		"$(part_field "$n" "p['uuid'], p['label'], p['needs_recovery']") $(xfs_logprint -t "$src" 2>/dev/null | sed -n 's/.*state: <\(.*\)>.*/\1/p')"
	check_eq "$name: copied by used blocks: exactly the used bytes" "used-blocks $want" \
		"$(cap_part "$cap" "$n" "p['method'], p['copied_bytes']")"
	attach "$T_DIR/$cap.raw" "$off" "$size" -r
	out=$dev
	check "$name: xfs_repair -n finds the copy sound" xfs_repair -n "$out"
	res=$(python3 "$XC" compare "$src" "$img" "$off" "$T_DIR/$cap.raw" "$off" 2>&1) || rc=$?
	if [ "$rc" = 0 ]; then
		ok "$name: every block not free is byte-identical, free blocks are zeros"
		echo "# $name: $res"
	else
		not_ok "$name: every block not free is byte-identical, free blocks are zeros" "$res"
	fi
	if [ "$mount" = yes ]; then
		mnt -o ro "$src" "$mnt1"
		mnt -o ro,norecovery,nouuid "$out" "$mnt2"
		check "$name: the copy mounts and holds the same files (diff -r)" \
			diff -r --no-dereference "$mnt1" "$mnt2"
		unmnt "$mnt2"
		unmnt "$mnt1"
	fi
	detach "$out"
	detach "$src"
}

# Disk A: v5 with 4 KiB blocks (partition 1), v5 with 1 KiB blocks and a
# bnobt of two levels (partition 2).
a=$T_DIR/a.img
mkdisk "$a" 330 330
mkxfs "$a" $MiB 330 v5root 1500 48
mkxfs "$a" $((331 * MiB)) 330 k1data 4000 3 -b size=1024
attach "$a" $((331 * MiB)) $((330 * MiB)) -r
read -r _ _ _ levels bs _ <<<"$(python3 "$XC" geometry "$dev")"
detach "$dev"
check_eq "fixture: 1 KiB blocks, a bnobt of two levels" "1024 2" "$bs $levels"
scan_json "$a"
check_eq "disk a: scan: both partitions are xfs, no warnings" "xfs xfs []" \
	"$(json_field "$T_DIR/scan.json" "' '.join(p['fs'] for p in j['disks'][0]['partitions']), j['warnings']")"
capture a "$a"
check_part v5 a "$a" 1 $MiB 330 yes
check_part k1 a "$a" 2 $((331 * MiB)) 330 yes

# Disk B: seven AGs on 4 KiB sectors, the last one shorter.
b=$T_DIR/b.img
mkdisk "$b" 480
mkxfs "$b" $MiB 480 ag7 1200 64 -d agcount=7 -s size=4096
attach "$b" $MiB $((480 * MiB)) -r
read -r agcount agblocks last _ _ sect <<<"$(python3 "$XC" geometry "$dev")"
detach "$dev"
check_eq "fixture: 7 AGs on 4096-byte sectors, the last shorter ($last of $agblocks blocks)" \
	"7 4096 shorter" "$agcount $sect $([ "$last" -lt "$agblocks" ] && echo shorter)"
scan_json "$b"
capture ag7 "$b"
check_part ag7 ag7 "$b" 1 $MiB 480 yes

# Disk C: v4 (crc=0). Kernels built without v4 support cannot mount it, so
# mkfs.xfs fills it from a prototype file; the free space holds the bytes
# that were on the disk before.
c=$T_DIR/c.img
mkdisk "$c" 330
mkdir -p "$T_DIR/v4tree"
files "$T_DIR/v4tree" 300 64
{
	printf '/dev/null\n0 0\nd--755 0 0\ndata d--755 0 0\n'
	for f in "$T_DIR"/v4tree/data/f*; do
		printf '%s ---644 0 0 %s\n' "${f##*/}" "$f"
	done
	printf 'empty d--755 0 0\n$\n$\nbig ---644 0 0 %s\n$\n' "$T_DIR/v4tree/big"
} >"$T_DIR/v4.proto"
attach "$c" $MiB $((330 * MiB))
# What was on the disk before stays in the free space (no discard).
(set +o pipefail; yes ferry | head -c $((330 * MiB)) | dd of="$dev" bs=1M status=none iflag=fullblock)
mkfs.xfs -q -f -K -m crc=0 -L v4data -p "$T_DIR/v4.proto" "$dev" >/dev/null 2>&1
detach "$dev"
scan_json "$c"
check_eq "v4: no warnings" "[]" "$(json_field "$T_DIR/scan.json" "j['warnings']")"
capture v4 "$c"
check_part v4 v4 "$c" 1 $MiB 330 no

# A log left to replay. The log is first rewritten in cycle 5 (xfs_db
# logformat), so that its head is found by bisection: a clean unmount
# there still reads as clean.
d=$T_DIR/dirty.img
cp --sparse=always "$a" "$d"
attach "$d" $MiB $((330 * MiB))
xfs_db -x -c 'logformat -c 5' "$dev" >/dev/null
mnt "$dev" "$mnt1"
head -c 2000000 /dev/urandom >"$mnt1/after-logformat"
unmnt "$mnt1"
scan_json "$d"
check_eq "cycle-5 log, unmounted cleanly: clean for ferry and for xfs_logprint" "False CLEAN" \
	"$(part_field 1 "p['needs_recovery']") $(xfs_logprint -t "$dev" 2>/dev/null | sed -n 's/.*state: <\(.*\)>.*/\1/p')"
mnt "$dev" "$mnt1"
head -c 2000000 /dev/urandom >"$mnt1/unreplayed"
mkdir "$mnt1/newdir"
sync -f "$mnt1/unreplayed"
xfs_io -x -c shutdown "$mnt1"
unmnt "$mnt1"
check_match "dirty: xfs_logprint finds the log dirty" "state: <DIRTY>" \
	"$(xfs_logprint -t "$dev" 2>/dev/null)"
detach "$dev"
scan_json "$d"
check_eq "dirty: ferry scan says the log needs recovery (partition 2 does not)" "True False" \
	"$(json_field "$T_DIR/scan.json" "' '.join(str(p['needs_recovery']) for p in j['disks'][0]['partitions'])")"
check_match "dirty: the text report says so" "xfs +v5root .*\(log needs recovery\)" \
	"$("$FERRY" scan "$d" 2>&1)"
capture dirty "$d"
check_match "dirty: a warning names partition 1 and the log" \
	"^ferry: warning: .*partition 1: the xfs filesystem was not cleanly unmounted \(its log needs recovery\).*every non-zero block is copied" \
	"$(cat "$T_DIR/dirty.err")"
check_eq "dirty: partition 1 non-zero-blocks with the note, partition 2 used-blocks" \
	"non-zero-blocks True used-blocks" \
	"$(json_field "$T_DIR/dirty.json" "j['partitions'][0]['method'], 'log needs recovery' in j['partitions'][0]['note'], j['partitions'][1]['method']")"
check "dirty: partition 1 of the copy equals the source's byte for byte" \
	cmp -n $((330 * MiB)) -i $MiB "$d" "$T_DIR/dirty.raw"

# Features Ferry does not know: v5 incompat bits 8 (metadir) and 12 (the
# superblock CRC made right), a v4 sb_features2 bit.
u=$T_DIR/unknown.img
cp --sparse=always "$a" "$u"
python3 "$XC" set-incompat "$u" $MiB 8
python3 "$XC" set-incompat "$u" $MiB 12
attach "$u" $MiB $((330 * MiB)) -r
check_match "fixture: xfs_db refuses the superblock too" "unknown incompatible features|incompat" \
	"$(xfs_db -r -c 'sb 0' -c 'p features_incompat' "$dev" 2>&1)"
detach "$dev"
rc=0
scan_json "$u" || rc=$?
check_eq "unknown incompat: scan exits 0, no used bytes for partition 1" "0 None" \
	"$rc $(part_field 1 "p['used_bytes']")"
check_match "unknown incompat: the warning names the features" \
	"partition 1: the XFS filesystem has incompatible features Ferry does not know: metadir, 0x1000" \
	"$(json_field "$T_DIR/scan.json" "j['warnings']")"
capture unknown "$u"
check_match "unknown incompat: capture warns and copies every non-zero block" \
	"^ferry: warning: .*partition 1: .*Ferry does not know: metadir, 0x1000: every non-zero block is copied" \
	"$(cat "$T_DIR/unknown.err")"
check_eq "unknown incompat: partition 1 non-zero-blocks" "non-zero-blocks" \
	"$(cap_part unknown 1 "p['method']")"
check "unknown incompat: partition 1 of the copy equals the source's" \
	cmp -n $((330 * MiB)) -i $MiB "$u" "$T_DIR/unknown.raw"

u4=$c
python3 "$XC" set-features2 "$u4" $MiB 20
scan_json "$u4"
check_match "v4 unknown sb_features2 bit: named in the warning" \
	"partition 1: the XFS filesystem has v4 feature bits Ferry does not know \(sb_features2 0x100000\)" \
	"$(json_field "$T_DIR/scan.json" "j['warnings']")"
capture unknown4 "$u4"
check_eq "v4 unknown sb_features2 bit: copied as non-zero-blocks" "non-zero-blocks" \
	"$(cap_part unknown4 1 "p['method']")"

# A damaged free-space btree: AG 0's bnobt root block of partition 2 loses
# its magic. The map is refused, never half made.
x=$T_DIR/badbt.img
cp --sparse=always "$a" "$x"
attach "$x" $((331 * MiB)) $((330 * MiB)) -r
root=$(xfs_db -r -c 'agf 0' -c 'p bnoroot' "$dev" | sed 's/.* = //')
detach "$dev"
printf 'XXXX' | dd of="$x" bs=1 conv=notrunc status=none seek=$((331 * MiB + root * 1024))
capture badbt "$x"
check_match "damaged bnobt: the warning names partition 2 and AG 0" \
	"^ferry: warning: .*partition 2: XFS allocation group 0: block $root is not a free-space btree block.*every non-zero block is copied" \
	"$(cat "$T_DIR/badbt.err")"
check "damaged bnobt: partition 2 of the copy equals the source's" \
	cmp -n $((330 * MiB)) -i $((331 * MiB)) "$x" "$T_DIR/badbt.raw"
done_testing
