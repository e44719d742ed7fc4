# shellcheck shell=bash
# Real Debian bookworm trees made with mmdebstrap, initrds made by their own
# tools (initramfs-tools, dracut) without virtio, and bootable disk images.
# Source it from a bash test (after tap.sh), or run it: debtree.sh [VARIANT...]
# builds and prints the cache entries. Needs root (mmdebstrap --mode=root,
# chroot). Everything is cached in $FERRY_CACHE (default /var/cache/ferry-tests)
# under NAME-KEY, KEY being the SHA-256 of the recipe: a changed recipe
# builds a new entry. An entry is built under a temporary name and renamed
# when complete, so an interrupted build is never used.

DT_LIB=${BASH_SOURCE[0]}
# The files a builder's bash sources (colon-separated): a library built on
# this one adds itself.
DT_SOURCES=${DT_SOURCES:-$DT_LIB}
DT_CACHE=${FERRY_CACHE:-/var/cache/ferry-tests}
DT_MIRROR=${FERRY_MIRROR:-http://deb.debian.org/debian}
DT_SUITE=bookworm
# What the "physical server" initrds carry: its disk and root fs drivers only.
DT_PHYS_DRIVERS="ata_piix ahci sd_mod ext4"
# What a KVM guest needs on top; Ferry's capture must add these.
DT_VIRTIO_DRIVERS="virtio_blk virtio_pci virtio_net virtio_scsi"
# dracut pulls virtio in through these modules even with --omit-drivers
# (qemu: virtio, virtio_ring, virtio_console...; virtiofs and nvdimm:
# virtio, virtio_ring, virtio_pmem), so they are omitted too.
DT_DRACUT_OMIT="qemu qemu-net virtiofs nvdimm"
DT_VARIANTS="itools-gzip itools-xz itools-zstd itools-ucode
dracut-gzip dracut-xz dracut-zstd dracut-ucode"
# Offset of the root partition in every disk image (sector 2048).
DT_PART_OFFSET=1048576
# Keep the trees small: no docs, and no module trees a server disk never needs.
DT_EXCLUDES="/usr/share/man/* /usr/share/doc/* /usr/share/info/*
/usr/share/locale/* /usr/share/lintian/*"
DT_MOD_EXCLUDES="sound drivers/gpu drivers/media drivers/net/wireless
drivers/infiniband drivers/iio drivers/staging drivers/comedi drivers/isdn
drivers/bluetooth net/wireless net/mac80211 net/bluetooth"
DT_CHROOT_PATH=/usr/sbin:/usr/bin:/sbin:/bin

dt_log() { echo "# debtree: $*" >&2; }

# dt_kind VARIANT: itools or dracut.
dt_kind() { echo "${1%%-*}"; }

# dt_hash TEXT: the cache key of a recipe.
dt_hash() { printf '%s' "$1" | sha256sum | cut -c1-16; }

# --- recipes (their text, with the functions that carry them out, is the key)

dt_tree_packages() {
	case $1 in
	itools) echo "initramfs-tools linux-image-amd64 kmod udev busybox zstd xz-utils mount" ;;
	dracut) echo "dracut linux-image-amd64 kmod udev zstd xz-utils mount" ;;
	*) return 1 ;;
	esac
}

# The init= of the boot tests: one line on the serial port, then power off.
dt_marker_script() {
	cat <<'EOF'
#!/bin/sh
# init= for Ferry's boot tests: print the root filesystem's device on the
# first serial port, then power the machine off.
[ -r /proc/mounts ] || mount -t proc proc /proc
[ -c /dev/ttyS0 ] || mount -t devtmpfs devtmpfs /dev
root=unknown
while read -r dev mnt _rest; do
	[ "$mnt" = / ] && root=$dev
done </proc/mounts
echo "FERRY-MARKER root=$root" >/dev/ttyS0
echo 1 >/proc/sys/kernel/sysrq
echo o >/proc/sysrq-trigger
sleep 10
EOF
}

# The early microcode cpio: uncompressed newc, kernel/x86/microcode/
# GenuineIntel.bin, the layout the kernel and both tools use. The blob is
# not real microcode; the kernel skips what does not match its CPU.
dt_fake_ucode() {
	local i
	for i in $(seq 1 64); do
		printf 'FERRY-TEST-MICROCODE-BLOB-%04d\n' "$i"
	done
}

# dt_mmdebstrap VARIANT ROOT PACKAGES: DT_SUITE into ROOT (mmdebstrap
# --mode=root --variant=VARIANT) with the packages (words), no recommends,
# no docs, no module trees a server disk never needs. INITRD=No: the
# kernel's postinst hooks build no default (MODULES=most, virtio included)
# initrd; the callers build their own.
dt_mmdebstrap() {
	local p opts=()
	set -f # the patterns are for dpkg, not for this shell
	for p in $DT_EXCLUDES; do
		opts+=(--dpkgopt="path-exclude=$p")
	done
	for p in $DT_MOD_EXCLUDES; do
		opts+=(--dpkgopt="path-exclude=/lib/modules/*/kernel/$p/*"
			--dpkgopt="path-exclude=/usr/lib/modules/*/kernel/$p/*")
	done
	set +f
	INITRD=No mmdebstrap --mode=root --variant="$1" \
		--aptopt='APT::Install-Recommends "false"' "${opts[@]}" \
		--include="$(printf '%s' "$3" | tr -s ' \n\t' ,)" "$DT_SUITE" "$2" "$DT_MIRROR"
}

# dt_build_tree KIND DIR (runs under set -e in its own bash): DIR/root is
# the tree, DIR/kver its kernel's version.
dt_build_tree() {
	local kind=$1 root=$2/root kver
	dt_mmdebstrap essential "$root" "$(dt_tree_packages "$kind")"
	dt_marker_script >"$root/sbin/ferry-marker"
	chmod 755 "$root/sbin/ferry-marker"
	case $kind in
	itools)
		# A server whose admin listed its drivers: MODULES=dep in a
		# chroot would pick up the build machine's own virtio disk.
		# shellcheck disable=SC2086 # one driver a line
		printf '%s\n' $DT_PHYS_DRIVERS >>"$root/etc/initramfs-tools/modules"
		echo MODULES=list >"$root/etc/initramfs-tools/conf.d/ferry-modules"
		;;
	dracut)
		# dracut --early-microcode takes every file here when not hostonly.
		mkdir -p "$root/lib/firmware/intel-ucode"
		dt_fake_ucode >"$root/lib/firmware/intel-ucode/06-55-04"
		;;
	esac
	kver=$(cd "$root/boot" && ls vmlinuz-*)
	echo "${kver#vmlinuz-}" >"$2/kver"
}

# dt_build_initrd VARIANT DIR (runs under set -e in its own bash)
dt_build_initrd() {
	local v=$1 dir=$2 kind tree kver comp flavor img bad p main
	kind=$(dt_kind "$v")
	flavor=${v#*-}
	tree=$(dt_tree "$kind")
	kver=$(cat "$tree/kver")
	img=ferry-build-$$.img
	comp=$flavor
	case $kind in
	itools)
		[ "$flavor" = ucode ] && comp=zstd
		env -i PATH="$DT_CHROOT_PATH" chroot "$tree/root" \
			mkinitramfs -c "$comp" -o "/tmp/$img" "$kver"
		mv "$tree/root/tmp/$img" "$dir/main.img"
		if [ "$flavor" = ucode ]; then
			# As initramfs-tools' microcode hooks do: an uncompressed
			# cpio in front of the compressed one.
			mkdir -p "$dir/early/kernel/x86/microcode"
			dt_fake_ucode >"$dir/early/kernel/x86/microcode/GenuineIntel.bin"
			(cd "$dir/early" && find kernel | LC_ALL=C sort |
				cpio --quiet -o -H newc -R 0:0) >"$dir/early.cpio"
			rm -rf "$dir/early"
			cat "$dir/early.cpio" "$dir/main.img" >"$dir/initrd.img"
			rm "$dir/main.img"
		else
			mv "$dir/main.img" "$dir/initrd.img"
		fi
		;;
	dracut)
		local ucode=--no-early-microcode
		if [ "$flavor" = ucode ]; then
			comp=xz
			ucode=--early-microcode
		fi
		env -i PATH="$DT_CHROOT_PATH" chroot "$tree/root" \
			dracut --quiet --force --no-hostonly "$ucode" \
			--omit "$DT_DRACUT_OMIT" \
			--omit-drivers "$DT_VIRTIO_DRIVERS" \
			--drivers "$DT_PHYS_DRIVERS" \
			--compress "$comp" "/tmp/$img" "$kver"
		if [ "$flavor" = ucode ]; then
			# dracut's early cpio: everything before the compressed part.
			main=$(env -i PATH="$DT_CHROOT_PATH" chroot "$tree/root" \
				/usr/lib/dracut/skipcpio "/tmp/$img" | wc -c)
			head -c $(($(stat -c %s "$tree/root/tmp/$img") - main)) \
				"$tree/root/tmp/$img" >"$dir/early.cpio"
		fi
		mv "$tree/root/tmp/$img" "$dir/initrd.img"
		;;
	esac
	if [ -e "$dir/early.cpio" ]; then
		[ "$(head -c 6 "$dir/early.cpio")" = 070701 ] ||
			{ echo "$v: no newc cpio in front" >&2; return 1; }
	fi
	dt_initrd_list "$kind" "$dir/initrd.img" >"$dir/list.txt"
	dt_modules_in <"$dir/list.txt" >"$dir/modules.txt"
	bad=$(sed -n "/virtio/p" "$dir/modules.txt" | tr "\n" " ")
	if [ -n "$bad" ]; then
		echo "$v: the initrd has virtio modules: $bad" >&2
		return 1
	fi
	for p in $DT_PHYS_DRIVERS; do
		grep -qx "$p" "$dir/modules.txt" ||
			{ echo "$v: the initrd lacks $p" >&2; return 1; }
	done
	echo "$kver" >"$dir/kver"
}

# dt_build_disk VARIANT DIR (runs under set -e in its own bash): an msdos
# table and one ext4 root partition holding the tree and the variant's
# initrd as /boot/initrd.img-KVER.
dt_build_disk() {
	local v=$1 dir=$2 tree initrd kver stage uuid mib
	tree=$(dt_tree "$(dt_kind "$v")")
	initrd=$(dt_initrd "$v")
	kver=$(cat "$initrd/kver")
	stage=$dir/stage
	# Hard links: the tree is not copied. Files are replaced (unlink, then
	# create), never written through a link.
	cp -al "$tree/root" "$stage"
	find "$stage/tmp" "$stage/var/tmp" -mindepth 1 -delete
	rm -f "$stage/boot/initrd.img-$kver" "$stage/etc/fstab" "$stage/etc/hostname"
	cp "$initrd/initrd.img" "$stage/boot/initrd.img-$kver"
	ln -sfn "boot/initrd.img-$kver" "$stage/initrd.img"
	uuid=$(cat /proc/sys/kernel/random/uuid)
	printf '# /etc/fstab: static file system information.\nUUID=%s / ext4 errors=remount-ro 0 1\n' \
		"$uuid" >"$stage/etc/fstab"
	echo "ferry-$v" >"$stage/etc/hostname"
	mib=$(du -sm "$stage" | cut -f1)
	mib=$((mib + mib / 3 + 64))
	truncate -s "$((mib + 1))M" "$dir/disk.img"
	echo "start=$((DT_PART_OFFSET / 512)), type=83, bootable" |
		sfdisk -q --label dos "$dir/disk.img"
	mke2fs -q -F -t ext4 -U "$uuid" -L root -E "offset=$DT_PART_OFFSET" \
		-d "$stage" "$dir/disk.img" "${mib}M"
	rm -rf "$stage"
	cp "$tree/root/boot/vmlinuz-$kver" "$dir/vmlinuz"
	cp "$initrd/initrd.img" "$dir/initrd.img"
	echo "$uuid" >"$dir/uuid"
	echo "$kver" >"$dir/kver"
	echo "$DT_PART_OFFSET" >"$dir/offset"
}

# --- the cache

DT_KEY_GLOB='[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'

# dt_remove PATH: rm -rf, unless something is still mounted below PATH (a
# killed mmdebstrap can leave its /proc, /sys, /dev mounts in the tree).
dt_remove() {
	local m
	[ -e "$1" ] || return 0
	m=$(awk -v p="$(readlink -f "$1")/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts)
	if [ -n "$m" ]; then
		dt_log "not removing $1: still mounted below it: $m"
		return 1
	fi
	rm -rf --one-file-system "$1"
}

# dt_cached NAME KEY BUILDER ARGS...: prints the entry's directory, building
# it first (BUILDER ARGS... DIR, in a child bash with set -e) if needed.
dt_cached() {
	local name=$1 key=$2 dir tmp fd rc=0 t0 old
	shift 2
	dir=$DT_CACHE/$name-$key
	if [ -d "$dir" ]; then
		echo "$dir"
		return 0
	fi
	mkdir -p "$DT_CACHE" || return 1
	exec {fd}>"$DT_CACHE/.$name.lock" || return 1
	flock "$fd"
	if [ ! -d "$dir" ]; then
		tmp=$DT_CACHE/.$name-$key.tmp
		dt_remove "$tmp" || { exec {fd}>&-; return 1; }
		mkdir "$tmp"
		t0=$SECONDS
		dt_log "building $name-$key ($*)"
		FERRY_CACHE=$DT_CACHE FERRY_MIRROR=$DT_MIRROR \
			bash -euo pipefail -c 'IFS=: read -ra libs <<<"$1"; shift
				for l in "${libs[@]}"; do . "$l"; done; "$@"' debtree "$DT_SOURCES" "$@" "$tmp" \
			>"$DT_CACHE/.$name-$key.log" 2>&1 || rc=$?
		if [ "$rc" != 0 ]; then
			dt_log "building $name-$key failed (exit $rc); last lines of $DT_CACHE/.$name-$key.log:"
			tail -n 15 "$DT_CACHE/.$name-$key.log" | sed 's/^/#   /' >&2
			dt_remove "$tmp"
			exec {fd}>&-
			return 1
		fi
		mv "$DT_CACHE/.$name-$key.log" "$tmp/build.log"
		mv -T "$tmp" "$dir"
		dt_log "built $name-$key in $((SECONDS - t0)) s ($(du -sh "$dir" | cut -f1))"
		# Entries of an older recipe of the same name are dead weight.
		# shellcheck disable=SC2231 # DT_KEY_GLOB is a pattern
		for old in "$DT_CACHE/$name-"$DT_KEY_GLOB "$DT_CACHE/.$name-"$DT_KEY_GLOB.*; do
			[ "$old" = "$dir" ] || [ ! -e "$old" ] || dt_remove "$old"
		done
	fi
	exec {fd}>&-
	echo "$dir"
}

# --- boots that do not involve ferry, kept beside their fixture
#
# A fixture booted as it is (on its own hardware, or on virtio where it must
# fail) gives the same answer every time for one recipe: the result is kept
# in the fixture's entry, under boots/NAME-KEY (KEY: dt_boot_key), and later
# runs report it instead of booting again. Only results that passed their
# checks are kept.

# dt_boot_key TEXT: the key of a boot: qemu's version and TEXT (the caller
# puts in what decides the boot: its helpers' code, arguments, timeout).
dt_boot_key() {
	dt_hash "$(qemu-system-x86_64 --version 2>/dev/null | head -n 1)
$1"
}

# dt_boot_cached ENTRY NAME KEY: prints the directory of the kept result
# (result, console if kept, when), or returns 1 when there is none.
dt_boot_cached() {
	local d=$1/boots/$2-$3
	[ -f "$d/when" ] || return 1
	echo "$d"
}

# dt_boot_keep ENTRY NAME KEY RESULT [CONSOLE]: keeps the files as the
# result (and console) of boot NAME, in place of any older one of that NAME.
dt_boot_keep() {
	local entry=$1 name=$2 key=$3 tmp old
	mkdir -p "$entry/boots" || return 1
	tmp=$(mktemp -d "$entry/boots/.$name-$key.XXXXXX") || return 1
	if ! cp "$4" "$tmp/result" || { [ -n "${5:-}" ] && ! cp "$5" "$tmp/console"; } ||
		! date -u '+%Y-%m-%d %H:%M UTC' >"$tmp/when"; then
		rm -rf "$tmp"
		return 1
	fi
	for old in "$entry/boots/$name-"$DT_KEY_GLOB; do
		[ ! -e "$old" ] || rm -rf "$old"
	done
	mv -T "$tmp" "$entry/boots/$name-$key" 2>/dev/null || rm -rf "$tmp"
}

dt_tree_key() {
	dt_hash "$DT_SUITE $DT_MIRROR $(dt_tree_packages "$1")
$DT_EXCLUDES $DT_MOD_EXCLUDES $DT_PHYS_DRIVERS
$(declare -f dt_build_tree dt_mmdebstrap dt_marker_script dt_fake_ucode)"
}

dt_initrd_key() {
	dt_hash "$1 $(dt_tree_key "$(dt_kind "$1")") $DT_PHYS_DRIVERS $DT_VIRTIO_DRIVERS
$DT_DRACUT_OMIT $(declare -f dt_build_initrd dt_fake_ucode)"
}

dt_disk_key() {
	dt_hash "$1 $(dt_initrd_key "$1") $DT_PART_OFFSET $(declare -f dt_build_disk)"
}

# dt_tree KIND: the entry of a tree: root/ (the tree), kver.
dt_tree() {
	local key
	key=$(dt_tree_key "$1") || return 1
	dt_cached "tree-$1" "$key" dt_build_tree "$1"
}

# dt_initrd VARIANT: the entry of an initrd: initrd.img, kver, list.txt
# (the tool's listing), modules.txt, early.cpio (the ucode variants).
dt_initrd() {
	dt_cached "initrd-$1" "$(dt_initrd_key "$1")" dt_build_initrd "$1"
}

# dt_disk VARIANT: the entry of a disk: disk.img, uuid (of the root fs),
# offset (of the root partition), kver, vmlinuz, initrd.img.
dt_disk() {
	dt_cached "disk-$1" "$(dt_disk_key "$1")" dt_build_disk "$1"
}

# --- reading initrds with the tree's own tools

# dt_initrd_list KIND FILE: the listing of lsinitramfs (itools) or lsinitrd
# (dracut), run in the tree of that kind.
dt_initrd_list() {
	local kind=$1 file=$2 tree name rc=0
	tree=$(dt_tree "$kind") || return 1
	name=ferry-ls-$$-$RANDOM.img
	cp "$file" "$tree/root/tmp/$name" || return 1
	case $kind in
	itools) env -i PATH="$DT_CHROOT_PATH" chroot "$tree/root" lsinitramfs "/tmp/$name" || rc=$? ;;
	dracut) env -i PATH="$DT_CHROOT_PATH" chroot "$tree/root" lsinitrd "/tmp/$name" || rc=$? ;;
	esac
	rm -f "$tree/root/tmp/$name"
	return "$rc"
}

# dt_modules_in: module names (as modprobe spells them) in a listing on stdin.
dt_modules_in() {
	grep -Eo '[^/ ]+\.ko(\.(xz|zst|gz))?$' | sed -E 's/\.ko(\..*)?$//; s/-/_/g' | LC_ALL=C sort -u
}

# dt_initrd_modules KIND FILE: module names in an initrd.
dt_initrd_modules() {
	local out
	out=$(dt_initrd_list "$1" "$2") || return 1
	printf '%s\n' "$out" | dt_modules_in
}

# dt_needed_modules KIND: the virtio drivers and everything modules.dep says
# they need (modules.dep lists the whole chain).
dt_needed_modules() {
	local tree kver
	tree=$(dt_tree "$1") || return 1
	kver=$(cat "$tree/kver")
	awk -v want=" $DT_VIRTIO_DRIVERS " '
	function name(p) { sub(/.*\//, "", p); sub(/\.ko.*$/, "", p); gsub(/-/, "_", p); return p }
	index(want, " " name($1) " ") { for (i = 1; i <= NF; i++) print name($i) }
	' "$tree/root/lib/modules/$kver/modules.dep" | LC_ALL=C sort -u
}

# dt_report VARIANT...: one line per variant: its initrd's layout, size and
# module count, and its disk.
dt_report() {
	local v i d
	printf '%-13s %-6s %-5s %9s %7s  %s\n' variant format early bytes modules disk
	for v in "$@"; do
		i=$(dt_initrd "$v") && d=$(dt_disk "$v") || return 1
		printf '%-13s %-6s %-5s %9s %7s  %s\n' "$v" \
			"$(dt_format "$i/initrd.img" "$i/early.cpio")" \
			"$([ -e "$i/early.cpio" ] && echo yes || echo no)" \
			"$(stat -c %s "$i/initrd.img")" "$(wc -l <"$i/modules.txt")" "$d/disk.img"
	done
}

# dt_format INITRD [EARLY-CPIO]: the compression of the main archive.
dt_format() {
	local skip=0 magic
	[ -e "${2:-}" ] && skip=$(stat -c %s "$2")
	magic=$(od -An -tx1 -j "$skip" -N 4 "$1" | tr -d ' ')
	case $magic in
	1f8b*) echo gzip ;;
	fd377a58) echo xz ;;
	28b52ffd) echo zstd ;;
	3037303*) echo cpio ;;
	*) echo "?$magic" ;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -eu -o pipefail
	# shellcheck disable=SC2048,SC2086 # the default list is split on purpose
	set -- ${*:-$DT_VARIANTS}
	dt_report "$@" | tee "$DT_CACHE/variants.txt"
fi
