# shellcheck shell=bash
# A "physical server" made of real Debian bookworm, never prepared for a
# cloud: installed with mmdebstrap onto raw disk images with an msdos table
# and GRUB in the MBR, and configured as such a server is: grub.cfg and fstab
# by /dev/sdX names, a data disk mounted from fstab, a static IP bound to
# the NIC's hardware address, 70-persistent-net.rules, SELinux enforcing in
# /etc/selinux/config, ufw enabled, and an initrd with only the physical
# disk drivers (initramfs-tools MODULES=list: ata_piix ahci sd_mod ext4).
# It boots with its disks on IDE and an e1000 NIC; with virtio devices only
# it does not.
#
# Variants:
#   server     sda1 / (ext4), sda2 swap; 3 GiB
#   server-ci  cloud-init installed; sda1 /boot, sda2 extended with sda5 /
#              and sda6 swap (the Debian installer's layout); 4 GiB
# Each has a 256 MiB data disk (sdb1, ext4, mounted at /data), which
# lib/migrate.sh puts behind a MegaRAID controller.
#
# Once multi-user.target is reached, /usr/local/sbin/ferry-marker prints on
# the kernel's console (ttyS0), after the kernel's time stamp:
#   FERRY-BOOTED host=db01 root=/dev/sda1 data=/dev/sdb1 multi-user=active
#   FERRY-NET IFACE ADDRESS/PREFIX dynamic|static   (one line per address)
#   FERRY-FAILED UNIT                                (one line per failed unit)
#   FERRY-END
#
# Source it from a bash test (after tap.sh), or run it: server.sh [VARIANT...]
# builds the variants and prints their cache entries. Cached like debtree.sh
# (the recipe's hash is the key; FERRY_CACHE, FERRY_MIRROR).

SV_LIB=${BASH_SOURCE[0]}
# shellcheck source=debtree.sh
. "$(dirname "$SV_LIB")/debtree.sh"
# shellcheck disable=SC2034 # read by dt_cached
DT_SOURCES=$SV_LIB

SV_VARIANTS="server server-ci"
SV_HOST=db01
SV_MAC=00:25:90:ab:cd:ef
SV_IP=192.168.10.21
SV_GW=192.168.10.1
SV_NIC=eno1
SV_CONSOLE="console=tty0 console=ttyS0,115200"
SV_MIB=1048576

sv_packages() {
	local base="linux-image-amd64 grub-pc initramfs-tools busybox zstd systemd
systemd-sysv udev kmod ifupdown isc-dhcp-client iproute2 iptables openssh-server ufw
e2fsprogs procps"
	# shellcheck disable=SC2086 # one line, words as they are
	case $1 in
	server) echo $base ;;
	server-ci) echo $base cloud-init ;;
	*) return 1 ;;
	esac
}

# sv_layout VARIANT: disk size in MiB, then one line per partition:
# NUMBER START-MIB SIZE-MIB TYPE MOUNTPOINT (TYPE: ext4, swap, extended).
sv_layout() {
	case $1 in
	server) printf '%s\n' 3072 "1 1 2815 ext4 /" "2 2816 256 swap -" ;;
	server-ci) printf '%s\n' 4096 "1 1 256 ext4 /boot" "2 257 3839 extended -" \
		"5 258 3581 ext4 /" "6 3840 256 swap -" ;;
	*) return 1 ;;
	esac
}

# sv_put ROOT PATH: stdin becomes ROOT/PATH. The stage is a tree of hard
# links into the cache: a file is replaced, never written through.
sv_put() {
	: "${1:?no root}"
	mkdir -p "$(dirname "$1/$2")"
	rm -f "$1/$2"
	cat >"$1/$2"
}

# The marker: what the boot tests wait for on the serial console.
# shellcheck disable=SC2016 # the script's own expansions
sv_marker_script() {
	printf '%s\n' '#!/bin/sh' \
		'# Ferry boot tests: multi-user.target is reached; say so on the console' \
		'# with the IPv4 addresses (waiting up to 60 s for one) and the failed' \
		'# units. Through the kernel (/dev/kmsg, level 2): a getty on ttyS0 hangs' \
		'# up whoever else has it open.' \
		'i=0' \
		'while [ $i -lt 60 ] && [ -z "$(ip -o -4 addr show scope global)" ]; do' \
		'	sleep 1' \
		'	i=$((i + 1))' \
		'done' \
		'{' \
		'	echo "<2>FERRY-BOOTED host=$(hostname) root=$(findmnt -n -o SOURCE /) data=$(findmnt -n -o SOURCE /data || echo none) multi-user=$(systemctl is-active multi-user.target)"' \
		'	ip -o -4 addr show scope global | while read -r _n ifc _fam addr rest; do' \
		'		case $rest in *dynamic*) how=dynamic ;; *) how=static ;; esac' \
		'		echo "<2>FERRY-NET $ifc $addr $how"' \
		'	done' \
		'	systemctl list-units --failed --plain --no-legend | while read -r unit _rest; do' \
		'		echo "<2>FERRY-FAILED $unit"' \
		'	done' \
		'	echo "<2>FERRY-END"' \
		'} >/dev/kmsg'
}

sv_marker_unit() {
	printf '%s\n' '[Unit]' 'Description=Ferry boot test marker on the console' \
		'After=multi-user.target' '' '[Service]' 'Type=simple' \
		'ExecStart=/usr/local/sbin/ferry-marker' '' '[Install]' 'WantedBy=multi-user.target'
}

# sv_build_tree VARIANT DIR (under set -e in its own bash): DIR/root, the
# installed system with its initrd, and DIR/kver.
sv_build_tree() {
	local v=$1 root=$2/root p kver bad
	dt_mmdebstrap minbase "$root" "$(sv_packages "$v")"
	kver=$(cd "$root/boot" && ls vmlinuz-*)
	kver=${kver#vmlinuz-}
	# The admin listed the drivers of this server's disks.
	# shellcheck disable=SC2086 # one driver a line
	printf '%s\n' $DT_PHYS_DRIVERS >>"$root/etc/initramfs-tools/modules"
	echo MODULES=list >"$root/etc/initramfs-tools/conf.d/ferry-modules"
	env -i PATH="$DT_CHROOT_PATH" chroot "$root" mkinitramfs -o "/boot/initrd.img-$kver" "$kver"
	env -i PATH="$DT_CHROOT_PATH" chroot "$root" lsinitramfs "/boot/initrd.img-$kver" |
		dt_modules_in >"$2/modules.txt"
	bad=$(sed -n "/virtio/p" "$2/modules.txt" | tr "\n" " ")
	[ -z "$bad" ] || { echo "$v: the initrd has virtio modules: $bad" >&2; return 1; }
	for p in $DT_PHYS_DRIVERS; do
		grep -qx "$p" "$2/modules.txt" || { echo "$v: the initrd lacks $p" >&2; return 1; }
	done
	ln -sfn "boot/vmlinuz-$kver" "$root/vmlinuz"
	ln -sfn "boot/initrd.img-$kver" "$root/initrd.img"
	echo "$kver" >"$2/kver"
}

# sv_configure VARIANT STAGE KVER: the server's own configuration.
# shellcheck disable=SC2016 # GRUB's and the shell's own expansions
sv_configure() {
	local v=$1 r=$2 kver=$3 rootdev n start size type mnt opts pass
	: "${r:?}"
	rootdev=$(sv_layout "$v" | awk '$5 == "/" { print "/dev/sda" $1 }')
	{
		echo "# /etc/fstab: static file system information."
		echo "#"
		echo "# <file system> <mount point>   <type>  <options>       <dump>  <pass>"
		sv_layout "$v" | sed 1d | while read -r n start size type mnt; do
			case $type in
			ext4)
				opts=defaults pass=2
				[ "$mnt" != / ] || opts=errors=remount-ro pass=1
				printf '/dev/sda%s\t%s\text4\t%s\t0\t%s\n' "$n" "$mnt" "$opts" "$pass" ;;
			swap) printf '/dev/sda%s\tnone\tswap\tsw\t0\t0\n' "$n" ;;
			esac
		done
		printf '/dev/sdb1\t/data\text4\tdefaults\t0\t2\n'
		printf '/dev/sr0\t/media/cdrom0\tudf,iso9660\tuser,noauto\t0\t0\n'
	} | sv_put "$r" etc/fstab
	mkdir -p "$r/data" "$r/media/cdrom0"
	echo "$SV_HOST" | sv_put "$r" etc/hostname
	printf '%s\n' "127.0.0.1	localhost" "$SV_IP	$SV_HOST.example.com	$SV_HOST" \
		"::1		localhost ip6-localhost ip6-loopback" | sv_put "$r" etc/hosts
	printf '%s\n' "# The loopback network interface" "auto lo" "iface lo inet loopback" "" \
		"# The primary network interface" "allow-hotplug $SV_NIC" "iface $SV_NIC inet static" \
		"	address $SV_IP/24" "	gateway $SV_GW" "	hwaddress ether $SV_MAC" \
		"	dns-nameservers 192.168.10.2" | sv_put "$r" etc/network/interfaces
	printf '%s\n' "# This file was automatically generated by the /lib/udev/write_net_rules" \
		"# program, run by the persistent-net-generator.rules rules file." "" \
		"# PCI device 0x8086:0x100e (e1000e)" \
		"SUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"$SV_MAC\", ATTR{dev_id}==\"0x0\", ATTR{type}==\"1\", KERNEL==\"eth*\", NAME=\"$SV_NIC\"" \
		| sv_put "$r" etc/udev/rules.d/70-persistent-net.rules
	printf '%s\n' "# This file controls the state of SELinux on the system." \
		"SELINUX=enforcing" "SELINUXTYPE=default" | sv_put "$r" etc/selinux/config
	sed 's/^ENABLED=.*/ENABLED=yes/' "$r/etc/ufw/ufw.conf" | sv_put "$r" etc/ufw/ufw.conf.new
	mv "$r/etc/ufw/ufw.conf.new" "$r/etc/ufw/ufw.conf"
	[ -L "$r/etc/systemd/system/multi-user.target.wants/ufw.service" ] ||
		ln -s /lib/systemd/system/ufw.service "$r/etc/systemd/system/multi-user.target.wants/ufw.service"
	grep -qx ENABLED=yes "$r/etc/ufw/ufw.conf"
	sv_marker_script | sv_put "$r" usr/local/sbin/ferry-marker
	chmod 755 "$r/usr/local/sbin/ferry-marker"
	sv_marker_unit | sv_put "$r" etc/systemd/system/ferry-marker.service
	ln -sfn /etc/systemd/system/ferry-marker.service \
		"$r/etc/systemd/system/multi-user.target.wants/ferry-marker.service"
	# GRUB as grub-install and grub-mkconfig (GRUB_DISABLE_LINUX_UUID=true)
	# leave it on a server installed with device names.
	printf '%s\n' "GRUB_DEFAULT=0" "GRUB_TIMEOUT=1" \
		'GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`' \
		'GRUB_CMDLINE_LINUX_DEFAULT=""' "GRUB_CMDLINE_LINUX=\"$SV_CONSOLE\"" \
		'GRUB_TERMINAL="console serial"' \
		'GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"' \
		"GRUB_DISABLE_LINUX_UUID=true" | sv_put "$r" etc/default/grub
	mkdir -p "$r/boot/grub/i386-pc"
	cp "$r"/usr/lib/grub/i386-pc/*.mod "$r"/usr/lib/grub/i386-pc/*.lst "$r/boot/grub/i386-pc/"
	{
		printf '%s\n' "#" "# DO NOT EDIT THIS FILE" "#" \
			"# It is automatically generated by grub-mkconfig using templates" \
			"# from /etc/grub.d and settings from /etc/default/grub" "#" "" \
			"### BEGIN /etc/grub.d/00_header ###" \
			'if [ -s $prefix/grubenv ]; then' '  load_env' 'fi' 'set default="0"' \
			'function load_video {' '  insmod all_video' '}' \
			'serial --unit=0 --speed=115200' 'terminal_input console serial' \
			'terminal_output console serial' 'set timeout=1' \
			"### END /etc/grub.d/00_header ###" "" "### BEGIN /etc/grub.d/10_linux ###" \
			"menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os \$menuentry_id_option 'gnulinux-simple-$rootdev' {" \
			"	load_video" "	insmod gzio" "	insmod part_msdos" "	insmod ext2" \
			"	set root='hd0,msdos1'" \
			"	echo	'Loading Linux $kver ...'" \
			"	linux	$(sv_kdir "$v")/vmlinuz-$kver root=$rootdev ro $SV_CONSOLE" \
			"	echo	'Loading initial ramdisk ...'" \
			"	initrd	$(sv_kdir "$v")/initrd.img-$kver" "}" \
			"### END /etc/grub.d/10_linux ###"
	} | sv_put "$r" boot/grub/grub.cfg
}

# sv_kdir VARIANT: /boot, or nothing when /boot is a partition of its own
# (the kernel's path as GRUB sees it).
sv_kdir() {
	sv_layout "$1" | awk '$5 == "/boot" { b = 1 } END { if (!b) print "/boot" }'
}

# sv_mkswap IMG OFFSET-MIB SIZE-MIB UUID: a swap signature, as mkswap leaves it.
sv_mkswap() {
	local tmp=$1.swap
	truncate -s "$3M" "$tmp"
	mkswap -q -U "$4" "$tmp"
	dd if="$tmp" of="$1" bs=4096 count=1 seek=$(($2 * 256)) conv=notrunc status=none
	rm -f "$tmp"
}

# sv_build_disk VARIANT DIR (under set -e in its own bash): DIR/disk.img
# (the system disk), DIR/data.img (the data disk), DIR/kver, DIR/root-uuid.
sv_build_disk() {
	local v=$1 dir=$2 tree kver stage size n start sz type mnt uuid img core t
	local script="label: dos
label-id: 0x5e1f0a11"
	tree=$(sv_tree "$v")
	kver=$(cat "$tree/kver")
	stage=$dir/stage
	# Hard links: the tree is not copied (sv_put replaces files).
	cp -al "$tree/root" "$stage"
	find "$stage/tmp" "$stage/var/tmp" -mindepth 1 -delete
	sv_configure "$v" "$stage" "$kver"
	size=$(sv_layout "$v" | head -n 1)
	img=$dir/disk.img
	truncate -s "${size}M" "$img"
	while read -r n start sz type mnt; do
		case $type in
		ext4) t=83 ;; swap) t=82 ;; extended) t=5 ;;
		esac
		[ "$n" != 1 ] || t="$t, bootable"
		script="$script
start=$((start * 2048)), size=$((sz * 2048)), type=$t"
	done < <(sv_layout "$v" | sed 1d)
	printf '%s\n' "$script" | sfdisk -q --wipe never "$img"
	if [ -z "$(sv_kdir "$v")" ]; then
		mv "$stage/boot" "$dir/bootfs"
		mkdir "$stage/boot"
	fi
	while read -r n start sz type mnt; do
		uuid=$(cat /proc/sys/kernel/random/uuid)
		case $type:$mnt in
		ext4:/) mke2fs -q -F -t ext4 -U "$uuid" -E "offset=$((start * SV_MIB))" \
			-d "$stage" "$img" "${sz}M"
			echo "$uuid" >"$dir/root-uuid" ;;
		ext4:/boot) mke2fs -q -F -t ext4 -U "$uuid" -E "offset=$((start * SV_MIB))" \
			-d "$dir/bootfs" "$img" "${sz}M" ;;
		swap:*) sv_mkswap "$img" "$start" "$sz" "$uuid" ;;
		esac
	done < <(sv_layout "$v" | sed 1d)
	# GRUB in the MBR and the gap after it, as grub-install puts it there:
	# boot.img's code (its default says: core.img at sector 1) and core.img,
	# whose first sector loads the rest from sector 2 on.
	core=ferry-core-$$.img
	env -i PATH="$DT_CHROOT_PATH" chroot "$tree/root" grub-mkimage -O i386-pc \
		-o "/tmp/$core" -p "(hd0,msdos1)$(sv_kdir "$v")/grub" biosdisk part_msdos ext2
	mv "$tree/root/tmp/$core" "$dir/core.img"
	[ "$(stat -c %s "$dir/core.img")" -lt $((SV_MIB - 512)) ]
	dd if="$tree/root/usr/lib/grub/i386-pc/boot.img" of="$img" bs=440 count=1 conv=notrunc status=none
	dd if="$dir/core.img" of="$img" bs=512 seek=1 conv=notrunc status=none
	rm -rf "$stage" "$dir/bootfs"
	# The data disk: sdb1, mounted at /data.
	mkdir -p "$dir/data/reports"
	head -c 4000000 /dev/urandom >"$dir/data/reports/2026-q3.bin"
	echo "data disk of $SV_HOST" >"$dir/data/README"
	truncate -s 256M "$dir/data.img"
	echo "start=2048, type=83" | sfdisk -q --label dos "$dir/data.img"
	mke2fs -q -F -t ext4 -E "offset=$SV_MIB" -d "$dir/data" "$dir/data.img" 255M
	rm -rf "$dir/data"
	echo "$kver" >"$dir/kver"
}

# --- the cache

sv_tree_key() {
	dt_hash "$1 $DT_SUITE $DT_MIRROR $(sv_packages "$1") $DT_EXCLUDES $DT_MOD_EXCLUDES
$DT_PHYS_DRIVERS $(declare -f sv_build_tree dt_mmdebstrap dt_modules_in)"
}

sv_disk_key() {
	dt_hash "$1 $(sv_tree_key "$1") $SV_HOST $SV_MAC $SV_IP $SV_GW $SV_NIC $SV_CONSOLE
$(declare -f sv_build_disk sv_configure sv_layout sv_kdir sv_mkswap sv_put sv_marker_script sv_marker_unit)"
}

# sv_tree VARIANT: root/ (the installed system), kver, modules.txt (its
# initrd's modules).
sv_tree() {
	local key
	key=$(sv_tree_key "$1") || return 1
	dt_cached "srvtree-$1" "$key" sv_build_tree "$1"
}

# sv_disk VARIANT: disk.img, data.img, kver, root-uuid, core.img.
sv_disk() {
	local key
	key=$(sv_disk_key "$1") || return 1
	dt_cached "srvdisk-$1" "$key" sv_build_disk "$1"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -eu -o pipefail
	# shellcheck disable=SC2048,SC2086 # the default list is split on purpose
	for v in ${*:-$SV_VARIANTS}; do
		echo "$v $(sv_disk "$v")"
	done
fi
