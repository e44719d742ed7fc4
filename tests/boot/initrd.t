#!/bin/bash
# Virtio injection into real initrds: Debian trees made with mmdebstrap, whose
# initrds (initramfs-tools and dracut; gzip, xz, zstd; with early microcode)
# carry only physical drivers; ferry capture must make them boot on virtio-blk.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/boot/lib/debtree.sh"
. "$TESTS_DIR/boot/lib/qemu.sh"

need=""
[ "$(id -u)" = 0 ] || need="$need root"
for tool in mmdebstrap qemu-system-x86_64 debugfs e2fsck sfdisk cpio blkid flock; do
	command -v "$tool" >/dev/null || need="$need $tool"
done
if [ -n "$need" ]; then
	echo "1..0 # SKIP needs:$need (support/deps.sh boot)"
	exit 0
fi

VARIANTS=${FERRY_BOOT_VARIANTS:-$DT_VARIANTS}
JOBS=${FERRY_BOOT_JOBS:-3}
# A good boot takes 10-25 s on TCG; a failing one ends when the initramfs
# gives up (30-60 s). The timeout only catches a guest that does neither.
BOOT_TIMEOUT=240
MARKER='FERRY-MARKER root='
PER_VARIANT=12
n_ucode=0
for v in $VARIANTS; do
	case $v in *-ucode) n_ucode=$((n_ucode + 1)) ;; esac
done
read -ra PHYS <<<"$DT_PHYS_DRIVERS"
n_variants=$(wc -w <<<"$VARIANTS")
plan $((2 + n_variants * PER_VARIANT + n_ucode))

# Trees: built once, then taken from the cache.
for kind in itools dracut; do
	t0=$SECONDS
	if tree=$(dt_tree "$kind"); then
		ok "tree $kind: bookworm with $(dt_tree_packages "$kind" | cut -d' ' -f1), kernel $(cat "$tree/kver"), $(du -sm "$tree/root" | cut -f1) MB, $((SECONDS - t0)) s"
	else
		not_ok "tree $kind: mmdebstrap of bookworm" "see the build log named above"
	fi
done

# names: the modules in a listing file, one line, for messages.
names() { tr '\n' ' ' <"$1" | sed 's/ $//'; }

# missing_from LIST-FILE WANT...: the WANT names not in LIST-FILE.
missing_from() {
	local list=$1 m out=""
	shift
	for m in "$@"; do
		grep -qx -- "$m" "$list" || out="$out $m"
	done
	echo "${out# }"
}

# check_modules DESC LIST-FILE WANT...: every WANT module is in the listing.
check_modules() {
	local desc=$1 list=$2 miss
	shift 2
	miss=$(missing_from "$list" "$@")
	if [ -z "$miss" ]; then
		ok "$desc"
	else
		not_ok "$desc" "expected in the initrd: $*" "missing: $miss" \
			"the initrd has: $(names "$list")"
	fi
}

# Boot results come back from background guests: BOOTS lists RESULT|DESC|WANT
# (WANT: a root device the marker must show, or "none" for a boot that must
# fail) in the order the checks are reported.
BOOTS=()
start_boot() { # RESULT DESC WANT DISK IF KERNEL INITRD UUID
	local result=$1 desc=$2 want=$3
	qm_throttle "$JOBS"
	qm_boot_bg "$result" "$result.console" "$4" "$5" "$6" "$7" \
		"root=UUID=$8 ro $QM_APPEND_BASE init=/sbin/ferry-marker" "$MARKER" "$BOOT_TIMEOUT"
	BOOTS+=("$result|$desc|$want")
}

for v in $VARIANTS; do
	kind=$(dt_kind "$v")
	w=$T_DIR/$v
	mkdir -p "$w"
	t0=$SECONDS
	if ! disk=$(dt_disk "$v"); then
		not_ok "$v: fixture disk built" "see the build log named above"
		for i in $(seq 2 $PER_VARIANT); do
			not_ok "$v: check $i not run: no fixture disk"
		done
		case $v in *-ucode) not_ok "$v: early cpio check not run: no fixture disk" ;; esac
		continue
	fi
	kver=$(cat "$disk/kver")
	uuid=$(cat "$disk/uuid")
	off=$(cat "$disk/offset")
	ok "$v: fixture disk (ext4 root, /boot/initrd.img-$kver $(stat -c %s "$disk/initrd.img") bytes, $((SECONDS - t0)) s)"

	# The problem is real: the tool's own listing has no virtio module...
	if dt_initrd_modules "$kind" "$disk/initrd.img" >"$w/src.modules" 2>"$w/src.err"; then
		check_eq "$v: source initrd lists no virtio module" "" \
			"$(sed -n '/virtio/p' "$w/src.modules" | tr '\n' ' ')"
		check_modules "$v: source initrd lists the physical drivers" "$w/src.modules" "${PHYS[@]}"
	else
		not_ok "$v: source initrd listed by the tree's tool" "$(cat "$w/src.err")"
		not_ok "$v: source initrd lists the physical drivers" "no listing"
	fi
	# ...and the disk boots on IDE but not on virtio-blk.
	start_boot "$w/ide" "$v: sanity: source disk on IDE reaches the marker" /dev/sda1 \
		"$disk/disk.img" ide "$disk/vmlinuz" "$disk/initrd.img" "$uuid"
	start_boot "$w/virtio" "$v: sanity: source disk on virtio-blk does not (no virtio in the initrd)" none \
		"$disk/disk.img" virtio "$disk/vmlinuz" "$disk/initrd.img" "$uuid"

	# The capture, from a copy: the cache is never at stake.
	src=$w/src.img out=$w/out.raw
	cp --sparse=always "$disk/disk.img" "$src"
	src_sha=$(sha "$src")
	rc=0
	t0=$SECONDS
	err=$("$FERRY" capture --quiet --format raw "$src" "$out" 2>&1) || rc=$?
	check_eq "$v: capture --format raw exits 0 ($((SECONDS - t0)) s)" "0" "$rc${err:+ ($err)}"
	check_eq "$v: source SHA-256 unchanged" "$src_sha" "$(sha "$src")"
	rm -f "$src"
	check "$v: e2fsck -fn of the output's root" e2fsck -fn "$out?offset=$off"

	initrd=$w/out.initrd
	rm -f "$initrd"
	rc=0
	dump=$(debugfs -R "dump /boot/initrd.img-$kver $initrd" "$out?offset=$off" 2>&1) || rc=$?
	if [ -s "$initrd" ]; then
		ok "$v: /boot/initrd.img-$kver dumped from the output with debugfs ($(stat -c %s "$initrd") bytes)"
	else
		not_ok "$v: /boot/initrd.img-$kver dumped from the output with debugfs" "debugfs exit $rc" "$dump"
	fi
	if [ -s "$initrd" ] && dt_initrd_modules "$kind" "$initrd" >"$w/out.modules" 2>"$w/out.err"; then
		mapfile -t needed < <(dt_needed_modules "$kind")
		check_modules "$v: output initrd lists the virtio drivers and their deps" \
			"$w/out.modules" "${needed[@]}"
		check_modules "$v: output initrd still lists the physical drivers" \
			"$w/out.modules" "${PHYS[@]}"
	else
		not_ok "$v: output initrd lists the virtio drivers" "not listed: $(cat "$w/out.err" 2>/dev/null)"
		not_ok "$v: output initrd still lists the physical drivers" "not listed"
	fi
	case $v in
	*-ucode)
		early=$(dt_initrd "$v")/early.cpio
		check "$v: output initrd still starts with the early microcode cpio, byte-exact" \
			cmp -n "$(stat -c %s "$early")" "$early" "$initrd"
		;;
	esac

	# The output must boot with its root on virtio-blk only.
	out_uuid=$(blkid -p -O "$off" -o value -s UUID "$out" 2>/dev/null) || out_uuid=$uuid
	if [ -s "$initrd" ]; then
		start_boot "$w/out" "$v: output on virtio-blk reaches the marker" /dev/vda1 \
			"$out" virtio "$disk/vmlinuz" "$initrd" "$out_uuid"
	else
		BOOTS+=("$w/out|$v: output on virtio-blk reaches the marker (no initrd to boot)|/dev/vda1")
	fi
done

qm_wait_all
for b in "${BOOTS[@]}"; do
	result=${b%%|*} rest=${b#*|}
	desc=${rest%|*} want=${rest##*|}
	qm_read "$result"
	tail="(no console output)"
	if [ -s "$result.console" ]; then
		tail=$(tr -d '\r' <"$result.console" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tail -n 8)
	fi
	if [ "$want" = none ]; then
		case $QM_RC in
		1 | 2) ok "$desc (gave up after $QM_SECS s)" ;;
		0) not_ok "$desc" "expected: no marker (the root device never appears)" "got: $QM_WHY" ;;
		*) not_ok "$desc" "expected: the initramfs gives up waiting for its root" "got: $QM_WHY" "$tail" ;;
		esac
	elif [ "$QM_RC" = 0 ] && [ "${QM_WHY##*root=}" = "$want" ]; then
		ok "$desc (root=$want, $QM_SECS s)"
	else
		not_ok "$desc" "expected: $MARKER$want" "got: $QM_WHY" "last console lines:" "$tail"
	fi
done
done_testing
