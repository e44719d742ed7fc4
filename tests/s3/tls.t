#!/bin/bash
# The records an upload sends, sealed by ferry itself for AES-GCM
# (util/aesgcm) and by mbedtls for ChaCha20-Poly1305, read by another TLS
# stack: a server (tests/s3/lib/strict.py, Python's ssl on OpenSSL) that
# speaks one cipher suite only. Each multipart push and presigned PUT must
# arrive whole, with no TLS error at the server (a record it could not open,
# or a close_notify out of sequence, would be one). Parts carry no
# Content-MD5 unless the server asks for one, as AWS does for a bucket with
# Object Lock: then the refused part is sent again with it, and so is
# every part after.
. "$(dirname "$0")/../lib/tap.sh"

plan 16

lib=$TESTS_DIR/s3/lib
/usr/bin/python3 "$lib/hostile.py" certs "$T_DIR" 2>"$T_DIR/certs.err"
printf '[default]\naws_access_key_id = STRICTKEY\naws_secret_access_key = strict/secret\n' \
	>"$T_DIR/credentials"
head -c $((12 * 1024 * 1024 + 77)) /dev/urandom >"$T_DIR/img.raw"
want=$(sha256sum <"$T_DIR/img.raw" | cut -d' ' -f1)
unset https_proxy HTTPS_PROXY http_proxy no_proxy NO_PROXY

PIDS=""
# shellcheck disable=SC2016 # expanded when the test ends
on_exit 'for p in $PIDS; do kill "$p" 2>/dev/null; done'
# start NAME CIPHER MODE: a server; PORT is where it listens, LOG its log.
start() {
	local n=0
	/usr/bin/python3 "$lib/strict.py" serve "$2" "$3" "$T_DIR" "$T_DIR/$1.port" \
		"$T_DIR/$1.log" 2>"$T_DIR/$1.err" &
	PIDS="$PIDS $!"
	until [ -s "$T_DIR/$1.port" ] || [ $n -ge 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	PORT=$(cat "$T_DIR/$1.port" 2>/dev/null)
	LOG=$T_DIR/$1.log
}
push() {
	"$FERRY" push --quiet --endpoint "https://127.0.0.1:$PORT" --region us-east-1 \
		--credentials "$T_DIR/credentials" --ca "$T_DIR/ca.pem" --retries 0 \
		--part-size 5Mi "$@"
}
stored() { sha256sum <"$T_DIR/stored/$1" 2>/dev/null | cut -d' ' -f1; }
# tls_errors: what the server's TLS said when a connection ended badly.
tls_errors() { grep -c 'SSLError' "$LOG"; }

for suite in ECDHE-ECDSA-AES128-GCM-SHA256:aes128 ECDHE-ECDSA-AES256-GCM-SHA384:aes256 \
	ECDHE-ECDSA-CHACHA20-POLY1305:chacha; do
	cipher=${suite%%:*} name=${suite##*:}
	start "$name" "$cipher" plain
	rc=0
	push --parallel 1 "$T_DIR/img.raw" "s3://bucket/$name.img" 2>"$T_DIR/$name.stderr" || rc=$?
	check_eq "$cipher: a multipart push exits 0" "0" "$rc$(cat "$T_DIR/$name.stderr")"
	check_eq "... the server negotiated it, and read the object whole (3 parts on one connection)" \
		"$cipher $want" "$(awk '/^connection/ { print $2; exit }' "$LOG") $(stored "$name.img")"
	check_eq "... no TLS error at the server" "0" "$(tls_errors)"
	check_eq "... no part carried a Content-MD5" "3 0" \
		"$(grep -c 'partNumber=.* md5=no 200' "$LOG") $(grep -c 'partNumber=.* md5=yes' "$LOG")"
done

# A presigned PUT: one request, the body streamed.
start put ECDHE-ECDSA-AES256-GCM-SHA384 plain
rc=0
"$FERRY" push --quiet --ca "$T_DIR/ca.pem" "$T_DIR/img.raw" \
	"https://127.0.0.1:$PORT/bucket/put.img?X-Amz-Signature=0" 2>"$T_DIR/put.stderr" || rc=$?
check_eq "a presigned PUT over AES-256-GCM: exit 0, the object whole, no TLS error" \
	"0 $want 0" "$rc$(cat "$T_DIR/put.stderr") $(stored put.img) $(tls_errors)"

start md5 ECDHE-ECDSA-AES128-GCM-SHA256 md5
rc=0
push --parallel 1 "$T_DIR/img.raw" "s3://bucket/md5.img" 2>"$T_DIR/md5.stderr" || rc=$?
check_eq "a server that wants Content-MD5: the push exits 0" "0" "$rc$(cat "$T_DIR/md5.stderr")"
check_eq "... the object whole" "$want" "$(stored md5.img)"
# --parallel 1 is two connections (one sends while the other awaits its
# answer): each may be refused once before it knows.
refused=$(grep -c 'partNumber=.* md5=no 400' "$LOG")
check_eq "... a part refused without it once per connection at most, every part then stored with it" \
	"yes 3" "$([ "$refused" -ge 1 ] && [ "$refused" -le 2 ] && echo yes || echo "no: $refused") $(grep -c 'partNumber=.* md5=yes 200' "$LOG")"

done_testing
