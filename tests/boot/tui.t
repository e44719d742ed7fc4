#!/bin/bash
# The rescue system driven by hand over its serial console: the PXE kernel
# and initrd boot in qemu without ferry.target; the menus start by
# themselves on ttyS0 (TERM vt220), and tmux types into the serial line
# and reads the screen back. The endpoint, CA and credentials come from
# the kernel command line and a second initrd, the bucket and key are
# typed on the target screen; the image goes to radosgw on this host
# (10.0.2.2 through qemu's user networking). The image is then checked
# with qemu-img and e2fsck; the source's SHA-256 is unchanged. The upload
# goes over a static address set on the network screen, not DHCP's.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"
. "$TESTS_DIR/lib/tmux.sh"
. "$TESTS_DIR/s3/lib/rgw.sh"

images=${FERRY_IMAGES:-$(dirname "$FERRY")/../images}
kernel=$images/pxe/vmlinuz
initrd=$images/pxe/initrd.img
if [ ! -f "$kernel" ] || [ ! -f "$initrd" ]; then
	echo "1..0 # SKIP no rescue images in $images (a static build makes them)"
	exit 0
fi
if ! command -v tmux >/dev/null; then
	echo "1..0 # SKIP needs tmux (support/deps.sh check)"
	exit 0
fi

plan 18

rgw_start || { not_ok "radosgw starts"; done_testing; exit 1; }
ok "radosgw starts ($RGW_HOST_HTTPS)"
disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")
"$FERRY" capture --quiet --format qcow2 "$disk" "$T_DIR/local.qcow2"
key=vm/by-hand.qcow2

# The operator's files, as a second initrd appended to Ferry's.
mkdir -p "$T_DIR/extra/etc/ferry"
rgw_credentials "$T_DIR/extra/etc/ferry/credentials"
cp "$RGW_CA" "$T_DIR/extra/etc/ferry/ca.pem"
(cd "$T_DIR/extra" && find . | cpio -o -H newc -R 0:0 --quiet) >"$T_DIR/extra.cpio"
cp "$initrd" "$T_DIR/initrd+extra.img"
truncate -s %4 "$T_DIR/initrd+extra.img"
cat "$T_DIR/extra.cpio" >>"$T_DIR/initrd+extra.img"

append="console=ttyS0 ferry.endpoint=https://s3.test:$RGW_HTTPS_PORT ferry.resolve=s3.test:10.0.2.2"
append+=" ferry.region=$RGW_REGION ferry.ca=/etc/ferry/ca.pem ferry.credentials=/etc/ferry/credentials"
# The serial line is qemu's standard input and output: the tmux window.
tx_start vm qemu-system-x86_64 -accel "${FERRY_QEMU_ACCEL:-tcg}" -machine pc -m 1024 \
	-nodefaults -display none -no-reboot -serial stdio -monitor none \
	-kernel "$kernel" -initrd "$T_DIR/initrd+extra.img" -append "'$append'" \
	-drive "file=$disk,if=ide,format=raw,snapshot=on" \
	-netdev user,id=n0 -device e1000,netdev=n0,mac=52:54:00:12:34:56
t0=$SECONDS
check "the menus start on the serial console by themselves" tx_show vm "1/7 Disks" "<Leave>" 180
echo "# the menus after $((SECONDS - t0)) s" >&2
tx_check "disks: /dev/sda is the system disk" vm "sda .*system \(/\)"
tx_keys vm F12
tx_show vm "2/7 Cloud and check" "<Next>" 120 || :
tx_keys vm F12
tx_show vm "3/7 Network" "<Next>" || :
tx_check "network: eth0 with its MAC, its link and the DHCP address" vm \
	"eth0 +52:54:00:12:34:56 +link up +10\.0\.2\.15/24 \(dhcp\)"
# Static, from the card's list: the radio buttons are 2 fields on, then
# the address, gateway, DNS and Apply. Without an address, Apply says so.
tx_keys vm Tab Tab Space Tab Tab Tab Tab Enter
tx_wait vm "│ OK │" || :
check_match "network: Static without an address is refused, saying what is needed" \
	"eth0: static needs an address: A\.B\.C\.D/BITS" "$(tx_box vm Network)"
tx_keys vm Enter
tx_show vm "3/7 Network" "<Next>" || :
tx_keys vm Tab Tab Space Tab
tx_type vm "10.0.2.16/24"
tx_keys vm Tab
tx_type vm "10.0.2.2"
tx_keys vm Tab
tx_type vm "10.0.2.3"
tx_keys vm Tab Enter
tx_wait vm "eth0 .*10\.0\.2\.16/24" 60 || :
tx_wait vm "Name servers: +10\.0\.2\.3" || :
screen=$(tx_screen vm)
check_match "network: Apply puts the static address on eth0 (no DHCP left)" \
	"eth0 +52:54:00:12:34:56 +link up +10\.0\.2\.16/24 +│" "$screen"
check_match "network: ... with its default route and name server" \
	"Default route: 10\.0\.2\.2.*
.*Name servers: +10\.0\.2\.3" "$screen"
tx_keys vm F12
tx_show vm "4/7 Target" "<Next>" || :
tx_check "target: the endpoint from the kernel command line" vm \
	"Endpoint +https://s3\.test:$RGW_HTTPS_PORT"
# Bucket: 5 fields on from the S3 button; then the key.
for _ in 1 2 3 4 5; do tx_keys vm Tab; done
tx_type vm "$RGW_BUCKET"
tx_keys vm Tab
tx_type vm "$key"
tx_keys vm F12
tx_show vm "5/7 Confirm" "[│x] Back [│x]" 120 || :
tx_check "confirm: into the object typed" vm "into s3://$RGW_BUCKET/$key"
tx_keys vm Enter
check "progress: the capture's screen names its phase" tx_show vm "6/7 Capture" "Phase: [a-z]" 60
check "the capture ends on the result screen" tx_show vm "7/7 Result" "<Done>" 600
screen=$(tx_screen vm)
check_match "result: captured" "Result: captured" "$screen"
check_eq "result: the SHA-256 shown is the object's" "$(rgw_sha256 "$key")" \
	"$(grep -oE '[0-9a-f]{64}' <<<"$screen" | head -1)"
check_eq "the object is the bytes of a capture made on the host" "$(sha "$T_DIR/local.qcow2")" \
	"$(rgw_sha256 "$key")"
rgw_get "$key" "$T_DIR/img.qcow2"
check "qemu-img check of the object is clean" qemu-img check "$T_DIR/img.qcow2"
qemu-img convert -O raw "$T_DIR/img.qcow2" "$T_DIR/img.raw"
check "e2fsck of the image's root filesystem is clean" e2fsck -fn "$T_DIR/img.raw?offset=$(fx_off 2)"
tx_keys vm Tab Tab Enter
check "leaving the menus: the shell, whose banner names ferry tui" tx_wait vm "Menus: ferry tui"
check_eq "the source disk is unchanged" "$src_sha" "$(sha "$disk")"
done_testing
