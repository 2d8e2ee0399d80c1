"""Time `rvae-visual train` (default recipe) end to end, start-up included, and the numpy decoder.

Runs the real command in a fresh interpreter on N gmd clips from ../shared/data, else tests/data
(default 12, spread over genres), --runs times, and reports the median wall time. Then loads the model it
wrote (numpy only) and times the 30 x 30 grid decode and a one-point decode (medians).
Last stdout line: {"seconds", "clips", "bars", "runs", "grid_ms", "point_ms", ...}.
Targets: 12 clips <= 10 s; 500 clips (--clips 500) <= 120 s; grid < 20 ms; one point << 1 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from clipdata import data_dir  # noqa: E402


def pick_clips(n: int) -> list[Path]:
    """n gmd clips, round-robin over genre folders (deterministic)."""
    folders = sorted(p for p in (data_dir("bench/train.py") / "gmd").iterdir() if p.is_dir())
    pools = [sorted(f.glob("*.mid")) for f in folders]
    out: list[Path] = []
    k = 0
    while len(out) < n and any(k < len(p) for p in pools):
        out.extend(p[k] for p in pools if k < len(p) and len(out) < n and True)
        k += 1
    return out[:n]


def time_decoder(model_path: Path, repeats: int = 30) -> dict:
    """Median ms of the grid decode and of one-point decodes, numpy only (no torch import)."""
    code = f"""
import json, sys, time, statistics
import numpy as np
from rvae_visual.model.store import load_model
from rvae_visual.model.grid import build_grid
t = time.perf_counter(); m = load_model({str(model_path)!r}); load_ms = (time.perf_counter() - t) * 1e3
grid, point = [], []
for _ in range({repeats}):
    t = time.perf_counter(); build_grid(m.net.decode_split); grid.append((time.perf_counter() - t) * 1e3)
zs = np.random.default_rng(0).uniform(-3, 3, (200, 2))
for z in zs:
    t = time.perf_counter(); m.decode_pattern(float(z[0]), float(z[1])); point.append((time.perf_counter() - t) * 1e3)
print(json.dumps({{"grid_ms": round(statistics.median(grid), 3), "grid_ms_min": round(min(grid), 3),
                  "point_ms": round(statistics.median(point), 4), "load_ms": round(load_ms, 2),
                  "torch_imported": "torch" in sys.modules}}))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    clips = pick_clips(args.clips)
    times, summary = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.npz"
        for _ in range(args.runs):
            t = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "rvae_visual", "train", *map(str, clips),
                                "-o", str(out), "--json"], capture_output=True, text=True)
            times.append(time.perf_counter() - t)
            if r.returncode != 0:
                raise SystemExit(f"train failed: {r.stderr[-2000:]}")
            summary = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"run: {times[-1]:.2f} s wall, {summary['epochs']} epochs, "
                  f"{summary['stop_reason'] if 'stop_reason' in summary else ''}", file=sys.stderr)
        dec = time_decoder(out)
    print(json.dumps({
        "seconds": round(statistics.median(times), 3),
        "clips": summary["clips"],
        "bars": summary["bars"],
        "runs": [round(t, 3) for t in times],
        "epochs": summary["epochs"],
        "train_reported_seconds": summary["seconds"],
        **dec,
    }))


if __name__ == "__main__":
    main()
