"""Scenes: the set file (round trip, missing, broken, unwritable), and store / recall in time
(next beat or bar, glide) through the keys of a real window."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from render_support import FakeEngine, build_app, x_env
from test_bad_input import read_only

from rvae_visual.model.store import load_model
from rvae_visual.performance import Performance
from rvae_visual.session.scenes import Scene, SceneBank


@pytest.fixture(scope="module")
def model():
    return load_model()


def _scene(**kw) -> Scene:
    base = dict(head=(0.25, -1.5), threshold=0.4, noise=0.1, trims={"kick": 0.2, "snare": -0.1},
                mutes=("hihat",), mute_all=False, tempo=97.5, swing=62.0, model="default", model_name="default",
                kit="808")
    base.update(kw)
    return Scene(**base)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the set file

def test_a_stored_scene_comes_back_from_the_set_file(tmp_path):
    path = tmp_path / "gig.toml"
    bank = SceneBank(path)
    assert "not found" in (bank.load() or "")  # a note: a store creates it
    assert bank.store(3, _scene()) is None
    assert bank.store(8, _scene(head=(-2.0, 2.5), mutes=(), trims={}, kit="a \"quoted\" kit")) is None
    tomllib.loads(path.read_text())  # valid TOML
    again = SceneBank(path)
    assert again.load() is None
    assert again.slots == bank.slots
    assert again.get(1) is None


def test_a_broken_set_file_is_one_line_empty_scenes_and_kept_aside(tmp_path):
    path = tmp_path / "gig.toml"
    path.write_text("[scenes.1\nhead = ")
    bank = SceneBank(path)
    line = bank.load() or ""
    assert str(path) in line and "not valid TOML" in line and "\n" not in line
    assert bank.broken and bank.slots == {}
    assert bank.store(2, _scene()) is None
    assert (tmp_path / "gig.toml.broken").read_text() == "[scenes.1\nhead = "  # nothing lost
    again = SceneBank(path)
    assert again.load() is None and list(again.slots) == [2]


def test_bad_scenes_are_left_out_and_named_the_good_ones_kept(tmp_path):
    path = tmp_path / "gig.toml"
    good = _scene().to_toml(1)
    path.write_text(good + "\n[scenes.2]\nhead = [0, 1]\nthreshold = 7\n\n[scenes.9]\nhead = [0, 0]\nthreshold = 0.5\n"
                    "\n[scenes.4]\nhead = \"centre\"\nthreshold = 0.5\n")
    bank = SceneBank(path)
    line = bank.load() or ""
    assert "scene 2: threshold 7 is outside 0..1" in line
    assert "scene 9: slot 9 is not 1..8" in line and "scene 4: head must be" in line
    assert list(bank.slots) == [1] and bank.slots[1] == _scene()


def test_a_set_file_on_a_read_only_disk_is_one_line_and_the_scene_is_kept(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    with read_only(src, tmp_path / "ro") as ro:
        bank = SceneBank(ro / "gig.toml")
        bank.load()
        err = bank.store(1, _scene()) or ""
        assert "gig.toml: set file not saved (read-only file system)" in err and "\n" not in err
        assert bank.get(1) == _scene()  # played on from memory
    assert list(src.iterdir()) == []


# ------------------------------------------------------------------ store and recall in time

def _app(pg, model, bank, position=10.0):
    from rvae_visual.render.window import Window

    window = Window(fullscreen=False, size=(1280, 720), vsync="off")
    perf = Performance(head=(0.5, -0.5), seed=5)
    engine = FakeEngine(position=position)
    ref = model.path or model.name
    app = build_app(window, engine, perf, model, model.grid(), ref, models=[(model.name, ref)],
                    kits=["808", "acoustic"], scenes=bank)
    return app, engine


def _key(pg, k, shift=False):
    mod = pg.KMOD_LSHIFT if shift else 0
    for t in (pg.KEYDOWN, pg.KEYUP):
        pg.event.post(pg.event.Event(t, key=k, mod=mod, unicode="", scancode=0))


def test_shift_digit_stores_and_digit_recalls_on_the_next_bar(pg, model, tmp_path):
    """Shift+1 stores what plays (into the set file); then everything is moved; 1 recalls it
    with quantize bar: nothing changes until the bar line is within the lead, then head,
    thresholds, noise, mutes, tempo and swing come back, and the pattern published from that
    bar on is scene 1's."""
    path = tmp_path / "set.toml"
    bank = SceneBank(path)
    app, engine = _app(pg, model, bank)
    c, p = app.conductor, app.conductor.perf
    c.apply("threshold_kick", 0.1)
    c.apply("mute_snare", 1.0)
    app.step()
    scene_pattern = engine.published[-1]
    _key(pg, pg.K_1, shift=True)
    app.step()
    assert list(tomllib.loads(path.read_text())["scenes"]) == ["1"]
    for name, v in (("head_x", 0.95), ("head_y", 0.9), ("threshold", 0.8), ("threshold_kick", -0.3),
                    ("mute_snare", 0.0), ("noise", 0.4), ("tempo", 150.0), ("swing", 66.0), ("quantize", 2.0)):
        c.apply(name, v)
    app.step()
    assert p.head[0] > 2.0 and engine.last("bpm") == 150.0
    landed: list[int] = []
    c.on_scene.append(landed.append)
    engine.fixed = 30.0  # in bar 1 (ticks 0-95): the next bar line is 96
    _key(pg, pg.K_1)
    app.step()
    app.step()
    assert p.threshold == 0.8 and landed == [] and "scene 1 on the next bar" in c.messages.text
    engine.fixed = 95.5  # the bar line is within the lead
    app.step()
    assert landed == [1]
    assert p.head == pytest.approx((0.5, -0.5)) and p.threshold == pytest.approx(0.5)
    assert p.trims[0] == pytest.approx(0.1) and p.latched == [False, True, False] and p.noise == pytest.approx(0.0)
    assert p.bpm == 120.0 and p.swing == 50.0 and p.quantize == "bar"  # quantize is not part of a scene
    assert engine.last("bpm") == 120.0 and engine.last("mutes") == [False, True, False]
    assert engine.published[-1] == scene_pattern


def test_an_empty_slot_says_so_and_changes_nothing(pg, model):
    app, engine = _app(pg, model, SceneBank())
    _key(pg, pg.K_5)
    app.step()
    assert "scene 5 is empty" in app.conductor.messages.text


def test_a_recalled_head_glides_over_the_beats_asked_for_and_a_performer_move_ends_it(pg, model):
    app, engine = _app(pg, model, SceneBank(), position=0.0)
    c, p = app.conductor, app.conductor.perf
    app.step()
    c.apply("store_scene_2", 1.0)  # a pad / the --control script, like the keys
    c.apply("head_x", 1.0)
    c.apply("scene_glide", 4.0)  # four beats = 96 ticks
    app.step()
    far = p.head
    engine.fixed = 10.0
    c.apply("recall_scene_2", 1.0)  # quantize tick: the next beat, 24
    app.step()
    assert p.head == far
    xs = []
    for pos in (23.0, 46.0, 70.0, 94.0, 118.0, 130.0):
        engine.fixed = pos
        app.step()
        xs.append(p.head[0])
    assert all(a > b for a, b in zip(xs, xs[1:-1]))  # on its way, step by step
    assert xs[-1] == pytest.approx(0.5) and not c.scenes.gliding  # there after four beats
    c.apply("head_x", 1.0)
    c.apply("recall_scene_2", 1.0)
    engine.fixed = 140.0
    app.step()
    engine.fixed = 150.0
    app.step()
    assert c.scenes.gliding
    c.apply("head_y", 0.1)  # the performer takes the head
    engine.fixed = 160.0
    app.step()
    engine.fixed = 170.0
    app.step()
    assert not c.scenes.gliding and p.head[1] == pytest.approx(-3.0 + 6.0 * 0.1)


def test_play_reads_a_broken_set_file_in_one_line_and_writes_scenes_back(jack_server, xvfb_display, tmp_path):
    """The real command: a broken set file is one line, the music plays on, a scripted store
    writes the set file (the broken one kept aside), and the next run recalls from it."""
    path = tmp_path / "gig.toml"
    path.write_text("not = [toml")
    env = x_env(xvfb_display, **jack_server)
    cmd = [sys.executable, "-m", "rvae_visual", "play", "--windowed", "--size", "640x360", "--set", str(path)]
    r = subprocess.run(cmd + ["--duration", "2.5", "--control", "0.5:threshold=0.35",
                              "--control", "1:store_scene_4=1"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "gig.toml" in ln]
    assert len(lines) == 1 and "not valid TOML" in lines[0] and "scenes start empty" in lines[0]
    assert (tmp_path / "gig.toml.broken").read_text() == "not = [toml"
    scenes = tomllib.loads(path.read_text())["scenes"]
    assert list(scenes) == ["4"] and scenes["4"]["threshold"] == pytest.approx(0.35)
    r = subprocess.run(cmd + ["--duration", "1.5", "--control", "0.3:recall_scene_4=1", "--stats", str(tmp_path / "s.json")],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "gig.toml" not in r.stderr, r.stderr
