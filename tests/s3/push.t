#!/bin/bash
# ferry push to a real radosgw over TLS (tests/s3/lib/rgw.sh): multipart
# upload read back with boto3, SignatureDoesNotMatch shown as the server
# said it, certificate checks (unknown CA, wrong name, --insecure), resume
# of an unfinished upload, credentials from a file; secrets never printed.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/s3/lib/rgw.sh"

plan 31

rgw_start || { not_ok "radosgw starts"; done_testing; exit 1; }
ok "radosgw starts ($RGW_HTTPS, region $RGW_REGION)"
port=${RGW_HTTPS##*:}
img=$T_DIR/disk.img
head -c $((40 * 1024 * 1024 + 123)) /dev/urandom >"$img"
want=$(sha256sum <"$img" | cut -d' ' -f1)

export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
# rc_err RC FILE: the exit status, with FILE's lines when it is not 0.
rc_err() { if [ "$1" = 0 ]; then echo 0; else echo "$1 $(cat "$2")"; fi; }
push() { "$FERRY" push --endpoint "$RGW_HTTPS" --region "$RGW_REGION" --ca "$RGW_CA" "$@"; }

rc=0
push --part-size 8Mi "$img" "s3://$RGW_BUCKET/images/a.img" >"$T_DIR/a.out" 2>"$T_DIR/a.err" || rc=$?
check_eq "push exits 0" "0" "$(rc_err "$rc" "$T_DIR/a.err")"
check_match "the report says 6 parts of 8 MiB" "in 6 parts of 8.0 MiB" "$(cat "$T_DIR/a.out")"
check_eq "boto3 reads back the same SHA-256" "$want" "$(rgw_sha256 images/a.img)"
check_eq "no multipart upload is left open" "" "$(rgw_uploads)"
manifest() {
	rgw_py 'import json; m = json.loads(s3.get_object(Bucket=bucket, Key=sys.argv[1])["Body"].read())
print(m["format"], m["virtual_size"], m["file_size"], m["sha256"], m["upload"]["parts"])' "$1"
}
check_eq "the manifest beside it: raw, sizes, the SHA-256 boto3 computed, 6 parts" \
	"raw $((40 * 1024 * 1024 + 123)) $((40 * 1024 * 1024 + 123)) $want 6" \
	"$(manifest images/a.img.ferry.json)"
qemu-img create -q -f qcow2 "$T_DIR/q.qcow2" 3G
push --quiet "$T_DIR/q.qcow2" "s3://$RGW_BUCKET/images/q.qcow2"
check_eq "a qcow2's manifest: its format and virtual size (qemu-img's)" \
	"qcow2 $(qemu-img info --output=json "$T_DIR/q.qcow2" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])') $(stat -c %s "$T_DIR/q.qcow2") $(sha256sum <"$T_DIR/q.qcow2" | cut -d' ' -f1) 1" \
	"$(manifest images/q.qcow2.ferry.json)"

rc=0
AWS_SECRET_ACCESS_KEY=not-the-secret push "$img" "s3://$RGW_BUCKET/images/b.img" \
	>"$T_DIR/b.out" 2>"$T_DIR/b.err" || rc=$?
check_eq "a wrong secret: exit 1" "1" "$rc"
check_match "the server's own words: SignatureDoesNotMatch" "SignatureDoesNotMatch" \
	"$(cat "$T_DIR/b.err")"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
	-keyout "$T_DIR/other.key" -out "$T_DIR/other.pem" >/dev/null 2>&1
check_fails "an unknown CA is refused" 1 "certificate is not trusted" \
	"$FERRY" push --endpoint "$RGW_HTTPS" --region "$RGW_REGION" --ca "$T_DIR/other.pem" \
	"$img" "s3://$RGW_BUCKET/images/c.img"
check_fails "the system CAs do not know the test CA" 1 "certificate is not trusted" \
	"$FERRY" push --endpoint "$RGW_HTTPS" --region "$RGW_REGION" \
	"$img" "s3://$RGW_BUCKET/images/c.img"
check_fails "a host name the certificate does not carry is refused" 1 \
	"certificate is not valid for wrong\.test" \
	push --endpoint "https://wrong.test:$port" --resolve "wrong.test:127.0.0.1" \
	"$img" "s3://$RGW_BUCKET/images/c.img"
rc=0
push --endpoint "https://s3.test:$port" --resolve "s3.test:127.0.0.1" \
	"$img" "s3://$RGW_BUCKET/images/byname.img" >/dev/null 2>"$T_DIR/n.err" || rc=$?
check_eq "by name with --resolve (SNI, DNS SAN)" "0" "$(rc_err "$rc" "$T_DIR/n.err")"
rc=0
"$FERRY" push --endpoint "$RGW_HTTPS" --region "$RGW_REGION" --ca "$T_DIR/other.pem" --insecure \
	--quiet "$img" "s3://$RGW_BUCKET/images/d.img" 2>"$T_DIR/d.err" || rc=$?
check_eq "--insecure connects anyway" "0" "$rc"
check_match "--insecure is warned about" "warning: --insecure" "$(cat "$T_DIR/d.err")"
check_eq "the --insecure upload is intact" "$want" "$(rgw_sha256 images/d.img)"

# An interrupted upload: boto3 stores parts 1-3 of the same 8 MiB cut.
rgw_py '
u = s3.create_multipart_upload(Bucket=bucket, Key="images/e.img")["UploadId"]
with open(sys.argv[1], "rb") as f:
    for n in (1, 2, 3):
        s3.upload_part(Bucket=bucket, Key="images/e.img", UploadId=u, PartNumber=n,
                       Body=f.read(8 << 20))
' "$img"
check_eq "fixture: an unfinished upload with 3 parts" "3" \
	"$(rgw_parts images/e.img "$(rgw_uploads | awk '$1 == "images/e.img" {print $2}')" | wc -l)"
rc=0
push --part-size 8Mi "$img" "s3://$RGW_BUCKET/images/e.img" >"$T_DIR/e.out" 2>"$T_DIR/e.err" || rc=$?
check_eq "a second push resumes it" "0" "$(rc_err "$rc" "$T_DIR/e.err")"
check_match "the 3 stored parts were not sent again" "3 parts already stored were not sent again" \
	"$(cat "$T_DIR/e.out")"
check_eq "the resumed object is whole" "$want" "$(rgw_sha256 images/e.img)"

rgw_credentials "$T_DIR/creds"
rc=0
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$FERRY" push --endpoint "$RGW_HTTPS" \
	--region "$RGW_REGION" --ca "$RGW_CA" --credentials "$T_DIR/creds" --quiet \
	"$img" "s3://$RGW_BUCKET/images/f.img" 2>"$T_DIR/f.err" || rc=$?
check_eq "--credentials FILE" "0" "$(rc_err "$rc" "$T_DIR/f.err")"
check_fails "no credentials at all: a clear error" 1 "no S3 credentials in the environment" \
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$FERRY" push --endpoint "$RGW_HTTPS" \
	--ca "$RGW_CA" "$img" "s3://$RGW_BUCKET/images/g.img"
# Virtual-host addressing: BUCKET.s3.test, reached through --resolve s3.test.
rc=0
push --quiet --virtual-host --endpoint "https://s3.test:$port" --resolve "s3.test:127.0.0.1" \
	"$img" "s3://$RGW_BUCKET/images/vhost.img" 2>"$T_DIR/v.err" || rc=$?
check_eq "--virtual-host (BUCKET.s3.test, *.s3.test certificate)" "0" "$(rc_err "$rc" "$T_DIR/v.err")"
check_eq "the virtual-host upload is intact" "$want" "$(rgw_sha256 images/vhost.img)"

# The server refuses in the middle (a bucket policy denies PutObject once a
# part is stored): the upload is aborted, not kept.
push --part-size 5Mi --parallel 1 --rate 5M "$img" "s3://$RGW_BUCKET/images/deny.img" \
	>"$T_DIR/deny.out" 2>"$T_DIR/deny.err" &
pid=$!
for _ in $(seq 1 100); do
	u=$(rgw_uploads | awk '$1 == "images/deny.img" {print $2}')
	[ -n "$u" ] && [ "$(rgw_parts images/deny.img "$u" | wc -l)" -ge 1 ] && break
	sleep 0.2
done
rgw_py 'import json
pol = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
       "Action": "s3:PutObject", "Resource": "arn:aws:s3:::%s/images/deny.img" % bucket}]}
s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(pol))'
rc=0
wait "$pid" || rc=$?
check_eq "a part refused mid-upload: exit 1" "1" "$rc"
check_match "with the server's AccessDenied" "upload part [0-9]+: HTTP 403 Forbidden: AccessDenied" \
	"$(cat "$T_DIR/deny.err")"
check_eq "the refused upload is aborted, not kept" "" "$(rgw_uploads | grep deny || :)"
check_eq "and the message does not promise a resume" "" "$(grep -F "kept" "$T_DIR/deny.err" || :)"
rgw_py 's3.delete_bucket_policy(Bucket=bucket)'

# --rate 20M: 100 MB should take 5 s of sending. The same push without a
# limit first: what ferry spends besides sending (start, hashing, completing
# the upload; much more under ASan) is in both, so the limit may add at most
# 5 s and 10 %, and never make it faster than 22 MB/s.
head -c 100000000 /dev/urandom >"$T_DIR/rate.img"
t0=$(date +%s.%N)
push --quiet --part-size 5Mi "$T_DIR/rate.img" "s3://$RGW_BUCKET/images/free.img"
t1=$(date +%s.%N)
push --quiet --part-size 5Mi --rate 20M "$T_DIR/rate.img" "s3://$RGW_BUCKET/images/rate.img"
t2=$(date +%s.%N)
free=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
limited=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }')
check "--rate 20M: never faster than 22 MB/s (${limited} s for 100 MB)" \
	awk -v t="$limited" 'BEGIN { exit !(t >= 100 / 22) }'
check "--rate 20M: adds at most 5.5 s to the ${free} s of an unlimited push (${limited} s)" \
	awk -v f="$free" -v t="$limited" 'BEGIN { exit !(t - f <= 5.5) }'

check_eq "no output ever shows the secret or the access key" "" \
	"$(cat "$T_DIR"/*.out "$T_DIR"/*.err | grep -F -e "$RGW_SECRET_KEY" -e "$RGW_ACCESS_KEY" || :)"
done_testing
