# shellcheck shell=bash
# TAP helpers for Ferry's shell tests. Source it from a bash test:
#   . "$(dirname "$0")/../lib/tap.sh"
# FERRY names the binary under test; FERRY_TMP (optional) where scratch
# files go. Each test gets its own directory, removed when it exits.
set -eu -o pipefail

: "${FERRY:?FERRY must name the ferry binary under test}"
# shellcheck disable=SC2034 # for the tests that source this file
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_NUM=0
T_FAILED=0

mkdir -p "${FERRY_TMP:-/tmp}"
T_DIR=$(mktemp -d "${FERRY_TMP:-/tmp}/ferry-$(basename "$0" .t).XXXXXX")
# shellcheck source=cleanup.sh
. "$TESTS_DIR/lib/cleanup.sh"
t_cleanup() {
	eval "$T_ON_EXIT" >/dev/null 2>&1 || :
	if [ "$T_FAILED" = 0 ] || [ -z "${FERRY_KEEP:-}" ]; then
		rm -rf "$T_DIR"
	else
		echo "# kept $T_DIR" >&2
	fi
}
trap t_cleanup EXIT

plan() { echo "1..$1"; }

ok() {
	T_NUM=$((T_NUM + 1))
	echo "ok $T_NUM - $1"
}

# not_ok DESCRIPTION [DIAGNOSTIC LINE...]
not_ok() {
	T_NUM=$((T_NUM + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_NUM - $1"
	shift
	local line
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
}

# check DESCRIPTION COMMAND...: passes when COMMAND exits 0.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc" "command failed (exit $?): $*" "$out"
	fi
}

# check_eq DESCRIPTION EXPECTED GOT
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected: $2" "got:      $3"
	fi
}

# check_match DESCRIPTION EXTENDED-REGEX TEXT
check_match() {
	if grep -Eq -- "$2" <<<"$3"; then
		ok "$1"
	else
		not_ok "$1" "expected to match: $2" "got: $3"
	fi
}

# check_fails DESCRIPTION EXPECTED-EXIT STDERR-REGEX COMMAND...: the command
# must exit with EXPECTED-EXIT and print one line on stderr matching REGEX.
check_fails() {
	local desc=$1 want=$2 re=$3 rc=0 err
	shift 3
	err=$("$@" 2>&1 >/dev/null) || rc=$?
	if [ "$rc" != "$want" ]; then
		not_ok "$desc" "expected exit $want, got $rc: $*" "$err"
	elif ! grep -Eq -- "$re" <<<"$err"; then
		not_ok "$desc" "stderr does not match: $re" "$err"
	else
		ok "$desc"
	fi
}

# sha FILE: its SHA-256. OpenSSL's, which uses the CPU's SHA extensions:
# four times coreutils' sha256sum on the boot tests' disks of 3 and 4 GiB,
# hashed before and after every capture.
sha() { openssl dgst -sha256 -r "$1" | cut -d' ' -f1; }
# sha_extents FILE: a SHA-256 of a sparse file's content that does not
# read its holes: its size, then each 4 KiB block that is not all zeros
# with its offset (a disk of hundreds of GiB hashes in a moment). Any
# change of content changes it. (Where the data is, by SEEK_DATA, is not
# hashed: an unwritten extent counts as data once it has been read into
# the page cache, so reading a file would change it.)
sha_extents() {
	/usr/bin/python3 -c 'import hashlib, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); size = os.fstat(fd).st_size; h = hashlib.sha256(b"%d;" % size); off = 0
zero = bytes(4096)
while off < size:
    try:
        off = os.lseek(fd, off, os.SEEK_DATA) // 4096 * 4096
    except OSError:
        break
    end = os.lseek(fd, off, os.SEEK_HOLE)
    while off < end:
        b = os.pread(fd, min(end - off, 1 << 22), off)
        for i in range(0, len(b), 4096):
            if b[i:i + 4096] != zero[:len(b) - i if len(b) - i < 4096 else 4096]:
                h.update(b"%d:" % (off + i)); h.update(b[i:i + 4096])
        off += len(b)
print(h.hexdigest())' "$1"
}

done_testing() {
	[ "$T_FAILED" = 0 ]
}
