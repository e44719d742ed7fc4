# shellcheck shell=bash
# Builds the "physical server" disk the capture tests use, from a recipe:
# an msdos table; ext4 /boot (p1, holding grub/grub.cfg); ext4 / (p2, holding
# /etc/fstab and a 50 MB file); swap (p3); an extended partition (p4) with a
# logical ext4 /srv (p5). The disk starts out as random bytes and the
# filesystems are made without discard, so free space is dirty, the boot
# gap holds data and the swap area behind its header is not zero.
# Source after tap.sh.

# Sector layout (512-byte sectors).
FX_SECTOR=512
FX_P1_START=2048    FX_P1_SIZE=32768   # 16 MiB /boot
FX_P2_START=34816   FX_P2_SIZE=196608  # 96 MiB /
FX_P3_START=231424  FX_P3_SIZE=32768   # 16 MiB swap
FX_P4_START=264192  FX_P4_SIZE=43008   # 21 MiB extended
FX_P5_START=266240  FX_P5_SIZE=38912   # 19 MiB /srv (logical)
FX_END=$((FX_P4_START + FX_P4_SIZE))   # where the image must end
FX_DISK_SECTORS=$((FX_END + 16384))    # 8 MiB unpartitioned tail

FX_UUID_BOOT=0b7c6c8e-4b44-4a5e-9c2a-1f7c0c7d0b01
FX_UUID_ROOT=0b7c6c8e-4b44-4a5e-9c2a-1f7c0c7d0b02
FX_UUID_SWAP=0b7c6c8e-4b44-4a5e-9c2a-1f7c0c7d0b03
FX_UUID_SRV=0b7c6c8e-4b44-4a5e-9c2a-1f7c0c7d0b05

# fx_off PARTNUM: byte offset of a partition.
fx_off() {
	local v="FX_P$1_START"
	echo $((${!v} * FX_SECTOR))
}

# fx_mkext4 IMG PARTNUM UUID LABEL DIR
fx_mkext4() {
	local img=$1 n=$2 uuid=$3 label=$4 dir=$5 size
	size="FX_P${n}_SIZE"
	mke2fs -q -F -t ext4 -b 4096 -U "$uuid" -L "$label" \
		-E "offset=$(fx_off "$n"),nodiscard" -d "$dir" "$img" \
		"$((${!size} * FX_SECTOR / 1024))k"
}

# fx_trees DIR: the file trees of the three ext4 filesystems.
fx_trees() {
	local t=$1
	mkdir -p "$t/root/etc/default" "$t/root/boot" "$t/root/srv" \
		"$t/root/usr/bin" "$t/root/var/lib/app" "$t/root/home/admin" \
		"$t/boot/grub" "$t/srv/www"
	cat >"$t/root/etc/fstab" <<EOF
# /etc/fstab: static file system information.
UUID=$FX_UUID_ROOT /     ext4 errors=remount-ro 0 1
UUID=$FX_UUID_BOOT /boot ext4 defaults          0 2
UUID=$FX_UUID_SWAP none  swap sw                0 0
UUID=$FX_UUID_SRV  /srv  ext4 defaults          0 2
EOF
	echo "web01" >"$t/root/etc/hostname"
	printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n' >"$t/root/etc/default/grub"
	head -c 50000000 /dev/urandom >"$t/root/var/lib/app/data.bin"
	head -c 300000 /dev/urandom >"$t/root/usr/bin/app"
	seq 1 20000 >"$t/root/home/admin/numbers.txt"
	ln -s ../var/lib/app "$t/root/home/admin/app"
	cat >"$t/boot/grub/grub.cfg" <<EOF
set default=0
menuentry 'Debian GNU/Linux' {
	insmod ext2
	search --no-floppy --fs-uuid --set=root $FX_UUID_BOOT
	linux /vmlinuz-6.1.0-18-amd64 root=UUID=$FX_UUID_ROOT ro quiet
	initrd /initrd.img-6.1.0-18-amd64
}
EOF
	head -c 3000000 /dev/urandom >"$t/boot/vmlinuz-6.1.0-18-amd64"
	head -c 5000000 /dev/urandom >"$t/boot/initrd.img-6.1.0-18-amd64"
	# virtio built into the kernel: the image check has nothing to raise
	# (tests/unit/virtio_tree.sh makes kernels with virtio modules)
	printf 'CONFIG_%s=y\n' VIRTIO_PCI VIRTIO_BLK SCSI_VIRTIO VIRTIO_NET \
		>"$t/boot/config-6.1.0-18-amd64"
	head -c 2000000 /dev/urandom >"$t/srv/www/index.bin"
	echo "hello" >"$t/srv/www/index.html"
}

# fx_server_disk IMG: the whole disk.
fx_server_disk() {
	local img=$1 trees
	trees=$(mktemp -d "$T_DIR/trees.XXXXXX")
	head -c $((FX_DISK_SECTORS * FX_SECTOR)) /dev/urandom >"$img"
	sfdisk -q --wipe never "$img" <<EOF
label: dos
label-id: 0x5eed1e55
start=$FX_P1_START, size=$FX_P1_SIZE, type=83, bootable
start=$FX_P2_START, size=$FX_P2_SIZE, type=83
start=$FX_P3_START, size=$FX_P3_SIZE, type=82
start=$FX_P4_START, size=$FX_P4_SIZE, type=5
start=$FX_P5_START, size=$FX_P5_SIZE, type=83
EOF
	fx_trees "$trees"
	fx_mkext4 "$img" 1 "$FX_UUID_BOOT" boot "$trees/boot"
	fx_mkext4 "$img" 2 "$FX_UUID_ROOT" root "$trees/root"
	fx_mkext4 "$img" 5 "$FX_UUID_SRV" srv "$trees/srv"
	# mkswap writes only the header page; the rest of the area stays dirty.
	truncate -s $((FX_P3_SIZE * FX_SECTOR)) "$trees/swap"
	mkswap -q -U "$FX_UUID_SWAP" -L swap "$trees/swap"
	dd if="$trees/swap" of="$img" bs=4096 count=1 conv=notrunc status=none \
		seek=$((FX_P3_START * FX_SECTOR / 4096))
	rm -rf "$trees"
}

# fx_filled_disk IMG MIB: a disk with one MIB-MiB partition at 1 MiB, full of
# non-zero bytes of no filesystem Ferry reads: it is scanned and copied
# whole, which takes long enough to watch or interrupt.
fx_filled_disk() {
	local img=$1 mib=$2
	truncate -s $(((mib + 8) * 1024 * 1024)) "$img"
	echo "start=2048, size=$((mib * 2048)), type=83" | sfdisk -q "$img"
	# (yes ends with SIGPIPE when head has enough.)
	(set +o pipefail; yes ferry | head -c $((mib * 1024 * 1024)) |
		dd of="$img" bs=1M seek=1 conv=notrunc status=none iflag=fullblock)
}

# fx_gpt_disk IMG: a UEFI server's disk as RHEL 8 lays it out, 200 MiB,
# GPT made by sgdisk with fixed GUIDs: 1 the EFI system partition (FAT16 by
# mkfs.vfat, volume ID FX_ESP_ID; EFI/redhat/grub.cfg with a menu entry
# whose root= is /dev/sda3, EFI/redhat/grubenv whose kernelopts say
# root=/dev/sda3; its free clusters hold the text FERRY-FREE-CLUSTER, a
# deleted file's), 2 /boot (ext4: a BLS entry taking $kernelopts,
# grub2/grubenv a link to ../efi/EFI/redhat/grubenv), 3 / (ext4), ending at
# 111 MiB; the rest of the disk is free. /etc/fstab names /boot/efi by
# UUID=, /boot by PARTUUID= and / by kernel name, then has the lines of
# $FX_GPT_FSTAB_EXTRA if set. With FX_GPT_ENV_ON_BOOT set, grub2/grubenv is
# a file of its own on /boot (as RHEL 9 has it), a copy of the ESP's; with
# FX_GPT_DPKG=PACKAGE, dpkg's file list of PACKAGE is in /var/lib/dpkg/info.
FX_GPT_DISK_GUID=8e0f5a1c-3b7d-4c2e-9f1a-6d5e4c3b2a19
FX_GPT_P1_GUID=1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a10
FX_GPT_P2_GUID=2a3b4c5d-6e7f-4081-92a3-b4c5d6e7f802
FX_GPT_P3_GUID=3c4d5e6f-7a8b-49c0-8d1e-2f3a4b5c6d73
FX_ESP_ID=5EED1E55
fx_gpt_disk() {
	local img=$1 trees esp env
	trees=$(mktemp -d "$T_DIR/gpt.XXXXXX")
	truncate -s 200M "$img"
	sgdisk -U "$FX_GPT_DISK_GUID" \
		-n 1:2048:+20M -t 1:ef00 -u "1:$FX_GPT_P1_GUID" -c 1:EFI \
		-n 2:0:+30M -t 2:8300 -u "2:$FX_GPT_P2_GUID" -c 2:boot \
		-n 3:0:+60M -t 3:8300 -u "3:$FX_GPT_P3_GUID" -c 3:root "$img" >/dev/null
	mkdir -p "$trees/root/etc" "$trees/root/boot/efi" "$trees/boot/grub2" \
		"$trees/boot/loader/entries" "$trees/esp/EFI/redhat"
	cat >"$trees/root/etc/fstab" <<EOT
UUID=${FX_ESP_ID:0:4}-${FX_ESP_ID:4:4} /boot/efi vfat umask=0077 0 1
PARTUUID=$FX_GPT_P2_GUID /boot ext4 defaults 0 2
/dev/sda3 / ext4 errors=remount-ro 0 1
EOT
	[ -z "${FX_GPT_FSTAB_EXTRA:-}" ] || printf '%s\n' "$FX_GPT_FSTAB_EXTRA" >>"$trees/root/etc/fstab"
	cat >"$trees/esp/EFI/redhat/grub.cfg" <<EOT
search --no-floppy --fs-uuid --set=root $FX_UUID_BOOT
insmod blscfg
blscfg
menuentry 'Rescue' {
	linux /vmlinuz root=/dev/sda3 ro
	initrd /initramfs.img
}
EOT
	env="# GRUB Environment Block
saved_entry=rocky-5.14
kernelopts=root=/dev/sda3 ro crashkernel=auto
"
	{
		printf '%s' "$env"
		head -c $((1024 - ${#env})) /dev/zero | tr '\0' '#'
	} >"$trees/esp/EFI/redhat/grubenv"
	# shellcheck disable=SC2016 # GRUB's variable, for GRUB to expand
	printf 'title Rocky Linux\nlinux /vmlinuz\ninitrd /initramfs.img\noptions $kernelopts\n' \
		>"$trees/boot/loader/entries/rocky-5.14.conf"
	if [ -n "${FX_GPT_DPKG:-}" ]; then
		mkdir -p "$trees/root/var/lib/dpkg/info"
		echo /. >"$trees/root/var/lib/dpkg/info/$FX_GPT_DPKG.list"
	fi
	if [ -n "${FX_GPT_ENV_ON_BOOT:-}" ]; then
		cp "$trees/esp/EFI/redhat/grubenv" "$trees/boot/grub2/grubenv"
	else
		ln -s ../efi/EFI/redhat/grubenv "$trees/boot/grub2/grubenv"
	fi
	esp=$trees/esp.img
	truncate -s 20M "$esp"
	mkfs.vfat -F 16 -i "$FX_ESP_ID" -n ESP "$esp" >/dev/null
	(set +o pipefail; yes FERRY-FREE-CLUSTER | head -c 4M >"$trees/junk")
	mcopy -s -i "$esp" "$trees/esp/EFI" ::/
	mcopy -i "$esp" "$trees/junk" ::/junk
	mdel -i "$esp" ::/junk
	dd if="$esp" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
	mke2fs -q -F -t ext4 -U "$FX_UUID_BOOT" -L boot -E offset=$((21 * 1024 * 1024)) \
		-d "$trees/boot" "$img" 30M
	mke2fs -q -F -t ext4 -U "$FX_UUID_ROOT" -L root -E offset=$((51 * 1024 * 1024)) \
		-d "$trees/root" "$img" 60M
	rm -rf "$trees"
}
