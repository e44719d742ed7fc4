#!/bin/bash
# A capture stopped by SIGTERM or SIGINT removes its partial file and leaves
# the target and the source as they were.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

plan 10

# A disk big enough to take a moment: 768 MiB, copied whole. It holds no
# system (root.missing): --force.
disk=$T_DIR/big.img
fx_filled_disk "$disk" 768
src_sha=$(sha "$disk")

# catch_writing PID TARGET: runs PID in short steps (SIGCONT, a moment,
# SIGSTOP) until it is stopped while TARGET's partial file exists and the
# target does not: the capture is writing. Fails if it never is. A stopped
# process cannot finish between the look and the signal, however slow this
# machine is.
catch_writing() {
	local pid=$1 out=$2
	kill -STOP "$pid"
	for _ in $(seq 1 3000); do
		if compgen -G "$out.ferry-partial-*" >/dev/null && [ ! -e "$out" ]; then
			return 0
		fi
		[ -e "$out" ] && break
		kill -CONT "$pid"
		sleep 0.005
		kill -STOP "$pid" 2>/dev/null || break
	done
	kill -CONT "$pid" 2>/dev/null
	return 1
}

for sig in TERM INT; do
	out=$T_DIR/out-$sig.raw
	# With job control on, the background job keeps SIGINT (a script's
	# background jobs otherwise ignore it, and ferry leaves it ignored);
	# env resets it where the test itself was started with it ignored
	# (a run under nohup from a background job).
	set -m
	env --default-signal=INT,TERM "$FERRY" capture --quiet --force --format raw "$disk" "$out" &
	pid=$!
	set +m
	seen=no
	catch_writing "$pid" "$out" && seen=yes
	kill -"$sig" "$pid"
	kill -CONT "$pid"
	rc=0
	wait "$pid" || rc=$?
	check_eq "SIG$sig: the capture was caught writing its partial file" yes "$seen"
	want=$((128 + $(kill -l "$sig")))
	check_eq "SIG$sig: ferry dies of the signal (exit $want)" "$want" "$rc"
	check_eq "SIG$sig: no partial file or target left" "" \
		"$(find "$T_DIR" -maxdepth 1 -name "out-$sig*")"
done
# nohup: an ignored SIGHUP stays ignored, so a logout does not stop it.
nohup "$FERRY" capture --quiet --force --format raw "$disk" "$T_DIR/nohup.raw" >/dev/null 2>&1 &
pid=$!
catch_writing "$pid" "$T_DIR/nohup.raw" && seen=yes || seen=no
kill -HUP "$pid"
kill -CONT "$pid"
rc=0
wait "$pid" || rc=$?
check_eq "under nohup, SIGHUP (sent while it wrote) does not stop the capture" "yes 0" "$seen $rc"
# is_prefix IMAGE DISK SIZE: IMAGE is SIZE bytes, the first SIZE of DISK.
is_prefix() { [ "$(stat -c %s "$1")" = "$3" ] && cmp -n "$3" "$1" "$2"; }
check "and its image is complete (the disk up to the end of its partition)" \
	is_prefix "$T_DIR/nohup.raw" "$disk" $(((2048 + 1572864) * 512))
check_eq "source SHA-256 unchanged" "$src_sha" "$(sha "$disk")"
check "an uninterrupted capture of the same disk completes" \
	"$FERRY" capture --quiet --force --format raw "$disk" "$T_DIR/whole.raw"
done_testing
