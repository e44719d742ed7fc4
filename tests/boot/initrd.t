#!/bin/bash
# Virtio injection into real initrds: Debian trees made with mmdebstrap, whose
# initrds (initramfs-tools and dracut; gzip, xz, zstd; with early microcode)
# carry only physical drivers; ferry capture must make them boot on virtio-blk.
#
# The sanity boots of a fixture as it is (it boots on IDE, not on virtio-blk)
# do not involve ferry: their results are kept in the fixture's cache entry
# and reported from there by later runs. FERRY_BOOT_RESULTS=DIR: the SHA-256
# of each output that booted is left there. FERRY_BOOT_COMPARE=DIR (the
# sanitizer build): nothing boots; each output must be byte-identical to the
# one of the same variant in DIR.
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
RESULTS=${FERRY_BOOT_RESULTS:-}
COMPARE=${FERRY_BOOT_COMPARE:-}
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

# Boot results come back from background guests: BOOTS lists
# RESULT|DESC|WANT|ENTRY|NAME|KEY (WANT: a root device the marker must show,
# or "none" for a boot that must fail; ENTRY, NAME, KEY: where the result is
# kept, for a boot of a fixture as it is) in the order the checks are
# reported. A kept result is copied to RESULT, with RESULT.when.
BOOTS=()
start_boot() { # RESULT DESC WANT DISK IF KERNEL INITRD UUID [ENTRY NAME]
	local result=$1 desc=$2 want=$3 entry=${9:-} name=${10:-} key="" kept
	[ -z "$entry" ] || key=$(boot_key "$5")
	if [ -n "$entry" ] && kept=$(dt_boot_cached "$entry" "$name" "$key"); then
		cp "$kept/result" "$result"
		cp "$kept/when" "$result.when"
	elif [ -n "$COMPARE" ]; then
		printf '%s\n' 5 "" "not booted: the sanitizer build boots nothing" >"$result"
	else
		qm_throttle "$JOBS"
		qm_boot_bg "$result" "$result.console" "$4" "$5" "$6" "$7" \
			"root=UUID=$8 ro $QM_APPEND_BASE init=/sbin/ferry-marker" "$MARKER" "$BOOT_TIMEOUT"
	fi
	BOOTS+=("$result|$desc|$want|$entry|$name|$key")
}
# boot_key IF: the key of a fixture's boot on IF (dt_boot_key).
boot_key() {
	dt_boot_key "$1 $QM_ACCEL $QM_MEM $QM_APPEND_BASE $QM_FAIL_RE $MARKER $BOOT_TIMEOUT
$(declare -f start_boot qm_boot_bg qm_boot qm_start qm_start_args qm_wait qm_stop)"
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
		"$disk/disk.img" ide "$disk/vmlinuz" "$disk/initrd.img" "$uuid" "$disk" sanity-ide
	start_boot "$w/virtio" "$v: sanity: source disk on virtio-blk does not (no virtio in the initrd)" none \
		"$disk/disk.img" virtio "$disk/vmlinuz" "$disk/initrd.img" "$uuid" "$disk" sanity-virtio

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
	sha "$out" >"$w/out.sha256" 2>/dev/null || :
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

	# The output must boot with its root on virtio-blk only; under the
	# sanitizer it must be the bytes that booted in the normal pass.
	out_uuid=$(blkid -p -O "$off" -o value -s UUID "$out" 2>/dev/null) || out_uuid=$uuid
	if [ -n "$COMPARE" ]; then
		want=$(cat "$COMPARE/initrd-$v.sha256" 2>/dev/null) ||
			want="(no output of the normal pass in $COMPARE that booted)"
		check_eq "$v: output is byte-identical to the normal pass's, which booted on virtio-blk (no boot here)" \
			"$want" "$(cat "$w/out.sha256")"
	elif [ -s "$initrd" ]; then
		start_boot "$w/out" "$v: output on virtio-blk reaches the marker" /dev/vda1 \
			"$out" virtio "$disk/vmlinuz" "$initrd" "$out_uuid"
	else
		BOOTS+=("$w/out|$v: output on virtio-blk reaches the marker (no initrd to boot)|/dev/vda1")
	fi
done

qm_wait_all
for b in "${BOOTS[@]}"; do
	IFS='|' read -r result desc want entry name key <<<"$b"
	qm_read "$result"
	kept=""
	[ ! -f "$result.when" ] || kept="; cached: the result of the boot of $(cat "$result.when"), not booted again"
	if [ "$QM_RC" = 5 ]; then
		echo "ok $((T_NUM + 1)) - $desc # SKIP $QM_WHY"
		T_NUM=$((T_NUM + 1))
		continue
	fi
	tail="(no console output)"
	if [ -s "$result.console" ]; then
		tail=$(tr -d '\r' <"$result.console" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tail -n 8)
	fi
	passed=""
	if [ "$want" = none ]; then
		case $QM_RC in
		1 | 2) ok "$desc (gave up after $QM_SECS s$kept)" && passed=1 ;;
		0) not_ok "$desc" "expected: no marker (the root device never appears)" "got: $QM_WHY" ;;
		*) not_ok "$desc" "expected: the initramfs gives up waiting for its root" "got: $QM_WHY" "$tail" ;;
		esac
	elif [ "$QM_RC" = 0 ] && [ "${QM_WHY##*root=}" = "$want" ]; then
		ok "$desc (root=$want, $QM_SECS s$kept)"
		passed=1
	else
		not_ok "$desc" "expected: $MARKER$want" "got: $QM_WHY" "last console lines:" "$tail"
	fi
	[ -n "$passed" ] || continue
	if [ -n "$entry" ] && [ -z "$kept" ]; then
		dt_boot_keep "$entry" "$name" "$key" "$result" ||
			echo "# could not keep the result of $desc in $entry" >&2
	elif [ -z "$entry" ] && [ -n "$RESULTS" ] && [ -f "${result%/*}/out.sha256" ]; then
		# An output that booted: the sanitizer pass compares with it.
		v=${result%/*}
		cp "${result%/*}/out.sha256" "$RESULTS/initrd-${v##*/}.sha256" 2>/dev/null || :
	fi
done
done_testing
