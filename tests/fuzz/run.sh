#!/bin/bash
# make fuzz: each fuzz target fuzzed in turn for SECONDS, starting from its
# seeds and saved crashes. New inputs go to OUT/corpus/TARGET (kept from
# run to run: a second run goes on from there), crashes to
# OUT/crashes/TARGET, the output to OUT/logs/TARGET.log; one line per
# target, then the crashes found. Exits 1 when a target crashed.
# usage: tests/fuzz/run.sh OUT SECONDS TARGET...
set -u

out=$1
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/logs"
crashed=()

# final_stat NAME LOG: a value of libFuzzer's -print_final_stats, or "?".
final_stat() {
	local v
	v=$(sed -n "s/^stat::$1: *//p" "$2" | tail -n 1)
	echo "${v:-?}"
}

for t in "$@"; do
	dirs=("$out/corpus/$t")
	for d in "$here/corpus/$t" "$out/seeds/$t" "$here/crashes/$t"; do
		[ -d "$d" ] && dirs+=("$d")
	done
	mkdir -p "$out/corpus/$t" "$out/crashes/$t"
	log=$out/logs/$t.log
	rc=0
	"$out/$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$t/" "${dirs[@]}" >"$log" 2>&1 || rc=$?
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	printf 'fuzz %-10s %8s runs %6s/s  %4s new inputs  %s edges  peak %s MB' "$t" \
		"$(final_stat number_of_executed_units "$log")" "$(final_stat average_exec_per_sec "$log")" \
		"$(final_stat new_units_added "$log")" "${cov#cov: }" "$(final_stat peak_rss_mb "$log")"
	if [ "$rc" = 0 ]; then
		echo
	else
		echo "  CRASHED (exit $rc, $log)"
		crashed+=("$t")
	fi
done
if [ "${#crashed[@]}" != 0 ]; then
	echo "crashed: ${crashed[*]}; the inputs:"
	for t in "${crashed[@]}"; do
		find "$out/crashes/$t" -type f | sed 's/^/  /'
	done
	exit 1
fi
