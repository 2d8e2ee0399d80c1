"""The test corpus shipped in tests/data: only redistributable sources, attributed, manifests that
describe its files, and (when ../shared/data is beside the repository) an unchanged part of it."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import mido

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "tests" / "data"
SHARED = REPO.parent / "shared" / "data"
SOURCES = ["gmd", "stickflow"]  # CC BY 4.0 and CC0: the only ones we may copy
MAX_BYTES = 300_000


def manifest(folder: Path) -> list[dict[str, str]]:
    with open(folder / "manifest.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_only_redistributable_sources_are_shipped():
    assert sorted(p.name for p in BUNDLED.iterdir() if p.is_dir() and p.name != "__pycache__") == SOURCES
    files = [p for p in BUNDLED.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert 100 <= sum(p.suffix == ".mid" for p in files)
    assert sum(p.stat().st_size for p in files) < MAX_BYTES
    # nothing from the GPL / CC BY-SA sources: no licence text of theirs, no clip of theirs
    assert not [p for p in files if "GPL" in p.name or p.name.startswith(("mma_", "hydrogen_", "lmms_"))]
    for p in BUNDLED.rglob("*.mid"):
        assert p.name.startswith(p.relative_to(BUNDLED).parts[0] + "_"), p


def test_each_source_is_attributed():
    gmd = " ".join((BUNDLED / "gmd" / "NOTICE.txt").read_text(encoding="utf-8").split())  # lines joined
    for text in ("Groove MIDI Dataset", "Gillick", "Learning to Groove with Inverse Sequence Transformations",
                 "ICML 2019", "CC BY 4.0", "CHANGES MADE"):
        assert text in gmd, text
    stick = (BUNDLED / "stickflow" / "NOTICE.txt").read_text(encoding="utf-8")
    assert "StickFlow" in stick and "CC0" in stick and "https://www.stickflow.app" in stick
    assert "CC0 1.0 Universal" in (BUNDLED / "stickflow" / "LICENSE.CC0").read_text(encoding="utf-8")
    for name in SOURCES:
        notice = (BUNDLED / name / "NOTICE.txt").read_text(encoding="utf-8")
        m = re.search(rf"{name}/ \((\d+) of (\d+) clips", notice.splitlines()[0])
        assert m, notice.splitlines()[0]
        assert int(m.group(1)) == len(list((BUNDLED / name).rglob("*.mid"))) <= int(m.group(2))


def test_manifests_describe_the_files():
    for name in SOURCES:
        rows = manifest(BUNDLED / name)
        on_disk = sorted(str(p.relative_to(BUNDLED / name)) for p in (BUNDLED / name).rglob("*.mid"))
        assert sorted(f"{r['genre']}/{r['file']}" for r in rows) == on_disk
        for r in rows:
            path = BUNDLED / name / r["genre"] / r["file"]
            mid = mido.MidiFile(str(path))
            msgs = [m for t in mid.tracks for m in t]
            assert sum(m.type == "note_on" and m.velocity > 0 for m in msgs) == int(r["n_notes"]), path
            assert mid.ticks_per_beat == int(r["tpq"]), path
            assert max(sum(m.time for m in t) for t in mid.tracks) == int(r["bars"]) * 4 * mid.ticks_per_beat
            tempo = next(m.tempo for m in msgs if m.type == "set_tempo")
            assert abs(mido.tempo2bpm(tempo) - float(r["bpm"])) < 0.5, path
    if SHARED.is_dir():  # then it is also an unchanged part of the shared data, rebuilt by its script
        for name in SOURCES:
            shared_lines = set((SHARED / name / "manifest.csv").read_text(encoding="utf-8").splitlines())
            ours = (BUNDLED / name / "manifest.csv").read_text(encoding="utf-8").splitlines()
            assert set(ours) <= shared_lines
            for p in (BUNDLED / name).rglob("*.mid"):
                assert p.read_bytes() == (SHARED / name / p.relative_to(BUNDLED / name)).read_bytes(), p


def test_script_rebuilds_the_corpus_byte_for_byte(tmp_path, corpus):
    """From ../shared/data when present; the bundled corpus alone cannot rebuild its notices'
    totals, so without it the script must refuse a folder that is not the shared data."""
    out = tmp_path / "data"
    args = [sys.executable, str(BUNDLED / "make_corpus.py"), "--out", str(out)]
    if corpus == SHARED:
        done = subprocess.run(args + ["--data", str(SHARED)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        built = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
        shipped = sorted(p.relative_to(BUNDLED) for p in BUNDLED.rglob("*") if p.is_file()
                         and p.parent != BUNDLED and "__pycache__" not in p.parts)
        assert built == shipped
        for rel in built:
            assert (out / rel).read_bytes() == (BUNDLED / rel).read_bytes(), rel
    else:
        done = subprocess.run(args + ["--data", str(tmp_path / "nope")], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2 and "nope" in done.stderr
        assert not out.exists()
