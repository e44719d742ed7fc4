#!/bin/bash
# Assemble the rescue initramfs: busybox, the static ferry, the configured
# drivers with what they depend on, CA bundle, rdate, initramfs/ (/init and
# the skeleton); then a zstd cpio. Usage: mkinitramfs.sh (environment: see
# lib.sh; run fetch.sh first). Writes $FERRY_BUILD_DIR/initrd.img, vmlinuz.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
: "${FERRY_BIN:?FERRY_BIN must name the static ferry}"
: "${FERRY_GRUB_BIOS:?FERRY_GRUB_BIOS must name GRUB for BIOS (support/grub-bios.sh)}"
src=$(cd "$here/../../initramfs" && pwd)
root=$FERRY_BUILD_DIR/rootfs
kroot=$RESCUE_PKGS/kernel
kver=$(cat "$FERRY_BUILD_DIR/kver")
# The build date /init compares the clock with (reproducible builds set
# SOURCE_DATE_EPOCH); every file in the archive gets it as its mtime.
epoch=${SOURCE_DATE_EPOCH:-$(date +%s)}
# Where the dynamic programs' libraries come from (unpacked packages).
LIBDIRS="libc6/lib/x86_64-linux-gnu libbsd0/usr/lib/x86_64-linux-gnu libmd0/usr/lib/x86_64-linux-gnu"

# shq TEXT: TEXT quoted for sh.
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

file "$FERRY_BIN" | grep -q 'statically linked' ||
	die "$FERRY_BIN is not statically linked: the rescue image has no shared libraries for it (CONFIG_FERRY_STATIC)"

stage_tree() {
	rm -rf "$root"
	mkdir -p "$root"
	(cd "$root" && mkdir -p bin sbin usr/bin usr/sbin lib/x86_64-linux-gnu lib64 \
		dev proc sys run tmp root mnt etc/ferry etc/ssl/certs lib/modules lib/firmware)
	chmod 1777 "$root/tmp"
	chmod 700 "$root/root"
	cp -a "$src/skeleton/." "$root/"
	install -m 755 "$src/init" "$root/init"
}

stage_busybox() {
	local bb=$RESCUE_PKGS/busybox-static/bin/busybox link
	install -m 755 "$bb" "$root/bin/busybox"
	for link in $("$bb" --list-full); do
		case $link in
		linuxrc | bin/busybox) continue ;;
		esac
		[ -e "$root/$link" ] || [ -L "$root/$link" ] || ln -s /bin/busybox "$root/$link"
	done
}

# find_lib NAME: NAME in the unpacked library packages.
find_lib() {
	local d
	for d in $LIBDIRS; do
		if [ -e "$RESCUE_PKGS/$d/$1" ]; then
			printf '%s\n' "$RESCUE_PKGS/$d/$1"
			return 0
		fi
	done
	die "no $1 in the unpacked packages ($LIBDIRS): add its package to fetch.sh"
}

# stage_dynamic FILE DEST: a dynamic program and, recursively, its libraries
# (in /lib/x86_64-linux-gnu, where Debian's loader looks) and the loader.
stage_dynamic() {
	local file=$1 dest=$2 lib
	install -m 755 "$file" "$root/$dest"
	for lib in $(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -e "$root/lib/x86_64-linux-gnu/$lib" ] && continue
		stage_dynamic "$(readlink -f "$(find_lib "$lib")")" "lib/x86_64-linux-gnu/$lib"
	done
	if [ ! -e "$root/lib64/ld-linux-x86-64.so.2" ]; then
		install -m 755 "$(find_lib ld-linux-x86-64.so.2)" "$root/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
		ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
	fi
}

stage_programs() {
	strip --strip-all -o "$root/usr/bin/ferry" "$FERRY_BIN"
	# GRUB for BIOS, for a conversion to BIOS boot (support/grub-bios.sh)
	[ -r "$FERRY_GRUB_BIOS/core-root.img" ] || die "no GRUB for BIOS in $FERRY_GRUB_BIOS"
	mkdir -p "$root/usr/share/ferry"
	cp -r "$FERRY_GRUB_BIOS" "$root/usr/share/ferry/grub-bios"
	stage_dynamic "$RESCUE_PKGS/rdate/usr/sbin/rdate" usr/sbin/rdate
	# The CA bundle as update-ca-certificates makes it from the Mozilla set.
	find "$RESCUE_PKGS/ca-certificates/usr/share/ca-certificates/mozilla" -name '*.crt' |
		LC_ALL=C sort | while read -r crt; do
			awk 1 "$crt" # with the last line's newline
		done >"$root/etc/ssl/certs/ca-certificates.crt"
	grep -q 'BEGIN CERTIFICATE' "$root/etc/ssl/certs/ca-certificates.crt" ||
		die "no certificate in the ca-certificates package"
	# The terminals ferry tui meets: the screen, serial lines and their
	# consoles, and the terminals an operator connects from.
	local t
	for t in l/linux v/vt100 v/vt102 v/vt220 x/xterm x/xterm-256color s/screen a/ansi d/dumb; do
		[ -f "$RESCUE_PKGS/ncurses-base/lib/terminfo/$t" ] ||
			die "no terminfo entry $t in the ncurses-base package"
		install -D -m 644 "$RESCUE_PKGS/ncurses-base/lib/terminfo/$t" "$root/lib/terminfo/$t"
	done
}

# stage_modules: the configured drivers and everything kmod says they need
# (modules.dep and softdeps), then depmod for the image's own module set.
stage_modules() {
	local name out ko mod wanted kos="" fw missing=0 fwmods=""
	wanted="$(cfg FERRY_RESCUE_DRIVERS_STORAGE) $(cfg FERRY_RESCUE_DRIVERS_NET)"
	wanted="$wanted $(cfg FERRY_RESCUE_DRIVERS_FS) $(cfg FERRY_RESCUE_DRIVERS_DM)"
	wanted="$wanted $(cfg FERRY_RESCUE_DRIVERS_OTHER)"
	: >"$root/etc/ferry/modules"
	for name in $wanted; do
		if ! out=$(modprobe -d "$kroot" -S "$kver" --show-depends "$name" 2>&1) &&
			! out=$(modprobe -d "$kroot" -S "$kver" --show-depends "fs-$name" 2>&1); then
			die "kernel $kver has no module $name (CONFIG_FERRY_RESCUE_DRIVERS_*): $out"
		fi
		ko=$(printf '%s\n' "$out" | sed -n 's/^insmod \([^ ]*\).*/\1/p')
		[ -n "$ko" ] || continue # built into the kernel
		kos="$kos $ko"
		mod=$(basename "$(printf '%s\n' "$ko" | tail -n 1)" .ko)
		printf '%s\n' "${mod//-/_}" >>"$root/etc/ferry/modules"
	done
	# shellcheck disable=SC2086 # module paths have no blanks
	for ko in $(printf '%s\n' $kos | LC_ALL=C sort -u); do
		mkdir -p "$root/$(dirname "${ko#"$kroot"/}")"
		cp "$ko" "$root/${ko#"$kroot"/}"
		fw=$(modinfo -F firmware "$ko" | wc -l)
		if [ "$fw" -gt 0 ]; then
			missing=$((missing + fw))
			fwmods="$fwmods $(basename "$ko" .ko)"
		fi
	done
	cp "$kroot/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kver/"
	depmod -b "$root" "$kver"
	log "modules: $(wc -l <"$root/etc/ferry/modules") configured, $(find "$root/lib/modules" -name '*.ko' | wc -l) with their dependencies"
	# Debian's firmware is in non-free-firmware, which this build does not
	# use; a second initrd can carry it (docs/rescue.md).
	[ "$missing" = 0 ] || log "firmware: none in the image; $missing files could be asked for by:$fwmods"
}

stage_config() {
	{
		echo "# Written by board/rescue/mkinitramfs.sh; read by /init."
		echo "FERRY_VERSION=$(shq "$FERRY_VERSION")"
		echo "FERRY_BUILD_EPOCH=$epoch"
		echo "FERRY_BUILD_DATE=$(shq "$(date -u -d "@$epoch" '+%Y-%m-%d %H:%M UTC')")"
		echo "FERRY_LABEL=$(shq "$(cfg FERRY_RESCUE_LABEL)")"
		echo "FERRY_TUI=$(shq "$(cfg FERRY_RESCUE_TUI)")"
		echo "FERRY_CLOUD=$(shq "$(cfg_cloud)")"
		echo "FERRY_KERNEL=$(shq "$kver")"
	} >"$root/etc/ferry/rescue.conf"
	cp "$FERRY_BUILD_DIR/packages.txt" "$root/etc/ferry/packages"
}

# newc_entry NAME MODE NLINK [MAJOR MINOR]: a data-less cpio "newc" member,
# for the device nodes a build without root cannot make with mknod.
newc_entry() {
	local name=$1 mode=$2 nlink=$3 major=${4:-0} minor=${5:-0} len pad
	len=$((${#name} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		0 "$mode" 0 0 "$nlink" "$epoch" 0 0 0 "$major" "$minor" "$len" 0
	printf '%s\0' "$name"
	pad=$(((4 - (110 + len) % 4) % 4))
	head -c "$pad" /dev/zero
}

# write_initrd: the staged tree as a cpio, then /dev/console (the kernel
# opens it for /init before anything is mounted), zstd-compressed: 15%
# larger than xz -9 but unpacked in a third of the time.
write_initrd() {
	find "$root" -exec touch -h -d "@$epoch" {} +
	{
		(cd "$root" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
			cpio --quiet -o -H newc -R 0:0 --reproducible)
		newc_entry dev/console $((0020000 | 0600)) 1 5 1
		newc_entry TRAILER!!! 0 1
	} | zstd -q -19 -T0 >"$RESCUE_INITRD.tmp"
	# The kernel takes an uncompressed cpio appended to this one (the
	# operator's files) only at a 4-byte boundary; it skips the zeros.
	truncate -s %512 "$RESCUE_INITRD.tmp"
	mv "$RESCUE_INITRD.tmp" "$RESCUE_INITRD"
	cp "$kroot/boot/vmlinuz-$kver" "$RESCUE_KERNEL"
	log "initrd.img: $(du -sm "$root" | cut -f1) MiB unpacked, $(($(stat -c %s "$RESCUE_INITRD") / 1024)) KiB; kernel $kver"
}

stage_tree
stage_busybox
stage_programs
stage_modules
stage_config
write_initrd
