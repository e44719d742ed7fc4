#!/usr/bin/env python3
"""XFS facts from xfs_db, for checking what Ferry reads and copies.

usage:
  xfscheck.py used DEV
      bytes not free: (dblocks - freesp's free blocks + AGFL blocks) x block
      size (freesp counts the AGFL's blocks as free; Ferry copies them), then
      the terms on a second line
  xfscheck.py geometry DEV
      "AGCOUNT AGBLOCKS LAST-AG-BLOCKS BNOBT-LEVELS BLOCKSIZE SECTSIZE" (the
      tallest bnobt of all AGs)
  xfscheck.py compare DEV SOURCE SOURCE-OFFSET COPY COPY-OFFSET
      every block xfs_db's freesp -d does not list as free (and every AGFL
      block) is byte-identical in SOURCE and COPY; every other free block is
      zero in COPY, and the source has stale data in some, so that the check
      proves blocks were skipped
  xfscheck.py set-incompat IMG OFFSET BIT
      sets bit BIT of sb_features_incompat of the v5 superblock at OFFSET of
      IMG and recomputes the superblock's CRC
  xfscheck.py set-features2 IMG OFFSET BIT
      sets bit BIT of sb_features2 (and sb_bad_features2) of the v4
      superblock at OFFSET, and its MOREBITS bit

DEV is a device xfs_db can read: a read-only loop device over the partition.
"""
import re
import struct
import subprocess
import sys


def db(dev, *cmds):
    args = ["xfs_db", "-r"]
    for c in cmds:
        args += ["-c", c]
    return subprocess.run(args + [dev], check=True, capture_output=True, text=True).stdout


def fields(text):
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\w+) = (.*)$", text, re.M)}


def sb(dev):
    f = fields(db(dev, "sb 0", "p"))
    return {k: int(f[k], 0) for k in ("dblocks", "blocksize", "agcount", "agblocks", "sectsize")}


def agf(dev, agno):
    f = fields(db(dev, f"agf {agno}", "p"))
    return {k: int(f[k], 0) for k in ("length", "flfirst", "fllast", "flcount", "bnolevel")}


def agfl_blocks(dev, agno, a):
    """The AGFL's live entries (flfirst to fllast, going round)."""
    if a["flcount"] == 0:
        return []
    text = db(dev, f"agfl {agno}", "p bno")
    slots = {int(i): v for i, v in re.findall(r"(\d+):(\w+)", text)}
    out, i = [], a["flfirst"]
    for _ in range(a["flcount"]):
        out.append(int(slots[i]))
        i = (i + 1) % len(slots)
    return out


def used(dev):
    s = sb(dev)
    total = int(re.search(r"total free blocks (\d+)", db(dev, "freesp -s")).group(1))
    agfl = sum(agf(dev, a)["flcount"] for a in range(s["agcount"]))
    print((s["dblocks"] - total + agfl) * s["blocksize"])
    print(f"dblocks {s['dblocks']} - freesp's free blocks {total} + AGFL blocks {agfl}, "
          f"x {s['blocksize']} bytes")


def geometry(dev):
    s = sb(dev)
    last = agf(dev, s["agcount"] - 1)["length"]
    levels = max(agf(dev, a)["bnolevel"] for a in range(s["agcount"]))
    print(s["agcount"], s["agblocks"], last, levels, s["blocksize"], s["sectsize"])


def compare(dev, src, soff, out, ooff):
    s = sb(dev)
    bs, agb = s["blocksize"], s["agblocks"]
    free = bytearray(s["dblocks"])  # 1: listed free, 2: an AGFL block
    for agno, agbno, length in re.findall(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s*$",
                                          db(dev, "freesp -d"), re.M):
        start = int(agno) * agb + int(agbno)
        free[start:start + int(length)] = b"\1" * int(length)
    for agno in range(s["agcount"]):
        for b in agfl_blocks(dev, agno, agf(dev, agno)):
            free[agno * agb + b] = 2
    differ = stale = dirty = nused = nfree = 0
    chunk = max(bs, 1 << 20)
    with open(src, "rb") as fs, open(out, "rb") as fo:
        for pos in range(0, s["dblocks"] * bs, chunk):
            fs.seek(soff + pos)
            fo.seek(ooff + pos)
            a, b = fs.read(chunk), fo.read(chunk)
            for i in range(0, min(len(a), len(b)), bs):
                blk = (pos + i) // bs
                x, y = a[i:i + bs], b[i:i + bs]
                if free[blk] == 1:
                    nfree += 1
                    stale += x.count(0) != bs
                    if y.count(0) != bs:
                        dirty += 1
                        if dirty <= 3:
                            print(f"free block {blk} is not zero in the copy")
                else:
                    nused += 1
                    if x != y:
                        differ += 1
                        if differ <= 3:
                            print(f"used block {blk} differs")
    print(f"{nused} used blocks, {differ} differ; {nfree} free blocks, stale in the "
          f"source: {stale}, non-zero in the copy: {dirty}")
    if stale == 0:
        print("no free block of the source holds stale data: the check proves nothing")
    return 1 if differ or dirty or not stale else 0


def crc32c(data):
    crc = 0xffffffff
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff


def set_incompat(img, off, bit):
    with open(img, "r+b") as f:
        f.seek(off)
        sect = bytearray(f.read(512))
        sectsize = struct.unpack_from(">H", sect, 102)[0]
        f.seek(off)
        sect = bytearray(f.read(sectsize))
        v = struct.unpack_from(">I", sect, 216)[0] | (1 << bit)
        struct.pack_into(">I", sect, 216, v)
        struct.pack_into("<I", sect, 224, 0)
        struct.pack_into("<I", sect, 224, crc32c(bytes(sect)))
        f.seek(off)
        f.write(sect)


def set_features2(img, off, bit):
    with open(img, "r+b") as f:
        f.seek(off)
        sect = bytearray(f.read(512))
        struct.pack_into(">H", sect, 100, struct.unpack_from(">H", sect, 100)[0] | 0x8000)
        for o in (200, 204):
            struct.pack_into(">I", sect, o, struct.unpack_from(">I", sect, o)[0] | (1 << bit))
        f.seek(off)
        f.write(sect)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "used":
        used(args[0])
    elif cmd == "geometry":
        geometry(args[0])
    elif cmd == "compare":
        return compare(args[0], args[1], int(args[2]), args[3], int(args[4]))
    elif cmd == "set-incompat":
        set_incompat(args[0], int(args[1]), int(args[2]))
    elif cmd == "set-features2":
        set_features2(args[0], int(args[1]), int(args[2]))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
