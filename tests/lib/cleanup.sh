# shellcheck shell=bash
# Undoing what a test or a fixture builder sets up on the host (mounts,
# loop devices): on_exit collects the commands, T_ON_EXIT holds them for the
# exit trap of whoever sources this (tap.sh's t_cleanup). Sourced by tap.sh,
# and by the fixture builders that run outside a test.
T_ON_EXIT=""
on_exit() { T_ON_EXIT="$1; $T_ON_EXIT"; }
# undo_now COMMAND: runs a command given to on_exit now, and not again at
# exit: by then the loop device it detaches may be another test's (prove -j).
undo_now() {
	T_ON_EXIT=${T_ON_EXIT//"$1; "/}
	eval "$1"
}
# attach FILE OFFSET SIZE [-r]: a loop device over those bytes, in $dev,
# detached at exit unless detach did it before. The read-only flag a ferry
# run may have left on the device (the kernel keeps it across backing
# files) is cleared on writable ones, and before the device is detached.
attach() {
	dev=$(losetup -f --show ${4:+"$4"} -o "$2" --sizelimit "$3" "$1")
	on_exit "blockdev --setrw $dev; losetup -d $dev"
	[ -n "${4:-}" ] || blockdev --setrw "$dev"
}
# detach DEV: detaches a device attach made, now and not again at exit.
detach() { undo_now "blockdev --setrw $1; losetup -d $1"; }
