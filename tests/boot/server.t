#!/bin/bash
# End to end: a real Debian "physical server" (lib/server.sh), migrated by
# the rescue ISO unattended to radosgw, boots on a virtio-only KVM machine.
#
# Per variant: the fixture is what it claims (GRUB in the MBR, /dev/sdX in
# fstab and grub.cfg, no virtio in its initrd by the tree's own
# lsinitramfs); it boots as a physical machine (system disk on IDE, data
# disk on MegaRAID, e1000) to the marker with its static address, and it
# does NOT boot with virtio devices only. Then the story (lib/migrate.sh):
# the rescue ISO with ferry/job.conf boots on the physical machine, captures
# to radosgw and powers off; the source disks are unchanged; the download
# (boto3) has the manifest's SHA-256 and the manifest lists the fixes; the
# image boots with a virtio disk and a virtio NIC only, in 1 GiB: multi-user
# reached, root on vda, eth0 with a DHCP address, no failed unit. The server
# variant is captured as qcow2, server-ci as a dynamic VHD (the format
# Alibaba imports), each booted in its own format.
#
# The boots of the fixture as it is (on its hardware; on virtio, where it
# must fail) do not involve ferry: their results and consoles are kept in
# the fixture's cache entry and checked from there by later runs.
# FERRY_BOOT_RESULTS=DIR: the SHA-256 of each image that booted is left
# there. FERRY_BOOT_COMPARE=DIR (the sanitizer build): nothing boots; ferry
# captures the system disk on the host, and the image must be byte-identical
# to the one the rescue ISO uploaded in the normal pass (DIR), with the same
# fixes; the checks that need a boot are skipped.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/boot/lib/server.sh"
. "$TESTS_DIR/boot/lib/qemu.sh"
. "$TESTS_DIR/boot/lib/migrate.sh"
. "$TESTS_DIR/s3/lib/rgw.sh"

images=${FERRY_IMAGES:-$(dirname "$FERRY")/../images}
iso=$images/ferry-rescue.iso
if [ ! -f "$iso" ] && [ -z "${FERRY_BOOT_COMPARE:-}" ]; then
	echo "1..0 # SKIP no rescue ISO in $images (a static build makes it)"
	exit 0
fi
# One variant a test file, so that prove -j migrates both at once: server.t
# the server variant, server-ci.t (which runs this file) server-ci.
# FERRY_SERVER_VARIANTS limits a run to the variants it names.
variants=""
for v in ${SERVER_T_VARIANTS:-server}; do
	case " ${FERRY_SERVER_VARIANTS:-$SV_VARIANTS} " in *" $v "*) variants="$variants $v" ;; esac
done
if [ -z "$variants" ]; then
	echo "1..0 # SKIP ${SERVER_T_VARIANTS:-server} is not in FERRY_SERVER_VARIANTS ($FERRY_SERVER_VARIANTS)"
	exit 0
fi
per=21
RESULTS=${FERRY_BOOT_RESULTS:-}
COMPARE=${FERRY_BOOT_COMPARE:-}
# shellcheck disable=SC2086 # a list
set -- $variants
plan $((1 + $# * per))

if [ -n "$COMPARE" ]; then
	ok "radosgw not needed: the sanitizer build captures on the host # SKIP no upload"
else
	rgw_start || { not_ok "radosgw starts"; done_testing; exit 1; }
	ok "radosgw starts ($RGW_HOST_HTTPS)"
fi

# part V DISK-DIR N: the offset in bytes of partition N of the fixture.
part() { echo $(($(sfdisk -J "$1" | /usr/bin/python3 -c 'import json,sys
n = sys.argv[1]
for p in json.load(sys.stdin)["partitiontable"]["partitions"]:
    if p["node"].endswith(n) and not p["node"][:-len(n)][-1:].isdigit():
        print(p["start"])' "$2") * 512)); }
diag() { sed 's/^/#   /' | tail -n "${1:-15}"; }
py() { /usr/bin/python3 -c "$@"; }
skip() { T_NUM=$((T_NUM + 1)); echo "ok $T_NUM - $1 # SKIP $2"; }
# boot_key NAME: the key of a boot of the fixture as it is (dt_boot_key).
boot_key() {
	dt_boot_key "$1 $QM_ACCEL $QM_MEM $QM_FAIL_RE $SV_MAC
$(declare -f mg_physical_args mg_boot_physical mg_boot_cloud mg_wait qm_start_args qm_wait qm_stop)"
}
# fixture_boot NAME LOG ENTRY BOOT-COMMAND...: the kept result of boot NAME
# of the fixture in ENTRY (its console into LOG), or, when none is kept, the
# boot itself; KEPT is the date of the kept one. RC: what the boot returned.
fixture_boot() {
	local name=$1 log=$2 entry=$3 kept_dir
	shift 3
	RC=0 KEPT=""
	if kept_dir=$(dt_boot_cached "$entry" "$name" "$(boot_key "$name")"); then
		{ read -r RC; read -r QM_SECS; read -r QM_WHY; } <"$kept_dir/result"
		cp "$kept_dir/console" "$log"
		KEPT=$(cat "$kept_dir/when")
	elif [ -n "$COMPARE" ]; then
		RC=skip
	else
		"$@" || RC=$?
		printf '%s\n' "$RC" "$QM_SECS" "$QM_WHY" >"$log.result"
	fi
}
# keep NAME LOG ENTRY: keeps a boot that passed its checks (fixture_boot).
keep() {
	[ -z "$KEPT" ] && [ -f "$2.result" ] || return 0
	dt_boot_keep "$3" "$1" "$(boot_key "$1")" "$2.result" "$2" ||
		echo "# could not keep the result of boot $1 in $3" >&2
}
kept() { [ -z "$KEPT" ] || echo "; cached: the result of the boot of $KEPT, not booted again"; }

for v in "$@"; do
	dir=$(sv_disk "$v") || {
		for _ in $(seq "$per"); do not_ok "$v: the fixture builds"; done
		continue
	}
	ok "$v: the fixture is built ($dir)"
	tree=$(sv_tree "$v")
	kver=$(cat "$dir/kver")
	rootn=$(sv_layout "$v" | awk '$5 == "/" { print $1 }')
	bootn=$(sv_layout "$v" | awk '$5 == "/boot" { print $1 }')
	rootoff=$(part "$dir/disk.img" "$rootn")
	bootoff=$(part "$dir/disk.img" "${bootn:-$rootn}")
	kdir=$(sv_kdir "$v")

	# 1. The fixture is a server never prepared for a cloud.
	check_match "$v: GRUB's boot code is in the MBR, msdos table" "GRUB.*55aa.*label: dos" \
		"$(head -c 440 "$dir/disk.img" | grep -a -o GRUB) $(od -An -tx1 -j 510 -N 2 "$dir/disk.img" | tr -d ' ') $(sfdisk -d "$dir/disk.img" | grep label:)"
	fstab=$(debugfs -R 'cat /etc/fstab' "$dir/disk.img?offset=$rootoff" 2>/dev/null)
	check_match "$v: fstab mounts / and the data disk by /dev/sdX" \
		"/dev/sda$rootn	/	.*/dev/sdb1	/data" "$(printf '%s' "$fstab" | tr '\n' ' ')"
	grubcfg=$(debugfs -R "cat ${kdir:-}/grub/grub.cfg" "$dir/disk.img?offset=$bootoff" 2>/dev/null)
	check_match "$v: grub.cfg boots root=/dev/sda$rootn" "linux	$kdir/vmlinuz-$kver root=/dev/sda$rootn ro" "$grubcfg"
	debugfs -R "dump ${kdir:-}/initrd.img-$kver $T_DIR/$v-initrd.img" "$dir/disk.img?offset=$bootoff" >/dev/null 2>&1
	cp "$T_DIR/$v-initrd.img" "$tree/root/tmp/ferry-ls-$$.img"
	mods=$(env -i PATH="$DT_CHROOT_PATH" chroot "$tree/root" lsinitramfs "/tmp/ferry-ls-$$.img" | dt_modules_in | tr '\n' ' ')
	rm -f "$tree/root/tmp/ferry-ls-$$.img"
	missing=""
	for d in $DT_PHYS_DRIVERS; do
		case " $mods" in *" $d "*) ;; *) missing="$missing $d" ;; esac
	done
	check_eq "$v: lsinitramfs lists the physical drivers ($DT_PHYS_DRIVERS)" "" "$missing"
	case $mods in
	*virtio*) not_ok "$v: ... and no virtio" "lsinitramfs lists: $mods" ;;
	*) ok "$v: ... and no virtio ($(echo "$mods" | wc -w) modules)" ;;
	esac

	# 2. It boots as the physical machine it is, and not on virtio alone.
	log=$T_DIR/$v-phys.log
	fixture_boot physical "$log" "$dir" mg_boot_physical "$log" "$dir/disk.img" "$dir/data.img" 300
	if [ "$RC" = skip ]; then
		for d in "boots on IDE + MegaRAID + e1000 to the marker" "... root on sda$rootn, /data on sdb1" \
			"... $SV_NIC has the static address"; do
			skip "$v: $d" "no boot under the sanitizer build, and no result kept from one"
		done
	else
		fails=$T_FAILED
		if [ "$RC" = 0 ]; then
			ok "$v: boots on IDE + MegaRAID + e1000 to the marker in $QM_SECS s$(kept)"
		else
			not_ok "$v: boots on IDE + MegaRAID + e1000 to the marker" "$QM_WHY"
			QM_LOG=$log qm_tail | diag
		fi
		check_match "$v: ... root on sda$rootn, /data on sdb1, multi-user reached" \
			"root=/dev/sda$rootn data=/dev/sdb1 multi-user=active" "$(mg_marker "$log" BOOTED)"
		check_eq "$v: ... $SV_NIC has the static address" "$SV_NIC $SV_IP/24 static" \
			"$(mg_marker "$log" NET)"
		[ "$T_FAILED" != "$fails" ] || keep physical "$log" "$dir"
	fi
	log=$T_DIR/$v-virtio.log
	fixture_boot virtio-only "$log" "$dir" mg_boot_cloud "$log" "$dir/disk.img" raw 300 "$dir/data.img"
	if [ "$RC" = skip ]; then
		skip "$v: does not boot with virtio devices only" "no boot under the sanitizer build, and no result kept from one"
	elif [ "$RC" = 1 ]; then
		ok "$v: does not boot with virtio devices only ($QM_WHY$(kept))"
		keep virtio-only "$log" "$dir"
	else
		not_ok "$v: does not boot with virtio devices only" "$QM_WHY"
	fi

	# 3. The migration: the rescue ISO on the physical machine, unattended.
	cp --sparse=always "$dir/disk.img" "$T_DIR/$v-disk.img"
	cp --sparse=always "$dir/data.img" "$T_DIR/$v-data.img"
	src_sha=$(sha "$T_DIR/$v-disk.img")
	data_sha=$(sha "$T_DIR/$v-data.img")
	fmt=qcow2 qfmt=qcow2
	[ "$v" = server-ci ] && fmt=vhd qfmt=vpc
	key=servers/$v.$fmt
	img=$T_DIR/$v.$fmt
	if [ -n "$COMPARE" ]; then
		# The sanitizer build: the same capture (the job's format, no
		# other option) on the host, from the same disk.
		rc=0
		"$FERRY" capture --json --format "$fmt" "$T_DIR/$v-disk.img" "$img" \
			>"$T_DIR/$v.json" 2>"$T_DIR/$v.err" || rc=$?
		check_eq "$v: ferry capture --format $fmt of the system disk on the host exits 0" 0 \
			"$rc$([ "$rc" = 0 ] || tail -n 5 "$T_DIR/$v.err")"
		skip "$v: ... the job came from ferry/job.conf on the ISO" "no rescue boot under the sanitizer build"
	else
		# shellcheck disable=SC2046 # one line per argument
		mg_site_iso "$iso" "$T_DIR/$v-site.iso" $(mg_job "$key" format="$fmt")
		if mg_migrate "$T_DIR/$v-rescue.log" "$T_DIR/$v-site.iso" "$T_DIR/$v-disk.img" \
			"$T_DIR/$v-data.img" 1200; then
			ok "$v: the rescue ISO migrated it unattended and powered off ($QM_SECS s)"
		else
			not_ok "$v: the rescue ISO migrated it unattended and powered off" "$QM_WHY"
			tr -d '\r' <"$T_DIR/$v-rescue.log" | diag 25
		fi
		check_match "$v: ... the job came from ferry/job.conf on the ISO and ended done" \
			"the job file ferry/job.conf on the boot medium.*ferry: done" \
			"$(tr -d '\r' <"$T_DIR/$v-rescue.log" | tr '\n' ' ')"
	fi
	check_eq "$v: the system disk is unchanged (SHA-256)" "$src_sha" "$(sha "$T_DIR/$v-disk.img")"
	check_eq "$v: the data disk is unchanged (SHA-256)" "$data_sha" "$(sha "$T_DIR/$v-data.img")"
	rm -f "$T_DIR/$v-data.img"
	if [ -n "$COMPARE" ]; then
		want=$(cat "$COMPARE/server-$v.sha256" 2>/dev/null) ||
			want="(no image of the normal pass in $COMPARE that booted)"
		check_eq "$v: the image is byte-identical to the one the rescue ISO uploaded in the normal pass, which booted" \
			"$want" "$(sha "$img" 2>/dev/null)"
	else
		rgw_get "$key" "$img" 2>/dev/null || :
		rgw_get "$key.ferry.json" "$T_DIR/$v.json" 2>/dev/null || :
		check_eq "$v: the download (boto3) has the manifest's SHA-256" "$(sha "$img" 2>/dev/null)" \
			"$(py 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$T_DIR/$v.json" 2>&1)"
	fi
	if [ "$fmt" = qcow2 ]; then
		check_match "$v: qemu-img check: clean qcow2 of the disk's size" \
			"No errors.*qcow2 $(stat -c %s "$dir/disk.img")" \
			"$(qemu-img check "$img" 2>&1 | tr '\n' ' ') $(qemu-img info --output=json "$img" 2>/dev/null |
				py 'import json,sys; d = json.load(sys.stdin); print(d["format"], d["virtual-size"])' 2>&1)"
	else
		# a VHD's disk is what its geometry covers: the disk's size or up to a cylinder more
		check_match "$v: qemu-img info: vpc, of the disk's size (to its geometry's), as the manifest says" \
			"^vpc ok ok$" \
			"$(qemu-img info --output=json "$img" 2>/dev/null | py 'import json,sys
d = json.load(sys.stdin); m = json.load(open(sys.argv[2])); size = int(sys.argv[1])
print(d["format"], "ok" if size <= d["virtual-size"] < size + 16 * 63 * 512 else d["virtual-size"],
      "ok" if m["virtual_size"] == d["virtual-size"] else m["virtual_size"])' "$(stat -c %s "$dir/disk.img")" "$T_DIR/$v.json" 2>&1)"
	fi
	rules=$(py 'import json,sys
f = json.load(open(sys.argv[1]))["fixes"]
print(" ".join(sorted({c["rule"] for c in f["changes"]})))' "$T_DIR/$v.json" 2>&1)
	check_eq "$v: the manifest lists the fixes" "bootloader firewall fstab network selinux virtio" "$rules"
	rm -f "$T_DIR/$v-disk.img"

	# 4. The image boots as the cloud boots it.
	if [ -n "$COMPARE" ]; then
		for d in "the image boots on virtio-blk + virtio-net to the marker" \
			"... multi-user reached, root on vda$rootn" "... eth0 has a DHCP address" "... no unit failed"; do
			skip "$v: $d" "no boot under the sanitizer build: the same bytes booted in the normal pass"
		done
		rm -f "$img"
		continue
	fi
	fails=$T_FAILED
	rc=0
	mg_boot_cloud "$T_DIR/$v-cloud.log" "$img" "$qfmt" 300 || rc=$?
	if [ "$rc" = 0 ]; then
		ok "$v: the image boots on virtio-blk + virtio-net to the marker in $QM_SECS s"
	else
		not_ok "$v: the image boots on virtio-blk + virtio-net to the marker" "$QM_WHY"
		qm_tail 25 | diag 25
	fi
	check_match "$v: ... multi-user reached, root on vda$rootn, /data not mounted" \
		"root=/dev/vda$rootn data=none multi-user=active" "$(mg_marker "$T_DIR/$v-cloud.log" BOOTED)"
	check_match "$v: ... eth0 has a DHCP address" "^eth0 10\.0\.2\.[0-9]+/24 dynamic$" \
		"$(mg_marker "$T_DIR/$v-cloud.log" NET)"
	check_eq "$v: ... no unit failed" "" "$(mg_marker "$T_DIR/$v-cloud.log" FAILED)"
	# An image that booted: the sanitizer pass compares its capture with it.
	if [ -n "$RESULTS" ] && [ "$T_FAILED" = "$fails" ]; then
		sha "$img" >"$RESULTS/server-$v.sha256"
	fi
	rm -f "$img"
done
done_testing
