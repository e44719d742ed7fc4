# shellcheck shell=bash
# A RHEL-shaped "physical server" made of Debian bookworm packages (Debian
# has dracut, lvm2, xfsprogs, firewalld and NetworkManager), laid out as
# Anaconda lays out CentOS/RHEL 7-9:
#   sda1  /boot, XFS (GRUB 2 reads it; grub.cfg in /boot/grub2)
#   sda2  an LVM2 PV; volume group rl: root (XFS) and swap
# root=/dev/mapper/rl-root rd.lvm.lv=rl/root rd.lvm.lv=rl/swap on the kernel
# command line; /etc/fstab names / and swap by their device-mapper names;
# a dracut initrd (initramfs-KVER.img) with the physical disk drivers, XFS
# and LVM, and no virtio; firewalld enabled; SELinux enforcing in
# /etc/selinux/config; a NetworkManager keyfile with a static address on
# the NIC, bound to its hardware address. GRUB is in the MBR.
# It boots on IDE with an e1000 NIC; with virtio devices only it does not.
# The marker (lib/server.sh) says so on the console once multi-user.target
# is reached.
#
# Source it from a bash test (after tap.sh), or run it: rhel.sh builds the
# fixture and prints its cache entry. Cached like debtree.sh.

RH_LIB=${BASH_SOURCE[0]}
# shellcheck source=server.sh
. "$(dirname "$RH_LIB")/server.sh"
# Outside a test (the fixture builder's own bash), cleanup.sh gives lvm.sh
# its attach and detach; the builder detaches what it attaches itself.
# shellcheck source=../../lib/cleanup.sh
declare -F attach >/dev/null || . "$(dirname "$RH_LIB")/../../lib/cleanup.sh"
# shellcheck source=../../lib/lvm.sh
. "$(dirname "$RH_LIB")/../../lib/lvm.sh"
# shellcheck disable=SC2034 # read by dt_cached
DT_SOURCES=$SV_LIB:$RH_LIB:$(dirname "$RH_LIB")/../../lib/lvm.sh

RH_VG=rl
RH_DISK_MIB=3072
RH_BOOT_MIB=320           # mkfs.xfs makes nothing smaller than 300 MB
RH_SWAP_MIB=256
RH_DRIVERS="ata_piix ahci sd_mod xfs dm-mod"
RH_CMDLINE="root=/dev/mapper/$RH_VG-root ro rd.lvm.lv=$RH_VG/root rd.lvm.lv=$RH_VG/swap"

rh_packages() {
	echo "linux-image-amd64 grub-pc dracut lvm2 xfsprogs firewalld network-manager
systemd systemd-sysv udev kmod iproute2 procps zstd dbus"
}

# rh_build_tree DIR (under set -e in its own bash): DIR/root, DIR/kver.
rh_build_tree() {
	local root=$1/root kver
	dt_mmdebstrap minbase "$root" "$(rh_packages)"
	kver=$(cd "$root/boot" && ls vmlinuz-*)
	echo "${kver#vmlinuz-}" >"$1/kver"
}

# rh_configure STAGE KVER BOOT-UUID: the server's own configuration.
# shellcheck disable=SC2016 # GRUB's own expansions
rh_configure() {
	local r=$1 kver=$2 buuid=$3
	: "${r:?}"
	printf '%s\n' "#" "# /etc/fstab" "# Created by anaconda on Tue Mar  3 10:12:44 2020" "#" \
		"/dev/mapper/$RH_VG-root     /                       xfs     defaults        0 0" \
		"UUID=$buuid /boot                   xfs     defaults        0 0" \
		"/dev/mapper/$RH_VG-swap     none                    swap    defaults        0 0" \
		| sv_put "$r" etc/fstab
	echo "$SV_HOST" | sv_put "$r" etc/hostname
	printf '%s\n' "127.0.0.1 localhost" "$SV_IP $SV_HOST.example.com $SV_HOST" | sv_put "$r" etc/hosts
	printf '%s\n' "[connection]" "id=$SV_NIC" "type=ethernet" "interface-name=$SV_NIC" \
		"autoconnect=true" "" "[ethernet]" "mac-address=${SV_MAC^^}" "" "[ipv4]" \
		"method=manual" "address1=$SV_IP/24,$SV_GW" "dns=192.168.10.2;" "" "[ipv6]" \
		"method=ignore" | sv_put "$r" etc/NetworkManager/system-connections/$SV_NIC.nmconnection
	chmod 600 "$r/etc/NetworkManager/system-connections/$SV_NIC.nmconnection"
	printf '%s\n' "# PCI device 0x8086:0x100e (e1000)" \
		"SUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"$SV_MAC\", ATTR{type}==\"1\", KERNEL==\"eth*\", NAME=\"$SV_NIC\"" \
		| sv_put "$r" etc/udev/rules.d/70-persistent-net.rules
	printf '%s\n' "# This file controls the state of SELinux on the system." \
		"SELINUX=enforcing" "SELINUXTYPE=targeted" | sv_put "$r" etc/selinux/config
	mkdir -p "$r/etc/systemd/system/multi-user.target.wants"
	ln -sfn /lib/systemd/system/firewalld.service \
		"$r/etc/systemd/system/multi-user.target.wants/firewalld.service"
	ln -sfn /lib/systemd/system/firewalld.service \
		"$r/etc/systemd/system/dbus-org.fedoraproject.FirewallD1.service"
	sv_marker_script | sv_put "$r" usr/local/sbin/ferry-marker
	chmod 755 "$r/usr/local/sbin/ferry-marker"
	sv_marker_unit | sv_put "$r" etc/systemd/system/ferry-marker.service
	ln -sfn /etc/systemd/system/ferry-marker.service \
		"$r/etc/systemd/system/multi-user.target.wants/ferry-marker.service"
	printf '%s\n' "GRUB_TIMEOUT=1" "GRUB_DEFAULT=saved" "GRUB_TERMINAL_OUTPUT=\"console serial\"" \
		"GRUB_CMDLINE_LINUX=\"rd.lvm.lv=$RH_VG/root rd.lvm.lv=$RH_VG/swap $SV_CONSOLE\"" \
		"GRUB_DISABLE_RECOVERY=\"true\"" | sv_put "$r" etc/default/grub
	mkdir -p "$r/boot/grub2/i386-pc"
	cp "$r"/usr/lib/grub/i386-pc/*.mod "$r"/usr/lib/grub/i386-pc/*.lst "$r/boot/grub2/i386-pc/"
	printf '%s\n' "### BEGIN /etc/grub.d/00_header ###" 'set default="0"' \
		'serial --unit=0 --speed=115200' 'terminal_input console serial' \
		'terminal_output console serial' 'set timeout=1' "### END /etc/grub.d/00_header ###" \
		"### BEGIN /etc/grub.d/10_linux ###" \
		"menuentry 'Rocky Linux ($kver) 9.2 (Blue Onyx)' --class rocky --class gnu-linux --class gnu --class os {" \
		"	insmod gzio" "	insmod part_msdos" "	insmod xfs" "	set root='hd0,msdos1'" \
		"	search --no-floppy --fs-uuid --set=root $buuid" \
		"	linux16 /vmlinuz-$kver $RH_CMDLINE $SV_CONSOLE" \
		"	initrd16 /initramfs-$kver.img" "}" "### END /etc/grub.d/10_linux ###" \
		| sv_put "$r" boot/grub2/grub.cfg
}

# rh_put_fs IMG OFFSET SIZE FSTYPE UUID TREE: a filesystem made on a loop
# device over [OFFSET, OFFSET+SIZE) of IMG and filled with TREE.
rh_put_fs() {
	local img=$1 off=$2 size=$3 fstype=$4 uuid=$5 tree=$6 l mnt
	l=$(losetup -f --show -o "$off" --sizelimit "$size" "$img")
	blockdev --setrw "$l"
	mnt=$(mktemp -d)
	case $fstype in
	xfs) mkfs.xfs -q -f -m uuid="$uuid" "$l" ;;
	swap) mkswap -q -U "$uuid" "$l" ;;
	esac
	if [ "$fstype" = xfs ]; then
		mount "$l" "$mnt"
		cp -a "$tree/." "$mnt/"
		umount "$mnt"
	fi
	rmdir "$mnt"
	blockdev --setrw "$l"
	losetup -d "$l"
}

# rh_build_disk DIR (under set -e in its own bash): DIR/disk.img, kver,
# root-uuid, boot-uuid.
rh_build_disk() {
	local dir=$1 tree kver stage initrd img buuid ruuid suuid core rep pv_off pv_size
	tree=$(rh_tree)
	kver=$(cat "$tree/kver")
	stage=$dir/stage
	cp -al "$tree/root" "$stage"
	find "$stage/tmp" "$stage/var/tmp" -mindepth 1 -delete
	buuid=$(cat /proc/sys/kernel/random/uuid)
	ruuid=$(cat /proc/sys/kernel/random/uuid)
	suuid=$(cat /proc/sys/kernel/random/uuid)
	rh_configure "$stage" "$kver" "$buuid"
	# The initrd, as dracut makes it: the physical drivers, XFS and LVM
	# (dracut's lvm module), no virtio.
	initrd=ferry-rhel-$$.img
	env -i PATH="$DT_CHROOT_PATH" chroot "$stage" dracut --quiet --force --no-hostonly \
		--add lvm --omit "$DT_DRACUT_OMIT" --omit-drivers "$DT_VIRTIO_DRIVERS" \
		--drivers "$RH_DRIVERS" --compress xz "/tmp/$initrd" "$kver"
	mv "$stage/tmp/$initrd" "$stage/boot/initramfs-$kver.img"
	rm -f "$stage"/boot/initrd.img-* "$stage/initrd.img" "$stage/initrd.img.old"
	env -i PATH="$DT_CHROOT_PATH" chroot "$stage" lsinitrd "/boot/initramfs-$kver.img" |
		dt_modules_in >"$dir/modules.txt"
	if grep -q virtio "$dir/modules.txt" || ! grep -qx xfs "$dir/modules.txt" ||
		! grep -qx dm_mod "$dir/modules.txt"; then
		echo "the initrd is not what a RHEL server without virtio has:" \
			"$(tr '\n' ' ' <"$dir/modules.txt")" >&2
		return 1
	fi
	mv "$stage/boot" "$dir/bootfs"
	mkdir "$stage/boot"
	img=$dir/disk.img
	truncate -s "${RH_DISK_MIB}M" "$img"
	printf '%s\n' "label: dos" "label-id: 0x7e1f0a11" \
		"start=2048, size=$((RH_BOOT_MIB * 2048)), type=83, bootable" \
		"start=$(((RH_BOOT_MIB + 1) * 2048)), type=8e" | sfdisk -q --wipe never "$img"
	rh_put_fs "$img" "$SV_MIB" $((RH_BOOT_MIB * SV_MIB)) xfs "$buuid" "$dir/bootfs"
	# The volume group, by lvm2's own tools (tests/lib/lvm.sh; no
	# device-mapper here: the volumes are written through loop devices
	# over their extents).
	T_DIR=$dir/lvmtmp
	mkdir -p "$T_DIR"
	pv_off=$(((RH_BOOT_MIB + 1) * SV_MIB))
	pv_size=$(((RH_DISK_MIB - RH_BOOT_MIB - 1) * SV_MIB))
	lvm_pv "$img" "$pv_off" "$pv_size"
	lvm_cmd vgcreate -q -s 4m "$RH_VG" "$LVM_PV" >/dev/null
	lvm_cmd lvcreate -q -an -Zn -L "${RH_SWAP_MIB}m" -n swap "$RH_VG" >/dev/null
	lvm_cmd lvcreate -q -an -Zn -l 100%FREE -n root "$RH_VG" >/dev/null
	rep=$dir/lvm.json
	lvm_report "$RH_VG" "$rep"
	lvm_release
	# Each LV is one segment here: a loop device over its bytes.
	rh_put_lv() {
		python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
s = [x for x in r["segments"] if x["lv_name"] == sys.argv[2]][0]
dev, rng = s["seg_pe_ranges"].rsplit(":", 1)
pv = r["pvs"][dev]
print(pv["offset"] + pv["pe_start"] + int(rng.split("-")[0]) * r["extent_size"],
      int(s["seg_size_pe"]) * r["extent_size"])' "$rep" "$1"
	}
	read -r off size < <(rh_put_lv swap)
	rh_put_fs "$img" "$off" "$size" swap "$suuid" -
	read -r off size < <(rh_put_lv root)
	rh_put_fs "$img" "$off" "$size" xfs "$ruuid" "$stage"
	rm -rf "$T_DIR"
	# GRUB in the MBR and the gap, core.img reading /boot/grub2 on XFS.
	core=ferry-core-$$.img
	env -i PATH="$DT_CHROOT_PATH" chroot "$tree/root" grub-mkimage -O i386-pc \
		-o "/tmp/$core" -p "(hd0,msdos1)/grub2" biosdisk part_msdos xfs
	mv "$tree/root/tmp/$core" "$dir/core.img"
	dd if="$tree/root/usr/lib/grub/i386-pc/boot.img" of="$img" bs=440 count=1 conv=notrunc status=none
	dd if="$dir/core.img" of="$img" bs=512 seek=1 conv=notrunc status=none
	rm -rf "$stage" "$dir/bootfs"
	echo "$kver" >"$dir/kver"
	echo "$ruuid" >"$dir/root-uuid"
	echo "$buuid" >"$dir/boot-uuid"
}

rh_tree_key() {
	dt_hash "rhel $DT_SUITE $DT_MIRROR $(rh_packages) $DT_EXCLUDES $DT_MOD_EXCLUDES
$(declare -f rh_build_tree dt_mmdebstrap)"
}

rh_disk_key() {
	dt_hash "$(rh_tree_key) $SV_HOST $SV_MAC $SV_IP $SV_GW $SV_NIC $SV_CONSOLE $RH_VG $RH_DISK_MIB
$RH_BOOT_MIB $RH_SWAP_MIB $RH_DRIVERS $RH_CMDLINE $DT_DRACUT_OMIT $DT_VIRTIO_DRIVERS
$(declare -f rh_build_disk rh_configure rh_put_fs sv_put sv_marker_script sv_marker_unit dt_modules_in)
$(declare -f lvm_conf lvm_cmd lvm_attach lvm_pv lvm_report lvm_release attach detach undo_now)"
}

# rh_tree: root/ (the installed system), kver.
rh_tree() {
	local key
	key=$(rh_tree_key) || return 1
	dt_cached "rheltree" "$key" rh_build_tree
}

# rh_disk: disk.img, lvm.json (where the LVs are), kver, root-uuid, boot-uuid.
rh_disk() {
	local key
	key=$(rh_disk_key) || return 1
	dt_cached "rheldisk" "$key" rh_build_disk
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -eu -o pipefail
	rh_disk
fi
