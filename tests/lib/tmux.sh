# shellcheck shell=bash
# Driving a full-screen program (ferry tui, a VM's serial console) through
# tmux: keys in with send-keys, the screen out with capture-pane. Each test
# has its own tmux server (socket ferry-PID), killed at exit. Source after
# tap.sh.

TX_SOCK=ferry-$$
tx() { tmux -L "$TX_SOCK" "$@"; }

# tx_start NAME COMMAND...: COMMAND (a shell line) in a detached 80x24
# window; its exit status is kept for tx_exit.
tx_start() {
	local name=$1
	shift
	rm -f "$T_DIR/$name.exit"
	[ -n "${TX_STARTED:-}" ] || on_exit "tmux -L $TX_SOCK kill-server"
	TX_STARTED=1
	tx new-session -d -s "$name" -x 80 -y 24 "$*; echo \$? >$T_DIR/$name.exit; sleep 3600"
}

# tx_screen NAME: what the window shows now, as the operator sees it: the
# DEC line-drawing characters a terminal in the C locale gets (tmux marks
# them with SO/SI under -e; plain capture-pane gives their letters, "lqqk")
# as the Unicode ones a UTF-8 terminal gets, colours left out.
tx_screen() {
	tx capture-pane -e -p -t "$1" | python3 -c '
import re, sys
acs = dict(zip("jklmnqtuvwxa~`", "┘┐┌└┼─├┤┴┬│▒·◆"))
text, out, on = re.sub(r"\x1b\[[0-9;:]*m", "", sys.stdin.read()), [], False
for c in text:
    if c in "\x0e\x0f":
        on = c == "\x0e"
    else:
        out.append(acs.get(c, c) if on and c != "\n" else c)
sys.stdout.write("".join(out))
'
}

# tx_wait NAME REGEX [SECONDS]: waits until the screen matches (default
# 30 s); on a timeout, says so and shows the screen as a diagnostic. With
# TX_SHOTS set to a directory, each screen waited for is kept there as
# NNN-NAME.txt (docs/tui.md's screens come from such a run).
tx_wait() {
	local name=$1 re=$2 end=$((SECONDS + ${3:-30}))
	while [ "$SECONDS" -lt "$end" ]; do
		if grep -Eq -- "$re" <<<"$(tx_screen "$name")"; then
			[ -z "${TX_SHOTS:-}" ] || tx_screen "$name" >"$TX_SHOTS/$(printf %03d \
				"$(find "$TX_SHOTS" -name '*.txt' | wc -l)")-$name.txt"
			return 0
		fi
		sleep 0.2
	done
	echo "# tx_wait: no /$re/ on $name after ${3:-30} s; the screen:" >&2
	tx_screen "$name" | sed 's/^/#   /' >&2
	return 1
}

# tx_show NAME TITLE LAST [SECONDS]: waits until the screen that shows
# TITLE has been drawn through LAST (what it draws last). The terminal is
# sent only the cells that changed, top to bottom: a LAST the old screen
# had at the same place (a <Next> button) is there before the rows above
# it arrive, which over a slow serial line can take seconds. What a test
# reads on a screen it waits for with tx_check.
tx_show() {
	tx_wait "$1" "$2" "${4:-30}" && tx_wait "$1" "$3" "${4:-30}"
}

# tx_check DESCRIPTION NAME RE [SECONDS]: a test that RE (one line) shows
# on NAME's screen within SECONDS (30); on a timeout the screen is shown.
tx_check() {
	check "$1" tx_wait "$2" "$3" "${4:-30}"
}

# tx_box NAME TITLE: the text inside the window titled TITLE (newt draws
# "┤ TITLE ├" into its top border), its lines joined and blanks squeezed,
# wherever the window sits on the screen. Of two windows with one title
# (a message over the screen it belongs to), the lower: the message.
tx_box() {
	tx_screen "$1" | python3 -c '
import sys
title = "┤ " + sys.argv[1] + " ├"
lines = sys.stdin.read().split("\n")
top = max((i for i, l in enumerate(lines) if title in l), default=None)
if top is None:
    sys.exit(1)
at = lines[top].index(title)
left, right = lines[top].rindex("┌", 0, at), lines[top].index("┐", at)
text = []
for l in lines[top + 1:]:
    if len(l) <= left or l[left] == "└":
        break
    text.append(l[left + 1:right])
print(" ".join(" ".join(text).split()))
' "$2"
}

# tx_keys NAME KEY...: tmux key names (Tab, Enter, F12, Up, "a"...).
tx_keys() {
	local name=$1
	shift
	tx send-keys -t "$name" "$@"
	sleep 0.3
}

# tx_type NAME TEXT: TEXT as typed, literally.
tx_type() {
	tx send-keys -t "$1" -l "$2"
	sleep 0.3
}

# tx_exit NAME [SECONDS]: the command's exit status, once it has ended.
tx_exit() {
	local end=$((SECONDS + ${2:-30}))
	while [ ! -s "$T_DIR/$1.exit" ] && [ "$SECONDS" -lt "$end" ]; do
		sleep 0.2
	done
	cat "$T_DIR/$1.exit" 2>/dev/null || echo "still running"
}
