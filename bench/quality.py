"""Paper recipe vs default recipe on the same data, measured on held-out clips.

For each of six genre sets from ../shared/data (gmd funk, hiphop, jazz, rock: performed; mma
rock, lmms electronic: programmed), 12 training clips are drawn from some performances / style
files / projects and up to 24 held-out clips from the others (never the same performance on
both sides). Both recipes train on the same 12 clips with the same seed; each model is
evaluated on its set's held-out clips. This is repeated for several seeds (each also draws its
own split). Each set is read with both readings (musical: notes on their intended grid
positions; nearest: the nearest tick). The last stdout line is one JSON object:
{"sets": {set: {recipe: {reading: figures}}}, "all": {recipe: {reading: figures}}, ...} where
figures are medians over the seeds (for "all": the median over sets) of onset F1 exact and within
one tick, timing MAE beside the on-grid baseline, velocity MAE beside the per-drum-mean baseline,
and the map's flam rate (beside its training clips'), max_hits_over, identical_neighbours,
largest_plateau, jump and richness. `--pooled` gives the older output (bars pooled per recipe).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from clipdata import SHARED as DATA, data_dir  # noqa: E402

# (source, genre folder, manifest column that groups clips of one performance / style / song)
SETS = [
    ("gmd", "funk", "source_file"),
    ("gmd", "hiphop", "source_file"),
    ("gmd", "jazz", "source_file"),
    ("gmd", "rock", "source_file"),
    ("mma", "rock", "style_file"),
    ("lmms", "electronic", "project"),
]
N_TRAIN = 12
MAX_HELD_OUT = 24


def split_set(source: str, genre: str, group_col: str, seed: int) -> tuple[list[Path], list[Path]]:
    """12 training clips and up to 24 held-out clips, split by group."""
    rows = [r for r in csv.DictReader(open(DATA / source / "manifest.csv")) if r["genre"] == genre]
    groups: dict[str, list[str]] = {}
    for r in rows:
        groups.setdefault(r[group_col], []).append(r["file"])
    keys = sorted(groups)
    rng = np.random.default_rng(seed)
    rng.shuffle(keys)
    train: list[str] = []
    held: list[str] = []
    for k in keys:
        files = sorted(groups[k])
        if len(train) < N_TRAIN:
            train.extend(files[: N_TRAIN - len(train)])  # rest of this group is left unused
        else:
            held.extend(files)
    held = held[:MAX_HELD_OUT]
    folder = DATA / source / genre
    return [folder / f for f in train], [folder / f for f in held]


def read(paths: list[Path], reading: str = "musical"):
    from rvae_visual.model.scan import scan

    entries = scan(paths, roundtrip=False, reading=reading)
    bad = [e.reason for e in entries if e.status != "ok"]
    if bad:
        raise SystemExit(f"unreadable clips: {bad[:3]}")
    return [e.clip for e in entries]


def pooled(results: list[tuple[dict, dict]]) -> dict:
    """Pool per-set raw counts/sums into one eval-shaped dict."""
    from rvae_visual.model.evaluate import prf

    tot = {"tp": 0, "fp": 0, "fn": 0}
    per: dict[str, dict[str, int]] = {}
    vel_sum = tim_sum = 0.0
    n_hits = 0
    bars = 0
    rich, smooth = [], []
    for raw, ev in results:
        bars += ev["bars"]
        for k in tot:
            tot[k] += raw["all"][k]
        for name, c in raw["inst"].items():
            d = per.setdefault(name, {"tp": 0, "fp": 0, "fn": 0})
            for k in d:
                d[k] += c[k]
        vel_sum += raw["vel_sum"]
        tim_sum += raw["tim_sum"]
        n_hits += raw["hits"]
        rich.append(ev["map"]["richness"])
        smooth.append(ev["map"]["smoothness"])
    r = lambda x: round(x, 4)  # noqa: E731
    return {
        "bars": bars,
        "onset": {k: r(v) for k, v in prf(tot["tp"], tot["fp"], tot["fn"]).items()},
        "per_instrument": {n: {k: r(v) for k, v in prf(c["tp"], c["fp"], c["fn"]).items()}
                           for n, c in per.items()},
        "velocity_mae": r(vel_sum / n_hits),
        "timing_mae_ms": r(tim_sum / n_hits),
        "map": {"richness": r(float(np.mean(rich))), "smoothness": r(float(np.mean(smooth)))},
    }


def raw_counts(model, clips) -> dict:
    """Counts and error sums (for pooling across sets) of one model on clips."""
    from rvae_visual.model.evaluate import clips_to_arrays

    arrays, mpt = clips_to_arrays(clips)
    pred = model.decode(model.net.encode(arrays))
    t = arrays[:, 0] > 0.5
    p = pred[:, 0] > 0.5

    def c(tt, pp):
        return {"tp": int((tt & pp).sum()), "fp": int((~tt & pp).sum()), "fn": int((tt & ~pp).sum())}

    return {
        "all": c(t, p),
        "inst": {n: c(t[:, i], p[:, i]) for i, n in enumerate(model.drum_map.instruments)},
        "vel_sum": float(np.abs(arrays[:, 1] - pred[:, 1])[t].sum()),
        "tim_sum": float((np.abs(arrays[:, 2] - pred[:, 2]) * mpt[:, None, None])[t].sum()),
        "hits": int(t.sum()),
    }


def run(recipes: list[str], seeds: list[int], overrides: dict | None = None, sets=SETS,
        verbose: bool = True) -> dict:
    """Train and evaluate every recipe on every set for every seed (each seed also draws its own
    train / held-out split); results pooled per recipe over sets and seeds."""
    from rvae_visual.model.evaluate import evaluate_model
    from rvae_visual.model.store import model_from_arrays
    from rvae_visual.model.training import recipe_config, train, trainset_from_clips

    out: dict = {"sets": [], "seconds": {}, "per_seed": {r: [] for r in recipes}}
    per_recipe: dict[str, list] = {r: [] for r in recipes}
    secs = {r: 0.0 for r in recipes}
    for seed in seeds:
        seed_results: dict[str, list] = {r: [] for r in recipes}
        for source, genre, col in sets:
            tr_paths, ho_paths = split_set(source, genre, col, seed)
            tr, ho = read(tr_paths), read(ho_paths)
            data = trainset_from_clips(tr)
            info = {"set": f"{source}/{genre}", "seed": seed, "train_clips": len(tr),
                    "train_bars": data.n_bars, "held_out_clips": len(ho)}
            for rec in recipes:
                cfg = recipe_config(rec, **(overrides or {}).get(rec, {}))
                res = train(data, rec, seed=seed, config=cfg)
                secs[rec] += res.seconds
                model = model_from_arrays(res.weights, res.meta, f"{rec}-{genre}")
                ev = evaluate_model(model, ho)
                seed_results[rec].append((raw_counts(model, ho), ev))
                info[rec] = {"f1": round(ev["onset"]["f1"], 4),
                             "timing_mae_ms": round(ev["timing_mae_ms"], 3),
                             "velocity_mae": round(ev["velocity_mae"], 4),
                             "richness": ev["map"]["richness"],
                             "smoothness": round(ev["map"]["smoothness"], 4),
                             "epochs": res.epochs_run, "best_epoch": res.best_epoch,
                             "seconds": round(res.seconds, 2)}
            if verbose:
                print(json.dumps(info), file=sys.stderr, flush=True)
            out["sets"].append(info)
        for rec in recipes:
            pooled_seed = pooled(seed_results[rec])
            out["per_seed"][rec].append({"seed": seed, "f1": pooled_seed["onset"]["f1"],
                                         "timing_mae_ms": pooled_seed["timing_mae_ms"],
                                         "velocity_mae": pooled_seed["velocity_mae"]})
            per_recipe[rec].extend(seed_results[rec])
    for rec in recipes:
        out[rec] = pooled(per_recipe[rec])
        out["seconds"][rec] = round(secs[rec], 2)
    return out


FIGURES = ("f1", "f1_within_1", "timing_mae_ms", "timing_baseline_ms", "velocity_mae",
           "velocity_baseline", "flam_rate", "clips_flam_rate", "max_hits_over", "identical_neighbours",
           "largest_plateau", "jump", "richness")


def figures(model, ev: dict) -> dict:
    """One model's row: onset F1 exact / within one tick, timing and velocity beside their
    baselines, map figures (max_hits_over: the most hits of any drum at any point over that drum's
    densest training bar; <= 0 means never more)."""
    clips = ev["clips"] or {}
    over = max(ev["map"]["max_hits"][n] - clips.get("max_hits", {}).get(n, 0)
               for n in model.drum_map.instruments)
    return {"f1": ev["onset"]["f1"], "f1_within_1": ev["onset_within_1"]["f1"],
            "timing_mae_ms": ev["timing_mae_ms"], "timing_baseline_ms": ev["timing_baseline_ms"],
            "velocity_mae": ev["velocity_mae"], "velocity_baseline": ev["velocity_baseline"],
            "flam_rate": ev["map"]["flam_rate"], "clips_flam_rate": clips.get("flam_rate"),
            "max_hits_over": over, "identical_neighbours": ev["map"]["identical_neighbours"],
            "largest_plateau": ev["map"]["largest_plateau"], "jump": ev["map"]["jump"],
            "richness": ev["map"]["richness"]}


def run_table(recipes: list[str], readings: list[str], seeds: list[int], sets=SETS,
              verbose: bool = True) -> dict:
    """Per genre set, recipe and reading: the median over seeds of every figure (each seed draws
    its own split and trains with that seed); "all" is the median over sets of those medians."""
    import statistics

    from rvae_visual.model.evaluate import evaluate_model
    from rvae_visual.model.store import model_from_arrays
    from rvae_visual.model.training import recipe_config, train, trainset_from_clips

    table: dict = {}
    secs: dict = {}
    for source, genre, col in sets:
        for reading in readings:
            rows: dict[str, list[dict]] = {r: [] for r in recipes}
            for seed in seeds:
                tr_paths, ho_paths = split_set(source, genre, col, seed)
                tr, ho = read(tr_paths, reading), read(ho_paths, reading)
                data = trainset_from_clips(tr)
                for rec in recipes:
                    res = train(data, rec, seed=seed, config=recipe_config(rec))
                    secs.setdefault(rec, []).append(res.seconds)
                    model = model_from_arrays(res.weights, res.meta, f"{rec}-{genre}")
                    rows[rec].append(figures(model, evaluate_model(model, ho)))
            for rec in recipes:
                med = {k: round(float(statistics.median(r[k] for r in rows[rec])), 4)
                       for k in FIGURES if rows[rec][0].get(k) is not None}
                table.setdefault(f"{source}/{genre}", {}).setdefault(rec, {})[reading] = med
                if verbose:
                    print(json.dumps({"set": f"{source}/{genre}", "recipe": rec, "reading": reading,
                                      **med}), file=sys.stderr, flush=True)
    summary = {rec: {rd: {k: round(float(statistics.median(table[s][rec][rd][k] for s in table)), 4)
                          for k in table[next(iter(table))][rec][rd]}
                     for rd in readings} for rec in recipes}
    return {"sets": table, "all": summary, "seeds": seeds,
            "train_seconds_median": {r: round(float(statistics.median(v)), 2) for r, v in secs.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    ap.add_argument("--recipes", default="paper,default")
    ap.add_argument("--readings", default="musical,nearest",
                    help="clip readings to compare (default musical,nearest)")
    ap.add_argument("--pooled", action="store_true",
                    help="the older output: bars pooled over sets and seeds, one reading")
    args = ap.parse_args()
    data_dir("bench/quality.py", need=tuple(sorted({s for s, _, _ in SETS})))  # mma, lmms: shared only
    recipes = args.recipes.split(",")
    if not args.pooled:
        out = run_table(recipes, args.readings.split(","), [int(x) for x in args.seeds.split(",")])
        print(json.dumps(out))
        return
    res = run(recipes, [int(x) for x in args.seeds.split(",")])
    for rec in recipes:
        print(f"{rec}: onset F1 {res[rec]['onset']['f1']}, timing MAE {res[rec]['timing_mae_ms']} ms, "
              f"velocity MAE {res[rec]['velocity_mae']}, map {res[rec]['map']}; per seed "
              f"{[(d['f1'], d['timing_mae_ms']) for d in res['per_seed'][rec]]}", file=sys.stderr)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
