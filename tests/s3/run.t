#!/bin/bash
# ferry run, the unattended job, on this host against radosgw: a job from
# --cmdline (as the rescue system passes /proc/cmdline) captures a disk to
# s3://, reports KEY.status.json while it works and leaves KEY.log; a job
# file fetched over https with ${mac} in its URL; a pinned certificate; a
# wrong CA; ferry.break; a failed job's status. Secrets never printed.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"
. "$TESTS_DIR/s3/lib/rgw.sh"
. "$TESTS_DIR/s3/lib/job.sh"

plan 35

rgw_start || { not_ok "radosgw starts"; done_testing; exit 1; }
ok "radosgw starts ($RGW_HTTPS)"
job_setup
common="ferry.source=$disk ferry.endpoint=$RGW_HTTPS ferry.region=$RGW_REGION ferry.ca=$RGW_CA ferry.credentials=$creds"
json_field() { /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]])' "$@"; }

# The machine's ${mac}, as ferry sees it.
mac=$("$FERRY" run --dry-run --cmdline "ferry.target=x" | sed -n 's/^variables: mac=\([^ ]*\) .*/\1/p')
check "this machine has a MAC address for \${mac} ($mac)" test "${#mac}" = 17

rc=0
"$FERRY" run --dry-run --cmdline "quiet $common ferry.target=s3://$RGW_BUCKET/run/\${mac}.qcow2 ferry.after=reboot" \
	>"$T_DIR/dry.out" 2>&1 || rc=$?
check_eq "--dry-run exits 0" "0" "$(rc_err "$rc" "$T_DIR/dry.out")"
check_match "and shows the capture it would run, \${mac} filled in" \
	"would run: ferry capture --endpoint $RGW_HTTPS --region $RGW_REGION --credentials $creds --ca $RGW_CA $disk s3://$RGW_BUCKET/run/$mac.qcow2" \
	"$(cat "$T_DIR/dry.out")"
check_match "then reboot; on failure a shell" "then: reboot; on failure: shell" "$(cat "$T_DIR/dry.out")"
check_eq "--dry-run stored nothing" "" "$(rgw_keys)"

# A real job: rate-limited so that its reports can be watched.
rc=0
"$FERRY" run --cmdline "BOOT_IMAGE=/vmlinuz $common ferry.target=s3://$RGW_BUCKET/run/\${mac}.qcow2 ferry.format=qcow2 ferry.rate=3M ferry.status_interval=1 ferry.after=shell" \
	>"$T_DIR/run.out" 2>&1 &
pid=$!
seen=""
for _ in $(seq 1 60); do
	if rgw_get "run/$mac.qcow2.status.json" "$T_DIR/st.json" 2>/dev/null &&
		[ "$(json_field "$T_DIR/st.json" state)" = running ] &&
		[ "$(json_field "$T_DIR/st.json" phase)" = capture ] &&
		[ "$(json_field "$T_DIR/st.json" done_bytes)" -gt 0 ]; then
		seen="$(json_field "$T_DIR/st.json" percent)% $(json_field "$T_DIR/st.json" rate)"
		break
	fi
	sleep 0.5
done
wait "$pid" || rc=$?
check_eq "ferry run exits 0 (ferry.after=shell)" "0" "$(rc_err "$rc" "$T_DIR/run.out")"
check "while it ran, KEY.status.json said capture, running, with a percent and a rate ($seen)" \
	test -n "$seen"
check_eq "the image is the local capture's" "$want" "$(rgw_sha256 "run/$mac.qcow2")"
check_eq "the source is unchanged" "$src_sha" "$(sha "$disk")"
rgw_get "run/$mac.qcow2.status.json" "$T_DIR/st.json"
check_eq "the last status: done, phase done, 100 %" "done done 100" \
	"$(json_field "$T_DIR/st.json" state) $(json_field "$T_DIR/st.json" phase) $(json_field "$T_DIR/st.json" percent)"
rgw_get "run/$mac.qcow2.log" "$T_DIR/run.log"
check_match "KEY.log holds what ferry printed, to the end" "captured $disk.*ferry: done" \
	"$(tr '\n' ' ' <"$T_DIR/run.log")"
check "the manifest is there too" rgw_get "run/$mac.qcow2.ferry.json" "$T_DIR/m.json"
check_match "the console showed the same" "ferry: done" "$(cat "$T_DIR/run.out")"

# A job file over https, its URL holding ${mac}: a presigned GET of jobs/MAC.conf.
printf '# rack 4\ntarget = s3://%s/run/from-config.raw\nformat=raw\nafter=shell\n' "$RGW_BUCKET" >"$T_DIR/job.conf"
rgw_py 's3.upload_file(sys.argv[1], bucket, sys.argv[2])' "$T_DIR/job.conf" "jobs/$mac.conf"
url=$(rgw_py 'print(s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": sys.argv[1]}, ExpiresIn=600))' "jobs/$mac.conf")
# (boto3 writes the colons as %3A; ferry sends them as they are.)
templ=${url//${mac//:/%3A}/\$\{mac\}}
check_match "the job URL is written with \${mac}" '\$\{mac\}' "$templ"
rc=0
"$FERRY" run --cmdline "$common ferry.config=$templ" >"$T_DIR/cfg.out" 2>&1 || rc=$?
check_eq "ferry.config over https: exits 0" "0" "$(rc_err "$rc" "$T_DIR/cfg.out")"
"$FERRY" capture --quiet --format raw "$disk" "$T_DIR/local.raw"
check_eq "the job file's target and format were used" "$(sha "$T_DIR/local.raw")" \
	"$(rgw_sha256 run/from-config.raw)"
check_eq "the job URL's signature is printed nowhere" "" \
	"$(grep -F -e X-Amz-Signature -e X-Amz-Credential "$T_DIR/cfg.out" || :)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=other -keyout "$T_DIR/o.key" -out "$T_DIR/other.pem" >/dev/null 2>&1
check_fails "a job URL whose server the CA does not know: the reason" 1 \
	"ferry.config: GET https://127.0.0.1:[0-9]+/$RGW_BUCKET/jobs/$mac.conf\?\.\.\.: .*not trusted" \
	"$FERRY" run --cmdline "ferry.ca=$T_DIR/other.pem ferry.config=$templ"

# ferry.ca=sha256:HEX trusts exactly the server's certificate.
pin=$(openssl x509 -in "$(dirname "$RGW_CA")/server.pem" -outform DER | sha256sum | cut -d' ' -f1)
rc=0
"$FERRY" run --cmdline "$common ferry.ca=sha256:$pin ferry.target=s3://$RGW_BUCKET/run/pinned.qcow2 ferry.after=shell" \
	>"$T_DIR/pin.out" 2>&1 || rc=$?
check_eq "a pinned server certificate: exits 0" "0" "$(rc_err "$rc" "$T_DIR/pin.out")"
if [ "${pin:0:1}" = 0 ]; then bad=1${pin:1}; else bad=0${pin:1}; fi
check_fails "another pin: refused" 1 "not the pinned one" \
	"$FERRY" push --endpoint "$RGW_HTTPS" --ca "sha256:$bad" --credentials "$creds" \
	"$T_DIR/local.raw" "s3://$RGW_BUCKET/run/x.raw"

rc=0
"$FERRY" run --cmdline "$common ferry.target=s3://$RGW_BUCKET/run/b.qcow2 ferry.break=capture" \
	>"$T_DIR/brk.out" 2>&1 || rc=$?
check_eq "ferry.break=capture stops with exit 5" "5" "$rc"
check_eq "before anything is captured" "" "$(rgw_keys | grep '^run/b.qcow2 ' || :)"

rc=0
"$FERRY" run --cmdline "$common ferry.target=s3://$RGW_BUCKET/run/f.qcow2 ferry.fix=nosuchfix ferry.status_interval=1" \
	>"$T_DIR/fail.out" 2>&1 || rc=$?
check_eq "a job that fails: exit 1 (ferry.on_fail=shell)" "1" "$rc"
rgw_get run/f.qcow2.status.json "$T_DIR/f.json"
check_eq "its status says failed, with the reason" "failed failed" \
	"$(json_field "$T_DIR/f.json" state) $(json_field "$T_DIR/f.json" phase)"
check_match "the reason" "the capture failed \(exit 2\)" "$(json_field "$T_DIR/f.json" error)"
# A disk with no system on it: the checks stop the job at once (no retry),
# and ferry.force=1 captures it anyway.
fx_filled_disk "$T_DIR/data.img" 8
rc=0
"$FERRY" run --cmdline "$common ferry.source=$T_DIR/data.img ferry.target=s3://$RGW_BUCKET/run/data.raw ferry.format=raw ferry.on_fail=retry ferry.status_interval=1" \
	>"$T_DIR/blk.out" 2>&1 || rc=$?
check_eq "a blocker (root.missing): exit 1, without a retry" "1 0" \
	"$rc $(grep -c 'trying again' "$T_DIR/blk.out")"
check_match "the console shows the check phase and the blocker" \
	"ferry: check.*root.missing.*the checks found a blocker" "$(tr '\n' ' ' <"$T_DIR/blk.out")"
rgw_get run/data.raw.status.json "$T_DIR/blk.json"
check_match "its status: failed, with the reason" "failed: .*ferry.force=1" \
	"$(json_field "$T_DIR/blk.json" state): $(json_field "$T_DIR/blk.json" error)"
check_eq "nothing stored" "" "$(rgw_keys | grep '^run/data.raw ' || :)"
rc=0
"$FERRY" run --cmdline "$common ferry.source=$T_DIR/data.img ferry.target=s3://$RGW_BUCKET/run/data.raw ferry.format=raw ferry.force=1" \
	>"$T_DIR/force.out" 2>&1 || rc=$?
check_eq "ferry.force=1: exits 0" "0" "$(rc_err "$rc" "$T_DIR/force.out")"
rgw_get run/data.raw.ferry.json "$T_DIR/data.ferry.json"
check "its manifest's checks are valid against docs/check.schema.json" \
	/usr/bin/python3 "$TESTS_DIR/lib/schema.py" "$T_DIR/data.ferry.json" capture_checks checks
check_eq "and say forced, with root.missing in the image check" "True root.missing" \
	"$(/usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["checks"]; print(c["forced"], " ".join(f["code"] for f in c["after"]["findings"] if f["severity"] == "blocker"))' "$T_DIR/data.ferry.json")"
check "the first job's manifest: checks valid, the image check without a blocker" \
	/usr/bin/python3 -c 'import json,sys,subprocess
c = json.load(open(sys.argv[1]))["checks"]
subprocess.run(["/usr/bin/python3", sys.argv[2], sys.argv[1], "capture_checks", "checks"], check=True)
sys.exit(c["after"]["blockers"] != 0 or c["forced"])' "$T_DIR/m.json" "$TESTS_DIR/lib/schema.py"

check_eq "no output, log or status shows the secret or the access key" "" \
	"$(cat "$T_DIR"/*.out "$T_DIR"/*.log "$T_DIR"/*.json | grep -F -e "$RGW_SECRET_KEY" -e "$RGW_ACCESS_KEY" || :)"
done_testing
