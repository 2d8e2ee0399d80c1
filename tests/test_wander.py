"""The attract wander: idle -> the head wanders between the training bars, on bar lines, inside
the map, the same walk for the same seed; any input ends it at once where the head is; and the
scaling knob pickup installations use, so a visitor's first turn moves the head at once."""

from __future__ import annotations

import pytest
from render_support import FakeEngine

from rvae_visual.midi.mapping import Binding, Controller, Mapping
from rvae_visual.model.store import load_model
from rvae_visual.pattern import TICKS_PER_BAR
from rvae_visual.performance import Performance
from rvae_visual.session.start import start_session
from rvae_visual.session.wander import INNER, NEAR, Wander

POINTS = [(-1.5, 1.0), (2.0, -0.5), (0.5, 2.2)]


def _walk(seed: int, idle: float = 5.0, until: float = 2000.0) -> tuple[Wander, Performance, list]:
    perf = Performance(head=(0.0, 0.0))
    w = Wander(perf, idle_s=idle, seed=seed)
    w.set_points(POINTS)
    seen = []
    for k in range(int(until)):  # one step per tick; 10 ticks a second of `now`
        tick = float(k)
        w.step(tick, k / 10.0)
        seen.append((tick, w.active, perf.head))
    return w, perf, seen


def test_idle_the_head_wanders_from_a_bar_line_near_the_training_bars_inside_the_map():
    w, perf, seen = _walk(seed=3)
    first = next(t for t, active, head in seen if head != (0.0, 0.0))
    assert first > 50 and first % TICKS_PER_BAR == pytest.approx(1.0, abs=1.0)  # idle 5 s = tick 50, then bar 1
    assert not any(active for t, active, _ in seen if t < 50)
    heads = [h for _, _, h in seen]
    e = perf.extent * INNER
    assert all(abs(z1) <= e and abs(z2) <= e for z1, z2 in heads)
    assert w.moves >= 5
    # where each move comes to rest: near one of the training bars
    rests = {h for (t, _, h), (_, _, h2) in zip(seen, seen[1:]) if h == h2 and t > first}
    assert rests and all(min(abs(h[0] - p[0]) + abs(h[1] - p[1]) for p in POINTS) < 8 * NEAR for h in rests)
    # each move glides: many small steps, not a jump
    steps = [abs(a[0] - b[0]) + abs(a[1] - b[1]) for (_, _, a), (_, _, b) in zip(seen, seen[1:])]
    assert max(steps) < 0.2


def test_the_same_seed_walks_the_same_way_another_seed_does_not():
    a = [h for _, _, h in _walk(seed=11)[2]]
    b = [h for _, _, h in _walk(seed=11)[2]]
    c = [h for _, _, h in _walk(seed=12)[2]]
    assert a == b and a != c


def test_a_touch_stops_the_wander_where_the_head_is_and_it_comes_back_after_the_idle_time():
    perf = Performance()
    w = Wander(perf, idle_s=2.0, seed=1)
    w.set_points(POINTS)
    for k in range(300):
        w.step(float(k), k / 10.0)
    assert w.active and perf.head != (0.0, 0.0)
    here = perf.head
    w.touch(30.0)
    for k in range(300, 315):  # 1.5 s later: still the visitor's
        w.step(float(k), k / 10.0)
    assert not w.active and perf.head == here
    for k in range(315, 700):
        w.step(float(k), k / 10.0)
    assert w.active and perf.head != here


def test_a_control_takes_the_head_from_the_wander_at_once():
    """Through the conductor (as MIDI, OSC and keys do): the head is where the control put it
    in the same sync, and the wander is off until the idle time has passed again."""
    model = load_model()
    t = [0.0]
    engine = FakeEngine(position=0.0)
    perf = Performance()
    c = start_session(engine, perf, model, model.grid(), model.name, clock=lambda: t[0])
    c.wander.configure(1.0, seed=2)
    for k in range(400):
        t[0] = k / 20.0
        engine.fixed = float(k)
        c.frame(t[0], t[0])
        c.sync_at(engine.heard_position())
    assert c.wander.active and c.wander.moves >= 1
    c.apply("head_x", 0.9)
    c.sync_at(engine.heard_position())
    assert not c.wander.active and perf.head[0] == pytest.approx(-perf.extent + 2 * perf.extent * 0.9)


def test_scaling_pickup_moves_the_value_at_once_towards_the_knob_and_never_jumps():
    mapping = Mapping("test", [Binding("head_x", "cc", 70, None, "absolute", "scale")])
    value = [0.8]
    ctl = Controller(mapping, lambda a: value[0])
    assert ctl.handle([0xB0, 70, 20]) == []  # where the knob is: not yet which way it turns
    out = ctl.handle([0xB0, 70, 30])  # turned up by 10 of the 107 steps left: 10/107 of the way up
    assert out[0][0] == "head_x" and out[0][1] == pytest.approx(0.8 + 0.2 * 10 / 107)
    value[0] = out[0][1]
    prev = value[0]
    for raw in range(31, 128):
        (a, v), = ctl.handle([0xB0, 70, raw])
        assert v >= prev - 2 / 127 and v - prev < 0.02  # follows, never jumps (back at most where they meet)
        value[0] = prev = v
    assert prev == pytest.approx(1.0)  # meets the knob at the end at the latest
    (a, v), = ctl.handle([0xB0, 70, 64])  # engaged now: absolute again
    assert v == pytest.approx(64 / 127)


def test_a_playlist_changes_the_map_on_a_bar_line_only_while_nobody_plays():
    import time

    model = load_model("gmd-latin")
    t = [0.0]
    engine = FakeEngine(position=0.0)
    perf = Performance()
    c = start_session(engine, perf, model, model.grid(), "gmd-latin", clock=lambda: t[0])
    c.wander.configure(5.0, seed=1)
    c.playlist.refs, c.playlist.every_s = ["gmd-latin", "gmd-funk"], 30.0
    seen = []

    def run(until: float, visitor: bool = False) -> None:
        while t[0] < until:
            t[0] += 0.05
            if visitor and int(t[0] * 20) % 40 == 0:  # a knob turned every 2 s
                c.apply("head_x", 0.3)
            engine.fixed = t[0] * 48.0  # 120 BPM: 48 ticks a second
            c.frame(t[0], t[0])
            c.sync_at(engine.heard_position())
            seen.append((engine.fixed, c.library.current.name))
            time.sleep(0.001)  # the loader thread gets its turn

    run(20.0)
    run(34.0, visitor=True)  # a visitor plays from 20 s to past the change's time
    assert {n for _, n in seen} == {"gmd-latin"}  # not under the visitor's hands
    run(60.0)  # idle again from 39 s (5 s): wandering, the change comes
    changed = [pos for (_, a), (pos, b) in zip(seen, seen[1:]) if a != b]  # the first sync of the new map
    assert len(changed) == 1 and seen[-1][1] == "gmd-funk"
    lead = c.lead_ticks()
    assert (changed[0] + lead) % TICKS_PER_BAR < 48 * 0.05 + 0.01  # its bar line had come within the lead
    assert c.playlist.changes == 1
