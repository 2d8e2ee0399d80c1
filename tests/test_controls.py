"""The controls vocabulary: built from the drum map, one key table, and every source of controls
(keys, a controller mapping, the script) going through it."""

from __future__ import annotations

import tomllib

import pytest
from render_support import FakeEngine, build_app, random_model

from rvae_visual import controls as ctl
from rvae_visual.drum_map import DrumMap
from rvae_visual.midi.mapping import Controller, all_actions, mapping_from_dict
from rvae_visual.performance import Performance

FOUR = DrumMap("four", ("kick", "snare", "hihat", "tom"), (36, 38, 42, 45),
               ((35, 36), (38, 40), (42, 44, 46), (41, 43, 45, 47)))


def test_a_vocabulary_has_a_mute_and_a_threshold_for_every_instrument_of_its_drum_map():
    v = ctl.vocabulary(FOUR.instruments)
    assert [c.name for c in v.controls if c.instrument is not None] == \
        ["mute_kick", "mute_snare", "mute_hihat", "mute_tom",
         "threshold_kick", "threshold_snare", "threshold_hihat", "threshold_tom"]
    assert v["threshold_tom"].instrument == 3 and (v["threshold_tom"].lo, v["threshold_tom"].hi) == (-0.5, 0.5)
    assert v["mute_tom"].instrument == 3 and v["mute_tom"].kind == ctl.TOGGLE
    assert "mute_tom" in all_actions(FOUR.instruments) and "mute_tom" not in all_actions()
    assert "quit" in v and "quit" not in v.bindable()  # window controls are not for controllers
    tempo = v["tempo"]
    assert (tempo.lo, tempo.hi, tempo.unit) == (ctl.BPM_MIN, ctl.BPM_MAX, "BPM")
    assert tempo.knob_range == ctl.BPM_KNOB


def test_apply_and_value_of_are_inverse_for_every_continuous_and_toggle_control():
    v = ctl.vocabulary(FOUR.instruments)
    p = Performance(n_instruments=4, extent=2.0)
    for c in v.of_kind(ctl.CONTINUOUS, ctl.TOGGLE):
        if c.target != ctl.PERFORMANCE:
            continue  # the window keeps those (afterglow)
        lo, hi = c.lo, c.hi
        for value in (lo + 0.25 * (hi - lo), hi) if c.kind == ctl.CONTINUOUS else (1.0, 0.0):
            ctl.apply(p, c, value, now=1.0)
            assert ctl.value_of(p, c) == pytest.approx(c.snap(value)), c.name
    assert ctl.value_of(p, v["next_model"]) is None


def test_quantize_is_a_control_of_three_named_steps_and_x_cycles_it():
    v = ctl.vocabulary()
    p = Performance()
    q = v["quantize"]
    assert q.choices == ("tick", "beat", "bar") and (q.lo, q.hi) == (0.0, 2.0)
    for value, name in ((0.0, "tick"), (0.4, "tick"), (0.6, "beat"), (1.49, "beat"), (1.7, "bar"), (9.0, "bar")):
        ctl.apply(p, q, value, now=0.0)
        assert p.quantize == name, value
    key = v.key("x", False)
    assert key is not None and key.control == "next_quantize"
    seen = []
    for _ in range(4):
        ctl.apply(p, v["next_quantize"], 1.0, now=0.0)
        seen.append(p.quantize)
    assert seen == ["tick", "beat", "bar", "tick"]
    ctl.apply(p, v["next_quantize"], 0.0, now=0.0)  # a release does not step
    assert p.quantize == "tick"


def test_tap_tempo_follows_the_taps_and_starts_again_after_a_pause():
    v = ctl.vocabulary()
    p = Performance(bpm=120.0)
    tap = v["tap_tempo"]
    assert v.key("b", False) is not None and v.key("b", False).control == "tap_tempo"
    ctl.apply(p, tap, 1.0, now=10.0)
    assert p.bpm == 120.0  # one tap says nothing yet
    for t in (10.5, 11.0, 11.5):  # 0.5 s apart: 120 -> stays 120
        ctl.apply(p, tap, 1.0, now=t)
    assert p.bpm == pytest.approx(120.0)
    for t in (20.0, 20.6, 21.2, 21.8, 22.4):  # after a pause: a new count at 0.6 s = 100 BPM
        ctl.apply(p, tap, 1.0, now=t)
    assert p.bpm == pytest.approx(100.0)
    for t in (22.8, 23.2):  # faster taps pull the median over the last four intervals
        ctl.apply(p, tap, 1.0, now=t)
    assert p.bpm == pytest.approx(120.0)  # the last four intervals 0.6, 0.6, 0.4, 0.4: median 0.5 s
    ctl.apply(p, tap, 1.0, now=23.2)  # two taps at one instant (a bounced pad) start again
    assert p.bpm == pytest.approx(120.0)


def test_the_key_table_gives_help_and_learn_targets_from_one_place():
    v = ctl.vocabulary(FOUR.instruments)
    rows = dict(v.help_rows())
    assert "Tab" in rows and rows["Esc"] == "quit"
    assert v.key("equals", False) is None and v.key("=", True).step == ctl.TEMPO_STEP
    assert ctl.key_step(v.key("=", True), True) == ctl.TEMPO_STEP * ctl.TEMPO_SHIFT  # Shift+= is +5
    learn = v.learn_keys()
    assert learn[("q", False)] == "mute_kick" and learn[("m", True)] == "prev_model"
    assert ("escape", False) not in learn and ("f", False) not in learn


def test_a_controller_pad_bound_to_the_fourth_instruments_mute_mutes_it_while_held(pg):
    from rvae_visual.render.window import Window

    model = random_model(drum_map=FOUR)
    engine = FakeEngine()
    perf = Performance(n_instruments=4)
    app = build_app(Window(fullscreen=False, size=(640, 480), vsync="off"), engine, perf, model,
                    model.grid(), "four")
    text = '[[bind]]\naction = "mute_tom"\nnote = 45\nchannel = 10\nmode = "momentary"\n'
    controller = Controller(mapping_from_dict(tomllib.loads(text), "pads.toml", FOUR.instruments),
                            app.conductor.value_of)
    app.step()
    assert engine.last("mutes") == [False] * 4
    for action in controller.handle([0x99, 45, 100]):  # pad down on channel 10
        app.conductor.controls.put(action)
    app.step()
    assert engine.last("mutes") == [False, False, False, True]
    assert app.hud_state().mutes == (False, False, False, True)
    for action in controller.handle([0x89, 45, 0]):  # pad up
        app.conductor.controls.put(action)
    app.step()
    assert engine.last("mutes") == [False] * 4
    app.conductor.apply("no_such_control", 1.0)
    assert "unknown control" in app.messages.text
