"""The clip sets bundled in rvae_visual/data/clips: readable, attributed, and what they claim."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import mido
import pytest

from rvae_visual.drum_map import default_drum_map
from rvae_visual.model.clips import Clip, read_clip
from rvae_visual.model.scan import scan, totals

REPO = Path(__file__).resolve().parent.parent
CLIPS = REPO / "rvae_visual" / "data" / "clips"
SCRIPT = REPO / "scripts" / "make_clip_sets.py"

WRITTEN = ["footwork", "trap"]
GMD = ["gmd-funk", "gmd-hiphop", "gmd-rock", "gmd-latin", "gmd-triplet"]
SETS = WRITTEN + GMD + ["stickflow"]
KICK, SNARE, HAT = 0, 1, 2


def midi_files(name: str) -> list[Path]:
    return sorted((CLIPS / name).glob("*.mid"))


def clips(name: str) -> list[Clip]:
    # the tick each note was written on (two performances of one groove read musically can
    # play the same hits; these tests are about what the files hold)
    return [read_clip(p, reading="nearest") for p in midi_files(name)]


def ticks(pattern, inst: int) -> list[int]:
    return sorted(h.tick for h in pattern.hits() if h.instrument == inst)


def longest_run(ts: list[int], steps: set[int]) -> int:
    """Longest chain of consecutive hits whose gaps are all in `steps` (hits in the chain)."""
    best = run = 1 if ts else 0
    for a, b in zip(ts, ts[1:]):
        run = run + 1 if b - a in steps else 1
        best = max(best, run)
    return best


def clip_run(clip: Clip, inst: int, steps: set[int]) -> int:
    return max(longest_run(ticks(p, inst), steps) for p in clip.patterns)


def test_every_set_is_shipped_with_a_readme():
    shipped = sorted(p.name for p in CLIPS.iterdir() if p.is_dir())
    assert shipped == sorted(SETS)
    readme = (CLIPS / "README.md").read_text(encoding="utf-8")
    for name in SETS:
        assert f"`{name}/`" in readme


@pytest.mark.parametrize("name", SETS)
def test_set_reads_cleanly(name):
    files = midi_files(name)
    assert 12 <= len(files) <= 16
    for path in files:
        clip = read_clip(path)
        assert clip.warnings == [], path
        assert clip.skipped_bars == 0, path
        assert clip.n_bars in (1, 2), path
        assert len(clip.patterns) == clip.n_bars
        assert 40 <= clip.bpm <= 300, path
        assert all(clip.hits[n] > 0 for n in ("kick", "snare", "hihat")), path
    entries = scan([CLIPS / name])
    assert all(e.status == "ok" for e in entries)
    assert totals(entries)["max_roundtrip_error_ms"] < 0.5


@pytest.mark.parametrize("name", SETS)
def test_set_is_standard_midi_on_channel_10(name):
    for path in midi_files(name):
        mid = mido.MidiFile(str(path))
        assert mid.type == 0, path
        msgs = [m for t in mid.tracks for m in t]
        assert {m.channel for m in msgs if m.type in ("note_on", "note_off")} == {9}, path
        assert any(m.type == "set_tempo" for m in msgs), path
        assert all((m.numerator, m.denominator) == (4, 4) for m in msgs if m.type == "time_signature")


@pytest.mark.parametrize("name", SETS)
def test_set_has_no_duplicate_clips(name):
    seen = {}
    for clip in clips(name):
        key = b"".join(p.hit_mask().tobytes() for p in clip.patterns)
        assert key not in seen, f"{clip.name} plays the same hits as {seen.get(key)}"
        seen[key] = clip.name


@pytest.mark.parametrize("name", SETS)
def test_notice_attributes_every_file(name):
    notice = (CLIPS / name / "NOTICE.txt").read_text(encoding="utf-8")
    for path in midi_files(name):
        assert path.name in notice, f"{path.name} not listed in {name}/NOTICE.txt"
    if name in WRITTEN:
        assert "written for rvae-visual, licensed under the project's licence (MIT)" in notice
    elif name in GMD:
        for text in ("Gillick", "Learning to Groove with Inverse Sequence Transformations", "ICML 2019",
                     "Groove MIDI Dataset", "CC BY 4.0", "CHANGES MADE"):
            assert text in notice
    else:
        assert "StickFlow" in notice and "CC0" in notice
        assert "CC0 1.0 Universal" in (CLIPS / name / "LICENSE-CC0.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", GMD + ["stickflow"])
def test_copies_are_unmodified_and_spread(name, every_corpus):
    source = every_corpus / ("stickflow" if name == "stickflow" else "gmd")
    originals = {p.name: p for p in source.rglob("*.mid")}
    drummers, performances = set(), set()
    for path in midi_files(name):
        assert path.name in originals, f"{path.name} is not in {source}"
        assert path.read_bytes() == originals[path.name].read_bytes()
        m = re.match(r"gmd_\w+?_(drummer\d+)_(.+)_bar\d+\.mid$", path.name)
        if m:
            drummers.add(m.group(1))
            performances.add(m.group(1) + m.group(2))
    if name != "stickflow":
        assert len(drummers) >= 3
        assert len(performances) >= 8


def beat_phase_counts(cs: list[Clip]) -> tuple[int, int]:
    """Notes near an 8th-triplet off-beat (1/3, 2/3 of a beat) and near an off-8th 16th (1/4, 3/4)."""
    trip = six = 0
    for c in cs:
        for k in c.kept_notes:
            ph = k.quarter % 1.0
            trip += min(abs(ph - 1 / 3), abs(ph - 2 / 3)) < 0.04
            six += min(abs(ph - 0.25), abs(ph - 0.75)) < 0.04
    return trip, six


def test_triplet_set_has_a_triplet_feel_and_funk_does_not():
    trip, six = beat_phase_counts(clips("gmd-triplet"))
    assert trip > 2 * six
    trip_f, six_f = beat_phase_counts(clips("gmd-funk"))
    assert six_f > trip_f


@pytest.mark.parametrize("name", WRITTEN)
def test_written_sets_have_triplet_hat_rolls(name):
    cs = clips(name)
    with_rolls = [c.name for c in cs if clip_run(c, HAT, {4}) >= 4]  # 16th triplets, 4 ticks apart
    assert len(with_rolls) >= 2 * len(cs) // 3, with_rolls
    assert beat_phase_counts(cs)[0] > 0


@pytest.mark.parametrize("name", WRITTEN)
def test_written_sets_are_clean_and_varied(name):
    cs = clips(name)
    for c in cs:
        assert c.collisions == 0 and c.unmapped == 0, c.name
    per_bar = [p.n_hits() for c in cs for p in c.patterns]
    assert max(per_bar) >= 2.5 * min(per_bar)  # sparse and dense clips: contrast on the map
    vels = {round(float(v), 2) for c in cs for p in c.patterns for v in p.velocities[p.hit_mask()]}
    assert len(vels) >= 15  # accents, ghosts and crescendos, not one velocity
    humanised = [c.name for c in cs if any(abs(h.offset) > 0 for p in c.patterns for h in p.hits())]
    assert 3 <= len(humanised) < len(cs)  # some clips carry microtiming, not all


def test_footwork_kicks_three_against_four():
    for c in clips("footwork"):
        assert 150 <= c.bpm <= 170, c.name
        # three kicks 18 ticks (3 sixteenths, a dotted 8th) apart: a 3-against-4 figure
        assert clip_run(c, KICK, {18}) >= 3, c.name


def test_trap_is_half_time_with_ratchets():
    cs = clips("trap")
    for c in cs:
        assert 130 <= c.bpm <= 155, c.name
        for p in c.patterns:
            snares = {h.tick: h.velocity for h in p.hits() if h.instrument == SNARE}
            assert snares.get(48, 0) > 0.8, c.name  # the backbeat on 3
            assert not any(snares.get(t, 0) > 0.8 for t in (24, 72)), c.name  # none on 2 and 4
        assert clip_run(c, HAT, {2, 3, 4}) >= 4, c.name  # every clip has a roll or ratchet
    ratchets = [c.name for c in cs if clip_run(c, HAT, {2, 3}) >= 4]  # 32nds / 32nd triplets
    assert len(ratchets) >= 3, ratchets


def test_script_rebuilds_the_shipped_files_byte_for_byte(tmp_path, every_corpus):
    out = tmp_path / "clips"
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--data", str(every_corpus)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    built = {p.relative_to(out): p for p in out.rglob("*") if p.is_file()}
    shipped = {p.relative_to(CLIPS): p for p in CLIPS.rglob("*") if p.is_file()}
    assert sorted(built) == sorted(shipped)
    for rel, p in built.items():
        assert p.read_bytes() == shipped[rel].read_bytes(), rel


def test_script_refuses_a_missing_data_folder(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "o"),
                           "--data", str(tmp_path / "nope")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "nope" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_drum_map_takes_every_written_note():
    dm = default_drum_map()
    for name in WRITTEN:
        for path in midi_files(name):
            notes = {m.note for t in mido.MidiFile(str(path)).tracks for m in t if m.type == "note_on"}
            assert notes <= {36, 38, 39, 42, 46}
            assert all(dm.instrument_of(n) >= 0 for n in notes)
