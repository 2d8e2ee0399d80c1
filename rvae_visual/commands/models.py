"""`rvae-visual models [--json]`: the bundled models (and drum kits)."""

from __future__ import annotations

import argparse
import json

DESCRIPTION = (
    "List the models shipped with rvae-visual (the player's default first) with the clip set "
    "each was trained on, and the bundled drum kits. Play one with `rvae-visual play --model NAME`."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `models`."""
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")


def model_rows() -> list[dict]:
    """One dict per bundled model: name, default, path, recipe, clips, bars, created."""
    from ..model.bundled import bundled_models, default_model_name
    from ..model.modelfile import read_model_file

    rows = []
    default = default_model_name()
    for name, path in bundled_models():
        _, meta = read_model_file(path)
        rows.append({
            "name": name,
            "default": name == default,
            "path": path,
            "recipe": meta.get("recipe"),
            "clips": len(meta.get("clips", [])),
            "bars": meta.get("bars"),
            "trained_on": meta.get("trained_on", ""),
            "created": meta.get("created"),
        })
    return rows


def run(args: argparse.Namespace) -> int:
    """Print the list; exit 0."""
    rows = model_rows()
    try:
        from ..audio.kit import DEFAULT_KIT, bundled_kits

        kits = [{"name": k, "default": k == DEFAULT_KIT} for k in bundled_kits()]
    except ImportError:  # a build without the audio layer
        kits = []
    if args.json:
        print(json.dumps({"models": rows, "kits": kits}))
        return 0
    if not rows:
        print("no bundled models")
    else:
        w = max(len(r["name"]) for r in rows)
        print("models:")
        for r in rows:
            mark = "*" if r["default"] else " "
            print(f" {mark} {r['name']:{w}s}  {r['clips']:3d} clips {r['bars']:4d} bars  "
                  f"{r['recipe']} recipe  {r['trained_on']}")
    if kits:
        print("kits:")
        for k in kits:
            print(f" {'*' if k['default'] else ' '} {k['name']}")
    print("(* = default)")
    return 0
