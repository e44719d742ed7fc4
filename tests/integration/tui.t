#!/bin/bash
# ferry tui driven through tmux (send-keys in, capture-pane out), at 80x24
# with TERM vt100, vt220 and linux: the screens in order, a target the job
# checks refuse (said on the screen, which stays), a capture of a system
# disk and a data disk into local files checked with qemu-img and sha256sum, leaving before a capture, a
# resize; the source's SHA-256 unchanged.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"
. "$TESTS_DIR/lib/tmux.sh"

if ! command -v tmux >/dev/null; then
	echo "1..0 # SKIP needs tmux (support/deps.sh check)"
	exit 0
fi
plan 55

disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")
# A data disk: one ext4 partition holding a file.
data=$T_DIR/data.img
truncate -s 40M "$data"
echo "start=2048, type=83" | sfdisk -q "$data"
mkfs.ext4 -q -F -L data -E offset=1048576 "$data" 38M
echo "a data disk's file" >"$T_DIR/hello.txt"
debugfs -w -R "write $T_DIR/hello.txt hello.txt" "$data?offset=1048576" >/dev/null 2>&1
data_sha=$(sha "$data")

check_match "ferry tui --help names the screens" "the cloud and the check report" \
	"$("$FERRY" tui --help)"
check_fails "without a terminal: a usage error (exit 2)" 2 "^ferry tui: needs a terminal" \
	"$FERRY" tui "$disk"

# 1. A capture into a local file, TERM=vt220.
tx_start a "TERM=vt220 $FERRY tui --cmdline '' $disk $data"
tx_show a "1/7 Disks" "<Leave>" || :
screen=$(tx_screen a)
check_match "disks: the disk is listed and marked as the system disk" \
	"\[S\] disk\.img .*5 parts +system \(/\)" "$screen"
check_match "disks: the second disk is listed as a data disk, not marked" \
	"\[ \] data\.img .*1 parts +data" "$screen"
check_match "disks: partition 2 holds / (used bytes shown)" \
	"partition 2 +96\.0 MiB ext4 +root +[0-9.]+ MiB +/ +│" "$screen"
check_match "disks: partition 1 holds /boot" "partition 1 +16\.0 MiB ext4 +boot .*/boot" "$screen"
check_eq "disks: fits 80 columns" "" \
	"$(python3 -c 'import sys; [print(l) for l in sys.stdin.read().splitlines() if len(l) > 80]' <<<"$screen")"

# d marks the data disk; s on the system disk takes its mark away, and
# without a system disk the screen says so and stays.
tx_keys a Down d Up s F12
tx_wait a "│ OK │" || :
check_match "disks: no system disk marked is said" "Mark the disk to capture as the system disk" \
	"$(tx_box a Disks)"
tx_keys a Enter s
check_match "disks: the marks shown" "\[S\] disk\.img.*
.*\[D\] data\.img" "$(tx_screen a)"
tx_keys a F12
tx_show a "2/7 Cloud and check" "<Next>" 60 || :
screen=$(tx_screen a)
check_match "check: the clouds are listed" "kvm +any KVM cloud" "$screen"
check_match "check: the verdict is said" "Ready: nothing blocks|blockers? the fixes leave" "$screen"
check_match "check: each finding says who mends it" "(fixed by capture|needs you)" "$screen"

tx_keys a F12
tx_show a "3/7 Network" "<Next>" || :
screen=$(tx_screen a)
nic=$(ip -o link show up | awk -F': ' '$2 != "lo" && $0 ~ /link\/ether/ { print $2; exit }')
mac=$(cat "/sys/class/net/${nic%@*}/address" 2>/dev/null)
if [ -n "$nic" ]; then
	check_match "network: a card with its MAC address and link state" \
		"${nic%@*} +$mac +(link up|no link)" "$screen"
else
	check_match "network: no card is said so" "no Ethernet card found" "$screen"
fi
check_match "network: the host's network is shown, not changed" "This is not the rescue system" \
	"$screen"
tx_keys a F12
tx_show a "4/7 Target" "<Next>" || :
tx_keys a F12
tx_wait a "Not yet:" || :
screen=$(tx_screen a)
check_match "target: an empty S3 target is refused on the screen" \
	"Not yet: the bucket and the key name the object" "$screen"
check_match "target: the screen stays" "4/7 Target" "$screen"

# A presigned URL whose host does not resolve, then one where nothing
# listens: each failure names its step. (The URL field is 8 on from the
# second radio button.)
tx_keys a Tab Space
for _ in 1 2 3 4 5 6 7 8; do tx_keys a Tab; done
tx_type a "https://no-such-host.invalid/bucket/img?X-Amz-Signature=0"
tx_keys a F12
tx_wait a "Not yet: DNS" || :
check_match "target: a host that does not resolve is a DNS failure" \
	"Not yet: DNS: no-such-host\.invalid does not resolve" "$(tx_screen a)"
tx_keys a C-a C-k
tx_type a "https://127.0.0.1:9/bucket/img?X-Amz-Signature=0"
tx_keys a F12
tx_wait a "Not yet: TCP" || :
check_match "target: a port nothing listens on is a TCP failure" "Not yet: TCP: .*127\.0\.0\.1" \
	"$(tx_screen a)"
# Local path: back to the third radio button (7 fields back), then the
# Path field (8 on).
for _ in 1 2 3 4 5 6 7; do tx_keys a BTab; done
tx_keys a Space
for _ in 1 2 3 4 5 6 7 8; do tx_keys a Tab; done
tx_type a "$T_DIR/out.qcow2"
tx_keys a F12
tx_show a "5/7 Confirm" "[│x] Back [│x]" || :
# The dialog's text, its lines joined: where long paths wrap depends on
# the scratch directory's length (CI's ASan paths put disk.img on a line
# of its own).
screen=$(tx_box a Confirm)
check_match "confirm: names the disk, the cloud and the file" \
	"Capture [^ ]*/disk\.img .*for any KVM cloud" "$screen"
check_match "confirm: ... and where the image goes" "into $T_DIR/out\.qcow2 as qcow2" "$screen"
check_match "confirm: the data disk follows, into a target named after the system's" \
	"data\.img into $T_DIR/out-data\.qcow2" "$screen"
tx_keys a Enter
tx_show a "7/7 Result" "<Done>" 120 || :
screen=$(tx_screen a)
check_match "result: captured" "Result: captured" "$screen"
check_eq "result: the SHA-256 shown is the file's (sha256sum)" "$(sha "$T_DIR/out.qcow2")" \
	"$(grep -oE '[0-9a-f]{64}' <<<"$screen" | head -1)"
check "result: qemu-img check of the image is clean" qemu-img check "$T_DIR/out.qcow2"
check_eq "result: the data disk's SHA-256 shown is its image's (sha256sum)" \
	"$(sha "$T_DIR/out-data.qcow2")" "$(grep -oE '[0-9a-f]{64}' <<<"$screen" | sed -n 2p)"
check_match "result: the data disk's image is the disk, block for block (qemu-img compare)" \
	"Images are identical" "$(qemu-img compare -f raw -F qcow2 "$data" "$T_DIR/out-data.qcow2" 2>&1)"
# The regions are on the first page or the next, as the paths wrap.
tx_keys a NPage
check_match "result: the regions copied are listed" "partition 2 .*used-blocks" \
	"$screen$(tx_screen a)"
tx_keys a NPage NPage NPage
screen=$(tx_screen a)
check_match "result: the next steps into the cloud" "Next, into any KVM cloud" "$screen"
check_match "result: the same job as kernel command-line keys" \
	"ferry.target=$T_DIR/out\.qcow2 ferry.format=qcow2" "$(tr -d '│\n' <<<"$screen" | tr -s ' ')"
# Save job: the second button; a directory that is not there, then one that is.
mkdir -p "$T_DIR/stick"
tx_keys a Tab Enter
tx_wait a "Directory" || :
tx_type a "$T_DIR/no-such-dir"
tx_keys a Tab Enter
tx_wait a "│ OK │" || :
check_match "save job: a directory that is not there is said" "no-such-dirisnotadirectory" \
	"$(tx_box a "Save job" | tr -d ' ')"
tx_keys a Enter
tx_keys a Enter
tx_wait a "Directory" || :
tx_keys a C-a C-k
tx_type a "$T_DIR/stick"
tx_keys a Tab Enter
tx_wait a "Saved " || :
tx_keys a Enter
check_match "save job: ferry run reads the saved job file back (--dry-run)" \
	"ferry.target=$T_DIR/out\.qcow2 +\(config\)" \
	"$("$FERRY" run --dry-run --cmdline "ferry.config=$T_DIR/stick/job.conf" 2>&1)"
tx_keys a Tab Enter
check_eq "Done: exit 0" 0 "$(tx_exit a)"
check_eq "the source's SHA-256 is unchanged" "$src_sha" "$(sha "$disk")"
check_eq "the data disk's SHA-256 is unchanged" "$data_sha" "$(sha "$data")"

# 2. Leaving at the first screen, TERM=vt100, after a resize.
tx_start b "TERM=vt100 $FERRY tui --cmdline '' $disk"
tx_show b "1/7 Disks" "<Leave>" || :
tx resize-window -t b -x 100 -y 30
sleep 0.5
tx resize-window -t b -x 80 -y 24
sleep 0.5
screen=$(tx_screen b)
check_match "after a resize the screen is drawn again" "Disks: the system disk \\(S\\)" "$screen"
check_match "... with its buttons" "<Next> +<Rescan> +<Leave>" "$screen"
tx_keys b Tab Tab Tab Tab Enter
tx_wait b "Leave the menus\?" || :
tx_keys b Enter
check_eq "leaving without a capture: exit 4" 4 "$(tx_exit b)"

# 3. TERM=linux: the first screen is drawn.
tx_start c "TERM=linux $FERRY tui --cmdline '' $disk"
check "TERM=linux: the disks screen is drawn" tx_wait c "Disks: the system disk \\(S\\)"
tx_keys c F12
check "TERM=linux: the check screen follows" tx_wait c "2/7 Cloud and check" 60
# 4. A terminal nobody describes: drawn for vt100, with a warning first.
tx_start d "TERM=no-such-terminal $FERRY tui --cmdline '' $disk 2>$T_DIR/d.err"
check "an unknown TERM: the disks screen is drawn all the same" tx_wait d "<Leave>"
check_match "... and the fallback is said" "no terminal description for TERM=no-such-terminal: drawing for vt100" \
	"$(cat "$T_DIR/d.err")"
check_eq "no file beside the images but the images and their manifests" \
	"out-data.qcow2 out-data.qcow2.ferry.json out.qcow2 out.qcow2.ferry.json" \
	"$(cd "$T_DIR" && printf "%s\n" out* | LC_ALL=C sort | xargs)"

# 5. Leave out. ferry.exclude=2 names /: the check refuses it, the screen
# says so and nothing is left out. Then partition 5 (/srv) is marked in the
# Leave out list: the check and the confirm screen say so, the image reads
# zeros there and its fstab line is commented out (debugfs); the job shown
# for the next server does not carry it, and keeps the ferry.boot_mode of
# the command line (the target screen once cleared it).
tx_start e "TERM=vt220 $FERRY tui --cmdline 'ferry.exclude=2 ferry.boot_mode=bios' $disk"
tx_show e "1/7 Disks" "<Leave>" || :
tx_keys e F12
tx_wait e "Nothing is left out" 60 || :
check_match "leave out: / is refused, said on the screen" \
	"--exclude 2: partition 2 holds /, which the system needs to boot" \
	"$(tx_box e "Leave out" | tr -d '\n' | tr -s ' ')"
tx_keys e Enter
tx_show e "2/7 Cloud and check" "<Next>" 60 || :
screen=$(tx_screen e)
check_match "leave out: ... and the check runs with nothing left out" \
	"Ready: nothing blocks the migration once captured +│" "$screen"
check_match "leave out: the button is there" "<Leave out> +<Back> +<Next>" "$screen"
tx_keys e Tab Tab Tab Enter
tx_wait e "Space marks one" || :
screen=$(tx_box e "Leave out")
check_match "leave out: the list offers the swap and /srv, not / or /boot" \
	"partition 3 .*swap.*partition 5 .*srv" "$(tr -d '\n' <<<"$screen")"
check_eq "leave out: ... and not / or /boot" "" "$(grep -oE 'partition [12] ' <<<"$screen")"
tx_keys e Down Space Tab Enter
tx_show e "2/7 Cloud and check" "left out: 5" 60 || :
check_match "leave out: the check says what is left out" \
	"Ready: nothing blocks the migration once captured; left out: 5" "$(tx_screen e)"
tx_keys e F12
tx_show e "3/7 Network" "<Next>" || :
tx_keys e F12
tx_show e "4/7 Target" "<Next>" || :
tx_keys e Tab Tab Space
for _ in 1 2 3 4 5 6 7 8; do tx_keys e Tab; done
tx_type e "$T_DIR/ex.qcow2"
tx_keys e F12
tx_show e "5/7 Confirm" "[│x] Back [│x]" || :
check_match "leave out: the confirm screen says so" \
	"Left out \(read as zeros, their fstab lines commented out\): partition 5\." \
	"$(tx_box e Confirm | tr -d '\n' | tr -s ' ')"
tx_keys e Enter
tx_show e "7/7 Result" "<Done>" 120 || :
check_match "leave out: captured" "Result: captured" "$(tx_screen e)"
tx_keys e NPage NPage NPage NPage
check_match "leave out: the job for the next server leaves nothing out, keeps ferry.boot_mode" \
	"^ferry\.target=$T_DIR/ex\.qcow2 ferry\.format=qcow2 ferry\.compress=none ferry\.cloud=kvm ferry\.boot_mode=bios <Save" \
	"$(tr -d '│\n' <<<"$(tx_screen e)" | tr -s ' ' | grep -oE 'ferry\.target=.*')"
qemu-img convert -O raw "$T_DIR/ex.qcow2" "$T_DIR/ex.raw"
check "leave out: partition 5 reads as zeros in the image" cmp -n $((FX_P5_SIZE * 512)) \
	-i $((FX_P5_START * 512)):0 "$T_DIR/ex.raw" /dev/zero
check_match "leave out: its fstab line is commented out" \
	"# ferry: disabled, partition 5 is left out of the image \(--exclude\)" \
	"$(debugfs -R 'cat /etc/fstab' "$T_DIR/ex.raw?offset=$(fx_off 2)" 2>/dev/null)"
tx_keys e Tab Tab Enter
check_eq "leave out: exit 0" 0 "$(tx_exit e)"
check_eq "the source's SHA-256 is unchanged after it" "$src_sha" "$(sha "$disk")"
done_testing
