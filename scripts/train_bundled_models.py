#!/usr/bin/env python3
"""Train the models bundled in `rvae_visual/data/models/` from the bundled clip sets.

Each model: default recipe, seed 0, float16 weights, trained on one folder of
`rvae_visual/data/clips/`. Prints each model's map richness and smoothness (the numbers used
to choose the player's default) and rewrites `rvae_visual/data/models/README.md`.

    .venv/bin/python scripts/train_bundled_models.py [SET ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLIPS = REPO / "rvae_visual" / "data" / "clips"
MODELS = REPO / "rvae_visual" / "data" / "models"

# set -> (description, origin and licence of the clips it learned from)
SETS = {
    "footwork": ("footwork / juke, written for rvae-visual", "written for rvae-visual (MIT)"),
    "trap": ("trap, half time, written for rvae-visual", "written for rvae-visual (MIT)"),
    "gmd-funk": ("funk performances", "Groove MIDI Dataset, Gillick et al. 2019 (CC BY 4.0)"),
    "gmd-hiphop": ("hip hop performances", "Groove MIDI Dataset, Gillick et al. 2019 (CC BY 4.0)"),
    "gmd-latin": ("latin / afro-cuban performances", "Groove MIDI Dataset, Gillick et al. 2019 (CC BY 4.0)"),
    "gmd-triplet": ("triplet feel: jazz swing and shuffle performances",
                    "Groove MIDI Dataset, Gillick et al. 2019 (CC BY 4.0)"),
    "gmd-rock": ("rock performances", "Groove MIDI Dataset, Gillick et al. 2019 (CC BY 4.0)"),
    "stickflow": ("rock, funk, mozambique (notated)", "StickFlow (CC0; credit StickFlow)"),
}


def train_one(name: str) -> dict:
    from rvae_visual.model.evaluate import map_metrics
    from rvae_visual.model.modelfile import save_model_file
    from rvae_visual.model.scan import scan
    from rvae_visual.model.store import load_model
    from rvae_visual.model.training import train, trainset_from_clips

    folder = CLIPS / name
    entries = scan([folder], roundtrip=False)
    bad = [e.reason for e in entries if e.status != "ok"]
    if bad:
        raise SystemExit(f"{name}: unusable clips: {bad}")
    data = trainset_from_clips([e.clip for e in entries])
    res = train(data, "default", seed=0)
    meta = dict(res.meta)
    meta["trained_on"] = f"rvae_visual/data/clips/{name}"
    meta["description"] = SETS[name][0]
    meta["clip_origin"] = SETS[name][1]
    out = MODELS / f"{name}.npz"
    save_model_file(out, res.weights, meta, "float16")
    model = load_model(out)
    m = map_metrics(model.grid(), instruments=model.drum_map.instruments)
    return {"name": name, "clips": len(data.clips), "bars": data.n_bars, "epochs": res.epochs_run,
            "best_epoch": res.best_epoch, "seconds": round(res.seconds, 1),
            "bytes": out.stat().st_size, **m, "window": list(model.window),
            "window_inside": meta["window_inside"], "clip_figures": meta["clip_figures"]}


def write_readme(rows: list[dict], default: str) -> None:
    lines = [
        "# Bundled models",
        "",
        "Trained with the default recipe (seed 0, float16 weights) on the clip sets in",
        "`../clips/`, by `scripts/train_bundled_models.py`. List them with `rvae-visual models`;",
        "play one with `rvae-visual play --model NAME`; `rvae-visual inspect NAME --png map.png`",
        f"draws its map. The player's default is `{default}`.",
        "",
        "Map richness = distinct patterns on the 30 x 30 grid at threshold 0.5; smoothness = mean",
        "Jaccard distance between neighbouring cells' hits (lower is smoother). The default is the",
        "most varied map.",
        "",
        "| model | clips | bars | richness | smoothness | learned from |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| `{r['name']}` | {r['clips']} | {r['bars']} | {r['richness']} | "
                     f"{r['smoothness']:.3f} | {SETS[r['name']][1]} |")
    lines += [
        "",
        "The gmd-* models are derived from the Groove MIDI Dataset (Jon Gillick, Adam Roberts, Jesse",
        "Engel, Douglas Eck, David Bamman: \"Learning to Groove with Inverse Sequence Transformations\",",
        "ICML 2019; https://magenta.tensorflow.org/datasets/groove), licensed CC BY 4.0",
        "(https://creativecommons.org/licenses/by/4.0/); changes: excerpts chosen as described in",
        "`../clips/*/NOTICE.txt`, then learned by a VAE. The stickflow model learned from StickFlow's",
        "grooves (https://www.stickflow.app, CC0). footwork and trap learned from clips written for",
        "rvae-visual (MIT).",
        "",
    ]
    (MODELS / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", default=list(SETS))
    ap.add_argument("--readme-only", action="store_true", help="only rewrite README.md")
    args = ap.parse_args()
    MODELS.mkdir(parents=True, exist_ok=True)
    for name in [] if args.readme_only else args.sets:
        row = train_one(name)
        print(json.dumps(row), flush=True)
    from rvae_visual.model.bundled import DEFAULT_MODEL
    from rvae_visual.model.evaluate import map_metrics
    from rvae_visual.model.store import load_model

    rows = []
    for p in sorted(MODELS.glob("*.npz")):
        m = load_model(p)
        rows.append({"name": p.stem, "clips": len(m.meta["clips"]), "bars": m.meta["bars"],
                     **map_metrics(m.grid())})
    write_readme(rows, DEFAULT_MODEL)
    print(f"wrote {MODELS / 'README.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
