#!/bin/bash
# Uploads through an HTTP CONNECT proxy that breaks them on purpose
# (tests/s3/lib/faultproxy.py): connections cut after N bytes several times,
# a ferry killed in the middle and run again (the proxy's byte count shows
# that stored parts were not sent again), proxy authentication, https_proxy
# and no_proxy from the environment.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"
. "$TESTS_DIR/s3/lib/rgw.sh"
. "$TESTS_DIR/s3/lib/faultproxy.sh"

plan 29

rgw_start || { not_ok "radosgw starts"; done_testing; exit 1; }
ok "radosgw starts ($RGW_HOST_HTTPS)"
export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
unset https_proxy HTTPS_PROXY http_proxy no_proxy NO_PROXY
MiB=$((1024 * 1024))
img=$T_DIR/file.img
head -c $((40 * MiB + 4321)) /dev/urandom >"$img"
want=$(sha "$img")
rc_err() { if [ "$1" = 0 ]; then echo 0; else echo "$1 $(cat "$2")"; fi; }
# Through the proxy the name s3.test reaches radosgw (--map), so the
# certificate's name matches.
push() {
	"$FERRY" push --endpoint "$RGW_HOST_HTTPS" --region "$RGW_REGION" --ca "$RGW_CA" \
		--part-size 5Mi "$@"
}
proxy=http://127.0.0.1

# 1. Cut after 3 MB, three times: the retries finish the upload.
fp_start --map s3.test=127.0.0.1 --drop-after 3000000 --drops 3
rc=0
push --parallel 2 --proxy "$proxy:$FP_PORT" "$img" "s3://$RGW_BUCKET/f/a.img" \
	>"$T_DIR/a.out" 2>"$T_DIR/a.err" || rc=$?
check_eq "three connections cut mid-part: the push still exits 0" "0" \
	"$(rc_err "$rc" "$T_DIR/a.err")"
check_eq "the proxy cut three tunnels" "3" "$(fp_stat dropped)"
check_eq "the object is whole" "$want" "$(rgw_sha256 f/a.img)"
check_match "every tunnel asked for s3.test" "^s3\.test:$RGW_HTTPS_PORT$" \
	"$(fp_stat connects | sort -u)"

# 2. A capture streamed through https_proxy from the environment, cut twice.
disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")
"$FERRY" capture --quiet --format qcow2 "$disk" "$T_DIR/local.qcow2"
fp_start --map s3.test=127.0.0.1 --drop-after 4000000 --drops 2
rc=0
https_proxy=$proxy:$FP_PORT "$FERRY" capture --quiet --format qcow2 --endpoint "$RGW_HOST_HTTPS" \
	--region "$RGW_REGION" --ca "$RGW_CA" --part-size 5Mi "$disk" "s3://$RGW_BUCKET/f/disk.qcow2" \
	2>"$T_DIR/b.err" || rc=$?
check_eq "capture through https_proxy, two tunnels cut: exits 0" "0" "$(rc_err "$rc" "$T_DIR/b.err")"
check_eq "https_proxy was used and cut twice" "2" "$(fp_stat dropped)"
check_eq "the object equals a local capture" "$(sha "$T_DIR/local.qcow2")" "$(rgw_sha256 f/disk.qcow2)"
check_eq "the source is unchanged" "$src_sha" "$(sha "$disk")"

# 2b. A compressed qcow2 goes up in one pass and is read back for its
# SHA-256: the proxy cuts two tunnels as they bring it back (after 3 MB
# towards ferry); the ranged GETs are asked again.
"$FERRY" capture --quiet --format qcow2 --compress zlib "$disk" "$T_DIR/local.z.qcow2"
fp_start --map s3.test=127.0.0.1 --drop-down-after 3000000 --drops 2
rc=0
https_proxy=$proxy:$FP_PORT "$FERRY" capture --format qcow2 --compress zlib --endpoint "$RGW_HOST_HTTPS" \
	--region "$RGW_REGION" --ca "$RGW_CA" --part-size 5Mi "$disk" "s3://$RGW_BUCKET/f/z.qcow2" \
	>"$T_DIR/z.out" 2>"$T_DIR/z.err" || rc=$?
check_eq "compressed qcow2, read back through two tunnels cut: exits 0, the proxy cut two" "0 2" \
	"$(rc_err "$rc" "$T_DIR/z.err") $(fp_stat dropped)"
check_eq "the object and the report's SHA-256 are the local capture's; the source is unchanged" \
	"$(sha "$T_DIR/local.z.qcow2") $(sha "$T_DIR/local.z.qcow2") $src_sha" \
	"$(rgw_sha256 f/z.qcow2) $(sed -n 's/.*upload: sha256 \([0-9a-f]*\),.*/\1/p' "$T_DIR/z.out") $(sha "$disk")"

# 3. Killed in the middle, then run again: only the missing parts travel.
fp_start --map s3.test=127.0.0.1
# ferry itself in the background (not the push function, whose subshell
# would die and leave ferry running).
"$FERRY" push --endpoint "$RGW_HOST_HTTPS" --region "$RGW_REGION" --ca "$RGW_CA" --part-size 5Mi \
	--parallel 1 --rate 4M --proxy "$proxy:$FP_PORT" --quiet "$img" "s3://$RGW_BUCKET/f/k.img" \
	2>"$T_DIR/k1.err" &
rgw_kill_at_parts $! f/k.img 3
upload=$RGW_UPLOAD
# The proxy may still be handing radosgw a part the push had sent before it
# died: count once the number has stopped changing.
stored=$(rgw_parts_settled f/k.img "$upload")
check "killed after at least 3 parts were stored ($stored)" test "$stored" -ge 3
check "and before all 9 were" test "$stored" -lt 9
fp_start --map s3.test=127.0.0.1
rc=0
push --parallel 2 --proxy "$proxy:$FP_PORT" "$img" "s3://$RGW_BUCKET/f/k.img" \
	>"$T_DIR/k2.out" 2>"$T_DIR/k2.err" || rc=$?
check_eq "the second run exits 0" "0" "$(rc_err "$rc" "$T_DIR/k2.err")"
check_match "it says the stored parts were not sent again" \
	"resumed an unfinished upload: $stored parts already stored were not sent again" \
	"$(cat "$T_DIR/k2.out")"
check_eq "the object is whole" "$want" "$(rgw_sha256 f/k.img)"
rest=$((40 * MiB + 4321 - stored * 5 * MiB))
up=$(fp_stat bytes_up)
check "the proxy carried the missing parts ($rest bytes) and little more: $up" \
	test "$up" -ge "$rest" -a "$up" -le $((rest + MiB))
check_eq "no multipart upload is left open" "" "$(rgw_uploads)"

# 4. Proxy authentication; the password is never shown.
fp_start --map s3.test=127.0.0.1 --require-auth ferry:s3cret-pw
check_fails "a wrong proxy password: the proxy's 407" 1 "proxy 127.0.0.1:$FP_PORT: CONNECT .*HTTP 407" \
	push --proxy "http://ferry:wrong-pw@127.0.0.1:$FP_PORT" "$img" "s3://$RGW_BUCKET/f/c.img"
check_eq "the password appears in no message" "" \
	"$(push --proxy "http://ferry:wrong-pw@127.0.0.1:$FP_PORT" "$img" "s3://$RGW_BUCKET/f/c.img" 2>&1 | grep -F wrong-pw || :)"
rc=0
push --quiet --proxy "http://ferry:s3cret-pw@127.0.0.1:$FP_PORT" "$img" "s3://$RGW_BUCKET/f/c.img" \
	2>"$T_DIR/c.err" || rc=$?
check_eq "the right one: exits 0" "0" "$(rc_err "$rc" "$T_DIR/c.err")"

# 4b. ferry run with the proxy given without a scheme, its password holding a
# blank, a quote and an '@': the proxy takes it, and neither the console nor
# the job's log in the bucket shows it.
pw="s3 cret'p@w"
fp_start --map s3.test=127.0.0.1 --require-auth "ferry:$pw"
fx_server_disk "$T_DIR/disk.img"
disk_sha=$(sha "$T_DIR/disk.img")
rc=0
"$FERRY" run --cmdline "ferry.source=$T_DIR/disk.img ferry.target=s3://$RGW_BUCKET/f/run.img \
ferry.endpoint=$RGW_HOST_HTTPS ferry.region=$RGW_REGION ferry.ca=$RGW_CA ferry.after=shell \
\"ferry.proxy=ferry:$pw@127.0.0.1:$FP_PORT\"" >"$T_DIR/run.out" 2>&1 || rc=$?
check_eq "ferry run through it: exits 0" "0" "$(rc_err "$rc" "$T_DIR/run.out")"
check_match "the console shows the proxy without its userinfo" "--proxy '?\.\.\.@127\.0\.0\.1:$FP_PORT" \
	"$(cat "$T_DIR/run.out")"
rgw_get f/run.img.log "$T_DIR/run.log"
check_eq "neither the console nor the job's log shows the password" "" \
	"$(cat "$T_DIR/run.out" "$T_DIR/run.log" | grep -F -e "cret" -e "p@w" || :)"
check_eq "the source is unchanged" "$disk_sha" "$(sha "$T_DIR/disk.img")"

# 5. no_proxy and --proxy "" go direct (https_proxy names a dead port).
dead=http://127.0.0.1:9
rc=0
https_proxy=$dead no_proxy=example.com,.s3.test "$FERRY" push --quiet --endpoint "$RGW_HOST_HTTPS" \
	--resolve s3.test:127.0.0.1 --region "$RGW_REGION" --ca "$RGW_CA" "$img" \
	"s3://$RGW_BUCKET/f/d.img" 2>"$T_DIR/d.err" || rc=$?
check_eq "no_proxy lists the host: direct" "0" "$(rc_err "$rc" "$T_DIR/d.err")"
rc=0
https_proxy=$dead "$FERRY" push --quiet --proxy "" --endpoint "$RGW_HOST_HTTPS" \
	--resolve s3.test:127.0.0.1 --region "$RGW_REGION" --ca "$RGW_CA" "$img" \
	"s3://$RGW_BUCKET/f/e.img" 2>"$T_DIR/e.err" || rc=$?
check_eq "--proxy \"\": direct" "0" "$(rc_err "$rc" "$T_DIR/e.err")"
check_fails "https_proxy on a dead port: the proxy is named (one retry)" 1 \
	"after 2 attempts.*cannot connect to the proxy" \
	env https_proxy=$dead "$FERRY" push --quiet --retries 1 --endpoint "$RGW_HOST_HTTPS" \
	--resolve s3.test:127.0.0.1 --region "$RGW_REGION" --ca "$RGW_CA" "$img" \
	"s3://$RGW_BUCKET/f/g.img"
check_eq "no output shows the secret or the access key" "" \
	"$(cat "$T_DIR"/*.out "$T_DIR"/*.err | grep -F -e "$RGW_SECRET_KEY" -e "$RGW_ACCESS_KEY" || :)"
done_testing
