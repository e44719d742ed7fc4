#!/bin/sh
# Install what Ferry's build and tests need from Debian 12, only what is missing.
# Usage: support/deps.sh [build|check|fuzz|bench|s3|boot|rescue|all]   (idempotent; apt-get only)
set -eu

build="gcc make pkg-config kconfig-frontends-nox libparted-dev libext2fs-dev
comerr-dev uuid-dev libblkid-dev libarchive-dev libmbedtls-dev libacl1-dev
libxml2-dev liblzma-dev libzstd-dev libbz2-dev liblz4-dev zlib1g-dev libdeflate-dev
nettle-dev libssl-dev libicu-dev libnewt-dev grub-common grub-pc-bin"
check="$build perl python3 file binutils qemu-utils fdisk e2fsprogs coreutils util-linux kmod
cpio libarchive-tools gzip xz-utils zstd lz4 bzip2 initramfs-tools-core openssl iproute2
python3-jsonschema mtools gdisk dosfstools shellcheck lvm2 xfsprogs partclone time tmux"
# tests/fuzz: clang builds the library and the libFuzzer targets (its
# runtime comes with Debian's clang); the seeds are made with check's tools.
fuzz="$check clang"
bench="$check partclone time s3cmd"
# tests/s3: a throwaway Ceph radosgw on loopback, read back with boto3.
s3="$check radosgw ceph-mon ceph-osd ceph-common python3-boto3 curl ca-certificates"
# tests/boot: Debian trees made with mmdebstrap, booted under qemu.
boot="$check mmdebstrap debian-archive-keyring qemu-system-x86"
# The rescue images (board/): apt-get download of the kernel and busybox,
# GRUB for BIOS and UEFI, xorriso; and their boot tests (OVMF, iPXE).
rescue="apt dpkg binutils file kmod cpio zstd grub-common grub-pc-bin
grub-efi-amd64-bin xorriso mtools qemu-system-x86 ovmf ipxe-qemu python3"

case "${1:-check}" in
build) want=$build ;;
check) want=$check ;;
fuzz) want=$fuzz ;;
bench) want=$bench ;;
boot) want=$boot ;;
rescue) want=$rescue ;;
s3) want=$s3 ;;
all) want="$bench $fuzz $s3 $boot $rescue" ;;
*) echo "usage: $0 [build|check|fuzz|bench|s3|boot|rescue|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "ferry: missing packages:$missing (run support/deps.sh as root)" >&2
	exit 1
fi
echo "ferry: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
