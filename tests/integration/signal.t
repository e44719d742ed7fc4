#!/bin/bash
# A capture stopped by SIGTERM or SIGINT removes its partial file and leaves
# the target and the source as they were.
. "$(dirname "$0")/../lib/tap.sh"

plan 8

# A disk big enough to take a moment: one 768 MiB partition of a filesystem
# Ferry does not read, full of non-zero bytes, so every block is copied.
disk=$T_DIR/big.img
truncate -s 800M "$disk"
echo 'start=2048, size=1572864, type=83' | sfdisk -q "$disk"
yes ferry | head -c $((768 * 1024 * 1024)) |
	dd of="$disk" bs=1M seek=1 conv=notrunc status=none
src_sha=$(sha "$disk")

for sig in TERM INT; do
	out=$T_DIR/out-$sig.raw
	"$FERRY" capture --quiet --format raw "$disk" "$out" &
	pid=$!
	# Wait for the partial file, then stop the capture while it writes.
	for _ in $(seq 1 500); do
		compgen -G "$out.ferry-partial-*" >/dev/null && break
		sleep 0.01
	done
	compgen -G "$out.ferry-partial-*" >/dev/null && seen=yes || seen=no
	kill -"$sig" "$pid"
	rc=0
	wait "$pid" || rc=$?
	check_eq "SIG$sig: the capture was caught writing its partial file" yes "$seen"
	want=$((128 + $(kill -l "$sig")))
	check_eq "SIG$sig: ferry dies of the signal (exit $want)" "$want" "$rc"
	check_eq "SIG$sig: no partial file or target left" "" \
		"$(find "$T_DIR" -maxdepth 1 -name "out-$sig*")"
done
check_eq "source SHA-256 unchanged" "$src_sha" "$(sha "$disk")"
check "an uninterrupted capture of the same disk completes" \
	"$FERRY" capture --quiet --format raw "$disk" "$T_DIR/whole.raw"
done_testing
