#!/bin/bash
# Progress on stderr: redrawn in place on a terminal (percent, done/total,
# rate, ETA), plain lines otherwise, nothing with --quiet; --json prints the
# summary on stdout.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

plan 9

disk=$T_DIR/disk.img
fx_server_disk "$disk"
# A second disk that takes a moment: 512 MiB, scanned and copied whole. It
# holds no system (root.missing): --force.
big=$T_DIR/big.img
fx_filled_disk "$big" 512

"$FERRY" capture --format raw "$disk" "$T_DIR/a.raw" >"$T_DIR/a.out" 2>"$T_DIR/a.err"
check_match "not a terminal: a final progress line with percent, done/total, rate and time" \
	"^capture +100%  ([0-9]+\.[0-9] MiB) / \1  [0-9.]+ [KMG]iB/s  in [0-9.]+s$" \
	"$(cat "$T_DIR/a.err")"
check_eq "not a terminal: no carriage returns or escapes" "" \
	"$(tr -d '\n' <"$T_DIR/a.err" | tr -d '[:print:]')"
check_match "the report goes to stdout" "^captured .*disk.img \(msdos, 5 partitions\)" \
	"$(cat "$T_DIR/a.out")"

"$FERRY" capture --quiet --format raw "$disk" "$T_DIR/b.raw" >"$T_DIR/b.out" 2>"$T_DIR/b.err"
check_eq "--quiet: nothing on stderr or stdout" "0 0" \
	"$(stat -c %s "$T_DIR/b.err") $(stat -c %s "$T_DIR/b.out")"

"$FERRY" capture --json --quiet --format qcow2 "$disk" "$T_DIR/c.qcow2" >"$T_DIR/c.json"
check_eq "--json: the summary on stdout parses and names the target" "$T_DIR/c.qcow2 qcow2" \
	"$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["target"], j["format"])' "$T_DIR/c.json")"

# On a terminal (script(1) gives one): redrawn in place every quarter
# second. The image goes to a reader that takes 64 MiB a second, so the
# capture lasts several seconds however fast this machine's disks are.
cat >"$T_DIR/slow.py" <<'EOF'
import sys, time
while sys.stdin.buffer.read(8 << 20):
    time.sleep(0.125)
EOF
script -qec "'$FERRY' capture --force --format raw '$big' - 2>/dev/tty | python3 '$T_DIR/slow.py'" \
	/dev/null >"$T_DIR/tty.log" 2>&1
# Carriage returns that script(1) did not add to a newline.
redraws=$(python3 -c 'import re,sys; print(len(re.findall(rb"\r(?!\n)", open(sys.argv[1], "rb").read())))' \
	"$T_DIR/tty.log")
check "terminal: redrawn in place several times (saw $redraws)" test "$redraws" -ge 8
check_match "terminal: lines end by clearing to the end of the line" $'\e\\[K' "$(cat "$T_DIR/tty.log")"
check_match "terminal: an ETA while it runs" "[0-9]+%  [0-9.]+ [KMG]iB / 513\.0 MiB  [0-9.]+ [KMG]iB/s  ETA [0-9]+:[0-9]{2}:[0-9]{2}" \
	"$(tr '\r' '\n' <"$T_DIR/tty.log")"
check_match "terminal: ends at 100%" "100%  513\.0 MiB / 513\.0 MiB" "$(tr '\r' '\n' <"$T_DIR/tty.log")"
done_testing
