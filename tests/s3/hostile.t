#!/bin/bash
# Hostile servers (tests/s3/lib/hostile.py, on 127.0.0.1 over TLS): ferry
# push to each must end in a clean error — exit 1, one line on stderr that
# says what the server did — within its timeout and in bounded memory,
# and never follow a redirect to another host. The servers: an endless
# response header, an endless chunked body, malformed XML, a part listing
# whose NextPartNumberMarker is past 2^32, 1xx answers without end, a
# header trickled a byte at a time (slow loris), a server that reads no
# part body (the upload stalls), a 307 to another host, a
# self-signed certificate, an expired one, TLS 1.0 only.
. "$(dirname "$0")/../lib/tap.sh"

plan 35

hostile=$TESTS_DIR/s3/lib/hostile.py
/usr/bin/python3 "$hostile" certs "$T_DIR" 2>"$T_DIR/certs.err"
check_eq "the certificates are made (CA, good, expired, self-signed)" "" "$(cat "$T_DIR/certs.err")"
printf '[default]\naws_access_key_id = HOSTILEKEY\naws_secret_access_key = hostile/secret\n' \
	>"$T_DIR/credentials"
head -c $((6 * 1024 * 1024)) /dev/urandom >"$T_DIR/img.raw"
unset https_proxy HTTPS_PROXY http_proxy no_proxy NO_PROXY

PIDS=""
# shellcheck disable=SC2016 # expanded when the test ends
on_exit 'for p in $PIDS; do kill "$p" 2>/dev/null; done'
# start MODE: a hostile server; PORT is where it listens.
start() {
	local n=0
	rm -f "$T_DIR/$1.port"
	/usr/bin/python3 "$hostile" serve "$1" "$T_DIR" "$T_DIR/$1.port" "$T_DIR/$1.log" \
		2>"$T_DIR/$1.err" &
	PIDS="$PIDS $!"
	until [ -s "$T_DIR/$1.port" ] || [ $n -ge 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	PORT=$(cat "$T_DIR/$1.port" 2>/dev/null)
}
# push MODE TIMEOUT: ferry push to the server of MODE with --timeout
# TIMEOUT and no retries; RC, ERR (stderr), SECS and KB (peak RSS of ferry).
push() {
	local out
	out=$(/usr/bin/python3 -c '
import resource, subprocess, sys, time
t = time.monotonic()
with open(sys.argv[1], "w") as err:
    rc = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=err, timeout=120).returncode
print(rc, int(time.monotonic() - t), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' \
		"$T_DIR/$1.stderr" "$FERRY" push --quiet --endpoint "https://127.0.0.1:$PORT" \
		--region us-east-1 --credentials "$T_DIR/credentials" --ca "$T_DIR/ca.pem" \
		--retries 0 --timeout "$2" --parallel 1 --part-size 5Mi \
		"$T_DIR/img.raw" s3://bucket/img.raw 2>&1)
	read -r RC SECS KB <<<"$out"
	ERR=$(cat "$T_DIR/$1.stderr")
}
# hostile MODE TIMEOUT REGEX WHAT: the push ends with exit 1 and one line
# matching REGEX, within twice the timeout and 10 s, in under 200 MiB.
hostile() {
	local mode=$1 timeout=$2 re=$3 what=$4
	start "$mode"
	push "$mode" "$timeout"
	check_eq "$what: exit 1, one line on stderr" "1 1" \
		"$RC $(printf '%s\n' "$ERR" | grep -c .)$([ "$RC" = 1 ] || echo " ($ERR)")"
	printf '%s\n' "$ERR" | sed 's/^/# /'
	check_match "... saying so" "$re" "$ERR"
	check "... within $((2 * timeout + 10)) s (${SECS:-?} s) and 200 MiB (${KB:-?} KiB)" \
		test "${SECS:-999}" -le $((2 * timeout + 10)) -a "${KB:-999999}" -lt 204800
}

hostile headers 5 "a response header larger than 64 KiB" "an endless response header"
hostile chunked 5 "a response body larger than 1024 KiB" "an endless chunked body"
hostile xml 5 "the server gave no UploadId" "malformed XML"
hostile marker 5 "NextPartNumberMarker '4294967297' does not move on" \
	"a NextPartNumberMarker past 2^32"
hostile interim 5 "an answer 102 where a final answer was due" "1xx answers without end"
hostile slowloris 1 "did not arrive within 2 s \(the server sends too slowly\)" \
	"a header trickled a byte every 0.2 s (--timeout 1)"
hostile stall 1 "took no data for 1 s|no answer for 1 s" \
	"a server that reads no part body (--timeout 1)"
start other
hostile redirect 5 "HTTP 307" "a 307 to another host"
check_eq "... which is never contacted" "0" "$(grep -c connection "$T_DIR/other.log" 2>/dev/null || :)"
hostile selfsigned 5 "certificate is not trusted" "a self-signed certificate"
hostile expired 5 "certificate is not trusted.*(expired|validity)" "an expired certificate"
hostile tls10 5 "offers no TLS 1.2 or newer" "TLS 1.0 only"
done_testing
