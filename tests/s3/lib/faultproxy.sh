# Start and stop tests/s3/lib/faultproxy.py (an HTTP CONNECT proxy that can
# cut tunnels on purpose) from a TAP test. Source after tests/lib/tap.sh.
#
#   fp_start [OPTION...]   start it on a free port on 127.0.0.1 with OPTIONs
#                          (--map HOST=IP, --drop-after N,
#                          --drop-down-after N, --drops K,
#                          --require-auth USER:PASS, --verbose); exports
#                          FP_PORT, FP_STATS (its JSON counters) and FP_PID
#   fp_stat KEY            one counter: tunnels dropped bytes_up bytes_down
#                          open rejected, or connects (one host:port a line)
#   fp_stop                SIGTERM, reaped; registered with on_exit
#
# Call fp_start in the test's main shell, not in $(...): the proxy is its
# child and gets SIGKILL if the shell dies. One proxy at a time: fp_start
# stops the previous one, and each start has fresh counters.
# shellcheck shell=bash

FP_PID=""
_FP_N=0
_FP_REGISTERED=""

fp_start() {
	local d end
	fp_stop
	_FP_N=$((_FP_N + 1))
	d=$T_DIR/faultproxy.$_FP_N
	mkdir -p "$d" || return 1
	if [ -z "$_FP_REGISTERED" ]; then
		on_exit fp_stop
		_FP_REGISTERED=1
	fi
	setpriv --pdeathsig KILL -- /usr/bin/python3 -E -s "$TESTS_DIR/s3/lib/faultproxy.py" \
		--listen 0 --port-file "$d/port" --stats "$d/stats.json" "$@" 2>"$d/log" &
	FP_PID=$!
	end=$((SECONDS + 10))
	until [ -s "$d/port" ]; do
		if ! kill -0 "$FP_PID" 2>/dev/null; then
			echo "fp_start: faultproxy.py exited:" >&2
			cat "$d/log" >&2
			wait "$FP_PID" 2>/dev/null || :
			FP_PID=""
			return 1
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			echo "fp_start: no port from faultproxy.py after 10 s" >&2
			fp_stop
			return 1
		fi
		sleep 0.02
	done
	FP_PORT=$(cat "$d/port")
	FP_STATS=$d/stats.json
	FP_LOG=$d/log
	export FP_PORT FP_STATS FP_LOG FP_PID
}

# fp_stop: end the proxy (SIGTERM) and reap it; 0 also when none runs.
fp_stop() {
	[ -n "$FP_PID" ] || return 0
	kill -TERM "$FP_PID" 2>/dev/null || :
	wait "$FP_PID" 2>/dev/null || :
	FP_PID=""
}

fp_stat() {
	/usr/bin/python3 -E -s -c '
import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print("\n".join(v) if isinstance(v, list) else v)' "$FP_STATS" "$1"
}
