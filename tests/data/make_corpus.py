#!/usr/bin/env python3
"""Write tests/data: the small test corpus shipped in the repository, copied from ../shared/data.

Only the redistributable folders are copied: gmd (Groove MIDI Dataset, CC BY 4.0) and stickflow
(StickFlow, CC0). mma, hydrogen and lmms (GPL / CC BY-SA) stay in ../shared/data only.

- gmd: every excerpt the bundled clip sets in rvae_visual/data/clips use (so their tests and
  scripts/make_clip_sets.py run on this corpus), the first 6 and the last 2 gmd/funk excerpts
  by name (the ones tests pick with sorted()[:n] / [-2:], so they train and compare on the
  same clips with either corpus), and in every other genre folder the excerpt with the most
  notes outside kick/snare/hi-hat (toms, cymbals: the drum map's unmapped notes).
- stickflow: all of it.

Files are copied byte for byte in the same folder layout, manifest.csv keeps the source's
header and rows for the copied files only (in the source's order), and NOTICE.txt is the
source's notice under a header saying what this subset is. Deterministic: rerun it to rebuild.

    .venv/bin/python tests/data/make_corpus.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
SOURCES = ("gmd", "stickflow")  # the only folders whose licences let us copy them
FUNK_FIRST, FUNK_LAST = 6, 2

HEADER = """\
rvae-visual test corpus: {name}/ ({n} of {total} clips of rvae-visual's shared test data)
{rule}
This folder is a subset of the `{name}/` folder of the shared test data the notice below
describes: {n} of its {total} clips, copied unchanged (file names and folders kept), with the
rows of its manifest.csv for those files. It is in the repository so the tests run from a plain
clone; tests/data/make_corpus.py rebuilds it. The notice of the full folder follows unchanged.

"""


def _clip_set_files() -> dict[str, list[str]]:
    """Relative paths of the gmd / stickflow files the bundled clip sets copy."""
    spec = importlib.util.spec_from_file_location("make_clip_sets", REPO / "scripts" / "make_clip_sets.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look themselves up there
    spec.loader.exec_module(mod)
    gmd = [rel for _genre, files in mod.GMD_SETS.values() for rel in files]
    return {"gmd": gmd, "stickflow": list(mod.STICKFLOW_FILES)}


def select(data: Path) -> dict[str, list[str]]:
    """Relative paths (genre/file.mid) to copy, per source folder."""
    picked = _clip_set_files()
    with open(data / "gmd" / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    funk = sorted(r["file"] for r in rows if r["genre"] == "funk")
    gmd = set(picked["gmd"]) | {f"funk/{n}" for n in funk[:FUNK_FIRST] + funk[-FUNK_LAST:]}
    have = {rel.split("/")[0] for rel in gmd}
    for genre in sorted({r["genre"] for r in rows} - have):
        best = max((r for r in rows if r["genre"] == genre), key=lambda r: (int(r["n_other"]), r["file"]))
        gmd.add(f"{genre}/{best['file']}")
    stick = sorted(str(p.relative_to(data / "stickflow")) for p in (data / "stickflow").rglob("*.mid"))
    return {"gmd": sorted(gmd), "stickflow": stick}


def build(data: Path, out: Path) -> dict[str, int]:
    counts = {}
    for name, files in select(data).items():
        src, dst = data / name, out / name
        if dst.exists():
            shutil.rmtree(dst)
        dst.mkdir(parents=True)
        for rel in files:
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, dst / rel)
        names = {Path(rel).name for rel in files}
        lines = (src / "manifest.csv").read_text(encoding="utf-8").splitlines(keepends=True)
        rows = [ln for ln in lines[1:] if next(csv.reader([ln]))[0] in names]  # kept byte for byte
        if len(rows) != len(files):
            raise SystemExit(f"make_corpus: {name}: {len(files) - len(rows)} files not in manifest.csv")
        (dst / "manifest.csv").write_text("".join(lines[:1] + rows), encoding="utf-8")
        total = sum(1 for _ in src.rglob("*.mid"))
        title = HEADER.splitlines()[0].format(name=name, n=len(files), total=total)
        notice = HEADER.format(name=name, n=len(files), total=total, rule="=" * len(title))
        (dst / "NOTICE.txt").write_text(notice + (src / "NOTICE.txt").read_text(encoding="utf-8"),
                                        encoding="utf-8")
        for extra in src.iterdir():  # licence texts beside the notice (stickflow's LICENSE.CC0)
            if extra.is_file() and extra.name.startswith("LICENSE"):
                shutil.copyfile(extra, dst / extra.name)
        counts[name] = len(files)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"the shared data (default {DEFAULT_DATA})")
    ap.add_argument("--out", type=Path, default=HERE, help=f"output folder (default {HERE})")
    args = ap.parse_args(argv)
    for name in SOURCES:
        if not (args.data / name / "manifest.csv").is_file():
            print(f"make_corpus: error: {args.data / name}: no manifest.csv (use --data)", file=sys.stderr)
            return 2
    print(build(args.data, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
