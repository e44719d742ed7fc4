#!/bin/bash
# ferry scan: tables, partitions, filesystems and the system disk, as text
# and JSON, checked against sfdisk, dumpe2fs and blkid.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

plan 37

disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")

# A data disk: msdos, one ext4 without /etc/fstab.
data=$T_DIR/data.img
mkdir -p "$T_DIR/datatree/dir"
echo data >"$T_DIR/datatree/dir/file"
truncate -s 40M "$data"
echo 'start=2048, type=83' | sfdisk -q "$data"
mke2fs -q -F -t ext4 -L data -E offset=1048576 -d "$T_DIR/datatree" "$data" 38M

# A single-partition server whose /boot lives on the root filesystem.
one=$T_DIR/one.img
mkdir -p "$T_DIR/onetree/etc" "$T_DIR/onetree/boot/grub"
echo "LABEL=rootfs / ext4 defaults 0 1" >"$T_DIR/onetree/etc/fstab"
echo "linux /boot/vmlinuz root=LABEL=rootfs ro" >"$T_DIR/onetree/boot/grub/grub.cfg"
truncate -s 40M "$one"
echo 'start=2048, type=83, bootable' | sfdisk -q "$one"
mke2fs -q -F -t ext4 -L rootfs -E offset=1048576 -d "$T_DIR/onetree" "$one" 38M

# A GPT header claiming 0xffffffff entries (the header CRC made right, and
# left wrong): libparted would allocate and read them all, up to the size
# of the disk (on an 8 GiB disk: 6 GB, 30 s; on this one, 300 MB).
gpt=$T_DIR/gpt.img
truncate -s 256M "$gpt"
sgdisk -n1:2048:+10M "$gpt" >/dev/null
# gpt_count IMG LBA COUNT FIXCRC: sets a header's entry count.
gpt_count() {
	/usr/bin/python3 -c 'import struct, sys, zlib
path, lba, count, fix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 0), sys.argv[4] == "1"
with open(path, "r+b") as f:
    f.seek(lba * 512)
    h = bytearray(f.read(92))
    struct.pack_into("<I", h, 80, count)
    if fix:
        struct.pack_into("<I", h, 16, 0)
        struct.pack_into("<I", h, 16, zlib.crc32(bytes(h)))
    f.seek(lba * 512)
    f.write(h)' "$@"
}
cp --sparse=always "$gpt" "$T_DIR/gpt1.img"
gpt_count "$T_DIR/gpt1.img" 1 0xffffffff 1
cp --sparse=always "$gpt" "$T_DIR/gpt2.img"
gpt_count "$T_DIR/gpt2.img" $((256 * 1024 * 2 - 1)) 0xffffffff 0
gpt_shas="$(sha "$T_DIR/gpt1.img") $(sha "$T_DIR/gpt2.img")"
rcs=""
for n in 1 2; do
	rc=0
	/usr/bin/time -f '%M' -o "$T_DIR/gpt$n.rss" timeout 60 "$FERRY" scan "$T_DIR/gpt$n.img" \
		>/dev/null 2>"$T_DIR/gpt$n.err" || rc=$?
	rcs="$rcs $rc"
done
check_eq "both damaged disks: ferry scan exits 1" " 1 1" "$rcs"
check_match "a primary GPT header claiming 4294967295 entries is refused" \
	"gpt1.img: the GPT header at sector 1 claims 4294967295 partition entries of 128 bytes.*the table is damaged" \
	"$(cat "$T_DIR/gpt1.err")"
check_match "so is a backup header (bad CRC) at the last sector" \
	"gpt2.img: the GPT header at sector 524287 claims 4294967295 partition entries" \
	"$(cat "$T_DIR/gpt2.err")"
rss=$(sort -n "$T_DIR"/gpt?.rss | tail -n 1)
# What this ferry takes doing nothing (under ASan, about 70 MB of shadow
# and allocator on this host): the scan may add at most 64 MB to it.
/usr/bin/time -f '%M' -o "$T_DIR/base.rss" "$FERRY" --version >/dev/null 2>&1
base=$(cat "$T_DIR/base.rss")
check "... within 64 MB more than ferry --version's ${base} KB, not the gigabytes the claim asks (peak ${rss} KB)" \
	[ "$((rss - base))" -lt 65536 ]
check_eq "the damaged disks are unchanged" "$gpt_shas" \
	"$(sha "$T_DIR/gpt1.img") $(sha "$T_DIR/gpt2.img")"
check_match "a sound GPT disk still scans: its table and partition 1" \
	"table gpt .* 1 +2048 +22527 " "$("$FERRY" scan "$gpt" 2>&1 | tr '\n' ' ')"

rc=0
text=$("$FERRY" scan "$data" "$disk" 2>&1) || rc=$?
check_eq "text: exits 0" 0 "$rc"
check_match "text: the server disk is the system disk" "disk.img .*table msdos .*\[system disk: / /boot\]" "$text"
check_match "text: partition 2 is ext4 'root' with its UUID, marked /" \
	"^  2 +34816 +231423 +96.0 MiB primary +0x83 .*ext4 +root +$FX_UUID_ROOT .*\[/\]" "$text"
check_match "text: partition 5 is a logical ext4" "^  5 +266240 +305151 .*logical .*ext4 +srv" "$text"
check_match "text: partition 4 is extended" "^  4 +264192 +307199 .*extended +0x05" "$text"
check_match "text: the root line gives the fstab reason" \
	"^root: .*disk.img partition 2: its /etc/fstab mounts UUID=$FX_UUID_ROOT at /" "$text"
check_match "text: the boot line names partition 1 and its grub.cfg" \
	"^boot: .*disk.img partition 1: .*/boot.*/grub/grub.cfg" "$text"
check_eq "text: the data disk is not marked" "" \
	"$(printf '%s\n' "$text" | grep 'data.img ' | grep 'system disk')"

"$FERRY" scan --json "$disk" "$data" >"$T_DIR/scan.json"
check "json: valid JSON" python3 -m json.tool "$T_DIR/scan.json"
# Expected values from independent tools.
sfd=$(sfdisk -d "$disk" | sed -n 's/^[^:]*\([0-9]\) : start= *\([0-9]*\), size= *\([0-9]*\).*/\1 \2 \3/p' | tr '\n' ' ')
used=""
for n in 1 2 5; do
	d=$(dumpe2fs -h "$disk?offset=$(fx_off "$n")" 2>/dev/null)
	bc=$(printf '%s\n' "$d" | sed -n 's/^Block count: *//p')
	fb=$(printf '%s\n' "$d" | sed -n 's/^Free blocks: *//p')
	bs=$(printf '%s\n' "$d" | sed -n 's/^Block size: *//p')
	used="$used$n:$(((bc - fb) * bs)) "
done
jq() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); d=j['disks']; print($1)" "$T_DIR/scan.json"; }
check_eq "json: partition numbers, start sectors and sizes match sfdisk -d" "$sfd" \
	"$(jq "' '.join('%d %d %d' % (p['number'], p['start_sector'], p['size'] // 512) for p in d[0]['partitions']) + ' '")"
check_eq "json: used bytes match dumpe2fs" "$used" \
	"$(jq "' '.join('%d:%d' % (p['number'], p['used_bytes']) for p in d[0]['partitions'] if p['used_bytes'] is not None) + ' '")"
check_eq "json: filesystem types" "ext4 ext4 swap None ext4" \
	"$(jq "' '.join(str(p['fs']) for p in d[0]['partitions'])")"
check_eq "json: UUIDs match blkid" \
	"$(for n in 1 2 5; do blkid -p -o value -s UUID --offset "$(fx_off "$n")" "$disk"; done | tr '\n' ' ')" \
	"$(jq "' '.join(p['uuid'] for p in d[0]['partitions'] if p['fs'] == 'ext4') + ' '")"
check_eq "json: the swap area's UUID and label match blkid" \
	"$(blkid -p -o value -s UUID --offset "$(fx_off 3)" "$disk") $(blkid -p -o value -s LABEL --offset "$(fx_off 3)" "$disk")" \
	"$(jq "d[0]['partitions'][2]['uuid'], d[0]['partitions'][2]['label']")"
check_eq "json: kinds" "primary primary primary extended logical" \
	"$(jq "' '.join(p['kind'] for p in d[0]['partitions'])")"
check_eq "json: PARTUUIDs from the disk id" "5eed1e55-01 5eed1e55-02" \
	"$(jq "' '.join(p['partuuid'] for p in d[0]['partitions'][:2])")"
check_eq "json: root and boot" "$disk 2 $disk 1 True False" \
	"$(jq "j['root']['disk'], j['root']['partition'], j['boot']['disk'], j['boot']['partition'], d[0]['holds_root'], d[1]['holds_root']")"
check_eq "json: sector sizes and table" "512 512 msdos 165675008" \
	"$(jq "d[0]['logical_sector_size'], d[0]['physical_sector_size'], d[0]['table'], d[0]['size']")"

check_match "/boot on the root filesystem" \
	"^boot: .*one.img partition 1: no /boot entry in /etc/fstab: /boot is on the root filesystem; it holds /boot/grub/grub.cfg" \
	"$("$FERRY" scan "$one")"
check_match "no system disk among data disks is said plainly" "^root: not found" \
	"$("$FERRY" scan "$data")"
check_fails "scan of a missing disk fails" 1 "^ferry: cannot open .*nothere: No such file or directory$" \
	"$FERRY" scan "$T_DIR/nothere"
check_eq "source SHA-256 unchanged by scans" "$src_sha" "$(sha "$disk")"

# Block devices: a loop device holding a mounted filesystem is in use: it is
# reported, never flagged read-only, and never captured.
if [ "$(id -u)" = 0 ] && loop=$(losetup -f --show "$T_DIR/data.img" 2>/dev/null); then
	on_exit "losetup -d $loop"
	mkdir -p "$T_DIR/mnt"
	fsloop=$(losetup -f --show -o 1048576 "$data")
	on_exit "losetup -d $fsloop"
	mount -o ro "$fsloop" "$T_DIR/mnt"
	on_exit "umount $T_DIR/mnt"
	check_match "a mounted loop device is reported in use" \
		"in use: $(basename "$fsloop") is mounted on $T_DIR/mnt" "$("$FERRY" scan "$fsloop" 2>&1)"
	check_eq "it is not flagged read-only" 0 "$(blockdev --getro "$fsloop")"
	check_fails "it is not captured" 1 "is in use \(.* is mounted on .*\): Ferry copies disks cold" \
		"$FERRY" capture "$fsloop" "$T_DIR/x.img"
	undo_now "umount $T_DIR/mnt"
	undo_now "losetup -d $fsloop"
	check_eq "scan without arguments skips loop devices" "" \
		"$("$FERRY" scan --json 2>/dev/null | python3 -c 'import json,sys; print(" ".join(d["path"] for d in json.load(sys.stdin)["disks"] if "loop" in d["path"]))')"
	writes() { awk '{ print $5 }' "/sys/block/${loop#/dev/}/stat"; }
	data_sha=$(sha "$data")
	w0=$(writes)
	"$FERRY" scan "$loop" >/dev/null
	check_eq "a disk not in use is flagged read-only by the kernel" 1 "$(blockdev --getro "$loop")"
	"$FERRY" check "$loop" >/dev/null 2>&1 || :
	"$FERRY" capture --quiet --force --format raw "$loop" "$T_DIR/loop.raw" 2>/dev/null || :
	check_eq "scan, check and capture send the disk no write, not even a flush (its /sys/block stat)" \
		"0 writes, captured" "$(($(writes) - w0)) writes, $([ -s "$T_DIR/loop.raw" ] && echo captured)"
	check_eq "... and the disk's SHA-256 is unchanged" "$data_sha" "$(sha "$data")"
	# A node of its own for the same device: were it replaced by a file, as
	# a block device target once was, /dev's node would not be.
	read -r ma mi < <(stat -c '%t %T' "$loop")
	mknod "$T_DIR/blockdev" b $((16#$ma)) $((16#$mi))
	check_fails "a block device as the target is refused" 1 \
		"target $T_DIR/blockdev is a block device: Ferry writes an image file or an upload, not onto a disk" \
		"$FERRY" capture --overwrite --format raw "$disk" "$T_DIR/blockdev"
	# The flag outlives the loop device's backing file: the next test to
	# get this loop device must be able to write to it.
	blockdev --setrw "$loop"
	undo_now "losetup -d $loop"
else
	for _ in 1 2 3 4 5 6 7 8; do
		T_NUM=$((T_NUM + 1))
		echo "ok $T_NUM # skip loop devices need root"
	done
fi

# An image file as the source: never opened for writing, never written.
# inotify tells: a file opened for writing reports IN_CLOSE_WRITE when it
# is closed, a write IN_MODIFY. (libparted opened it read-write; the guard
# refuses that, as for a disk.)
watch_py='import ctypes, os, struct, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_NONBLOCK)
if fd < 0 or libc.inotify_add_watch(fd, sys.argv[1].encode(), 0x8 | 0x2) < 0:
    sys.exit("inotify: " + os.strerror(ctypes.get_errno()))
open(sys.argv[2], "w").close()
counts = {0x8: 0, 0x2: 0}
while True:
    stop = os.path.exists(sys.argv[3])
    try:
        buf = os.read(fd, 65536)
    except BlockingIOError:
        buf = b""
    while buf:
        mask, name_len = struct.unpack("iIII", buf[:16])[1], struct.unpack("iIII", buf[:16])[3]
        for m in counts:
            counts[m] += bool(mask & m)
        buf = buf[16 + name_len:]
    if stop:
        break
    time.sleep(0.05)
print(counts[0x8], counts[0x2])'
/usr/bin/python3 -c "$watch_py" "$data" "$T_DIR/watch.ready" "$T_DIR/watch.stop" >"$T_DIR/watch.out" &
watcher=$!
for _ in $(seq 1 100); do [ -e "$T_DIR/watch.ready" ] && break; sleep 0.05; done
"$FERRY" scan "$data" >/dev/null
"$FERRY" check "$data" >/dev/null 2>&1 || :
"$FERRY" capture --quiet --force --format raw "$data" "$T_DIR/file.raw" 2>"$T_DIR/file.err" || :
sleep 0.2
touch "$T_DIR/watch.stop"
wait "$watcher" || :
check_eq "an image file: scan, check and capture never open it for writing nor write it (inotify: closes after writing, modifications), and say nothing of it" \
	"0 0, captured, 0" \
	"$(cat "$T_DIR/watch.out"), $([ -s "$T_DIR/file.raw" ] && echo captured), $(grep -c -i -e read-write -e libparted "$T_DIR/file.err")"
done_testing
