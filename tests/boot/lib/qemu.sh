# shellcheck shell=bash
# qemu helpers for Ferry's boot tests: boot a kernel + initrd with one disk,
# read the serial console from a file, wait for a marker line or a failure.
# Source it from a bash test. One guest per shell: qm_boot_bg runs guests in
# background subshells, so several boot at once (most of a failing boot is
# the initramfs sleeping while it waits for its root device). TCG unless
# FERRY_QEMU_ACCEL says otherwise (this host's /dev/kvm hangs the guest).

QM_ACCEL=${FERRY_QEMU_ACCEL:-tcg}
QM_MEM=${FERRY_QEMU_MEM:-1024}
# The kernel command line every boot test starts from. panic=1 with
# -no-reboot turns a kernel panic into qemu exiting; rd.retry/rd.timeout
# make dracut give up on a missing root after 12 rounds (about 25 s on TCG) (initramfs-tools waits
# max(30, rootdelay) s and rootdelay is also a fixed sleep, so it is not set);
# rd.shell=0: dracut panics instead of waiting at a shell.
# shellcheck disable=SC2034 # for the tests that source this file
QM_APPEND_BASE="console=ttyS0 panic=1 rd.retry=12 rd.timeout=12 rd.shell=0"
# Lines that mean the boot has failed for good.
QM_FAIL_RE='Kernel panic|Gave up waiting for root|ALERT! .* does not exist|Could not boot|Dropping to (a|debug) shell|Entering emergency mode|emergency shell'

QM_PID=""
QM_ON_EXIT=""
QM_STOP_ON_EXIT=""
QM_LOG=""
QM_T0=""
QM_SECS=""
QM_LINE=""
QM_WHY=""

# qm_start LOG DISK IF KERNEL INITRD APPEND: boot in the background. IF is a
# qemu -drive interface (ide, virtio, scsi...). The disk is opened with
# snapshot=on: nothing the guest does reaches the file.
qm_start() {
	qm_start_args "$1" -kernel "$4" -initrd "$5" -append "$6" \
		-drive "file=$2,if=$3,format=raw,snapshot=on"
}

# qm_start_args LOG QEMU-ARGS...: boot a machine with these devices (and no
# others: -nodefaults) in the background, its first serial port into LOG.
qm_start_args() {
	local log=$1
	shift
	: >"$log"
	QM_LOG=$log
	QM_T0=$EPOCHREALTIME
	qemu-system-x86_64 -accel "$QM_ACCEL" -machine pc -m "$QM_MEM" \
		-nodefaults -display none -no-reboot -serial "file:$log" "$@" \
		</dev/null >"$log.qemu" 2>&1 &
	QM_PID=$!
	if [ -z "$QM_STOP_ON_EXIT" ] && declare -F on_exit >/dev/null; then
		on_exit qm_stop
		QM_STOP_ON_EXIT=1
	fi
}

# qm_wait_exit TIMEOUT: 0 when qemu ends by itself (the guest powered off)
# within TIMEOUT s; 3 (after stopping it) when not. QM_SECS as qm_wait.
qm_wait_exit() {
	local deadline=$((SECONDS + $1))
	while kill -0 "$QM_PID" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			QM_SECS=$(qm_elapsed)
			QM_WHY="still running after $1 s"
			qm_stop
			return 3
		fi
		sleep 1
	done
	wait "$QM_PID" 2>/dev/null || :
	QM_PID=""
	QM_SECS=$(qm_elapsed)
	QM_WHY="powered off after $QM_SECS s"
}

# qm_elapsed: seconds since qm_start, one decimal.
qm_elapsed() {
	local now=$EPOCHREALTIME
	awk -v a="$QM_T0" -v b="$now" 'BEGIN { printf "%.1f", b - a }'
}

# qm_wait MARKER-REGEX TIMEOUT: 0 when a console line matches the marker
# (QM_LINE holds it), 1 when a failure line came first (QM_LINE), 2 when qemu
# ended without either, 3 on timeout. QM_SECS: seconds since qm_start;
# QM_WHY: what happened, for a test's diagnostics.
qm_wait() {
	local re=$1 timeout=$2 deadline
	deadline=$((SECONDS + timeout))
	while :; do
		if QM_LINE=$(grep -a -m1 -E -- "$re" "$QM_LOG"); then
			QM_SECS=$(qm_elapsed)
			QM_LINE=$(printf '%s' "$QM_LINE" | tr -d '\r')
			QM_WHY="marker after $QM_SECS s: $QM_LINE"
			return 0
		fi
		if QM_LINE=$(grep -a -m1 -E -- "$QM_FAIL_RE" "$QM_LOG"); then
			QM_SECS=$(qm_elapsed)
			QM_LINE=$(printf '%s' "$QM_LINE" | tr -d '\r')
			QM_WHY="boot failed after $QM_SECS s: $QM_LINE"
			return 1
		fi
		if ! kill -0 "$QM_PID" 2>/dev/null; then
			# One last look: qemu may have written the marker and exited.
			if QM_LINE=$(grep -a -m1 -E -- "$re" "$QM_LOG"); then
				continue
			fi
			QM_SECS=$(qm_elapsed)
			QM_LINE=""
			QM_WHY="qemu ended after $QM_SECS s with no marker: $(tr -d '\r' <"$QM_LOG.qemu" | tail -n 3)"
			return 2
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			QM_SECS=$(qm_elapsed)
			QM_LINE=""
			QM_WHY="no marker and no failure within $timeout s"
			return 3
		fi
		sleep 0.2
	done
}

# qm_stop: end the guest (it may already have powered off).
qm_stop() {
	[ -n "$QM_PID" ] || return 0
	kill "$QM_PID" 2>/dev/null || :
	wait "$QM_PID" 2>/dev/null || :
	QM_PID=""
}

# qm_qmp SOCKET COMMAND ARGUMENTS-JSON: one QMP command to the qemu whose
# -qmp unix:SOCKET,server=on,wait=off is given; fails (saying why) unless
# qemu answers it with "return".
qm_qmp() {
	python3 - "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
def answer():
    while True:
        m = json.loads(f.readline())
        if "event" not in m:
            return m
f.readline()  # the greeting
for cmd, args in (("qmp_capabilities", {}), (sys.argv[2], json.loads(sys.argv[3]))):
    f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
    f.flush()
    m = answer()
    if "return" not in m:
        sys.exit("qmp %s: %s" % (cmd, m))
PY
}

# qm_tail [N]: the last N (20) console lines, control characters removed.
qm_tail() {
	tr -d '\r' <"$QM_LOG" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tail -n "${1:-20}"
}

# qm_boot LOG DISK IF KERNEL INITRD APPEND MARKER-REGEX TIMEOUT: start, wait,
# stop; returns what qm_wait returned.
qm_boot() {
	local rc=0
	qm_start "$1" "$2" "$3" "$4" "$5" "$6"
	qm_wait "$7" "$8" || rc=$?
	qm_stop
	return "$rc"
}

# qm_boot_bg RESULT LOG DISK IF KERNEL INITRD APPEND MARKER-REGEX TIMEOUT:
# qm_boot in a background subshell; RESULT gets three lines: what qm_wait
# returned, QM_SECS, QM_WHY. Collect with qm_wait_all and qm_read.
qm_boot_bg() {
	local result=$1
	shift
	rm -f "$result"
	(
		trap 'qm_stop; exit 143' TERM
		rc=0
		qm_boot "$@" || rc=$?
		printf '%s\n%s\n%s\n' "$rc" "$QM_SECS" "$QM_WHY" >"$result.tmp"
		mv "$result.tmp" "$result"
	) >/dev/null &
	if [ -z "$QM_ON_EXIT" ] && declare -F on_exit >/dev/null; then
		on_exit qm_kill_jobs
		QM_ON_EXIT=1
	fi
}

# qm_throttle MAX: wait until fewer than MAX background guests run.
qm_throttle() {
	while [ "$(jobs -rp | wc -l)" -ge "$1" ]; do
		wait -n || :
	done
}

# qm_wait_all: wait for every background guest.
qm_wait_all() { wait || :; }

# qm_kill_jobs: end the background guests still running (their subshells
# stop their qemu). jobs -p names only this shell's own live children.
qm_kill_jobs() {
	local p
	for p in $(jobs -p); do
		kill "$p" 2>/dev/null || :
	done
	wait || :
}

# qm_read RESULT: sets QM_RC, QM_SECS, QM_WHY from a qm_boot_bg result
# (QM_RC=4 when the guest left no result).
# shellcheck disable=SC2034 # QM_RC is for the caller
qm_read() {
	if [ -f "$1" ]; then
		{ read -r QM_RC; read -r QM_SECS; read -r QM_WHY; } <"$1"
	else
		QM_RC=4 QM_SECS="" QM_WHY="the boot left no result (killed?)"
	fi
}
