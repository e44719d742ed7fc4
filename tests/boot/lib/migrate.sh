# shellcheck shell=bash
# The migration story on a lib/server.sh fixture, as an operator runs it:
# the rescue ISO, with the job in ferry/job.conf on it, boots on the
# "physical" machine (the fixture's disks on IDE, an e1000 NIC), captures
# unattended to radosgw on this host (10.0.2.2 through qemu's user
# networking) and powers off; the image is booted as the cloud boots it,
# with a virtio disk and a virtio NIC only.
# Source after tap.sh (or set T_DIR), lib/server.sh, lib/qemu.sh and
# tests/s3/lib/rgw.sh, with radosgw started.

# mg_job KEY [KEY=VALUE...]: the job file's lines for a capture to KEY in
# radosgw's bucket; more keys after it.
mg_job() {
	printf '%s\n' "target=s3://$RGW_BUCKET/$1" "endpoint=https://s3.test:$RGW_HTTPS_PORT" \
		"resolve=s3.test:10.0.2.2" "region=$RGW_REGION" \
		"credentials=ferry/credentials" "ca=ferry/ca.pem" "on_fail=poweroff" \
		"status_interval=5"
	shift
	[ $# = 0 ] || printf '%s\n' "$@"
}

# mg_site_iso ISO OUT JOB-LINES...: a copy of the rescue ISO with
# /ferry/job.conf (the lines), /ferry/credentials (radosgw's keys) and
# /ferry/ca.pem (its CA), made with xorriso as docs/rescue.md says.
mg_site_iso() {
	local iso=$1 out=$2 site
	shift 2
	site=$(mktemp -d "$T_DIR/site.XXXXXX")
	rgw_credentials "$site/credentials"
	chmod 600 "$site/credentials"
	cp "$RGW_CA" "$site/ca.pem"
	printf '%s\n' "$@" >"$site/job.conf"
	rm -f "$out"
	xorriso -indev "$iso" -outdev "$out" -boot_image any replay -map "$site" /ferry \
		>"$out.log" 2>&1 || { tail -n 5 "$out.log" >&2; return 1; }
	rm -rf "$site"
}

# mg_physical_args DISK DATA [snapshot]: qemu's devices for the physical
# server: the system disk on IDE, the data disk behind a MegaRAID SAS
# controller (megaraid_sas is not in the server's initrd, so the data disk
# is sdb whatever order the controllers are probed in), the e1000 NIC with
# the server's own hardware address.
# shellcheck disable=SC2054 # qemu's commas
mg_physical_args() {
	local snap=${3:+,snapshot=on}
	MG_ARGS=(-drive "file=$1,if=none,id=sys,format=raw$snap"
		-device ide-hd,drive=sys,bus=ide.0,unit=0,bootindex=1
		-drive "file=$2,if=none,id=data,format=raw$snap"
		-device megasas,id=raid -device scsi-hd,drive=data,bus=raid.0
		-netdev user,id=n0 -device "e1000,netdev=n0,mac=$SV_MAC")
}

# mg_migrate LOG ISO DISK DATA TIMEOUT: boot the site ISO on the physical
# server (its disks writable, as they are on the hardware); 0 when the VM
# powered off by itself within TIMEOUT s.
mg_migrate() {
	mg_physical_args "$3" "$4"
	qm_start_args "$1" "${MG_ARGS[@]}" \
		-drive "file=$2,if=none,id=cd,media=cdrom,format=raw,readonly=on" \
		-device ide-cd,drive=cd,bus=ide.1,unit=0,bootindex=0
	qm_wait_exit "$5"
}

# mg_boot_physical LOG DISK DATA TIMEOUT: boot the server itself; qm_wait's
# statuses for the marker's last line.
mg_boot_physical() {
	mg_physical_args "$2" "$3" snapshot
	qm_start_args "$1" "${MG_ARGS[@]}"
	mg_wait "$4"
}

# mg_boot_cloud LOG IMAGE FORMAT TIMEOUT [DATA]: boot as a KVM cloud does:
# 1 GiB, the disk on virtio-blk, a virtio NIC, nothing on IDE.
mg_boot_cloud() {
	local more=()
	[ -z "${5:-}" ] || more=(-drive "file=$5,if=virtio,format=raw,snapshot=on")
	QM_MEM=1024 qm_start_args "$1" -drive "file=$2,if=virtio,format=$3,snapshot=on" \
		"${more[@]}" -netdev user,id=n0 -device virtio-net-pci,netdev=n0
	mg_wait "$4"
}

# mg_wait TIMEOUT: until the marker's FERRY-END, a failure, or TIMEOUT s.
mg_wait() {
	local rc=0
	qm_wait 'FERRY-END' "$1" || rc=$?
	qm_stop
	return "$rc"
}

# mg_marker LOG WORD: the marker's lines that start with FERRY-WORD, the
# word removed.
mg_marker() {
	tr -d '\r' <"$1" | sed -n "s/^.*FERRY-$2 //p"
}
