"""Player glue without pygame: control values for soft takeover, and learn mode by keys and clicks."""

from __future__ import annotations

import queue
import pytest

from rvae_visual.midi.learn import Learn
from rvae_visual.midi.mapping import Controller, load_mapping, load_preset
from rvae_visual.controls import value_of, vocabulary
from rvae_visual.midi.player import LearnMode
from rvae_visual.midi.system import MidiConfig, MidiSystem
from rvae_visual.performance import Performance


def test_control_values_are_in_the_units_midi_sends():
    p = Performance(n_instruments=3, extent=3.0, threshold=0.4, noise=0.25, seed=0, bpm=133.0, head=(1.5, -3.0))
    p.set_latch(1, True)
    p.mute_all = False
    vocab = vocabulary()

    def value(name):
        return value_of(p, vocab[name])

    assert value("head_x") == pytest.approx(0.75)
    assert value("head_y") == pytest.approx(0.0)
    assert value("threshold") == pytest.approx(0.4)
    assert value("noise") == pytest.approx(0.25)
    assert value("tempo") == 133.0
    assert value("mute_snare") == 1.0 and value("mute_kick") == 0.0
    assert value("mute_all") == 0.0 and value("listen") == 1.0
    assert value("next_kit") is None


def make_system(tmp_path) -> MidiSystem:
    s = MidiSystem(MidiConfig(midi_in="virtual"), queue.SimpleQueue(), err=None)
    s.controller = Controller(load_preset("generic"))
    s.learner = Learn(s.controller, tmp_path / "controller.toml")
    return s


def test_learn_mode_by_key_knob_and_map(tmp_path):
    s = make_system(tmp_path)
    lm = LearnMode(s)
    assert not lm.key("q", False)  # not in learn mode: Q is the player's
    assert lm.key("tab", False) and lm.active and lm.status()
    assert lm.key("w", True) and s.learning == "mute_snare"
    s.learner.offer([0x99, 50, 100])  # a pad on channel 10
    assert s.learning is None
    assert lm.knob("threshold") and s.learning == "threshold"
    s.learner.offer([0xB0, 20, 3])
    assert lm.map_click() and s.learning == "head_x"
    s.learner.offer([0xB0, 21, 64])
    lm.poll()
    assert s.learning == "head_y" and "head_y" in lm.status()[0]
    s.learner.offer([0xB0, 22, 64])
    lm.poll()
    assert s.learning is None
    saved = load_mapping(tmp_path / "controller.toml")
    got = {b.action: (b.kind, b.number) for b in saved.bindings}
    assert got["mute_snare"] == ("note", 50) and got["threshold"] == ("cc", 20)
    assert got["head_x"] == ("cc", 21) and got["head_y"] == ("cc", 22)
    assert lm.key("escape", False) and not lm.active  # Esc leaves learn mode, does not quit
    assert not lm.knob("noise")
