#!/bin/bash
# ferry capture fixes a CentOS 7 server disk for KVM in the copy: checked on
# the image with e2fsck and debugfs; the source keeps its SHA-256; a second
# capture of the image changes nothing more; --no-fix and --fix select.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"
. "$TESTS_DIR/lib/physical.sh"

plan 40

disk=$T_DIR/disk.img
fx_physical_disk "$disk"
src_sha=$(sha "$disk")
boot="?offset=$(fxp_off 1)"
root="?offset=$(fxp_off 2)"

# cat_in IMG PART PATH: a file from the image, read by debugfs.
cat_in() { debugfs -R "cat $3" "$1?offset=$(fxp_off "$2")" 2>/dev/null; }
# exists_in IMG PART PATH: prints yes or no (debugfs exits 0 either way).
exists_in() {
	if debugfs -R "stat $3" "$1?offset=$(fxp_off "$2")" 2>&1 | grep 'File not found' >/dev/null; then
		echo no
	else
		echo yes
	fi
}
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

out=$T_DIR/out.raw
rc=0
"$FERRY" capture --quiet --format raw --json "$disk" "$out" >"$T_DIR/report.json" 2>"$T_DIR/err" || rc=$?
check_eq "capture exits 0" "0" "$rc$(sed 's/^/ /' "$T_DIR/err")"
check_eq "the source's SHA-256 is unchanged" "$src_sha" "$(sha "$disk")"
check "e2fsck -fn /boot of the image" e2fsck -fn "$out$boot"
check "e2fsck -fn / of the image" e2fsck -fn "$out$root"
cp "$out" "$T_DIR/fy.raw"
check "e2fsck -fy finds nothing to change on /" e2fsck -fy "$T_DIR/fy.raw$root"

fstab=$(cat_in "$out" 2 /etc/fstab)
check_match "fstab: / by UUID" "^UUID=$FXP_UUID_ROOT +/ +ext4" "$fstab"
check_match "fstab: /boot by UUID" "^UUID=$FXP_UUID_BOOT +/boot +ext4" "$fstab"
check_match "fstab: swap by UUID" "^UUID=$FXP_UUID_SWAP +swap +swap" "$fstab"
check_match "fstab: the data disk's line is commented out" "^# */dev/sdb1 +/data" "$fstab"
check_match "fstab: a note says why" "^# ferry.*(/dev/sdb1|/data)" "$fstab"
check_match "fstab: NFS is kept" "^nas01:/export/backup +/mnt/backup +nfs" "$fstab"
check_eq "fstab: no /dev/sd name is left active" "" \
	"$(printf '%s\n' "$fstab" | grep -E '^/dev/sd' || :)"

grub=$(cat_in "$out" 1 /grub2/grub.cfg)
check_match "grub.cfg: root=UUID= on the linux16 line" \
	"linux16 /vmlinuz-$FXP_KVER root=UUID=$FXP_UUID_ROOT " "$grub"
check_match "grub.cfg: net.ifnames=0 biosdevname=0" \
	"linux16 .*net\.ifnames=0.*biosdevname=0|linux16 .*biosdevname=0.*net\.ifnames=0" "$grub"
check_match "/etc/default/grub: the NIC is eth0 from the next grub2-mkconfig" \
	'^GRUB_CMDLINE_LINUX=".*net\.ifnames=0' "$(cat_in "$out" 2 /etc/default/grub)"
check_match "SELinux disabled" "^SELINUX=disabled" "$(cat_in "$out" 2 /etc/selinux/config)"
check_eq "firewalld: the multi-user wants-link is gone" "no" \
	"$(exists_in "$out" 2 /etc/systemd/system/multi-user.target.wants/firewalld.service)"
ifcfg=$(cat_in "$out" 2 /etc/sysconfig/network-scripts/ifcfg-eth0)
check_match "network: ifcfg-eth0 uses DHCP" '^BOOTPROTO="?dhcp"?' "$ifcfg"
check_match "network: ifcfg-eth0 starts at boot" '^ONBOOT="?yes"?' "$ifcfg"
check_eq "network: em1's static address is no longer brought up" "" \
	"$(cat_in "$out" 2 /etc/sysconfig/network-scripts/ifcfg-em1 | grep -E '^ONBOOT=.?yes' || :)"
check_eq "network: 70-persistent-net.rules is removed" "no" \
	"$(exists_in "$out" 2 /etc/udev/rules.d/70-persistent-net.rules)"
check_eq "untouched data survives" "$(cat_in "$disk" 2 /data/keep.bin | sha256sum)" \
	"$(cat_in "$out" 2 /data/keep.bin | sha256sum)"

check_eq "report: every rule ran" "fstab,bootloader,selinux,firewall,network,hvtools,cloudinit,virtio" \
	"$(json_get "$T_DIR/report.json" '",".join(d["fixes"]["ran"])')"
check_match "report: the fstab root change, before and after" \
	"^/dev/sda2 .*-> UUID=$FXP_UUID_ROOT " \
	"$(json_get "$T_DIR/report.json" '"\n".join((c["before"] or "")+" -> "+(c["after"] or "") for c in d["fixes"]["changes"] if c["rule"]=="fstab")')"
check_match "report: cloud-init missing is noted" "cloud-init" \
	"$(json_get "$T_DIR/report.json" '"\n".join(n["text"] for n in d["fixes"]["notes"] if n["rule"]=="cloudinit")')"

sleep 1.1
"$FERRY" capture --quiet --format raw "$disk" "$T_DIR/twice.raw"
check "two captures of one source are byte-identical (fixes carry no clock time)" \
	cmp "$out" "$T_DIR/twice.raw"

# The image, captured again, needs nothing more.
rc=0
"$FERRY" capture --quiet --format raw --json "$out" "$T_DIR/again.raw" >"$T_DIR/again.json" || rc=$?
check_eq "a capture of the image exits 0" "0" "$rc"
check_eq "a capture of the image changes nothing" "0" \
	"$(json_get "$T_DIR/again.json" 'len(d["fixes"]["changes"])')"

rc=0
"$FERRY" capture --quiet --no-fix --format raw "$disk" "$T_DIR/nofix.raw" || rc=$?
check_eq "--no-fix exits 0" "0" "$rc"
check_eq "--no-fix: fstab as it was" "$(cat_in "$disk" 2 /etc/fstab | sha256sum)" \
	"$(cat_in "$T_DIR/nofix.raw" 2 /etc/fstab | sha256sum)"
check_eq "--no-fix: grub.cfg as it was" "$(cat_in "$disk" 1 /grub2/grub.cfg | sha256sum)" \
	"$(cat_in "$T_DIR/nofix.raw" 1 /grub2/grub.cfg | sha256sum)"

rc=0
"$FERRY" capture --quiet --format raw --json --fix selinux "$disk" "$T_DIR/se.raw" >"$T_DIR/se.json" || rc=$?
check_eq "--fix selinux exits 0" "0" "$rc"
check_eq "--fix selinux: only that rule ran" "selinux" \
	"$(json_get "$T_DIR/se.json" '",".join(d["fixes"]["ran"])')"
check_match "--fix selinux: SELinux disabled" "^SELINUX=disabled" \
	"$(cat_in "$T_DIR/se.raw" 2 /etc/selinux/config)"
check_eq "--fix selinux: fstab untouched" "$(cat_in "$disk" 2 /etc/fstab | sha256sum)" \
	"$(cat_in "$T_DIR/se.raw" 2 /etc/fstab | sha256sum)"

# A swap area holding a hibernation image: plain swap in the copy, same UUID.
cp "$disk" "$T_DIR/hib.img"
printf 'S1SUSPEND\0' | dd of="$T_DIR/hib.img" bs=1 conv=notrunc status=none \
	seek=$(($(fxp_off 3) + 4096 - 10))
hib_sha=$(sha "$T_DIR/hib.img")
check_match "fixture: blkid sees a hibernation image" "TYPE=\"?swsuspend" \
	"$(blkid -p -O "$(fxp_off 3)" "$T_DIR/hib.img")"
"$FERRY" capture --quiet --format raw "$T_DIR/hib.img" "$T_DIR/hib.raw"
check_match "a hibernated swap area becomes plain swap with the same UUID" \
	"UUID=\"$FXP_UUID_SWAP\".*TYPE=\"swap\"|TYPE=\"swap\".*UUID=\"$FXP_UUID_SWAP\"" \
	"$(blkid -p -O "$(fxp_off 3)" "$T_DIR/hib.raw")"
check_eq "hibernated swap: the source's SHA-256 is unchanged" "$hib_sha" "$(sha "$T_DIR/hib.img")"

check_fails "--fix with an unknown rule is a usage error" 2 "unknown rule 'dhcp'" \
	"$FERRY" capture --fix selinux,dhcp "$disk" "$T_DIR/x.raw"
check_eq "the source's SHA-256 is unchanged after all captures" "$src_sha" "$(sha "$disk")"
done_testing
