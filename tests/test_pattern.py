import numpy as np
import pytest

from rvae_visual.drum_map import DrumMap, default_drum_map, load_drum_map
from rvae_visual.errors import InputError
from rvae_visual.pattern import TICKS_PER_BAR, Pattern, samples_per_tick


def make(hits, n=3):
    on = np.zeros((n, TICKS_PER_BAR), np.float32)
    vel = np.zeros_like(on)
    off = np.zeros_like(on)
    for tick, inst, v, o in hits:
        on[inst, tick] = 1.0
        vel[inst, tick] = v
        off[inst, tick] = o
    return Pattern(on, vel, off)


def test_hits_are_sorted_and_thresholded():
    p = make([(48, 1, 0.5, 0.25), (0, 2, 0.3, -0.5), (0, 0, 1.0, 0.0)])
    hits = p.hits(0.5)
    assert [(h.tick, h.instrument) for h in hits] == [(0, 0), (0, 2), (48, 1)]
    assert hits[1].offset == pytest.approx(-0.5)
    # strictly greater than the threshold
    half = Pattern(p.onsets * 0.5, p.velocities, p.offsets)
    assert half.hits(0.5) == []
    assert len(half.hits(0.49)) == 3


def test_pattern_is_immutable_and_checks_shape():
    p = Pattern.empty()
    with pytest.raises(ValueError):
        p.onsets[0, 0] = 1
    with pytest.raises(ValueError):
        Pattern(np.zeros((3, 95)), np.zeros((3, 95)), np.zeros((3, 95)))
    with pytest.raises(ValueError):
        Pattern(np.zeros((3, 96)), np.zeros((2, 96)), np.zeros((3, 96)))


def test_array_round_trip():
    p = make([(5, 1, 0.7, 0.1)])
    assert Pattern.from_array(p.to_array()) == p


def test_samples_per_tick():
    # 120 BPM: a quarter is 0.5 s = 24000 samples at 48 kHz, a tick is 1000 samples
    assert samples_per_tick(120, 48000) == pytest.approx(1000.0)


def test_default_drum_map_holds_gmd_hat_notes():
    dm = default_drum_map()
    assert dm.instruments == ("kick", "snare", "hihat")
    assert dm.out_notes == (36, 38, 42)
    for note in (42, 22, 26, 44, 46):
        assert dm.instrument_of(note) == 2
    assert dm.instrument_of(36) == 0 and dm.instrument_of(38) == 1
    assert dm.instrument_of(49) == -1  # crash is not mapped
    assert DrumMap.from_dict(dm.to_dict()) == dm


@pytest.mark.parametrize("text,words", [
    ("not = [toml", "not valid TOML"),
    ("name='x'\n", "needs at least one [[instrument]]"),
    ("[[instrument]]\nname='k'\nnotes=[36]\n[[instrument]]\nname='s'\nnotes=[36]\n", "note 36 is in both"),
    ("[[instrument]]\nname='k'\nnotes=[200]\n", "MIDI numbers 0-127"),
    ("channel=17\n[[instrument]]\nname='k'\nnotes=[36]\n", "expected 1-16"),
])
def test_bad_drum_map_is_one_line_naming_the_file(tmp_path, text, words):
    f = tmp_path / "map.toml"
    f.write_text(text)
    with pytest.raises(InputError) as e:
        load_drum_map(f)
    msg = str(e.value)
    assert str(f) in msg and words in msg and "\n" not in msg
