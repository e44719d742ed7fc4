#!/bin/bash
# make check-fuzz: each fuzz target run once on every input of its seeds
# (tests/fuzz/corpus/TARGET, the generated OUT/seeds/TARGET) and of its
# saved crashes (tests/fuzz/crashes/TARGET), without fuzzing: one TAP line
# per target, failing with the sanitizer's report when an input crashes.
# usage: tests/fuzz/replay.sh OUT TARGET...   (OUT: the targets, made by make fuzz-build)
set -u

out=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/replay"
echo "1..$#"
n=0
failed=0
for t in "$@"; do
	n=$((n + 1))
	inputs=()
	for d in "$here/corpus/$t" "$out/seeds/$t" "$here/crashes/$t"; do
		[ -d "$d" ] || continue
		mapfile -t -O "${#inputs[@]}" inputs < <(find "$d" -type f ! -name '.*' | LC_ALL=C sort)
	done
	if [ "${#inputs[@]}" = 0 ]; then
		echo "not ok $n - $t: no inputs (seeds missing from $here/corpus/$t and $out/seeds/$t)"
		failed=1
		continue
	fi
	log=$out/replay/$t.log
	if "$out/$t" "${inputs[@]}" >"$log" 2>&1; then
		echo "ok $n - $t: ${#inputs[@]} inputs"
	else
		echo "not ok $n - $t: an input crashed it (log: $log)"
		grep -E '^(Running|==[0-9]+==ERROR|SUMMARY)|runtime error' "$log" | tail -n 20 |
			sed 's/^/# /'
		failed=1
	fi
done
exit "$failed"
