#!/bin/bash
# Builds a guest tree for the virtio rule's unit test: two kernels, one with
# virtio as modules (made with gcc, indexed by the real depmod) and one with
# virtio built in; initrds made with cpio and gzip/zstd the way
# initramfs-tools and dracut lay them out, one with an early microcode cpio
# in front.  Usage: virtio_tree.sh ROOT STYLE CODEC   (STYLE: itools|dracut)
set -eu -o pipefail
root=$1 style=$2 codec=$3
kver=6.1.0-9-amd64 kver2=6.1.0-8-amd64
work=$(mktemp -d "$root.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkdir -p "$root/boot/grub" "$root/usr/lib/modules/$kver" "$root/usr/lib/modules/$kver2"
ln -s usr/lib "$root/lib"
printf 'fake kernel\n' >"$root/boot/vmlinuz-$kver"
printf 'fake kernel\n' >"$root/boot/vmlinuz-$kver2"
printf '%s\n' CONFIG_EXT4_FS=y CONFIG_VIRTIO_PCI=m CONFIG_VIRTIO_BLK=m CONFIG_SCSI_VIRTIO=m \
	CONFIG_VIRTIO_NET=m >"$root/boot/config-$kver"
printf '%s\n' CONFIG_VIRTIO_PCI=y CONFIG_VIRTIO_BLK=y CONFIG_SCSI_VIRTIO=y \
	CONFIG_VIRTIO_NET=y >"$root/boot/config-$kver2"
cat >"$root/boot/grub/grub.cfg" <<GRUB
menuentry 'Debian GNU/Linux' {
	linux	/boot/vmlinuz-$kver root=UUID=1 ro quiet
	initrd	/boot/initrd.img-$kver
}
menuentry 'Debian GNU/Linux, older' {
	linux	/boot/vmlinuz-$kver2 root=UUID=1 ro quiet
	initrd	/boot/initrd.img-$kver2
}
GRUB

# name path depends alias
mods="virtio kernel/drivers/virtio/virtio.ko - -
virtio_ring kernel/drivers/virtio/virtio_ring.ko - -
virtio_pci kernel/drivers/virtio/virtio_pci.ko virtio,virtio_ring pci:v00001AF4d*sv*sd*bc*sc*i*
virtio_blk kernel/drivers/block/virtio_blk.ko virtio,virtio_ring virtio:d00000002v*
virtio_scsi kernel/drivers/scsi/virtio_scsi.ko virtio,virtio_ring,scsi_mod virtio:d00000008v*
failover kernel/net/core/failover.ko - -
net_failover kernel/drivers/net/net_failover.ko failover -
virtio_net kernel/drivers/net/virtio_net.ko virtio,virtio_ring,net_failover virtio:d00000001v*
scsi_mod kernel/drivers/scsi/scsi_mod.ko - -
ahci kernel/drivers/ata/ahci.ko scsi_mod pci:v*d*sv*sd*bc01sc06i01*"
while read -r name path deps alias; do
	[ "$deps" = - ] && deps=""
	{
		echo '#define MI(n, s) __attribute__((section(".modinfo"), used)) static const char n[] = s'
		echo "MI(a, \"name=$name\");"
		echo "MI(b, \"depends=$deps\");"
		echo "MI(c, \"vermagic=$kver SMP preempt mod_unload modversions \");"
		[ "$alias" != - ] && echo "MI(d, \"alias=$alias\");"
		echo 'int ferry_fake;'
	} >"$work/$name.c"
	mkdir -p "$root/usr/lib/modules/$kver/$(dirname "$path")"
	gcc -c -O2 -fno-pic -o "$root/usr/lib/modules/$kver/$path" "$work/$name.c"
done <<<"$mods"
# Compressed modules keep their compression in the initrd.
xz --check=crc32 "$root/usr/lib/modules/$kver/kernel/drivers/net/virtio_net.ko"
# modules.dep as depmod writes it for the real modules (depmod itself finds
# dependencies through symbols, which these fakes do not have).
m=kernel/drivers
printf '%s\n' "$m/virtio/virtio.ko:" "$m/virtio/virtio_ring.ko:" \
	"$m/virtio/virtio_pci.ko: $m/virtio/virtio.ko $m/virtio/virtio_ring.ko" \
	"$m/block/virtio_blk.ko: $m/virtio/virtio.ko $m/virtio/virtio_ring.ko" \
	"$m/scsi/virtio_scsi.ko: $m/virtio/virtio.ko $m/virtio/virtio_ring.ko $m/scsi/scsi_mod.ko" \
	"kernel/net/core/failover.ko:" "$m/net/net_failover.ko: kernel/net/core/failover.ko" \
	"$m/net/virtio_net.ko.xz: $m/net/net_failover.ko kernel/net/core/failover.ko $m/virtio/virtio.ko $m/virtio/virtio_ring.ko" \
	"$m/scsi/scsi_mod.ko:" "$m/ata/ahci.ko: $m/scsi/scsi_mod.ko" \
	>"$root/usr/lib/modules/$kver/modules.dep"

# The initrd holds only the physical drivers, with its own depmod'ed index.
rd=$work/rd
mkdir -p "$rd/usr/lib/modules/$kver/kernel/drivers/ata" \
	"$rd/usr/lib/modules/$kver/kernel/drivers/scsi" "$rd/bin"
cp "$root/usr/lib/modules/$kver/kernel/drivers/ata/ahci.ko" \
	"$rd/usr/lib/modules/$kver/kernel/drivers/ata/"
cp "$root/usr/lib/modules/$kver/kernel/drivers/scsi/scsi_mod.ko" \
	"$rd/usr/lib/modules/$kver/kernel/drivers/scsi/"
ln -s usr/lib "$rd/lib"
printf '%s\n' "$m/ata/ahci.ko: $m/scsi/scsi_mod.ko" "$m/scsi/scsi_mod.ko:" \
	>"$rd/usr/lib/modules/$kver/modules.dep"
printf 'alias pci:v*d*sv*sd*bc01sc06i01* ahci\n' >"$rd/usr/lib/modules/$kver/modules.alias"
printf '#!/bin/sh\necho init\n' >"$rd/init"
if [ "$style" = itools ]; then
	mkdir -p "$rd/conf" "$rd/scripts/init-top"
	printf 'MODULES=list\n' >"$rd/conf/initramfs.conf"
	printf 'ahci\n' >"$rd/conf/modules"
else
	mkdir -p "$rd/usr/lib/dracut" "$rd/etc/modules-load.d"
	printf 'dracut-059\n' >"$rd/usr/lib/dracut/dracut-version"
fi
(cd "$rd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$work/main.cpio"
case "$codec" in
gzip) gzip -9 -n <"$work/main.cpio" >"$work/main" ;;
zstd) zstd -q -15 <"$work/main.cpio" >"$work/main" ;;
*) echo "unknown codec $codec" >&2; exit 2 ;;
esac
mkdir -p "$work/early/kernel/x86/microcode"
head -c 3000 /dev/urandom >"$work/early/kernel/x86/microcode/GenuineIntel.bin"
(cd "$work/early" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$work/early.cpio"
cat "$work/early.cpio" "$work/main" >"$root/boot/initrd.img-$kver"
cp "$root/boot/initrd.img-$kver" "$root/boot/initrd.img-$kver2"
stat -c %s "$work/early.cpio" >"$root.early-size"
