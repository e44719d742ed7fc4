#!/bin/bash
# support/lint.sh (make check-lint) passes on this tree and fails, naming
# what it found, on copies of it with one fault planted each: a sprintf call
# in src/, a strcpy in tests/unit, a key removed from docs/cmdline.md's key
# table, a key added to it that ferry run does not accept, and a shell script
# with an unquoted variable. The copies are in the test's scratch directory.
# shellcheck disable=SC2016 # Markdown's backquotes and the planted $1 are text
. "$(dirname "$0")/../lib/tap.sh"

if ! command -v shellcheck >/dev/null; then
	echo "1..0 # SKIP needs shellcheck (support/deps.sh check)"
	exit 0
fi
top=$(cd "$TESTS_DIR/.." && pwd)
lint=$top/support/lint.sh
plan 12

# lint_run DIR [CHECK...]: the lint's exit status and output in RC and OUT;
# only the CHECKs named (LINT_ONLY), every check without.
lint_run() {
	local dir=$1
	shift
	RC=0
	OUT=$(LINT_ONLY="$*" "$lint" "$dir" 2>&1) || RC=$?
}

lint_run "$top"
if [ "$RC" = 0 ]; then
	ok "the tree passes (exit 0)"
else
	not_ok "the tree passes (exit 0)" "exit $RC; the last lines:" "$(tail -n 20 <<<"$OUT")"
fi
nkeys=$("$FERRY" run --keys | wc -l)
check_match "... and says what it checked" \
	"shellcheck: [0-9]+ scripts clean.*banned functions: none.*documents the $nkeys keys" \
	"$(tr '\n' ' ' <<<"$OUT")"

# copy NAME [PATH...]: a copy of what the lint reads (or of these PATHs of
# the tree), in $T_DIR/NAME.
copy() {
	local d=$T_DIR/$1
	shift
	[ $# != 0 ] || set -- .shellcheckrc .ci board support initramfs tests src docs
	mkdir -p "$d"
	(cd "$top" && cp -a "$@" "$d/")
	echo "$d"
}

# A sprintf in src/: the file and line are named.
d=$(copy sprintf)
f=$(cd "$d" && grep -rl 'snprintf(' src --include='*.c' | LC_ALL=C sort | head -n 1)
printf '%s\n' 'void lint_planted(char *b);' 'void lint_planted(char *b) { sprintf(b, "%d", 1); }' >>"$d/$f"
line=$(wc -l <"$d/$f")
lint_run "$d" banned
check_eq "a planted sprintf( in $f fails the lint (exit 1)" 1 "$RC"
check_match "... naming $f:$line" "^$f:$line:.*sprintf\\(b" "$OUT"

# strcpy in a unit test; snprintf, fgets and a name that ends in strcat are
# not calls of banned functions.
d=$(copy strcpy)
printf '%s\n' 'static void lint_planted(char *b) { strcpy (b, "x"); }' >>"$d/tests/unit/sha256.c"
printf '%s\n' 'static void lint_ok(char *b, FILE *f) { snprintf(b, 2, "x"); fgets(b, 2, f); my_strcat(b); }' \
	>>"$d/tests/unit/mbr.c"
lint_run "$d" banned
check_eq "a planted strcpy ( in tests/unit fails the lint (exit 1)" 1 "$RC"
check_eq "... naming that line only (snprintf, fgets, my_strcat are not banned calls)" \
	"tests/unit/sha256.c" "$(grep -oE '^tests/unit/[a-z0-9_]+\.c' <<<"$OUT" | sort -u | tr '\n' ' ' | sed 's/ $//')"

# A key missing from the doc's table.
d=$(copy nokey)
grep -q '^| `ferry.region` |' "$d/docs/cmdline.md"
sed -i '/^| `ferry.region` |/d' "$d/docs/cmdline.md"
lint_run "$d" keys
check_eq "docs/cmdline.md without the ferry.region row fails the lint (exit 1)" 1 "$RC"
check_match "... naming ferry.region as undocumented" "table lacks: ferry\\.region *$" "$OUT"

# A documented key the code does not accept (a row naming two keys).
d=$(copy extrakey)
sed -i 's/^| `ferry.rate` |/| `ferry.rate`, `ferry.burst` |/' "$d/docs/cmdline.md"
lint_run "$d" keys
check_eq "docs/cmdline.md with a ferry.burst key ferry run does not accept fails the lint (exit 1)" 1 "$RC"
check_match "... naming ferry.burst" "does not accept: ferry\\.burst *$" "$OUT"

# A script with an unquoted variable, in a tree of the board scripts only
# (shellcheck on every script of the tree has run above).
d=$(copy shellcheck .shellcheckrc board support)
printf '%s\n' '#!/bin/sh' '# planted' 'rm -f $1' >"$d/board/planted-hook"
lint_run "$d" shellcheck
check_eq "a planted script with an unquoted \$1 fails the lint (exit 1)" 1 "$RC"
check_match "... shellcheck names it (SC2086)" "board/planted-hook.*SC2086" "$(tr '\n' ' ' <<<"$OUT")"
done_testing
