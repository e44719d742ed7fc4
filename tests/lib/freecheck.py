#!/usr/bin/env python3
"""Checks that the free blocks of an ext filesystem inside a captured raw image
read as zeros, using dumpe2fs's free-block list of the source filesystem.

usage: freecheck.py [--used-same] SOURCE-IMG SOURCE-OFFSET CAPTURED-RAW CAPTURED-OFFSET

Exits 0 when every free block of the copy is zero and the source had stale
(non-zero) data in at least one of them, so the check cannot pass vacuously.
With --used-same, every block that is not free must also be byte-identical
in the copy (for a filesystem the capture did not edit), but for those that
hold nothing the filesystem reads, which may read as zeros instead: inode
table blocks none of whose inodes dumpe2fs lists as in use, and the journal
inode's blocks after its first (its superblock) when the journal is empty.
"""
import re
import subprocess
import sys


def free_ranges(dev):
    out = subprocess.run(["dumpe2fs", dev], check=True, capture_output=True,
                         text=True).stdout
    bs = int(re.search(r"^Block size:\s+(\d+)", out, re.M).group(1))
    ranges = []
    for line in re.findall(r"^\s+Free blocks: (.*)$", out, re.M):
        for item in filter(None, (s.strip() for s in line.split(","))):
            a, _, b = item.partition("-")
            ranges.append((int(a), int(b or a)))
    return bs, ranges


def unread_blocks(dev):
    """Blocks in use that hold nothing read, by dumpe2fs and debugfs."""
    out = subprocess.run(["dumpe2fs", dev], check=True, capture_output=True,
                         text=True).stdout
    head = dict(re.findall(r"^([A-Za-z ]+):\s+(.*)$", out, re.M))
    bs, isz = int(head["Block size"]), int(head.get("Inode size", "128"))
    ipg = int(head["Inodes per group"])
    ipb = bs // isz
    blocks = set()
    parts = re.split(r"^Group (\d+):", out, flags=re.M)
    for num, g in zip(map(int, parts[1::2]), parts[2::2]):
        table = re.search(r"Inode table at (\d+)-(\d+)", g)
        free = re.search(r"^\s+Free inodes: (.*)$", g, re.M)
        if not table:
            continue
        free_set = set()
        for item in filter(None, (x.strip() for x in (free.group(1) if free else "").split(","))):
            a, _, b = item.partition("-")
            free_set.update(range(int(a), int(b or a) + 1))
        first = int(table.group(1))
        for k in range(int(table.group(2)) - first + 1):
            inodes = range(num * ipg + k * ipb + 1, num * ipg + (k + 1) * ipb + 1)
            if all(i in free_set for i in inodes):
                blocks.add(first + k)
    if head.get("Journal start", "").strip() == "0":
        jb = subprocess.run(["debugfs", "-R", "blocks <8>", dev], capture_output=True,
                            text=True).stdout.split()
        blocks.update(int(b) for b in jb[1:])
    return blocks


def used_differs(src, soff, out, ooff, bs, ranges):
    """Whether a block outside the free ranges differs in the copy (other
    than one that holds nothing read, and is zero there)."""
    free = set()
    for a, b in ranges:
        free.update(range(a, b + 1))
    unread = unread_blocks(f"{src}?offset={soff}")
    used = differ = 0
    with open(src, "rb") as fs, open(out, "rb") as fo:
        fs.seek(0, 2)
        blocks = (fs.tell() - soff) // bs
        for blk in range(blocks):
            if blk in free:
                continue
            used += 1
            fs.seek(soff + blk * bs)
            fo.seek(ooff + blk * bs)
            a, b = fs.read(bs), fo.read(bs)
            if blk in unread and b.count(0) == len(b):
                continue
            if a != b.ljust(bs, b"\0"):
                differ += 1
                if differ <= 3:
                    print(f"used block {blk} differs in the copy")
    print(f"{used} used blocks; differing in the copy: {differ}")
    return differ > 0 or used == 0


def main():
    args = sys.argv[1:]
    used_same = args[0] == "--used-same"
    if used_same:
        args = args[1:]
    src, soff, out, ooff = args[0], int(args[1]), args[2], int(args[3])
    bs, ranges = free_ranges(f"{src}?offset={soff}")
    if used_same and used_differs(src, soff, out, ooff, bs, ranges):
        return 1
    nfree = dirty_src = dirty_out = 0
    with open(src, "rb") as fs, open(out, "rb") as fo:
        for a, b in ranges:
            for blk in range(a, b + 1):
                nfree += 1
                fs.seek(soff + blk * bs)
                fo.seek(ooff + blk * bs)
                if fs.read(bs).count(0) != bs:
                    dirty_src += 1
                data = fo.read(bs)
                if len(data) == bs and data.count(0) != bs:
                    dirty_out += 1
                    if dirty_out <= 3:
                        print(f"free block {blk} is not zero in the copy")
    print(f"{nfree} free blocks; stale in source: {dirty_src}; non-zero in copy: {dirty_out}")
    if nfree == 0 or dirty_src == 0:
        print("the source has no stale free blocks: the check would prove nothing")
        return 1
    return 1 if dirty_out else 0


if __name__ == "__main__":
    sys.exit(main())
