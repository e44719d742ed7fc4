#!/bin/bash
# LVM2 read without device-mapper: the volume groups lvm2's own tools made
# on loop devices (tests/lib/lvm.sh) are found, mapped as lvs maps them,
# and captured keeping the group as it is, each logical volume by the
# blocks its filesystem uses and nothing of the unused extents.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/lvm.sh"

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # skip loop devices need root"
	exit 0
fi
plan 37

disk=$T_DIR/rhel.img
rep=$disk.lvm.json
lvm_server_disk "$disk"
# What lvm2 says of the group, before ferry reads a byte.
vg_uuid=$(lvm_cmd vgs --noheadings -o vg_uuid rl | tr -d ' ')
declare -A lv_uuid
for lv in root swap home; do
	lv_uuid[$lv]=$(lvm_cmd lvs --noheadings -o lv_uuid "rl/$lv" | tr -d ' ')
done
lvm_cmd lvs --noheadings --segments -o lv_name,seg_pe_ranges --separator ' ' rl |
	sed 's/^ *//; s|/dev/loop[0-9]*|pv0|' | LC_ALL=C sort >"$T_DIR/lvs.segs"
lvm_release
src_sha=$(sha "$disk")

# scan: the group, its volumes, the system in them.
"$FERRY" scan --json "$disk" >"$T_DIR/scan.json"
q() { python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print($2)" "$1"; }
check_eq "scan finds volume group rl with lvm2's UUID" "rl $vg_uuid" \
	"$(q "$T_DIR/scan.json" '" ".join(v["name"] + " " + v["uuid"] for v in d["volume_groups"])')"
check_eq "partition 2 is its PV" "2 rl" \
	"$(q "$T_DIR/scan.json" '" ".join("%d %s" % (p["number"], p["volume_group"]) for p in d["disks"][0]["partitions"] if p["volume_group"])')"
for lv in root swap home; do
	check_eq "LV $lv has lvm2's UUID" "${lv_uuid[$lv]}" \
		"$(q "$T_DIR/scan.json" "[l['lv_uuid'] for l in d['volume_groups'][0]['logical_volumes'] if l['name'] == '$lv'][0]")"
done
q "$T_DIR/scan.json" '"\n".join(sorted(l["name"] + " " + " ".join("%s:%d-%d" % (a["pv"], a["first_extent"], a["last_extent"]) for a in s["areas"]) for l in d["volume_groups"][0]["logical_volumes"] for s in l["segments"]))' \
	>"$T_DIR/ferry.segs"
check_eq "every segment maps to the extents lvs --segments -o seg_pe_ranges names" \
	"$(cat "$T_DIR/lvs.segs")" "$(cat "$T_DIR/ferry.segs")"
check_eq "root has two segments" 2 \
	"$(q "$T_DIR/scan.json" '[len(l["segments"]) for l in d["volume_groups"][0]["logical_volumes"] if l["name"] == "root"][0]')"
check_eq "/ is found on LV rl/root" "rl/root" "$(q "$T_DIR/scan.json" 'd["root"]["logical_volume"]')"
check_eq "/boot is found on partition 1" 1 "$(q "$T_DIR/scan.json" 'd["boot"]["partition"]')"
check_eq "the filesystems in the LVs are read: root ext4, swap, home ext4 with their UUIDs" \
	"root ext4 $LVM_UUID_ROOT swap swap $LVM_UUID_SWAP home ext4 $LVM_UUID_HOME" \
	"$(q "$T_DIR/scan.json" '" ".join("%s %s %s" % (l["name"], l["fs"], l["uuid"]) for l in d["volume_groups"][0]["logical_volumes"])')"
# used bytes as dumpe2fs counts them in the LV read the way dm maps it
lvm_get "$disk" "$rep" root "$T_DIR/root.fs"
used=$(dumpe2fs -h "$T_DIR/root.fs" 2>/dev/null | awk -F: '/^Block count/ {b=$2} /^Free blocks/ {f=$2} /^Block size/ {s=$2} END {print (b - f) * s}')
check_eq "root's used bytes are dumpe2fs's" "$used" \
	"$(q "$T_DIR/scan.json" '[l["used_bytes"] for l in d["volume_groups"][0]["logical_volumes"] if l["name"] == "root"][0]')"
"$FERRY" scan "$disk" >"$T_DIR/scan.txt"
check_match "scan's text shows the group and / in it" \
	"volume group rl .*PVs: pv0 \(.* partition 2\)" "$(cat "$T_DIR/scan.txt")"
check_match "... and the LV that holds /" "root .* ext4 .*\[/\]" "$(grep '^    root' "$T_DIR/scan.txt")"

# capture without fixes: every block a filesystem uses is the source's.
rc=0
"$FERRY" capture --quiet --no-fix --format raw --json "$disk" "$T_DIR/plain.raw" \
	>"$T_DIR/plain.json" || rc=$?
check_eq "ferry capture --no-fix of the LVM disk" 0 "$rc"
for lv in root home; do
	lvm_get "$T_DIR/plain.raw" "$rep" "$lv" "$T_DIR/img-$lv.fs"
	lvm_get "$disk" "$rep" "$lv" "$T_DIR/src-$lv.fs"
	check "LV $lv: every used block is the source's, every free block zero (stale in the source)" \
		python3 "$TESTS_DIR/lib/freecheck.py" --used-same "$T_DIR/src-$lv.fs" 0 "$T_DIR/img-$lv.fs" 0
done
lvm_get "$T_DIR/plain.raw" "$rep" swap "$T_DIR/img-swap"
check_eq "the swap LV's header is kept: blkid reads its UUID" "$LVM_UUID_SWAP" \
	"$(blkid -o value -s UUID "$T_DIR/img-swap")"
check_eq "... and nothing behind it is copied" "" \
	"$(tail -c +4097 "$T_DIR/img-swap" | tr -d '\0' | head -c 1)"
# The group as lvm2 reads it from the image.
lvm_attach "$T_DIR/plain.raw" $((LVM_P2_START * 512)) $(((LVM_DISK_MIB << 20) - LVM_P2_START * 512))
check_eq "lvm2 reads the image's group: same VG UUID" "$vg_uuid" \
	"$(lvm_cmd vgs --noheadings -o vg_uuid rl | tr -d ' ')"
check_eq "... same LVs, UUIDs and segments" \
	"$(for lv in root swap home; do echo "${lv_uuid[$lv]}"; done | sort | tr '\n' ' ')" \
	"$(lvm_cmd lvs --noheadings -o lv_uuid rl | tr -d ' ' | sort | tr '\n' ' ')"
# Unused extents: 32 used of the PV's, the rest not copied.
lvm_cmd pvs --noheadings --segments --units b --nosuffix -o pvseg_start,pvseg_size,lv_name \
	>"$T_DIR/pvsegs"
lvm_release
free_stale=0 free_copied=0
while read -r start size lvname; do
	[ -z "$lvname" ] || continue
	off=$((LVM_P2_START * 512 + 1048576 + start * 4194304))
	len=$((size * 4194304))
	[ -n "$(tail -c +$((off + 1)) "$disk" | head -c "$len" | tr -d '\0' | head -c 1)" ] &&
		free_stale=$((free_stale + 1))
	[ -n "$(tail -c +$((off + 1)) "$T_DIR/plain.raw" | head -c "$len" | tr -d '\0' | head -c 1)" ] &&
		free_copied=$((free_copied + 1))
done < <(awk '{print $1, $2, $3}' "$T_DIR/pvsegs")
check_eq "the PV's unused extents (stale in the source) are not copied" "1 0" \
	"$free_stale $free_copied"
check_eq "the capture report lists the LVs and their methods" \
	"rl/root used-blocks rl/swap swap-header rl/home used-blocks" \
	"$(q "$T_DIR/plain.json" '" ".join(v["name"] + " " + v["method"] for v in d["logical_volumes"])')"

# capture with fixes: the edited root is a sound filesystem.
check "ferry capture of the LVM disk (fixes on)" \
	"$FERRY" capture --quiet --format raw "$disk" "$T_DIR/fixed.raw"
lvm_get "$T_DIR/fixed.raw" "$rep" root "$T_DIR/fixed-root.fs"
check "the fixed root LV passes e2fsck -fn" e2fsck -fn "$T_DIR/fixed-root.fs"
check_match "its fstab still names / by its device-mapper name" "^/dev/mapper/rl-root +/ " \
	"$(debugfs -R 'cat /etc/fstab' "$T_DIR/fixed-root.fs" 2>/dev/null)"
check_match "the fixes wrote net.ifnames=0 into /etc/default/grub on the LV" "net.ifnames=0" \
	"$(debugfs -R 'cat /etc/default/grub' "$T_DIR/fixed-root.fs" 2>/dev/null)"

# A striped LV over two PVs (two partitions), 64 KiB stripes.
sdisk=$T_DIR/striped.img
head -c $((160 << 20)) /dev/urandom >"$sdisk"
sfdisk -q --wipe never "$sdisk" <<EOF
label: dos
start=2048, size=153600, type=8e
start=155648, size=153600, type=8e
EOF
lvm_pv "$sdisk" $((2048 * 512)) $((153600 * 512))
p1=$LVM_PV
lvm_pv "$sdisk" $((155648 * 512)) $((153600 * 512))
p2=$LVM_PV
lvm_cmd vgcreate -q -s 4m data "$p1" "$p2" >/dev/null
lvm_cmd lvcreate -q -an -Zn -i 2 -I 64k -L 48m -n store data >/dev/null
lvm_report data "$sdisk.lvm.json"
mkdir -p "$T_DIR/store"
head -c 9000000 /dev/urandom >"$T_DIR/store/blob"
seq 1 50000 >"$T_DIR/store/numbers"
lvm_get "$sdisk" "$sdisk.lvm.json" store "$T_DIR/store.fs"
mke2fs -q -F -t ext4 -E nodiscard -U 5e1f0000-0000-4000-8000-000000000001 -d "$T_DIR/store" "$T_DIR/store.fs"
lvm_put "$sdisk" "$sdisk.lvm.json" store "$T_DIR/store.fs"
lvm_release
ssha=$(sha "$sdisk")
"$FERRY" scan --json "$sdisk" >"$T_DIR/sscan.json"
check_eq "the striped LV is read: kind, stripe size, its ext4's UUID" \
	"striped 65536 5e1f0000-0000-4000-8000-000000000001" \
	"$(q "$T_DIR/sscan.json" '" ".join("%s %d %s" % (l["kind"], l["segments"][0]["stripe_size"], l["uuid"]) for l in d["volume_groups"][0]["logical_volumes"])')"
check "ferry capture of the striped disk (no system: --force)" \
	"$FERRY" capture --quiet --force --format raw "$sdisk" "$T_DIR/striped.raw"
lvm_get "$T_DIR/striped.raw" "$sdisk.lvm.json" store "$T_DIR/img-store.fs"
check "the striped LV in the image passes e2fsck -fn" e2fsck -fn "$T_DIR/img-store.fs"
check "... and its used blocks are the source's" \
	python3 "$TESTS_DIR/lib/freecheck.py" --used-same "$T_DIR/store.fs" 0 "$T_DIR/img-store.fs" 0
check_eq "... its files too" "$(sha "$T_DIR/store/blob")" \
	"$(debugfs -R 'cat /blob' "$T_DIR/img-store.fs" 2>/dev/null | sha256sum | cut -d' ' -f1)"

# Two metadata areas (--pvmetadatacopies 2): the newest valid text of the
# two is read. The first area is then put back as it was before the last
# change (valid, older); then the second area's text is damaged.
mdisk=$T_DIR/mda.img
head -c $((64 << 20)) /dev/urandom >"$mdisk"
echo "start=2048, type=8e" | sfdisk -q --wipe never "$mdisk"
lvm_pv "$mdisk" 1048576 $(((64 << 20) - 1048576)) --pvmetadatacopies 2
lvm_cmd vgcreate -q -s 4m two "$LVM_PV" >/dev/null
dd if="$mdisk" of="$T_DIR/mda1.old" bs=4096 skip=$((1048576 / 4096)) count=256 status=none
lvm_cmd lvcreate -q -an -Zn -L 8m -n late two >/dev/null
lvm_release
names() { "$FERRY" scan --json "$1" 2>"$T_DIR/mda.err" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(" ".join("%s:%d:%s" % (v["name"], v["seqno"], ",".join(l["name"] for l in v["logical_volumes"])) for v in d["volume_groups"]))'; }
check_eq "a PV with two metadata areas: the group as lvm2 left it" "two:2:late" "$(names "$mdisk")"
dd if="$T_DIR/mda1.old" of="$mdisk" bs=4096 seek=$((1048576 / 4096)) conv=notrunc status=none
check_eq "the first area older (seqno 1): the second's newer text is read" "two:2:late" \
	"$(names "$mdisk")"
# The second area is at the PV's end; its text follows its 512-byte header.
end=$((64 << 20))
python3 - "$mdisk" "$end" <<'PY'
import sys
path, end = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(end - (4 << 20))
    area = f.read(4 << 20)
    at = area.rfind(b" LVM2 x[5A%r0N*>") - 4          # the area's header
    text = area.find(b"seqno = 2", at) # inside the current text
    f.seek(end - (4 << 20) + text + len("seqno = "))
    f.write(b"3")
PY
check_eq "the second area's text damaged: the first area's older text is read" "two:1:" \
	"$(names "$mdisk")"
check_match "... with a warning naming the checksum" "metadata text .* wrong checksum" \
	"$(cat "$T_DIR/mda.err")"

check_eq "the LVM disk's SHA-256 is unchanged" "$src_sha" "$(sha "$disk")"
check_eq "the striped disk's SHA-256 is unchanged" "$ssha" "$(sha "$sdisk")"
done_testing
