"""`rvae-visual scan PATH... [--json]`."""

from __future__ import annotations

import argparse
import json
import sys

from .common import add_drum_map_option, add_reading_option, drum_map_from, positive_int

DESCRIPTION = (
    "Read MIDI files and folders (recursive) as training would, and report per file: bars kept, "
    "hits per instrument, collisions, notes outside the drum map, the largest MIDI round-trip "
    "error in ms, and how many notes a 16th-note grid would move by more than 10 ms, the meter "
    "(4/4, 12/8, 6/8; other meters are skipped with that reason) and the subdivisions the notes "
    "were read on. "
    "Exit 0 when at least one clip is usable, 1 when none."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `scan`."""
    p.add_argument("paths", nargs="+", metavar="PATH", help="MIDI files or folders")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.add_argument("--min-hits", type=positive_int, default=1, metavar="N",
                   help="skip bars with fewer hits (default 1)")
    add_reading_option(p)
    add_drum_map_option(p)


def run(args: argparse.Namespace) -> int:
    """Scan and report; exit 0 if any clip is usable, else 1."""
    from ..model.scan import format_table, scan, totals

    dm = drum_map_from(args)
    entries = scan(args.paths, dm, args.min_hits, reading=args.reading)
    t = totals(entries, dm)
    if args.json:
        for e in entries:
            for w in e.warnings:
                print(f"warning: {w}", file=sys.stderr)
        json.dump({"files": [e.to_json() for e in entries], "totals": t}, sys.stdout)
        sys.stdout.write("\n")
    else:
        for e in entries:
            for w in e.warnings:
                print(f"warning: {w}", file=sys.stderr)
        print(format_table(entries, dm))
    return 0 if t["ok"] else 1
