#!/bin/bash
# make demo: Ferry's story on a real Debian server. A Debian 12 install that
# was never prepared for a cloud (tests/boot/lib/server.sh, built once and
# cached) does not boot on a KVM machine as it is. The rescue ISO, with the
# job in ferry/job.conf on it, boots on the server under qemu, migrates it
# unattended into a throwaway radosgw on this machine and powers off; the
# image is downloaded and booted as the cloud boots it (virtio disk and NIC
# only). A summary says what was found, what was fixed, the sizes, the time
# of each phase and where the image is.
# usage: FERRY=path/to/ferry FERRY_IMAGES=path/to/images tests/demo.sh OUTDIR
set -eu -o pipefail

: "${FERRY:?FERRY must name the ferry binary}"
out=${1:?usage: $0 OUTDIR}
iso=${FERRY_IMAGES:-}/ferry-rescue.iso
if [ -z "${FERRY_IMAGES:-}" ] || [ ! -f "$iso" ]; then
	echo "demo: no rescue ISO in '${FERRY_IMAGES:-}': make demo needs the rescue image (a static build, the default configuration)" >&2
	exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
export FERRY_TMP=$out/.work
# shellcheck source=lib/tap.sh
. "$(dirname "$0")/lib/tap.sh"
. "$TESTS_DIR/boot/lib/server.sh"
. "$TESTS_DIR/boot/lib/qemu.sh"
. "$TESTS_DIR/boot/lib/migrate.sh"
. "$TESTS_DIR/s3/lib/rgw.sh"

say() { printf '\n== %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
# lap NAME: the seconds since the last lap, kept for the summary.
laps=() last=$EPOCHREALTIME
lap() {
	local now=$EPOCHREALTIME
	laps+=("$(awk -v a="$last" -v b="$now" -v n="$1" 'BEGIN { printf "%-44s %6.1f s", n, b - a }')")
	last=$now
}
console() { tr -d '\r' <"$1" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g'; }
key=servers/$SV_HOST.qcow2
image=$out/$SV_HOST.qcow2

say "1. The server: Debian 12 installed on hardware, never prepared for a cloud"
dir=$(sv_disk server) || die "the server's disks could not be built (tests/boot/lib/server.sh)"
lap "server disks built (cached after the first run)"
echo "   $SV_HOST: kernel $(cat "$dir/kver"), GRUB in the MBR; system disk $dir/disk.img"
echo "   (3 GiB, msdos: sda1 ext4 /, sda2 swap), data disk on a MegaRAID controller."
echo "   fstab and grub.cfg by /dev/sdX names; $SV_NIC static $SV_IP bound to its MAC and"
echo "   70-persistent-net.rules; SELinux enforcing; ufw on; an initrd for IDE/AHCI only."

say "2. As it is, on a KVM machine (virtio disk and NIC): it does not boot"
rc=0
mg_boot_cloud "$out/as-is.log" "$dir/disk.img" raw 300 "$dir/data.img" || rc=$?
[ "$rc" = 1 ] || die "expected the unprepared server not to boot on virtio: $QM_WHY"
lap "boot as it is on virtio (fails)"
echo "   $QM_WHY"

say "3. radosgw on this machine stands in for the cloud's object storage"
rgw_start || die "radosgw did not start"
lap "radosgw started"
echo "   $RGW_HOST_HTTPS (reached from the VM as 10.0.2.2), bucket $RGW_BUCKET"

say "4. The rescue ISO with the night's job on it (ferry/job.conf)"
mg_job "$key" format=qcow2 | sed 's/^/   /'
# shellcheck disable=SC2046 # one line per argument
mg_site_iso "$iso" "$out/ferry-site.iso" $(mg_job "$key" format=qcow2)
cp --sparse=always "$dir/disk.img" "$T_DIR/disk.img"
cp --sparse=always "$dir/data.img" "$T_DIR/data.img"
src_sha=$(sha "$T_DIR/disk.img")
data_sha=$(sha "$T_DIR/data.img")
lap "site ISO made, disks copied"
echo "   $out/ferry-site.iso"

say "5. The rescue ISO boots on the server (IDE, MegaRAID, e1000) and migrates it unattended"
mg_physical_args "$T_DIR/disk.img" "$T_DIR/data.img"
qm_start_args "$out/rescue.log" "${MG_ARGS[@]}" \
	-drive "file=$out/ferry-site.iso,if=none,id=cd,media=cdrom,format=raw,readonly=on" \
	-device ide-cd,drive=cd,bus=ide.1,unit=0,bootindex=0
# The console as it goes: Ferry's own lines.
tail --pid="$QM_PID" -n +1 -F "$out/rescue.log" 2>/dev/null | tr -d '\r' |
	grep --line-buffered -a -E '^(ferry|upload|captured|  (region|boot gap|partition) )' |
	sed -u 's/^/   /' &
follow=$!
rc=0
qm_wait_exit 1200 || rc=$?
wait "$follow" 2>/dev/null || :
[ "$rc" = 0 ] || die "the rescue VM did not power off: $QM_WHY; see $out/rescue.log"
console "$out/rescue.log" | grep '^ferry: done' >/dev/null || die "the job did not end done; see $out/rescue.log"
lap "rescue VM: boot, capture, upload, power off"
ready=$(console "$out/rescue.log" | sed -n 's/^ferry ready (\([0-9.]*\) s.*/\1/p' | head -n 1)
[ "$(sha "$T_DIR/disk.img")" = "$src_sha" ] || die "the source disk changed"
[ "$(sha "$T_DIR/data.img")" = "$data_sha" ] || die "the data disk changed"

say "6. The image, downloaded (boto3), boots as the cloud boots it: virtio only, 1 GiB"
rgw_get "$key" "$image"
rgw_get "$key.ferry.json" "$image.ferry.json"
rgw_get "$key.log" "$out/ferry-run.log"
[ "$(sha "$image")" = "$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$image.ferry.json")" ] ||
	die "the download's SHA-256 is not the manifest's"
lap "download and SHA-256 check"
rc=0
mg_boot_cloud "$out/cloud.log" "$image" qcow2 300 || rc=$?
[ "$rc" = 0 ] || die "the image did not boot: $QM_WHY; see $out/cloud.log"
lap "boot of the image to multi-user with eth0 up"
mg_marker "$out/cloud.log" BOOTED | sed 's/^/   /'
mg_marker "$out/cloud.log" NET | sed 's/^/   /'
failed=$(mg_marker "$out/cloud.log" FAILED)
[ -z "$failed" ] || die "units failed on the image: $failed"

say "Summary"
/usr/bin/python3 - "$image.ferry.json" "$out/ferry-run.log" <<'PYEOF'
import json, re, sys, textwrap
m = json.load(open(sys.argv[1]))
def mib(b):
    return "%.0f MiB" % (b / 1048576) if b >= 1048576 else "%.0f KiB" % (b / 1024)
def say(head, text):
    print(textwrap.fill(text, 100, initial_indent="%-10s" % head, subsequent_indent=" " * 12))
# What ferry scan found in the rescue system, from ferry run's log.
for line in open(sys.argv[2], errors="replace"):
    if re.match(r"/dev/\S+ ", line):
        dev, size = line.split()[0], " ".join(line.split()[1:3])
        say("Disk", "%s %s%s" % (dev, size, ": the system disk" if "[system disk" in line else ""))
    elif re.match(r"(root|boot): ", line):
        say("Found", line.strip())
for p in m["partitions"]:
    say("", "partition %d %s %s, %s copied (%s)" % (p["number"], p["fs"] or "-",
        mib(p["size"]), mib(p["copied_bytes"]), p["method"]))
f = m["fixes"]
say("Fixed", "%d changes by %s" % (len(f["changes"]),
    ", ".join(sorted({c["rule"] for c in f["changes"]}))))
for c in f["changes"]:
    say("", "%-10s %s: %s" % (c["rule"], c["file"], c["what"]))
for n in f["notes"]:
    say("Note", "%s: %s" % (n["rule"], n["text"]))
print("Image     %s, qcow2 %s for a %s disk (%.0f%%)" % (m["object"], mib(m["file_size"]),
      mib(m["virtual_size"]), 100.0 * m["file_size"] / m["virtual_size"]))
s = m["seconds"]
print("In the VM fix %.1f s, plan %.1f s, write and upload %.1f s" % (s["fix"], s["plan"], s["write"]))
PYEOF
echo "Times     (qemu without KVM; a server takes a fraction of them)"
echo "            rescue system ready ${ready:-?} s after its kernel started"
printf '            %s\n' "${laps[@]}"
echo "Where     $image (downloaded; the bucket was radosgw's, gone with it)"
echo "          $image.ferry.json (manifest), $out/ferry-run.log (ferry run's log)"
echo "          $out/rescue.log, $out/cloud.log (serial consoles)"
echo "Source    both disks' SHA-256 unchanged ($src_sha)"
echo "Try it    qemu-system-x86_64 -m 1024 -drive file=$image,if=virtio -nic user,model=virtio-net-pci -serial stdio"
