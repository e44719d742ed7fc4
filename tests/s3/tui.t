#!/bin/bash
# ferry tui into radosgw, driven through tmux: the endpoint, CA and rate
# from --cmdline keys, a wrong secret key reported on the target screen and
# corrected there without leaving the TUI, a capture cancelled while it
# uploads (the upload kept), then the same capture run again from the
# menus, which resumes it; read back with boto3 and compared with a local
# capture of the same disk; the source never written.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"
. "$TESTS_DIR/lib/tmux.sh"
. "$TESTS_DIR/s3/lib/rgw.sh"

if ! command -v tmux >/dev/null; then
	echo "1..0 # SKIP needs tmux (support/deps.sh check)"
	exit 0
fi
plan 16

rgw_start || { not_ok "radosgw starts"; done_testing; exit 1; }
ok "radosgw starts ($RGW_HTTPS)"
disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")
"$FERRY" capture --quiet --format qcow2 "$disk" "$T_DIR/local.qcow2"
key=vm/tui.qcow2
rgw_credentials "$T_DIR/wrong.cred" "not-the-secret"
keys="ferry.endpoint=$RGW_HTTPS ferry.region=$RGW_REGION ferry.ca=$RGW_CA"
keys+=" ferry.target=s3://$RGW_BUCKET/$key ferry.credentials=$T_DIR/wrong.cred"
# One 5 MiB part at a time: the progress (what the storage acknowledged)
# moves every part, and a cancel leaves some parts stored.
keys+=" ferry.part_size=5M ferry.parallel=1"

# to_target NAME: from the disks screen through the check and the network
# to the target.
to_target() {
	tx_show "$1" "1/7 Disks" "<Leave>" || :
	tx_keys "$1" F12
	tx_show "$1" "2/7 Cloud and check" "<Next>" 60 || :
	tx_keys "$1" F12
	tx_show "$1" "3/7 Network" "<Next>" || :
	tx_keys "$1" F12
	tx_show "$1" "4/7 Target" "<Next>" || :
}
# secret NAME TEXT: the secret key field (8 fields on from S3) replaced.
secret() {
	local _
	for _ in 1 2 3 4 5 6 7 8; do tx_keys "$1" Tab; done
	tx_keys "$1" C-a C-k
	tx_type "$1" "$2"
}

# 1. A wrong secret, corrected; then a cancel while the upload runs at
# 4 MB/s (rate limit typed on the screen: 3 fields on from the secret).
tx_start a "$FERRY tui --cmdline '$keys' $disk"
to_target a
check_match "target: the endpoint comes from ferry.endpoint" "Endpoint +$RGW_HTTPS" "$(tx_screen a)"
tx_keys a F12
tx_wait a "Not yet:" 60 || :
screen=$(tx_screen a)
check_match "target: the wrong secret key is reported there" \
	"Not yet: .*(SignatureDoesNotMatch|AccessDenied|signature)" "$(tr -d '│\n' <<<"$screen" | tr -s ' ')"
check_match "target: ... and the screen stays" "4/7 Target" "$screen"
secret a "$RGW_SECRET_KEY"
tx_keys a Tab Tab Tab
tx_type a 4M
tx_keys a F12
tx_show a "5/7 Confirm" "[│x] Back [│x]" 60 || :
check_match "confirm: the object named, without credentials" "into s3://$RGW_BUCKET/$key" "$(tx_screen a)"
tx_keys a Enter
tx_wait a "upload +[1-9][0-9]?%" 60 || :
tx_keys a Enter
tx_wait a "Stop the capture\?" || :
tx_keys a Enter
tx_show a "7/7 Result" "<Done>" 60 || :
screen=$(tx_screen a)
check_match "cancel: the result says it failed" "Result: failed" "$screen"
check_match "cancel: ... cancelled, the upload kept" "cancelled by the operator.*kept" \
	"$(tr -d '│\n' <<<"$screen" | tr -s ' ')"
check_match "cancel: the unfinished upload is on the server" "^$key " "$(rgw_uploads)"
tx_keys a Tab Enter
check_eq "cancel: exit 1" 1 "$(tx_exit a)"

# 2. The same capture again from the menus: it resumes.
rgw_credentials "$T_DIR/right.cred"
tx_start b "$FERRY tui --cmdline '${keys/wrong.cred/right.cred}' $disk"
to_target b
tx_keys b F12
tx_show b "5/7 Confirm" "[│x] Back [│x]" 60 || :
tx_keys b Enter
tx_show b "7/7 Result" "<Done>" 120 || :
screen=$(tx_screen b)
check_match "resumed: captured" "Result: captured" "$screen"
check_match "resumed: the parts stored before were not sent again" \
	"Upload: [0-9]+ parts, [1-9][0-9]* of them reused" "$screen"
check_eq "resumed: boto3 reads back the local capture's bytes" "$(sha "$T_DIR/local.qcow2")" \
	"$(rgw_sha256 "$key")"
check_eq "resumed: the SHA-256 shown is the object's" "$(rgw_sha256 "$key")" \
	"$(grep -oE '[0-9a-f]{64}' <<<"$screen" | head -1)"
check_eq "resumed: no multipart upload is left open" "" "$(rgw_uploads)"
tx_keys b Tab Tab Enter
check_eq "resumed: exit 0" 0 "$(tx_exit b)"
check_eq "the source's SHA-256 is unchanged" "$src_sha" "$(sha "$disk")"
done_testing
