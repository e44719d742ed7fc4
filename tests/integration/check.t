#!/bin/bash
# ferry check judges a disk offline: the CentOS 7-shaped server disk
# (physical.sh) shows what capture fixes and nothing it cannot; a data disk
# has no root (exit 3); a GPT disk made by sfdisk blocks Tencent and not
# kvm; a format the cloud does not take blocks; the JSON parses and names
# the codes; the source keeps its SHA-256.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"
. "$TESTS_DIR/lib/physical.sh"

plan 18

disk=$T_DIR/disk.img
fx_physical_disk "$disk"
src_sha=$(sha "$disk")
codes() { /usr/bin/python3 -c 'import json,sys
d = json.load(sys.stdin)
print(" ".join(sorted({f["code"] + ":" + f["severity"] for f in d["findings"]})))'; }
has() { case " $2 " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

rc=0
"$FERRY" check --cloud tencent --json "$disk" >"$T_DIR/p.json" 2>"$T_DIR/p.err" || rc=$?
check_eq "the physical server disk: exit 0 (capture fixes every blocker)" 0 "$rc"
found=$(codes <"$T_DIR/p.json")
for c in fstab.devname:warning fstab.other-disk:blocker boot.devname:warning \
	selinux.enforcing:warning firewall.enabled:warning net.static:warning net.rules:warning \
	cloudinit.missing:warning; do
	if has "$c" "$found"; then ok "... raises $c"; else not_ok "... raises $c" "found: $found"; fi
done
check_eq "... the source disk is unchanged" "$src_sha" "$(sha "$disk")"

# A data disk: no root filesystem.
data=$T_DIR/data.img
truncate -s 64M "$data"
echo "start=2048, type=83" | sfdisk -q --label dos "$data"
mke2fs -q -F -t ext4 -E offset=1048576 "$data" 63M
rc=0
"$FERRY" check --json "$data" >"$T_DIR/d.json" 2>/dev/null || rc=$?
check_eq "a data disk: exit 3, root.missing is a blocker" "3 root.missing:blocker" \
	"$rc $(codes <"$T_DIR/d.json")"

# The same server on a GPT table (sfdisk moves nothing: the partitions keep
# their sectors).
gpt=$T_DIR/gpt.img
cp "$disk" "$gpt"
printf '%s\n' "label: gpt" "start=$FXP_P1_START, size=$FXP_P1_SIZE" \
	"start=$FXP_P2_START, size=$FXP_P2_SIZE" "start=$FXP_P3_START, size=$FXP_P3_SIZE, type=S" |
	sfdisk -q --wipe never "$gpt"
rc=0
"$FERRY" check --cloud tencent --json "$gpt" >"$T_DIR/g.json" 2>/dev/null || rc=$?
check_eq "GPT (sfdisk) for tencent: exit 3, table.gpt is a blocker" "3 yes" \
	"$rc $(has table.gpt:blocker "$(codes <"$T_DIR/g.json")" && echo yes)"
rc=0
"$FERRY" check --cloud kvm --json "$gpt" >"$T_DIR/k.json" 2>/dev/null || rc=$?
check_eq "GPT for kvm: exit 0, table.gpt is info" "0 yes" \
	"$rc $(has table.gpt:info "$(codes <"$T_DIR/k.json")" && echo yes)"

rc=0
"$FERRY" check --cloud alibaba --format qcow2 "$disk" >"$T_DIR/a.txt" 2>&1 || rc=$?
check_match "qcow2 for alibaba: exit 3, format.unsupported in the text" \
	"^3 .*blockers.*format.unsupported +qcow2: the import takes raw,vhd.*verdict: 1 blocker" \
	"$rc $(tr '\n' ' ' <"$T_DIR/a.txt")"
check_fails "an unknown cloud is a usage error" 2 "unknown cloud 'nimbus'" "$FERRY" check --cloud nimbus "$disk"
check_eq "the source disk is still unchanged" "$src_sha" "$(sha "$disk")"

# docs/check-codes.md shows the tables the code has.
doc=$TESTS_DIR/../docs/check-codes.md
section() { sed -n "/^<!-- ferry check $1 -->$/,/^<!-- end -->$/p" "$doc" | sed '1d;$d'; }
check_eq "docs/check-codes.md has the table of ferry check --codes" \
	"$("$FERRY" check --codes)" "$(section --codes)"
check_eq "docs/check-codes.md has the table of ferry check --clouds" \
	"$("$FERRY" check --clouds)" "$(section --clouds)"
done_testing
