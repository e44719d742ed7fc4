# qemu presets for the rescue image's boot tests (tests/boot/rescue.t): the
# ISO as a CD (BIOS) or as a USB stick (UEFI, OVMF), the PXE tree through
# qemu's own TFTP server (iPXE, pxelinux), or its kernel and initrd directly;
# commands typed into the shell on the serial console through a FIFO. Source
# it after qemu.sh: it uses QM_LOG, QM_PID, QM_T0, qm_wait and qm_stop.
# shellcheck shell=bash disable=SC2034 # its variables are for qemu.sh and the test

# The folder `make` writes the images to (the Makefile's check-boot sets it).
RQ_IMAGES=${FERRY_IMAGES:-}
RQ_OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
RQ_OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
# The boot entries' consoles: the screen and the first serial port.
RQ_CONSOLES="console=tty0 console=ttyS0,115200"
# The line /init prints on every console when it hands over.
RQ_READY_RE='ferry ready \([0-9]+\.[0-9] s since the kernel started\)'
# What ends a rescue boot for good: the kernel, a phase of /init, the
# firmware, GRUB, pxelinux or iPXE giving up.
QM_FAIL_RE='Kernel panic|ferry: the [a-z]+ phase failed|No bootable device|Boot failed|Could not find kernel image|No more network devices|Could not boot|error: (file|no such|you need)'
RQ_FD=""
RQ_UEFI=()
RQ_N=0
RQ_OUT=""

# rq_start LOG QEMU-ARGS...: boot in the background with the serial console
# on qemu's stdio: what the guest prints goes to LOG, what rq_send writes to
# the FIFO LOG.in reaches the guest's ttyS0.
rq_start() {
	local log=$1
	shift
	: >"$log"
	rm -f "$log.in"
	mkfifo "$log.in"
	# Read-write: neither side of the FIFO waits for the other to open.
	exec {RQ_FD}<>"$log.in"
	QM_LOG=$log
	QM_T0=$EPOCHREALTIME
	qemu-system-x86_64 -accel "$QM_ACCEL" -m "$QM_MEM" -nodefaults -display none \
		-no-reboot -chardev stdio,id=con,signal=off -serial chardev:con "$@" \
		<"$log.in" >"$log" 2>"$log.qemu" &
	QM_PID=$!
	if [ -z "$QM_STOP_ON_EXIT" ] && declare -F on_exit >/dev/null; then
		on_exit rq_stop
		QM_STOP_ON_EXIT=1
	fi
}

# rq_stop: end the guest and close its FIFO.
rq_stop() {
	qm_stop
	if [ -n "$RQ_FD" ]; then
		exec {RQ_FD}>&-
		RQ_FD=""
	fi
}

# rq_net [USER-NET-OPTIONS]: an e1000 card (its option ROM is iPXE) on qemu's
# user network: the guest gets 10.0.2.15 by DHCP, 10.0.2.2 is the host.
rq_net() {
	echo "-netdev user,id=n${1:+,$1} -device e1000,netdev=n"
}

# rq_cd LOG: the ISO as a CD, BIOS firmware.
rq_cd() {
	# shellcheck disable=SC2046 # rq_net prints options
	rq_start "$1" -machine pc -cdrom "$RQ_IMAGES/ferry-rescue.iso" $(rq_net)
}

# rq_ovmf DIR: RQ_UEFI gets the qemu options of a UEFI machine: OVMF with
# its own copy of the variables in DIR, a VGA card (its GOP frame buffer is
# what a server's screen shows).
rq_ovmf() {
	cp "$RQ_OVMF_VARS" "$1/OVMF_VARS.fd"
	RQ_UEFI=(-machine q35 -vga std
		-drive "if=pflash,format=raw,readonly=on,file=$RQ_OVMF_CODE"
		-drive "if=pflash,format=raw,file=$1/OVMF_VARS.fd")
}

# rq_usb_uefi LOG DIR: the ISO written to a 64 MiB "stick" (a raw file in
# DIR) on an XHCI USB port of a UEFI machine.
rq_usb_uefi() {
	local log=$1 dir=$2
	truncate -s 64M "$dir/stick.img"
	dd if="$RQ_IMAGES/ferry-rescue.iso" of="$dir/stick.img" bs=1M conv=notrunc status=none
	rq_ovmf "$dir"
	# shellcheck disable=SC2046 # rq_net prints options
	rq_start "$log" "${RQ_UEFI[@]}" -device qemu-xhci \
		-drive "if=none,id=stick,format=raw,file=$dir/stick.img" \
		-device usb-storage,drive=stick $(rq_net)
}

# rq_pxe LOG BOOTFILE: network boot from the PXE tree through qemu's TFTP
# server, BIOS; BOOTFILE is ferry.ipxe (iPXE runs the script) or pxelinux.0.
rq_pxe() {
	# shellcheck disable=SC2046 # rq_net prints options
	rq_start "$1" -machine pc -boot n $(rq_net "tftp=$RQ_IMAGES/pxe,bootfile=$2")
}

# rq_pxe_uefi LOG DIR: network boot of a UEFI machine (DIR holds its
# variables): the e1000's iPXE runs ferry.ipxe.
rq_pxe_uefi() {
	rq_ovmf "$2"
	# shellcheck disable=SC2046 # rq_net prints options
	rq_start "$1" "${RQ_UEFI[@]}" -boot n $(rq_net "tftp=$RQ_IMAGES/pxe,bootfile=ferry.ipxe")
}

# rq_kernel LOG APPEND [QEMU-ARGS...]: the PXE tree's kernel and initrd
# (or RQ_INITRD) booted by qemu itself: the quickest way to try kernel
# command lines.
rq_kernel() {
	local log=$1 append=$2
	shift 2
	# shellcheck disable=SC2046 # rq_net prints options
	rq_start "$log" -machine pc -kernel "$RQ_IMAGES/pxe/vmlinuz" \
		-initrd "${RQ_INITRD:-$RQ_IMAGES/pxe/initrd.img}" \
		-append "$RQ_CONSOLES $append" $(rq_net) "$@"
}

# rq_ready TIMEOUT: qm_wait for the ready line; RQ_KSECS then holds the
# seconds since the kernel started that /init printed.
rq_ready() {
	local rc=0
	RQ_KSECS=""
	qm_wait "$RQ_READY_RE" "$1" || rc=$?
	[ "$rc" = 0 ] && RQ_KSECS=$(printf '%s\n' "$QM_LINE" | sed -E 's/.*\(([0-9.]+) s .*/\1/')
	return "$rc"
}

# rq_console: the console so far, without carriage returns and escape codes.
rq_console() {
	tr -d '\r' <"$QM_LOG" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g'
}

# rq_wait_line REGEX TIMEOUT: 0 once a console line matches REGEX.
rq_wait_line() {
	local deadline=$((SECONDS + $2))
	until rq_console | grep -a -q -E -- "$1"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		kill -0 "$QM_PID" 2>/dev/null || return 1
		sleep 0.2
	done
}

# rq_send LINE: type LINE (and Enter) on the guest's serial console.
rq_send() { printf '%s\n' "$1" >&"$RQ_FD"; }

# rq_cmd COMMAND [TIMEOUT]: run COMMAND in the guest's shell; RQ_OUT gets
# what it printed. The markers around it are computed by the guest's shell
# ($((N))), so the echo of the typed line never matches them.
rq_cmd() {
	local cmd=$1 timeout=${2:-30}
	RQ_N=$((RQ_N + 1))
	rq_send "echo rq-begin-\$(($RQ_N)); $cmd; echo rq-end-\$(($RQ_N))"
	if ! rq_wait_line "^rq-end-$RQ_N\$" "$timeout"; then
		RQ_OUT="(no end marker within $timeout s; console: $(rq_console | tail -n 5 | tr '\n' '|'))"
		return 1
	fi
	RQ_OUT=$(rq_console | awk -v b="rq-begin-$RQ_N" -v e="rq-end-$RQ_N" \
		'$0 == e { exit } p { print } $0 == b { p = 1 }')
}

# rq_diag_times WHAT: the boot times of the last rq_ready, as a TAP comment.
rq_diag_times() {
	echo "# $1: ferry ready $RQ_KSECS s after the kernel started, $QM_SECS s after qemu started"
}

# rq_sntp_server READY-FILE: a one-file SNTP server on the host's loopback
# (the guest reaches it as 10.0.2.2:123), answering with the host's clock;
# prints its pid. READY-FILE gets "ready" once it listens, READY-FILE.err
# its errors.
rq_sntp_server() {
	/usr/bin/python3 - "$1" <<'EOF' >/dev/null 2>"$1.err" &
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 123))
open(sys.argv[1], "w").write("ready\n")
while True:
    req, peer = s.recvfrom(512)
    if len(req) < 48:
        continue
    now = time.time() + 2208988800
    sec, frac = int(now), int((now % 1) * 2**32)
    # LI 0, version 4, mode 4 (server), stratum 1, the client's transmit
    # time echoed as the originate time, receive = transmit = now.
    resp = struct.pack("!BBbb11I", 0x24, 1, 0, -20, 0, 0, 0x4c4f434c,
                       sec, frac, *struct.unpack("!II", req[40:48]), sec, frac, sec, frac)
    s.sendto(resp, peer)
EOF
	echo $!
}
