#!/bin/bash
# A server that was not shut down cleanly: the root filesystem's journal holds
# committed transactions (made with debugfs jo/jw/jc, with and without
# checksums, and with a revoke). ferry capture replays them into the copy
# before fixing it, so the target kernel cannot replay old blocks over the
# fixes: e2fsck -fy on the output changes nothing, and both the journalled
# data and the fixes are there. A journal Ferry cannot replay makes it refuse.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"
. "$TESTS_DIR/lib/physical.sh"

plan 35

base=$T_DIR/base.img
fx_physical_disk "$base"
r="?offset=$(fxp_off 2)"
# /etc/hostname's data block on the root filesystem.
blk=$(debugfs -R "blocks /etc/hostname" "$base$r" 2>/dev/null | tr -d ' ')
# jw journals whole blocks: the new contents fill one 4 KiB block.
block() { printf '%s\n' "$1"; head -c $((4096 - ${#1} - 1)) /dev/zero; }
block db02.example.com >"$T_DIR/new"
block db03.example.com >"$T_DIR/newer"

# dirty NAME SCRIPT: a copy of the disk whose journal holds SCRIPT's
# transactions and needs recovery. (debugfs's journal commands ignore an
# ?offset=, so they run on the partition cut out and put back.)
dirty() {
	local part=$T_DIR/$1.part
	cp "$base" "$T_DIR/$1.img"
	dd if="$base" of="$part" bs=512 skip="$FXP_P2_START" count="$FXP_P2_SIZE" status=none
	printf '%s\n' "$2" >"$T_DIR/$1.cmds"
	debugfs -w -f "$T_DIR/$1.cmds" "$part" >/dev/null 2>&1
	check_match "$1: the source's journal holds a committed transaction" \
		"Found expected sequence 1, type 2 \(commit block\)" \
		"$(debugfs -R logdump "$part" 2>/dev/null)"
	dd if="$part" of="$T_DIR/$1.img" bs=512 seek="$FXP_P2_START" conv=notrunc status=none
	rm -f "$part"
}

# replay_case NAME WANT-HOSTNAME: capture, then check the output.
replay_case() {
	local name=$1 want=$2 img=$T_DIR/$1.img out=$T_DIR/$1.raw sha rc=0
	check_match "$name: the source needs recovery" "needs_recovery" \
		"$(dumpe2fs -h "$img$r" 2>/dev/null | grep -i features)"
	check_eq "$name: the source's hostname block is still the old one" "db01.example.com" \
		"$(debugfs -R 'cat /etc/hostname' "$img$r" 2>/dev/null)"
	sha=$(sha "$img")
	"$FERRY" capture --quiet --json --format raw "$img" "$out" >"$T_DIR/$name.json" \
		2>"$T_DIR/$name.err" || rc=$?
	check_eq "$name: capture exits 0" "0" "$rc$(sed 's/^/ /' "$T_DIR/$name.err")"
	check_eq "$name: the source's SHA-256 is unchanged" "$sha" "$(sha "$img")"
	check_eq "$name: the output no longer needs recovery" "" \
		"$(dumpe2fs -h "$out$r" 2>/dev/null | grep -i features | grep -o needs_recovery || :)"
	cp "$out" "$T_DIR/$name.fy"
	check "$name: e2fsck -fy on the output changes nothing (exit 0)" e2fsck -fy "$T_DIR/$name.fy$r"
	check_eq "$name: the journalled hostname is in the output" "$want" \
		"$(debugfs -R 'cat /etc/hostname' "$out$r" 2>/dev/null)"
	check_match "$name: the fixes survive (SELinux disabled)" "^SELINUX=disabled" \
		"$(debugfs -R 'cat /etc/selinux/config' "$T_DIR/$name.fy$r" 2>/dev/null)"
	check_match "$name: the report says the journal was replayed" "replayed the journal" \
		"$(python3 -c 'import json,sys; print("\n".join(c["what"] for c in json.load(open(sys.argv[1]))["fixes"]["changes"] if c["rule"]=="journal"))' "$T_DIR/$name.json")"
}

dirty plain "jo
jw -b $blk $T_DIR/new
jc"
replay_case plain db02.example.com

dirty csum "jo -c
jw -b $blk $T_DIR/new
jw -b $blk $T_DIR/newer
jc"
check_match "csum: the journal has checksums (v3)" "journal_checksum_v3|Journal checksum type" \
	"$(dumpe2fs "$T_DIR/csum.img$r" 2>/dev/null | grep -i 'journal checksum' | head -1)"
replay_case csum db03.example.com

# Transaction 1 journals the block, transaction 2 revokes it: it keeps its
# old content.
dirty revoke "jo -c
jw -b $blk $T_DIR/new
jw -r $blk
jc"
replay_case revoke db01.example.com

# A journal with a feature Ferry does not know: refused, nothing written.
dirty unknown "jo
jw -b $blk $T_DIR/new
jc"
jblk=$(debugfs -R "bmap <8> 0" "$T_DIR/unknown.img$r" 2>/dev/null)
# s_feature_incompat (big-endian, at byte 40 of the journal superblock).
printf '\200\000\000\000' | dd of="$T_DIR/unknown.img" bs=1 conv=notrunc status=none \
	seek=$(($(fxp_off 2) + jblk * 4096 + 40))
sha=$(sha "$T_DIR/unknown.img")
check_fails "unknown journal feature: capture refuses and says how to proceed" 1 \
	"--no-fix.*partition 2: the journal has features Ferry does not know" \
	"$FERRY" capture --quiet --format raw "$T_DIR/unknown.img" "$T_DIR/unknown.raw"
check_eq "unknown journal feature: no output left behind" "" \
	"$(cd "$T_DIR" && find . -maxdepth 1 -name 'unknown.raw*')"
check_eq "unknown journal feature: the source's SHA-256 is unchanged" "$sha" \
	"$(sha "$T_DIR/unknown.img")"
done_testing
