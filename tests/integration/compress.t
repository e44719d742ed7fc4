#!/bin/bash
# ferry capture --compress zlib|zstd of the server disk: clean for qemu-img,
# the same content as a raw capture, smaller than the plain qcow2.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

CODECS="zlib zstd"
PER_CODEC=7
plan $((2 + 2 * PER_CODEC + 6))

disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")

# capture NAME OPTIONS...: captures the disk into $T_DIR/NAME; says on a
# TAP comment what it made and how long it took.
capture() {
	local name=$1 t0 t1 rc=0
	shift
	t0=$(date +%s%N)
	err=$("$FERRY" capture --quiet --no-fix "$@" "$disk" "$T_DIR/$name" 2>&1) || rc=$?
	t1=$(date +%s%N)
	[ "$rc" = 0 ] && echo "# $name: $(stat -c %s "$T_DIR/$name") bytes in" \
		"$(((t1 - t0) / 1000000)) ms"
	return "$rc"
}

# info_key IMAGE KEY: a field of qemu-img info's format-specific data.
info_key() {
	qemu-img info --output=json "$1" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["format-specific"]["data"].get(sys.argv[1], ""))' "$2"
}

rc=0
capture out.raw --format raw || rc=$?
check_eq "raw capture exits 0" "0" "$rc${err:+ ($err)}"
rc=0
capture out.qcow2 --format qcow2 || rc=$?
check_eq "uncompressed qcow2 capture exits 0" "0" "$rc${err:+ ($err)}"
plain_size=$(stat -c %s "$T_DIR/out.qcow2")

for c in $CODECS; do
	out=$T_DIR/out.$c.qcow2
	rc=0
	capture "out.$c.qcow2" --format qcow2 --compress "$c" || rc=$?
	check_eq "$c: capture exits 0" "0" "$rc${err:+ ($err)}"
	check_eq "$c: source SHA-256 unchanged" "$src_sha" "$(sha "$disk")"
	check "$c: qemu-img check is clean" qemu-img check "$out"
	check "$c: identical to the raw capture (qemu-img compare)" \
		qemu-img compare -f raw -F qcow2 "$T_DIR/out.raw" "$out"
	check_eq "$c: qemu-img info shows the compression type" "$c" \
		"$(info_key "$out" compression-type)"
	size=$(stat -c %s "$out")
	check "$c: $size bytes, smaller than the uncompressed qcow2 ($plain_size)" \
		test "$size" -lt "$plain_size"
	check "$c: qemu-img counts compressed clusters" \
		sh -c "qemu-img check '$out' | grep -Eq '[1-9][0-9.]*% compressed clusters'"
done

# A stream takes no tables last: it is sized in a first pass, then written.
rc=0
"$FERRY" capture --quiet --no-fix --format qcow2 --compress zstd "$disk" - \
	>"$T_DIR/stdout.qcow2" 2>"$T_DIR/stdout.err" || rc=$?
check_eq "zstd to standard output: exits 0" "0" "$rc$(sed 's/^/ /' "$T_DIR/stdout.err")"
check "zstd to standard output (sized first, then written in order): clean, the file's disk" \
	sh -c "qemu-img check -q '$T_DIR/stdout.qcow2' && qemu-img compare -q '$T_DIR/out.zstd.qcow2' '$T_DIR/stdout.qcow2'"

# With the fixes, both passes read through the overlay.
rc=0
err=$("$FERRY" capture --quiet --format qcow2 --compress zlib "$disk" "$T_DIR/fixed.qcow2" 2>&1) ||
	rc=$?
check_eq "zlib with the fixes: capture exits 0" "0" "$rc${err:+ ($err)}"
check "zlib with the fixes: qemu-img check is clean" qemu-img check "$T_DIR/fixed.qcow2"

check_fails "--compress zlib --format raw is a usage error" 2 \
	"--compress zlib: only qcow2 images are compressed" \
	"$FERRY" capture --compress zlib --format raw "$disk" "$T_DIR/bad.raw"
check_fails "an unknown compression is a usage error" 2 \
	"unknown compression 'lzma' \(none, zlib or zstd\)" \
	"$FERRY" capture --compress lzma "$disk" "$T_DIR/bad.qcow2"
done_testing
