#!/bin/bash
# streamOptimized VMDK (--format vmdk): qemu-img reads it as vmdk,
# streamOptimized and compressed, of the raw capture's virtual size, finds
# no error in it and the same disk as the raw capture (qemu-img compare).
# Python reads it as VMware's Virtual Disk Format 5.0 lays it out, apart
# from qemu: the header with its directory at the end, the footer and the
# end-of-stream marker, every grain table and grain behind its marker, each
# grain inflated (zlib) equal to the raw capture's bytes there, and a grain
# stored for every 64 KiB of the raw capture that holds a non-zero byte,
# for none that does not. A local VMDK is made in one pass. A second
# capture is byte-identical; a FIFO gets
# the same bytes; the manifest says vmdk; --compress is refused; a cloud
# that does not import VMDK stops the capture; the source is never written.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

plan 15

disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")
"$FERRY" capture --quiet --format raw "$disk" "$T_DIR/ref.raw"

rc=0
"$FERRY" capture --quiet --json --format vmdk "$disk" "$T_DIR/d.vmdk" >"$T_DIR/d.json" || rc=$?
check_eq "capture --format vmdk exits 0" "0" "$rc"
check_eq "qemu-img: vmdk, streamOptimized, compressed, the raw capture's size" \
	"vmdk streamOptimized True $(stat -c %s "$T_DIR/ref.raw")" \
	"$(qemu-img info --output=json "$T_DIR/d.vmdk" | python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["format-specific"]["data"]; print(d["format"], s["create-type"], s["extents"][0]["compressed"], d["virtual-size"])')"
check "qemu-img check finds no error" qemu-img check -q "$T_DIR/d.vmdk"
check "the same disk as the raw capture (qemu-img compare)" \
	qemu-img compare -q -f vmdk -F raw "$T_DIR/d.vmdk" "$T_DIR/ref.raw"

# The layout, read as the specification gives it.
layout() {
	python3 - "$1" "$2" <<'PY'
import struct, sys, zlib
f = open(sys.argv[1], 'rb').read()
raw = open(sys.argv[2], 'rb').read()
S, G = 512, 65536
out = []
def hdr(b):
    (magic, ver, flags, cap, grain, doff, dsize, gtes, rgd, gd, over) = struct.unpack('<4sIIQQQQIQQQ', b[:72])
    return magic, ver, flags, cap, grain, doff, dsize, gtes, gd, over, b[73:77], struct.unpack('<H', b[77:79])[0]
m, ver, flags, cap, grain, doff, dsize, gtes, gd, over, nl, comp = hdr(f[:S])
out.append('head-ok' if (m, ver, flags, grain, gtes, gd, nl, comp) ==
           (b'KDMV', 3, 0x30001, 128, 512, 2**64 - 1, b'\n \r\n', 1) else 'head-bad')
desc = f[doff * S:(doff + dsize) * S].rstrip(b'\0').decode()
out.append('desc-ok' if 'createType="streamOptimized"' in desc and ('RW %d SPARSE' % cap) in desc else 'desc-bad')
# the last three sectors: footer marker, footer, end of stream
fm = struct.unpack('<QII', f[-3 * S:-3 * S + 16])
eos = f[-S:]
footer = hdr(f[-2 * S:-S])
out.append('tail-ok' if fm[1:] == (0, 3) and eos == b'\0' * S and footer[0] == b'KDMV' and footer[8] != 2**64 - 1 else 'tail-bad')
gdsec = footer[8]
gdm = struct.unpack('<QII', f[(gdsec - 1) * S:(gdsec - 1) * S + 16])
ntables = -(-cap // (128 * 512))
out.append('gd-marker' if gdm[1:] == (0, 2) and gdm[0] == -(-ntables * 4 // S) else 'gd-marker-bad %r' % (gdm,))
gdents = struct.unpack('<%dI' % ntables, f[gdsec * S:gdsec * S + 4 * ntables])
stored = set()
bad = []
for t, gt in enumerate(gdents):
    if not gt:
        continue
    mk = struct.unpack('<QII', f[(gt - 1) * S:(gt - 1) * S + 16])
    if mk[1:] != (0, 1) or mk[0] != 4:
        bad.append('gt %d marker %r' % (t, mk))
    for e, sec in enumerate(struct.unpack('<512I', f[gt * S:gt * S + 2048])):
        if not sec:
            continue
        g = t * 512 + e
        lba, size = struct.unpack('<QI', f[sec * S:sec * S + 12])
        data = zlib.decompress(f[sec * S + 12:sec * S + 12 + size])
        want = raw[g * G:(g + 1) * G].ljust(G, b'\0')
        if lba != g * 128 or data != want:
            bad.append('grain %d' % g)
        stored.add(g)
nonzero = {g for g in range(-(-len(raw) // G)) if raw[g * G:(g + 1) * G].strip(b'\0')}
out.append('grains-ok' if not bad else 'grains-bad ' + ' '.join(bad[:3]))
out.append('stored=nonzero' if stored == nonzero else 'stored %d nonzero %d' % (len(stored), len(nonzero)))
out.append('grains %d' % len(stored))
print(' '.join(out))
PY
}
lay=$(layout "$T_DIR/d.vmdk" "$T_DIR/ref.raw")
check_match "the header (directory at the end, grains compressed, markers), descriptor, footer and end marker" \
	"^head-ok desc-ok tail-ok gd-marker " "$lay"
check_match "each grain behind its marker inflates to the raw capture's bytes; exactly the non-zero grains stored ($lay)" \
	" grains-ok stored=nonzero grains [1-9]" "$lay"

# A local file takes an image of a length not known in advance: one pass,
# no sizing pass (a compressed qcow2 into a stream has one). s3/capture.t
# checks that the two-pass VMDK an upload gets is the same bytes.
"$FERRY" capture --format vmdk "$disk" "$T_DIR/again.vmdk" 2>"$T_DIR/again.err" >/dev/null
"$FERRY" capture --format qcow2 --compress zlib "$disk" - 2>"$T_DIR/z.err" >/dev/null
check_eq "a local VMDK is made in one pass (the sizing passes shown: vmdk, compressed qcow2 to stdout)" "0 1" \
	"$(tr '\r' '\n' <"$T_DIR/again.err" | grep -c '^sizing') $(tr '\r' '\n' <"$T_DIR/z.err" | grep -c '^sizing')"
check "a second capture is byte-identical" cmp -s "$T_DIR/d.vmdk" "$T_DIR/again.vmdk"
mkfifo "$T_DIR/fifo"
cat "$T_DIR/fifo" >"$T_DIR/fifo.vmdk" &
reader=$!
"$FERRY" capture --quiet --format vmdk "$disk" "$T_DIR/fifo"
wait "$reader"
check "a FIFO gets the same bytes" cmp -s "$T_DIR/d.vmdk" "$T_DIR/fifo.vmdk"
check_eq "the manifest beside it: vmdk, the virtual size" \
	"vmdk $(stat -c %s "$T_DIR/ref.raw") $(sha "$T_DIR/d.vmdk")" \
	"$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["format"], m["virtual_size"], m["sha256"])' "$T_DIR/d.vmdk.ferry.json")"

check_fails "--compress with vmdk is a usage error" 2 "grains are always zlib-compressed" \
	"$FERRY" capture --format vmdk --compress zstd "$disk" "$T_DIR/x.vmdk"
check "... and leaves nothing behind" test ! -e "$T_DIR/x.vmdk"
check_fails "alibaba does not import VMDK: format.unsupported" 3 "format.unsupported" \
	"$FERRY" capture --cloud alibaba --format vmdk "$disk" "$T_DIR/y.vmdk"
rc=0
"$FERRY" capture --quiet --cloud tencent --format vmdk "$disk" "$T_DIR/h.vmdk" 2>"$T_DIR/h.err" || rc=$?
check_eq "tencent takes it" "0" "$rc$(cat "$T_DIR/h.err")"

check_eq "the source is unchanged" "$src_sha" "$(sha "$disk")"
done_testing
