#!/bin/bash
# Bad input: one clear line on stderr, a non-zero exit, nothing left behind,
# and the source unchanged.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

plan 45

disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")
out=$T_DIR/out

# leftovers DIR: files a failed capture must not leave behind.
leftovers() { find "$1" -maxdepth 1 -name 'out*' | sort | tr '\n' ' '; }

# fails_clean DESCRIPTION EXIT REGEX SOURCE [OPTIONS...]: the capture of
# SOURCE into $out must fail, leave no output and not change SOURCE.
fails_clean() {
	local desc=$1 want=$2 re=$3 src=$4 before=""
	shift 4
	[ -f "$src" ] && before=$(sha "$src")
	check_fails "$desc" "$want" "$re" "$FERRY" capture --quiet "$@" "$src" "$out"
	check_eq "$desc: no output or partial file left" "" "$(leftovers "$T_DIR")"
	if [ -n "$before" ]; then
		check_eq "$desc: source SHA-256 unchanged" "$before" "$(sha "$src")"
	fi
}

# The one-line rule: every failure prints exactly one line.
check_eq "a missing source prints exactly one line" 1 \
	"$("$FERRY" capture "$T_DIR/nonexistent" "$out" 2>&1 >/dev/null | wc -l)"
fails_clean "missing source" 1 "^ferry: cannot open .*nonexistent: No such file or directory$" \
	"$T_DIR/nonexistent"
mkdir "$T_DIR/adir"
fails_clean "a directory as the source" 1 "adir is not a block device or a disk image file" \
	"$T_DIR/adir"
: >"$T_DIR/empty.img"
fails_clean "zero-length source" 1 "empty.img is empty \(0 bytes\)" "$T_DIR/empty.img"

head -c 4M /dev/urandom >"$T_DIR/notable.img"
fails_clean "no partition table" 1 "notable.img: .*(no partition table|unrecognised disk label)" \
	"$T_DIR/notable.img"

# A partition past the end of the disk: the disk was cut short.
cp "$disk" "$T_DIR/short.img"
truncate -s $(((FX_P5_START + 100) * FX_SECTOR)) "$T_DIR/short.img"
fails_clean "partition past the end of the disk" 1 \
	"short.img: partition 4 \\(sectors 264192-307199\\) ends past the end of the disk" "$T_DIR/short.img"

# EBR chains: the link entry of the first EBR (entry 2, at offset 462).
# link_ebr IMG START: points the link at START sectors into the extended
# partition.
link_ebr() {
	python3 - "$1" "$(fx_off 4)" "$2" <<'EOF'
import struct, sys
path, ebr, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "r+b") as f:
    f.seek(ebr + 446 + 16)
    f.write(struct.pack("<B3sB3sII", 0, b"\0\0\0", 5, b"\0\0\0", start, 2048))
EOF
}
cp "$disk" "$T_DIR/loop.img"
link_ebr "$T_DIR/loop.img" 0
fails_clean "an EBR chain that loops" 1 "loop.img: the chain of logical partitions loops" \
	"$T_DIR/loop.img"
cp "$disk" "$T_DIR/far.img"
link_ebr "$T_DIR/far.img" 4000000
fails_clean "an EBR link out of the extended partition" 1 \
	"far.img: extended boot record at sector $FX_P4_START links to" "$T_DIR/far.img"
# timeout guards the test itself: a hang must fail, not stall the suite.
check_fails "the looping chain does not hang scan either" 1 "loops" \
	timeout 20 "$FERRY" scan "$T_DIR/loop.img"

# An existing target is kept unless --overwrite is given (--force is about blockers only).
echo keep >"$out"
check_fails "an existing target is refused" 1 "out already exists \(use --overwrite to replace it\)" \
	"$FERRY" capture --quiet "$disk" "$out"
check_fails "--force (past blockers) does not replace it either" 1 "out already exists" \
	"$FERRY" capture --quiet --force "$disk" "$out"
check_eq "the refused target is untouched" keep "$(cat "$out")"
check "--overwrite replaces it" "$FERRY" capture --quiet --overwrite --format raw "$disk" "$out"
check "the replaced target is the image" cmp -n 512 "$disk" "$out"
rm -f "$out" "$out.ferry.json"

check_fails "the source as its own target is refused" 1 "is the source disk" \
	"$FERRY" capture --quiet --overwrite "$disk" "$disk"
check_fails "a directory as the target" 1 "target .* is a directory" \
	"$FERRY" capture --quiet "$disk" "$T_DIR/adir"
check_fails "a target in a missing directory" 1 "^ferry: .*nodir.*No such file or directory" \
	"$FERRY" capture --quiet "$disk" "$T_DIR/nodir/out"
# Target mistakes are said before the checks run and before the source is
# opened: no report, one line, even when the source is wrong too.
check_eq "a missing target directory: one line, before any check is reported" \
	"1 lines; stdout: " \
	"$("$FERRY" capture "$disk" "$T_DIR/nodir/out" 2>&1 >/dev/null | wc -l) lines; stdout: $("$FERRY" capture "$disk" "$T_DIR/nodir/out" 2>/dev/null)"
check_fails "... and before the source is opened" 1 "^ferry: target directory .*/nodir: No such file" \
	"$FERRY" capture "$T_DIR/nonexistent" "$T_DIR/nodir/out"
check_fails "a target inside a file" 1 "^ferry: target .*/disk\.img/out: Not a directory" \
	"$FERRY" capture "$disk" "$disk/out"
check_eq "missing S3 credentials: said before any check is reported" \
	"1 no S3 credentials; stdout: " \
	"$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SHARED_CREDENTIALS_FILE HOME="$T_DIR" \
		"$FERRY" capture --endpoint https://127.0.0.1:9 "$disk" s3://bucket/k.qcow2 \
		>"$T_DIR/cred.out" 2>"$T_DIR/cred.err"; echo "$?") $(grep -o 'no S3 credentials' "$T_DIR/cred.err"); stdout: $(cat "$T_DIR/cred.out")"

# 'auto' on a machine whose disks hold no root filesystem, or whose root disk
# is mounted (this test host): refused either way, never copied live.
check_fails "auto without a root disk that is free to copy" 1 \
	"^ferry: (auto: no disk holds a root filesystem|.* is in use \\()" \
	"$FERRY" capture --quiet auto "$out"

# Usage errors exit 2.
check_fails "an unknown option" 2 "unrecognized option '--frobnicate'" \
	"$FERRY" capture --frobnicate "$disk" "$out"
check_fails "an unknown format" 2 "format 'vhdx'" \
	"$FERRY" capture --format vhdx "$disk" "$out"
check_fails "a missing argument" 2 "expected SOURCE and TARGET, got 1 argument" \
	"$FERRY" capture "$disk"
check_fails "an unknown command" 2 "unknown command 'frob'" "$FERRY" frob
check_eq "no output after usage errors" "" "$(leftovers "$T_DIR")"

# A target filesystem that fills up: the partial file is removed.
if [ "$(id -u)" = 0 ] && mkdir -p "$T_DIR/small" && mount -t tmpfs -o size=20m tmpfs "$T_DIR/small"; then
	on_exit "umount $T_DIR/small"
	check_fails "a full target filesystem is reported" 1 "no space left for .*small/img" \
		"$FERRY" capture --quiet --format qcow2 "$disk" "$T_DIR/small/img"
	check_eq "the partial file is removed" "" "$(ls -A "$T_DIR/small")"
	check_fails "raw into a full filesystem is reported too" 1 "no space left for .*small/img" \
		"$FERRY" capture --quiet --format raw "$disk" "$T_DIR/small/img"
	check_eq "the raw partial file is removed" "" "$(ls -A "$T_DIR/small")"
	umount "$T_DIR/small"
else
	for _ in 1 2 3 4; do
		echo "ok $((T_NUM + 1)) # skip a full filesystem needs root to mount a small tmpfs"
		T_NUM=$((T_NUM + 1))
	done
fi
# ferry run: a job's --resolve goes through the capture's own check, before
# its job file is fetched.
check_fails "ferry run: a bad ferry.resolve is refused, naming the key" 1 \
	"^ferry: ferry.resolve: --resolve bad: expected HOST:IP$" \
	"$FERRY" run --dry-run --cmdline "ferry.target=s3://b/k ferry.resolve=bad ferry.config=https://127.0.0.1:9/j.conf"
check_eq "source SHA-256 unchanged after all of the above" "$src_sha" "$(sha "$disk")"
done_testing
