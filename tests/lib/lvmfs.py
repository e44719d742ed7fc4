#!/usr/bin/env python3
"""Reads or writes a logical volume's bytes inside a disk image file, the
way device-mapper would map them, from what lvm2's own tools report.

    lvmfs.py put|get DISK REPORT LV FILE

REPORT is a JSON file: {"extent_size": BYTES, "pvs": {"/dev/loopN":
{"offset": BYTES_ON_DISK, "pe_start": BYTES}}, "segments": [lvs
--segments --reportformat json rows of LV, with seg_start_pe,
seg_size_pe, stripes, stripe_size (bytes), seg_pe_ranges]}.
put writes FILE into the LV; get writes the LV into FILE.
"""
import json
import sys


def pieces(report, lv):
    """(disk offset, length) of the LV's bytes, in order."""
    ext = report["extent_size"]
    out = []
    for seg in sorted((s for s in report["segments"] if s["lv_name"] == lv),
                      key=lambda s: int(s["seg_start_pe"])):
        areas = []
        for r in seg["seg_pe_ranges"].split():
            dev, rng = r.rsplit(":", 1)
            first = int(rng.split("-")[0])
            pv = report["pvs"][dev]
            areas.append(pv["offset"] + pv["pe_start"] + first * ext)
        size = int(seg["seg_size_pe"]) * ext
        n = len(areas)
        chunk = int(seg["stripe_size"]) if n > 1 else size
        for i in range(size // chunk):
            out.append((areas[i % n] + (i // n) * chunk, chunk))
    return out


def main():
    mode, disk, rep, lv, path = sys.argv[1:6]
    with open(rep) as f:
        report = json.load(f)
    with open(disk, "r+b") as d:
        if mode == "put":
            with open(path, "rb") as f:
                for off, n in pieces(report, lv):
                    d.seek(off)
                    d.write(f.read(n))
        else:
            with open(path, "wb") as f:
                for off, n in pieces(report, lv):
                    d.seek(off)
                    f.write(d.read(n))


if __name__ == "__main__":
    main()
