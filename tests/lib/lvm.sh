# shellcheck shell=bash
# LVM2 fixtures made with lvm2's own tools on loop devices over parts of a
# disk image, without device-mapper (activation off). lvm sees only the loop
# devices made here and writes nothing outside $T_DIR: no backup, archive,
# devices file or hints. Filesystems are made in files and placed into their
# logical volumes' extents by tests/lib/lvmfs.py, from lvs's own report.
# Source after tap.sh, or outside a test after cleanup.sh (attach, detach).

LVM_LOOPS=""
LVM_PV=""                  # the loop device lvm_pv made last
declare -A LVM_OFF=()      # loop device -> its offset in the disk image

lvm_conf() {
	local filter="" l
	for l in $LVM_LOOPS; do
		filter="$filter\"a|^$l\$|\", "
	done
	mkdir -p "$T_DIR/lvm"
	cat >"$T_DIR/lvm/lvm.conf" <<CONF
global { activation = 0 locking_dir = "$T_DIR/lvm" }
devices { filter = [ $filter"r|.*|" ] global_filter = [ $filter"r|.*|" ]
	obtain_device_list_from_udev = 0 use_devicesfile = 0 hints = "none" }
backup { backup = 0 archive = 0 }
CONF
}

# lvm_cmd ARGS...: lvm with the fixture's configuration; its chatter goes
# to $T_DIR/lvm/log, and is shown if it fails.
lvm_cmd() {
	if ! LVM_SYSTEM_DIR=$T_DIR/lvm LVM_SUPPRESS_FD_WARNINGS=1 lvm "$@" 2>>"$T_DIR/lvm/log"; then
		echo "# lvm $* failed:" >&2
		sed 's/^/#   /' "$T_DIR/lvm/log" >&2
		return 1
	fi
}

# lvm_attach IMG OFFSET SIZE: a loop device over [OFFSET, OFFSET+SIZE) of
# IMG that lvm sees (in LVM_PV).
lvm_attach() {
	local dev
	attach "$1" "$2" "$3"
	LVM_LOOPS="$LVM_LOOPS $dev"
	LVM_OFF[$dev]=$2
	LVM_PV=$dev
	lvm_conf
}

# lvm_pv IMG OFFSET SIZE [PVCREATE-OPTIONS...]: makes [OFFSET, OFFSET+SIZE)
# of IMG a physical volume (on the loop device in LVM_PV).
lvm_pv() {
	lvm_attach "$1" "$2" "$3"
	shift 3
	lvm_cmd pvcreate -q "$@" "$LVM_PV" >/dev/null
}

# lvm_release: detaches the loop devices (their content stays in the image).
lvm_release() {
	local l
	for l in $LVM_LOOPS; do
		detach "$l"
	done
	LVM_LOOPS=""
	LVM_OFF=()
}

# lvm_report VG FILE: where VG's logical volumes are, for lvmfs.py.
lvm_report() {
	local vg=$1 out=$2 l pvs=""
	for l in "${!LVM_OFF[@]}"; do
		pvs="$pvs $l=${LVM_OFF[$l]}"
	done
	lvm_cmd lvs --reportformat json --segments --units b --nosuffix \
		-o lv_name,seg_start_pe,seg_size_pe,stripes,stripe_size,seg_pe_ranges,segtype \
		"$vg" >"$T_DIR/lvm/segs.json"
	lvm_cmd pvs --reportformat json --units b --nosuffix -o pv_name,pe_start \
		>"$T_DIR/lvm/pvs.json"
	lvm_cmd vgs --reportformat json --units b --nosuffix -o vg_extent_size "$vg" \
		>"$T_DIR/lvm/vgs.json"
	python3 - "$T_DIR/lvm" "$out" "$pvs" <<'PY'
import json, sys
d, out, pvs = sys.argv[1], sys.argv[2], sys.argv[3].split()
segs = json.load(open(d + "/segs.json"))["report"][0]["seg"]
pvrows = json.load(open(d + "/pvs.json"))["report"][0]["pv"]
ext = int(json.load(open(d + "/vgs.json"))["report"][0]["vg"][0]["vg_extent_size"])
off = dict(p.split("=") for p in pvs)
json.dump({"extent_size": ext, "segments": segs,
           "pvs": {r["pv_name"]: {"offset": int(off[r["pv_name"]]), "pe_start": int(r["pe_start"])}
                   for r in pvrows if r["pv_name"] in off}}, open(out, "w"))
PY
}

# lvm_put DISK REPORT LV FILE / lvm_get DISK REPORT LV FILE: a logical
# volume's bytes in the disk image, written from or read into FILE.
lvm_put() { python3 "$TESTS_DIR/lib/lvmfs.py" put "$@"; }
lvm_get() { python3 "$TESTS_DIR/lib/lvmfs.py" get "$@"; }

# The RHEL-shaped disk: msdos; ext4 /boot on p1; an LVM PV on p2 whose
# group rl holds root (ext4, two segments: it was extended after home was
# made), swap and home. Named as Anaconda names them: /dev/mapper/rl-root
# in fstab and on the kernel command line. The disk starts as random bytes
# and nothing is discarded, so unused extents and free blocks are stale.
LVM_P1_START=2048  LVM_P1_SIZE=65536      # 32 MiB /boot
LVM_P2_START=67584                        # to the end: the PV
LVM_DISK_MIB=256
LVM_UUID_BOOT=7a3c0a5e-1111-4e2e-9f00-00000000b001
LVM_UUID_ROOT=7a3c0a5e-1111-4e2e-9f00-00000000b002
LVM_UUID_HOME=7a3c0a5e-1111-4e2e-9f00-00000000b003
LVM_UUID_SWAP=7a3c0a5e-1111-4e2e-9f00-00000000b004

# lvm_mkfs DISK REPORT LV MKFS-ARGS...: a filesystem made in place over the
# logical volume's current bytes (stale data stays in its free blocks).
lvm_mkfs() {
	local disk=$1 rep=$2 lv=$3 f
	shift 3
	f=$T_DIR/lv-$lv.fs
	lvm_get "$disk" "$rep" "$lv" "$f"
	mke2fs -q -F -t ext4 -E nodiscard "$@" "$f"
	lvm_put "$disk" "$rep" "$lv" "$f"
	rm -f "$f"
}

# lvm_server_disk IMG: builds it; leaves the group's report in IMG.lvm.json.
lvm_server_disk() {
	local img=$1 t
	t=$(mktemp -d "$T_DIR/trees.XXXXXX")
	head -c $((LVM_DISK_MIB << 20)) /dev/urandom >"$img"
	sfdisk -q --wipe never "$img" <<SFDISK
label: dos
label-id: 0x0e1f0e1f
start=$LVM_P1_START, size=$LVM_P1_SIZE, type=83, bootable
start=$LVM_P2_START, type=8e
SFDISK
	mkdir -p "$t/root/etc/default" "$t/root/boot" "$t/root/home" "$t/root/usr/bin" \
		"$t/boot/grub2" "$t/home/admin"
	cat >"$t/root/etc/fstab" <<FSTAB
/dev/mapper/rl-root     /       ext4    defaults        1 1
UUID=$LVM_UUID_BOOT /boot   ext4    defaults        1 2
/dev/mapper/rl-home     /home   ext4    defaults        1 2
/dev/mapper/rl-swap     none    swap    defaults        0 0
FSTAB
	echo "db01" >"$t/root/etc/hostname"
	printf 'GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=rl/root rd.lvm.lv=rl/swap rhgb quiet"\n' \
		>"$t/root/etc/default/grub"
	head -c 20000000 /dev/urandom >"$t/root/usr/bin/app"
	cat >"$t/boot/grub2/grub.cfg" <<GRUB
set default=0
menuentry 'Rocky Linux' {
	search --no-floppy --fs-uuid --set=root $LVM_UUID_BOOT
	linux /vmlinuz-5.14.0-362.el9.x86_64 root=/dev/mapper/rl-root ro rd.lvm.lv=rl/root rd.lvm.lv=rl/swap
	initrd /initramfs-5.14.0-362.el9.x86_64.img
}
GRUB
	head -c 3000000 /dev/urandom >"$t/boot/vmlinuz-5.14.0-362.el9.x86_64"
	head -c 5000000 /dev/urandom >"$t/boot/initramfs-5.14.0-362.el9.x86_64.img"
	printf 'CONFIG_%s=y\n' VIRTIO_PCI VIRTIO_BLK SCSI_VIRTIO VIRTIO_NET \
		>"$t/boot/config-5.14.0-362.el9.x86_64"
	head -c 6000000 /dev/urandom >"$t/home/admin/data.bin"
	seq 1 20000 >"$t/home/admin/numbers.txt"
	mke2fs -q -F -t ext4 -b 4096 -U "$LVM_UUID_BOOT" -L boot \
		-E "offset=$((LVM_P1_START * 512)),nodiscard" -d "$t/boot" "$img" \
		"$((LVM_P1_SIZE / 2))k"
	lvm_pv "$img" $((LVM_P2_START * 512)) $(((LVM_DISK_MIB << 20) - LVM_P2_START * 512))
	lvm_cmd vgcreate -q -s 4m rl "$LVM_PV" >/dev/null
	lvm_cmd lvcreate -q -an -Zn -L 64m -n root rl >/dev/null
	lvm_cmd lvcreate -q -an -Zn -L 16m -n swap rl >/dev/null
	lvm_cmd lvcreate -q -an -Zn -L 32m -n home rl >/dev/null
	lvm_cmd lvextend -q -L +16m rl/root >/dev/null
	lvm_report rl "$img.lvm.json"
	lvm_mkfs "$img" "$img.lvm.json" root -U "$LVM_UUID_ROOT" -L root -d "$t/root"
	lvm_mkfs "$img" "$img.lvm.json" home -U "$LVM_UUID_HOME" -L home -d "$t/home"
	# mkswap writes only the header page.
	lvm_get "$img" "$img.lvm.json" swap "$t/swap"
	mkswap -q -U "$LVM_UUID_SWAP" -L swap "$t/swap"
	lvm_put "$img" "$img.lvm.json" swap "$t/swap"
	rm -rf "$t"
}

# lvm_id: a random LVM id (32 characters in LVM's 6-4-4-4-4-4-6 groups).
lvm_id() {
	python3 -c 'import random, string
s = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(32))
print("-".join([s[:6], s[6:10], s[10:14], s[14:18], s[18:22], s[22:26], s[26:]]))'
}

# lvm_text_lv NAME STATUS EXTENTS SEGMENT-BODY: one logical volume of one
# segment, in LVM's metadata text.
lvm_text_lv() {
	printf '%s {\nid = "%s"\nstatus = [%s]\nflags = []\nsegment_count = 1\n' \
		"$1" "$(lvm_id)" "$2"
	printf 'segment1 {\nstart_extent = 0\nextent_count = %s\n%s\n}\n}\n' "$3" "$4"
}
lvm_text_linear() { printf 'type = "striped"\nstripe_count = 1\nstripes = ["%s", %s]' "$1" "$2"; }

# lvm_add_kind VG KIND FIRST-FREE-EXTENT: adds to VG (its PV pv0) logical
# volumes of a kind Ferry refuses, written by lvm2's own vgcfgrestore (lvm2
# cannot create them without device-mapper): snapshot, raid, thin, cache,
# error.
lvm_add_kind() {
	local vg=$1 kind=$2 e=$3 rw='"READ", "WRITE"' vis='"READ", "WRITE", "VISIBLE"' extra
	case $kind in
	snapshot)
		extra="$(lvm_text_lv base "$vis" 2 "$(lvm_text_linear pv0 "$e")")
$(lvm_text_lv snap "$vis" 2 "$(lvm_text_linear pv0 $((e + 2)))")
$(lvm_text_lv snapshot0 '"READ"' 2 \
			$'type = "snapshot"\nchunk_size = 8\norigin = "base"\ncow_store = "snap"')" ;;
	raid)
		extra="$(lvm_text_lv mirrored "$vis" 2 $'type = "raid1"\ndevice_count = 2\nregion_size = 1024\nraids = ["mirrored_rmeta_0", "mirrored_rimage_0", "mirrored_rmeta_1", "mirrored_rimage_1"]')
$(lvm_text_lv mirrored_rmeta_0 "$rw" 1 "$(lvm_text_linear pv0 "$e")")
$(lvm_text_lv mirrored_rimage_0 "$rw" 2 "$(lvm_text_linear pv0 $((e + 1)))")
$(lvm_text_lv mirrored_rmeta_1 "$rw" 1 "$(lvm_text_linear pv0 $((e + 3)))")
$(lvm_text_lv mirrored_rimage_1 "$rw" 2 "$(lvm_text_linear pv0 $((e + 4)))")" ;;
	thin)
		extra="$(lvm_text_lv pool "$vis" 2 $'type = "thin-pool"\nmetadata = "pool_tmeta"\npool = "pool_tdata"\ntransaction_id = 1\nchunk_size = 128\ndiscards = "passdown"\nzero_new_blocks = 0')
$(lvm_text_lv pool_tmeta "$rw" 1 "$(lvm_text_linear pv0 "$e")")
$(lvm_text_lv pool_tdata "$rw" 2 "$(lvm_text_linear pv0 $((e + 1)))")
$(lvm_text_lv thin "$vis" 4 $'type = "thin"\nthin_pool = "pool"\ntransaction_id = 0\ndevice_id = 1')" ;;
	cache)
		extra="$(lvm_text_lv cached "$vis" 2 $'type = "cache"\ncache_pool = "cpool"\norigin = "cached_corig"')
$(lvm_text_lv cached_corig "$rw" 2 "$(lvm_text_linear pv0 "$e")")
$(lvm_text_lv cpool "$rw" 1 $'type = "cache-pool"\ndata = "cpool_cdata"\nmetadata = "cpool_cmeta"\nchunk_size = 128\ncache_mode = "writethrough"\npolicy = "smq"')
$(lvm_text_lv cpool_cdata "$rw" 1 "$(lvm_text_linear pv0 $((e + 2)))")
$(lvm_text_lv cpool_cmeta "$rw" 1 "$(lvm_text_linear pv0 $((e + 3)))")" ;;
	error)
		extra="$(lvm_text_lv broken "$vis" 2 'type = "error"')" ;;
	esac
	lvm_cmd vgcfgbackup -f "$T_DIR/lvm/$vg.txt" "$vg" >/dev/null
	python3 - "$T_DIR/lvm/$vg.txt" "$extra" <<'PY'
import sys
path, extra = sys.argv[1], sys.argv[2]
s = open(path).read()
i = s.index("logical_volumes {") + len("logical_volumes {\n")
open(path, "w").write(s[:i] + extra + "\n" + s[i:])
PY
	lvm_cmd vgcfgrestore -q --force -f "$T_DIR/lvm/$vg.txt" "$vg" >/dev/null
}
