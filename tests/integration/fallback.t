#!/bin/bash
# Filesystems whose block bitmap cannot be trusted are copied whole (every
# non-zero block), with a warning: a corrupt superblock, a journal that needs
# recovery, a filesystem marked with errors, and a partition whose type
# Ferry does not read. (--no-fix: a capture that fixes replays the journal
# instead, see fix.t and journal.t, and refuses to edit a filesystem marked
# with errors.)
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

plan 22

disk=$T_DIR/disk.img
fx_server_disk "$disk"

# same_region A B PART: the partition's bytes are identical in A and B.
same_region() {
	local v="FX_P$3_SIZE"
	cmp -n $((${!v} * FX_SECTOR)) -i "$(fx_off "$3")" "$1" "$2"
}

# json_field FILE PYTHON-EXPR: evaluates EXPR with j = the JSON summary.
json_field() {
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}

# capture_case NAME PART DAMAGE-REGEX [OPTION...]: captures $T_DIR/NAME.img
# (already damaged on partition PART) to raw with --json and checks the
# outcome.
capture_case() {
	local name=$1 n=$2 re=$3 img=$T_DIR/$1.img out=$T_DIR/$1.raw before rc=0
	shift 3
	before=$(sha "$img")
	"$FERRY" capture --quiet --no-fix --json --format raw "$@" "$img" "$out" \
		>"$T_DIR/$name.json" 2>"$T_DIR/$name.err" || rc=$?
	check_eq "$name: capture exits 0" 0 "$rc"
	check_match "$name: a warning names partition $n and the reason" \
		"^ferry: warning: .*partition $n.*$re.*every non-zero block is copied" \
		"$(cat "$T_DIR/$name.err")"
	check_eq "$name: the JSON summary says non-zero-blocks and carries the warning" \
		"non-zero-blocks True" \
		"$(json_field "$T_DIR/$name.json" "[p['method'] for p in j['partitions'] if p['number'] == $n][0], len([w for w in j['warnings'] if 'partition $n:' in w and 'every non-zero block' in w]) == 1")"
	check "$name: partition $n of the copy equals the source's byte for byte" \
		same_region "$img" "$out" "$n"
	check_eq "$name: source SHA-256 unchanged" "$before" "$(sha "$img")"
}

# A corrupt superblock: metadata_csum makes libext2fs refuse it.
cp "$disk" "$T_DIR/badsb.img"
printf '\377\377' | dd of="$T_DIR/badsb.img" bs=1 seek=$(($(fx_off 5) + 1024 + 4)) \
	conv=notrunc status=none
check_match "fixture: debugfs refuses the corrupt superblock too" "superblock is corrupt" \
	"$(debugfs -R stats "$T_DIR/badsb.img?offset=$(fx_off 5)" 2>&1)"
capture_case badsb 5 "cannot open its ext2/3/4 filesystem: (Superblock checksum does not match superblock|The ext2 superblock is corrupt)"
check "badsb: the other filesystems are still copied by their bitmaps" \
	python3 "$TESTS_DIR/lib/freecheck.py" "$disk" "$(fx_off 2)" "$T_DIR/badsb.raw" "$(fx_off 2)"

# A journal that needs recovery (the server was not shut down cleanly).
cp "$disk" "$T_DIR/dirty.img"
debugfs -w -R "feature needs_recovery" "$T_DIR/dirty.img?offset=$(fx_off 2)" >/dev/null 2>&1
capture_case dirty 2 "journal needs recovery"

# A filesystem marked as having errors.
cp "$disk" "$T_DIR/errors.img"
debugfs -w -R "ssv state 2" "$T_DIR/errors.img?offset=$(fx_off 1)" >/dev/null 2>&1
# A blocker (fs.errors): without --force nothing is captured.
rc=0
"$FERRY" capture --quiet --no-fix --format raw "$T_DIR/errors.img" "$T_DIR/errors.raw" \
	2>"$T_DIR/errors.err" || rc=$?
check_eq "errors: a blocker: exit 3, nothing captured" "3 no" \
	"$rc $([ -e "$T_DIR/errors.raw" ] && echo yes || echo no)"
check_match "errors: the message names the blocker and --force" \
	"^ferry: .*errors.img: 1 blocker that the fixes do not remove \(fs.errors\): nothing captured; .*--force" \
	"$(cat "$T_DIR/errors.err")"
capture_case errors 1 "marked as having errors" --force
check_match "errors: --force is warned about, with the blocker" \
	"^ferry: warning: .*errors.img: capturing despite 1 blocker \(--force\): fs.errors" \
	"$(cat "$T_DIR/errors.err")"

# A partition type Ferry does not read: copied whole with zero runs skipped,
# and it says so in the summary (no warning: nothing is wrong with it).
cp "$disk" "$T_DIR/other.img"
dd if=/dev/zero of="$T_DIR/other.img" bs=1024 count=2 seek=$(($(fx_off 5) / 1024)) \
	conv=notrunc status=none
"$FERRY" capture --quiet --no-fix --json --format raw "$T_DIR/other.img" "$T_DIR/other.raw" \
	>"$T_DIR/other.json"
check_eq "unknown filesystem: copied as non-zero-blocks with a note" "non-zero-blocks True" \
	"$(json_field "$T_DIR/other.json" "[p['method'] for p in j['partitions'] if p['number'] == 5][0], 'every non-zero block' in [p['note'] for p in j['partitions'] if p['number'] == 5][0]")"
check "unknown filesystem: partition 5 equals the source's" \
	same_region "$T_DIR/other.img" "$T_DIR/other.raw" 5
done_testing
