"""Scan all of ../shared/data (tests/data without it) as `rvae-visual scan` does (read, round-trip through MIDI bytes,
16th-grid check) and time it. Last line: {"clips": N, "seconds": S} (median of --runs)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from clipdata import data_dir  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("paths", nargs="*", help="default: ../shared/data, else tests/data")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    args.paths = args.paths or [str(data_dir("bench/scan.py", need=()))]
    t0 = time.perf_counter()
    from rvae_visual.model.scan import scan, totals

    import_s = time.perf_counter() - t0
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        entries = scan(args.paths)
        times.append(time.perf_counter() - t)
    tot = totals(entries)
    print(f"runs: {[round(x, 3) for x in times]} s, import {import_s:.3f} s", file=sys.stderr)
    print(json.dumps({"clips": tot["files"], "ok": tot["ok"], "seconds": round(statistics.median(times), 3),
                      "import_seconds": round(import_s, 3)}))


if __name__ == "__main__":
    main()
