"""Controller mapping files, soft takeover, relative encoders, buttons, and MIDI learn (pure logic)."""

from __future__ import annotations

import tomllib

import pytest

from rvae_visual.errors import InputError
from rvae_visual.midi.learn import Learn
from rvae_visual.midi.mapping import (Binding, Controller, Mapping, decode_relative, load_mapping,
                                      load_preset, mapping_from_dict, preset_names, resolve_controller,
                                      save_mapping, user_mapping_path)


def cc(num: int, val: int, ch: int = 1) -> list[int]:
    return [0xB0 | (ch - 1), num, val]


def note_on(num: int, vel: int = 100, ch: int = 1) -> list[int]:
    return [0x90 | (ch - 1), num, vel]


def note_off(num: int, ch: int = 1) -> list[int]:
    return [0x80 | (ch - 1), num, 0]


def test_presets_load_and_round_trip_through_toml():
    assert {"generic", "kaoss"} <= set(preset_names())
    for name in preset_names():
        m = load_preset(name)
        assert m.bindings
        again = mapping_from_dict(tomllib.loads(m.to_toml()), "again")
        assert again.bindings == m.bindings
        assert again.name == m.name


def test_kaoss_preset_moves_the_head_with_cc_12_13_on_channel_1():
    c = Controller(load_preset("kaoss"))
    assert c.handle(cc(12, 127)) == [("head_x", 1.0)]
    assert c.handle(cc(13, 0)) == [("head_y", 0.0)]
    assert c.handle(cc(12, 64, ch=2)) == []  # other channel
    assert c.handle(cc(92, 127)) == [("listen", 1.0)]
    assert c.handle(cc(92, 0)) == []  # release does not stop listening


def test_bad_mapping_files_give_one_line_naming_the_file(tmp_path):
    cases = {
        "syntax.toml": "name = \n",
        "action.toml": "[[bind]]\naction = 'fly'\ncc = 1\n",
        "number.toml": "[[bind]]\naction = 'head_x'\ncc = 128\n",
        "both.toml": "[[bind]]\naction = 'mute_kick'\ncc = 1\nnote = 2\n",
        "channel.toml": "[[bind]]\naction = 'head_x'\ncc = 1\nchannel = 17\n",
        "mode.toml": "[[bind]]\naction = 'head_x'\ncc = 1\nmode = 'latch'\n",
        "notecont.toml": "[[bind]]\naction = 'threshold'\nnote = 1\n",
        "range.toml": "[[bind]]\naction = 'tempo'\ncc = 1\nmin = 200.0\nmax = 100.0\n",
        "key.toml": "[[bind]]\naction = 'tempo'\ncc = 1\nspeed = 2\n",
    }
    for fname, text in cases.items():
        p = tmp_path / fname
        p.write_text(text)
        with pytest.raises(InputError) as ei:
            load_mapping(p)
        msg = str(ei.value)
        assert str(p) in msg and "\n" not in msg, msg
    with pytest.raises(InputError, match="missing.toml"):
        load_mapping(tmp_path / "missing.toml")


def test_absolute_knob_soft_takeover_waits_until_it_passes_the_value():
    value = {"threshold": 0.5}
    m = Mapping("t", [Binding("threshold", "cc", 72, None)])
    c = Controller(m, get_value=value.get)
    assert c.handle(cc(72, 10)) == []  # far below 0.5: ignored
    assert c.handle(cc(72, 40)) == []
    out = c.handle(cc(72, 70))  # crossed 0.5 (63.5/127) between 40 and 70: takes over
    assert out and out[0][0] == "threshold" and out[0][1] == pytest.approx(70 / 127)
    value["threshold"] = 70 / 127
    assert c.handle(cc(72, 71))[0][1] == pytest.approx(71 / 127)
    # the player's value lags a frame behind: our own recent values are not "someone else"
    assert c.handle(cc(72, 73))[0][1] == pytest.approx(73 / 127)
    # keys move the threshold elsewhere: the knob lets go until it passes the new value
    value["threshold"] = 0.1
    assert c.handle(cc(72, 74)) == []
    assert c.handle(cc(72, 30)) == []
    assert c.handle(cc(72, 12))[0][1] == pytest.approx(12 / 127)  # 12/127 ~ 0.094, within a step


def test_jump_takeover_and_value_ranges_and_invert():
    m = Mapping("t", [Binding("tempo", "cc", 1, 1, "absolute", "jump", lo=100.0, hi=140.0),
                      Binding("head_y", "cc", 2, 1, "absolute", "jump", invert=True)])
    c = Controller(m, get_value=lambda a: 0.3)
    assert c.handle(cc(1, 0)) == [("tempo", 100.0)]
    assert c.handle(cc(1, 127)) == [("tempo", 140.0)]
    assert c.handle(cc(2, 127)) == [("head_y", 0.0)]


@pytest.mark.parametrize("mode,up,down", [("relative-twos", 1, 127), ("relative-offset", 65, 63),
                                          ("relative-sign", 1, 65)])
def test_relative_encoders_step_from_the_current_value(mode, up, down):
    assert decode_relative(up, mode) == 1 and decode_relative(down, mode) == -1
    value = {"tempo": 120.0}
    m = Mapping("t", [Binding("tempo", "cc", 5, None, mode, step=1.0, lo=60.0, hi=180.0)])
    c = Controller(m, get_value=value.get)
    assert c.handle(cc(5, up)) == [("tempo", 121.0)]
    assert c.handle(cc(5, up)) == [("tempo", 122.0)]  # player has not caught up yet: keep counting
    value["tempo"] = 90.0  # changed by a key
    assert c.handle(cc(5, down)) == [("tempo", 89.0)]
    want = 89.0 + (3 if mode != "relative-offset" else 4)
    assert c.handle(cc(5, up + 2 if mode != "relative-offset" else 68))[0][1] == pytest.approx(want)


def test_relative_encoder_is_clamped_to_its_range():
    m = Mapping("t", [Binding("threshold", "cc", 5, None, "relative-twos")])
    c = Controller(m, get_value=lambda a: 0.995)
    assert c.handle(cc(5, 10)) == [("threshold", 1.0)]


def test_mute_modes_momentary_latch_and_triggers():
    state = {"mute_snare": 0.0}
    m = Mapping("t", [Binding("mute_kick", "note", 36, 10, "momentary"),
                      Binding("mute_snare", "note", 37, 10, "latch"),
                      Binding("start_stop", "cc", 20, 10, "trigger")])
    c = Controller(m, get_value=state.get)
    assert c.handle(note_on(36, ch=10)) == [("mute_kick", 1.0)]
    assert c.handle(note_off(36, ch=10)) == [("mute_kick", 0.0)]
    assert c.handle(note_on(36, ch=9)) == []  # channel 10 only
    assert c.handle(note_on(37, ch=10)) == [("mute_snare", 1.0)]
    assert c.handle(note_off(37, ch=10)) == []
    state["mute_snare"] = 1.0
    assert c.handle(note_on(37, 0, ch=10)) == []  # note-on velocity 0 is a release
    assert c.handle(note_on(37, ch=10)) == [("mute_snare", 0.0)]
    assert c.handle(cc(20, 127, ch=10)) == [("start_stop", 1.0)]
    assert c.handle(cc(20, 127, ch=10)) == []  # still held: no second press
    assert c.handle(cc(20, 0, ch=10)) == []
    assert c.handle(cc(20, 100, ch=10)) == [("start_stop", 1.0)]


def test_learn_binds_the_next_control_saves_it_and_it_works_at_once(tmp_path):
    path = tmp_path / "cfg" / "controller.toml"
    value = {"noise": 0.0}
    c = Controller(load_preset("generic"), get_value=value.get)
    learn = Learn(c, path)
    learn.start("noise")
    assert learn.active and "noise" in learn.message
    assert learn.offer(note_on(60)) is None  # a note cannot drive a knob: keep waiting
    b = learn.offer(cc(21, 0, ch=3))
    assert b is not None and (b.kind, b.number, b.channel, b.action) == ("cc", 21, 3, "noise")
    assert not learn.active and str(path) in learn.message
    # works at once (soft takeover: the knob at 0 equals the value 0)
    assert c.handle(cc(21, 0, ch=3)) == [("noise", 0.0)]
    assert c.handle(cc(21, 10, ch=3)) == [("noise", pytest.approx(10 / 127))]
    assert c.handle(cc(73, 64)) == []  # the old noise knob is unbound
    saved = load_mapping(path)
    assert [x for x in saved.bindings if x.action == "noise"] == [b]
    assert len(saved.bindings) == len(load_preset("generic").bindings)


def test_learn_keeps_relative_mode_and_takes_the_control_from_its_old_action(tmp_path):
    m = Mapping("t", [Binding("tempo", "cc", 5, 1, "relative-offset", step=0.5),
                      Binding("threshold", "cc", 9, 1)])
    c = Controller(m)
    learn = Learn(c, tmp_path / "m.toml")
    learn.start("tempo")
    b = learn.offer(cc(9, 65))
    assert b.mode == "relative-offset" and b.step == 0.5 and b.number == 9
    assert [x.action for x in c.mapping.bindings] == ["tempo"]
    with pytest.raises(InputError):
        learn.start("warp")


def test_resolve_controller_user_file_preset_and_path(tmp_path):
    user = tmp_path / "controller.toml"
    m, save = resolve_controller(None, user)
    assert m.name == "generic" and save == user
    save_mapping(Mapping("mine", [Binding("head_x", "cc", 1, 2)]), user)
    m, save = resolve_controller(None, user)
    assert m.name == "mine"
    m, save = resolve_controller("kaoss", user)
    assert m.name == "kaoss" and save == user
    other = tmp_path / "other.toml"
    save_mapping(Mapping("other", []), other)
    m, save = resolve_controller(str(other), user)
    assert m.name == "other" and save == other
    with pytest.raises(InputError, match="not a preset"):
        resolve_controller("nonesuch", user)
    assert user_mapping_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "rvae-visual" / "controller.toml"


def test_waiting_takeover_reports_the_physical_knob_until_it_picks_up():
    from rvae_visual.midi.mapping import Controller, Mapping

    value = {"threshold": 0.5}
    c = Controller(Mapping("t", [Binding("threshold", "cc", 16, None, takeover="soft")]), value.get)
    assert c.waiting_takeover() == []
    assert c.handle([0xB0, 16, 100]) == []  # far from 0.5: not taken over
    (action, knob, now), = c.waiting_takeover()
    assert action == "threshold" and knob == pytest.approx(100 / 127) and now == 0.5
    assert c.handle([0xB0, 16, 64])  # within a step of 0.5: picked up
    assert c.waiting_takeover() == []
