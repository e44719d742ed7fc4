#!/bin/bash
# ferry capture straight to storage, no staging file: an S3 multipart upload
# with parallel parts and a presigned PUT, both read back with boto3 and
# compared with a local capture of the same disk; the manifest beside the
# image; the 5 GiB limit of one PUT; the source never written.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"
. "$TESTS_DIR/s3/lib/rgw.sh"

plan 51

rgw_start || { not_ok "radosgw starts"; done_testing; exit 1; }
ok "radosgw starts ($RGW_HTTPS)"
export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")
cap() { "$FERRY" capture --endpoint "$RGW_HTTPS" --region "$RGW_REGION" --ca "$RGW_CA" "$@"; }
rc_err() { if [ "$1" = 0 ]; then echo 0; else echo "$1 $(cat "$2")"; fi; }
json_get() { /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d = d[int(k)] if isinstance(d, list) else d[k]
print(d)' "$@"; }

# The reference: the same disk captured to a local file. Two captures of
# one source are byte-identical, fixes included.
"$FERRY" capture --quiet --format qcow2 "$disk" "$T_DIR/local.qcow2"
"$FERRY" capture --quiet --format raw "$disk" "$T_DIR/local.raw"
want_q=$(sha "$T_DIR/local.qcow2")
want_r=$(sha "$T_DIR/local.raw")

rc=0
cap --format qcow2 --part-size 5Mi --parallel 3 "$disk" "s3://$RGW_BUCKET/vm/a.qcow2" \
	>"$T_DIR/a.out" 2>"$T_DIR/a.err" || rc=$?
check_eq "capture to s3:// exits 0" "0" "$(rc_err "$rc" "$T_DIR/a.err")"
check_eq "boto3 reads back the local capture's bytes" "$want_q" "$(rgw_sha256 vm/a.qcow2)"
check_eq "the source is unchanged" "$src_sha" "$(sha "$disk")"
check_eq "no multipart upload is left open" "" "$(rgw_uploads)"
check_match "the report gives the SHA-256 and the part count" \
	"upload: sha256 $want_q, [0-9]+ parts of 5.0 MiB; manifest s3://$RGW_BUCKET/vm/a.qcow2.ferry.json" \
	"$(cat "$T_DIR/a.out")"
check_match "progress counts what is stored (label upload)" "upload.*100%" "$(cat "$T_DIR/a.err")"
rgw_get vm/a.qcow2.ferry.json "$T_DIR/a.json"
check_eq "manifest: format, virtual size, file size, SHA-256" \
	"qcow2 $((FX_END * FX_SECTOR)) $(stat -c %s "$T_DIR/local.qcow2") $want_q" \
	"$(json_get "$T_DIR/a.json" format) $(json_get "$T_DIR/a.json" virtual_size) $(json_get "$T_DIR/a.json" file_size) $(json_get "$T_DIR/a.json" sha256)"
check_eq "manifest: the source and its partitions" "$disk 5 msdos" \
	"$(json_get "$T_DIR/a.json" source) $(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["partitions"]))' "$T_DIR/a.json") $(json_get "$T_DIR/a.json" table)"
"$FERRY" capture --json --format qcow2 "$disk" "$T_DIR/again.qcow2" >"$T_DIR/local.json" 2>/dev/null
check_eq "manifest: the fixes, as the local capture's report lists them" \
	"$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["fixes"], sort_keys=True))' "$T_DIR/local.json")" \
	"$(/usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["fixes"], sort_keys=True))' "$T_DIR/a.json")"
check "manifest: the fixes made at least one change" test \
	"$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["fixes"]["changes"]))' "$T_DIR/a.json")" -gt 0
check_eq "qemu-img check of the download is clean" "0" \
	"$(rgw_get vm/a.qcow2 "$T_DIR/a.dl" && qemu-img check -q "$T_DIR/a.dl" >/dev/null 2>&1; echo $?)"

rc=0
cap --json --format raw --parallel 1 "$disk" "s3://$RGW_BUCKET/vm/b.raw" >"$T_DIR/b.json" \
	2>"$T_DIR/b.err" || rc=$?
check_eq "raw to s3:// with one connection: exits 0" "0" "$(rc_err "$rc" "$T_DIR/b.err")"
check_eq "--json: upload.sha256 is the local raw capture's" "$want_r" \
	"$(json_get "$T_DIR/b.json" upload sha256)"
check_eq "boto3 agrees" "$want_r" "$(rgw_sha256 vm/b.raw)"

# Compressed qcow2: one pass, as into a local file. Its tables are made
# last, into the room left before the data; the upload holds that room
# back as part 1, sends it after every other part, and reads the object
# back for its SHA-256. The object equals the local compressed capture.
"$FERRY" capture --quiet --format qcow2 --compress zstd "$disk" "$T_DIR/local.zst.qcow2"
want_z=$(sha "$T_DIR/local.zst.qcow2")
rc=0
cap --format qcow2 --compress zstd --part-size 5Mi "$disk" "s3://$RGW_BUCKET/vm/z.qcow2" \
	>"$T_DIR/z.out" 2>"$T_DIR/z.err" || rc=$?
check_eq "compressed qcow2 to s3:// exits 0" "0" "$(rc_err "$rc" "$T_DIR/z.err")"
check_eq "boto3 reads back the local compressed capture's bytes" "$want_z" "$(rgw_sha256 vm/z.qcow2)"
check "and it is smaller than the uncompressed one" test \
	"$(stat -c %s "$T_DIR/local.zst.qcow2")" -lt "$(stat -c %s "$T_DIR/local.qcow2")"
zparts=$(( ($(stat -c %s "$T_DIR/local.zst.qcow2") + 5 * 1048576 - 1) / (5 * 1048576) ))
check_eq "... in one pass (no sizing pass; the manifest's read_bytes = data_bytes, its SHA-256 the local file's), in $zparts parts" \
	"0 1 $want_z $zparts" \
	"$(tr '\r' '\n' <"$T_DIR/z.err" | grep -c '^sizing') $(rgw_py 'import json; m = json.loads(s3.get_object(Bucket=bucket, Key="vm/z.qcow2.ferry.json")["Body"].read()); print(int(m["read_bytes"] == m["data_bytes"] > 0), m["sha256"], m["upload"]["parts"])')"
check "more than one part, so part 1 went out of order" test "$zparts" -ge 2
check_match "the object is read back for its SHA-256, with progress" "readback.*100%" \
	"$(cat "$T_DIR/z.err")"
check_match "the report gives that SHA-256" "upload: sha256 $want_z, $zparts parts" "$(cat "$T_DIR/z.out")"
check_eq "qemu-img compare: the compressed object holds the raw capture's disk" "0" \
	"$(rgw_get vm/z.qcow2 "$T_DIR/z.dl" && qemu-img compare -q -f qcow2 -F raw "$T_DIR/z.dl" "$T_DIR/local.raw" >/dev/null 2>&1; echo $?)"

# A disk whose tables need more room than a part: 400 GiB, nearly empty,
# the filesystem's metadata in every 2 GiB, so an L2 table for each. Part
# 1 is then the room, longer than the others.
wide=$T_DIR/wide.img
mkdir -p "$T_DIR/widetree/etc"
echo "LABEL=wideroot / ext4 defaults 0 1" >"$T_DIR/widetree/etc/fstab"
truncate -s $(((400 << 30) + (1 << 20))) "$wide"
echo "start=2048, type=83" | sfdisk -q "$wide"
mke2fs -q -F -t ext4 -L wideroot -E offset=1048576,lazy_itable_init=1,lazy_journal_init=1 \
	-d "$T_DIR/widetree" "$wide" 400G
wide_sha=$(sha_extents "$wide")
"$FERRY" capture --quiet --format qcow2 --compress zstd "$wide" "$T_DIR/wide.qcow2"
# where the last L2 table ends, by the header and the L1 table
room=$(python3 -c 'import struct, sys
f = open(sys.argv[1], "rb"); h = f.read(48)
bits, n, at = struct.unpack(">I", h[20:24])[0], struct.unpack(">I", h[36:40])[0], struct.unpack(">Q", h[40:48])[0]
f.seek(at); l1 = struct.unpack(">%dQ" % n, f.read(8 * n))
print(max(e & 0x00fffffffffffe00 for e in l1) + (1 << bits))' "$T_DIR/wide.qcow2")
rc=0
cap --quiet --format qcow2 --compress zstd --part-size 5Mi "$wide" "s3://$RGW_BUCKET/vm/wide.qcow2" \
	2>"$T_DIR/wide.err" || rc=$?
check "the tables of a 400 GiB disk end past a part: at $room bytes" test "$room" -gt $((5 << 20))
check_eq "... to s3://: exit 0, the local capture's bytes, the source unchanged" \
	"0 $(sha "$T_DIR/wide.qcow2") $wide_sha" "$(rc_err "$rc" "$T_DIR/wide.err") $(rgw_sha256 vm/wide.qcow2) $(sha_extents "$wide")"
rm -f "$wide" "$T_DIR/wide.qcow2"

# Killed in the middle, then run again: the parts stored are taken up (the
# same data, cut the same way); part 1, sent last, is sent now.
"$FERRY" capture --endpoint "$RGW_HTTPS" --region "$RGW_REGION" --ca "$RGW_CA" --quiet \
	--format qcow2 --compress zstd --part-size 5Mi --parallel 1 --rate 4M "$disk" \
	"s3://$RGW_BUCKET/vm/kz.qcow2" 2>"$T_DIR/kz1.err" &
rgw_kill_at_parts $! vm/kz.qcow2 1
upload=$RGW_UPLOAD
stored=$(rgw_parts_settled vm/kz.qcow2 "$upload")
first=$(rgw_parts vm/kz.qcow2 "$upload" | awk '$1 == 1' | wc -l)
rc=0
cap --format qcow2 --compress zstd --part-size 5Mi "$disk" "s3://$RGW_BUCKET/vm/kz.qcow2" \
	>"$T_DIR/kz2.out" 2>"$T_DIR/kz2.err" || rc=$?
check_eq "a one-pass qcow2 upload killed after $stored parts (part 1 not among them: it goes last), run again: exit 0, the local bytes" \
	"0 0 $want_z" "$(rc_err "$rc" "$T_DIR/kz2.err") $first $(rgw_sha256 vm/kz.qcow2)"
check_match "... the stored parts not sent again" "resumed: $stored stored parts? not sent again" \
	"$(cat "$T_DIR/kz2.out")"

# Credentials that may write but not read: the image is stored whole, but
# its SHA-256 cannot be made; the capture fails saying so, with no manifest.
rgw_py 'import json
pol = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
       "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/vm/nz.qcow2" % bucket}]}
s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(pol))'
rc=0
cap --quiet --format qcow2 --compress zstd --part-size 5Mi "$disk" "s3://$RGW_BUCKET/vm/nz.qcow2" \
	2>"$T_DIR/nz.err" || rc=$?
rgw_py 's3.delete_bucket_policy(Bucket=bucket)'
check_eq "GetObject denied: exit 1" "1" "$rc"
check_match "... one line naming the object and the reason" \
	"^ferry: s3://$RGW_BUCKET/vm/nz.qcow2: GET: HTTP 403 Forbidden: AccessDenied: the image is stored whole, but its SHA-256 \\(for the manifest\\) is made by reading it back, which these credentials may not \\(s3:GetObject\\)$" \
	"$(cat "$T_DIR/nz.err")"
check_eq "... the image is stored whole, no manifest beside it, no upload left open" \
	"$want_z " "$(rgw_sha256 vm/nz.qcow2) $(rgw_keys | grep -F vm/nz.qcow2.ferry.json || :)$(rgw_uploads | grep -F nz.qcow2 || :)"

# A streamOptimized VMDK goes up in one pass (its tables follow the data):
# the parts are cut as it is made, no sizing pass; the object is the local
# capture's bytes. A presigned PUT needs the length first: two passes, the
# same bytes.
"$FERRY" capture --quiet --format vmdk "$disk" "$T_DIR/local.vmdk"
rc=0
cap --format vmdk --part-size 5Mi "$disk" "s3://$RGW_BUCKET/vm/v.vmdk" >/dev/null 2>"$T_DIR/v.err" || rc=$?
check_eq "vmdk to s3:// exits 0; boto3 reads back the local capture's bytes" \
	"0 $(sha "$T_DIR/local.vmdk")" "$(rc_err "$rc" "$T_DIR/v.err") $(rgw_sha256 vm/v.vmdk)"
check_eq "... in one pass (no sizing pass shown; the manifest's read_bytes = data_bytes), in the parts the manifest counts" \
	"0 1 $(( ($(stat -c %s "$T_DIR/local.vmdk") + 5 * 1048576 - 1) / (5 * 1048576) ))" \
	"$(tr '\r' '\n' <"$T_DIR/v.err" | grep -c '^sizing') $(rgw_py 'import json; m = json.loads(s3.get_object(Bucket=bucket, Key="vm/v.vmdk.ferry.json")["Body"].read()); print(int(m["read_bytes"] == m["data_bytes"] > 0), m["upload"]["parts"])')"
# Killed in the middle of a one-pass upload, then run again: the parts are
# cut the same way (by the largest the image could be), so those stored are
# taken up, not sent again.
"$FERRY" capture --endpoint "$RGW_HTTPS" --region "$RGW_REGION" --ca "$RGW_CA" --quiet \
	--format vmdk --part-size 5Mi --parallel 1 --rate 4M "$disk" "s3://$RGW_BUCKET/vm/k.vmdk" \
	2>"$T_DIR/k1.err" &
rgw_kill_at_parts $! vm/k.vmdk 2
upload=$RGW_UPLOAD
stored=$(rgw_parts_settled vm/k.vmdk "$upload")
rc=0
cap --format vmdk --part-size 5Mi "$disk" "s3://$RGW_BUCKET/vm/k.vmdk" >"$T_DIR/k2.out" 2>"$T_DIR/k2.err" || rc=$?
check_eq "a one-pass vmdk upload killed after $stored parts, run again: exit 0, the local bytes" \
	"0 $(sha "$T_DIR/local.vmdk")" "$(rc_err "$rc" "$T_DIR/k2.err") $(rgw_sha256 vm/k.vmdk)"
check_match "... the stored parts not sent again" "resumed: $stored stored parts? not sent again" \
	"$(cat "$T_DIR/k2.out")"

url=$(rgw_presign_put vm/pv.vmdk 3600 "$RGW_HTTPS")
rc=0
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$FERRY" capture --json --format vmdk \
	--ca "$RGW_CA" "$disk" "$url" >"$T_DIR/pv.json" 2>"$T_DIR/pv.err" || rc=$?
check_eq "vmdk to a presigned URL: sized first (the source read twice: read_bytes = 2 x data_bytes), the same bytes" \
	"0 1 1 $(sha "$T_DIR/local.vmdk")" \
	"$(rc_err "$rc" "$T_DIR/pv.err" | head -1) $(tr '\r' '\n' <"$T_DIR/pv.err" | grep -c '^sizing') $(python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(int(d["read_bytes"] == 2 * d["data_bytes"] > 0))' "$T_DIR/pv.json") $(rgw_sha256 vm/pv.vmdk)"

# A presigned PUT: the URL carries its own signature; no credentials.
url=$(rgw_presign_put vm/p.qcow2 3600 "$RGW_HTTPS")
rc=0
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$FERRY" capture --format qcow2 \
	--ca "$RGW_CA" "$disk" "$url" >"$T_DIR/p.out" 2>"$T_DIR/p.err" || rc=$?
check_eq "capture to a presigned https:// URL exits 0" "0" "$(rc_err "$rc" "$T_DIR/p.err")"
check_eq "boto3 reads back the local capture's bytes" "$want_q" "$(rgw_sha256 vm/p.qcow2)"
check_match "the report gives the SHA-256 of what was sent" "upload: sha256 $want_q, 1 part of" \
	"$(cat "$T_DIR/p.out")"
check_match "the report names the URL without its signature" \
	"to $RGW_HTTPS/$RGW_BUCKET/vm/p.qcow2 as qcow2" "$(cat "$T_DIR/p.out")"
check_eq "no output shows the URL's signature or credential" "" \
	"$(grep -F -e "X-Amz-Signature" -e "X-Amz-Credential" -e "$RGW_ACCESS_KEY" "$T_DIR/p.out" "$T_DIR/p.err" || :)"
bad=$(printf '%s' "$url" | sed 's/X-Amz-Signature=./X-Amz-Signature=0/')
check_fails "a presigned URL with a wrong signature: the server's words" 1 \
	"PUT $RGW_HTTPS/$RGW_BUCKET/vm/q.qcow2: HTTP 403.*SignatureDoesNotMatch" \
	"$FERRY" capture --quiet --ca "$RGW_CA" "$disk" "$(printf '%s' "$bad" | sed 's|vm/p.qcow2|vm/q.qcow2|')"
check_eq "nothing is stored under the refused key" "" "$(rgw_keys | grep '^vm/q.qcow2' || :)"

# One PUT takes at most 5 GiB: a 6 GiB raw image is refused before anything
# is sent. (A data disk: --force past root.missing.)
big=$T_DIR/big.img
truncate -s 6G "$big"
echo "start=2048, type=83" | sfdisk -q "$big"
mke2fs -q -F -t ext4 -E offset=1048576 "$big" 1000000 >/dev/null
check_fails "a 6 GiB image to a presigned URL: refused, pointing to multipart" 1 \
	"one PUT takes at most 5 GiB: upload to s3://BUCKET/KEY with --endpoint instead" \
	"$FERRY" capture --quiet --no-fix --force --format raw --ca "$RGW_CA" "$big" \
	"$(rgw_presign_put vm/big.raw 3600 "$RGW_HTTPS")"
check_eq "nothing is stored for it" "" "$(rgw_keys | grep '^vm/big' || :)"

check_fails "s3:// without --endpoint: a usage error" 2 "--endpoint URL is needed" \
	"$FERRY" capture "$disk" "s3://$RGW_BUCKET/vm/c.qcow2"
check_fails "--rate on a local target: a usage error" 2 "are for s3:// and https:// targets" \
	"$FERRY" capture --rate 1M "$disk" "$T_DIR/c.qcow2"
check_fails "plain http:// is refused" 1 "use an https:// URL" \
	"$FERRY" capture "$disk" "${RGW_HTTP}/$RGW_BUCKET/vm/c.qcow2"
check_fails "an http:// endpoint: a usage error, before anything is read" 2 \
	"--endpoint $RGW_HTTP: plain HTTP would send the image and its signed requests in the clear" \
	"$FERRY" capture --endpoint "$RGW_HTTP" --region "$RGW_REGION" "$disk" "s3://$RGW_BUCKET/vm/h.qcow2"
rc=0
"$FERRY" capture --quiet --insecure --endpoint "$RGW_HTTP" --region "$RGW_REGION" "$disk" \
	"s3://$RGW_BUCKET/vm/h.qcow2" 2>"$T_DIR/h.err" || rc=$?
check_eq "... which --insecure accepts (with its warning): the same bytes stored" \
	"0 $want_q" "$(rc_err "$rc" "$T_DIR/h.err") $(rgw_sha256 vm/h.qcow2)"
check_eq "the source is still unchanged" "$src_sha" "$(sha "$disk")"
check_eq "no output or manifest shows the secret or the access key" "" \
	"$(cat "$T_DIR"/*.out "$T_DIR"/*.err "$T_DIR"/*.json | grep -F -e "$RGW_SECRET_KEY" -e "$RGW_ACCESS_KEY" || :)"
done_testing
