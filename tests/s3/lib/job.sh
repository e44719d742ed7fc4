# What the tests of ferry run share (source after tests/lib/tap.sh,
# tests/lib/fixture.sh and tests/s3/lib/rgw.sh, radosgw started):
#
#   job_setup   no AWS or proxy settings from the environment; $creds the
#               test key pair; $disk a server fixture and $src_sha its
#               SHA-256; $want the SHA-256 of its local qcow2 capture
#   rc_err RC FILE   "0", or RC and the last lines of FILE (what failed)
# shellcheck shell=bash

# shellcheck disable=SC2034 # creds, disk, src_sha and want are the tests'
job_setup() {
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY https_proxy HTTPS_PROXY http_proxy no_proxy NO_PROXY
	creds=$T_DIR/credentials
	rgw_credentials "$creds"
	disk=$T_DIR/disk.img
	fx_server_disk "$disk"
	src_sha=$(sha "$disk")
	"$FERRY" capture --quiet --format qcow2 "$disk" "$T_DIR/local.qcow2"
	want=$(sha "$T_DIR/local.qcow2")
}

rc_err() { if [ "$1" = 0 ]; then echo 0; else echo "$1 $(tail -n 3 "$2")"; fi; }
