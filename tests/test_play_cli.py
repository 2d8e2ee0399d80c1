"""`rvae-visual play` as a command: no display, bad options, no torch on the play path, the
screenshot and stats files (SDL dummy driver, so no X server is needed here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    env.update(PYGAME_HIDE_SUPPORT_PROMPT="1", SDL_AUDIODRIVER="dummy", JACK_NO_START_SERVER="1")
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rvae_visual", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args,display", [(["play"], None), ([], None), (["play"], ":57")])
def test_no_display_is_one_line_pointing_to_render(args, display):
    r = _run(args, _env(**({"DISPLAY": display} if display else {})))  # :57 has no X server
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "no display" in lines[0] and "rvae-visual render" in lines[0]
    assert r.stdout == ""


@pytest.mark.parametrize("args,words", [
    (["--bpm", "20"], ["20", "40-300"]),
    (["--threshold", "1.5"], ["1.5", "0-1"]),
    (["--noise", "7"], ["7", "latent"]),
    (["--size", "big"], ["WIDTHxHEIGHT"]),
    (["--head", "9,0"], ["outside"]),
    (["--control", "nonsense"], ["SECONDS:NAME=VALUE"]),
    (["--control", "1:wobble=1"], ["unknown control", "head_x"]),
])
def test_bad_options_are_usage_errors(args, words):
    r = _run(["play", *args], _env(SDL_VIDEODRIVER="dummy"))
    assert r.returncode == 2
    assert all(w in r.stderr for w in words), r.stderr


def test_bad_model_file_is_one_line_naming_it(tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    r = _run(["play", "--model", str(bad), "--windowed", "--duration", "1"], _env(SDL_VIDEODRIVER="dummy"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and lines[0].startswith("rvae-visual: error:")


def test_display_number_out_of_range(tmp_path):
    r = _run(["play", "--display", "3", "--duration", "1"], _env(SDL_VIDEODRIVER="dummy"))
    assert r.returncode == 2
    assert "--display 3" in r.stderr and "(0-0)" in r.stderr


def test_play_path_never_imports_torch_and_writes_screenshot_and_stats(tmp_path):
    shot, stats = tmp_path / "frame.png", tmp_path / "stats.json"
    code = (
        "import sys\n"
        "from rvae_visual.cli import main\n"
        f"rc = main(['play', '--windowed', '--size', '640x360', '--duration', '1.5', "
        f"'--screenshot', {str(shot)!r}, '--stats', {str(stats)!r}, '--head', '1,-1'])\n"
        "print('torch' in sys.modules, 'sounddevice' in sys.modules, rc)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=_env(SDL_VIDEODRIVER="dummy"), cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    torch_loaded, sd_loaded, rc = r.stdout.split()[-3:]
    assert torch_loaded == "False" and rc == "0"
    import pygame

    img = pygame.image.load(str(shot))
    assert img.get_size() == (640, 360)
    data = json.loads(stats.read_text())
    assert data["size"] == [640, 360] and data["driver"] == "dummy"
    assert data["frames"] >= 30 and data["fps"] > 20
    assert data["loads"][0]["load_to_first_frame_ms"] > 0
    assert data["startup"]["sound_from_start_s"] < data["startup"]["first_frame_s"]
    # the head's yellow is in the screenshot where --head put it
    from rvae_visual.render.colors import HEAD
    from rvae_visual.render.mapview import MapGeometry

    from rvae_visual.model.store import load_model

    px = MapGeometry(640, 360, load_model().extent).latent_to_pixel(1.0, -1.0)  # the model's window
    assert tuple(img.get_at(px))[:3] == HEAD


def test_timed_controls_drive_the_app(tmp_path):
    stats = tmp_path / "stats.json"
    shot = tmp_path / "frame.png"
    r = _run(["play", "--windowed", "--size", "400x400", "--duration", "1.2", "--no-hud",
              "--control", "0.2:head_x=0.75", "--control", "0.3:head_y=0.25",
              "--screenshot", str(shot), "--stats", str(stats)], _env(SDL_VIDEODRIVER="dummy"))
    assert r.returncode == 0, r.stderr
    import pygame

    from rvae_visual.render.colors import HEAD
    from rvae_visual.render.mapview import MapGeometry

    img = pygame.image.load(str(shot))
    g = MapGeometry(400, 400)
    assert tuple(img.get_at(g.latent_to_pixel(1.5, -1.5)))[:3] == HEAD
    assert tuple(img.get_at(g.latent_to_pixel(0.0, 0.0)))[:3] != HEAD
    assert json.loads(stats.read_text())["publishes"] >= 3


def test_render_layer_imports_neither_torch_nor_sounddevice():
    code = (
        "import sys, pkgutil, importlib, rvae_visual.render as r\n"
        "for m in pkgutil.iter_modules(r.__path__): importlib.import_module('rvae_visual.render.' + m.name)\n"
        "import rvae_visual.performance\n"
        "print(sorted(m for m in ('torch', 'sounddevice') if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_no_audio_device_is_one_line_and_the_instrument_plays_on(tmp_path):
    # no JACK server to talk to and no sound card: silent, said once, the map still runs
    shot = tmp_path / "silent.png"
    r = _run(["play", "--windowed", "--size", "640x360", "--duration", "1.5", "--screenshot", str(shot)],
             _env(SDL_VIDEODRIVER="dummy", JACK_DEFAULT_SERVER="rvae-no-such-server"))
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("rvae-visual:")]
    assert len(lines) == 1, r.stderr
    assert "running silent" in lines[0] and "warning" in lines[0]
    assert shot.exists() and shot.stat().st_size > 1000


def test_audio_device_in_use_is_said_in_one_line(jack_server, tmp_path):
    r = _run(["play", "--windowed", "--size", "640x360", "--duration", "1.0"],
             _env(SDL_VIDEODRIVER="dummy", **jack_server))
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("rvae-visual:")]
    assert len(lines) == 1 and lines[0].startswith("rvae-visual: audio: ["), r.stderr
    assert "Hz" in lines[0] and "kit 808" in lines[0]
