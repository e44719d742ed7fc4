#!/bin/bash
# Bad sectors, in the rescue image: the source disk (the capture tests'
# "physical server", tests/lib/fixture.sh) is attached through qemu's
# blkdebug driver, which fails every read of chosen sectors with EIO: four
# sectors inside a file of / (partition 2), one in its free space, one in
# its inode table. ferry capture finishes; its report names the LBAs and
# what they held; the image is byte for byte the host's capture of the
# same disk (where nothing fails) but for those sectors, which are zeros.
# ferry run of the same disk to radosgw puts the same list in the
# manifest, and its status object counts the sectors. With --strict the
# capture fails, and nothing is uploaded. The source keeps its SHA-256.
# shellcheck source=../lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=../lib/fixture.sh
. "$TESTS_DIR/lib/fixture.sh"
# shellcheck source=lib/qemu.sh
. "$TESTS_DIR/boot/lib/qemu.sh"
# shellcheck source=lib/rescue.sh
. "$TESTS_DIR/boot/lib/rescue.sh"
# shellcheck source=../s3/lib/rgw.sh
. "$TESTS_DIR/s3/lib/rgw.sh"

need=""
[ -n "$RQ_IMAGES" ] || need="$need FERRY_IMAGES (make check-boot sets it when CONFIG_FERRY_RESCUE=y)"
[ -z "$RQ_IMAGES" ] || [ -e "$RQ_IMAGES/pxe/vmlinuz" ] || need="$need $RQ_IMAGES/pxe/vmlinuz"
for tool in qemu-system-x86_64 sfdisk debugfs dumpe2fs mke2fs radosgw; do
	command -v "$tool" >/dev/null || need="$need $tool"
done
# The sanitizer build boots nothing (its boot tier compares captures);
# its unit tests drive the same read path through a failing I/O table.
[ -z "${FERRY_BOOT_COMPARE:-}" ] || need="$need a build that boots (this is the sanitizer pass)"
if [ -n "$need" ]; then
	echo "1..0 # SKIP needs:$need"
	exit 0
fi
plan 14

src=$T_DIR/disk.img
fx_server_disk "$src"
p2=$(fx_off 2)
# A: four sectors inside /var/lib/app/data.bin (its 1000th block).
blk=$(debugfs -R 'bmap /var/lib/app/data.bin 1000' "$src?offset=$p2" 2>/dev/null)
lba_a=$((FX_P2_START + blk * 8 + 2))
# B: a sector of /'s free space (the last free run).
free=$(dumpe2fs "$src?offset=$p2" 2>/dev/null | sed -n 's/^  Free blocks: \([0-9]*\)-.*/\1/p' | tail -n 1)
lba_b=$((FX_P2_START + free * 8 + 1))
# C: a sector of /'s inode table that the image holds (a block of it with
# an inode in use; blocks without one are not read), holding free inodes:
# the one after the last inode in use in group 0.
itab=$(dumpe2fs "$src?offset=$p2" 2>/dev/null | sed -n 's/^  Inode table at \([0-9]*\)-.*/\1/p' | head -n 1)
isz=$(dumpe2fs -h "$src?offset=$p2" 2>/dev/null | sed -n 's/^Inode size: *//p')
ipb=$((4096 / isz))
ffree=$(dumpe2fs "$src?offset=$p2" 2>/dev/null | sed -n 's/^  Free inodes: \([0-9]*\).*/\1/p' | head -n 1)
iblk=$(((ffree - 1) / ipb))
isec=$((((ffree - 1) % ipb) * isz / 512))
# not the sector of the last inode in use
[ $(((ffree - 2) / ipb)) != "$iblk" ] || [ $((((ffree - 2) % ipb) * isz / 512)) != "$isec" ] ||
	isec=$((isec + 1))
lba_c=$((FX_P2_START + (itab + iblk) * 8 + isec))
c_owner="inode table, group 0 (inodes $((iblk * ipb + 1))-$((iblk * ipb + ipb)))"
src_sha=$(sha "$src")
check "the disk is made: bad sectors at LBA $lba_a-$((lba_a + 3)) (a file), $lba_b (free), $lba_c ($c_owner, free inodes from $ffree)" \
	test "$isec" -lt 8 -a $((ffree % ipb)) != 1

# ranges DOC: the unreadable ranges of a manifest or report, one line.
ranges() {
	python3 -c 'import json, sys
u = json.load(open(sys.argv[1]))["unreadable"]
print("|".join("%d %d %s %s" % (r["lba"], r["sectors"], r["partition"], ",".join(r["owners"]))
               for r in u["ranges"]) + "|sectors %d" % u["sectors"])' "$1" 2>&1
}

# blkdebug: every read that covers one of the sectors fails, every time.
for s in $lba_a $((lba_a + 1)) $((lba_a + 2)) $((lba_a + 3)) $lba_b $lba_c; do
	printf '[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "%s"\nonce = "off"\n\n' "$s"
done >"$T_DIR/blkdebug.conf"

# The host's capture of the same disk, where every sector reads.
"$FERRY" capture --quiet --format raw "$src" "$T_DIR/host.raw" 2>"$T_DIR/host.err"
check_eq "ferry capture on the host (no sector fails) exits 0" 0 "$?$(tail -n 3 "$T_DIR/host.err")"

rgw_start || { not_ok "radosgw starts"; done_testing; exit 1; }
# The scratch disk: ext4 holding what the strict capture uploads with.
mkdir -p "$T_DIR/scratch"
rgw_credentials "$T_DIR/scratch/credentials"
cp "$RGW_CA" "$T_DIR/scratch/ca.pem"
out=$T_DIR/out.img
truncate -s 1G "$out"
mke2fs -q -F -t ext4 -d "$T_DIR/scratch" "$out"

rq_kernel "$T_DIR/console" "ferry.mode=shell loglevel=3" \
	-drive "file=blkdebug:$T_DIR/blkdebug.conf:$src,format=raw,if=virtio,readonly=on" \
	-drive "file=$out,format=raw,if=virtio"
if rq_ready 240; then
	rq_wait_line 'ferry:/# ' 60 || :
fi
rq_cmd 'mkdir -p /mnt/out && mount /dev/vdb /mnt/out && ferry capture --json --format raw /dev/vda /mnt/out/vm.raw >/mnt/out/report.json 2>/mnt/out/capture.err; echo capture-rc=$?' 600 || :
check_match "ferry capture past the bad sectors finishes (exit 0)" "capture-rc=0" "$RQ_OUT"
s3="--endpoint https://s3.test:$RGW_HTTPS_PORT --resolve s3.test:10.0.2.2 --region $RGW_REGION --credentials /mnt/out/credentials --ca /mnt/out/ca.pem"
job="ferry.source=/dev/vda ferry.target=s3://$RGW_BUCKET/run.raw ferry.format=raw ferry.endpoint=https://s3.test:$RGW_HTTPS_PORT ferry.resolve=s3.test:10.0.2.2 ferry.region=$RGW_REGION ferry.credentials=/mnt/out/credentials ferry.ca=/mnt/out/ca.pem ferry.status_interval=2 ferry.after=shell"
rq_cmd "ferry run --cmdline '$job' >/mnt/out/run.log 2>&1; echo run-rc=\$?" 600 || :
check_match "ferry run of the same disk to radosgw finishes (exit 0)" "run-rc=0" "$RQ_OUT"
rq_cmd "ferry capture --strict --format raw $s3 /dev/vda s3://$RGW_BUCKET/strict.raw 2>/mnt/out/strict.err; echo strict-rc=\$?; umount /mnt/out; sync" 600 || :
check_match "... with --strict it fails (exit 1)" "strict-rc=1" "$RQ_OUT"
rq_stop

check_eq "the source's SHA-256 is unchanged" "$src_sha" "$(sha "$src")"
debugfs -R "dump /report.json $T_DIR/report.json" "$out" 2>/dev/null
debugfs -R "dump /capture.err $T_DIR/capture.err" "$out" 2>/dev/null
debugfs -R "dump /strict.err $T_DIR/strict.err" "$out" 2>/dev/null
debugfs -R "dump /vm.raw $T_DIR/vm.raw" "$out" 2>/dev/null
check_eq "the report lists the file's four sectors and the inode table's one, with what they held" \
	"$lba_c 1 2 $c_owner|$lba_a 4 2 /var/lib/app/data.bin|sectors 5" \
	"$(ranges "$T_DIR/report.json")"
sed 's/^/# /' "$T_DIR/capture.err" "$T_DIR/strict.err"
check_match "... and a warning named each sector as it was found" \
	"LBA $lba_c does not read.*written as zeros.*LBA $((lba_a + 3)) does not read" \
	"$(tr '\n' ' ' <"$T_DIR/capture.err")"
# The host's image with the five sectors zeroed must be the rescue's.
dd if=/dev/zero of="$T_DIR/host.raw" bs=512 seek="$lba_a" count=4 conv=notrunc status=none
dd if=/dev/zero of="$T_DIR/host.raw" bs=512 seek="$lba_c" count=1 conv=notrunc status=none
check_eq "every other byte of the image is the host's capture; the bad sectors are zeros" \
	"$(sha "$T_DIR/host.raw")" "$(sha "$T_DIR/vm.raw" 2>/dev/null)"
rgw_get run.raw.ferry.json "$T_DIR/manifest.json" 2>/dev/null || :
rgw_get run.raw.status.json "$T_DIR/status.json" 2>/dev/null || :
check_eq "ferry run: the manifest lists the same ranges and owners" \
	"$(ranges "$T_DIR/report.json")" "$(ranges "$T_DIR/manifest.json")"
check_eq "... its status object ends done, with 5 unreadable sectors" "done 5" \
	"$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); print(d["state"], d["unreadable_sectors"])' "$T_DIR/status.json" 2>&1)"
check_eq "... and the object is the rescue's image" "$(sha "$T_DIR/vm.raw")" \
	"$(rgw_sha256 run.raw 2>/dev/null)"
check_match "--strict names the sector and says why it stopped" \
	"LBA $lba_c does not read.*strict capture gives up no sector" "$(cat "$T_DIR/strict.err")"
check_eq "... and nothing is in the bucket at the key, nor its manifest" "" \
	"$(rgw_keys | grep strict.raw)"
done_testing
