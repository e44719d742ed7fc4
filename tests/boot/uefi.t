#!/bin/bash
# A Debian server that boots by UEFI (lib/uefi.sh: GPT, an ESP with GRUB for
# x86_64-efi, ext4 /, an initrd without virtio), migrated through the rescue
# ISO to radosgw (lib/migrate.sh): with cloud=kvm and boot_mode=keep the
# image keeps UEFI and boots under OVMF with its disk on virtio only; with
# cloud=tencent (whose default boot mode is bios, docs/boot-mode.md) its
# table is made an MBR and GRUB for BIOS installed, and it boots under
# SeaBIOS with its disk on virtio only, /data mounted from logical
# partition 6 (the GPT's partition 5). First, the fixture boots under OVMF
# on IDE as the physical machine it is. Each boot must reach the server's
# marker: multi-user reached, / on the expected device. The source's
# SHA-256 is unchanged by each migration.
# shellcheck source=../lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=lib/server.sh
. "$TESTS_DIR/boot/lib/server.sh"
# shellcheck source=lib/uefi.sh
. "$TESTS_DIR/boot/lib/uefi.sh"
# shellcheck source=lib/qemu.sh
. "$TESTS_DIR/boot/lib/qemu.sh"
# shellcheck source=lib/migrate.sh
. "$TESTS_DIR/boot/lib/migrate.sh"
# shellcheck source=../s3/lib/rgw.sh
. "$TESTS_DIR/s3/lib/rgw.sh"

OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
images=${FERRY_IMAGES:-$(dirname "$FERRY")/../images}
iso=$images/ferry-rescue.iso
need=""
[ -f "$iso" ] || need="$need $iso (a static build makes it)"
for f in "$OVMF_CODE" "$OVMF_VARS" "$UF_EFI_LIB/normal.mod"; do
	[ -r "$f" ] || need="$need $f"
done
for tool in qemu-system-x86_64 sgdisk mkfs.vfat mcopy grub-mkimage mmdebstrap; do
	command -v "$tool" >/dev/null || need="$need $tool"
done
if [ -n "$need" ]; then
	echo "1..0 # SKIP needs:$need"
	exit 0
fi
plan 17

dir=$(uf_disk) || { not_ok "the UEFI fixture builds"; done_testing; exit 1; }
ok "the UEFI fixture is built ($dir)"
disk=$dir/disk.img
src_sha=$(sha "$disk")
check_match "a GPT disk with an EFI system partition, no BIOS boot code" \
	"EF00.*8300.*zero" \
	"$(sgdisk -p "$disk" | awk '/^ +[0-9]/ { print $6 }' | tr '\n' ' ') $(head -c 440 "$disk" | tr -d '\0' | wc -c | sed 's/^0$/zero/')"

# ovmf LOG DRIVE-ARGS...: a UEFI machine (OVMF, its own variables).
ovmf() {
	local log=$1
	shift
	cp "$OVMF_VARS" "$log.vars"
	qm_start_args "$log" -drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE" \
		-drive "if=pflash,format=raw,file=$log.vars" "$@"
}
# booted LOG WANT DESC: the marker says WANT.
booted() {
	local rc=0
	mg_wait 400 || rc=$?
	if [ "$rc" = 0 ]; then
		check_match "$3" "$2" "$(mg_marker "$1" BOOTED)"
	else
		not_ok "$3" "no marker (qm_wait $rc: $QM_WHY)" "$(tail -n 15 "$1")"
	fi
}

log=$T_DIR/physical.log
ovmf "$log" -drive "file=$disk,if=none,id=sys,format=raw,snapshot=on" \
	-device ide-hd,drive=sys,bus=ide.0,unit=0
booted "$log" "root=/dev/sda2 data=/dev/sda5 multi-user=active" \
	"the fixture boots under OVMF with its disk on IDE"

# The migration, as server.t's (lib/migrate.sh): the rescue ISO boots on the
# physical machine with ferry/job.conf, captures to radosgw and powers off;
# the image is downloaded (boto3) and booted as the cloud boots it.
if rgw_start; then
	ok "radosgw starts ($RGW_HOST_HTTPS)"
else
	not_ok "radosgw starts"
fi
truncate -s 64M "$T_DIR/data.img"
# migrate NAME JOB-KEYS...: the qcow2 image of the job into $T_DIR/NAME.qcow2,
# as raw into $T_DIR/NAME.raw, its manifest into $T_DIR/NAME.json.
migrate() {
	local name=$1 phys=$T_DIR/phys.img
	shift
	cp --sparse=always "$disk" "$phys"
	# shellcheck disable=SC2046 # one line per argument
	mg_site_iso "$iso" "$T_DIR/$name-site.iso" $(mg_job "uefi-$name.qcow2" format=qcow2 "$@")
	if mg_migrate "$T_DIR/$name-rescue.log" "$T_DIR/$name-site.iso" "$phys" "$T_DIR/data.img" 1200; then
		ok "$name: the rescue ISO migrated it unattended and powered off ($QM_SECS s)"
	else
		not_ok "$name: the rescue ISO migrated it unattended and powered off" "$QM_WHY" \
			"$(tr -d '\r' <"$T_DIR/$name-rescue.log" | tail -n 20)"
	fi
	check_eq "$name: ... the system disk is unchanged (SHA-256)" "$src_sha" "$(sha "$phys")"
	rm -f "$phys" "$T_DIR/$name-site.iso"
	rgw_get "uefi-$name.qcow2" "$T_DIR/$name.qcow2" 2>/dev/null || :
	rgw_get "uefi-$name.qcow2.ferry.json" "$T_DIR/$name.json" 2>/dev/null || :
	qemu-img convert -O raw "$T_DIR/$name.qcow2" "$T_DIR/$name.raw" 2>/dev/null || :
}
manifest() {
	/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["boot_mode"], d["image_table"], d["sha256"])' "$1" 2>&1
}

# --cloud kvm, --boot-mode keep: UEFI kept.
migrate keep cloud=kvm boot_mode=keep
check_eq "keep: the manifest: boots by UEFI, still GPT; the download has its SHA-256" \
	"uefi gpt $(sha "$T_DIR/keep.qcow2" 2>/dev/null)" "$(manifest "$T_DIR/keep.json")"
check "keep: sgdisk -v: a whole GPT disk" bash -c "sgdisk -v '$T_DIR/keep.raw' | grep -q 'No problems found'"
log=$T_DIR/keep.log
QM_MEM=1024 ovmf "$log" -drive "file=$T_DIR/keep.qcow2,if=virtio,format=qcow2,snapshot=on" \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0
booted "$log" "root=/dev/vda2 data=/dev/vda5 multi-user=active" \
	"keep: ... it boots under OVMF with its disk on virtio only"
rm -f "$T_DIR/keep.raw" "$T_DIR/keep.qcow2"

# --cloud tencent: made to boot by BIOS (the cloud's default boot mode).
migrate bios cloud=tencent
check_eq "bios: the manifest: boots by BIOS, its table an MBR; the download has its SHA-256" \
	"bios msdos $(sha "$T_DIR/bios.qcow2" 2>/dev/null)" "$(manifest "$T_DIR/bios.json")"
check_match "bios: sfdisk: the ESP (ef), / (83) and swap (82) at their places, /srv and /data logical in extended 4" \
	"start= *2048, size= *131072, type=ef.*start= *133120, size= *5939200, type=83.*start= *6074368, size= *65536, type=82.*start= *6139904, size= *135168, type=5.*start= *6141952, size= *65536, type=83.*start= *6209536, size= *65536, type=83" \
	"$(sfdisk -d "$T_DIR/bios.raw" | tr '\n' ' ')"
check_match "bios: fstab: the ESP mounted noauto (nothing needs it), /data by UUID" \
	"/boot/efi[[:space:]]+vfat[[:space:]]+umask=0077,noauto.*# ferry: was PARTLABEL=data" \
	"$(debugfs -R 'cat /etc/fstab' "$T_DIR/bios.raw?offset=$((65 * UF_MIB))" 2>/dev/null | tr '\n' ' ')"
check_eq "bios: GRUB for BIOS in the MBR" "GRUB" "$(head -c 440 "$T_DIR/bios.raw" | grep -a -o GRUB | head -n 1)"
log=$T_DIR/bios.log
QM_MEM=1024 qm_start_args "$log" -drive "file=$T_DIR/bios.qcow2,if=virtio,format=qcow2,snapshot=on" \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0
booted "$log" "root=/dev/vda2 data=/dev/vda6 multi-user=active" \
	"bios: ... it boots under SeaBIOS with its disk on virtio only"
check_eq "the source disk is unchanged" "$src_sha" "$(sha "$disk")"
done_testing
