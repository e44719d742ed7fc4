#!/bin/bash
# End to end: a real Debian "physical server" (lib/server.sh), migrated by
# the rescue ISO unattended to radosgw, boots on a virtio-only KVM machine.
#
# Per variant: the fixture is what it claims (GRUB in the MBR, /dev/sdX in
# fstab and grub.cfg, no virtio in its initrd by the tree's own
# lsinitramfs); it boots as a physical machine (system disk on IDE, data
# disk on MegaRAID, e1000) to the marker with its static address, and it
# does NOT boot with virtio devices only. Then the story (lib/migrate.sh):
# the rescue ISO with ferry/job.conf boots on the physical machine, captures
# to radosgw and powers off; the source disks are unchanged; the download
# (boto3) has the manifest's SHA-256 and the manifest lists the fixes; the
# image boots with a virtio disk and a virtio NIC only, in 1 GiB: multi-user
# reached, root on vda, eth0 with a DHCP address, no failed unit.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/boot/lib/server.sh"
. "$TESTS_DIR/boot/lib/qemu.sh"
. "$TESTS_DIR/boot/lib/migrate.sh"
. "$TESTS_DIR/s3/lib/rgw.sh"

images=${FERRY_IMAGES:-$(dirname "$FERRY")/../images}
iso=$images/ferry-rescue.iso
if [ ! -f "$iso" ]; then
	echo "1..0 # SKIP no rescue ISO in $images (a static build makes it)"
	exit 0
fi
variants=${FERRY_SERVER_VARIANTS:-$SV_VARIANTS}
per=21
# shellcheck disable=SC2086 # a list
set -- $variants
plan $((1 + $# * per))

rgw_start || { not_ok "radosgw starts"; done_testing; exit 1; }
ok "radosgw starts ($RGW_HOST_HTTPS)"

# part V DISK-DIR N: the offset in bytes of partition N of the fixture.
part() { echo $(($(sfdisk -J "$1" | /usr/bin/python3 -c 'import json,sys
n = sys.argv[1]
for p in json.load(sys.stdin)["partitiontable"]["partitions"]:
    if p["node"].endswith(n) and not p["node"][:-len(n)][-1:].isdigit():
        print(p["start"])' "$2") * 512)); }
diag() { sed 's/^/#   /' | tail -n "${1:-15}"; }
py() { /usr/bin/python3 -c "$@"; }

for v in "$@"; do
	dir=$(sv_disk "$v") || {
		for _ in $(seq "$per"); do not_ok "$v: the fixture builds"; done
		continue
	}
	ok "$v: the fixture is built ($dir)"
	tree=$(sv_tree "$v")
	kver=$(cat "$dir/kver")
	rootn=$(sv_layout "$v" | awk '$5 == "/" { print $1 }')
	bootn=$(sv_layout "$v" | awk '$5 == "/boot" { print $1 }')
	rootoff=$(part "$dir/disk.img" "$rootn")
	bootoff=$(part "$dir/disk.img" "${bootn:-$rootn}")
	kdir=$(sv_kdir "$v")

	# 1. The fixture is a server never prepared for a cloud.
	check_match "$v: GRUB's boot code is in the MBR, msdos table" "GRUB.*55aa.*label: dos" \
		"$(head -c 440 "$dir/disk.img" | grep -a -o GRUB) $(od -An -tx1 -j 510 -N 2 "$dir/disk.img" | tr -d ' ') $(sfdisk -d "$dir/disk.img" | grep label:)"
	fstab=$(debugfs -R 'cat /etc/fstab' "$dir/disk.img?offset=$rootoff" 2>/dev/null)
	check_match "$v: fstab mounts / and the data disk by /dev/sdX" \
		"/dev/sda$rootn	/	.*/dev/sdb1	/data" "$(printf '%s' "$fstab" | tr '\n' ' ')"
	grubcfg=$(debugfs -R "cat ${kdir:-}/grub/grub.cfg" "$dir/disk.img?offset=$bootoff" 2>/dev/null)
	check_match "$v: grub.cfg boots root=/dev/sda$rootn" "linux	$kdir/vmlinuz-$kver root=/dev/sda$rootn ro" "$grubcfg"
	debugfs -R "dump ${kdir:-}/initrd.img-$kver $T_DIR/$v-initrd.img" "$dir/disk.img?offset=$bootoff" >/dev/null 2>&1
	cp "$T_DIR/$v-initrd.img" "$tree/root/tmp/ferry-ls-$$.img"
	mods=$(env -i PATH="$DT_CHROOT_PATH" chroot "$tree/root" lsinitramfs "/tmp/ferry-ls-$$.img" | dt_modules_in | tr '\n' ' ')
	rm -f "$tree/root/tmp/ferry-ls-$$.img"
	missing=""
	for d in $DT_PHYS_DRIVERS; do
		case " $mods" in *" $d "*) ;; *) missing="$missing $d" ;; esac
	done
	check_eq "$v: lsinitramfs lists the physical drivers ($DT_PHYS_DRIVERS)" "" "$missing"
	case $mods in
	*virtio*) not_ok "$v: ... and no virtio" "lsinitramfs lists: $mods" ;;
	*) ok "$v: ... and no virtio ($(echo "$mods" | wc -w) modules)" ;;
	esac

	# 2. It boots as the physical machine it is, and not on virtio alone.
	rc=0
	mg_boot_physical "$T_DIR/$v-phys.log" "$dir/disk.img" "$dir/data.img" 300 || rc=$?
	if [ "$rc" = 0 ]; then
		ok "$v: boots on IDE + MegaRAID + e1000 to the marker in $QM_SECS s"
	else
		not_ok "$v: boots on IDE + MegaRAID + e1000 to the marker" "$QM_WHY"
		qm_tail | diag
	fi
	check_match "$v: ... root on sda$rootn, /data on sdb1, multi-user reached" \
		"root=/dev/sda$rootn data=/dev/sdb1 multi-user=active" "$(mg_marker "$T_DIR/$v-phys.log" BOOTED)"
	check_eq "$v: ... $SV_NIC has the static address" "$SV_NIC $SV_IP/24 static" \
		"$(mg_marker "$T_DIR/$v-phys.log" NET)"
	rc=0
	mg_boot_cloud "$T_DIR/$v-virtio.log" "$dir/disk.img" raw 300 "$dir/data.img" || rc=$?
	if [ "$rc" = 1 ]; then
		ok "$v: does not boot with virtio devices only ($QM_WHY)"
	else
		not_ok "$v: does not boot with virtio devices only" "$QM_WHY"
	fi

	# 3. The migration: the rescue ISO on the physical machine, unattended.
	cp --sparse=always "$dir/disk.img" "$T_DIR/$v-disk.img"
	cp --sparse=always "$dir/data.img" "$T_DIR/$v-data.img"
	src_sha=$(sha "$T_DIR/$v-disk.img")
	data_sha=$(sha "$T_DIR/$v-data.img")
	key=servers/$v.qcow2
	# shellcheck disable=SC2046 # one line per argument
	mg_site_iso "$iso" "$T_DIR/$v-site.iso" $(mg_job "$key" format=qcow2)
	if mg_migrate "$T_DIR/$v-rescue.log" "$T_DIR/$v-site.iso" "$T_DIR/$v-disk.img" \
		"$T_DIR/$v-data.img" 1200; then
		ok "$v: the rescue ISO migrated it unattended and powered off ($QM_SECS s)"
	else
		not_ok "$v: the rescue ISO migrated it unattended and powered off" "$QM_WHY"
		tr -d '\r' <"$T_DIR/$v-rescue.log" | diag 25
	fi
	check_match "$v: ... the job came from ferry/job.conf on the ISO and ended done" \
		"the job file ferry/job.conf on the boot medium.*ferry: done" \
		"$(tr -d '\r' <"$T_DIR/$v-rescue.log" | tr '\n' ' ')"
	check_eq "$v: the system disk is unchanged (SHA-256)" "$src_sha" "$(sha "$T_DIR/$v-disk.img")"
	check_eq "$v: the data disk is unchanged (SHA-256)" "$data_sha" "$(sha "$T_DIR/$v-data.img")"
	rm -f "$T_DIR/$v-data.img"
	img=$T_DIR/$v.qcow2
	rgw_get "$key" "$img" 2>/dev/null || :
	rgw_get "$key.ferry.json" "$T_DIR/$v.json" 2>/dev/null || :
	check_eq "$v: the download (boto3) has the manifest's SHA-256" "$(sha "$img" 2>/dev/null)" \
		"$(py 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$T_DIR/$v.json" 2>&1)"
	check_match "$v: qemu-img check: clean qcow2 of the disk's size" \
		"No errors.*qcow2 $(stat -c %s "$dir/disk.img")" \
		"$(qemu-img check "$img" 2>&1 | tr '\n' ' ') $(qemu-img info --output=json "$img" 2>/dev/null |
			py 'import json,sys; d = json.load(sys.stdin); print(d["format"], d["virtual-size"])' 2>&1)"
	rules=$(py 'import json,sys
f = json.load(open(sys.argv[1]))["fixes"]
print(" ".join(sorted({c["rule"] for c in f["changes"]})))' "$T_DIR/$v.json" 2>&1)
	check_eq "$v: the manifest lists the fixes" "bootloader firewall fstab network selinux virtio" "$rules"
	rm -f "$T_DIR/$v-disk.img"

	# 4. The image boots as the cloud boots it.
	rc=0
	mg_boot_cloud "$T_DIR/$v-cloud.log" "$img" qcow2 300 || rc=$?
	if [ "$rc" = 0 ]; then
		ok "$v: the image boots on virtio-blk + virtio-net to the marker in $QM_SECS s"
	else
		not_ok "$v: the image boots on virtio-blk + virtio-net to the marker" "$QM_WHY"
		qm_tail 25 | diag 25
	fi
	check_match "$v: ... multi-user reached, root on vda$rootn, /data not mounted" \
		"root=/dev/vda$rootn data=none multi-user=active" "$(mg_marker "$T_DIR/$v-cloud.log" BOOTED)"
	check_match "$v: ... eth0 has a DHCP address" "^eth0 10\.0\.2\.[0-9]+/24 dynamic$" \
		"$(mg_marker "$T_DIR/$v-cloud.log" NET)"
	check_eq "$v: ... no unit failed" "" "$(mg_marker "$T_DIR/$v-cloud.log" FAILED)"
	rm -f "$img"
done
done_testing
