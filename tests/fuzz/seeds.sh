#!/bin/bash
# The fuzz targets' binary seeds, made with the tools that make the real
# thing (sfdisk, cpio and the compressors, clang, mke2fs and debugfs), and
# the journal target's template image: an ext4 filesystem that needs
# recovery. The text seeds are in tests/fuzz/corpus.
# usage: tests/fuzz/seeds.sh OUT   (OUT/seeds/TARGET/*, then OUT/journal.img)
set -eu -o pipefail

out=$1
seeds=$out/seeds
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# seeds_disk: small MBR disks (primaries, an extended partition with a
# chain of logical ones) and a GPT disk, as sfdisk writes them.
seeds_disk() {
	local d=$seeds/disk
	truncate -s 64K "$d/mbr-logical.img"
	sfdisk -q --no-reread --no-tell-kernel "$d/mbr-logical.img" >/dev/null <<-'END'
		label: dos
		label-id: 0x46455252
		start=2, size=14, type=83, bootable
		start=16, size=100, type=5
		start=18, size=30, type=82
		start=50, size=60, type=83
	END
	truncate -s 16K "$d/mbr-primary.img"
	sfdisk -q --no-reread --no-tell-kernel "$d/mbr-primary.img" >/dev/null <<-'END'
		label: dos
		label-id: 0x46455253
		start=1, size=8, type=83
		start=9, size=8, type=8e
		start=17, size=8, type=82
		start=25, size=7, type=c
	END
	truncate -s 48K "$d/gpt.img"
	sfdisk -q --no-reread --no-tell-kernel "$d/gpt.img" >/dev/null <<-'END'
		label: gpt
		label-id: 4665F272-7900-4D2E-8A5B-000000000001
		first-lba: 34
		start=34, size=8, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=4665F272-7900-4D2E-8A5B-000000000002, name="EFI"
		start=42, size=16, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=4665F272-7900-4D2E-8A5B-000000000003, name="root"
	END
}

# seeds_initrd: one small tree as plain cpio, compressed every way the
# kernel reads, behind an early uncompressed archive (microcode), and
# with a segment appended.
seeds_initrd() {
	local d=$seeds/initrd r=$tmp/initrd
	mkdir -p "$r/main/usr/lib/modules/6.1.0-13-amd64" "$r/main/etc" "$r/main/bin" \
		"$r/early/kernel/x86/microcode"
	printf '#!/bin/sh\nexec /sbin/init\n' >"$r/main/init"
	chmod 755 "$r/main/init"
	printf 'virtio_blk\nvirtio_net\n' >"$r/main/etc/modules"
	ln -s usr/lib "$r/main/lib"
	ln "$r/main/etc/modules" "$r/main/etc/modules.hardlink"
	printf 'microcode' >"$r/early/kernel/x86/microcode/GenuineIntel.bin"
	(cd "$r/main" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) \
		>"$r/main.cpio"
	(cd "$r/early" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) \
		>"$r/early.cpio"
	cp "$r/main.cpio" "$d/plain.cpio"
	gzip -n -9 -c "$r/main.cpio" >"$d/main.gz"
	xz --check=crc32 -c "$r/main.cpio" >"$d/main.xz"
	zstd -q -c "$r/main.cpio" >"$d/main.zst"
	lz4 -q -l -c "$r/main.cpio" >"$d/main.lz4"
	bzip2 -c "$r/main.cpio" >"$d/main.bz2"
	cat "$r/early.cpio" "$d/main.gz" >"$d/early-gz"
	{ cat "$d/main.zst"; head -c 512 /dev/zero; cat "$r/early.cpio"; } >"$d/zst-appended"
}

# seeds_kmod: modules with a .modinfo section, 64- and 32-bit ELF, as the
# kernel's build leaves it (clang -c of the section alone).
seeds_kmod() {
	local d=$seeds/kmod
	cat >"$tmp/mod.c" <<-'END'
		static const char modinfo[] __attribute__((section(".modinfo"), used, aligned(1))) =
			"alias=virtio:d00000002v*\0depends=virtio,virtio_ring\0"
			"softdep=pre: crc32c\0license=GPL\0name=virtio_blk\0"
			"vermagic=6.1.0-13-amd64 SMP preempt mod_unload modversions ";
	END
	clang -c -O0 -o "$d/virtio_blk.ko" "$tmp/mod.c"
	clang -m32 -c -O0 -o "$d/virtio_blk-32.ko" "$tmp/mod.c"
}

# seeds_journal: journals written by debugfs on copies of one small ext4
# filesystem: a transaction, one with checksums (v3), one with a revoke.
# Each seed is the first 8 KiB of its journal; the template is the first
# one's whole image.
seeds_journal() {
	local d=$seeds/journal base=$tmp/base.img b1 b2
	mke2fs -q -F -t ext4 -b 1024 -N 64 -J size=1 -U 4665f272-7900-4d2e-8a5b-000000000010 \
		-E hash_seed=4665f272-7900-4d2e-8a5b-000000000011 "$base" 8M >/dev/null
	yes ferry | head -c 8192 >"$tmp/f" || true
	debugfs -w -R "write $tmp/f f" "$base" >/dev/null 2>&1
	read -r b1 b2 _ < <(debugfs -R 'blocks /f' "$base" 2>/dev/null)
	yes fuzz | head -c 2048 >"$tmp/new" || true
	journal_seed plain "jo" "jw -b $b1,$b2 $tmp/new"
	journal_seed csum "jo -c" "jw -b $b1,$b2 $tmp/new"
	journal_seed revoke "jo" "jw -b $b1,$b2 $tmp/new" "jw -r $b1"
	cp "$tmp/plain.img" "$tmp/journal.img"
}

# journal_seed NAME COMMAND...: debugfs's journal commands on a copy of the
# base image, then jc; the journal's first blocks as seeds/journal/NAME.
journal_seed() {
	local name=$1 img=$tmp/$1.img
	shift
	cp "$tmp/base.img" "$img"
	printf '%s\n' "$@" jc >"$tmp/$name.cmd"
	debugfs -w -f "$tmp/$name.cmd" "$img" >/dev/null 2>&1
	debugfs -R "dump <8> $tmp/$name.journal" "$img" >/dev/null 2>&1
	head -c 8192 "$tmp/$name.journal" >"$seeds/journal/$name"
}

# seeds_fat: FAT12, FAT16 and FAT32 made by mkfs.vfat; an ESP's files and
# long names copied in by mtools, but on the FAT32 (1 MiB, fewer clusters
# than mtools takes for FAT32; Linux and fsck.fat go by the boot sector).
seeds_fat() {
	local bits size opts
	mkdir -p "$tmp/esp/EFI/debian" "$tmp/esp/EFI/BOOT"
	printf 'linux /vmlinuz root=/dev/sda2 ro\n' >"$tmp/esp/EFI/debian/grub.cfg"
	printf 'MZ boot loader\n' >"$tmp/esp/EFI/BOOT/BOOTX64.EFI"
	printf 'long\n' >"$tmp/esp/EFI/a long name.txt"
	for spec in 12:256:"-F 12" 16:2200:"-F 16 -s 1" 32:1024:"-F 32 -s 1"; do
		bits=${spec%%:*}
		size=${spec#*:}
		opts=${size#*:}
		size=${size%%:*}
		# shellcheck disable=SC2086 # the options are words
		mkfs.vfat -C $opts -i 5EED1E55 -n ESP "$tmp/fat$bits.img" "$size" >/dev/null 2>&1
		[ "$bits" = 32 ] || MTOOLS_SKIP_CHECK=1 mcopy -s -i "$tmp/fat$bits.img" "$tmp/esp/EFI" ::/
		# the target reads an input as the start of a 4 MiB disk of zeros
		cp --sparse=always "$tmp/fat$bits.img" "$seeds/fat/fat$bits.img"
		truncate -s 512K "$seeds/fat/fat$bits.img"
	done
}

rm -rf "$seeds"
mkdir -p "$seeds/disk" "$seeds/initrd" "$seeds/kmod" "$seeds/journal" "$seeds/fat"
seeds_disk
seeds_fat
seeds_initrd
seeds_kmod
seeds_journal
mv "$tmp/journal.img" "$out/journal.img"
