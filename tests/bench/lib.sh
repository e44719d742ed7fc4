# shellcheck shell=bash disable=SC2154,SC2034 # work, runs in; T, S, R, fail out: the sourcing script's
# What the benchmarks share: timing a command several times, and judging a
# figure against its limit. Source it after setting work and runs.

# The output every measured command writes.
out=$work/out
# measure NAME COMMAND...: runs it once unmeasured, then $runs times;
# records median time, size of the output (allocated bytes) and peak RSS.
# The unmeasured run puts every tool in the same state of the host: the
# first write after the previous tool's output was deleted was measured at
# up to 4 times the next (ferry: 2.2 s, then 0.55 s).
declare -A T S R
measure() {
	local name=$1 i times=() rss=() size=0 log=$work/time.log
	shift
	rm -f "$out" "$out.ferry.json"
	"$@" >/dev/null 2>"$work/$name.err" || {
		echo "bench: $name failed:" >&2
		cat "$work/$name.err" >&2
		exit 1
	}
	for ((i = 0; i < runs; i++)); do
		rm -f "$out" "$out.ferry.json"
		sync
		/usr/bin/time -v -o "$log" "$@" >/dev/null 2>"$work/$name.err" || {
			echo "bench: $name failed:" >&2
			cat "$work/$name.err" >&2
			exit 1
		}
		# Elapsed (wall clock) time (h:mm:ss or m:ss): "m:ss.xx"
		times+=("$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$log" |
			awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')")
		rss+=("$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")")
		size=$(du -B1 "$out" | cut -f1)
	done
	T[$name]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
	R[$name]=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
	S[$name]=$size
	printf '%-28s median %7.2f s  (runs: %s)  output %7s  peak RSS %8s\n' "$name" "${T[$name]}" \
		"${times[*]}" "$(numfmt --to=iec-i --suffix=B "$size")" \
		"$(numfmt --to=iec-i --suffix=B $((${R[$name]} * 1024)))"
	rm -f "$out" "$out.ferry.json"
}

# durable OUTPUT COMMAND...: the command, then a sync of OUTPUT: what a
# tool that leaves its output in the page cache takes to make it durable,
# as ferry does before it renames its image into place. measure runs it
# as: measure NAME bash -c 'durable "$@"' _ OUTPUT COMMAND...
# shellcheck disable=SC2317 # called through bash -c (export -f)
durable() { "${@:2}" && sync "$1"; }
export -f durable

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
fail=0
verdict() {
	local what=$1 got=$2 limit=$3
	if awk -v g="$got" -v l="$limit" 'BEGIN { exit !(g <= l) }'; then
		printf 'PASS  %-48s %s (limit %s)\n' "$what" "$got" "$limit"
	else
		printf 'MISS  %-48s %s (limit %s)\n' "$what" "$got" "$limit"
		fail=1
	fi
}
