#!/bin/bash
# GRUB for BIOS as the conversion to BIOS boot installs it, booted: the
# RHEL-8-like GPT fixture captured with --boot-mode bios starts under
# SeaBIOS (qemu, no UEFI) from its MBR into core.img, which finds /boot by
# GRUB's files there and loads the menu Ferry made from the BLS entry. The
# fixture has no kernel: GRUB booting the entry and looking for its
# /vmlinuz on /boot is the proof. To see GRUB's screen, the test's own copy
# of the image gets a grub.cfg that writes to the serial line first.
# shellcheck source=../lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=../lib/fixture.sh
. "$TESTS_DIR/lib/fixture.sh"

need=""
[ -n "${FERRY_GRUB_BIOS:-}" ] || need="$need FERRY_GRUB_BIOS (make check-boot sets it)"
for tool in qemu-system-x86_64 sgdisk mkfs.vfat mcopy debugfs; do
	command -v "$tool" >/dev/null || need="$need $tool"
done
if [ -n "$need" ]; then
	echo "1..0 # SKIP needs:$need"
	exit 0
fi
plan 5

disk=$T_DIR/disk.img
fx_gpt_disk "$disk"
src_sha=$(sha "$disk")
"$FERRY" capture --quiet --boot-mode bios --format raw "$disk" "$T_DIR/bios.raw"

# The copy GRUB's screen is read from: serial lines before Ferry's menu.
cp --sparse=always "$T_DIR/bios.raw" "$T_DIR/seen.raw"
dd if="$T_DIR/seen.raw" of="$T_DIR/boot.ext4" bs=1M skip=21 count=30 status=none
{
	printf 'serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n'
	printf 'echo FERRY-BIOS-MENU-READ\n'
	debugfs -R 'cat /grub/grub.cfg' "$T_DIR/boot.ext4" 2>/dev/null
} >"$T_DIR/serial.cfg"
debugfs -w -R 'rm /grub/grub.cfg' "$T_DIR/boot.ext4" >/dev/null 2>&1
debugfs -w -R "write $T_DIR/serial.cfg /grub/grub.cfg" "$T_DIR/boot.ext4" >/dev/null 2>&1
dd if="$T_DIR/boot.ext4" of="$T_DIR/seen.raw" bs=1M seek=21 conv=notrunc status=none

log=$T_DIR/serial.log
qemu-system-x86_64 -nographic -m 256 -no-reboot -monitor none \
	-drive file="$T_DIR/seen.raw",format=raw,if=virtio >"$log" 2>&1 &
qemu=$!
for _ in $(seq 1 90); do
	grep -q "not found" "$log" 2>/dev/null && break
	sleep 1
done
kill "$qemu" 2>/dev/null
wait "$qemu" 2>/dev/null
check_match "SeaBIOS starts GRUB from the MBR" "GRUB loading" "$(cat "$log")"
check_match "core.img finds /boot and GRUB reads the menu there" "FERRY-BIOS-MENU-READ" "$(cat "$log")"
check_match "GRUB boots the entry made from the BLS entry" "Booting .Rocky Linux." "$(cat "$log")"
check_match "... looking for its kernel on /boot (the fixture has none)" \
	"error: file ./vmlinuz. not found" "$(cat "$log")"
check_eq "the source disk is unchanged" "$src_sha" "$(sha "$disk")"
done_testing
