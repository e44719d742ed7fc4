#!/bin/bash
# tests/s3/lib/faultproxy.py against a real radosgw, driven with curl: uploads
# through its CONNECT tunnels arrive intact and are counted, a tunnel cut
# after N bytes fails the upload and is counted, later tunnels are whole,
# --require-auth answers 407, an unreachable target 502, a plain GET 405,
# and a tunnel left idle does not hold up the others.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/s3/lib/rgw.sh"
. "$TESTS_DIR/s3/lib/faultproxy.sh"

plan 34

# The proxy under test must be the only one in play.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

rgw_start || { not_ok "radosgw starts"; done_testing; exit 1; }
ok "radosgw starts ($RGW_HTTPS)"
port=$RGW_HTTPS_PORT
body=$T_DIR/body
size=$((5 * 1024 * 1024 + 17))
head -c "$size" /dev/urandom >"$body"
want=$(sha "$body")

# put KEY [CURL-OPTION...]: a presigned PUT of $body by name (s3.test, which
# only the proxy's --map resolves) through the proxy; prints curl's exit
# status, the CONNECT reply code and the PUT's HTTP code.
put() {
	local key=$1 url rc=0 codes
	shift
	url=$(rgw_presign_put "$key" 600 "$RGW_HOST_HTTPS")
	codes=$(curl -q -sS --proxy "http://127.0.0.1:$FP_PORT" --cacert "$RGW_CA" "$@" \
		-T "$body" -o /dev/null -w '%{http_connect} %{http_code}' "$url" \
		2>>"$T_DIR/curl.err") || rc=$?
	echo "$rc $codes"
}
present() { rgw_keys | awk -v k="$1" '$1 == k { n++ } END { print n + 0 }'; }

fp_start --map s3.test=127.0.0.1 || { not_ok "the proxy starts"; done_testing; exit 1; }
ok "the proxy starts (port $FP_PORT)"
check_eq "fresh counters" "0 0 0 0" \
	"$(fp_stat tunnels) $(fp_stat dropped) $(fp_stat bytes_up) $(fp_stat bytes_down)"
check_eq "PUT through the tunnel: curl 0, CONNECT 200, PUT 200" "0 200 200" "$(put proxy/a)"
check_eq "the object arrived whole (boto3 SHA-256)" "$want" "$(rgw_sha256 proxy/a)"
check "bytes_up ($(fp_stat bytes_up)) >= the body ($size)" test "$(fp_stat bytes_up)" -ge "$size"
check "bytes_down ($(fp_stat bytes_down)) > 0" test "$(fp_stat bytes_down)" -gt 0
check_eq "one tunnel, to the name the client asked for" "1 s3.test:$port" \
	"$(fp_stat tunnels) $(fp_stat connects)"
check_eq "nothing dropped" "0" "$(fp_stat dropped)"

# An idle tunnel (CONNECT answered, nothing sent) stays open while eight
# uploads run at once, each through its own tunnel.
exec 3<>"/dev/tcp/127.0.0.1/$FP_PORT"
printf 'CONNECT s3.test:%s HTTP/1.1\r\nHost: s3.test:%s\r\n\r\n' "$port" "$port" >&3
IFS= read -r -t 10 line <&3
check_eq "a raw CONNECT is answered 200" "HTTP/1.1 200 Connection established" "${line%$'\r'}"
pids=()
for i in 1 2 3 4 5 6 7 8; do
	put "proxy/p$i" >"$T_DIR/p$i.out" &
	pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
check_eq "8 parallel uploads beside the idle tunnel all succeed" \
	"$(printf '0 200 200\n%.0s' 1 2 3 4 5 6 7 8)" "$(cat "$T_DIR"/p[1-8].out)"
shas=$(for i in 1 2 3 4 5 6 7 8; do rgw_sha256 "proxy/p$i"; done | sort -u)
check_eq "all 8 objects are whole" "$want" "$shas"
check_eq "1 + 1 idle + 8 tunnels, the idle one still open" "10 1" \
	"$(fp_stat tunnels) $(fp_stat open)"
check "bytes_up counts all 9 bodies" test "$(fp_stat bytes_up)" -ge $((9 * size))
exec 3>&-
pid=$FP_PID old_port=$FP_PORT
fp_stop
check "fp_stop ends the proxy (PID $pid)" bash -c "! kill -0 $pid 2>/dev/null"
check "and its port is closed" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$old_port) 2>/dev/null"

# Cut the first tunnel that carries more than 1 MB, with an RST.
fp_start --map s3.test=127.0.0.1 --drop-after 1000000 --drops 1
: >"$T_DIR/curl.err"
read -r rc connect code <<<"$(put proxy/cut)"
check "a cut tunnel fails curl (exit $rc, HTTP $code)" test "$rc" != 0
check_match "with an RST: connection reset by peer" "reset by peer" "$(cat "$T_DIR/curl.err")"
check_eq "the CONNECT itself was answered 200" "200" "$connect"
check_eq "one drop counted" "1 1" "$(fp_stat tunnels) $(fp_stat dropped)"
check_eq "exactly 1000000 bytes went upstream" "1000000" "$(fp_stat bytes_up)"
check_eq "no object from the cut upload" "0" "$(present proxy/cut)"
check_eq "the next tunnel is relayed in full" "0 200 200" "$(put proxy/after)"
check_eq "its object is whole" "$want" "$(rgw_sha256 proxy/after)"
check_eq "still one drop over two tunnels" "2 1" "$(fp_stat tunnels) $(fp_stat dropped)"

# A tunnel that never carries more than N bytes is not cut.
fp_start --map s3.test=127.0.0.1 --drop-after $((size + 100000)) --drops 3
check_eq "--drop-after above the tunnel's bytes: relayed" "0 200 200" "$(put proxy/small)"
check_eq "no drop" "0" "$(fp_stat dropped)"

# --require-auth: 407 unless Proxy-Authorization: Basic matches.
fp_start --map s3.test=127.0.0.1 --require-auth 'ferry:pr0xy secret'
read -r rc connect code <<<"$(put proxy/noauth)"
check_eq "no credentials: CONNECT 407, curl fails" "407 yes" "$connect $([ "$rc" != 0 ] && echo yes)"
read -r rc connect code <<<"$(put proxy/badauth --proxy-user ferry:wrong)"
check_eq "a wrong password: CONNECT 407" "407" "$connect"
check_eq "the right credentials: PUT 200" "0 200 200" "$(put proxy/auth --proxy-user 'ferry:pr0xy secret')"
check_eq "no tunnel for the refused ones" "1 2" "$(fp_stat tunnels) $(fp_stat rejected)"
check_eq "only the authorised upload arrived" "0 0 $want" \
	"$(present proxy/noauth) $(present proxy/badauth) $(rgw_sha256 proxy/auth)"

# A port nobody listens on: 502. A request that is not CONNECT: 405.
fp_start --map s3.test=127.0.0.1
closed=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rc=0
out=$(curl -q -sS --proxy "http://127.0.0.1:$FP_PORT" --cacert "$RGW_CA" -o /dev/null \
	-w '%{http_connect}' "https://s3.test:$closed/" 2>/dev/null) || rc=$?
check_eq "an unreachable target: CONNECT 502, curl fails" "502 yes" "$out $([ "$rc" != 0 ] && echo yes)"
check_eq "a plain GET to the proxy: 405" "405" \
	"$(curl -q -sS --proxy "http://127.0.0.1:$FP_PORT" -o /dev/null -w '%{http_code}' "$RGW_HTTP/")"
done_testing
