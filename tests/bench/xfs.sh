#!/bin/bash
# XFS-on-LVM capture benchmark: a 4 GiB XFS root logical volume (volume
# group bench on partition 1, made by lvm2's tools) holding 1.1 GiB of real
# files, its free space stale random data. ferry capture --format qcow2 of
# the disk against partclone.xfs, xfs_copy and qemu-img convert of the
# logical volume alone; and ferry on the same files in ext4 on a plain
# partition (the anchor of "as fast per used byte as ext4"). Prints median
# wall time, output size and peak RSS of RUNS runs each, and checks ferry
# against its targets:
#   output <= 1.05 x the filesystem's used bytes; time <= partclone.xfs's;
#   seconds per used byte <= 1.10 x those of the ext4 capture (the 10 % is
#   the spread of one timing on this machine, not a margin for slowness).
# usage: FERRY=path/to/ferry tests/bench/xfs.sh WORKDIR [RUNS [SIZE-MIB]]
# (SIZE-MIB, default 4096, scales the fixture down for a smoke run; the
# files then fill about a quarter of it.)
set -eu -o pipefail

: "${FERRY:?FERRY must name the ferry binary}"
work=${1:?usage: $0 WORKDIR [RUNS [SIZE-MIB]]}
runs=${2:-3}
mib=${3:-4096}
mkdir -p "$work"
work=$(cd "$work" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
TESTS_DIR=$(dirname "$here")
disk=$work/xfs-disk.img  # msdos, partition 1 an LVM PV, LV bench/root
lv=$work/xfs-lv.img      # the logical volume's bytes alone, for the other tools
ext=$work/ext-disk.img   # msdos, partition 1 ext4 of the LV's size, the same files
lv_bytes=$((mib << 20))
want_data=$((mib == 4096 ? 1100 << 20 : lv_bytes / 4))

# lvm.sh writes only under T_DIR. Loop devices and mounts left by a failed
# build are undone at exit (tests/lib/cleanup.sh).
T_DIR=$work/lvm-scratch
# shellcheck source=../lib/cleanup.sh
. "$here/../lib/cleanup.sh"
# shellcheck source=../lib/lvm.sh
. "$here/../lib/lvm.sh"
trap 'eval "$T_ON_EXIT" >/dev/null 2>&1 || :' EXIT

build_fixture() {
	local stage=$work/stage mnt=$work/mnt off
	echo "bench: building the XFS-on-LVM fixture in $work" >&2
	rm -rf "$stage" "$T_DIR"
	mkdir -p "$stage" "$mnt" "$T_DIR"
	find /usr/share /usr/lib -xdev -type f -printf '%b %p\n' >"$work/all" 2>/dev/null
	awk -v budget="$want_data" '{ total += $1 * 512; if (total > budget) exit;
		sub(/^[0-9]+ /, ""); print }' "$work/all" | tr '\n' '\0' >"$work/files"
	rm -f "$work/all"
	xargs -0 cp -a --parents -t "$stage" <"$work/files" 2>/dev/null ||
		echo "bench: some files could not be copied; the fixture holds the rest" >&2
	rm -f "$work/files"
	# Stale data everywhere: the PV's free extents and the filesystem's
	# free blocks hold random bytes.
	head -c $((lv_bytes + (16 << 20))) /dev/urandom >"$disk"
	echo "start=2048, type=8e" | sfdisk -q --wipe never "$disk"
	lvm_pv "$disk" $((1 << 20)) $((lv_bytes + (15 << 20)))
	lvm_cmd vgcreate -q -s 4m bench "$LVM_PV" >/dev/null
	lvm_cmd lvcreate -q -an -Zn -L "${mib}m" -n root bench >/dev/null
	lvm_report bench "$work/lvm.json"
	lvm_release
	off=$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
s = r["segments"][0]
dev, rng = s["seg_pe_ranges"].rsplit(":", 1)
pv = r["pvs"][dev]
print(pv["offset"] + pv["pe_start"] + int(rng.split("-")[0]) * r["extent_size"])' "$work/lvm.json")
	attach "$disk" "$off" "$lv_bytes"
	mkfs.xfs -q -f -K "$dev"
	mount "$dev" "$mnt"
	on_exit "umount $mnt"
	cp -a "$stage/." "$mnt/"
	undo_now "umount $mnt"
	detach "$dev"
	# The anchor: the same files in ext4 on partition 1 of a disk as stale.
	head -c $((lv_bytes + (1 << 20))) /dev/urandom >"$ext"
	echo "start=2048, type=83" | sfdisk -q --wipe never "$ext"
	attach "$ext" $((1 << 20)) "$lv_bytes"
	mkfs.ext4 -q -F -E nodiscard "$dev"
	mount "$dev" "$mnt"
	on_exit "umount $mnt"
	cp -a "$stage/." "$mnt/"
	undo_now "umount $mnt"
	detach "$dev"
	rm -rf "$stage" "$mnt" "$T_DIR"
	dd if="$disk" of="$lv" bs=4M iflag=skip_bytes,count_bytes skip="$off" count="$lv_bytes" \
		status=none
	sync
}

if [ ! -f "$disk" ] || [ ! -f "$ext" ] || [ ! -f "$lv" ] ||
	[ "$(stat -c %s "$lv")" != "$lv_bytes" ]; then
	build_fixture
fi
xfs_repair -n "$lv" >/dev/null 2>&1 || { echo "bench: the fixture fails xfs_repair -n" >&2; exit 1; }
# Used bytes as xfs_db counts them: the data section less the free space
# its free-space btrees list.
read -r dblocks bsize < <(xfs_db -r -c 'sb 0' -c 'p dblocks blocksize' "$lv" |
	awk -F' = ' '{ v[$1] = $2 } END { print v["dblocks"], v["blocksize"] }')
free=$(xfs_db -r -c 'freesp -s' "$lv" | awk '/^total free blocks/ { print $4 }')
used=$(((dblocks - free) * bsize))
printf 'fixture: %s XFS in LV bench/root, %s used (%s bytes), free space stale\n' \
	"$(numfmt --to=iec-i --suffix=B "$lv_bytes")" "$(numfmt --to=iec-i --suffix=B "$used")" "$used"
# The anchor's used bytes as dumpe2fs counts them.
ext_used=$(dumpe2fs -h "$ext?offset=1048576" 2>/dev/null | awk -F: '
	/^Block count/ { n = $2 } /^Free blocks/ { f = $2 } /^Block size/ { b = $2 }
	END { printf "%d", (n - f) * b }')
printf 'anchor:  the same files in ext4 on partition 1, %s used (%s bytes)\n' \
	"$(numfmt --to=iec-i --suffix=B "$ext_used")" "$ext_used"

# shellcheck source=lib.sh
. "$here/lib.sh"
echo "runs: $runs each, page cache warm (the fixture was just read)"
cat "$disk" "$lv" "$ext" >/dev/null
measure "qemu-img convert qcow2" qemu-img convert -O qcow2 "$lv" "$out"
measure "partclone.xfs -c" partclone.xfs -c -q -s "$lv" -o "$out"
measure "xfs_copy" xfs_copy -d "$lv" "$out"
measure "ferry capture qcow2" "$FERRY" capture --quiet --force --overwrite --format qcow2 "$disk" "$out"
measure "ferry capture qcow2, ext4" "$FERRY" capture --quiet --force --overwrite --format qcow2 "$ext" "$out"

# A last ferry capture, kept, to check it: the LV from the image passes
# xfs_repair -n.
"$FERRY" capture --quiet --force --overwrite --format qcow2 "$disk" "$out"
qemu-img check "$out" >/dev/null
qemu-img convert -O raw "$out" "$work/check.raw"
lvm_get "$work/check.raw" "$work/lvm.json" root "$work/check.lv"
xfs_repair -n "$work/check.lv" >/dev/null 2>&1 || {
	echo "bench: xfs_repair -n fails on the LV in ferry's output" >&2
	exit 1
}
rm -f "$work/check.raw" "$work/check.lv" "$out"

echo
verdict "ferry output / used data" "$(ratio "${S[ferry capture qcow2]}" "$used")" 1.05
echo "      (qemu-img convert: $(ratio "${S[qemu-img convert qcow2]}" "$used");" \
	"partclone.xfs: $(ratio "${S[partclone.xfs -c]}" "$used"); xfs_copy: $(ratio "${S[xfs_copy]}" "$used"))"
verdict "ferry time / partclone.xfs time" \
	"$(ratio "${T[ferry capture qcow2]}" "${T[partclone.xfs -c]}")" 1.0
echo "      (ferry time / xfs_copy: $(ratio "${T[ferry capture qcow2]}" "${T[xfs_copy]}");" \
	"/ qemu-img convert: $(ratio "${T[ferry capture qcow2]}" "${T[qemu-img convert qcow2]}"))"
verdict "ferry s per used byte: XFS-on-LVM / ext4" \
	"$(awk -v a="${T[ferry capture qcow2]}" -v ua="$used" -v b="${T[ferry capture qcow2, ext4]}" \
		-v ub="$ext_used" 'BEGIN { printf "%.3f", (a / ua) / (b / ub) }')" 1.10
exit "$fail"
