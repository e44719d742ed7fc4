#!/bin/bash
# Secrets stay secret: ferry run and ferry capture with the S3 key pair in
# a credentials file, a proxy that wants a password (with and without a
# scheme, holding a blank, an apostrophe or a double quote), a job file
# fetched by a presigned URL (its query signed) and a presigned PUT as the
# target. Every channel the jobs write -- the console, KEY.log,
# KEY.status.json, the manifest, capture --json -- is searched for every
# secret, and none is there; each job is first shown to have worked, and
# to have gone through the proxy, so that an empty search means something.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"
. "$TESTS_DIR/s3/lib/rgw.sh"
. "$TESTS_DIR/s3/lib/job.sh"
. "$TESTS_DIR/s3/lib/faultproxy.sh"

plan 16

rgw_start || { not_ok "radosgw starts"; done_testing; exit 1; }
ok "radosgw starts ($RGW_HTTPS)"
job_setup
# The signature of a presigned URL: what makes it a secret.
signature() { sed -n 's/.*[?&]X-Amz-Signature=\([0-9a-f]*\).*/\1/p' <<<"$1"; }
# found FILE... : the lines of FILEs that hold any of the secrets listed.
found() { grep -F -f "$T_DIR/secrets" "$@" || :; }
# stored_via_proxy LABEL RC OUTPUT KEY TUNNELS: the job exited 0, KEY holds
# the local capture's bytes, and at least TUNNELS went through the proxy.
stored_via_proxy() {
	check_eq "$1: exits 0, the image stored is the local capture's" "0 $want" \
		"$(rc_err "$2" "$3") $(rgw_sha256 "$4")"
	check "$1: it went through the proxy ($(fp_stat tunnels) tunnels)" test "$(fp_stat tunnels)" -ge "$5"
}
# secrets_for PASSWORD URL: a proxy that wants ferry:PASSWORD (FP_PORT);
# the list of what must not be seen: the key pair, the password and URL's
# signature.
secrets_for() {
	fp_start --require-auth "ferry:$1" || return 1
	printf '%s\n' "$RGW_SECRET_KEY" "$RGW_ACCESS_KEY" "$1" "$(signature "$2")" >"$T_DIR/secrets"
}

# 1. ferry run from the kernel command line: the proxy with a scheme and a
# password with a blank and an apostrophe; the job file behind a presigned
# GET; into s3://, with its log, status and manifest beside the image.
pass1="pa ss'wd1"
printf 'target = s3://%s/sec/a.qcow2\nstatus_interval = 1\nafter = shell\n' "$RGW_BUCKET" \
	>"$T_DIR/job.conf"
rgw_py 's3.upload_file(sys.argv[1], bucket, "jobs/a.conf")' "$T_DIR/job.conf"
config=$(rgw_py 'print(s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "jobs/a.conf"}, ExpiresIn=600))')
secrets_for "$pass1" "$config" || { not_ok "the proxy starts"; done_testing; exit 1; }
rc=0
"$FERRY" run --cmdline "ferry.source=$disk ferry.endpoint=$RGW_HTTPS ferry.region=$RGW_REGION ferry.ca=$RGW_CA ferry.credentials=$creds \"ferry.proxy=http://ferry:$pass1@127.0.0.1:$FP_PORT\" ferry.config=$config" \
	>"$T_DIR/a.console" 2>&1 || rc=$?
stored_via_proxy "run 1" "$rc" "$T_DIR/a.console" sec/a.qcow2 2
rgw_get sec/a.qcow2.log "$T_DIR/a.log"
rgw_get sec/a.qcow2.status.json "$T_DIR/a.status.json"
rgw_get sec/a.qcow2.ferry.json "$T_DIR/a.manifest.json"
check_match "run 1: the console names the proxy, its user part hidden" \
	"\.\.\.@127\.0\.0\.1:$FP_PORT" "$(cat "$T_DIR/a.console")"
check_eq "run 1: no secret on the console" "" "$(found "$T_DIR/a.console")"
check_eq "run 1: none in KEY.log" "" "$(found "$T_DIR/a.log")"
check_eq "run 1: none in KEY.status.json" "" "$(found "$T_DIR/a.status.json")"
check_eq "run 1: none in the manifest" "" "$(found "$T_DIR/a.manifest.json")"

# 2. ferry run into a presigned PUT, the proxy given without a scheme.
pass2="blank and 'quote' 2"
put=$(rgw_presign_put sec/b.qcow2 600 "$RGW_HTTPS")
secrets_for "$pass2" "$put" || { not_ok "the proxy starts again"; done_testing; exit 1; }
rc=0
"$FERRY" run --cmdline "ferry.source=$disk ferry.ca=$RGW_CA \"ferry.proxy=ferry:$pass2@127.0.0.1:$FP_PORT\" ferry.target=$put ferry.after=shell" \
	>"$T_DIR/b.console" 2>&1 || rc=$?
stored_via_proxy "run 2" "$rc" "$T_DIR/b.console" sec/b.qcow2 1
check_eq "run 2: no secret on the console" "" "$(found "$T_DIR/b.console")"

# 3. ferry capture --json into a presigned PUT, a double quote in the
# proxy's password (a shell word: the kernel command line cannot carry it).
pass3='dq"uote and blank'
put=$(rgw_presign_put sec/c.qcow2 600 "$RGW_HTTPS")
secrets_for "$pass3" "$put" || { not_ok "the proxy starts a third time"; done_testing; exit 1; }
rc=0
"$FERRY" capture --json --ca "$RGW_CA" --proxy "ferry:$pass3@127.0.0.1:$FP_PORT" "$disk" "$put" \
	>"$T_DIR/c.json" 2>"$T_DIR/c.err" || rc=$?
stored_via_proxy "capture --json" "$rc" "$T_DIR/c.err" sec/c.qcow2 1
check_eq "capture --json: no secret in the JSON or on stderr" "" \
	"$(found "$T_DIR/c.json" "$T_DIR/c.err")"
check_eq "the search finds a secret where it is (the credentials file: both keys)" "2" \
	"$(found "$creds" | wc -l)"
check_eq "the source is unchanged" "$src_sha" "$(sha "$disk")"
done_testing
