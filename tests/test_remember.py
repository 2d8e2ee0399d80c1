"""`play --remember`: model, kit, head, knobs and scenes saved on quit (atomically) and taken at
the next start where the command line does not say otherwise; a broken or unwritable state
file is one line and the music goes on."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from render_support import x_env
from test_bad_input import read_only

from rvae_visual.session.remember import read_remembered, remembered_text
from rvae_visual.session.scenes import Scene


def _play(env, state, *extra: str, duration: float = 2.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rvae_visual", "play", "--windowed", "--size", "640x360",
                           "--duration", str(duration), "--state-file", str(state), *extra],
                          env=env, capture_output=True, text=True, timeout=60)


def test_the_state_file_round_trips():
    import tempfile
    from pathlib import Path

    st = Scene(head=(1.0, -2.0), threshold=0.3, trims={"kick": 0.1}, mutes=("snare",), tempo=99.0, swing=58.0,
               model="default", kit="808")
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "r.toml"
        p.write_text(remembered_text(st, "beat", 4.0, {2: st}))
        rem, why = read_remembered(p)
    assert why is None and rem.state == st and rem.quantize == "beat" and rem.glide == 4.0 and rem.scenes == {2: st}


def test_what_was_played_comes_back_next_start_and_the_command_line_wins(jack_server, xvfb_display, tmp_path):
    env = x_env(xvfb_display, **jack_server)
    state = tmp_path / "state" / "remembered.toml"
    r = _play(env, state, "--remember", "--control", "0.3:head_x=0.8", "--control", "0.3:threshold=0.35",
              "--control", "0.4:threshold_snare=0.2", "--control", "0.4:tempo=97", "--control", "0.5:quantize=1",
              "--control", "0.6:store_scene_3=1", "--control", "0.7:mute_hihat=1", "--kit", "acoustic")
    assert r.returncode == 0, r.stderr
    saved = tomllib.loads(state.read_text())
    st = saved["state"]
    from rvae_visual.model.store import load_model

    e = load_model().grid().extent
    assert st["head"][0] == pytest.approx(-e + 2 * e * 0.8, abs=0.01) and st["threshold"] == pytest.approx(0.35)
    assert st["thresholds"]["snare"] == pytest.approx(0.2) and st["tempo"] == 97 and st["mutes"] == ["hihat"]
    assert st["kit"] == "acoustic" and saved["quantize"] == "beat" and "3" in saved["scenes"]
    assert list(state.parent.iterdir()) == [state]  # no temporary file left behind
    # next start: all of it back, but the tempo given on the command line wins
    r = _play(env, state, "--remember", "--bpm", "130", duration=1.5)
    assert r.returncode == 0, r.stderr
    again = tomllib.loads(state.read_text())
    assert again["state"]["tempo"] == 130
    for k in ("head", "threshold", "thresholds", "mutes", "kit", "model"):
        assert again["state"][k] == st[k], k
    assert again["quantize"] == "beat" and again["scenes"] == saved["scenes"]
    # without --remember nothing is read or written
    r = _play(env, state, "--bpm", "140", duration=1.0)
    assert r.returncode == 0 and tomllib.loads(state.read_text())["state"]["tempo"] == 130


def test_a_broken_or_unwritable_state_file_is_one_line_and_play_goes_on(jack_server, xvfb_display, tmp_path):
    env = x_env(xvfb_display, **jack_server)
    state = tmp_path / "remembered.toml"
    state.write_text("[state]\nhead = 'x'\n")
    r = _play(env, state, "--remember", duration=1.5)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "remembered.toml" in ln]
    assert len(lines) == 1 and "remembered settings not used" in lines[0]
    assert tomllib.loads(state.read_text())["state"]["threshold"] == 0.5  # written fresh at quit
    src = tmp_path / "src"
    src.mkdir()
    with read_only(src, tmp_path / "ro") as ro:
        r = _play(env, ro / "remembered.toml", "--remember", "--control", "0.3:threshold=0.4", duration=1.5)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "remembered.toml" in ln]
    assert len(lines) == 1 and "settings not remembered (read-only file system)" in lines[0]
