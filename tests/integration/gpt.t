#!/bin/bash
# GPT disks: the image is a whole GPT disk of its own size (a backup
# header and entry array at its end that match the primary, the protective
# MBR covering it), as sgdisk -v, sfdisk --verify and fdisk -l see it, in
# raw and qcow2, with and without fixes; partition GUIDs are PARTUUIDs.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

plan 23

disk=$T_DIR/disk.img
fx_gpt_disk "$disk"
src_sha=$(sha "$disk")
mib=$((1024 * 1024))

# sgdisk_clean IMG: sgdisk -v finds nothing, sfdisk --verify and fdisk -l
# print no warning.
sgdisk_clean() {
	local out
	out=$(sgdisk -v "$1" 2>&1)
	if ! grep -q 'No problems found' <<<"$out"; then
		echo "sgdisk -v: $out"
		return 1
	fi
	out=$(sfdisk --verify "$1" 2>&1) || {
		echo "sfdisk --verify: $out"
		return 1
	}
	out=$(LC_ALL=C fdisk -l "$1" 2>&1)
	if grep -Eqi 'mismatch|corrupt|not at the end|backup' <<<"$out"; then
		echo "fdisk -l: $out"
		return 1
	fi
}

# The disk as the test made it: its backup GPT at the end of 200 MiB.
check "the fixture itself is a clean GPT disk" sgdisk_clean "$disk"

"$FERRY" capture --quiet --format raw "$disk" "$T_DIR/fixed.raw"
size=$(stat -c %s "$T_DIR/fixed.raw")
check_eq "the image ends at the next MiB after the last partition and the backup GPT" \
	$((112 * mib)) "$size"
check "sgdisk -v, sfdisk --verify and fdisk -l find nothing wrong" sgdisk_clean "$T_DIR/fixed.raw"

# The backup header and array are the primary's, moved: sgdisk reads the
# same table from either (-b writes its backup of the primary; a table
# loaded from the backup alone is compared).
last=$((size / 512 - 1))
hdr() { dd if="$1" bs=512 skip="$2" count=1 status=none | od -An -tx1 -v | tr -d ' \n'; }
primary=$(hdr "$T_DIR/fixed.raw" 1)
backup=$(hdr "$T_DIR/fixed.raw" "$last")
check_eq "the backup header is at the last sector and names the primary (LBA 1)" \
	"1" "$(python3 -c 'import struct,sys; h=bytes.fromhex(sys.argv[1]); print(struct.unpack_from("<Q",h,32)[0])' "$backup")"
check_eq "the primary names the backup at the last sector" \
	"$last" "$(python3 -c 'import struct,sys; h=bytes.fromhex(sys.argv[1]); print(struct.unpack_from("<Q",h,32)[0])' "$primary")"
# table IMG: the partition rows and each partition's GUIDs and name, as
# sgdisk reads them.
table() {
	sgdisk -p "$1" 2>/dev/null | awk '/^Number/ { f = 1; next } f && NF'
	for i in 1 2 3; do
		sgdisk -i "$i" "$1" 2>/dev/null | grep -E 'GUID|name'
	done
}
cmp_tables() {
	local a b
	a=$(table "$1")
	# the same table read from the backup alone: the primary header zeroed
	cp --sparse=always "$1" "$T_DIR/backup-only.raw"
	dd if=/dev/zero of="$T_DIR/backup-only.raw" bs=512 seek=1 count=1 conv=notrunc status=none
	b=$(table "$T_DIR/backup-only.raw")
	if [ -z "$a" ] || [ "$a" != "$b" ]; then
		echo "primary: $a"
		echo "backup alone: $b"
		return 1
	fi
}
check "the backup GPT alone gives the same partitions, names and GUIDs" cmp_tables "$T_DIR/fixed.raw"
pmbr_size=$(python3 -c 'import struct,sys; f=open(sys.argv[1],"rb"); f.seek(446); e=f.read(16); print("%02x %d %d" % (e[4], struct.unpack_from("<I",e,8)[0], struct.unpack_from("<I",e,12)[0]))' "$T_DIR/fixed.raw")
check_eq "the protective MBR covers the image" "ee 1 $last" "$pmbr_size"
guids=$(sgdisk -i 1 "$T_DIR/fixed.raw" | grep -i 'unique guid'; sgdisk -i 3 "$T_DIR/fixed.raw" | grep -i 'unique guid')
check_match "the partitions keep their GUIDs" "${FX_GPT_P1_GUID^^}.*${FX_GPT_P3_GUID^^}" "$(tr '\n' ' ' <<<"$guids")"

# The EFI system partition, edited through /boot/efi, as mtools and
# fsck.fat read it in the image.
mt() { MTOOLS_SKIP_CHECK=1 mtype -i "$@"; }
dd if="$T_DIR/fixed.raw" of="$T_DIR/esp.img" bs=1M skip=1 count=20 status=none
check "fsck.fat -n: the edited EFI system partition is clean" fsck.fat -n "$T_DIR/esp.img"
check_match "EFI/redhat/grubenv (through the link /boot/grub2/grubenv): kernelopts by UUID" \
	"kernelopts=root=UUID=$FX_UUID_ROOT ro" "$(mt "$T_DIR/esp.img" ::/EFI/redhat/grubenv)"
check_eq "... a block of 1024 bytes still" 1024 "$(mt "$T_DIR/esp.img" ::/EFI/redhat/grubenv | wc -c)"
check_match "EFI/redhat/grub.cfg: the menu entry's root= by UUID" \
	"linux /vmlinuz root=UUID=$FX_UUID_ROOT ro" "$(mt "$T_DIR/esp.img" ::/EFI/redhat/grub.cfg)"

# Every partition's bytes are the disk's (the fixes aside: compared with
# --no-fix below), and nothing is written between them and the backup.
"$FERRY" capture --quiet --no-fix --format raw "$disk" "$T_DIR/nofix.raw"
check "--no-fix: a clean GPT disk too" sgdisk_clean "$T_DIR/nofix.raw"
check "--no-fix: /boot and / are the disk's, byte for byte" \
	cmp <(dd if="$disk" bs=1M skip=21 count=90 status=none) \
	<(dd if="$T_DIR/nofix.raw" bs=1M skip=21 count=90 status=none)
check "--no-fix: zeros between the last partition and the backup GPT" \
	cmp -n $((mib - 33 * 512)) /dev/zero <(dd if="$T_DIR/nofix.raw" bs=512 skip=$((111 * 2048)) status=none)
free_text() { dd if="$1" bs=1M skip=1 count=20 status=none | grep -c FERRY-FREE-CLUSTER; }
check_eq "the ESP's free clusters: a deleted file's text on the disk, none of it in the image" \
	"yes 0" "$([ "$(free_text "$disk")" -gt 0 ] && echo yes) $(free_text "$T_DIR/nofix.raw")"
dd if="$T_DIR/nofix.raw" of="$T_DIR/esp-nofix.img" bs=1M skip=1 count=20 status=none
check "--no-fix: the ESP copied by its used clusters is clean for fsck.fat -n" \
	fsck.fat -n "$T_DIR/esp-nofix.img"

# qcow2: the same disk.
"$FERRY" capture --quiet --format qcow2 "$disk" "$T_DIR/fixed.qcow2"
check "qemu-img check: the qcow2 is clean" qemu-img check -q "$T_DIR/fixed.qcow2"
qemu-img convert -O raw "$T_DIR/fixed.qcow2" "$T_DIR/fromq.raw"
check "qcow2: the same bytes as the raw image" cmp "$T_DIR/fixed.raw" "$T_DIR/fromq.raw"

# PARTUUID: the partition's unique GUID, in ferry scan and in fstab.
json=$("$FERRY" scan --json "$disk")
got=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(p.get("partuuid") or "-" for p in d["disks"][0]["partitions"]))' <<<"$json")
check_eq "ferry scan: each partition's PARTUUID is its GPT GUID" \
	"$FX_GPT_P1_GUID $FX_GPT_P2_GUID $FX_GPT_P3_GUID" "$got"
dd if="$T_DIR/fixed.raw" of="$T_DIR/root.ext4" bs=1M skip=51 count=60 status=none
fstab=$(debugfs -R 'cat /etc/fstab' "$T_DIR/root.ext4" 2>/dev/null)
check_match "fstab: /boot/efi by the FAT serial and /boot by PARTUUID are kept, / is by UUID now" \
	"^UUID=5EED-1E55 /boot/efi vfat .*PARTUUID=$FX_GPT_P2_GUID /boot ext4.*UUID=$FX_UUID_ROOT / ext4" \
	"$(tr '\n' ' ' <<<"$fstab")"
esp=$(python3 -c 'import json,sys; p=json.load(sys.stdin)["disks"][0]["partitions"][0]; print(p["fs"], p["uuid"], p["label"], p["used_bytes"] > 0)' <<<"$json")
check_eq "ferry scan: the ESP's filesystem, serial, label and used bytes" "vfat 5EED-1E55 ESP True" "$esp"

check_eq "the source disk is unchanged" "$src_sha" "$(sha "$disk")"
done_testing
