#!/bin/bash
# Compression benchmark: ferry capture of the stale ext4 fixture (capture.sh's:
# 4 GiB, 1.1 GiB of real files) as qcow2+zlib, qcow2+zstd, vhd and vmdk,
# against qemu-img converting ferry's own raw capture of it (the same bytes:
# the used blocks) with -c -O qcow2 (zlib, then zstd), -O vpc and -O vmdk
# -o subformat=streamOptimized. Prints median wall time, output size
# (allocated bytes) and peak RSS of RUNS runs each, and checks ferry
# against its targets (qemu-img timed with a sync of its output after it:
# ferry fsyncs its image before it renames it into place, and both are
# timed until the image is on stable storage):
#   each format: ferry's output <= qemu-img's;
#   each compressed one: ferry's time <= 0.25 x qemu-img's;
#   qcow2+zlib on the machine's CPUs (2 here) >= 1.7 x as fast as on one
#   (taskset -c 0).
# Every ferry output is checked with qemu-img check and compare against the
# raw capture, and the fixture's SHA-256 after all the captures.
# usage: FERRY=path/to/ferry tests/bench/compress.sh WORKDIR [RUNS [SIZE-MIB]]
# (SIZE-MIB, default 4096, scales the fixture down for a smoke run; its
# files then fill a quarter of it.)
set -eu -o pipefail

: "${FERRY:?FERRY must name the ferry binary}"
work=${1:?usage: $0 WORKDIR [RUNS [SIZE-MIB]]}
runs=${2:-3}
mib=${3:-4096}
mkdir -p "$work"
work=$(cd "$work" && pwd)
part=$work/part.img
disk=$work/disk.img
fs_size=$((mib << 20))
want_data=$((mib == 4096 ? 1100 << 20 : fs_size / 4))
label=benchroot
raw=$work/ferry.raw
# shellcheck source=fixture.sh
. "$(dirname "$0")/fixture.sh"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

need_fixture
src_sha=$(sha256sum <"$disk" | cut -d' ' -f1)
"$FERRY" capture --quiet --format raw "$disk" "$raw"
rm -f "$raw.ferry.json"
used=$(used_bytes "$part")
printf 'fixture: %s ext4 filesystem, %s used; ferry'"'"'s raw capture allocates %s\n' \
	"$(numfmt --to=iec-i --suffix=B "$fs_size")" "$(numfmt --to=iec-i --suffix=B "$used")" \
	"$(du -h "$raw" | cut -f1)"
echo "runs: $runs each, page cache warm; $(nproc) CPUs"
cat "$disk" "$raw" >/dev/null

# (/usr/bin/time runs each: no shell functions)
measure "ferry qcow2+zlib" "$FERRY" capture --quiet --format qcow2 --compress zlib "$disk" "$out"
measure "qemu-img qcow2 zlib" bash -c 'durable "$@"' _ "$out" qemu-img convert -c -O qcow2 -o compression_type=zlib "$raw" "$out"
measure "ferry qcow2+zstd" "$FERRY" capture --quiet --format qcow2 --compress zstd "$disk" "$out"
measure "qemu-img qcow2 zstd" bash -c 'durable "$@"' _ "$out" qemu-img convert -c -O qcow2 -o compression_type=zstd "$raw" "$out"
measure "ferry vhd" "$FERRY" capture --quiet --format vhd "$disk" "$out"
measure "qemu-img vpc" bash -c 'durable "$@"' _ "$out" qemu-img convert -O vpc "$raw" "$out"
measure "ferry vmdk" "$FERRY" capture --quiet --format vmdk "$disk" "$out"
measure "qemu-img vmdk streamOptimized" bash -c 'durable "$@"' _ "$out" qemu-img convert -O vmdk -o subformat=streamOptimized "$raw" "$out"
measure "ferry qcow2+zlib, 1 CPU" taskset -c 0 "$FERRY" capture --quiet --format qcow2 \
	--compress zlib "$disk" "$out"

# Each of ferry's images holds the raw capture's disk.
for f in "qcow2 --compress zlib:qcow2" "qcow2 --compress zstd:qcow2" "vhd:vpc" "vmdk:vmdk"; do
	# shellcheck disable=SC2086 # the options split on purpose
	"$FERRY" capture --quiet --format ${f%%:*} "$disk" "$out"
	[ "${f##*:}" = vpc ] || qemu-img check -q "$out"
	qemu-img compare -q -f "${f##*:}" -F raw "$out" "$raw" || {
		echo "bench: ferry's ${f%%:*} image is not the raw capture's disk" >&2
		exit 1
	}
	rm -f "$out" "$out.ferry.json"
done

[ "$(sha256sum <"$disk" | cut -d' ' -f1)" = "$src_sha" ] || {
	echo "bench: the fixture disk changed under ferry" >&2
	exit 1
}
echo
for pair in "qcow2+zlib:qcow2 zlib" "qcow2+zstd:qcow2 zstd" "vhd:vpc" "vmdk:vmdk streamOptimized"; do
	f="ferry ${pair%%:*}" q="qemu-img ${pair##*:}"
	verdict "$f output / $q output" "$(ratio "${S[$f]}" "${S[$q]}")" 1.0
	[ "${pair%%:*}" = vhd ] ||
		verdict "$f time / $q time" "$(ratio "${T[$f]}" "${T[$q]}")" 0.25
done
# speedup >= 1.7: 1 CPU's time / all CPUs' time; judged as its inverse <= 1/1.7
speedup=$(ratio "${T[ferry qcow2+zlib, 1 CPU]}" "${T[ferry qcow2+zlib]}")
verdict "ferry qcow2+zlib: 1 / speedup on $(nproc) CPUs (speedup $speedup)" \
	"$(ratio 1 "$speedup")" "$(ratio 1 1.7)"
rm -f "$raw"
exit "$fail"
