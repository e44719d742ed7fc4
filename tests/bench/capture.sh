#!/bin/bash
# Capture benchmark: ferry capture --format qcow2 against dd, qemu-img convert,
# partclone.ext4 and e2image -ra on a 4 GiB ext4 filesystem holding 1.1 GiB of
# real files, whose free space holds stale random data (as on a server that
# has been written to for years); then ferry against e2image -ra on a
# 100 GiB ext4 filesystem holding 1 GiB of files, the rest never written (a
# sparse file: a big disk mostly empty). Both are root filesystems (an
# /etc/fstab mounts them at /), captured with the fixes as users capture.
# Prints median wall time, output size (allocated bytes) and peak RSS of
# RUNS runs each, and checks ferry against its targets:
#   on each fixture: output <= 1.05 x e2image -ra's, time <= e2image -ra's;
#   on the stale one: time <= 0.6 x qemu-img convert's; peak RSS <= 64 MiB.
# Times are judged until the image is on stable storage: ferry fsyncs its
# output before it renames it into place, the other tools do not, so each
# of them is timed with a sync of its output after it (the times without
# are shown too: there ferry pays for a flush the others leave undone, and
# on a virtual disk that flush alone varies from 0.8 to 3.3 s per GiB).
# usage: FERRY=path/to/ferry tests/bench/capture.sh WORKDIR [RUNS [SIZE-MIB [SPARSE-GIB]]]
# (SIZE-MIB, default 4096, and SPARSE-GIB, default 100, scale the fixtures
# down for a smoke run; the files then fill a quarter of the first and
# 64 MiB of the second.)
set -eu -o pipefail

: "${FERRY:?FERRY must name the ferry binary}"
work=${1:?usage: $0 WORKDIR [RUNS [SIZE-MIB [SPARSE-GIB]]]}
runs=${2:-3}
mib=${3:-4096}
sparse_gib=${4:-100}
mkdir -p "$work"
work=$(cd "$work" && pwd)
part=$work/part.img      # the filesystem alone, for the tools that take one
disk=$work/disk.img      # the same bytes behind a 1 MiB msdos boot gap, for ferry
sparse=$work/sparse.img  # msdos, partition 1 the big ext4 at 1 MiB
fs_size=$((mib << 20))
want_data=$((mib == 4096 ? 1100 << 20 : fs_size / 4))
sparse_size=$((sparse_gib << 30))
sparse_data=$((sparse_gib == 100 ? 1 << 30 : 64 << 20))
label=benchroot
# shellcheck source=fixture.sh
. "$(dirname "$0")/fixture.sh"

build_sparse() {
	local stage=$work/stage
	echo "bench: building the sparse fixture in $work" >&2
	stage_files "$stage" "$sparse_data"
	rm -f "$sparse"
	truncate -s $((sparse_size + (1 << 20))) "$sparse"
	echo "start=2048, type=83" | sfdisk -q "$sparse"
	# Nothing written but what holds data: the inode tables and journal
	# are left to read as zeros, as on a disk the filesystem never used.
	mke2fs -q -F -t ext4 -L "$label" -E offset=1048576,lazy_itable_init=1,lazy_journal_init=1 \
		-d "$stage" "$sparse" $((sparse_size >> 20))M
	rm -rf "$stage"
	sync
}

need_fixture
if [ ! -f "$sparse" ] || [ "$(stat -c %s "$sparse")" != $((sparse_size + (1 << 20))) ]; then
	build_sparse
fi
e2fsck -fn "$part" >/dev/null 2>&1 || { echo "bench: the fixture does not pass e2fsck" >&2; exit 1; }
e2fsck -fn "$sparse?offset=1048576" >/dev/null 2>&1 ||
	{ echo "bench: the sparse fixture does not pass e2fsck" >&2; exit 1; }
used=$(used_bytes "$part")
printf 'fixture: %s ext4 filesystem, %s used (%s bytes), free space stale; allocated on disk: %s\n' \
	"$(numfmt --to=iec-i --suffix=B "$fs_size")" "$(numfmt --to=iec-i --suffix=B "$used")" \
	"$used" "$(du -h "$part" | cut -f1)"
sparse_used=$(used_bytes "$sparse?offset=1048576")
printf 'sparse:  %s ext4 filesystem, %s used (%s bytes), the rest never written; allocated on disk: %s\n' \
	"$(numfmt --to=iec-i --suffix=B "$sparse_size")" "$(numfmt --to=iec-i --suffix=B "$sparse_used")" \
	"$sparse_used" "$(du -h "$sparse" | cut -f1)"

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

echo "runs: $runs each, page cache warm (the fixture was just read)"
cat "$part" "$disk" >/dev/null
measure "dd" dd if="$part" of="$out" bs=4M
measure "qemu-img convert qcow2" qemu-img convert -O qcow2 "$part" "$out"
measure "partclone.ext4 -c" partclone.ext4 -c -q -s "$part" -o "$out"
measure "e2image -ra" e2image -ra "$part" "$out"
measure "ferry capture qcow2" "$FERRY" capture --quiet --format qcow2 "$disk" "$out"

# The same, each followed by an fsync of its output: the time until the
# image is on stable storage. ferry syncs before it renames its output
# into place; the other tools leave their data in the page cache.
echo
echo "until the output is on stable storage (the tool, then sync OUTPUT):"
measure "dd + sync" bash -c 'durable "$@"' _ "$out" dd if="$part" of="$out" bs=4M
measure "qemu-img convert + sync" bash -c 'durable "$@"' _ "$out" qemu-img convert -O qcow2 "$part" "$out"
measure "partclone.ext4 -c + sync" bash -c 'durable "$@"' _ "$out" partclone.ext4 -c -q -s "$part" -o "$out"
measure "e2image -ra + sync" bash -c 'durable "$@"' _ "$out" e2image -ra "$part" "$out"
measure "ferry capture + sync" bash -c 'durable "$@"' _ "$out" "$FERRY" capture --quiet --format qcow2 "$disk" "$out"

# check_capture DISK WHAT: a ferry capture of DISK kept and checked: qemu-img
# check, then e2fsck -fn of its partition 1 (at 1 MiB).
check_capture() {
	"$FERRY" capture --quiet --format qcow2 "$1" "$out"
	qemu-img check "$out" >/dev/null
	qemu-img convert -O raw "$out" "$work/check.raw"
	e2fsck -fn "$work/check.raw?offset=1048576" >/dev/null 2>&1 || {
		echo "bench: e2fsck fails on ferry's output of $2" >&2
		exit 1
	}
	rm -f "$work/check.raw" "$out" "$out.ferry.json"
}

echo
echo "the sparse fixture:"
cat "$sparse" >/dev/null
measure "e2image -ra, sparse" e2image -ra -o 1048576 "$sparse" "$out"
measure "ferry capture qcow2, sparse" "$FERRY" capture --quiet --format qcow2 "$sparse" "$out"
measure "e2image -ra + sync, sparse" bash -c 'durable "$@"' _ "$out" e2image -ra -o 1048576 "$sparse" "$out"
measure "ferry capture + sync, sparse" bash -c 'durable "$@"' _ "$out" "$FERRY" capture --quiet --format qcow2 "$sparse" "$out"
check_capture "$sparse" "the sparse fixture"

# A last ferry capture of the stale fixture, kept, to check it.
check_capture "$disk" "the stale fixture"

echo
verdict "ferry output / e2image -ra output" "$(ratio "${S[ferry capture qcow2]}" "${S[e2image -ra]}")" 1.05
echo "      (ferry output / used data: $(ratio "${S[ferry capture qcow2]}" "$used");" \
	"qemu-img convert output / used data: $(ratio "${S[qemu-img convert qcow2]}" "$used"))"
verdict "ferry time / e2image -ra time (to stable storage)" \
	"$(ratio "${T[ferry capture + sync]}" "${T[e2image -ra + sync]}")" 1.0
verdict "sparse: ferry output / e2image -ra output" \
	"$(ratio "${S[ferry capture qcow2, sparse]}" "${S[e2image -ra, sparse]}")" 1.05
verdict "sparse: ferry time / e2image -ra time (to stable storage)" \
	"$(ratio "${T[ferry capture + sync, sparse]}" "${T[e2image -ra + sync, sparse]}")" 1.0
verdict "ferry time / qemu-img convert time (to stable storage)" \
	"$(ratio "${T[ferry capture + sync]}" "${T[qemu-img convert + sync]}")" 0.6
verdict "ferry peak RSS (MiB)" "$(ratio "${R[ferry capture qcow2]}" 1024)" 64
echo "      (to stable storage: ferry / dd $(ratio "${T[ferry capture + sync]}" "${T[dd + sync]}");" \
	"/ partclone $(ratio "${T[ferry capture + sync]}" "${T[partclone.ext4 -c + sync]}"))"
echo "      (without the others' sync: ferry / e2image -ra $(ratio "${T[ferry capture qcow2]}" "${T[e2image -ra]}");" \
	"sparse $(ratio "${T[ferry capture qcow2, sparse]}" "${T[e2image -ra, sparse]}");" \
	"ferry / qemu-img convert $(ratio "${T[ferry capture qcow2]}" "${T[qemu-img convert qcow2]}"))"
exit "$fail"
