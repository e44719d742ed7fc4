#!/bin/bash
# make check-lint: shellcheck on every shell script of the project, none of
# the functions STYLE.md bans (sprintf, strcpy, strcat, gets) called in src/,
# tests/unit or tests/fuzz, and docs/cmdline.md's key table naming exactly the keys
# `ferry run --keys` prints. Exits 1 when any of the three finds something.
# usage: FERRY=output/bin/ferry support/lint.sh [TOPDIR]   (default: this tree)
# LINT_ONLY="banned keys" runs only those of shellcheck, banned, keys.
set -eu -o pipefail

: "${FERRY:?FERRY must name the ferry binary whose keys docs/cmdline.md documents}"
top=$(cd "${1:-$(dirname "$0")/..}" && pwd)
failed=0

# lint_scripts: the project's shell scripts, relative to $top: *.sh, *.t and
# files with a sh or bash #! line. tests/samples holds guests' files, and
# tests/fuzz's corpus and crashes the fuzzer's inputs, not ours.
lint_scripts() {
	local f
	(cd "$top" && find .ci board support initramfs tests -path tests/samples -prune -o \
		-path tests/fuzz/corpus -prune -o -path tests/fuzz/crashes -prune -o \
		-name __pycache__ -prune -o -type f -print 2>/dev/null) | LC_ALL=C sort |
		while read -r f; do
			case $f in
			*.sh | *.t) echo "$f" ;;
			*) if head -n 1 "$top/$f" | grep -qE '^#!(/usr)?/bin/(env )?(ba|da)?sh( |$)'; then
				echo "$f"
			fi ;;
			esac
		done
}

# lint_shellcheck: every script at shellcheck's default severity, with the
# tree's .shellcheckrc.
lint_shellcheck() {
	local scripts out
	mapfile -t scripts < <(lint_scripts)
	if [ "${#scripts[@]}" = 0 ]; then
		echo "lint: shellcheck: no shell script found under $top"
		return 1
	fi
	# In batches on every core: following the sourced libraries is most of it.
	if out=$(cd "$top" && printf '%s\0' "${scripts[@]}" |
		xargs -0 -n 8 -P "$(nproc)" shellcheck 2>&1); then
		echo "lint: shellcheck: ${#scripts[@]} scripts clean"
	else
		printf '%s\n' "$out"
		echo "lint: shellcheck: problems above (fix them, or add a '# shellcheck disable=SCNNNN # why' line)"
		return 1
	fi
}

# lint_banned: calls of the functions STYLE.md bans, as calls (snprintf,
# fgets and my_strcat are other names). A comment that spells one with its
# parenthesis counts too: write the name alone.
lint_banned() {
	local hits rc=0
	hits=$(cd "$top" && grep -rnE --include='*.c' --include='*.h' \
		'(^|[^[:alnum:]_])(sprintf|strcpy|strcat|gets)[[:space:]]*\(' src tests/unit tests/fuzz) ||
		rc=$?
	if [ "$rc" -gt 1 ]; then
		echo "lint: banned functions: grep failed in $top (exit $rc)"
		return 1
	fi
	if [ -z "$hits" ]; then
		echo "lint: banned functions: none in src/, tests/unit/ and tests/fuzz/"
	else
		printf '%s\n' "$hits"
		echo "lint: banned functions: sprintf, strcpy, strcat and gets are not used (STYLE.md): snprintf, a strbuf"
		return 1
	fi
}

# doc_keys FILE: the ferry.* names in the first column of the table under
# "## Keys" (a row may name several).
doc_keys() {
	awk '/^## / { in_keys = ($0 == "## Keys") ; next }
	in_keys && /^\|/ {
		split($0, cell, "|")
		s = cell[2]
		while (match(s, /`ferry\.[a-z0-9_]+`/)) {
			print substr(s, RSTART + 1, RLENGTH - 2)
			s = substr(s, RSTART + RLENGTH)
		}
	}' "$1" | LC_ALL=C sort -u
}

# lint_keys: docs/cmdline.md documents exactly the keys ferry run accepts.
lint_keys() {
	local doc=$top/docs/cmdline.md code docd extra missing
	code=$("$FERRY" run --keys | LC_ALL=C sort -u) || {
		echo "lint: keys: $FERRY run --keys failed"
		return 1
	}
	[ -n "$code" ] || { echo "lint: keys: $FERRY run --keys printed nothing"; return 1; }
	docd=$(doc_keys "$doc")
	missing=$(LC_ALL=C comm -23 <(printf '%s\n' "$code") <(printf '%s\n' "$docd"))
	extra=$(LC_ALL=C comm -13 <(printf '%s\n' "$code") <(printf '%s\n' "$docd"))
	if [ -z "$missing" ] && [ -z "$extra" ]; then
		echo "lint: keys: docs/cmdline.md documents the $(wc -l <<<"$code") keys of ferry run --keys"
		return 0
	fi
	[ -z "$missing" ] || echo "lint: keys: ferry run accepts, docs/cmdline.md's key table lacks: $(tr '\n' ' ' <<<"$missing")"
	[ -z "$extra" ] || echo "lint: keys: docs/cmdline.md's key table has, ferry run does not accept: $(tr '\n' ' ' <<<"$extra")"
	return 1
}

for check in ${LINT_ONLY:-shellcheck banned keys}; do
	case $check in
	shellcheck) lint_shellcheck || failed=1 ;;
	banned) lint_banned || failed=1 ;;
	keys) lint_keys || failed=1 ;;
	*) echo "lint: unknown check '$check' in LINT_ONLY" >&2; exit 2 ;;
	esac
done
exit "$failed"
