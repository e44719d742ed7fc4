#!/bin/bash
# A Debian server that boots by UEFI (lib/uefi.sh: GPT, an ESP with GRUB for
# x86_64-efi, ext4 /, an initrd without virtio), captured on the host: with
# --cloud kvm the image keeps UEFI and boots under OVMF with its disk on
# virtio only; with --cloud tencent (--boot-mode bios, docs/boot-mode.md)
# its table is made an MBR and GRUB for BIOS installed, and it boots under
# SeaBIOS with its disk on virtio only. First, the fixture boots under OVMF
# on IDE as the physical machine it is. Each boot must reach the server's
# marker: multi-user reached, / on the expected device. The source's
# SHA-256 is unchanged.
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

OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
need=""
[ -n "${FERRY_GRUB_BIOS:-}" ] || need="$need FERRY_GRUB_BIOS (make check-boot sets it)"
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
plan 11

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
booted "$log" "root=/dev/sda2 .*multi-user=active" \
	"the fixture boots under OVMF with its disk on IDE"

# --cloud kvm: UEFI kept.
"$FERRY" capture --quiet --json --cloud kvm --format raw "$disk" "$T_DIR/uefi.raw" >"$T_DIR/uefi.json"
check_eq "--cloud kvm: the image boots by UEFI, still GPT" "uefi gpt" \
	"$(/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["boot_mode"], d["image_table"])' <"$T_DIR/uefi.json")"
check "sgdisk -v: a whole GPT disk" bash -c "sgdisk -v '$T_DIR/uefi.raw' | grep -q 'No problems found'"
log=$T_DIR/uefi.log
QM_MEM=1024 ovmf "$log" -drive "file=$T_DIR/uefi.raw,if=virtio,format=raw,snapshot=on" \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0
booted "$log" "root=/dev/vda2 .*multi-user=active" \
	"... it boots under OVMF with its disk on virtio only"

# --cloud tencent: made to boot by BIOS.
"$FERRY" capture --quiet --json --cloud tencent --format raw "$disk" "$T_DIR/bios.raw" >"$T_DIR/bios.json"
check_eq "--cloud tencent: the image boots by BIOS, its table an MBR" "bios msdos" \
	"$(/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["boot_mode"], d["image_table"])' <"$T_DIR/bios.json")"
check_match "sfdisk: the ESP (ef) and / (83) at their places" \
	"start= *2048, size= *131072, type=ef.*start= *133120,.*type=83" \
	"$(sfdisk -d "$T_DIR/bios.raw" | tr '\n' ' ')"
check_eq "GRUB for BIOS in the MBR" "GRUB" "$(head -c 440 "$T_DIR/bios.raw" | grep -a -o GRUB | head -n 1)"
log=$T_DIR/bios.log
QM_MEM=1024 qm_start_args "$log" -drive "file=$T_DIR/bios.raw,if=virtio,format=raw,snapshot=on" \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0
booted "$log" "root=/dev/vda2 .*multi-user=active" \
	"... it boots under SeaBIOS with its disk on virtio only"
check_eq "the source disk is unchanged" "$src_sha" "$(sha "$disk")"
done_testing
