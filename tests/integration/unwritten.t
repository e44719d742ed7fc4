#!/bin/bash
# Unwritten extents (fallocate) are not copied: the filesystem reads them as
# zeros whatever stale bytes the disk holds under them, so the image leaves
# them zeros. Checked with debugfs (the extents still unwritten, the files
# that hold data byte for byte), e2fsck -fn and qemu-img. Where that could
# lose data it is not done: an inode claiming a written file's blocks as
# unwritten (a damaged filesystem) leaves those blocks copied, and an inode
# in use whose checksum is wrong leaves every unwritten extent copied.
. "$(dirname "$0")/../lib/tap.sh"

plan 19

mib=1048576
uuid=6b1d6f0e-5d6a-4d7e-9a53-0f6c2b4e8a11
disk=$T_DIR/disk.img
fs_img=$T_DIR/fs.img
# The filesystem over random bytes (nodiscard: mke2fs leaves them), so what
# lies under an unwritten extent is stale data, as on a used disk.
head -c $((160 * mib)) /dev/urandom >"$fs_img"
mke2fs -q -F -t ext4 -b 4096 -E nodiscard -U "$uuid" -L root "$fs_img"
mkdir -p "$T_DIR/etc"
echo "UUID=$uuid / ext4 defaults 0 1" >"$T_DIR/etc/fstab"
head -c $((4 * mib)) /dev/urandom >"$T_DIR/data.bin"
head -c $((8 * mib)) /dev/urandom >"$T_DIR/reused.bin"
for c in "mkdir etc" "write $T_DIR/etc/fstab etc/fstab" "write $T_DIR/data.bin data.bin" \
	"write /dev/null swapfile" "fallocate swapfile 0 4095"; do
	debugfs -w -R "$c" "$fs_img" >/dev/null 2>&1
done
truncate -s $((162 * mib)) "$disk"
echo "start=2048, type=83" | sfdisk -q "$disk"
dd if="$fs_img" of="$disk" bs=1M seek=1 conv=notrunc status=none
src_sha=$(sha "$disk")

# extents FS FILE: the physical block runs of FILE's extents, "FIRST LAST" a line.
extents() {
	debugfs -R "stat $2" "$1" 2>/dev/null | sed -n '/^EXTENTS:/,$p' | tail -n +2 |
		grep -oE ':[0-9]+(-[0-9]+)?' | tr -d : | awk -F- '{ print $1, ($2 == "" ? $1 : $2) }'
}
# zeros IMG FS FILE: every block of FILE's extents in IMG (a whole disk, the
# filesystem at 1 MiB) reads as zeros.
zeros() {
	local first last
	while read -r first last; do
		cmp -s -n $(((last - first + 1) * 4096)) -i $((mib + first * 4096)):0 "$1" /dev/zero ||
			return 1
	done < <(extents "$2" "$3")
}
json_copied() { python3 -c 'import json,sys; print(json.load(sys.stdin)["partitions"][0]["copied_bytes"])' <"$1"; }
used=$(dumpe2fs -h "$fs_img" 2>/dev/null |
	awk -F: '/^Block count:/ { b = $2 } /^Free blocks:/ { f = $2 } END { print (b - f) * 4096 }')

check_match "fixture: swapfile's 16 MiB are one unwritten extent" "\(0-4095\[u\]\)" \
	"$(debugfs -R 'stat swapfile' "$fs_img" 2>/dev/null | sed -n '/^EXTENTS:/,$p')"
check_fails "fixture: ... over stale bytes, not zeros" 1 "" zeros "$disk" "$fs_img" swapfile

"$FERRY" capture --quiet --json --format raw "$disk" "$T_DIR/out.raw" >"$T_DIR/raw.json"
check_eq "capture: exit 0" 0 "$?"
copied=$(json_copied "$T_DIR/raw.json")
check "capture: the 16 MiB of unwritten extents are not counted as copied ($copied of $used bytes in use)" \
	test "$((copied + 16 * mib))" -le "$used"
img="$T_DIR/out.raw?offset=$mib"
check "e2fsck -fn passes on the image" e2fsck -fn "$img"
check_eq "the image: swapfile's extent is still unwritten, at the same blocks" \
	"$(extents "$fs_img" swapfile)" "$(extents "$img" swapfile)"
check_match "the image: ... and marked unwritten" "\(0-4095\[u\]\)" \
	"$(debugfs -R 'stat swapfile' "$img" 2>/dev/null | sed -n '/^EXTENTS:/,$p')"
check "the image: swapfile's blocks read as zeros" zeros "$T_DIR/out.raw" "$img" swapfile
check_eq "the image: data.bin byte for byte (debugfs cat)" "$(sha "$T_DIR/data.bin")" \
	"$(debugfs -R 'cat data.bin' "$img" 2>/dev/null | openssl dgst -sha256 -r | cut -d' ' -f1)"
"$FERRY" capture --quiet --format qcow2 "$disk" "$T_DIR/out.qcow2"
check_match "qcow2: qemu-img compare with the raw image" "Images are identical" \
	"$(qemu-img compare -f qcow2 -F raw "$T_DIR/out.qcow2" "$T_DIR/out.raw" 2>&1)"
alloc=$(du -B1 "$T_DIR/out.qcow2" | cut -f1)
check "qcow2: allocated $alloc bytes, 16 MiB under the $used in use" \
	test "$((alloc + 16 * mib))" -le "$((used + mib))"

# A damaged filesystem (still marked clean): claim.bin's unwritten extent
# names data.bin's blocks (set in the extent's start word; debugfs keeps
# the checksum right); gone.bin's inode, freed in the inode bitmap but not
# cleared, keeps an unwritten extent on blocks reused.bin was written to.
cp "$disk" "$T_DIR/claim.img"
dd if="$disk" of="$T_DIR/claim-fs.img" bs=1M skip=1 status=none
cfs=$T_DIR/claim-fs.img
for c in "write /dev/null claim.bin" "fallocate claim.bin 0 1023" \
	"set_inode_field claim.bin block[5] $(extents "$fs_img" data.bin | head -1 | cut -d' ' -f1)" \
	"write /dev/null gone.bin" "fallocate gone.bin 0 2047" "unlink gone.bin"; do
	debugfs -w -R "$c" "$cfs" >/dev/null 2>&1
done
gone=$(extents "$cfs" "<$(debugfs -R 'ls -l' "$cfs" 2>/dev/null | awk '$NF == "claim.bin" { print $1 + 1 }')>")
for c in "freeb ${gone% *} 2048" "write $T_DIR/reused.bin reused.bin" \
	"freei <$(debugfs -R 'ls -l' "$cfs" 2>/dev/null | awk '$NF == "claim.bin" { print $1 + 1 }')>"; do
	debugfs -w -R "$c" "$cfs" >/dev/null 2>&1
done
dd if="$cfs" of="$T_DIR/claim.img" bs=1M seek=1 conv=notrunc status=none
check_eq "damaged: claim.bin's unwritten extent is on data.bin's blocks" \
	"$(extents "$fs_img" data.bin | head -1 | cut -d' ' -f1)" \
	"$(extents "$cfs" claim.bin | head -1 | cut -d' ' -f1)"
check_eq "damaged: reused.bin is on the blocks of the freed inode's unwritten extent" \
	"${gone% *}" "$(extents "$cfs" reused.bin | head -1 | cut -d' ' -f1)"
claim_sha=$(sha "$T_DIR/claim.img")
"$FERRY" capture --quiet --format raw "$T_DIR/claim.img" "$T_DIR/claim.raw"
check_eq "damaged: its SHA-256 is unchanged" "$claim_sha" "$(sha "$T_DIR/claim.img")"
check_eq "damaged: data.bin is copied all the same" "$(sha "$T_DIR/data.bin")" \
	"$(debugfs -R 'cat data.bin' "$T_DIR/claim.raw?offset=$mib" 2>/dev/null |
		openssl dgst -sha256 -r | cut -d' ' -f1)"
check_eq "damaged: ... and reused.bin" "$(sha "$T_DIR/reused.bin")" \
	"$(debugfs -R 'cat reused.bin' "$T_DIR/claim.raw?offset=$mib" 2>/dev/null |
		openssl dgst -sha256 -r | cut -d' ' -f1)"

# An inode in use whose checksum is wrong: what it claims is not known, so
# no unwritten extent is left out (the swap file's stale bytes are copied).
cp "$disk" "$T_DIR/csum.img"
dd if="$disk" of="$T_DIR/csum-fs.img" bs=1M skip=1 status=none
debugfs -w -R "set_inode_field data.bin checksum 0xdead" "$T_DIR/csum-fs.img" >/dev/null 2>&1
dd if="$T_DIR/csum-fs.img" of="$T_DIR/csum.img" bs=1M seek=1 conv=notrunc status=none
csum_sha=$(sha "$T_DIR/csum.img")
"$FERRY" capture --quiet --force --format raw "$T_DIR/csum.img" "$T_DIR/csum.raw" 2>/dev/null
check_eq "bad inode checksum: its SHA-256 is unchanged" "$csum_sha" "$(sha "$T_DIR/csum.img")"
first=$(extents "$fs_img" swapfile | head -1 | cut -d' ' -f1)
check "bad inode checksum: swapfile's blocks are copied as the disk holds them" \
	cmp -n $((4096 * 4096)) "$T_DIR/csum.img" "$T_DIR/csum.raw" -i $((mib + first * 4096)):$((mib + first * 4096))
check_eq "the source's SHA-256 is unchanged" "$src_sha" "$(sha "$disk")"
done_testing
