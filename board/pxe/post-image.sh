#!/bin/bash
# Make the network boot tree pxe/ in the images folder: the kernel and initrd,
# pxelinux (BIOS PXE) with its configuration, and an iPXE script. Copy the
# folder to a TFTP server's root. Usage: post-image.sh IMAGES_DIR
# (environment: see board/rescue/lib.sh; run mkinitramfs.sh first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../rescue/lib.sh
. "$here/../rescue/lib.sh"
images=${1:?usage: post-image.sh IMAGES_DIR}
out=$images/pxe
timeout=$(cfg FERRY_RESCUE_TIMEOUT)

# pxelinux_serial: pxelinux's SERIAL directive for the serial console.
pxelinux_serial() {
	local unit
	unit=$(serial_unit)
	[ -z "$unit" ] || echo "SERIAL $unit $(serial_speed)"
}

rm -rf "$out.tmp"
mkdir -p "$out.tmp/pxelinux.cfg"
cp "$RESCUE_KERNEL" "$out.tmp/vmlinuz"
cp "$RESCUE_INITRD" "$out.tmp/initrd.img"
cp "$RESCUE_PKGS/pxelinux/usr/lib/PXELINUX/pxelinux.0" "$out.tmp/"
cp "$RESCUE_PKGS/syslinux-common/usr/lib/syslinux/modules/bios/ldlinux.c32" "$out.tmp/"
# pxelinux counts its TIMEOUT in tenths of a second; 0 would wait forever.
fill SERIAL="$(pxelinux_serial)" TIMEOUT="$((timeout > 0 ? timeout * 10 : 1))" \
	ARGS="$(kernel_args)" <"$here/pxelinux.cfg" >"$out.tmp/pxelinux.cfg/default"
fill VERSION="$FERRY_VERSION" ARGS="$(kernel_args)" <"$here/ferry.ipxe" >"$out.tmp/ferry.ipxe"
rm -rf "$out"
mv "$out.tmp" "$out"
log "pxe/: $(find "$out" -type f -printf '%P ' | sed 's/ $//')"
