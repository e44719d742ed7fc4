#!/bin/bash
# Each cloud profile on a server that is ready once captured: the CentOS
# 7-shaped disk (physical.sh) with its os-release, /etc/shadow and cloud-init
# in place. ferry check finds only what capture fixes; the capture's image
# check finds nothing for any cloud. Both JSON outputs are validated against
# docs/check.schema.json (jsonschema), and the image boots nowhere here, but
# qemu-img and e2fsck read it.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"
. "$TESTS_DIR/lib/physical.sh"

plan 31

disk=$T_DIR/ready.img
fx_physical_disk "$disk"
# Huawei takes 1 GB to 1 TB: the disk grows, and its swap partition to the end.
truncate -s 1100M "$disk"
echo ", +" | sfdisk -q -N 3 --no-reread "$disk" 2>/dev/null
dbg() { debugfs -w -R "$2" "$disk?offset=$(fxp_off "$1")" >/dev/null 2>&1; }
printf '%s\n' 'NAME="CentOS Linux"' 'VERSION_ID="7"' 'ID="centos"' \
	'PRETTY_NAME="CentOS Linux 7 (Core)"' >"$T_DIR/os-release"
dbg 2 "write $T_DIR/os-release /etc/os-release"
printf 'root:*:19000:0:99999:7:::\n' >"$T_DIR/shadow"
dbg 2 "write $T_DIR/shadow /etc/shadow"
dbg 2 "sif /etc/shadow mode 0100000"
printf '#!/usr/bin/python3\n' >"$T_DIR/cloud-init"
dbg 2 "mkdir /usr/bin"
dbg 2 "write $T_DIR/cloud-init /usr/bin/cloud-init"
dbg 2 "sif /usr/bin/cloud-init mode 0100755"
dbg 2 "mkdir /etc/cloud"
printf 'datasource_list: [ ConfigDrive, None ]\n' >"$T_DIR/cloud.cfg"
dbg 2 "write $T_DIR/cloud.cfg /etc/cloud/cloud.cfg"
src_sha=$(sha "$disk")

schema() { /usr/bin/python3 "$TESTS_DIR/lib/schema.py" "$@"; }
# summary FILE [KEY...]: "blockers warnings info" of the report at KEY.
summary() {
	/usr/bin/python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d = d[k]
print(d["blockers"], d["warnings"], " ".join(sorted({f["code"] for f in d["findings"] if f["severity"] != "info"})))' "$@"
}
# unanswered FILE: the warnings and blockers of ferry check that capture does nothing about.
unanswered() {
	/usr/bin/python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(" ".join(sorted(f["code"] for f in d["findings"] if f["severity"] != "info" and not f["capture"])))' "$1"
}

for cloud in kvm tencent alibaba huawei; do
	# Alibaba takes RAW and VHD (seed 002); the others qcow2.
	fmt=qcow2
	[ "$cloud" = alibaba ] && fmt=raw
	rc=0
	"$FERRY" check --json --cloud "$cloud" --format "$fmt" "$disk" >"$T_DIR/$cloud.check.json" \
		2>"$T_DIR/$cloud.check.err" || rc=$?
	check_eq "$cloud: ferry check exits 0" 0 "$rc"
	check "$cloud: its JSON is valid against docs/check.schema.json" schema "$T_DIR/$cloud.check.json"
	check_eq "$cloud: every warning and blocker is one capture answers" "" \
		"$(unanswered "$T_DIR/$cloud.check.json")"
	rc=0
	"$FERRY" capture --json --cloud "$cloud" --format "$fmt" "$disk" "$T_DIR/$cloud.$fmt" \
		>"$T_DIR/$cloud.json" 2>"$T_DIR/$cloud.err" || rc=$?
	check_eq "$cloud: capture exits 0" 0 "$rc"
	check "$cloud: its checks are valid against the schema (capture_checks)" \
		schema "$T_DIR/$cloud.json" capture_checks checks
	check_eq "$cloud: the image check is clean (no blocker, no warning)" "0 0 " \
		"$(summary "$T_DIR/$cloud.json" checks after)"
	if [ "$fmt" = qcow2 ]; then
		check "$cloud: qemu-img check of the $fmt image" qemu-img check -q "$T_DIR/$cloud.$fmt"
	else
		check_eq "$cloud: qemu-img sees a raw image of the disk's size" "raw $(stat -c %s "$disk")" \
			"$(qemu-img info --output=json "$T_DIR/$cloud.$fmt" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["format"], d["virtual-size"])')"
	fi
done
check_eq "the disk is unchanged" "$src_sha" "$(sha "$disk")"
# A check of the image captured for Tencent, converted back to raw by
# qemu-img: only what is left (nothing but info).
qemu-img convert -O raw "$T_DIR/tencent.qcow2" "$T_DIR/back.raw"
"$FERRY" check --json --cloud tencent "$T_DIR/back.raw" >"$T_DIR/back.json" || :
check_eq "the captured image, through qemu-img: no blocker or warning" "0 0" \
	"$(summary "$T_DIR/back.json" | cut -d' ' -f1,2)"
check_eq "the disk still has its partitions (sfdisk)" 3 "$(sfdisk -l -o Device "$disk" | grep -c '^/')"
done_testing
