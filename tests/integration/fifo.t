#!/bin/bash
# Captures into a FIFO (reader: cat) and to standard output give the same
# bytes as a capture to a file: the writers never seek back.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

plan 25

disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")

for fmt in raw qcow2 vhd vhd-fixed; do
	"$FERRY" capture --quiet --format "$fmt" "$disk" "$T_DIR/file.$fmt"
	# A raw file capture is sparse; a stream has the holes as zeros. Both
	# must have the same bytes.
	want=$(sha "$T_DIR/file.$fmt")

	fifo=$T_DIR/fifo.$fmt
	mkfifo "$fifo"
	cat "$fifo" >"$T_DIR/from-fifo.$fmt" &
	reader=$!
	rc=0
	err=$("$FERRY" capture --quiet --format "$fmt" "$disk" "$fifo" 2>&1) || rc=$?
	wait "$reader"
	check_eq "$fmt: capture into a FIFO exits 0" "0" "$rc${err:+ ($err)}"
	check_eq "$fmt: FIFO bytes equal the file capture's" "$want" "$(sha "$T_DIR/from-fifo.$fmt")"
	check "$fmt: the FIFO is still a FIFO (not replaced by a file)" test -p "$fifo"

	rc=0
	"$FERRY" capture --format "$fmt" "$disk" - >"$T_DIR/stdout.$fmt" 2>"$T_DIR/stdout.err" || rc=$?
	check_eq "$fmt: capture to standard output exits 0" "0" "$rc"
	check_eq "$fmt: standard output bytes equal the file capture's" "$want" "$(sha "$T_DIR/stdout.$fmt")"
	check_eq "$fmt: source SHA-256 unchanged" "$src_sha" "$(sha "$disk")"
done

# A reader that goes away must fail the capture with a clear message.
mkfifo "$T_DIR/short"
head -c 1000 "$T_DIR/short" >/dev/null &
check_fails "a FIFO reader that stops early fails the capture" 1 \
	"^ferry: the reader of .*short went away after [0-9]+ bytes$" \
	"$FERRY" capture --quiet --format qcow2 "$disk" "$T_DIR/short"
wait
done_testing
