#!/bin/bash
# ferry capture of the server disk to raw and qcow2, checked with qemu-img,
# e2fsck, debugfs, sfdisk and dumpe2fs.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

FORMATS="raw qcow2"
PER_FORMAT=17
plan $((2 + 2 * PER_FORMAT + 1))

disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")
# Every filesystem's files, read from the source with debugfs: PART:PATH.
FILES="2:/var/lib/app/data.bin 2:/etc/fstab 2:/usr/bin/app 2:/home/admin/numbers.txt
1:/grub/grub.cfg 1:/initrd.img-6.1.0-18-amd64 5:/www/index.bin"

check "fixture: e2fsck of the source root" e2fsck -fn "$disk?offset=$(fx_off 2)"
check_eq "fixture: data.bin is 50 MB" 50000000 \
	"$(debugfs -R 'stat /var/lib/app/data.bin' "$disk?offset=$(fx_off 2)" 2>/dev/null |
		sed -n 's/.*Size: \([0-9]*\).*/\1/p' | head -1)"

for fmt in $FORMATS; do
	out=$T_DIR/out.$fmt
	raw=$T_DIR/out-$fmt.raw
	rc=0
	err=$("$FERRY" capture --quiet --no-fix --format "$fmt" "$disk" "$out" 2>&1) || rc=$?
	check_eq "$fmt: capture exits 0" "0" "$rc${err:+ ($err)}"
	check_eq "$fmt: source SHA-256 unchanged" "$src_sha" "$(sha "$disk")"
	check_eq "$fmt: qemu-img sees format $fmt" "$fmt" \
		"$(qemu-img info --output=json "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["format"])')"
	check_eq "$fmt: image ends at the end of the last partition" "$((FX_END * FX_SECTOR))" \
		"$(qemu-img info --output=json "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')"
	if [ "$fmt" = qcow2 ]; then
		check "qcow2: qemu-img check is clean" qemu-img check "$out"
	else
		check "raw: output is sparse (free space not allocated)" \
			test "$(du -B1 "$out" | cut -f1)" -lt $((FX_END * FX_SECTOR * 7 / 10))
	fi
	# Every other check reads a raw rendering made by qemu-img, not by ferry.
	qemu-img convert -O raw "$out" "$raw"

	check_eq "$fmt: table (sfdisk -d) equals the source's" \
		"$(sfdisk -d "$disk" | sed -n 's/^[^:]*[0-9] : //p')" \
		"$(sfdisk -d "$raw" | sed -n 's/^[^:]*[0-9] : //p')"
	check "$fmt: sector 0 and the boot gap are byte-exact" \
		cmp -n $((FX_P1_START * FX_SECTOR)) "$disk" "$raw"
	check "$fmt: the extended partition's EBR is byte-exact" \
		cmp -n "$FX_SECTOR" -i "$(fx_off 4)" "$disk" "$raw"
	for n in 1 2 5; do
		check "$fmt: e2fsck -fn partition $n" e2fsck -fn "$raw?offset=$(fx_off "$n")"
	done
	bad=""
	for f in $FILES; do
		n=${f%%:*} path=${f#*:}
		a=$(debugfs -R "cat $path" "$disk?offset=$(fx_off "$n")" 2>/dev/null | sha256sum)
		b=$(debugfs -R "cat $path" "$raw?offset=$(fx_off "$n")" 2>/dev/null | sha256sum)
		[ "$a" = "$b" ] || bad="$bad $n:$path"
	done
	check_eq "$fmt: debugfs cat of 7 files (one 50 MB) equals the source's" "" "$bad"
	for n in 2 5; do
		check "$fmt: free blocks of partition $n read as zeros" \
			python3 "$TESTS_DIR/lib/freecheck.py" "$disk" "$(fx_off "$n")" "$raw" "$(fx_off "$n")"
	done
	check "$fmt: swap header page is byte-exact" \
		cmp -n 4096 -i "$(fx_off 3)" "$disk" "$raw"
	check "$fmt: swap area behind the header is zero" \
		cmp -n $((FX_P3_SIZE * FX_SECTOR - 4096)) -i "$(($(fx_off 3) + 4096))" "$raw" /dev/zero
	check "$fmt: the gap between p4's EBR and p5 is zero" \
		cmp -n $(((FX_P5_START - FX_P4_START - 1) * FX_SECTOR)) \
		-i "$(($(fx_off 4) + FX_SECTOR))" "$raw" /dev/zero
done

check "raw and qcow2 outputs are identical (qemu-img compare)" \
	qemu-img compare "$T_DIR/out.raw" "$T_DIR/out.qcow2"
done_testing
