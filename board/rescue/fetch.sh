#!/bin/bash
# Download the Debian packages the rescue images are made of into the
# download directory (once: later builds are offline) and unpack each one.
# Usage: fetch.sh   (environment: see lib.sh). Writes $FERRY_BUILD_DIR/pkgs/
# NAME/ per package, kver (the kernel's version) and packages.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

# What goes into the images besides ferry. The kernel comes from the
# configuration; rdate (SNTP, for ferry.ntp=) is dynamic, hence its libraries;
# ncurses-base has the terminal descriptions ferry tui draws with.
PACKAGES="busybox-static ca-certificates pxelinux syslinux-common rdate libbsd0 libmd0 libc6 ncurses-base"

APT_OPTS=(-qq)
# apt-get download drops privileges to _apt, who cannot write to a root-owned
# download directory; as root, download as root instead.
[ "$(id -u)" != 0 ] || APT_OPTS+=(-o APT::Sandbox::User=root)
lists_updated=""

# update_lists: apt-get update, once per run (for a package apt does not
# know yet, or a version the mirror no longer has).
update_lists() {
	[ -z "$lists_updated" ] || return 1
	lists_updated=1
	log "apt-get update" >&2
	apt-get "${APT_OPTS[@]}" update >&2 || die "apt-get update failed"
}

# candidate NAME: the version apt would install, empty when it knows none.
candidate() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^  Candidate: //p' | grep -v '^(none)$' || :
}

# local_deb NAME: the newest NAME_*.deb already downloaded (offline builds
# when apt's lists are gone).
local_deb() {
	local f
	f=$(find "$FERRY_DL_DIR" -maxdepth 1 -name "$1_*.deb" -printf '%f\n' | sort -V | tail -n 1)
	[ -z "$f" ] || printf '%s/%s\n' "$FERRY_DL_DIR" "$f"
}

# resolve_kernel NAME: a meta package (linux-image-amd64) becomes the real
# kernel package it depends on (linux-image-6.1.0-NN-amd64).
resolve_kernel() {
	local name=$1 dep _
	for _ in 1 2 3; do
		case $name in
		linux-image-[0-9]*) break ;;
		esac
		[ -n "$(candidate "$name")" ] || update_lists || :
		dep=$(apt-cache depends --no-recommends --no-suggests "$name" 2>/dev/null |
			sed -n 's/^  Depends: \(linux-image-[^ ]*\).*/\1/p' | head -n 1)
		if [ -z "$dep" ]; then
			# Offline, without apt's lists: the kernel downloaded last time.
			dep=$(local_deb 'linux-image-[0-9]*')
			[ -n "$dep" ] || die "cannot resolve $name to a kernel package (apt-cache depends $name)"
			dep=$(basename "$dep")
			dep=${dep%%_*}
			warn "apt does not know $name: using $dep from $FERRY_DL_DIR"
		fi
		name=$dep
	done
	printf '%s\n' "$name"
}

# fetch NAME: the path of NAME's .deb in the download directory, downloaded
# if it is not there yet.
fetch() {
	local name=$1 ver deb
	ver=$(candidate "$name")
	if [ -z "$ver" ] && update_lists; then
		ver=$(candidate "$name")
	fi
	if [ -z "$ver" ]; then
		deb=$(local_deb "$name")
		[ -n "$deb" ] || die "apt knows no package $name and $FERRY_DL_DIR has none"
		warn "apt knows no package $name: using $deb"
		printf '%s\n' "$deb"
		return 0
	fi
	# apt-get download writes the epoch's colon as %3a.
	deb=$(find "$FERRY_DL_DIR" -maxdepth 1 -name "${name}_${ver/:/%3a}_*.deb" | head -n 1)
	if [ -z "$deb" ]; then
		log "download $name $ver" >&2
		if ! (cd "$FERRY_DL_DIR" && apt-get "${APT_OPTS[@]}" download "$name=$ver" >&2); then
			# The mirror moved on: fresh lists name the version it has.
			update_lists || die "apt-get download $name=$ver failed"
			ver=$(candidate "$name")
			(cd "$FERRY_DL_DIR" && apt-get "${APT_OPTS[@]}" download "$name=$ver" >&2) ||
				die "apt-get download $name=$ver failed"
		fi
		deb=$(find "$FERRY_DL_DIR" -maxdepth 1 -name "${name}_${ver/:/%3a}_*.deb" | head -n 1)
		[ -n "$deb" ] || die "apt-get download $name=$ver left no .deb in $FERRY_DL_DIR"
	fi
	printf '%s\n' "$deb"
}

# unpack DEB DIR: DIR holds the package's files; redone only for another .deb.
unpack() {
	local deb=$1 dir=$2
	if [ -f "$dir/.deb" ] && [ "$(cat "$dir/.deb")" = "$(basename "$deb")" ]; then
		return 0
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg-deb -x "$deb" "$dir"
	basename "$deb" >"$dir/.deb"
}

mkdir -p "$FERRY_DL_DIR" "$RESCUE_PKGS"
kpkg=$(resolve_kernel "$(cfg FERRY_RESCUE_KERNEL)")
: >"$FERRY_BUILD_DIR/packages.txt.tmp"
for p in "$kpkg" $PACKAGES; do
	deb=$(fetch "$p")
	dir=$RESCUE_PKGS/$p
	[ "$p" != "$kpkg" ] || dir=$RESCUE_PKGS/kernel
	unpack "$deb" "$dir"
	# shellcheck disable=SC2016 # dpkg-deb's own ${field} format
	printf '%s %s\n' "$(dpkg-deb --showformat='${Package} ${Version}' -W "$deb")" \
		"$(sha256sum "$deb" | cut -d' ' -f1)" >>"$FERRY_BUILD_DIR/packages.txt.tmp"
done
mv "$FERRY_BUILD_DIR/packages.txt.tmp" "$FERRY_BUILD_DIR/packages.txt"

# The kernel: its version, and modules.dep for the whole tree (Debian ships
# none), which mkinitramfs.sh needs to find what each driver depends on.
kroot=$RESCUE_PKGS/kernel
kver=$(find "$kroot/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n 1)
if [ -z "$kver" ] || [ ! -f "$kroot/boot/vmlinuz-$kver" ]; then
	die "$kpkg has no /boot/vmlinuz-VERSION with /lib/modules/VERSION: not a kernel package?"
fi
if [ ! -f "$kroot/lib/modules/$kver/modules.dep.bin" ]; then
	log "depmod $kver"
	depmod -b "$kroot" "$kver"
fi
echo "$kver" >"$FERRY_BUILD_DIR/kver"
log "packages: $(awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $1, $2 }' "$FERRY_BUILD_DIR/packages.txt")"
