#!/bin/bash
# Smoke test of the radosgw fixture (tests/s3/lib/rgw.sh): TLS with the test
# CA, SigV4 checking, single and multipart uploads, presigned PUT, cleanup.
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=lib/rgw.sh
. "$TESTS_DIR/s3/lib/rgw.sh"

plan 27

# curl without ~/.curlrc (which could say --insecure) or a proxy.
scurl() {
	curl -q -sS --noproxy '*' "$@"
}

# daemon_alive PID: a ceph daemon that still runs (a zombie left to a
# non-reaping init counts as gone).
daemon_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	case $stat in
	*"(ceph-mon) "[!Z]* | *"(ceph-osd) "[!Z]* | *"(radosgw) "[!Z]*) return 0 ;;
	esac
	return 1
}

# alive_of PIDS...: the PIDs among them that still run a ceph daemon.
alive_of() {
	local pid out=""
	for pid in "$@"; do
		if daemon_alive "$pid"; then
			out="$out $pid"
		fi
	done
	echo "${out# }"
}

# wait_gone PIDS...: poll up to 10 s until no daemon among them runs.
wait_gone() {
	local end=$((SECONDS + 10))
	while [ -n "$(alive_of "$@")" ] && [ "$SECONDS" -lt "$end" ]; do
		sleep 0.1
	done
	alive_of "$@"
}

start_ns=$(date +%s%N)
if rgw_start 2>"$T_DIR/start.err"; then
	ok "rgw_start starts mon, osd and radosgw"
else
	not_ok "rgw_start starts mon, osd and radosgw" "$(cat "$T_DIR/start.err")"
	exit 1
fi
start_ms=$((($(date +%s%N) - start_ns) / 1000000))
echo "# rgw_start took ${start_ms} ms"
pids=$RGW_PIDS
# shellcheck disable=SC2086
check_eq "three daemons run (mon, osd, radosgw)" "3 3" "$(echo $pids | wc -w) $(alive_of $pids | wc -w)"

listening=$(ss -ltnpH)
own=""
for pid in $pids; do
	own="$own$(printf '%s\n' "$listening" | grep "pid=$pid," | awk '{print $4}')
"
done
check_eq "every listening socket of the daemons is on 127.0.0.1" "" \
	"$(printf '%s' "$own" | grep -v '^$' | grep -v '^127\.0\.0\.1:')"
check_match "the daemons listen at all (mon, 4 osd ports, http, https)" '^7$' \
	"$(printf '%s' "$own" | grep -c '^127\.0\.0\.1:')"

check_eq "boto3 over HTTPS with the test CA lists the fixture's bucket" "$RGW_BUCKET" \
	"$(rgw_py 'print(" ".join(b["Name"] for b in s3.list_buckets()["Buckets"]))' 2>&1)"
check_eq "the zonegroup's api_name is the region" "default" "$RGW_REGION"

head -c $((3 * 1048576 + 17)) /dev/urandom >"$T_DIR/single.bin"
check "single PUT of 3 MiB + 17 bytes" rgw_py \
	'with open(sys.argv[1], "rb") as f: s3.put_object(Bucket=bucket, Key="single.bin", Body=f)' \
	"$T_DIR/single.bin"
check_eq "single PUT reads back with the same SHA-256" "$(sha "$T_DIR/single.bin")" \
	"$(rgw_sha256 single.bin 2>&1)"

# Multipart by hand, so the upload can be looked at before it completes.
head -c $((15 * 1048576 + 4321)) /dev/urandom >"$T_DIR/multi.bin"
upload_id=$(rgw_py '
path, key = sys.argv[1], sys.argv[2]
uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
with open(path, "rb") as f:
    n = 1
    while True:
        data = f.read(5 << 20)
        if not data:
            break
        s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=data)
        n += 1
print(uid)' "$T_DIR/multi.bin" multi.bin 2>&1)
check_eq "rgw_uploads lists the upload in progress" "multi.bin $upload_id" "$(rgw_uploads "$RGW_BUCKET" 2>&1)"
check_eq "rgw_parts lists 3 parts of 5 MiB and one of 4321 bytes" \
	"1 5242880 2 5242880 3 5242880 4 4321" \
	"$(rgw_parts multi.bin "$upload_id" 2>&1 | cut -d' ' -f1,2 | paste -sd' ')"
check_eq "complete_multipart_upload answers 200" "200" "$(rgw_py '
key, uid = sys.argv[1], sys.argv[2]
parts = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
         for p in s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]]
r = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": parts})
print(r["ResponseMetadata"]["HTTPStatusCode"])
# radosgw 16.2 leaves <ETag> empty in this answer (later Ceph fills it in).
print("# CompleteMultipartUploadResult ETag: \"%s\"" % r["ETag"], file=sys.stderr)' \
	multi.bin "$upload_id" 2>"$T_DIR/complete.err")"
cat "$T_DIR/complete.err"
# S3's multipart ETag: MD5 of the parts' binary MD5s, then "-" and the count.
check_eq "HEAD gives the multipart ETag (MD5 of part MD5s, -4)" \
	"$(/usr/bin/python3 -c '
import hashlib, sys
md5s = b""
with open(sys.argv[1], "rb") as f:
    for chunk in iter(lambda: f.read(5 << 20), b""):
        md5s += hashlib.md5(chunk).digest()
print(hashlib.md5(md5s).hexdigest() + "-4")' "$T_DIR/multi.bin")" \
	"$(rgw_py 'print(s3.head_object(Bucket=bucket, Key="multi.bin")["ETag"].strip("\""))' 2>&1)"
check_eq "multipart upload reads back with the same SHA-256" "$(sha "$T_DIR/multi.bin")" \
	"$(rgw_sha256 multi.bin 2>&1)"
check_eq "no multipart upload is left in progress" "" "$(rgw_uploads "$RGW_BUCKET" 2>&1)"

check_eq "a request signed with a wrong secret gets SignatureDoesNotMatch" "SignatureDoesNotMatch" \
	"$(rgw_py '
try:
    client(secret="not-the-" + os.environ["RGW_SECRET_KEY"]).list_objects_v2(Bucket=bucket)
    print("accepted")
except ClientError as e:
    print(e.response["Error"]["Code"])' 2>&1)"
check_eq "the SigV4 scope's region is not checked (us-east-1 also works)" "200" \
	"$(rgw_py 'print(client(region="us-east-1").head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"])' 2>&1)"

head -c 1234567 /dev/urandom >"$T_DIR/presigned.bin"
url=$(rgw_presign_put presigned.bin 600 2>&1)
check "curl --cacert CA -T FILE to a presigned PUT URL succeeds" \
	scurl --fail --cacert "$RGW_CA" -T "$T_DIR/presigned.bin" "$url"
check_eq "the presigned PUT stored the file" "$(sha "$T_DIR/presigned.bin")" \
	"$(rgw_sha256 presigned.bin 2>&1)"

rc=0
err=$(scurl -o /dev/null "$RGW_HTTPS/" 2>&1) || rc=$?
check_match "HTTPS without the test CA is refused (curl exit 60)" \
	'^60 curl: \(60\) SSL certificate problem' "$rc $err"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj "/CN=Other CA" -keyout "$T_DIR/other.key" -out "$T_DIR/other.pem" 2>/dev/null
rc=0
err=$(scurl --cacert "$T_DIR/other.pem" -o /dev/null "$RGW_HTTPS/" 2>&1) || rc=$?
check_match "HTTPS with another CA is refused (curl exit 60)" \
	'^60 curl: \(60\) SSL certificate problem' "$rc $err"
check_eq "https://s3.test:PORT with a resolve override verifies the name" "200" \
	"$(scurl --cacert "$RGW_CA" --resolve "s3.test:$RGW_HTTPS_PORT:127.0.0.1" \
		-o /dev/null -w '%{http_code}' "$RGW_HOST_HTTPS/" 2>&1)"
url=$(rgw_py '
c = client(endpoint=os.environ["RGW_HOST_HTTPS"], style="virtual")
print(c.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "vhost.bin"}, ExpiresIn=600))' 2>&1)
check "a virtual-hosted presigned PUT (BUCKET.s3.test) succeeds" \
	scurl --fail --cacert "$RGW_CA" \
	--resolve "$RGW_BUCKET.s3.test:$RGW_HTTPS_PORT:127.0.0.1" -T "$T_DIR/presigned.bin" "$url"
check_eq "the virtual-hosted PUT stored the file" "$(sha "$T_DIR/presigned.bin")" \
	"$(rgw_sha256 vhost.bin 2>&1)"
check_eq "the plain HTTP endpoint answers" "200" \
	"$(scurl -o /dev/null -w '%{http_code}' "$RGW_HTTP/" 2>&1)"

rgw_stop
# shellcheck disable=SC2086
check_eq "rgw_stop leaves none of the daemons running" "" "$(wait_gone $pids)"

# A test that fails after rgw_start, and one killed with SIGKILL, run as
# child scripts: neither may leave a daemon behind. Each child writes its
# shell's PID and then the daemons' PIDs.
cat >"$T_DIR/child.t" <<'EOF'
#!/bin/bash
. "$TESTS_DIR/lib/tap.sh"
# shellcheck source=lib/rgw.sh
. "$TESTS_DIR/s3/lib/rgw.sh"
rgw_start
echo "$$ $RGW_PIDS" >"$1.tmp"
mv "$1.tmp" "$1"
[ "$2" = fail ] && exit 1
mkfifo "$T_DIR/never"
read -r -t 120 _ <>"$T_DIR/never"
EOF
mkdir "$T_DIR/child"
rc=0
TESTS_DIR=$TESTS_DIR FERRY_TMP=$T_DIR/child bash "$T_DIR/child.t" "$T_DIR/fail.pids" fail \
	>"$T_DIR/fail.log" 2>&1 || rc=$?
fail_pids=""
read -r _ fail_pids <"$T_DIR/fail.pids" || rc="$rc (no PID file)"
# shellcheck disable=SC2086
check_eq "a test failing after rgw_start leaves no daemon (exit 1, 3 PIDs, none left)" "1 3 " \
	"$rc $(echo $fail_pids | wc -w) $(wait_gone $fail_pids)"

# The killed child runs under a subreaper that reaps what it leaves, so no
# zombie stays behind where PID 1 does not reap orphans (containers).
/usr/bin/python3 -c '
import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
if os.fork() == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
while True:
    try:
        os.wait()
    except ChildProcessError:
        break' env TESTS_DIR="$TESTS_DIR" FERRY_TMP="$T_DIR/child" \
	bash "$T_DIR/child.t" "$T_DIR/kill.pids" hang >"$T_DIR/kill.log" 2>&1 &
reaper=$!
end=$((SECONDS + 60))
while [ ! -s "$T_DIR/kill.pids" ] && [ "$SECONDS" -lt "$end" ] && kill -0 "$reaper" 2>/dev/null; do
	sleep 0.1
done
kill_pids=""
if read -r child kill_pids <"$T_DIR/kill.pids"; then
	kill -KILL "$child"
fi
# shellcheck disable=SC2086
left=$(wait_gone $kill_pids)
# shellcheck disable=SC2086
check_eq "a test killed with SIGKILL leaves no daemon (3 PIDs, none left)" "3 " \
	"$(echo $kill_pids | wc -w) $left"
# Only after a failure: stop what was left, so that the reaper can finish.
for pid in $left; do
	kill -KILL "$pid"
done
wait "$reaper"
echo "# total $SECONDS s"
done_testing
