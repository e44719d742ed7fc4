#!/bin/bash
# The rescue images `make` builds: the ISO boots as a CD under BIOS and as a
# USB stick under UEFI, the PXE tree through iPXE (BIOS, UEFI) and pxelinux;
# /init's shell, ferry.break, drivers, DHCP, static ip=, clock and its
# hand-over to `ferry run` (exit codes), with files added by a second initrd.
# shellcheck source=../lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=lib/qemu.sh
. "$TESTS_DIR/boot/lib/qemu.sh"
# shellcheck source=lib/rescue.sh
. "$TESTS_DIR/boot/lib/rescue.sh"

need=""
[ -n "$RQ_IMAGES" ] || need="$need FERRY_IMAGES (make check-boot sets it when CONFIG_FERRY_RESCUE=y)"
for f in ferry-rescue.iso SHA256SUMS pxe/vmlinuz pxe/initrd.img pxe/ferry.ipxe pxe/pxelinux.0; do
	[ -z "$RQ_IMAGES" ] || [ -e "$RQ_IMAGES/$f" ] || need="$need $RQ_IMAGES/$f"
done
for tool in qemu-system-x86_64 xorriso sfdisk blkid cpio mkfifo /usr/bin/python3; do
	command -v "$tool" >/dev/null || need="$need $tool"
done
for f in "$RQ_OVMF_CODE" "$RQ_OVMF_VARS" /usr/lib/ipxe/qemu/efi-e1000.rom; do
	[ -e "$f" ] || need="$need $f"
done
if [ -n "$need" ]; then
	echo "1..0 # SKIP needs:$need (support/deps.sh rescue)"
	exit 0
fi

# Good boots take 10-30 s on TCG (UEFI firmware and the boot menus' 5 s
# included); the timeout only catches a guest that neither boots nor fails.
BOOT_TIMEOUT=240
PROMPT_RE='ferry:/# '
plan 33

# --- the images

check "SHA256SUMS matches the images" sh -c "cd '$RQ_IMAGES' && sha256sum --quiet -c SHA256SUMS"
iso=$RQ_IMAGES/ferry-rescue.iso
iso_bytes=$(stat -c %s "$iso")
echo "# ferry-rescue.iso: $iso_bytes bytes ($((iso_bytes / 1048576)) MiB)"
if [ "$iso_bytes" -le $((64 * 1048576)) ]; then
	ok "the ISO is at most 64 MiB"
else
	not_ok "the ISO is at most 64 MiB" "it has $iso_bytes bytes"
fi
# Hybrid: MBR boot code (BIOS, USB), a GPT with an EFI system partition
# (UEFI, USB), an El Torito ISO 9660 labelled as the boot entries expect.
xorriso -osirrox on -indev "$iso" -extract /boot/grub/grub.cfg "$T_DIR/grub.cfg" >/dev/null 2>&1 || :
label=$(blkid -o value -s LABEL "$iso" || :)
want_label=$(sed -n 's/.* ferry\.medium=\([^ ]*\).*/\1/p' "$T_DIR/grub.cfg" 2>/dev/null | head -n 1)
table=$(sfdisk -d "$iso" 2>/dev/null || :)
sig=$(od -An -tx1 -j 510 -N 2 "$iso" | tr -d ' ')
if [ "$sig" = 55aa ] && grep -q 'label: gpt' <<<"$table" &&
	grep -qi 'type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B' <<<"$table" &&
	[ -n "$label" ] && [ "$label" = "$want_label" ]; then
	ok "the ISO is hybrid (MBR boot code, GPT with an EFI system partition) and labelled $label"
else
	not_ok "the ISO is hybrid and labelled as its boot entries say" \
		"MBR signature: $sig; ISO label: '$label'; ferry.medium in grub.cfg: '$want_label'" "$table"
fi

# --- the boot paths, one after another in a background lane while the
# checks that type into a shell run in the foreground: two guests, two cores.

# lane_boot RESULT START-COMMAND...: boot, wait for the ready line, stop;
# RESULT gets the outcome (rc, qemu seconds, kernel seconds, why).
lane_boot() {
	local result=$1 rc=0
	shift
	"$@"
	rq_ready "$BOOT_TIMEOUT" || rc=$?
	rq_stop
	printf '%s\n%s\n%s\n%s\n' "$rc" "$QM_SECS" "$RQ_KSECS" "$QM_WHY" >"$result.tmp"
	mv "$result.tmp" "$result"
}

LANE=$T_DIR/lane
mkdir -p "$LANE"
(
	trap 'rq_stop; exit 143' TERM
	lane_boot "$LANE/cd" rq_cd "$LANE/cd.console"
	lane_boot "$LANE/usb" rq_usb_uefi "$LANE/usb.console" "$LANE"
	lane_boot "$LANE/ipxe" rq_pxe "$LANE/ipxe.console" ferry.ipxe
	lane_boot "$LANE/pxelinux" rq_pxe "$LANE/pxelinux.console" pxelinux.0
	lane_boot "$LANE/ipxe-uefi" rq_pxe_uefi "$LANE/ipxe-uefi.console" "$LANE"
) >/dev/null 2>&1 &
LANE_PID=$!
on_exit "kill $LANE_PID 2>/dev/null; wait $LANE_PID"

# --- ferry.mode=shell: a shell, drivers, DHCP, name resolution by ferry

rq_kernel "$T_DIR/shell.console" "ferry.mode=shell"
if rq_ready "$BOOT_TIMEOUT"; then
	ok "ferry.mode=shell boots to the ready line"
	rq_diag_times "kernel+initrd, ferry.mode=shell"
else
	not_ok "ferry.mode=shell boots to the ready line" "$QM_WHY" "$(qm_tail 20)"
fi
if rq_wait_line "$PROMPT_RE" 60 && rq_cmd 'cat /proc/self/stat' &&
	awk '$5 == $8 && $7 != 0 { found = 1 } END { exit !found }' <<<"$RQ_OUT" &&
	! rq_console | grep 'job control turned off' >/dev/null; then
	ok "a shell prompt on ttyS0, with job control (a foreground command owns the terminal)"
else
	not_ok "a shell prompt on ttyS0, with job control" "/proc/self/stat: $RQ_OUT" "$(qm_tail 20)"
fi
if rq_cmd lsmod && grep -q '^xfs ' <<<"$RQ_OUT" && grep -q '^e1000 ' <<<"$RQ_OUT" &&
	grep -q '^dm_snapshot ' <<<"$RQ_OUT"; then
	ok "configured drivers are loaded (xfs, dm_snapshot with no device to drive; e1000)"
else
	not_ok "configured drivers are loaded (xfs, dm_snapshot, e1000)" "lsmod: $RQ_OUT"
fi
rq_cmd 'ip -4 -o addr show dev eth0' || :
check_match "DHCP gave eth0 the address of qemu's user network" 'inet 10\.0\.2\.15/24 ' "$RQ_OUT"
rq_cmd 'ip route show default; cat /etc/resolv.conf' || :
if grep -q '^default via 10\.0\.2\.2 dev eth0' <<<"$RQ_OUT" && grep -q '^nameserver 10\.0\.2\.3$' <<<"$RQ_OUT"; then
	ok "the DHCP script set the default route and /etc/resolv.conf"
else
	not_ok "the DHCP script set the default route and /etc/resolv.conf" "$RQ_OUT"
fi
# The static ferry resolves names through glibc's built-in files backend:
# a name in /etc/hosts reaches the connect (refused: nothing listens on
# port 9), a name nowhere is "unknown host".
rq_cmd 'echo "10.0.2.2 ferry-hosts-test" >>/etc/hosts; echo x >/tmp/f; ferry push /tmp/f https://ferry-hosts-test:9/bucket/key' 60 || :
if grep -q 'ferry-hosts-test:9: cannot connect' <<<"$RQ_OUT"; then
	ok "ferry resolves a name from /etc/hosts in the initramfs"
else
	not_ok "ferry resolves a name from /etc/hosts in the initramfs" "expected: ferry-hosts-test:9: cannot connect" "got: $RQ_OUT"
fi
rq_cmd 'cp /etc/resolv.conf /tmp/resolv; : >/etc/resolv.conf; ferry push /tmp/f https://ferry-nowhere-test:9/bucket/key; cp /tmp/resolv /etc/resolv.conf' 60 || :
check_match "a name neither in /etc/hosts nor in DNS is an unknown host" 'ferry-nowhere-test: unknown host' "$RQ_OUT"
rq_stop

# --- ferry.break=network, with the clock in 2001

rq_kernel "$T_DIR/break.console" "ferry.break=network ferry.mode=shell" -rtc base=2001-01-01
if rq_wait_line 'ferry: stopped before the network phase' "$BOOT_TIMEOUT" && rq_wait_line "$PROMPT_RE" 60 &&
	rq_cmd 'ip -4 -o addr show dev eth0; pidof udhcpc || echo no-udhcpc' &&
	! grep -q 'inet ' <<<"$RQ_OUT" && grep -q '^no-udhcpc$' <<<"$RQ_OUT" &&
	! rq_console | grep 'ferry ready' >/dev/null; then
	ok "ferry.break=network stops with a shell before the network is up"
else
	not_ok "ferry.break=network stops with a shell before the network is up" "$RQ_OUT" "$(qm_tail 20)"
fi
rq_send exit
if rq_ready "$BOOT_TIMEOUT" && rq_console | grep 'ferry: network: eth0 10\.0\.2\.15/24 (dhcp)' >/dev/null; then
	ok "leaving the break shell goes on: DHCP, then the ready line"
else
	not_ok "leaving the break shell goes on: DHCP, then the ready line" "$QM_WHY" "$(qm_tail 20)"
fi
check_match "a clock before the image's build date is warned about" \
	'ferry: warning: the clock says 2001-01-01 .*before this image was built' "$(rq_console)"
rq_stop

# --- static ip= and ferry.ntp (an SNTP server on the host, the clock in 2001)

sntp_pid=$(rq_sntp_server "$T_DIR/sntp.ready")
on_exit "kill $sntp_pid 2>/dev/null"
for _ in $(seq 1 50); do
	[ ! -s "$T_DIR/sntp.ready" ] || break
	kill -0 "$sntp_pid" 2>/dev/null || break
	sleep 0.1
done
rq_kernel "$T_DIR/static.console" \
	"ip=10.0.2.20::10.0.2.2:255.255.255.0:ferry-static:eth0:off:10.0.2.3 ferry.ntp=10.0.2.2 ferry.mode=shell" \
	-rtc base=2001-01-01
if rq_ready "$BOOT_TIMEOUT"; then
	ok "a static ip= boots to the ready line"
	rq_diag_times "kernel+initrd, static ip="
else
	not_ok "a static ip= boots to the ready line" "$QM_WHY" "$(qm_tail 20)"
fi
rq_wait_line "$PROMPT_RE" 60 || :
rq_cmd 'ip -4 -o addr show dev eth0; ip route show default; cat /etc/resolv.conf; hostname; pidof udhcpc || echo no-udhcpc' || :
if grep -q 'inet 10\.0\.2\.20/24 ' <<<"$RQ_OUT" && grep -q '^default via 10\.0\.2\.2 dev eth0' <<<"$RQ_OUT" &&
	grep -q '^nameserver 10\.0\.2\.3$' <<<"$RQ_OUT" && grep -q '^ferry-static$' <<<"$RQ_OUT" &&
	grep -q '^no-udhcpc$' <<<"$RQ_OUT"; then
	ok "ip=client::gw:netmask:hostname:device:off:dns0 sets address, route, name server and host name, no DHCP"
else
	not_ok "ip= sets address, route, name server and host name, no DHCP" "$RQ_OUT"
fi
rq_cmd 'ping -c 1 -W 5 10.0.2.2 >/dev/null && echo ping-ok' 30 || :
check_match "the static address reaches the gateway" '^ping-ok$' "$RQ_OUT"
if [ ! -s "$T_DIR/sntp.ready" ]; then
	ok "ferry.ntp= sets the clock # SKIP no SNTP server on the host's port 123"
elif rq_console | grep 'ferry: clock set from 10\.0\.2\.2: 20' >/dev/null && ! rq_console | grep 'the clock says 2001' >/dev/null; then
	ok "ferry.ntp= sets the clock by SNTP (rdate), then no clock warning"
else
	not_ok "ferry.ntp= sets the clock by SNTP (rdate), then no clock warning" "$(qm_tail 20)"
fi
rq_stop
kill "$sntp_pid" 2>/dev/null || :

# --- a phase that fails: its reason on the console, then a shell

rq_kernel "$T_DIR/fail.console" "ip=bogus"
# shellcheck disable=SC2016 # the guest's shell does the arithmetic
if rq_wait_line '^ferry: the network phase failed: ip=bogus: expected dhcp, off' "$BOOT_TIMEOUT" &&
	rq_wait_line "$PROMPT_RE" 60 && rq_cmd 'echo $((6 * 7))' && grep -q '^42$' <<<"$RQ_OUT"; then
	ok "a failing phase (ip=bogus) shows its reason and starts a working shell"
else
	not_ok "a failing phase (ip=bogus) shows its reason and starts a working shell" "$(qm_tail 20)"
fi
rq_stop

# --- the hand-over to `ferry run`, by its exit code. A second initrd
# appended to Ferry's (as docs/rescue.md tells operators to add files)
# puts a stand-in ferry in place that exits with ferrytest.exit=N.

mkdir -p "$T_DIR/extra/usr/bin"
cat >"$T_DIR/extra/usr/bin/ferry" <<'EOF'
#!/bin/sh
rc=9
for w in $(cat /proc/cmdline); do
	case $w in ferrytest.exit=*) rc=${w#*=} ;; esac
done
echo "stand-in ferry $*: exit $rc"
exit "$rc"
EOF
chmod 755 "$T_DIR/extra/usr/bin/ferry"
(cd "$T_DIR/extra" && find . -mindepth 1 -printf '%P\n' | cpio --quiet -o -H newc -R 0:0) >"$T_DIR/extra.cpio"
cat "$RQ_IMAGES/pxe/initrd.img" "$T_DIR/extra.cpio" >"$T_DIR/initrd-extra.img"

# handover EXIT WANT-REGEX DESCRIPTION: boot with the stand-in exiting EXIT;
# the console must show WANT-REGEX, then a shell prompt.
handover() {
	local rc=$1 want=$2 desc=$3
	RQ_INITRD=$T_DIR/initrd-extra.img rq_kernel "$T_DIR/exit$rc.console" "ferrytest.exit=$rc"
	if rq_ready "$BOOT_TIMEOUT" && rq_wait_line "stand-in ferry run: exit $rc" 30 &&
		rq_wait_line "$want" 30 && rq_wait_line "$PROMPT_RE" 30; then
		ok "$desc"
	else
		not_ok "$desc" "expected after the ready line: $want, then a prompt" "$QM_WHY" "$(qm_tail 20)"
	fi
	rq_stop
}
handover 0 '^ferry: done$' "ferry run exits 0: 'ferry: done' and a shell"
handover 4 '^Ferry rescue shell: ferry scan' "ferry run exits 4 (no job): the banner and a shell"
handover 3 '^ferry: the job failed \(exit 3\): see the messages above$' "ferry run exits 3: 'the job failed (exit 3)' and a shell"
if ! grep -q 'job failed' "$T_DIR/exit4.console"; then
	ok "no failure message when ferry run finds no job"
else
	not_ok "no failure message when ferry run finds no job" "$(tr -d '\r' <"$T_DIR/exit4.console" | tail -n 8)"
fi

# --- DHCP through a switch port that forwards nothing at first (spanning
# tree after the card's driver reset its link): qemu's filter-redirector
# sends every frame of the card into a null device until QMP turns it off.
# A job whose target is on the network gives DHCP 60 s.

stp_boot() {
	RQ_INITRD=$T_DIR/initrd-extra.img rq_kernel "$1" "ferry.target=s3://bucket/key ferrytest.exit=0 $2" \
		-chardev null,id=void -object filter-redirector,id=stp,netdev=n,queue=all,outdev=void \
		-qmp "unix:$T_DIR/qmp.sock,server=on,wait=off"
}
stp_boot "$T_DIR/stp.console" ""
if rq_wait_line '^ferry: DHCP on eth0 \(up to 60 s\)' "$BOOT_TIMEOUT"; then
	sleep 15
	qm_qmp "$T_DIR/qmp.sock" qom-set '{"path": "/objects/stp", "property": "status", "value": "off"}' ||
		echo "# the port could not be opened" >&2
fi
if rq_ready 90 && rq_console | grep -q 'ferry: network: eth0 10\.0\.2\.15/24 (dhcp)' &&
	rq_wait_line "stand-in ferry run: exit 0" 30; then
	ok "a network job waits for DHCP through a port that forwards nothing for 15 s"
else
	not_ok "a network job waits for DHCP through a port that forwards nothing for 15 s" "$QM_WHY" \
		"$(qm_tail 20)"
fi
rq_stop
stp_boot "$T_DIR/stp4.console" "ferry.dhcp_wait=4"
if rq_wait_line '^ferry: DHCP on eth0 \(up to 4 s\)' "$BOOT_TIMEOUT" &&
	rq_wait_line "^ferry: the network phase failed: no network card got an address, and the job's target is on the network" 60 &&
	! rq_console | grep -q 'stand-in ferry'; then
	ok "ferry.dhcp_wait=4 through the same port: no address, the network job stops there"
else
	not_ok "ferry.dhcp_wait=4 through the same port: no address, the network job stops there" "$(qm_tail 20)"
fi
rq_stop
rq_kernel "$T_DIR/wait0.console" "ferry.dhcp_wait=0"
check "ferry.dhcp_wait=0 is refused, saying what it takes" \
	rq_wait_line '^ferry: the network phase failed: ferry.dhcp_wait=0: expected seconds, 1 to 3600$' "$BOOT_TIMEOUT"
rq_stop

# --- the background lane's boots

wait "$LANE_PID" || :
# lane_result NAME DESCRIPTION [MEDIUM-REGEX]: the lane's outcome, as TAP.
lane_result() {
	local name=$1 desc=$2 medium=${3:-} rc secs ksecs why
	if [ -f "$LANE/$name" ]; then
		{ read -r rc; read -r secs; read -r ksecs; read -r why; } <"$LANE/$name"
	else
		rc=4 secs="" ksecs="" why="the boot left no result"
	fi
	if [ "$rc" = 0 ]; then
		ok "$desc"
		echo "# $name: ferry ready $ksecs s after the kernel started, $secs s after qemu started"
	else
		not_ok "$desc" "$why" "$(tr -d '\r' <"$LANE/$name.console" 2>/dev/null | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tail -n 15)"
	fi
	[ -n "$medium" ] || return 0
	if grep -q -E "$medium" "$LANE/$name.console" 2>/dev/null; then
		ok "$name: /init mounts the boot medium read-only at /run/ferry/medium"
	else
		not_ok "$name: /init mounts the boot medium at /run/ferry/medium" "expected: $medium" \
			"$(grep -a 'ferry:' "$LANE/$name.console" 2>/dev/null | tr -d '\r')"
	fi
}
lane_result cd "the ISO boots as a CD under BIOS (GRUB)" 'boot medium /dev/sr0 mounted read-only at /run/ferry/medium'
lane_result usb "the ISO written to a USB stick boots under UEFI (OVMF, XHCI)" 'boot medium /dev/sd[a-z] mounted read-only at /run/ferry/medium'
# GRUB without a video driver tells Linux nothing about the frame buffer:
# the screen of a UEFI server would stay black.
if [ -s "$LANE/usb.console" ] && ! grep -q 'blind mode' "$LANE/usb.console"; then
	ok "usb: GRUB passes the UEFI frame buffer to the kernel (no 'Booting in blind mode')"
else
	not_ok "usb: GRUB passes the UEFI frame buffer to the kernel" "$(grep -a -E 'video|blind' "$LANE/usb.console" 2>/dev/null | tr -d '\r')"
fi
lane_result ipxe "the PXE tree boots through iPXE (ferry.ipxe from qemu's TFTP)"
lane_result pxelinux "the PXE tree boots through pxelinux (pxelinux.0 from qemu's TFTP)"
lane_result ipxe-uefi "the PXE tree boots through iPXE under UEFI (OVMF)"

done_testing
