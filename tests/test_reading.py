"""Musical reading of clips, compound meter, the hit rule and the map window (issue 11)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest

from rvae_visual.errors import ClipError
from rvae_visual.model.clips import patterns_to_midi, read_clip, roundtrip_error_ms
from rvae_visual.model.evaluate import evaluate_model
from rvae_visual.model.hitrule import HitRule, fit_window, flam_rate, inside_window
from rvae_visual.model.reading import place
from rvae_visual.model.store import model_from_arrays
from rvae_visual.model.training import train, trainset_from_clips, training_warnings
from rvae_visual.pattern import METER_4_4, METER_6_8, METER_12_8

from test_clips import smf

REPO = Path(__file__).resolve().parent.parent


def test_a_performed_16th_always_lands_on_the_same_tick():
    rng = np.random.default_rng(0)
    grid = np.arange(0, 96 * 8, 6, dtype=np.float64)  # 8 bars of straight 16ths
    played = grid + rng.normal(0.0, 0.5, len(grid)).clip(-1.3, 1.3)  # up to 27 ms at 120 BPM
    tick, off, names = place(played, METER_4_4, "musical")
    assert np.array_equal(tick, grid.astype(int)) and set(names) == {"16th"}
    assert np.allclose(tick + off, played)
    near, _, _ = place(played, METER_4_4, "nearest")
    assert len(set((near % 6).tolist())) > 1  # the nearest tick smears them over 5, 6, 7


def test_triplets_and_32nds_are_read_on_their_own_grid():
    trip = np.array([0, 8, 16, 24, 32, 40], np.float64) + 0.3
    tick, _, names = place(trip, METER_4_4, "musical")
    assert tick.tolist() == [0, 8, 16, 24, 32, 40] and set(names) == {"16th triplet"}
    d32 = np.array([0, 3, 6, 9], np.float64)
    tick, _, names = place(d32, METER_4_4, "musical")
    assert tick.tolist() == [0, 3, 6, 9] and names[1] == "32nd"


@pytest.mark.parametrize("ts,meter,bars", [((12, 8), METER_12_8, 1), ((6, 8), METER_6_8, 2)])
def test_compound_meter_reads_dotted_quarter_as_24_ticks_and_round_trips(tmp_path, ts, meter, bars):
    # 12/8: eighths are 1/2 quarter = 8 ticks; a laid-back snare on beat 2
    notes = [(k * 0.5, 10, 42, 80) for k in range(12)] + [(0, 10, 36, 110), (1.5 + 0.025, 10, 38, 100)]
    f = smf(tmp_path / "c.mid", notes, ts=ts, length_quarters=6.0 * bars / (2 if ts == (6, 8) else 1))
    c = read_clip(f)
    assert c.meter == meter and len(c.patterns) == 1 and c.n_bars == 1
    hat = np.nonzero(c.patterns[0].onsets[2])[0].tolist()
    assert hat == list(range(0, 96, 8))  # every eighth on its tick
    assert c.patterns[0].onsets[1, 24] == 1 and c.patterns[0].offsets[1, 24] == pytest.approx(0.4, abs=1e-4)
    err, lost = roundtrip_error_ms(c)
    assert err <= 0.5 and lost == 0
    mid = patterns_to_midi(c.patterns, c.bpm, meter=c.meter)
    sig = [m for m in mid.tracks[0] if m.type == "time_signature"][0]
    assert (sig.numerator, sig.denominator) == ts
    back = read_clip(_saved(tmp_path / "back.mid", mid))
    assert back.meter == meter and back.patterns[0] == c.patterns[0]


def _saved(path: Path, mid: mido.MidiFile) -> Path:
    mid.save(str(path))
    return path


def test_one_6_8_bar_is_looped_to_fill_a_pattern(tmp_path):
    f = smf(tmp_path / "one.mid", [(0, 10, 36, 100), (1.5, 10, 38, 100)], ts=(6, 8), length_quarters=3)
    c = read_clip(f)
    assert c.n_bars == 1 and np.nonzero(c.patterns[0].onsets[0])[0].tolist() == [0, 48]
    assert roundtrip_error_ms(c) == (0.0, 0)


@pytest.mark.parametrize("ts", [(3, 4), (5, 4), (7, 4)])
def test_other_meters_are_skipped_with_that_reason(tmp_path, ts):
    f = smf(tmp_path / "odd.mid", [(0, 10, 36, 100)], ts=ts)
    with pytest.raises(ClipError, match=f"time signature {ts[0]}/{ts[1]}; only 4/4, 12/8 and 6/8"):
        read_clip(f)


def test_hit_rule_at_every_threshold():
    rng = np.random.default_rng(1)
    p = rng.random((400, 3, 96)).astype(np.float32)
    q = HitRule((4, 0, 12)).apply(p.copy())
    assert np.all((q == 0) | (q == p))
    for th in (0.0, 0.2, 0.5, 0.8):
        h = q > th
        assert flam_rate(h) == 0.0
        assert h.sum(-1).max(0).tolist() <= [4, 0, 12]
        assert not h[:, 1].any()


def test_window_holds_the_training_bars():
    z = np.random.default_rng(2).normal(0, 1.2, (40, 2))
    w = fit_window(z)
    assert inside_window(z, w) >= 0.9 and w[0] == -w[1] == w[2] == -w[3]


@pytest.fixture(scope="module")
def kick_only_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("kicks")
    for k in range(4):
        smf(d / f"k{k}.mid", [(q / 4, 10, 36, 60 + 10 * k) for q in range(0, 16, 2 + k % 2)],
            length_quarters=4)
    clips = [read_clip(p) for p in sorted(d.glob("*.mid"))]
    data = trainset_from_clips(clips)
    res = train(data, "default", epochs=30, seed=0)
    return model_from_arrays(res.weights, res.meta), clips, data


def test_a_drum_absent_from_every_clip_is_never_played_and_eval_reports_zones(kick_only_model):
    model, clips, data = kick_only_model
    g = model.grid()
    hits = g.hit_masks(0.0)
    assert not hits[..., 1:, :].any()  # no snare, no hi-hat anywhere, even at threshold 0
    assert hits[..., 0, :].sum(-1).max() <= max(c.patterns[0].n_hits() for c in clips)
    ev = evaluate_model(model, clips)
    for k in ("identical_neighbours", "largest_plateau", "jump", "flam_rate", "max_hits"):
        assert k in ev["map"]
    assert ev["clips"]["absent"] == ["snare", "hihat"]
    for k in ("timing_mae_ms", "timing_baseline_ms", "velocity_mae", "velocity_baseline"):
        assert ev[k] is not None
    assert len(ev["window"]) == 4
    warnings = training_warnings(data)
    assert any("too few" in w for w in warnings)


def test_train_warns_of_identical_files(tmp_path):
    notes = [(0, 10, 36, 100), (1, 10, 38, 100)]
    smf(tmp_path / "a.mid", notes)
    smf(tmp_path / "b.mid", notes)
    data = trainset_from_clips([read_clip(tmp_path / "a.mid"), read_clip(tmp_path / "b.mid")])
    assert any("a.mid and b.mid are identical" in w for w in training_warnings(data))


def test_12_8_clips_scan_train_inspect_and_render_with_their_meter(tmp_path):
    d = tmp_path / "jig"
    d.mkdir()
    for k in range(3):
        notes = [(q * 0.5, 10, 42, 70) for q in range(12)] + [(0, 10, 36, 100), (3 + 0.5 * k, 10, 38, 100)]
        smf(d / f"j{k}.mid", notes, ts=(12, 8), length_quarters=6)

    def run(*args):
        r = subprocess.run([sys.executable, "-m", "rvae_visual", *map(str, args)], capture_output=True,
                           text=True, cwd=REPO, timeout=300)
        assert r.returncode == 0, r.stderr
        return r

    scan = json.loads(run("scan", d, "--json").stdout)
    assert {f["meter"] for f in scan["files"]} == {"12/8"}
    assert scan["totals"]["max_roundtrip_error_ms"] <= 0.5
    model = tmp_path / "jig.npz"
    r = run("train", d, "-o", model, "--epochs", "20", "--json")
    assert "too few" in r.stderr
    meta = json.loads(run("inspect", model, "--json").stdout)
    assert meta["meter"]["name"] == "12/8" and meta["meter"]["beats_per_bar"] == 4
    assert len(meta["window"]) == 4 and "max_hits" in meta["map"]
    run("render", "--model", model, "--bars", "2", "-o", tmp_path / "o.wav", "--midi", tmp_path / "o.mid")
    mid = mido.MidiFile(str(tmp_path / "o.mid"))
    sig = [m for m in mid.tracks[0] if m.type == "time_signature"][0]
    assert (sig.numerator, sig.denominator) == (12, 8)
    assert mid.length == pytest.approx(2 * 6 * 60 / (120 * 1.5), rel=1e-3)  # 2 bars of 6 quarters
    ev = json.loads(run("eval", model, d, "--json").stdout)
    assert {"timing_mae_ms", "timing_baseline_ms", "velocity_mae", "velocity_baseline"} <= set(ev)
    assert ev["onset"]["f1"] > 0


def test_round_trip_of_every_shared_clip_moves_no_note_by_more_than_half_a_ms(corpus):
    from rvae_visual.model.scan import scan

    for reading in ("musical", "nearest"):
        entries = [e for e in scan([corpus], reading=reading) if e.status == "ok"]
        assert entries
        assert max(e.max_roundtrip_error_ms for e in entries) <= 0.5
        assert sum(e.roundtrip_lost for e in entries) == 0
