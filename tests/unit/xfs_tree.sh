#!/bin/bash
# Builds the tree of the XFS file reader's unit test in DIR: directories in
# each of XFS's four forms, links (relative, absolute, chained, through a
# directory link, remote, the longest XFS takes, loops), and, on a mounted
# XFS, a sparse file of thousands of extents (a B+tree data fork), one with
# unwritten extents, a hard link and owners. Then EXPECT gets what the kernel
# reads back (file copies, listings, link targets) for the test to compare.
# Usage: xfs_tree.sh DIR EXPECT [mounted]
#        xfs_tree.sh --proto DIR   (mkfs.xfs's prototype file of DIR, on stdout)
set -eu -o pipefail
if [ "$1" = --proto ]; then
	python3 - "$2" <<'EOF'
import os, stat, sys
def walk(path, depth):
    for name in sorted(os.listdir(path)):
        p = os.path.join(path, name)
        st = os.lstat(p)
        mode = "%03o" % (st.st_mode & 0o777)
        pad = " " * depth
        if stat.S_ISLNK(st.st_mode):
            print("%s%s l--%s 0 0 %s" % (pad, name, mode, os.readlink(p)))
        elif stat.S_ISDIR(st.st_mode):
            print("%s%s d--%s 0 0" % (pad, name, mode))
            walk(p, depth + 1)
            print("%s$" % pad)
        else:
            print("%s%s ---%s 0 0 %s" % (pad, name, mode, p))
print("/dev/null\n0 0\nd--755 0 0")
walk(sys.argv[1], 1)
print("$")
EOF
	exit 0
fi
d=$1 want=$2 mounted=${3:-}
mkdir -p "$d/etc" "$d/sf" "$d/block" "$d/leaf" "$d/node" "$d/usr/lib/mods" "$d/deep/a/b/c" \
	"$want"

printf 'UUID=0b7c6c8e-4b44-4a5e-9c2a-1f7c0c7d0b02 / xfs defaults 0 0\n' >"$d/etc/fstab"
printf 'NAME="Rocky Linux"\nID="rocky"\nVERSION_ID="9.3"\n' >"$d/etc/os-release"
printf 'module\n' >"$d/usr/lib/mods/virtio_blk.ko"
printf 'deep\n' >"$d/deep/a/b/c/file"
# Three entries fit in the inode (shortform); twenty with long names make
# one directory block; three hundred a leaf directory (data blocks and one
# hash block); five thousand a node directory (a hash B+tree).
for i in 1 2 3; do printf 'sf %s\n' "$i" >"$d/sf/f$i"; done
for i in $(seq -w 1 20); do printf 'block %s\n' "$i" >"$d/block/block-entry-number-$i"; done
for i in $(seq -w 1 300); do : >"$d/leaf/a-moderately-long-file-name-$i"; done
for i in $(seq -w 1 5000); do : >"$d/node/a-moderately-long-file-name-number-$i"; done
mkdir "$d/block/subdir"

ln -s /etc/fstab "$d/etc/abs"
ln -s ../etc/fstab "$d/etc/rel"
ln -s /etc/link2 "$d/link1"
ln -s ../etc/link3 "$d/etc/link2"
ln -s rel "$d/etc/link3"
ln -s usr/lib "$d/lib"
ln -s /deep/a/b/c/../../../../../../etc/fstab "$d/up"
ln -s loop2 "$d/loop1"
ln -s loop1 "$d/loop2"
ln -s self "$d/self"
# Too long for the inode: the target lives in a block (with a header on v5).
long=/etc$(printf '/.%.0s' $(seq 300))/fstab
ln -s "$long" "$d/etc/long"
# 1023 bytes, the longest XFS makes.
longest=/etc$(printf '/.%.0s' $(seq 506))//fstab
ln -s "$longest" "$d/etc/longest"

if [ -n "$mounted" ]; then
	# Every other 4 KiB of 64 MiB written: 8192 extents, a B+tree.
	python3 - "$d/big" <<'EOF'
import os, random, sys
random.seed(16)
with open(sys.argv[1], "wb") as f:
    for i in range(0, 64 << 20, 8192):
        f.seek(i)
        f.write(random.randbytes(4096))
    f.truncate(64 << 20)
EOF
	# Preallocated (unwritten) around 4 KiB of data: zeros around "aaaa".
	xfs_io -f -c 'falloc 0 1m' -c 'pwrite -q -S 0x61 256k 4k' "$d/prealloc"
	ln "$d/etc/fstab" "$d/etc/fstab.hard"
	chown 12:34 "$d/etc/os-release"
	chmod 0640 "$d/etc/os-release"
	cp "$d/big" "$want/big"
	cp "$d/prealloc" "$want/prealloc"
	sync -f "$d"
fi
for f in sf block leaf node; do
	find "$d/$f" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort >"$want/$f.list"
done
readlink "$d/etc/long" >"$want/long.target"
readlink "$d/etc/longest" >"$want/longest.target"
