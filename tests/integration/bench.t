#!/bin/bash
# The benchmark scripts (tests/bench) still run: what CI does not run rots.
# A smoke run of the XFS-on-LVM benchmark on a 320 MiB fixture, one run of
# each tool: it must reach its verdicts (PASS or MISS: timings on a small
# fixture under a loaded CI prove nothing) and check ferry's image.
. "$(dirname "$0")/../lib/tap.sh"

need=""
[ "$(id -u)" = 0 ] || need="$need root (loop devices, mount)"
for tool in partclone.xfs xfs_copy xfs_db mkfs.xfs qemu-img lvm /usr/bin/time; do
	command -v "$tool" >/dev/null || need="$need $tool"
done
if [ -n "$need" ]; then
	echo "1..0 # SKIP needs:$need (support/deps.sh bench)"
	exit 0
fi
plan 4

rc=0
"$TESTS_DIR/bench/xfs.sh" "$T_DIR/bench" 1 320 >"$T_DIR/out" 2>&1 || rc=$?
check_match "tests/bench/xfs.sh runs to its end (exit 0: every target met, 1: one missed)" \
	"^[01]$" "$rc"
check_match "... and judges ferry's output size" "(PASS|MISS)  ferry output / used data" \
	"$(cat "$T_DIR/out")"
check_match "... and its time against partclone.xfs" "(PASS|MISS)  ferry time / partclone.xfs time" \
	"$(cat "$T_DIR/out")"
check_match "... and its time per used byte against ext4's" \
	"(PASS|MISS)  ferry s per used byte: XFS-on-LVM / ext4" "$(cat "$T_DIR/out")"
[ "$T_FAILED" = 0 ] || sed 's/^/#   /' "$T_DIR/out" | tail -n 20
done_testing
