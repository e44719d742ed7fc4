#!/bin/bash
# GRUB for BIOS (i386-pc), as Ferry installs it when it converts a UEFI
# system to boot by BIOS (docs/boot-mode.md): boot.img for the MBR; two
# core.img for the boot gap, one for a system whose /boot is a directory
# of / (GRUB's files in /boot/grub) and one for a /boot of its own (/grub
# on it), each finding that filesystem by GRUB's normal.mod there; and the
# modules for the system's GRUB directory. From Debian's grub-pc-bin.
# usage: support/grub-bios.sh OUTDIR
set -euo pipefail

out=$1
lib=${GRUB_I386_PC:-/usr/lib/grub/i386-pc}
# What core.img holds: the BIOS disk driver, the MBR partition map, the
# filesystems /boot may be (ext2/3/4, XFS, FAT) and search.file.
modules="biosdisk part_msdos ext2 xfs fat search_fs_file"

[ -r "$lib/boot.img" ] || { echo "grub-bios.sh: no $lib/boot.img (install grub-pc-bin)" >&2; exit 1; }
rm -rf "$out.tmp"
mkdir -p "$out.tmp/i386-pc"
cp "$lib/boot.img" "$out.tmp/boot.img"
cp "$lib"/*.mod "$lib"/*.lst "$out.tmp/i386-pc/"
for kind in root:/boot/grub boot:/grub; do
	name=${kind%%:*}
	dir=${kind#*:}
	# shellcheck disable=SC2016 # GRUB's variable, for GRUB to expand
	printf 'search.file %s/i386-pc/normal.mod root\nset prefix=($root)%s\n' "$dir" "$dir" \
		>"$out.tmp/early-$name.cfg"
	# shellcheck disable=SC2086 # the module names are words
	grub-mkimage -O i386-pc -c "$out.tmp/early-$name.cfg" -p "$dir" \
		-o "$out.tmp/core-$name.img" $modules
done
rm -rf "$out"
mv "$out.tmp" "$out"
