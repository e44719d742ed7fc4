#!/bin/bash
# The upload benchmark (tests/bench/push.sh) still runs: what CI does not
# run rots. A smoke run on a 64 MiB file, one run of each tool against its
# own radosgw: it must reach its verdicts (PASS or MISS: throughput on a
# loaded CI proves nothing), having read every object back.
. "$(dirname "$0")/../lib/tap.sh"

need=""
for tool in s3cmd curl /usr/bin/time python3; do
	command -v "$tool" >/dev/null || need="$need $tool"
done
if [ -n "$need" ]; then
	echo "1..0 # SKIP needs:$need (support/deps.sh bench)"
	exit 0
fi
plan 4

rc=0
"$TESTS_DIR/bench/push.sh" "$T_DIR/bench" 1 64 >"$T_DIR/out" 2>&1 || rc=$?
check_match "tests/bench/push.sh runs to its end (exit 0: every target met, 1: one missed)" \
	"^[01]$" "$rc"
check_match "... measures every tool" "ferry-1 .*ferry-4 .*curl .*s3cmd .*boto3 " \
	"$(grep -E '^[a-z0-9-]+ +[0-9.]+ +[0-9.]+$' "$T_DIR/out" | tr '\n' ' ')"
check_match "... judges ferry's single stream against curl" \
	"(PASS|MISS)  ferry --parallel 1 / curl throughput" "$(cat "$T_DIR/out")"
check_match "... and four parts against the best other tool" \
	"(PASS|MISS)  ferry --parallel 4 / best other" "$(cat "$T_DIR/out")"
[ "$T_FAILED" = 0 ] || sed 's/^/#   /' "$T_DIR/out" | tail -n 20
done_testing
