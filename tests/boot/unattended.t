#!/bin/bash
# The rescue system, unattended, as on a physical server: the PXE kernel and
# initrd boot in qemu with the source disk on IDE and an e1000 NIC; the job
# comes from the kernel command line (and once from ferry.config over https
# with ${mac}); the credentials and the CA come in a second initrd (a cpio
# appended to Ferry's). The image goes to radosgw on this host, reached at
# 10.0.2.2 through qemu's user networking with ferry.resolve so the
# certificate's name matches. The VM must power off by itself. A VM stopped
# in the middle of its upload leaves the source as it was, and the same job
# run again takes the upload up where it was.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"
. "$TESTS_DIR/s3/lib/rgw.sh"

images=${FERRY_IMAGES:-$(dirname "$FERRY")/../images}
kernel=$images/pxe/vmlinuz
initrd=$images/pxe/initrd.img
if [ ! -f "$kernel" ] || [ ! -f "$initrd" ]; then
	echo "1..0 # SKIP no rescue images in $images (a static build makes them)"
	exit 0
fi

plan 20

rgw_start || { not_ok "radosgw starts"; done_testing; exit 1; }
ok "radosgw starts ($RGW_HOST_HTTPS)"
port=$RGW_HTTPS_PORT
disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")
"$FERRY" capture --quiet --format qcow2 "$disk" "$T_DIR/local.qcow2"
want=$(sha "$T_DIR/local.qcow2")

# The operator's own files, as a second initrd appended to Ferry's.
mkdir -p "$T_DIR/extra/etc/ferry"
rgw_credentials "$T_DIR/extra/etc/ferry/credentials"
cp "$RGW_CA" "$T_DIR/extra/etc/ferry/ca.pem"
# with_extra: Ferry's initrd, zeros to a 4-byte boundary (where the kernel
# looks for the next archive), then a cpio of $T_DIR/extra.
with_extra() {
	(cd "$T_DIR/extra" && find . | cpio -o -H newc -R 0:0 --quiet) >"$T_DIR/extra.cpio"
	cp "$initrd" "$T_DIR/initrd+extra.img"
	truncate -s %4 "$T_DIR/initrd+extra.img"
	cat "$T_DIR/extra.cpio" >>"$T_DIR/initrd+extra.img"
}
with_extra

# vm LOG APPEND: boots the rescue system like a physical server; returns
# when qemu exits (the job powers the VM off) or after 300 s.
vm() {
	local log=$1 append=$2 t0=$SECONDS
	qemu-system-x86_64 -accel "${FERRY_QEMU_ACCEL:-tcg}" -machine pc -m 1024 \
		-nodefaults -display none -no-reboot -serial "file:$log" \
		-kernel "$kernel" -initrd "$T_DIR/initrd+extra.img" -append "console=ttyS0 $append" \
		-drive "file=$disk,if=ide,format=raw,snapshot=on" \
		-netdev user,id=n0 -device e1000,netdev=n0,mac=52:54:00:12:34:56 \
		</dev/null >"$log.qemu" 2>&1 &
	VM_PID=$!
	while kill -0 "$VM_PID" 2>/dev/null && [ $((SECONDS - t0)) -lt 300 ]; do
		sleep 1
	done
	if kill -0 "$VM_PID" 2>/dev/null; then
		kill "$VM_PID"
		wait "$VM_PID" 2>/dev/null || :
		VM_SECS=timeout
		return 1
	fi
	wait "$VM_PID" || :
	VM_SECS=$((SECONDS - t0))
}
tail_of() { tr -d '\r' <"$1" | tail -n 15 | sed 's/^/#   /'; }
common="ferry.endpoint=https://s3.test:$port ferry.resolve=s3.test:10.0.2.2 ferry.region=$RGW_REGION ferry.ca=/etc/ferry/ca.pem ferry.credentials=/etc/ferry/credentials ferry.status_interval=2"

# 1. The job on the command line.
if vm "$T_DIR/a.log" "$common ferry.source=/dev/sda ferry.target=s3://$RGW_BUCKET/vm/a.qcow2"; then
	ok "the VM powered off by itself after $VM_SECS s"
else
	not_ok "the VM powered off by itself (still running after 300 s)"
	tail_of "$T_DIR/a.log"
fi
check_match "the console shows ferry ready, then done" "ferry ready.*ferry: done.*powering off" \
	"$(tr -d '\r' <"$T_DIR/a.log" | tr '\n' ' ')"
check_eq "the downloaded image equals a capture made on the host" "$want" "$(rgw_sha256 vm/a.qcow2)"
rgw_get vm/a.qcow2.status.json "$T_DIR/a.json" 2>/dev/null || :
check_eq "KEY.status.json ends in done" "done" \
	"$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$T_DIR/a.json" 2>&1)"
check "KEY.log is there" rgw_get vm/a.qcow2.log "$T_DIR/a.vmlog"
check_eq "the manifest's SHA-256 is the image's" "$want" \
	"$(rgw_py 'import json; print(json.loads(s3.get_object(Bucket=bucket, Key="vm/a.qcow2.ferry.json")["Body"].read())["sha256"])')"
check_eq "the source disk is unchanged" "$src_sha" "$(sha "$disk")"
check_eq "the console never showed the secret" "" \
	"$(grep -a -F -e "$RGW_SECRET_KEY" "$T_DIR/a.log" "$T_DIR/a.vmlog" || :)"

# 2. The job from ferry.config over https, ${mac} in its URL.
mac=52:54:00:12:34:56
printf 'source=auto\ntarget=s3://%s/vm/by-mac.raw\nformat=raw\n' "$RGW_BUCKET" >"$T_DIR/job.conf"
rgw_py 's3.upload_file(sys.argv[1], bucket, sys.argv[2])' "$T_DIR/job.conf" "jobs/$mac.conf"
url=$(rgw_py 'c = client(endpoint=sys.argv[2])
print(c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": sys.argv[1]}, ExpiresIn=900))' \
	"jobs/$mac.conf" "$RGW_HOST_HTTPS")
templ=${url//${mac//:/%3A}/\$\{mac\}}
check_match "the job URL names \${mac}" '\$\{mac\}' "$templ"
vm "$T_DIR/b.log" "$common ferry.config=$templ" || :
"$FERRY" capture --quiet --format raw "$disk" "$T_DIR/local.raw"
check_eq "ferry.config with \${mac}: the job file's target and format were used" \
	"$(sha "$T_DIR/local.raw")" "$(rgw_sha256 vm/by-mac.raw 2>/dev/null)"
check_match "and the VM powered off" "powering off" "$(tr -d '\r' <"$T_DIR/b.log")"

# 3. The VM stopped in the middle of the upload (qemu quit, as a power cut
# would): the source is unchanged, and the same job run again takes up the
# upload, sending only the parts that are not stored yet.
job="$common ferry.source=/dev/sda ferry.target=s3://$RGW_BUCKET/vm/cut.qcow2 ferry.rate=4M ferry.part_size=5Mi ferry.parallel=1"
vm "$T_DIR/d.log" "$job" &
vm_bg=$!
stored=$(rgw_py 'import time
for _ in range(600):
    ups = [u for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) if u["Key"] == sys.argv[1]]
    parts = s3.list_parts(Bucket=bucket, Key=sys.argv[1], UploadId=ups[0]["UploadId"]).get("Parts", []) if ups else []
    if len(parts) >= 3:
        break
    time.sleep(0.3)
print(len(parts))' vm/cut.qcow2 2>&1)
pkill -TERM -f "file:$T_DIR/d.log" || :
wait "$vm_bg" || :
check "qemu quit with $stored parts of the upload stored" test "$stored" -ge 3 2>/dev/null
check_eq "... the source disk is unchanged" "$src_sha" "$(sha "$disk")"
if vm "$T_DIR/e.log" "$job"; then
	ok "the same job, run again, powered off by itself after $VM_SECS s"
else
	not_ok "the same job, run again, powered off by itself" "$VM_SECS"
	tail_of "$T_DIR/e.log"
fi
reused=$(tr -d '\r' <"$T_DIR/e.log" | sed -n 's/.*resumed: \([0-9]*\) stored parts\{0,1\} not sent again.*/\1/p')
check "... took up the upload: ${reused:-no} stored parts not sent again (at least $stored)" \
	test "${reused:-0}" -ge "${stored:-1}"
check_eq "... and the object is the host's capture" "$want" "$(rgw_sha256 vm/cut.qcow2 2>/dev/null)"

# 4. A CA that does not sign the server: the reason on the console, then
# ferry.on_fail=poweroff.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=other -keyout "$T_DIR/o.key" -out "$T_DIR/extra/etc/ferry/other.pem" >/dev/null 2>&1
with_extra
if vm "$T_DIR/c.log" "${common/ferry.ca=\/etc\/ferry\/ca.pem/ferry.ca=/etc/ferry/other.pem} ferry.config=$templ ferry.on_fail=poweroff"; then
	ok "a wrong CA with ferry.on_fail=poweroff: the VM powered off ($VM_SECS s)"
else
	not_ok "a wrong CA with ferry.on_fail=poweroff: the VM powered off"
	tail_of "$T_DIR/c.log"
fi
check_match "the console says why" "ferry.config: GET https://s3.test:$port/.*not trusted" \
	"$(tr -d '\r' <"$T_DIR/c.log")"
check_eq "the source disk is still unchanged" "$src_sha" "$(sha "$disk")"
done_testing
