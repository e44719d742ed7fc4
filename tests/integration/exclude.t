#!/bin/bash
# --exclude N (and ferry.exclude): a data partition left out of the image.
# Its space reads as zeros, its fstab line is commented out with the reason,
# everything else is the source's (sfdisk, debugfs, e2fsck, cmp); a partition
# the system needs, an extended one or one that is not there is refused
# before anything is written; ferry check names the partition to leave out
# when the image is over the cloud's limit, and judges it without.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

plan 18

disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")
sector=512

"$FERRY" capture --quiet --json --exclude 5 --format raw "$disk" "$T_DIR/out.raw" >"$T_DIR/out.json"
check_eq "the report: partition 5 excluded, nothing copied, the note says so" \
	"excluded 0 left out of the image (--exclude): zeros" \
	"$(python3 -c 'import json,sys; p=[x for x in json.load(sys.stdin)["partitions"] if x["number"]==5][0]; print(p["method"], p["copied_bytes"], p["note"])' <"$T_DIR/out.json")"
check_eq "sfdisk: the table is the source's, partition 5 in it" \
	"$(sfdisk -d "$disk" | sed -n 's/^[^:]*[0-9] : //p')" \
	"$(sfdisk -d "$T_DIR/out.raw" | sed -n 's/^[^:]*[0-9] : //p')"
check "partition 5 reads as zeros" cmp -n $((FX_P5_SIZE * sector)) \
	<(dd if="$T_DIR/out.raw" bs=$sector skip="$FX_P5_START" count="$FX_P5_SIZE" status=none) /dev/zero
check "... its EBR is the source's" cmp -n $sector -i $(((FX_P5_START - 2048) * sector)) "$disk" "$T_DIR/out.raw"
fstab=$(debugfs -R 'cat /etc/fstab' "$T_DIR/out.raw?offset=$(fx_off 2)" 2>/dev/null)
check_match "fstab: the /srv line commented out, with the reason" \
	"# ferry: disabled, partition 5 is left out of the image \(--exclude\)\^#UUID=$FX_UUID_SRV +/srv" \
	"$(tr '\n' '^' <<<"$fstab")"
check_match "... / and /boot kept" "UUID=$FX_UUID_ROOT /.*UUID=$FX_UUID_BOOT /boot" "$(tr '\n' ' ' <<<"$fstab")"
for n in 1 2; do
	check "e2fsck -fn partition $n" e2fsck -fn "$T_DIR/out.raw?offset=$(fx_off "$n")"
done
check_eq "a file of / reads as the source's" \
	"$(debugfs -R 'cat /usr/bin/app' "$disk?offset=$(fx_off 2)" 2>/dev/null | sha256sum)" \
	"$(debugfs -R 'cat /usr/bin/app' "$T_DIR/out.raw?offset=$(fx_off 2)" 2>/dev/null | sha256sum)"

# The job key: ferry run passes it on.
check_match "ferry.exclude=5: ferry run's capture has --exclude 5" "ferry capture .*--exclude 5 " \
	"$("$FERRY" run --dry-run --cmdline "ferry.source=$disk ferry.target=$T_DIR/x.qcow2 ferry.exclude=5" 2>&1)"

# What cannot be left out: said before anything is written.
check_fails "--exclude 2 (/): refused" 1 "partition 2 holds /, which the system needs to boot" \
	"$FERRY" capture --quiet --exclude 2 "$disk" "$T_DIR/x.qcow2"
check_fails "--exclude 4 (the extended partition): refused" 1 "partition 4 is an extended partition" \
	"$FERRY" capture --quiet --exclude 4 "$disk" "$T_DIR/x.qcow2"
check_fails "--exclude 9: refused" 1 "has no partition 9" \
	"$FERRY" capture --quiet --exclude 9 "$disk" "$T_DIR/x.qcow2"
check_fails "--exclude with --no-fix: a usage error" 2 "needs the fstab fix" \
	"$FERRY" capture --exclude 5 --no-fix "$disk" "$T_DIR/x.qcow2"
check_eq "... none of them wrote anything" "" "$(find "$T_DIR" -maxdepth 1 -name 'x.qcow2*')"

# Over the cloud's limit: a 60 GB partition with nothing Ferry reads (copied
# whole, as far as the checks know) after a UEFI server's three.
big=$T_DIR/big.img
fx_gpt_disk "$big"
truncate -s 61G "$big"
sgdisk -e -n 4:0:+60G "$big" >/dev/null
# (its first 256 MiB hold everything written; the rest is a hole)
big_sha=$(head -c 256M "$big" | sha256sum) big_du=$(du -B1 "$big" | cut -f1)
check_match "ferry check --cloud tencent: size.actual names the partition to leave out" \
	"--exclude 4 \(partition 4, unknown, about 60\.0 GiB\) leaves about [0-9.]+ MiB" \
	"$("$FERRY" check --cloud tencent "$big" 2>&1)"
check_eq "... with --exclude 4 the image fits: no size.actual" "" \
	"$("$FERRY" check --cloud tencent --exclude 4 "$big" 2>&1 | grep size.actual)"
check_eq "the source disks are unchanged" "$src_sha $big_sha $big_du" \
	"$(sha "$disk") $(head -c 256M "$big" | sha256sum) $(du -B1 "$big" | cut -f1)"
done_testing
