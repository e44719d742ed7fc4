#!/bin/bash
# Make ferry-rescue.iso in the images folder: one hybrid image that boots as
# a CD and, written with dd, as a USB stick, under BIOS and UEFI (GRUB for
# both, through grub-mkrescue and xorriso). Usage: post-image.sh IMAGES_DIR
# (environment: see board/rescue/lib.sh; run mkinitramfs.sh first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../rescue/lib.sh
. "$here/../rescue/lib.sh"
images=${1:?usage: post-image.sh IMAGES_DIR}
stage=$FERRY_BUILD_DIR/iso
label=$(check_label)

# grub_serial: GRUB's serial terminal for the configured serial console.
grub_serial() {
	local unit
	unit=$(serial_unit)
	[ -n "$unit" ] || return 0
	echo "serial --unit=$unit --speed=$(serial_speed)"
	echo "terminal_input console serial"
	echo "terminal_output console serial"
}

rm -rf "$stage"
mkdir -p "$stage/boot/grub" "$images"
cp "$RESCUE_KERNEL" "$stage/boot/vmlinuz"
cp "$RESCUE_INITRD" "$stage/boot/initrd.img"
fill VERSION="$FERRY_VERSION" TIMEOUT="$(cfg FERRY_RESCUE_TIMEOUT)" \
	ARGS="$(kernel_args)" LABEL="$label" SERIAL="$(grub_serial)" \
	<"$here/grub.cfg" >"$stage/boot/grub/grub.cfg"
cp "$FERRY_BUILD_DIR/packages.txt" "$stage/boot/packages.txt"

# Every GRUB module (the EFI image loads all partition maps at start; the
# GRUB shell can then read any disk), no fonts, locales or themes.
# xorriso takes the arguments after --; no HFS+ (Macs).
grub-mkrescue --output="$images/ferry-rescue.iso.tmp" \
	--fonts= --locales= --themes= \
	--product-name=Ferry --product-version="$FERRY_VERSION" \
	"$stage" -- -volid "$label" -hfsplus off 2>"$FERRY_BUILD_DIR/grub-mkrescue.log" || {
	cat "$FERRY_BUILD_DIR/grub-mkrescue.log" >&2
	die "grub-mkrescue failed"
}
mv "$images/ferry-rescue.iso.tmp" "$images/ferry-rescue.iso"
log "ferry-rescue.iso: $(($(stat -c %s "$images/ferry-rescue.iso") / 1048576)) MiB, label $label"
