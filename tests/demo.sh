#!/bin/bash
# make demo: the main job on a built-in demo "server disk". Builds the disk,
# runs ferry scan and ferry capture into OUTDIR, checks the image with
# qemu-img and e2fsck, and says what happened.
# usage: FERRY=path/to/ferry tests/demo.sh OUTDIR
set -eu -o pipefail

: "${FERRY:?FERRY must name the ferry binary}"
out=${1:?usage: $0 OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

disk=$out/server-disk.img
image=$out/server.qcow2
root_uuid=6c0ffee0-0d15-4c1e-a000-000000000001
swap_uuid=6c0ffee0-0d15-4c1e-a000-000000000002
say() { printf '\n== %s\n' "$*"; }

say "1. A demo server disk: $disk"
tree=$work/root
mkdir -p "$tree"/{etc/default,etc/network,boot/grub,usr/bin,usr/lib,var/log,home/ops,root,tmp}
cat >"$tree/etc/fstab" <<EOF
# /etc/fstab: static file system information.
UUID=$root_uuid / ext4 errors=remount-ro 0 1
UUID=$swap_uuid none swap sw 0 0
EOF
cat >"$tree/etc/os-release" <<EOF
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
EOF
echo demo-web01 >"$tree/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/bash\nops:x:1000:1000::/home/ops:/bin/bash\n' >"$tree/etc/passwd"
printf 'auto lo\niface lo inet loopback\nauto eno1\niface eno1 inet static\n  address 192.0.2.10/24\n' \
	>"$tree/etc/network/interfaces"
printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n' >"$tree/etc/default/grub"
cat >"$tree/boot/grub/grub.cfg" <<EOF
set default=0
menuentry 'Debian GNU/Linux' {
	insmod ext2
	search --no-floppy --fs-uuid --set=root $root_uuid
	linux /boot/vmlinuz-6.1.0-18-amd64 root=UUID=$root_uuid ro quiet
	initrd /boot/initrd.img-6.1.0-18-amd64
}
EOF
head -c 8M /dev/urandom >"$tree/boot/vmlinuz-6.1.0-18-amd64"
head -c 24M /dev/urandom >"$tree/boot/initrd.img-6.1.0-18-amd64"
for b in sh ls cp nginx; do head -c 1M /dev/urandom >"$tree/usr/bin/$b"; done
head -c 16M /dev/urandom >"$tree/usr/lib/libdemo.so"
seq 1 200000 >"$tree/var/log/syslog"
# Random bytes everywhere first: the free space of the filesystem is dirty,
# as on a server that has been written to for years.
head -c 256M /dev/urandom >"$disk"
sfdisk -q --wipe never "$disk" <<EOF
label: dos
start=2048, size=409600, type=83, bootable
start=411648, size=65536, type=82
EOF
mke2fs -q -F -t ext4 -U "$root_uuid" -L root -E offset=1048576,nodiscard -d "$tree" "$disk" 200M
truncate -s 32M "$work/swap"
mkswap -q -U "$swap_uuid" "$work/swap"
dd if="$work/swap" of="$disk" bs=4096 count=1 seek=$((411648 * 512 / 4096)) conv=notrunc status=none
src_sha=$(sha256sum "$disk" | cut -d' ' -f1)
echo "   256 MiB, msdos: ext4 / (200 MiB) and swap (32 MiB); free space full of stale data"

say "2. ferry scan $disk"
"$FERRY" scan "$disk"

say "3. ferry capture --format qcow2 $disk $image"
"$FERRY" capture --force --format qcow2 "$disk" "$image"

say "4. Checks with independent tools"
qemu-img check "$image" | sed 's/^/   /'
qemu-img convert -O raw "$image" "$work/back.raw"
e2fsck -fn "$work/back.raw?offset=1048576" 2>&1 | sed 's/^/   /'
a=$(debugfs -R 'cat /etc/fstab' "$disk?offset=1048576" 2>/dev/null | sha256sum)
b=$(debugfs -R 'cat /etc/fstab' "$work/back.raw?offset=1048576" 2>/dev/null | sha256sum)
[ "$a" = "$b" ] || { echo "demo: /etc/fstab differs in the image" >&2; exit 1; }
echo "   /etc/fstab read back from the image with debugfs: identical"
cmp -n 1048576 "$disk" "$work/back.raw"
echo "   MBR and boot gap (1 MiB): byte-identical"
[ "$(sha256sum "$disk" | cut -d' ' -f1)" = "$src_sha" ] || {
	echo "demo: the source disk changed" >&2
	exit 1
}
echo "   source disk SHA-256 unchanged: $src_sha"

say "Done"
disk_b=$(stat -c %s "$disk")
img_b=$(stat -c %s "$image")
echo "   source disk  $disk ($((disk_b / 1048576)) MiB)"
echo "   image        $image ($((img_b / 1048576)) MiB, $((img_b * 100 / disk_b))% of the disk)"
echo "   Look inside: qemu-img info $image; virt-ls, guestfish or qemu-nbd read it too."
echo "   (The demo disk carries no real kernel, so the image shows the capture, not a boot.)"
