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

plan 41

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
check_match "... /boot/efi keeps its FAT serial, mounted at boot: /boot/grub2/grubenv links into it" \
	"^UUID=5EED-1E55 /boot/efi vfat umask=0077 0 1$" "$fstab"
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

# grubenv on /boot itself (RHEL 9): nothing needs the ESP any more, and
# fstab mounts it noauto.
own=$T_DIR/own-env.img
FX_GPT_ENV_ON_BOOT=1 fx_gpt_disk "$own"
"$FERRY" capture --quiet --boot-mode bios --format raw "$own" "$T_DIR/own.raw"
dd if="$T_DIR/own.raw" of="$T_DIR/own-root.ext4" bs=1M skip=51 count=60 status=none
check_match "fstab: /boot/efi mounted noauto, with a note" \
	"# ferry: boots by BIOS now; nothing needs the EFI partition at boot \(mount /boot/efi by hand\)\^UUID=5EED-1E55 /boot/efi vfat umask=0077,noauto 0 1\^" \
	"$(debugfs -R 'cat /etc/fstab' "$T_DIR/own-root.ext4" 2>/dev/null | tr '\n' '^')"
dd if="$T_DIR/own.raw" of="$T_DIR/own-boot.ext4" bs=1M skip=21 count=30 status=none
check_match "... the menu's options from /boot/grub2/grubenv" \
	"linux /vmlinuz root=UUID=$FX_UUID_ROOT ro crashkernel=auto" \
	"$(debugfs -R 'cat /grub/grub.cfg' "$T_DIR/own-boot.ext4" 2>/dev/null)"

ge=$T_DIR/grub-efi.img
FX_GPT_ENV_ON_BOOT=1 FX_GPT_DPKG=grub-efi-amd64 fx_gpt_disk "$ge"
"$FERRY" capture --quiet --json --boot-mode bios --format raw "$ge" "$T_DIR/ge.raw" >"$T_DIR/ge.json"
dd if="$T_DIR/ge.raw" of="$T_DIR/ge-root.ext4" bs=1M skip=51 count=60 status=none
check_match "with Debian's grub-efi-amd64 installed (its upgrades run grub-install): /boot/efi mounted at boot" \
	"^UUID=5EED-1E55 /boot/efi vfat umask=0077 0 1$" \
	"$(debugfs -R 'cat /etc/fstab' "$T_DIR/ge-root.ext4" 2>/dev/null)"
check_match "... and the notes say why" "the EFI partition stays mounted at /boot/efi: grub-efi-amd64 installs into it" \
	"$(cat "$T_DIR/ge.json")"

# Six partitions: the last three become logical partitions 5 to 7 in an
# extended partition 4, each EBR in the free sector before its partition
# (as gdisk converts); names of them by number and by PARTLABEL (which an
# MBR has not) go to UUID.
six=$T_DIR/six.img
swap_uuid=5a5a5a5a-1111-4222-8333-944444444444
srv_uuid=5a5a5a5a-1111-4222-8333-955555555555
data_uuid=5a5a5a5a-1111-4222-8333-966666666666
FX_GPT_FSTAB_EXTRA="/dev/sda4 none swap sw 0 0
/dev/sda5 /srv ext4 defaults 0 2
PARTLABEL=data /data ext4 defaults 0 2" fx_gpt_disk "$six"
sgdisk -n 4:112M:+4M -t 4:8200 -n 5:117M:+8M -n 6:126M:+8M -c 6:data "$six" >/dev/null
head -c 4M /dev/zero >"$T_DIR/swap.img"
chmod 600 "$T_DIR/swap.img"
mkswap -U "$swap_uuid" "$T_DIR/swap.img" >/dev/null
dd if="$T_DIR/swap.img" of="$six" bs=1M seek=112 conv=notrunc status=none
mke2fs -q -F -t ext4 -U "$srv_uuid" -E offset=$((117 * 1024 * 1024)) "$six" 8M
mke2fs -q -F -t ext4 -U "$data_uuid" -E offset=$((126 * 1024 * 1024)) "$six" 8M
six_sha=$(sha "$six")
"$FERRY" capture --quiet --json --boot-mode bios --format raw "$six" "$T_DIR/six.raw" \
	>"$T_DIR/six.json"
table=$(sfdisk -d "$T_DIR/six.raw" | grep -E 'start=' | tr '\n' ' ')
check_match "sfdisk: 1 to 3 primary where they were, extended 4 from the first free sector" \
	"raw1 : start= *2048, size= *40960, type=ef.*raw2 : start= *43008, size= *61440, type=83, bootable.*raw3 : start= *104448, size= *122880, type=83.*raw4 : start= *227328, size= *47104, type=5 " \
	"$table"
check_match "... logical 5 to 7 at the GPT's 4 to 6, swap typed 82" \
	"raw5 : start= *229376, size= *8192, type=82.*raw6 : start= *239616, size= *16384, type=83.*raw7 : start= *258048, size= *16384, type=83" \
	"$table"
check_eq "sfdisk --verify finds nothing wrong" "No errors detected." \
	"$(sfdisk --verify "$T_DIR/six.raw" 2>&1 | grep -Ev '^$|^/|^Remaining [0-9]+ unallocated')"
check_match "parted reads the same layout" \
	"4:227328s:274431s:47104s:::;;5:229376s:237567s:8192s:linux-swap.*;;6:239616s:255999s:16384s:ext4::;;7:258048s:274431s:16384s:ext4::;;$" \
	"$(parted -sm "$T_DIR/six.raw" unit s print 2>&1 | tr '\n' ';')"
check "fdisk -l reads it without a warning" \
	bash -c "! LC_ALL=C fdisk -l '$T_DIR/six.raw' 2>&1 | grep -Eqi 'warn|mismatch|corrupt|gpt'"
check_match "the report names the partitions numbered anew" \
	"partition 4 is 5 \(logical\), partition 5 is 6 \(logical\), partition 6 is 7 \(logical\)" \
	"$(cat "$T_DIR/six.json")"
check_eq "the image's plan: partitions 1 2 3 4 5 6 7, 4 extended" "1 2 3 4 5 6 7 extended" \
	"$(python3 -c 'import json,sys; d=json.load(sys.stdin); p=d["partitions"]; print(*[x["number"] for x in p], [x["kind"] for x in p if x["number"]==4][0])' <"$T_DIR/six.json")"
dd if="$T_DIR/six.raw" of="$T_DIR/six-root.ext4" bs=1M skip=51 count=60 status=none
fstab=$(debugfs -R 'cat /etc/fstab' "$T_DIR/six-root.ext4" 2>/dev/null)
check_match "fstab: swap, /srv and /data by UUID, not by the numbers that moved" \
	"\^UUID=$swap_uuid none swap [^^]*\^# ferry: was /dev/sda5\^UUID=$srv_uuid /srv ext4 [^^]*\^# ferry: was PARTLABEL=data\^UUID=$data_uuid /data ext4" \
	"$(tr '\n' '^' <<<"$fstab")"
dd if="$T_DIR/six.raw" of="$T_DIR/srv.ext4" bs=512 skip=239616 count=16384 status=none
check "e2fsck -fn: /srv, logical partition 6, is whole" e2fsck -fn "$T_DIR/srv.ext4"
check_eq "the source disk is unchanged" "$six_sha" "$(sha "$six")"

# Neighbours without a free sector between them leave no room for EBRs.
tight=$T_DIR/tight.img
fx_gpt_disk "$tight"
sgdisk -n 4:111M:+4M -n 5:0:+4M -n 6:0:+4M "$tight" >/dev/null
check_eq "six partitions side by side: boot.convert is a blocker" "3 blocker blocker blocker" \
	"$(verdict --cloud tencent "$tight")"
check_match "... saying why" "6 partitions: an MBR holds 4, or 3 and logical partitions in an extended one, which need a free sector before each" \
	"$("$FERRY" check --cloud tencent "$tight" 2>&1)"
check_fails "ferry capture --cloud tencent stops before a byte is copied" 3 "boot.convert" \
	"$FERRY" capture --cloud tencent --format raw "$tight" "$T_DIR/tight.raw"
check "... and writes nothing" test ! -e "$T_DIR/tight.raw"

check_fails "--boot-mode bios with --no-fix is a usage error" 2 "exclude each other" \
	"$FERRY" capture --boot-mode bios --no-fix "$disk" "$T_DIR/x.raw"
check_fails "--boot-mode fast is a usage error" 2 "one of bios, uefi, keep" \
	"$FERRY" capture --boot-mode fast "$disk" "$T_DIR/x.raw"
bios=$T_DIR/bios-disk.img
fx_server_disk "$bios"
check_fails "--boot-mode uefi on a BIOS system: boot.convert, nothing captured" 3 "boot.convert" \
	"$FERRY" capture --boot-mode uefi --format raw "$bios" "$T_DIR/u.raw"
done_testing
