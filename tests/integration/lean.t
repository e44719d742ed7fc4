#!/bin/bash
# Images proportional to the data: of an ext4 filesystem that is mostly
# empty, the inode tables past each group's last used inode, the body of
# its clean journal and its zero reserved GDT blocks are not copied, nor
# are blocks of zeros written to a raw image. The image is checked by
# e2fsck, dumpe2fs, debugfs, the kernel (the image mounted and written
# through its journal) and measured against e2image -ra.
. "$(dirname "$0")/../lib/tap.sh"

plan 32

mib=1048576
disk=$T_DIR/disk.img
tree=$T_DIR/tree
mkdir -p "$tree/data"
head -c $((24 * mib)) /dev/urandom >"$tree/data/random.bin"
# zeros.bin is written with data, which its blocks then lose: a file whose
# blocks are allocated and hold zeros (mke2fs -d would leave holes)
head -c $((16 * mib)) /dev/urandom >"$tree/data/zeros.bin"
for i in $(seq 1 300); do echo "file $i" >"$tree/data/small-$i.txt"; done
truncate -s 2G "$disk"
printf '2048,,83\n' | sfdisk -q "$disk"
mke2fs -q -F -t ext4 -d "$tree" -E offset=$mib "$disk" $((2047))M
fs="$disk?offset=$mib"
for b in $(debugfs -R 'blocks /data/zeros.bin' "$fs" 2>/dev/null); do
	dd if=/dev/zero of="$disk" bs=4096 seek=$((mib / 4096 + b)) count=1 conv=notrunc status=none
done
src_sha=$(sha "$disk")

itable=$(dumpe2fs "$fs" 2>/dev/null | awk '/^Inode blocks per group:/ { print $5 }')
groups=$(dumpe2fs -h "$fs" 2>/dev/null | awk -F: '/^Block count:/ { b = $2 } /^Blocks per group:/ { g = $2 } END { print int((b + g - 1) / g) }')
journal_mib=$(dumpe2fs -h "$fs" 2>/dev/null | awk '/^Total journal size:/ { print $4 }' | tr -d M)
check "fixture: ext4 with checksummed group descriptors, $groups groups of $itable inode-table blocks, a ${journal_mib}M journal" \
	bash -c "dumpe2fs -h '$fs' 2>/dev/null | grep -q 'metadata_csum' && [ '$journal_mib' -ge 16 ]"

"$FERRY" capture --quiet --json --no-fix --force --format raw "$disk" "$T_DIR/out.raw" >"$T_DIR/raw.json" 2>/dev/null
"$FERRY" capture --quiet --no-fix --force --format qcow2 "$disk" "$T_DIR/out.qcow2" 2>/dev/null
copied=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["partitions"][0]["copied_bytes"])' <"$T_DIR/raw.json")
e2image -ra -o $mib "$disk" "$T_DIR/e2image.raw" 2>/dev/null
e2i=$(du -B1 "$T_DIR/e2image.raw" | cut -f1)
# what the data needs: the files' blocks, and every inode table block a used inode is in
check "copied: $((copied / mib)) MiB for 40 MiB of files (16 MiB of them zeros); not the $((groups * itable * 4096 / mib)) MiB of inode tables nor the ${journal_mib} MiB journal" \
	test "$copied" -lt $((48 * mib))
raw_alloc=$(du -B1 "$T_DIR/out.raw" | cut -f1)
check_eq "fixture: zeros.bin's 16 MiB are allocated, and zeros" \
	"4096 $(head -c $((16 * mib)) /dev/zero | sha256sum)" \
	"$(debugfs -R 'blocks /data/zeros.bin' "$fs" 2>/dev/null | wc -w) $(debugfs -R 'cat /data/zeros.bin' "$fs" 2>/dev/null | sha256sum)"
check "raw: the 16 MiB of zeros in a file are holes: $((raw_alloc / mib)) MiB allocated, e2image -ra $((e2i / mib)) MiB" \
	test "$raw_alloc" -le $((e2i * 105 / 100))
qemu-img convert -O raw "$T_DIR/out.qcow2" "$T_DIR/qcow2.raw"
check "qcow2 reads the same as raw (qemu-img compare)" qemu-img compare -q "$T_DIR/out.qcow2" "$T_DIR/out.raw"
check "qemu-img check: the qcow2 is clean" qemu-img check -q "$T_DIR/out.qcow2" 2>/dev/null
# In a file, the plain qcow2's blocks of zeros are holes (zeros.bin's).
q_alloc=$(du -B1 "$T_DIR/out.qcow2" | cut -f1)
check "qcow2: blocks of zeros are holes: $((q_alloc / mib)) MiB allocated, e2image -ra $((e2i / mib)) MiB (at most 1.05 x)" \
	test "$q_alloc" -le $((e2i * 105 / 100))
# A compressed qcow2 goes into a file in one pass, its tables last: its
# clusters of zeros are not stored, and its SHA-256 is read back whole.
rc=0
"$FERRY" capture --json --no-fix --force --format qcow2 --compress zstd "$disk" "$T_DIR/z.qcow2" \
	>"$T_DIR/z.json" 2>"$T_DIR/z.err" || rc=$?
"$FERRY" capture --no-fix --force --format qcow2 --compress zstd "$disk" - \
	>"$T_DIR/stream.qcow2" 2>"$T_DIR/stream.err"
check_eq "zstd qcow2: capture exits 0; sizing passes shown: none into a file, one into a stream" \
	"0 0 1" "$rc $(tr '\r' '\n' <"$T_DIR/z.err" | grep -c '^sizing') $(tr '\r' '\n' <"$T_DIR/stream.err" | grep -c '^sizing')"
check_eq "zstd qcow2 into a file: the source read once (read_bytes = data_bytes)" "1" \
	"$(python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(int(d["read_bytes"] == d["data_bytes"] > 0))' "$T_DIR/z.json")"
zb=$(debugfs -R 'bmap /data/zeros.bin 2048' "$fs" 2>/dev/null)
check_eq "zstd qcow2: a block in the middle of zeros.bin is in no allocated cluster (qemu-img map)" \
	"False" "$(qemu-img map --output=json "$T_DIR/z.qcow2" | python3 -c '
import json, sys
at = int(sys.argv[1])
print(any(e["data"] for e in json.load(sys.stdin) if e["start"] <= at < e["start"] + e["length"]))' $((mib + zb * 4096)))"
check_eq "zstd qcow2: the manifest's SHA-256 is the file's" "$(sha "$T_DIR/z.qcow2")" \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$T_DIR/z.qcow2.ferry.json")"
check "zstd qcow2: clean, and reads as the raw capture (qemu-img check, compare)" \
	sh -c "qemu-img check -q '$T_DIR/z.qcow2' && qemu-img compare -q '$T_DIR/z.qcow2' '$T_DIR/out.raw'"
# A stream cannot take the tables last: sized first, then written in order.
check "zstd qcow2 to standard output: clean, and reads as the file does (qemu-img check, compare)" \
	sh -c "qemu-img check -q '$T_DIR/stream.qcow2' && qemu-img compare -q '$T_DIR/stream.qcow2' '$T_DIR/z.qcow2'"
out="$T_DIR/out.raw?offset=$mib"
check "e2fsck -fn: the image's filesystem is clean" e2fsck -fn "$out"
bad=""
for f in data/random.bin data/zeros.bin data/small-1.txt data/small-300.txt; do
	a=$(debugfs -R "cat /$f" "$fs" 2>/dev/null | sha256sum)
	b=$(debugfs -R "cat /$f" "$out" 2>/dev/null | sha256sum)
	[ "$a" = "$b" ] || bad="$bad $f"
done
check_eq "debugfs: the files read as the source's" "" "$bad"
check_eq "the journal's superblock is the source's (debugfs logdump)" \
	"$(debugfs -R logdump "$fs" 2>&1 | head -n 4)" "$(debugfs -R logdump "$out" 2>&1 | head -n 4)"
# the journal's body and the unused inode table blocks read as zeros
jblk=$(debugfs -R 'bmap <8> 1' "$fs" 2>/dev/null)
check_eq "a journal block past its superblock reads as zeros in the image" 0 \
	"$(dd if="$T_DIR/out.raw" bs=4096 skip=$((mib / 4096 + jblk)) count=1 status=none | tr -d '\0' | wc -c)"
last_table=$(dumpe2fs "$fs" 2>/dev/null | awk '/Inode table at/ { split($4, r, "-"); t = r[2] } END { print t }')
check_eq "the last inode table block of the last group reads as zeros" 0 \
	"$(dd if="$T_DIR/out.raw" bs=4096 skip=$((mib / 4096 + last_table)) count=1 status=none | tr -d '\0' | wc -c)"

# kernel_round RAW WHAT: the kernel takes the image: mounted read-write (the
# copy, not the source), files written through the journal, unmounted,
# checked again (4 tests).
kernel_round() {
	local raw=$1 what=$2 dev="" mnt="umount '$T_DIR/mnt' 2>/dev/null"
	# attach/detach (cleanup.sh): the device is not detached again at exit,
	# when its number may be another test's (lvm.t lost its PVs so)
	attach "$raw" $mib $(($(stat -c %s "$raw") - mib)) 2>"$T_DIR/attach.err"
	if [ -z "$dev" ]; then
		not_ok "$what: the image on a loop device" "$(cat "$T_DIR/attach.err")"
		return
	fi
	mkdir -p "$T_DIR/mnt"
	on_exit "$mnt"
	check "$what: the kernel mounts the image's filesystem read-write" mount "$dev" "$T_DIR/mnt"
	for i in $(seq 1 2000); do echo "new $i" >"$T_DIR/mnt/data/new-$i.txt"; done
	sync
	check_eq "$what: ... and reads a file of the source" "file 300" \
		"$(cat "$T_DIR/mnt/data/small-300.txt" 2>&1)"
	undo_now "$mnt"
	detach "$dev"
	check "$what: e2fsck -fn after 2000 new files written by the kernel" e2fsck -fn "$raw?offset=$mib"
	check_eq "$what: ... which debugfs reads" "new 2000" \
		"$(debugfs -R 'cat /data/new-2000.txt' "$raw?offset=$mib" 2>/dev/null)"
}
kernel_round "$T_DIR/out.raw" ext4

# ext3 with 1 KiB blocks and its free space fragmented (every other file
# deleted): no group checksums, so the inode bitmap alone says which table
# blocks hold inodes; the clean journal's body still goes. The uncompressed
# qcow2 takes 4 KiB clusters here, where 64 KiB ones would copy the holes.
e3=$T_DIR/ext3.img
mkdir -p "$T_DIR/tree3/data"
for i in $(seq 1 3000); do
	head -c $((i * 7 % 5000 + 300)) /dev/urandom >"$T_DIR/tree3/data/f$i"
done
for i in $(seq 1 300); do echo "file $i" >"$T_DIR/tree3/data/small-$i.txt"; done
truncate -s 400M "$e3"
printf '2048,,83\n' | sfdisk -q "$e3"
mke2fs -q -F -t ext3 -b 1024 -d "$T_DIR/tree3" -E offset=$mib "$e3" 399M
for i in $(seq 1 2 3000); do echo "rm /data/f$i"; done >"$T_DIR/rm.cmd"
debugfs -w -f "$T_DIR/rm.cmd" "$e3?offset=$mib" >/dev/null 2>&1
e2fsck -fy "$e3?offset=$mib" >/dev/null 2>&1 || :
e3_sha=$(sha "$e3")
"$FERRY" capture --quiet --no-fix --force --format raw "$e3" "$T_DIR/e3.raw" 2>/dev/null
"$FERRY" capture --quiet --no-fix --force --format qcow2 "$e3" "$T_DIR/e3.qcow2" 2>/dev/null
e2image -ra -o $mib "$e3" "$T_DIR/e3-e2image.raw" 2>/dev/null
alloc=$(du -B1 "$T_DIR/e3.raw" | cut -f1) e2i=$(du -B1 "$T_DIR/e3-e2image.raw" | cut -f1)
check "ext3: raw allocates $((alloc / 1024)) KiB, e2image -ra $((e2i / 1024)) KiB (at most 1.05 x)" \
	test "$alloc" -le $((e2i * 105 / 100))
check "ext3: e2fsck -fn clean" e2fsck -fn "$T_DIR/e3.raw?offset=$mib"
bad=""
for i in 2 1000 2998 3000; do
	cmp -s <(debugfs -R "cat /data/f$i" "$T_DIR/e3.raw?offset=$mib" 2>/dev/null) \
		"$T_DIR/tree3/data/f$i" || bad="$bad f$i"
done
check_eq "ext3: debugfs reads the files kept" "" "$bad"
check_eq "ext3: the qcow2 has 4 KiB clusters" 4096 \
	"$(qemu-img info --output=json "$T_DIR/e3.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster-size"])')"
check "ext3: ... and reads as the raw image (qemu-img compare)" \
	qemu-img compare -q "$T_DIR/e3.qcow2" "$T_DIR/e3.raw"
kernel_round "$T_DIR/e3.raw" ext3
check_eq "the source disks are unchanged" "$src_sha $e3_sha" "$(sha "$disk") $(sha "$e3")"
done_testing
