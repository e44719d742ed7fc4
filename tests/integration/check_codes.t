#!/bin/bash
# ferry check's codes, each raised by a disk that has the problem and not by
# one that does not. The disks are the CentOS 7-shaped server (physical.sh),
# changed with debugfs, sfdisk and dd. The source keeps its SHA-256.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"
. "$TESTS_DIR/lib/physical.sh"
. "$TESTS_DIR/lib/lvm.sh"

plan 72

base=$T_DIR/base.img
fx_physical_disk "$base"
base_sha=$(sha "$base")

# variant NAME: a copy of the base disk to change.
variant() { cp --sparse=always "$base" "$T_DIR/$1.img"; echo "$T_DIR/$1.img"; }
# dbg IMG PART CMD: debugfs -w on a partition.
dbg() { debugfs -w -R "$3" "$1?offset=$(fxp_off "$2")" >/dev/null 2>&1; }
# put IMG PART DEST TEXT: a file in a partition, replacing one there.
put() {
	printf '%s\n' "$4" >"$T_DIR/put.tmp"
	dbg "$1" "$2" "rm $3"
	dbg "$1" "$2" "write $T_DIR/put.tmp $3"
}
# codes IMG [OPTIONS...]: "RC code:severity..." of ferry check --json.
codes() {
	local img=$1 rc=0
	shift
	"$FERRY" check --json "$@" "$img" >"$T_DIR/out.json" 2>"$T_DIR/out.err" || rc=$?
	echo "$rc $(/usr/bin/python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(" ".join(sorted({f["code"] + ":" + f["severity"] for f in d["findings"]})))' "$T_DIR/out.json" 2>&1)" |
		tee -a "$T_DIR/all.codes"
	# every output is valid against the documented schema
	/usr/bin/python3 "$TESTS_DIR/lib/schema.py" "$T_DIR/out.json" 2>>"$T_DIR/schema.err" ||
		echo "$img $*" >>"$T_DIR/schema.err"
}
# raised DESC CODE:SEV "RC codes": the code is among them.
raised() {
	case " ${3#* } " in
	*" $2 "*) ok "$1" ;;
	*) not_ok "$1" "want $2 in: $3" "$(cat "$T_DIR/out.err")" ;;
	esac
}
not_raised() {
	case " ${3#* } " in
	*" ${2%%:*}:"*) not_ok "$1" "did not want ${2%%:*} in: $3" ;;
	*) ok "$1" ;;
	esac
}

out=$(codes "$base")
raised "no os-release or release file: os.unknown" os.unknown:warning "$out"
raised "no /etc/shadow: shadow.mode" shadow.mode:warning "$out"
not_raised "a clean filesystem: no fs.errors" fs.errors "$out"
not_raised "msdos: no table.gpt" table.gpt "$out"
not_raised "kvm takes any size: no size.virtual" size.virtual "$out"

os=$(variant os)
put "$os" 2 /etc/os-release $'NAME="CentOS Linux"\nVERSION_ID="7"\nID="centos"\nPRETTY_NAME="CentOS Linux 7 (Core)"'
printf 'root:*:19000:0:99999:7:::\n' >"$T_DIR/shadow"
dbg "$os" 2 "write $T_DIR/shadow /etc/shadow"
dbg "$os" 2 "sif /etc/shadow mode 0100640"
out=$(codes "$os" --cloud tencent)
raised "os-release: os.detected" os.detected:info "$out"
not_raised "... and no os.unknown" os.unknown "$out"
not_raised "CentOS is on Tencent's list: no os.unsupported" os.unsupported "$out"
not_raised "/etc/shadow 0640: no shadow.mode" shadow.mode "$out"
check_match "... the JSON names the system" '"id": "centos"' "$(cat "$T_DIR/out.json")"
put "$os" 2 /etc/os-release $'NAME=Gentoo\nID=gentoo\nPRETTY_NAME="Gentoo Linux"'
dbg "$os" 2 "sif /etc/shadow mode 0100644"
out=$(codes "$os" --cloud tencent)
raised "Gentoo for Tencent: os.unsupported" os.unsupported:warning "$out"
raised "/etc/shadow 0644: shadow.mode" shadow.mode:warning "$out"

err=$(variant errors)
dbg "$err" 2 "ssv state 3"
out=$(codes "$err")
raised "a filesystem marked with errors: fs.errors is a blocker" fs.errors:blocker "$out"
check_eq "... exit 3" 3 "${out%% *}"

# wipe IMG: the swap partition's signature page, zeroed.
wipe() { dd if=/dev/zero of="$1" bs=512 seek="$FXP_P3_START" count=8 conv=notrunc status=none; }
luks=$(variant luks)
wipe "$luks"
printf 'LUKS\272\276\000\001' | dd of="$luks" bs=512 seek="$FXP_P3_START" conv=notrunc status=none
out=$(codes "$luks")
raised "a LUKS header: disk.luks is a blocker" disk.luks:blocker "$out"

# A root Ferry does not read: its own code beside root.missing.
rootless() {
	dd if=/dev/zero of="$1" bs=512 seek="$FXP_P2_START" count=256 conv=notrunc status=none
	printf '%s' "$2" | dd of="$1" bs=1 seek=$((FXP_P2_START * 512 + $3)) conv=notrunc status=none
}
btrfs=$(variant btrfs)
rootless "$btrfs" _BHRfS_M $((0x10040))
raised "a btrfs partition and no root found: root.btrfs" root.btrfs:blocker "$(codes "$btrfs")"
md=$(variant md)
rootless "$md" $'\xfc\x4e\x2b\xa9' 4096
raised "an md RAID member and no root found: root.mdraid" root.mdraid:blocker "$(codes "$md")"
luksroot=$(variant luksroot)
rootless "$luksroot" $'LUKS\xba\xbe\x00\x01' 0
raised "a LUKS root: disk.luks without a root found too" disk.luks:blocker "$(codes "$luksroot")"
mpath=$(variant mpath)
put "$mpath" 2 /etc/fstab "/dev/mapper/mpatha2 / ext4 defaults 1 1"
out=$(codes "$mpath")
raised "/ mounted from /dev/mapper/mpatha2: root.multipath" root.multipath:blocker "$out"
raised "... and root.missing" root.missing:blocker "$out"
not_raised "the base disk has a root: no root.btrfs" root.btrfs "$(codes "$base")"
# By-id and by-path names of the system disk's partitions find / and /boot.
byid=$(variant byid)
put "$byid" 2 /etc/fstab "/dev/disk/by-id/ata-ST2000DM008-2FR102_ZFL0ABCD-part2 / ext4 defaults 1 1
/dev/disk/by-path/pci-0000:00:1f.2-ata-1-part1 /boot ext4 defaults 1 2"
out=$(codes "$byid")
not_raised "/ by /dev/disk/by-id/...-part2 is found: no root.missing" root.missing "$out"
not_raised "/boot by /dev/disk/by-path/...-part1 is on the disk: no boot.elsewhere" boot.elsewhere "$out"

lvm=$(variant lvm)
wipe "$lvm"
{ printf 'LABELONE'; head -c 16 /dev/zero; printf 'LVM2 001'; } |
	dd of="$lvm" bs=512 seek=$((FXP_P3_START + 1)) conv=notrunc status=none
out=$(codes "$lvm")
raised "an LVM label with a wrong checksum: lvm.unreadable is a blocker" lvm.unreadable:blocker "$out"

# The RHEL-shaped LVM disk (tests/lib/lvm.sh), as lvm2 made it; then with
# the logical volumes Ferry does not map, written by lvm2's vgcfgrestore.
rhel=$T_DIR/rhel.img
lvm_server_disk "$rhel"
lvm_release
out=$(codes "$rhel")
raised "a volume group on the system disk: disk.lvm is info" disk.lvm:info "$out"
not_raised "... with only linear volumes: no lvm.thin" lvm.thin "$out"
# lvm_variant NAME: a copy of the LVM disk, its PV attached for lvm.
lvm_variant() {
	cp --sparse=always "$rhel" "$T_DIR/$1.img"
	lvm_attach "$T_DIR/$1.img" $((LVM_P2_START * 512)) $(((LVM_DISK_MIB << 20) - LVM_P2_START * 512))
}
for kind in snapshot:lvm.snapshot raid:lvm.raid thin:lvm.thin cache:lvm.cache \
	error:lvm.unsupported; do
	lvm_variant "${kind%%:*}"
	lvm_add_kind rl "${kind%%:*}" 32
	lvm_release
	raised "a ${kind%%:*} volume: ${kind#*:} is a blocker" "${kind#*:}:blocker" \
		"$(codes "$T_DIR/${kind%%:*}.img")"
done
# A group with a PV on another disk, and a volume there.
lvm_variant spans
truncate -s 32M "$T_DIR/other.img"
lvm_pv "$T_DIR/other.img" 0 $((32 << 20))
lvm_cmd vgextend -q rl "$LVM_PV" >/dev/null
lvm_cmd lvcreate -q -an -Zn -L 8m -n data rl "$LVM_PV" >/dev/null
lvm_release
raised "a volume on a PV of another disk: lvm.pv-missing is a blocker" lvm.pv-missing:blocker \
	"$(codes "$T_DIR/spans.img")"

out=$(codes "$base" --cloud huawei)
raised "a disk under 1 GB for Huawei: size.virtual" size.virtual:blocker "$out"

big=$(variant big)
truncate -s 61G "$big"
echo "start=$FXP_END, size=$((60 * 1024 * 2048)), type=83" | sfdisk -q --append --wipe never "$big"
out=$(codes "$big" --cloud tencent)
raised "60 GB copied whole (no filesystem) for Tencent: size.actual" size.actual:blocker "$out"
not_raised "... and kvm has no limit" size.actual "$(codes "$big" --cloud kvm)"

efi=$(variant efi)
printf '%s\n' "label: gpt" "start=$FXP_P1_START, size=$FXP_P1_SIZE" \
	"start=$FXP_P2_START, size=$FXP_P2_SIZE" "start=$FXP_P3_START, size=$FXP_P3_SIZE, type=U" |
	sfdisk -q --wipe never "$efi"
out=$(codes "$efi" --cloud tencent)
raised "an EFI system partition and no BIOS boot: boot.efi is a blocker for Tencent" \
	boot.efi:blocker "$out"
raised "... kvm takes it: info" boot.efi:info "$(codes "$efi" --cloud kvm)"

# /boot mounted from a filesystem that is not on the disk.
elsewhere=$(variant elsewhere)
debugfs -R "cat /etc/fstab" "$base?offset=$(fxp_off 2)" 2>/dev/null |
	sed 's|^/dev/sda1 |UUID=00000000-dead-4000-8000-000000000001 |' >"$T_DIR/fstab"
dbg "$elsewhere" 2 "rm /etc/fstab"
dbg "$elsewhere" 2 "write $T_DIR/fstab /etc/fstab"
out=$(codes "$elsewhere")
raised "/boot by a UUID not on the disk: boot.elsewhere is a blocker" boot.elsewhere:blocker "$out"
not_raised "... the base disk's /boot is on it" boot.elsewhere "$(codes "$base")"

# A journal that needs recovery (empty: nothing to replay but the flag).
dirty=$(variant dirty)
dbg "$dirty" 2 "feature needs_recovery"
raised "a journal that needs recovery: fs.dirty (capture replays it)" fs.dirty:info \
	"$(codes "$dirty")"

# A swap area holding a hibernation image.
hib=$(variant hib)
printf 'S1SUSPEND\0' | dd of="$hib" bs=1 seek=$((FXP_P3_START * 512 + 4086)) conv=notrunc status=none
raised "a hibernated swap area: swap.hibernated" swap.hibernated:info "$(codes "$hib")"

# VMware tools and NetworkManager started at boot.
svc=$(variant svc)
printf '[Unit]\nDescription=a unit\n' >"$T_DIR/unit"
dbg "$svc" 2 "write $T_DIR/unit /usr/lib/systemd/system/vmtoolsd.service"
dbg "$svc" 2 "write $T_DIR/unit /usr/lib/systemd/system/NetworkManager.service"
dbg "$svc" 2 "symlink /etc/systemd/system/multi-user.target.wants/vmtoolsd.service /usr/lib/systemd/system/vmtoolsd.service"
dbg "$svc" 2 "symlink /etc/systemd/system/multi-user.target.wants/NetworkManager.service /usr/lib/systemd/system/NetworkManager.service"
out=$(codes "$svc")
raised "vmtoolsd enabled: hv.tools" hv.tools:warning "$out"
raised "NetworkManager enabled: nm.enabled" nm.enabled:info "$out"
not_raised "... neither on the base disk" hv.tools "$(codes "$base")"

# An aarch64 shell for Alibaba (x86_64 only).
arm=$(variant arm)
{ printf '\177ELF\002\001\001'; head -c 11 /dev/zero; printf '\267\000'; head -c 44 /dev/zero; } >"$T_DIR/sh"
dbg "$arm" 2 "mkdir /bin"
dbg "$arm" 2 "write $T_DIR/sh /bin/sh"
out=$(codes "$arm" --cloud alibaba --format raw)
raised "an aarch64 system for Alibaba: arch.unsupported" arch.unsupported:blocker "$out"

# An ext2 root (no journal) for Alibaba (ext3 and ext4 only).
ext2=$(variant ext2)
mkdir "$T_DIR/trees"
fxp_trees "$T_DIR/trees"
mke2fs -q -F -t ext2 -b 4096 -U "$FXP_UUID_ROOT" -E "offset=$(fxp_off 2)" -d "$T_DIR/trees/root" \
	"$ext2" "$((FXP_P2_SIZE * FX_SECTOR / 1024))k"
out=$(codes "$ext2" --cloud alibaba --format raw)
raised "an ext2 root for Alibaba: fs.unsupported" fs.unsupported:blocker "$out"
not_raised "... ext4 is fine" fs.unsupported "$(codes "$base" --cloud alibaba --format raw)"

# The network: em1 is bound to its MAC (HWADDR=); a second NIC; IPv6.
ifcfg=/etc/sysconfig/network-scripts
out=$(codes "$base" --cloud tencent)
raised "HWADDR= in ifcfg-em1: net.hwaddr" net.hwaddr:warning "$out"
not_raised "one NIC: no net.multi" net.multi "$out"
not_raised "no IPv6 set up: no net.ipv6" net.ipv6 "$out"
net=$(variant net)
put "$net" 2 $ifcfg/ifcfg-em1 $'DEVICE=em1\nBOOTPROTO=none\nONBOOT=yes\nIPADDR=192.168.10.21\nPREFIX=24\nIPV6INIT=yes'
put "$net" 2 $ifcfg/ifcfg-em2 $'DEVICE=em2\nBOOTPROTO=dhcp\nONBOOT=yes'
out=$(codes "$net" --cloud tencent)
raised "a second NIC for Tencent: net.multi is a warning" net.multi:warning "$out"
raised "IPV6INIT=yes for Tencent: net.ipv6 is a warning" net.ipv6:warning "$out"
not_raised "no HWADDR=: no net.hwaddr" net.hwaddr "$out"
dbg "$net" 2 "mkdir /etc/sysctl.d"
put "$net" 2 /etc/sysctl.d/90-ipv6.conf 'net.ipv6.conf.all.disable_ipv6 = 1'
not_raised "IPv6 turned off by sysctl: no net.ipv6" net.ipv6 "$(codes "$net" --cloud tencent)"

# The fixes need room: / and /boot filled to the last block (and no file
# there that a fix removes, which would make room).
full=$(variant full)
dbg "$full" 2 "rm /etc/udev/rules.d/70-persistent-net.rules"
for n in 1 2; do
	free=$(dumpe2fs -h "$full?offset=$(fxp_off $n)" 2>/dev/null | sed -n 's/^Free blocks: *//p')
	head -c $((free * 4096)) /dev/urandom >"$T_DIR/fill"
	dbg "$full" "$n" "write $T_DIR/fill /fill"
done
out=$(codes "$full")
raised "/ and /boot full: space.low" space.low:blocker "$out"
check_eq "... and it blocks: exit 3" 3 "${out%% *}"
not_raised "room enough: no space.low" space.low "$(codes "$base")"
check_fails "a capture of it stops on the full filesystem" 1 \
	"full.img partition 2: cannot write .*: .*\(space.low\): free space on the server" \
	"$FERRY" capture --quiet --format raw "$full" "$T_DIR/full.raw"

# Virtio: the base kernel has it built in (its config); without the config,
# and without an initrd to add the modules to, it has none.
out=$(codes "$base" --cloud tencent)
not_raised "virtio built into the kernel: no virtio.missing" virtio.missing "$out"
novirtio=$(variant novirtio)
dbg "$novirtio" 1 "rm /config-$FXP_KVER"
out=$(codes "$novirtio" --cloud tencent)
raised "a kernel without virtio and no initrd: virtio.missing" virtio.missing:blocker "$out"
check_eq "... which capture cannot fix: exit 3" 3 "${out%% *}"

# /boot on a filesystem Ferry does not edit (btrfs: its signature where
# the ext4 was), and on one it does (FAT, made by mtools).
btrfs=$(variant btrfs)
dd if=/dev/zero of="$btrfs" bs=1K seek=$(($(fxp_off 1) / 1024)) count=68 conv=notrunc status=none
printf '_BHRfS_M' | dd of="$btrfs" bs=1 seek=$(($(fxp_off 1) + 0x10040)) conv=notrunc status=none
out=$(codes "$btrfs")
raised "/boot on btrfs: fs.noedit is a blocker (its kernels and boot loader unchecked)" \
	fs.noedit:blocker "$out"
fat=$(variant fat)
mformat -i "$fat@@$(fxp_off 1)" -T "$FXP_P1_SIZE" -h 2 -s 32 ::
not_raised "/boot on FAT: edited, no fs.noedit" fs.noedit "$(codes "$fat")"
not_raised "ext4 everywhere: no fs.noedit" fs.noedit "$(codes "$base")"

# A filesystem that cannot be opened (a damaged superblock on /srv of the
# Debian-shaped server disk).
fx_server_disk "$T_DIR/srv.img"
not_raised "every filesystem opens: no fs.unreadable" fs.unreadable "$(codes "$T_DIR/srv.img")"
printf '\377\377' | dd of="$T_DIR/srv.img" bs=1 seek=$(($(fx_off 5) + 1024 + 4)) conv=notrunc \
	status=none
raised "/srv's superblock damaged: fs.unreadable" fs.unreadable:warning "$(codes "$T_DIR/srv.img")"

# A data disk (no system); a GPT disk made by sgdisk; a qcow2 for Alibaba.
fx_filled_disk "$T_DIR/data.img" 8
raised "a data disk: root.missing" root.missing:blocker "$(codes "$T_DIR/data.img")"
gpt=$(variant gpt)
sgdisk -g "$gpt" >/dev/null
raised "a GPT table (sgdisk): table.gpt, a blocker for Tencent" table.gpt:blocker \
	"$(codes "$gpt" --cloud tencent)"
raised "a qcow2 image for Alibaba (RAW, VHD): format.unsupported" format.unsupported:blocker \
	"$(codes "$base" --cloud alibaba --format qcow2)"

# Every code of ferry check --codes was raised by one of the disks above
# and not by another; every output was valid against docs/check.schema.json.
missing=""
# shellcheck disable=SC2016 # the backquotes are Markdown's
for code in $("$FERRY" check --codes | sed -n 's/^| `\([^`]*\)`.*/\1/p'); do
	grep -q " $code:" "$T_DIR/all.codes" || missing="$missing $code(never)"
	grep -vq " $code:" "$T_DIR/all.codes" || missing="$missing $code(always)"
done
check_eq "every code: raised by one disk here and not by another" "" "$missing"
check_eq "every ferry check --json here is valid against the schema" "" \
	"$(cat "$T_DIR/schema.err" 2>/dev/null)"

check_eq "the base disk is unchanged" "$base_sha" "$(sha "$base")"
done_testing
