"""The app's logic under the SDL dummy driver with a recording fake engine: keys, mouse, knobs,
controller actions, dropped files, noise per bar. (Real audio is in test_play_e2e.py.)"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from render_support import FakeEngine, build_app, random_model_file

from rvae_visual.model.store import load_model
from rvae_visual.pattern import Pattern
from rvae_visual.performance import NOISE_MAX, Performance


@pytest.fixture(scope="module")
def model():
    return load_model()


def make_app(pg, model, head=(0.0, 0.0), noise=0.0, position=0.0, models=(), hud=True):
    from rvae_visual.render.window import Window

    window = Window(fullscreen=False, size=(1280, 720), vsync="off")
    perf = Performance(head=head, noise=noise, seed=5)
    engine = FakeEngine(position=position)
    ref = model.path or model.name
    app = build_app(window, engine, perf, model, model.grid(), ref, models=list(models) or [(model.name, ref)],
                    kits=["808", "acoustic"], show_hud=hud)
    return app, engine


def key(pg, k, up=False, mod=0, uni=""):
    pg.event.post(pg.event.Event(pg.KEYUP if up else pg.KEYDOWN, key=k, mod=mod, unicode=uni, scancode=0))


def same(a: Pattern, b: Pattern) -> bool:
    return a == b


def test_first_frame_publishes_the_pattern_under_the_head(pg, model):
    app, engine = make_app(pg, model, head=(0.8, -1.1))
    app.step()
    assert len(engine.published) == 1
    assert same(engine.published[0], model.decode_pattern(0.8, -1.1))
    app.step()
    assert len(engine.published) == 1  # nothing changed: nothing re-published
    assert engine.last("bpm") == 120.0 and engine.last("threshold") == 0.5
    assert engine.last("mutes") == [False, False, False] and engine.last("playing") is True


def test_keys_change_the_performance_and_reach_the_engine(pg, model):
    app, engine = make_app(pg, model)
    app.step()
    key(pg, pg.K_UP)
    key(pg, pg.K_UP)
    key(pg, pg.K_DOWN, mod=pg.KMOD_LSHIFT)
    key(pg, pg.K_RIGHT)
    key(pg, pg.K_q)  # held mute on kick
    key(pg, pg.K_e, mod=pg.KMOD_LSHIFT)  # latch hi-hat
    key(pg, pg.K_EQUALS, uni="=")
    key(pg, pg.K_EQUALS, uni="=")
    key(pg, pg.K_SPACE)
    app.step()
    assert app.conductor.perf.threshold == pytest.approx(0.59)
    assert app.conductor.perf.noise == pytest.approx(0.05)
    assert engine.last("threshold") == pytest.approx(0.59)
    assert engine.last("mutes") == [True, False, True]
    assert engine.last("bpm") == 122
    assert engine.last("playing") is False
    assert app.view.threshold == pytest.approx(0.59)  # the map follows the threshold
    key(pg, pg.K_q, up=True)
    key(pg, pg.K_MINUS, uni="-")
    key(pg, pg.K_SPACE)
    app.step()
    assert engine.last("mutes") == [False, False, True]
    assert engine.last("bpm") == 121 and engine.last("playing") is True
    key(pg, pg.K_r)
    app.step()
    assert engine.last("mutes") == [True, True, True]
    key(pg, pg.K_r)
    key(pg, pg.K_e, mod=pg.KMOD_LSHIFT)
    app.step()
    assert engine.last("mutes") == [False, False, False]


def test_enter_silences_the_head_and_brings_it_back(pg, model):
    app, engine = make_app(pg, model, head=(1.0, 1.0))
    app.step()
    key(pg, pg.K_RETURN)
    app.step()
    assert not app.conductor.perf.listening
    assert engine.published[-1].n_hits(0.0) == 0
    key(pg, pg.K_RETURN)
    app.step()
    assert same(engine.published[-1], model.decode_pattern(1.0, 1.0))


def test_h_l_c_and_esc(pg, model):
    app, engine = make_app(pg, model)
    app.conductor.perf.place_head(0.5, 0.5, now=app.clock())
    key(pg, pg.K_h)
    key(pg, pg.K_l)
    key(pg, pg.K_c)
    app.step()
    assert not app.hud.visible and not app.show_landmarks and not app.conductor.perf.trail
    assert app.running
    key(pg, pg.K_ESCAPE)
    app.step()
    assert not app.running


def test_click_away_from_the_head_moves_it_and_plays_the_new_point(pg, model):
    app, engine = make_app(pg, model, head=(0.0, 0.0))
    app.step()
    g = app.geometry()
    target = g.latent_to_pixel(-2.0, 1.5)
    pg.event.post(pg.event.Event(pg.MOUSEBUTTONDOWN, button=1, pos=target))
    pg.event.post(pg.event.Event(pg.MOUSEBUTTONUP, button=1, pos=target))
    app.step()
    z = g.pixel_to_latent(*target)
    assert app.conductor.perf.head == pytest.approx(z)
    assert app.conductor.perf.listening
    assert same(engine.published[-1], model.decode_pattern(*z))


def test_click_on_the_head_toggles_listening(pg, model):
    app, engine = make_app(pg, model, head=(0.5, -0.5))
    app.step()
    g = app.geometry()
    on_head = g.latent_to_pixel(0.5, -0.5)
    for expect in (False, True):
        pg.event.post(pg.event.Event(pg.MOUSEBUTTONDOWN, button=1, pos=on_head))
        pg.event.post(pg.event.Event(pg.MOUSEBUTTONUP, button=1, pos=on_head))
        app.step()
        assert app.conductor.perf.listening is expect
        assert app.conductor.perf.head == (0.5, -0.5)  # a click on the head does not move it
    assert engine.published[-2].n_hits(0.0) == 0


def test_drag_moves_the_head_along_and_leaves_a_trail(pg, model):
    app, engine = make_app(pg, model, head=(0.0, 0.0))
    app.step()
    g = app.geometry()
    start = g.latent_to_pixel(0.0, 0.0)
    path = [(start[0] + 10 * k, start[1] - 6 * k) for k in range(1, 21)]
    pg.event.post(pg.event.Event(pg.MOUSEBUTTONDOWN, button=1, pos=start))
    app.step()
    seen = set()
    for pos in path:
        pg.event.post(pg.event.Event(pg.MOUSEMOTION, pos=pos, rel=(10, -6), buttons=(1, 0, 0)))
        app.step()
        assert app.conductor.perf.head == pytest.approx(g.pixel_to_latent(*pos))
        seen.add(id(engine.published[-1]))
    pg.event.post(pg.event.Event(pg.MOUSEBUTTONUP, button=1, pos=path[-1]))
    app.step()
    assert app.conductor.perf.listening  # a drag from the head does not toggle it
    assert len(seen) == len(path)  # the rhythm followed the head at every step
    assert same(engine.published[-1], model.decode_pattern(*g.pixel_to_latent(*path[-1])))
    pts = app.conductor.perf.trail_points(app.clock())
    assert len(pts) >= len(path) and pts[-1][1:3] == pytest.approx(app.conductor.perf.head)
    assert app.conductor.perf.head[1] > 0 and app.conductor.perf.head[0] > 0  # dragged up and right


def test_threshold_knob_drag_and_wheel(pg, model):
    app, engine = make_app(pg, model)
    app.step()
    cx, cy, r = app.hud.knobs["threshold"]
    pg.event.post(pg.event.Event(pg.MOUSEBUTTONDOWN, button=1, pos=(int(cx), int(cy))))
    pg.event.post(pg.event.Event(pg.MOUSEMOTION, pos=(int(cx), int(cy) - 60), rel=(0, -60), buttons=(1, 0, 0)))
    pg.event.post(pg.event.Event(pg.MOUSEBUTTONUP, button=1, pos=(int(cx), int(cy) - 60)))
    app.step()
    assert app.conductor.perf.threshold == pytest.approx(0.5 + 60 / 200)
    assert app.conductor.perf.head == (0.0, 0.0)  # the knob press did not move the head
    assert engine.last("threshold") == pytest.approx(0.8)


def test_controller_actions_from_another_thread(pg, model):
    app, engine = make_app(pg, model)
    app.step()
    actions = [("head_x", 0.25), ("head_y", 1.0), ("threshold", 0.3), ("noise", 0.5), ("tempo", 97.0),
               ("mute_snare", 1.0), ("start_stop", 1.0)]
    t = threading.Thread(target=lambda: [app.conductor.controls.put(a) for a in actions])
    t.start()
    t.join()
    app.step()
    p = app.conductor.perf
    assert p.head == pytest.approx((-1.5, 3.0))
    assert p.threshold == pytest.approx(0.3)
    assert p.noise == pytest.approx(0.5 * NOISE_MAX)
    assert engine.last("bpm") == 97.0
    assert engine.last("mutes") == [False, True, False]
    assert engine.last("playing") is False
    assert same(engine.published[-1], model.decode_pattern(*p.target(0)))
    app.conductor.controls.put(("mute_snare", 0.0))
    app.conductor.controls.put(("mute_all", 1.0))
    app.conductor.controls.put(("listen", 0.0))
    app.step()
    assert engine.last("mutes") == [True, True, True]
    assert engine.published[-1].n_hits(0.0) == 0


def test_noise_jitters_the_head_once_per_bar_published_just_before_the_bar(pg, model):
    app, engine = make_app(pg, model, head=(0.3, 0.2), noise=0.6)
    lead = app.conductor.lead_ticks()
    assert 0.5 < lead < 3.0  # at 120 BPM, 60 fps, no output latency
    for bar in range(4):
        for tick in (0.0, 30.0, 95.9 - lead):
            engine.fixed = bar * 96 + tick
            app.step()
        assert len(engine.published) == bar + 1  # bar's jitter heard, next bar's not yet sent
        engine.fixed = bar * 96 + 96.1 - lead
        app.step()
        assert len(engine.published) == bar + 2  # next bar's pattern goes out ahead of its bar line
    for bar in range(5):
        assert same(engine.published[bar], model.decode_pattern(*app.conductor.perf.target(bar)))
    assert len({app.conductor.perf.target(b) for b in range(5)}) == 5


def _step_until(app, cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        app.step()
        time.sleep(0.01)


def test_dropping_a_model_file_swaps_it_in_and_keeps_playing(pg, model, tmp_path):
    app, engine = make_app(pg, model, head=(1.0, 1.0))
    app.step()
    path = random_model_file(tmp_path / "other.npz", seed=4)
    pg.event.post(pg.event.Event(pg.DROPFILE, file=path))
    _step_until(app, lambda: app.library.current.ref == path)
    app.step()
    other = load_model(path)
    assert app.library.current.name == "other"
    assert same(engine.published[-1], other.decode_pattern(1.0, 1.0))
    assert np.array_equal(app.view.onsets, other.grid().onsets)
    assert engine.last("playing") is True and ("playing", False) not in engine.calls
    # M cycles back to the first model
    key(pg, pg.K_m)
    _step_until(app, lambda: app.library.current.ref == (model.path or model.name))
    assert same(engine.published[-1], model.decode_pattern(1.0, 1.0))


@pytest.mark.parametrize("content,name,why", [
    (b"this is not a model", "bad.npz", "not an rvae-visual model file"),
    (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60", "clip.mid", "drop the folder"),
])
def test_dropping_a_bad_file_says_so_and_changes_nothing(pg, model, tmp_path, capsys, content, name, why):
    app, engine = make_app(pg, model)
    app.step()
    before = (app.library.current, len(engine.published))
    bad = tmp_path / name
    bad.write_bytes(content)
    pg.event.post(pg.event.Event(pg.DROPFILE, file=str(bad)))
    _step_until(app, lambda: app.messages.is_error)
    assert str(bad) in app.messages.text and why in app.messages.text
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0]
    for _ in range(3):
        app.step()
    assert (app.library.current, len(engine.published)) == before
    assert ("playing", False) not in engine.calls


def test_kit_keys_switch_kits_on_the_engine(pg, model):
    app, engine = make_app(pg, model)
    app.step()
    key(pg, pg.K_k)
    _step_until(app, lambda: app.library.kit_name == "acoustic")
    assert engine.last("kit") == "acoustic"
    key(pg, pg.K_k, mod=pg.KMOD_LSHIFT)
    _step_until(app, lambda: app.library.kit_name == "808")


def test_extension_points_for_midi_and_others(pg, model):
    app, engine = make_app(pg, model)
    seen, frames, quit_calls = [], [], []

    def eat_tab(ev) -> bool:
        seen.append(ev.type)
        return ev.type == pg.KEYDOWN and ev.key == pg.K_TAB

    app.event_filters.append(eat_tab)
    app.frame_hooks.append(lambda a: frames.append(a.conductor.perf.threshold))
    app.hud_lines.append(lambda: "MIDI learn: pick a control")
    app.shutdown_hooks.append(lambda: quit_calls.append(1))
    key(pg, pg.K_TAB)
    key(pg, pg.K_UP)
    app.step()
    assert pg.KEYDOWN in seen
    assert app.conductor.perf.threshold == pytest.approx(0.55)  # Tab was consumed, Up was not
    assert frames == [0.55]
    assert "MIDI learn: pick a control" in app.hud_state().extra
    app.shutdown()
    assert quit_calls == [1]


def test_losing_focus_releases_held_mutes_but_not_latched_ones(pg, model):
    app, engine = make_app(pg, model)
    key(pg, pg.K_q)
    key(pg, pg.K_w, mod=pg.KMOD_LSHIFT)
    app.step()
    assert engine.last("mutes") == [True, True, False]
    pg.event.post(pg.event.Event(pg.WINDOWFOCUSLOST))
    app.step()
    assert engine.last("mutes") == [False, True, False]


def test_locate_starts_the_engine_at_a_tick_with_that_bars_pattern(pg, model):
    app, engine = make_app(pg, model, head=(0.3, 0.2), noise=0.6)
    app.conductor.perf.playing = False
    app.step()
    assert engine.last("playing") is False
    app.conductor.locate(96 * 7 + 30.0, at=None)  # a clock's Song Position (bar 8) + Continue
    assert app.conductor.perf.playing and engine.last("locate") == (96 * 7 + 30.0, None)
    # the pattern for bar 8's jitter goes out with it, not a frame later
    assert same(engine.published[-1], model.decode_pattern(*app.conductor.perf.target(7)))
    n = len(engine.calls)
    engine.fixed = 96 * 7 + 31.0
    app.step()
    assert ("playing", True) not in engine.calls[n:]  # the locate started it: no second start


def test_g_and_t_change_the_afterglow_and_show_the_rhythm_regions(pg, model):
    from rvae_visual.render.mapview import MapLook

    app, engine = make_app(pg, model)
    app.look = MapLook(glow_ticks=6)
    app.view.set_look(app.look)
    key(pg, pg.K_g)
    app.step()
    assert app.look.glow_ticks == 9 and app.view.look.glow_ticks == 9
    assert "afterglow 9 ticks" in app.messages.text
    key(pg, pg.K_g, mod=pg.KMOD_LSHIFT)
    key(pg, pg.K_g, mod=pg.KMOD_LSHIFT)
    key(pg, pg.K_g, mod=pg.KMOD_LSHIFT)
    key(pg, pg.K_g, mod=pg.KMOD_LSHIFT)
    app.step()
    assert app.look.glow_ticks == 0  # not below zero
    assert not app.view.topology
    key(pg, pg.K_t)
    app.step()
    assert app.view.topology and "rhythm regions on" in app.messages.text
    assert app.conductor.value_of("glow") == 0.0


def test_installation_lock_ignores_keys_and_quits_on_the_held_combination(pg, model):
    from rvae_visual.render.app import App, AppOptions
    from rvae_visual.render.lock import QUIT_HOLD_S
    from rvae_visual.render.window import Window
    from rvae_visual.session.start import start_session

    t = [1000.0]
    window = Window(fullscreen=False, size=(1280, 720), vsync="off")
    engine = FakeEngine(position=0.0)
    ref = model.path or model.name
    conductor = start_session(engine, Performance(head=(0.0, 0.0)), model, model.grid(), ref,
                              models=[(model.name, ref)], kits=["808", "acoustic"], fps=60, clock=lambda: t[0])
    app = App(window, conductor, AppOptions(installation=True, record_stats=True))
    kit_before, thr = app.library.kit_name, app.conductor.perf.threshold
    for k in (pg.K_ESCAPE, pg.K_k, pg.K_UP, pg.K_h, pg.K_f, pg.K_SPACE):
        key(pg, k)
        key(pg, k, up=True)
    pg.event.post(pg.event.Event(pg.QUIT))
    app.step()
    assert app.running and app.library.kit_name == kit_before and app.conductor.perf.threshold == thr
    assert app.conductor.perf.playing
    ctrl_shift = pg.KMOD_LCTRL | pg.KMOD_LSHIFT
    key(pg, pg.K_q, mod=ctrl_shift)
    app.step()
    t[0] += QUIT_HOLD_S / 2
    key(pg, pg.K_q, up=True, mod=ctrl_shift)  # let go too soon
    app.step()
    t[0] += QUIT_HOLD_S
    app.step()
    assert app.running
    key(pg, pg.K_q, mod=ctrl_shift)
    app.step()
    assert app.running and "Ctrl+Shift+Q" in app.messages.text
    t[0] += QUIT_HOLD_S + 0.1
    app.step()
    assert not app.running


def test_an_installation_may_enable_some_keys_and_a_longer_quit_hold(pg, model):
    """--installation-keys next_kit --quit-hold 10: K steps the kit, the other keys stay
    locked, and Ctrl+Shift+Q must be held the 10 s asked for."""
    from rvae_visual.render.app import App, AppOptions
    from rvae_visual.render.window import Window
    from rvae_visual.session.start import start_session

    t = [1000.0]
    window = Window(fullscreen=False, size=(1280, 720), vsync="off")
    ref = model.path or model.name
    conductor = start_session(FakeEngine(position=0.0), Performance(), model, model.grid(), ref,
                              models=[(model.name, ref)], kits=["808", "acoustic"], fps=60, clock=lambda: t[0])
    app = App(window, conductor, AppOptions(installation=True, installation_keys=("next_kit",), quit_hold=10.0))
    key(pg, pg.K_UP)
    key(pg, pg.K_k, uni="k")
    app.step()
    deadline = time.monotonic() + 10
    while app.library.kit_name != "acoustic" and time.monotonic() < deadline:  # the kit loads on a worker
        time.sleep(0.02)
        app.step()
    assert app.library.kit_name == "acoustic" and conductor.perf.threshold == 0.5
    key(pg, pg.K_q, mod=pg.KMOD_LCTRL | pg.KMOD_LSHIFT)
    app.step()
    t[0] += 6.0
    app.step()
    assert app.running
    t[0] += 4.1
    app.step()
    assert not app.running


def test_x_steps_quantize_and_b_taps_the_tempo_through_to_the_engine_and_the_hud(pg, model):
    app, engine = make_app(pg, model)
    app.step()
    assert engine.last("quantize") == "tick"
    key(pg, pg.K_x, uni="x")
    app.step()
    assert engine.last("quantize") == "beat" and app.hud_state().quantize == "beat"
    key(pg, pg.K_x, uni="x")
    app.step()
    assert engine.last("quantize") == "bar"
    times = iter([100.0, 100.4, 100.8, 101.2])  # taps 0.4 s apart: 150 BPM
    c = app.conductor
    for _ in range(4):
        c.now = next(times)
        c.apply("tap_tempo", 1.0)
    app.step()
    assert engine.last("bpm") == pytest.approx(150.0) and app.hud_state().bpm == pytest.approx(150.0)


def test_s_turns_the_swing_for_the_engine_and_the_map_lights_hits_when_they_sound(pg, model):
    app, engine = make_app(pg, model)
    app.step()
    assert engine.last("swing") == pytest.approx(0.5)
    for _ in range(8):
        key(pg, pg.K_s, uni="s")
    app.step()
    assert app.conductor.perf.swing == pytest.approx(66.0) and engine.last("swing") == pytest.approx(0.66)
    assert app.hud_state().swing == pytest.approx(66.0)
    key(pg, pg.K_s, mod=pg.KMOD_LSHIFT, uni="S")
    app.step()
    assert engine.last("swing") == pytest.approx(0.64)
    # the off-beat 16th (pattern tick 6) sounds at tick-time 12 * 0.64 = 7.68: the map shows tick 6 then
    app.draw(app.window.surface, 7.8, 0.0)
    assert app._tick == 6
    app.draw(app.window.surface, 6.2, 0.0)
    assert app._tick == 4  # 6.2 heard = pattern tick 4.84


def test_a_drums_own_threshold_reaches_the_engine_the_map_and_the_hud(pg, model):
    app, engine = make_app(pg, model)
    app.step()
    assert engine.last("threshold") == 0.5
    c = app.conductor
    c.apply("threshold_hihat", 0.3)
    c.apply("threshold_kick", -0.1)
    app.step()
    assert engine.last("threshold") == pytest.approx((0.4, 0.5, 0.8))
    assert app.view.threshold == pytest.approx((0.4, 0.5, 0.8))
    st = app.hud_state()
    assert st.threshold == 0.5 and st.trims == pytest.approx((-0.1, 0.0, 0.3))
    from rvae_visual.render.hud import trim_text
    assert trim_text(st.instruments, st.trims) == "kick -0.10  hihat +0.30"
    c.apply("threshold", 0.6)  # the global knob moves every drum's threshold with it
    app.step()
    assert engine.last("threshold") == pytest.approx((0.5, 0.6, 0.9))
    assert c.value_of("threshold_hihat") == pytest.approx(0.3)
    c.apply("threshold_hihat", 0.0)
    c.apply("threshold_kick", 0.0)
    app.step()
    assert engine.last("threshold") == 0.6  # back to one threshold for all


def test_holding_v_is_an_excursion_that_snaps_back_on_the_next_beat(pg, model):
    """V held: head moves, noise and thresholds are for now; let go, they come back when the
    next beat is due (not at once), and the pattern heard from that beat is the one before."""
    app, engine = make_app(pg, model, head=(0.5, -0.5), position=10.0)
    c, p = app.conductor, app.conductor.perf
    app.step()
    before = engine.published[-1]
    key(pg, pg.K_v, uni="v")
    app.step()
    assert p.excursion_held
    c.apply("head_x", 0.9)
    c.apply("noise", 0.3)
    c.apply("threshold", 0.8)
    c.apply("threshold_snare", -0.2)
    app.step()
    assert p.head[0] > 2.0 and p.threshold == 0.8 and not same(engine.published[-1], before)
    key(pg, pg.K_v, up=True, uni="v")
    engine.fixed = 12.0  # heard tick-time 12: the next beat (24) is not due yet
    app.step()
    app.step()
    assert p.threshold == 0.8 and p.excursion is not None  # still out until the beat
    engine.fixed = 23.9  # the beat is within the lead: snap back
    app.step()
    assert p.head == pytest.approx((0.5, -0.5)) and p.noise == 0.0 and p.threshold == 0.5
    assert p.trims == [0.0, 0.0, 0.0] and p.excursion is None
    assert engine.last("threshold") == 0.5 and same(engine.published[-1], before)
    assert app.hud_state().help_rows and any("V (hold)" in k for k, _ in app.hud_state().help_rows)


def test_an_excursion_held_again_before_the_snap_goes_on(pg, model):
    app, engine = make_app(pg, model, position=0.0)
    c, p = app.conductor, app.conductor.perf
    engine.fixed = 2.0
    app.step()
    c.apply("excursion", 1.0)  # a pad bound to `excursion`, momentary
    c.apply("threshold", 0.7)
    c.apply("excursion", 0.0)
    app.step()
    c.apply("excursion", 1.0)  # pressed again before the beat
    engine.fixed = 30.0
    app.step()
    app.step()
    assert p.threshold == 0.7 and p.excursion_held
    c.apply("excursion", 0.0)
    app.step()
    engine.fixed = 47.9
    app.step()
    assert p.threshold == 0.5 and p.excursion is None
