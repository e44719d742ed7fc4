#!/bin/bash
# The build: defconfigs are minimal (what savedefconfig writes), a static
# configuration gives a static binary, and --version names the libraries.
. "$(dirname "$0")/../lib/tap.sh"

plan 5

top=$(cd "$TESTS_DIR/.." && pwd)
for name in x86_64 asan; do
	o=$T_DIR/o-$name
	make -s -C "$top" O="$o" "${name}_defconfig" >/dev/null
	make -s -C "$top" O="$o" savedefconfig DEFCONFIG="$o/saved" >/dev/null
	check "configs/${name}_defconfig is what savedefconfig writes" \
		diff -u "$top/configs/${name}_defconfig" "$o/saved"
done

check_match "--version names libparted, libext2fs, libarchive and mbedtls" \
	"^libparted [0-9.]+, libext2fs [0-9.]+, libarchive [0-9.]+, mbedtls [0-9.]+$" \
	"$("$FERRY" --version)"
if grep -q '^CONFIG_FERRY_STATIC=y' "${FERRY_CONFIG:-/dev/null}"; then
	check_eq "a static configuration gives a binary without shared libraries" "" \
		"$(readelf -d "$FERRY" | grep NEEDED)"
	check_match "file(1) agrees" "statically linked" "$(file -L "$FERRY")"
else
	check_match "this build is dynamic" "NEEDED" "$(readelf -d "$FERRY")"
	check_eq "this build's configuration says so" "" \
		"$(grep '^CONFIG_FERRY_STATIC=y' "${FERRY_CONFIG:-/dev/null}")"
fi
done_testing
