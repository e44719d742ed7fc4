# shellcheck shell=bash disable=SC2154 # work, part, disk, fs_size, want_data, label: the sourcing script's
# The stale ext4 fixture that capture.sh and compress.sh share: a root
# filesystem (an /etc/fstab mounts it, by label, at /) of real files from
# this host, whose free space holds stale random data; the filesystem
# alone in $part, and behind a 1 MiB msdos boot gap in $disk.

# stage_files DIR BUDGET: real files, /usr/share first, then /usr/lib, in
# find's order, up to BUDGET bytes counted in allocated blocks; and the
# /etc/fstab of a root filesystem labelled $label.
stage_files() {
	local stage=$1 budget=$2
	rm -rf "$stage"
	mkdir -p "$stage/etc"
	find /usr/share /usr/lib -xdev -type f -printf '%b %p\n' >"$work/all" 2>/dev/null
	awk -v budget="$budget" '{ total += $1 * 512; if (total > budget) exit;
		sub(/^[0-9]+ /, ""); print }' "$work/all" | tr '\n' '\0' >"$work/files"
	rm -f "$work/all"
	if ! xargs -0 cp -a --parents -t "$stage" <"$work/files" 2>/dev/null; then
		echo "bench: some files could not be copied; the fixture holds the rest" >&2
	fi
	rm -f "$work/files"
	echo "LABEL=$label / ext4 defaults 0 1" >"$stage/etc/fstab"
}

build_fixture() {
	local stage=$work/stage empty=$work/empty.img overhead
	echo "bench: building the stale fixture in $work" >&2
	# What an empty filesystem of this size already uses (journal, inode
	# tables): the files get the rest.
	truncate -s "$fs_size" "$empty"
	mke2fs -q -F -t ext4 "$empty"
	overhead=$(used_bytes "$empty")
	rm -f "$empty"
	stage_files "$stage" $((want_data - overhead))
	# Stale data everywhere first, then the filesystem without discard: its
	# free blocks hold random bytes, and the file is not sparse.
	head -c "$fs_size" /dev/urandom >"$part"
	mke2fs -q -F -t ext4 -L "$label" -E nodiscard -d "$stage" "$part"
	rm -rf "$stage"
	{
		head -c $((1024 * 1024)) /dev/urandom
		cat "$part"
	} >"$disk"
	# The table goes over the random sector 0.
	echo "start=2048, size=$((fs_size / 512)), type=83" | sfdisk -q --wipe never "$disk"
	sync
}

used_bytes() {
	local h bc fb bs
	h=$(dumpe2fs -h "$1" 2>/dev/null)
	bc=$(printf '%s\n' "$h" | sed -n 's/^Block count: *//p')
	fb=$(printf '%s\n' "$h" | sed -n 's/^Free blocks: *//p')
	bs=$(printf '%s\n' "$h" | sed -n 's/^Block size: *//p')
	echo $(((bc - fb) * bs))
}

# need_fixture: builds it unless it is there, of the size asked for. A
# fixture of an earlier version of the scripts (no label: not a root) is
# made again.
need_fixture() {
	if [ ! -f "$disk" ] || [ ! -f "$part" ] || [ "$(stat -c %s "$part")" != "$fs_size" ] ||
		! dumpe2fs -h "$part" 2>/dev/null | grep -q "^Filesystem volume name: *$label$"; then
		build_fixture
	fi
}
