#!/bin/bash
# UEFI to BIOS (--boot-mode bios, the default for tencent and huawei): the
# RHEL-8-like GPT fixture's image has an MBR with the same partitions,
# GRUB for BIOS's boot.img in sector 0 pointed at core.img after it, GRUB's
# modules and a menu made from the BLS entries in /boot/grub, and fstab's
# PARTUUID= names (which the new table does not keep) by UUID, as sfdisk,
# fdisk, debugfs and byte comparisons with GRUB's own files see it; ferry
# check says what the conversion answers and why it cannot be made.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

plan 27

grub=${FERRY_GRUB_BIOS:?FERRY_GRUB_BIOS names GRUB for BIOS (make builds it)}
disk=$T_DIR/disk.img
fx_gpt_disk "$disk"
src_sha=$(sha "$disk")

"$FERRY" capture --quiet --json --boot-mode bios --format raw "$disk" "$T_DIR/bios.raw" \
	>"$T_DIR/bios.json"
check_eq "the result: boots by BIOS, an MBR image of a GPT disk" "bios msdos gpt" \
	"$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["boot_mode"], d["image_table"], d["table"])' <"$T_DIR/bios.json")"
table=$(sfdisk -d "$T_DIR/bios.raw" | grep -E '^label:|start=')
check_match "sfdisk: an msdos table" "^label: dos" "$table"
check_match "... the GPT's partitions at their places: the ESP type ef, /boot active" \
	"raw1 : start= *2048, size= *40960, type=ef.*raw2 : start= *43008, size= *61440, type=83, bootable.*raw3 : start= *104448, size= *122880, type=83" \
	"$(tr '\n' ' ' <<<"$table")"
check "fdisk -l reads it without a warning" \
	bash -c "! LC_ALL=C fdisk -l '$T_DIR/bios.raw' 2>&1 | grep -Eqi 'warn|mismatch|corrupt|gpt'"

# Sector 0 is boot.img, but its BPB bytes (the old sector's), the two
# patched fields (core.img at LBA 1; the drive check made NOPs) and the
# table; core.img follows, whole.
mbr_diff() {
	python3 - "$grub/boot.img" "$disk" "$T_DIR/bios.raw" <<'EOF'
import struct, sys
boot = open(sys.argv[1], 'rb').read()
old = open(sys.argv[2], 'rb').read(512)
new = open(sys.argv[3], 'rb').read(512)
want = bytearray(boot)
want[0x03:0x5a] = old[0x03:0x5a]
want[0x5c:0x64] = struct.pack('<Q', 1)
want[0x64] = 0xff
want[0x66:0x68] = b'\x90\x90'
want[0x1b8:0x1fe] = new[0x1b8:0x1fe]
print('same' if bytes(want) == new else 'differs at %s' % [hex(i) for i in range(512) if want[i] != new[i]][:8])
EOF
}
check_eq "sector 0: boot.img, core.img at LBA 1, the drive check off, the new table" \
	same "$(mbr_diff)"
core=$(stat -c %s "$grub/core-boot.img")
check "sectors 1 on: core.img for a /boot of its own, byte for byte" \
	cmp -n "$core" "$grub/core-boot.img" <(dd if="$T_DIR/bios.raw" bs=512 skip=1 status=none)
check_eq "no GPT header left at LBA 1 or at the image's end" "0 0" \
	"$(dd if="$T_DIR/bios.raw" bs=512 skip=1 count=1 status=none | grep -c 'EFI PART') $(tail -c 512 "$T_DIR/bios.raw" | grep -c 'EFI PART')"

dd if="$T_DIR/bios.raw" of="$T_DIR/boot.ext4" bs=1M skip=21 count=30 status=none
dd if="$T_DIR/bios.raw" of="$T_DIR/root.ext4" bs=1M skip=51 count=60 status=none
check "e2fsck -fn: /boot, with GRUB's files added, is clean" e2fsck -fn "$T_DIR/boot.ext4"
mods=$(debugfs -R 'ls -p /grub/i386-pc' "$T_DIR/boot.ext4" 2>/dev/null | grep -c '\.mod/')
check_eq "/boot/grub/i386-pc: every module of GRUB for BIOS" \
	"$(find "$grub/i386-pc" -name '*.mod' | wc -l)" "$mods"
check "... normal.mod as GRUB ships it" cmp "$grub/i386-pc/normal.mod" \
	<(debugfs -R 'cat /grub/i386-pc/normal.mod' "$T_DIR/boot.ext4" 2>/dev/null)
cfg=$(debugfs -R 'cat /grub/grub.cfg' "$T_DIR/boot.ext4" 2>/dev/null)
check_match "/boot/grub/grub.cfg finds /boot by its UUID" \
	"search --no-floppy --fs-uuid --set=root $FX_UUID_BOOT" "$cfg"
check_match "... and boots the BLS entry with grubenv's kernelopts (root by UUID)" \
	"menuentry 'Rocky Linux' \{.*linux /vmlinuz root=UUID=$FX_UUID_ROOT ro crashkernel=auto net.ifnames=0 biosdevname=0.*initrd /initramfs.img" \
	"$(tr '\n\t' '  ' <<<"$cfg")"
fstab=$(debugfs -R 'cat /etc/fstab' "$T_DIR/root.ext4" 2>/dev/null)
check_match "fstab: /boot by UUID, since the MBR's PARTUUIDs are not the GPT's" \
	"# ferry: was PARTUUID=$FX_GPT_P2_GUID UUID=$FX_UUID_BOOT /boot ext4" "$(tr '\n' ' ' <<<"$fstab")"
check_match "... /boot/efi keeps its FAT serial" "^UUID=5EED-1E55 /boot/efi vfat" "$fstab"
dd if="$T_DIR/bios.raw" of="$T_DIR/esp.img" bs=1M skip=1 count=20 status=none
check "fsck.fat -n: the ESP is kept, clean" fsck.fat -n "$T_DIR/esp.img"

"$FERRY" capture --quiet --boot-mode bios --format raw "$disk" "$T_DIR/again.raw"
check "a second capture is byte-identical" cmp "$T_DIR/bios.raw" "$T_DIR/again.raw"
check_eq "the source disk is unchanged" "$src_sha" "$(sha "$disk")"

# ferry check: for tencent the conversion answers table.gpt and boot.efi.
verdict() {
	local rc=0 out
	out=$("$FERRY" check --json "$@" 2>/dev/null) || rc=$?
	python3 -c '
import json, sys
d = json.load(sys.stdin)
f = {x["code"]: x for x in d["findings"]}
def s(c):
    return "-" if c not in f else f[c]["severity"] + ("+fixed" if f[c].get("capture") else "")
print(sys.argv[1], s("table.gpt"), s("boot.efi"), s("boot.convert"))' "$rc" <<<"$out"
}
check_eq "ferry check --cloud tencent: exit 0, the conversion removes both blockers" \
	"0 blocker+fixed blocker+fixed -" "$(verdict --cloud tencent "$disk")"
check_eq "... with --boot-mode keep: exit 3, both blockers left" "3 blocker blocker -" \
	"$(verdict --cloud tencent --boot-mode keep "$disk")"
check_eq "--cloud kvm keeps UEFI: info only" "0 info info -" "$(verdict "$disk")"

# A fifth partition: an MBR cannot hold it, and ferry check says so first.
five=$T_DIR/five.img
cp --sparse=always "$disk" "$five"
sgdisk -n 5:115M:+4M "$five" >/dev/null
check_eq "five partitions: boot.convert is a blocker" "3 blocker blocker blocker" \
	"$(verdict --cloud tencent "$five")"
check_match "... naming the partition and why" "partition 5: an MBR holds partitions 1 to 4" \
	"$("$FERRY" check --cloud tencent "$five" 2>&1)"
check_fails "ferry capture --cloud tencent stops before a byte is copied" 3 "boot.convert" \
	"$FERRY" capture --cloud tencent --format raw "$five" "$T_DIR/five.raw"
check "... and writes nothing" test ! -e "$T_DIR/five.raw"

check_fails "--boot-mode bios with --no-fix is a usage error" 2 "exclude each other" \
	"$FERRY" capture --boot-mode bios --no-fix "$disk" "$T_DIR/x.raw"
check_fails "--boot-mode fast is a usage error" 2 "one of bios, uefi, keep" \
	"$FERRY" capture --boot-mode fast "$disk" "$T_DIR/x.raw"
bios=$T_DIR/bios-disk.img
fx_server_disk "$bios"
check_fails "--boot-mode uefi on a BIOS system: boot.convert, nothing captured" 3 "boot.convert" \
	"$FERRY" capture --boot-mode uefi --format raw "$bios" "$T_DIR/u.raw"
done_testing
