#!/bin/bash
# The benchmark scripts (tests/bench) still run: what CI does not run rots.
# Smoke runs of the capture benchmark (a 256 MiB stale fixture and a 2 GiB
# sparse one), of the compression one (the same stale fixture) and of the
# XFS-on-LVM one (320 MiB), one run of each tool:
# each must reach its verdicts (PASS or MISS: timings on a small fixture
# under a loaded CI prove nothing) and check ferry's images. The upload
# benchmark's smoke run is tests/s3/bench.t.
. "$(dirname "$0")/../lib/tap.sh"

need=""
[ "$(id -u)" = 0 ] || need="$need root (loop devices, mount)"
for tool in partclone.ext4 e2image partclone.xfs xfs_copy xfs_db mkfs.xfs qemu-img lvm /usr/bin/time; do
	command -v "$tool" >/dev/null || need="$need $tool"
done
if [ -n "$need" ]; then
	echo "1..0 # SKIP needs:$need (support/deps.sh bench)"
	exit 0
fi
plan 12

rc=0
"$TESTS_DIR/bench/capture.sh" "$T_DIR/capture" 1 256 2 >"$T_DIR/capture.out" 2>&1 || rc=$?
check_match "tests/bench/capture.sh runs to its end (exit 0: every target met, 1: one missed)" \
	"^[01]$" "$rc"
for v in "ferry output / e2image -ra output" "ferry time / e2image -ra time" \
	"sparse: ferry output / e2image -ra output"; do
	check_match "... and judges $v" "(PASS|MISS)  $v" "$(cat "$T_DIR/capture.out")"
done
[ "$T_FAILED" = 0 ] || sed 's/^/#   /' "$T_DIR/capture.out" | tail -n 20

# The compression benchmark, on the same stale fixture.
rc=0
"$TESTS_DIR/bench/compress.sh" "$T_DIR/capture" 1 256 >"$T_DIR/compress.out" 2>&1 || rc=$?
check_match "tests/bench/compress.sh runs to its end (exit 0: every target met, 1: one missed)" \
	"^[01]$" "$rc"
for v in "ferry qcow2\+zlib output / qemu-img qcow2 zlib output" \
	"ferry vmdk output / qemu-img vmdk streamOptimized output" \
	"ferry qcow2\+zlib: 1 / speedup"; do
	check_match "... and judges ${v//\\/}" "(PASS|MISS)  $v" "$(cat "$T_DIR/compress.out")"
done
[ "$T_FAILED" = 0 ] || sed 's/^/#   /' "$T_DIR/compress.out" | tail -n 20
rm -rf "$T_DIR/capture"

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
