#!/bin/bash
# VHD images (--format vhd, vhd-fixed): read by qemu-img as vpc with the
# virtual size the capture reports, one the footer's CHS geometry covers
# exactly; the same disk as the raw capture (qemu-img compare); the
# footer, dynamic header and block table as the specification lays them out
# (read here in Python); only blocks that hold data stored; a GPT disk's
# backup GPT at the VHD disk's end (sgdisk -v); Alibaba's default format.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

plan 18

disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")
"$FERRY" capture --quiet --format raw "$disk" "$T_DIR/ref.raw"
info() { qemu-img info --output=json "$@" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["format"], d["virtual-size"])'; }

"$FERRY" capture --quiet --json --format vhd "$disk" "$T_DIR/d.vhd" >"$T_DIR/d.json"
vsize=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual_size"])' <"$T_DIR/d.json")
check_eq "vhd: qemu-img reads vpc, of the virtual size the capture reports" "vpc $vsize" \
	"$(info "$T_DIR/d.vhd")"
check "... at least the raw image's, less than a cylinder more" \
	test "$vsize" -ge "$(stat -c %s "$T_DIR/ref.raw")" -a "$vsize" -lt $(($(stat -c %s "$T_DIR/ref.raw") + 16 * 63 * 512))
check "vhd: the same disk as the raw capture (qemu-img compare)" \
	qemu-img compare -q -f vpc -F raw "$T_DIR/d.vhd" "$T_DIR/ref.raw"
# The structures, as the specification defines them.
layout() {
	python3 - "$1" <<'PY'
import struct, sys
f = open(sys.argv[1], 'rb').read()
def csum(b, at):
    return (~sum(b[:at] + b'\0\0\0\0' + b[at + 4:])) & 0xffffffff
foot, head = f[-512:], f[:512]
out = []
out.append('footers-same' if foot == head else 'footers-differ')
out.append('footer-ok' if foot[:8] == b'conectix' and struct.unpack('>I', foot[64:68])[0] == csum(foot, 64) else 'footer-bad')
cur = struct.unpack('>Q', foot[48:56])[0]
c, h, s = struct.unpack('>HBB', foot[56:60])
out.append('chs-exact' if c * h * s * 512 == cur else 'chs=%d cur=%d' % (c * h * s * 512, cur))
out.append('type%d' % struct.unpack('>I', foot[60:64])[0])
dyn = f[512:1536]
out.append('header-ok' if dyn[:8] == b'cxsparse' and struct.unpack('>I', dyn[36:40])[0] == csum(dyn, 36) else 'header-bad')
table, = struct.unpack('>Q', dyn[16:24])
entries, bsize = struct.unpack('>II', dyn[28:36])
bat = struct.unpack('>%dI' % entries, f[table:table + 4 * entries])
used = [b for b in bat if b != 0xffffffff]
out.append('blocks %d/%d of %d' % (len(used), entries, bsize))
ends = sorted(u * 512 + 512 + bsize for u in used)
out.append('packed' if all(u * 512 % 512 == 0 for u in used) and (not ends or ends[-1] == len(f) - 512) else 'not-packed')
print(' '.join(out))
PY
}
lay=$(layout "$T_DIR/d.vhd")
check_match "vhd: a footer copy first, checksums right, CHS covering the size exactly, dynamic (3)" \
	"^footers-same footer-ok chs-exact type3 header-ok " "$lay"
blocks=$(sed -n 's/.* blocks \([0-9]*\)\/\([0-9]*\) of 2097152 .*/\1 \2/p' <<<"$lay")
check "vhd: 2 MiB blocks, those without data not stored ($blocks), the last before the footer" \
	bash -c "[ -n '$blocks' ] && [ ${blocks% *} -lt ${blocks#* } ] && [ '${lay##* }' = packed ]"
"$FERRY" capture --quiet --format vhd "$disk" "$T_DIR/again.vhd"
check "vhd: a second capture is byte-identical" cmp "$T_DIR/d.vhd" "$T_DIR/again.vhd"
qemu-img convert -f vpc -O raw "$T_DIR/d.vhd" "$T_DIR/d.raw"
check "vhd: e2fsck -fn of / in it" e2fsck -fn "$T_DIR/d.raw?offset=$(fx_off 2)"

"$FERRY" capture --quiet --format vhd-fixed "$disk" "$T_DIR/f.vhd"
check_eq "vhd-fixed: qemu-img -f vpc reads the same virtual size" "vpc $vsize" \
	"$(info -f vpc "$T_DIR/f.vhd")"
check_match "vhd-fixed: one footer at the end, fixed (2)" "^footers-differ footer-ok chs-exact type2 " \
	"$(layout "$T_DIR/f.vhd" 2>/dev/null || python3 - "$T_DIR/f.vhd" <<'PY'
import struct, sys
f = open(sys.argv[1], 'rb')
f.seek(-512, 2); foot = f.read(512)
ok = foot[:8] == b'conectix' and struct.unpack('>I', foot[64:68])[0] == (~sum(foot[:64] + b'\0' * 4 + foot[68:])) & 0xffffffff
c, h, s = struct.unpack('>HBB', foot[56:60])
print('footers-differ', 'footer-ok' if ok else 'footer-bad',
      'chs-exact' if c * h * s * 512 == struct.unpack('>Q', foot[48:56])[0] else 'chs-off',
      'type%d' % struct.unpack('>I', foot[60:64])[0], '')
PY
)"
check_eq "vhd-fixed: the disk's bytes, then 512 bytes of footer" $((vsize + 512)) "$(stat -c %s "$T_DIR/f.vhd")"
check "vhd-fixed: the same disk as the raw capture" qemu-img compare -q -f vpc -F raw "$T_DIR/f.vhd" "$T_DIR/ref.raw"
check "vhd-fixed: free space stays holes" test "$(du -B1 "$T_DIR/f.vhd" | cut -f1)" -lt $((vsize / 2))

# A GPT disk: its backup GPT at the end of the VHD's (larger) disk.
gpt=$T_DIR/gpt.img
fx_gpt_disk "$gpt"
gpt_sha=$(sha "$gpt")
"$FERRY" capture --quiet --boot-mode keep --format vhd "$gpt" "$T_DIR/g.vhd"
qemu-img convert -f vpc -O raw "$T_DIR/g.vhd" "$T_DIR/g.raw"
check_match "GPT: sgdisk -v finds no problem on the VHD's disk" "No problems found" \
	"$(sgdisk -v "$T_DIR/g.raw" 2>&1)"
check_eq "GPT: the backup header is the disk's last sector" "EFI PART" \
	"$(tail -c 512 "$T_DIR/g.raw" | head -c 8)"

# Alibaba imports raw and VHD: VHD unless --format says otherwise.
"$FERRY" capture --quiet --cloud alibaba "$disk" "$T_DIR/ali.img" 2>/dev/null
check_eq "--cloud alibaba: a VHD by default" vpc "$(info "$T_DIR/ali.img" | cut -d' ' -f1)"
check_fails "--format vhd --compress zstd: a usage error" 2 "only qcow2 images are compressed" \
	"$FERRY" capture --format vhd --compress zstd "$disk" "$T_DIR/x.vhd"
check_fails "--format vhdx: a usage error naming the formats" 2 "raw, qcow2, vhd, vhd-fixed or vmdk" \
	"$FERRY" capture --format vhdx "$disk" "$T_DIR/x.vhd"
check_eq "the source disks are unchanged" "$src_sha $gpt_sha" "$(sha "$disk") $(sha "$gpt")"
done_testing
