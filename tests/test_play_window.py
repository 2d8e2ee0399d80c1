"""A real fullscreen window under Xvfb at 1920 x 1080: the screenshot shows the map exactly as
the model decodes it at the tick on screen; F toggles fullscreen; Esc quits cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from render_support import best_tick_match, screenshot, wait_for_window, window_size, x_env, xdotool

from rvae_visual.model.store import load_model
from rvae_visual.render.colors import HEAD
from rvae_visual.render.mapview import MapGeometry, MapLook, look_frames

REPO = Path(__file__).resolve().parent.parent


def test_fullscreen_window_shows_the_map_and_quits_on_escape(xvfb_display, tmp_path):
    stats = tmp_path / "stats.json"
    model = load_model()
    head = (round(0.8 * model.extent, 2), round(0.8 * model.extent, 2))  # inside the model's map window
    proc = subprocess.Popen(
        [sys.executable, "-m", "rvae_visual", "play", "--head", f"{head[0]},{head[1]}", "--no-landmarks",
         "--duration", "60", "--stats", str(stats)],
        env=x_env(xvfb_display, JACK_NO_START_SERVER="1"), cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wid = wait_for_window(xvfb_display, "rvae-visual", proc)
        assert window_size(xvfb_display, wid) == (1920, 1080)
        time.sleep(1.0)
        img = screenshot(xvfb_display, tmp_path / "screen.png")
        assert img.shape == (1080, 1920, 3)
        g = MapGeometry(1920, 1080, model.extent)
        hx, hy = g.latent_to_pixel(*head)
        assert tuple(img[hy, hx]) == HEAD
        grid = model.grid()
        frames = look_frames(grid.onsets, grid.velocities, 0.5, MapLook())  # play's default look
        tick, equal, total = best_tick_match(img, frames, grid.n, 3, g, skip=[(hx, hy, 40)])
        assert total > 2600
        assert equal == total, f"best tick {tick}: {equal}/{total} cells as decoded"
        assert img[:, g.left + g.side:].max() == 0  # right margin black, the HUD sits on the left
        assert img[:, :420].max() > 0

        xdotool(xvfb_display, "windowfocus", "--sync", wid)
        xdotool(xvfb_display, "key", "f")
        time.sleep(0.5)
        xdotool(xvfb_display, "key", "f")
        time.sleep(0.5)
        assert proc.poll() is None
        xdotool(xvfb_display, "key", "Escape")
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    data = json.loads(stats.read_text())
    assert data["driver"] == "x11" and data["size"] == [1920, 1080]
    assert data["seconds"] < 30  # Esc ended it long before --duration


def test_installation_mode_a_stray_esc_does_not_quit_the_held_combination_does(xvfb_display, tmp_path):
    def start():
        return subprocess.Popen(
            [sys.executable, "-m", "rvae_visual", "play", "--installation", "--silent", "--duration", "60"],
            env=x_env(xvfb_display, JACK_NO_START_SERVER="1"), cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    proc = start()
    try:
        wid = wait_for_window(xvfb_display, "rvae-visual", proc)
        xdotool(xvfb_display, "windowfocus", "--sync", wid)
        for k in ("Escape", "m", "k", "f", "space"):
            xdotool(xvfb_display, "key", k)
        time.sleep(1.0)
        assert proc.poll() is None, "a single key ended the installation"
        xdotool(xvfb_display, "keydown", "ctrl+shift+q")
        t0 = time.monotonic()
        proc.wait(timeout=15)
        held = time.monotonic() - t0
        xdotool(xvfb_display, "keyup", "ctrl+shift+q")
    finally:
        if proc.poll() is None:
            proc.kill()
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert 2.5 < held < 8.0  # only after holding it about 3 s
    assert "Traceback" not in err

    proc = start()  # a signal still ends it cleanly
    try:
        wait_for_window(xvfb_display, "rvae-visual", proc)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.communicate()[1]
