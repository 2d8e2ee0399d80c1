"""`rvae-visual eval MODEL CLIPS... [--json]`."""

from __future__ import annotations

import argparse
import json
import sys

from .common import positive_int

DESCRIPTION = (
    "Measure a model on clips: every bar is encoded to its latent mean and decoded again; onsets "
    "are compared at threshold 0.5 on the exact tick (precision, recall, F1, overall and per "
    "instrument), velocity error and timing error (ms at the clip's tempo) on the true hits. "
    "Also measures the map on the 30 x 30 grid: richness (distinct patterns) and smoothness "
    "(mean Jaccard distance between neighbouring cells' hits; lower is smoother), "
    "identical_neighbours, largest_plateau, jump, flam_rate, mean_hits and max_hits, beside the "
    "training clips' figures (\"clips\"). Timing and velocity come with their baselines "
    "(every hit on its grid position; every hit at its drum's mean velocity). Clips are read "
    "as the model's were (its reading). "
    "Exit 1 when no clip is usable."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `eval`."""
    p.add_argument("model", metavar="MODEL", help="model file, or a bundled model's name")
    p.add_argument("paths", nargs="+", metavar="CLIPS", help="MIDI files or folders (recursive)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.add_argument("--min-hits", type=positive_int, default=1, metavar="N",
                   help="skip bars with fewer hits (default 1)")


def format_report(res: dict, model_name: str, clips: int) -> str:
    """The human-readable table of an eval result."""
    o = res["onset"]
    lines = [
        f"model {model_name} on {clips} clips, {res['bars']} bars (threshold 0.5, exact tick)",
        f"{'':10s} {'precision':>9s} {'recall':>7s} {'F1':>6s}",
        f"{'onsets':10s} {o['precision']:9.3f} {o['recall']:7.3f} {o['f1']:6.3f}",
    ]
    for name, s in res["per_instrument"].items():
        lines.append(f"  {name:8s} {s['precision']:9.3f} {s['recall']:7.3f} {s['f1']:6.3f}")
    vel, tim = res["velocity_mae"], res["timing_mae_ms"]
    lines.append(f"velocity MAE on true hits: {'-' if vel is None else f'{vel:.3f}'} (0-1 scale)")
    lines.append(f"timing MAE on true hits:   {'-' if tim is None else f'{tim:.2f}'} ms")
    m = res["map"]
    lines.append(f"map (30 x 30 grid): richness {m['richness']} distinct patterns, "
                 f"smoothness {m['smoothness']:.3f} (mean neighbour Jaccard distance)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Evaluate; exit 0, or 1 when no clip is usable."""
    from ..model.evaluate import evaluate_model, rounded
    from ..model.scan import scan
    from ..model.store import load_model

    model = load_model(args.model)
    entries = scan(args.paths, model.drum_map, args.min_hits, roundtrip=False,
                   reading=model.reading)
    ok = [e.clip for e in entries if e.status == "ok" and e.clip is not None]
    for e in entries:
        if e.status != "ok":
            print(f"skipped: {e.reason}", file=sys.stderr)
    if not ok:
        print(f"rvae-visual: error: no usable clips in {', '.join(map(str, args.paths))}",
              file=sys.stderr)
        return 1
    res = rounded(evaluate_model(model, ok), 4)
    if args.json:
        print(json.dumps(res))
    else:
        print(format_report(res, model.name, len(ok)))
    return 0
