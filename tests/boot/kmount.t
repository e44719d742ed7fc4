#!/bin/bash
# Fixes on a filesystem Ferry cannot write itself, in the rescue image: an
# ext4 root with /boot on XFS whose log needs recovery. ferry capture serves
# the copy to the kernel's NBD client, the kernel mounts the XFS (replaying
# its log into the overlay), the rules edit grub.cfg there, and the image
# is checked on the host with xfs_repair and a read-only mount. The source
# is attached writable, as a server's disk is: after the capture the kernel
# has it read-only, its block statistics count no write (not even the
# flushes libparted's fsyncs would send), and it keeps its SHA-256.
# shellcheck source=../lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=lib/qemu.sh
. "$TESTS_DIR/boot/lib/qemu.sh"
# shellcheck source=lib/rescue.sh
. "$TESTS_DIR/boot/lib/rescue.sh"

need=""
[ -n "$RQ_IMAGES" ] || need="$need FERRY_IMAGES (make check-boot sets it when CONFIG_FERRY_RESCUE=y)"
[ -z "$RQ_IMAGES" ] || [ -e "$RQ_IMAGES/pxe/vmlinuz" ] || need="$need $RQ_IMAGES/pxe/vmlinuz"
for tool in qemu-system-x86_64 mkfs.xfs xfs_repair xfs_io sfdisk debugfs; do
	command -v "$tool" >/dev/null || need="$need $tool"
done
[ "$(id -u)" = 0 ] || need="$need root (loop devices, mount)"
if [ -n "$need" ]; then
	echo "1..0 # SKIP needs:$need"
	exit 0
fi
plan 11

UUID_BOOT=3d0c0000-0000-4000-8000-00000000b001
UUID_ROOT=3d0c0000-0000-4000-8000-00000000b002
P1_START=2048 P1_SIZE=655360   # 320 MiB XFS /boot (mkfs.xfs's least)
P2_START=657408 P2_SIZE=131072 # 64 MiB ext4 /
src=$T_DIR/xboot.img
truncate -s $(((P2_START + P2_SIZE) * 512)) "$src"
sfdisk -q "$src" <<EOF
label: dos
start=$P1_START, size=$P1_SIZE, type=83, bootable
start=$P2_START, size=$P2_SIZE, type=83
EOF

# /boot: XFS, made and filled through a loop device; a marker written and
# forced into the log, then the filesystem shut down so that the log is
# left needing recovery.
attach "$src" $((P1_START * 512)) $((P1_SIZE * 512))
# shellcheck disable=SC2154 # dev: set by attach (tests/lib/cleanup.sh)
loop=$dev
mkfs.xfs -q -f -m uuid=$UUID_BOOT -L boot "$loop"
mkdir -p "$T_DIR/mnt"
mount "$loop" "$T_DIR/mnt"
on_exit "umount $T_DIR/mnt"
mkdir -p "$T_DIR/mnt/grub"
cat >"$T_DIR/mnt/grub/grub.cfg" <<EOF
set default=0
menuentry 'Debian GNU/Linux' {
	search --no-floppy --fs-uuid --set=root $UUID_BOOT
	linux /vmlinuz-6.1.0-18-amd64 root=/dev/sda2 ro quiet
	initrd /initrd.img-6.1.0-18-amd64
}
EOF
head -c 3000000 /dev/urandom >"$T_DIR/mnt/vmlinuz-6.1.0-18-amd64"
printf 'CONFIG_%s=y\n' VIRTIO_PCI VIRTIO_BLK SCSI_VIRTIO VIRTIO_NET >"$T_DIR/mnt/config-6.1.0-18-amd64"
sync
echo "written before the crash" >"$T_DIR/mnt/marker"
xfs_io -c fsync "$T_DIR/mnt/marker"
xfs_io -x -c shutdown "$T_DIR/mnt"
undo_now "umount $T_DIR/mnt"
detach "$loop"

# /: ext4 with the system's files.
mkdir -p "$T_DIR/root/etc/default" "$T_DIR/root/boot"
cat >"$T_DIR/root/etc/fstab" <<EOF
UUID=$UUID_ROOT / ext4 errors=remount-ro 0 1
UUID=$UUID_BOOT /boot xfs defaults 0 0
EOF
printf 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n' >"$T_DIR/root/etc/default/grub"
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12"\n' >"$T_DIR/root/etc/os-release"
mke2fs -q -F -t ext4 -U $UUID_ROOT -E "offset=$((P2_START * 512))" -d "$T_DIR/root" "$src" \
	$((P2_SIZE / 2))k
src_sha=$(sha "$src")

# The scratch disk the image is written to, ext4 made here.
out=$T_DIR/out.img
truncate -s 1G "$out"
mke2fs -q -F -t ext4 "$out"

rq_kernel "$T_DIR/console" "ferry.mode=shell" \
	-drive "file=$src,format=raw,if=virtio" -drive "file=$out,format=raw,if=virtio"
if rq_ready 240; then
	rq_wait_line 'ferry:/# ' 60 || :
fi
rq_cmd 'mkdir -p /mnt/out && mount /dev/vdb /mnt/out && ferry capture --quiet --json --format raw /dev/vda /mnt/out/xboot.raw >/mnt/out/report.json; echo capture-rc=$?' 600 || :
check_match "ferry capture in the rescue image edits the XFS /boot and finishes" "capture-rc=0" \
	"$RQ_OUT"
rq_cmd 'ls /sys/block/nbd0/pid 2>&1; grep -c ferry-mnt /proc/mounts; umount /mnt/out; sync' 60 || :
check_match "... and leaves no NBD device connected and nothing mounted" \
	"No such file or directory.*0" "$(tr '\n' ' ' <<<"$RQ_OUT")"
# shellcheck disable=SC2016 # the guest's shell expands these
rq_cmd 'echo ro=$(cat /sys/block/vda/ro)
for f in /sys/block/vda/stat /sys/block/vda/vda*/stat; do set -- $(cat $f); echo "${f%/stat} writes=$5 sectors=$7"; done' 30 || :
check_match "the source is read-only in the kernel after the capture (BLKROSET)" "^ro=1" "$RQ_OUT"
stats=$(grep -E '^/sys/block/vda(/vda[0-9]+)? writes=' <<<"$RQ_OUT" || :)
check_eq "no write reached the source: vda, vda1 and vda2 count none, not even a flush (/sys/block/*/stat)" \
	"/sys/block/vda writes=0 sectors=0
/sys/block/vda/vda1 writes=0 sectors=0
/sys/block/vda/vda2 writes=0 sectors=0" "$stats"
rq_stop

check_eq "the source's SHA-256 is unchanged" "$src_sha" "$(sha "$src")"
debugfs -R "dump /report.json $T_DIR/report.json" "$out" 2>/dev/null
check_eq "/boot is copied by the used blocks the overlay's XFS lists after the replay" \
	"1 xfs used-blocks" "$(python3 -c 'import json, sys
print(" ".join("%d %s %s" % (p["number"], p["fs"], p["method"]) for p in json.load(open(sys.argv[1]))["partitions"] if p["number"] == 1))' "$T_DIR/report.json" 2>&1)"
debugfs -R "dump /xboot.raw $T_DIR/xboot.raw" "$out" 2>/dev/null
dd if="$T_DIR/xboot.raw" of="$T_DIR/boot.xfs" bs=512 skip=$P1_START count=$P1_SIZE status=none 2>/dev/null
check "the image's /boot passes xfs_repair -n (its log was replayed in the copy)" \
	xfs_repair -n "$T_DIR/boot.xfs"
mkdir -p "$T_DIR/img"
if mount -o ro,loop,nouuid "$T_DIR/boot.xfs" "$T_DIR/img"; then
	on_exit "umount $T_DIR/img"
	check_eq "the marker the log held is in the image" "written before the crash" \
		"$(cat "$T_DIR/img/marker")"
	check_match "grub.cfg boots root=UUID= instead of /dev/sda2" "root=UUID=$UUID_ROOT " \
		"$(cat "$T_DIR/img/grub/grub.cfg")"
	check_match "... with net.ifnames=0" "net.ifnames=0" "$(cat "$T_DIR/img/grub/grub.cfg")"
	umount "$T_DIR/img"
else
	for _ in 1 2 3; do not_ok "the image's /boot mounts read-only on the host"; done
fi
check_match "the source's /boot still needs its log replayed (xfs_repair -n says so)" \
	"log|Log" "$(dd if="$src" bs=512 skip=$P1_START count=$P1_SIZE status=none | cat >"$T_DIR/src.xfs"; xfs_repair -n "$T_DIR/src.xfs" 2>&1 || :)"
done_testing
