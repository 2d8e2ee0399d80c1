"""The map as projected (issue 12): afterglow and ghost so no frame is black, the two styles,
the rhythm-region boundaries, and 16 frames of the real player on Xvfb + JACK."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rvae_visual.render.colors import instrument_colors
from rvae_visual.render.mapview import (GHOST_BASE, GHOST_LEVEL, SOFT_HIT, MapGeometry, MapLook, MapView,
                                        boundaries, cell_stripe_center, look_frames)

N, I = 30, 3


def _one_hit(row=4, col=7, inst=1, tick=10, velocity=1.0):
    on = np.zeros((N, N, I, 96), np.float32)
    vel = np.zeros_like(on)
    on[row, col, inst, tick], vel[row, col, inst, tick] = 0.9, velocity
    return on, vel


def test_a_hit_is_bright_on_its_tick_and_fades_over_the_glow():
    on, vel = _one_hit()
    f = look_frames(on, vel, 0.5, MapLook(glow_ticks=6))
    color = instrument_colors(I)[1].astype(np.float32)
    x, y = 7 * I + 1, 4
    levels = [float(f[t, x, y].max()) / color.max() for t in range(8, 18)]
    assert levels[2] == pytest.approx(1.0, abs=0.01)  # tick 10: full
    assert all(a > b for a, b in zip(levels[2:8], levels[3:8]))  # fading over ticks 11-15
    assert levels[8] == pytest.approx(GHOST_LEVEL, abs=0.01)  # tick 16: back to the ghost
    assert levels[0] == pytest.approx(GHOST_LEVEL, abs=0.01)  # before the hit: the ghost
    assert tuple(f[3, 0, 0]) == GHOST_BASE  # a point that never plays is still there


def test_velocity_sets_the_brightness_and_the_glow_wraps_round_the_bar():
    soft, vel = _one_hit(tick=94, velocity=0.0)
    f = look_frames(soft, vel, 0.5, MapLook(glow_ticks=6))
    color = instrument_colors(I)[1].astype(np.float32)
    x, y = 7 * I + 1, 4
    assert f[94, x, y].max() == pytest.approx(SOFT_HIT * color.max(), abs=1)
    loud, vel = _one_hit(tick=94, velocity=1.0)
    f = look_frames(loud, vel, 0.5, MapLook(glow_ticks=6))
    assert f[1, x, y].max() == pytest.approx(0.5 * color.max(), abs=1)  # 3 ticks on, in the next bar


def test_plain_look_is_black_between_hits_as_before():
    on, vel = _one_hit()
    f = look_frames(on, vel, 0.5, MapLook.plain())
    assert f[11].max() == 0 and f[10].max() > 0


def test_rows_style_puts_the_kick_at_the_bottom_of_each_point():
    on, vel = _one_hit(inst=0, tick=0)  # a kick
    f = look_frames(on, vel, 0.5, MapLook(style="rows", ghost=False))
    assert f.shape == (96, N, N * I, 3)
    ys = np.nonzero(f[0].max(axis=2))
    assert set(ys[0]) == {7} and set(ys[1]) == {4 * I + I - 1}  # column 7, the last row of point row 4


def _two_regions():
    """Left half: kick on the beats; right half: snare on the backbeats and hats on the 8ths."""
    on = np.zeros((N, N, I, 96), np.float32)
    on[:, :15, 0, ::24] = 0.9
    on[:, 15:, 1, 24::48] = 0.9
    on[:, 15:, 2, ::12] = 0.9
    on[:, 15:, 2, 6::12] += 0.3  # below the threshold: not part of the rhythm
    return on


def test_boundaries_lie_between_two_rhythms_and_nowhere_inside_them():
    right, down = boundaries(_two_regions(), 0.5)
    assert right.shape == (N, N - 1) and down.shape == (N - 1, N)
    assert np.all(right[:, 14] == 1.0)  # every row: the edge between columns 14 and 15
    assert np.count_nonzero(right) == N and np.count_nonzero(down) == 0


def test_boundaries_ignore_a_hit_one_tick_off():
    on = np.zeros((N, N, I, 96), np.float32)
    on[:, :, 0, ::24] = 0.9
    on[:, 15:, 0, 24] = 0.0
    on[:, 15:, 0, 25] = 0.9  # one hit a tick late on the right half
    right, down = boundaries(on, 0.5)
    assert np.count_nonzero(right) == 0 and np.count_nonzero(down) == 0


def test_topology_overlay_draws_lines_only_between_the_regions(pg):
    on = _two_regions()
    view = MapView(on, 0.5, velocities=np.ones_like(on), look=MapLook(ghost=False, glow_ticks=0))
    g = MapGeometry(1080, 1080)
    without = pg.Surface((1080, 1080))
    view.draw(without, g, 0)
    view.topology = True
    with_lines = pg.Surface((1080, 1080))
    view.draw(with_lines, g, 0)
    diff = np.any(pg.surfarray.array3d(without) != pg.surfarray.array3d(with_lines), axis=2)  # (x, y)
    xs, ys = np.nonzero(diff)
    assert len(xs) > 500
    assert set(np.unique(xs)) <= set(range(538, 543))  # the line at x = 15 * 36 = 540, nowhere else
    assert ys.min() < 10 and ys.max() > 1070  # from top to bottom


def test_a_hit_decays_on_screen_frame_by_frame(pg):
    on, vel = _one_hit(tick=10)
    view = MapView(on, 0.5, velocities=vel, look=MapLook(glow_ticks=6))
    g = MapGeometry(1080, 1080)
    x, y = cell_stripe_center(g, N, I, 4, 7, 1)
    s = pg.Surface((1080, 1080))
    seen = []
    for t in range(9, 17):
        view.draw(s, g, t)
        seen.append(max(s.get_at((x, y))[:3]))
    assert seen[1] == max(seen) and seen[1] > 3 * seen[0]  # tick 10 bright, tick 9 the ghost
    assert seen[1:7] == sorted(seen[1:7], reverse=True) and seen[7] == seen[0]


# ------------------------------------------------------------------ the real player, 16 frames

REPO = Path(__file__).resolve().parent.parent


def test_sixteen_frames_of_a_second_of_play_show_the_map_and_pulse(xvfb_display, jack_server, tmp_path):
    from render_support import XGrab, wait_for_window, x_env

    from rvae_visual.model.store import load_model

    model = load_model()
    geom = MapGeometry(1920, 1080, model.extent)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rvae_visual", "play", "--audio-device", "system", "--no-landmarks", "--no-hud",
         "--duration", "40"],
        env=x_env(xvfb_display, **jack_server), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    grab = XGrab(xvfb_display)
    try:
        wait_for_window(xvfb_display, "rvae-visual", proc)
        time.sleep(1.5)
        shots, t0 = [], time.monotonic()
        for k in range(16):
            time.sleep(max(0.0, t0 + k / 16 - time.monotonic()))
            shots.append(grab.grab(1920, 1080))
        assert time.monotonic() - t0 < 1.5
    finally:
        grab.close()
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err
    n = model.grid().n
    centres = [cell_stripe_center(geom, n, I, r, c, i) for r in range(n) for c in range(n) for i in range(I)]
    xs = np.array([p[0] for p in centres])
    ys = np.array([p[1] for p in centres])
    lit_sets = []
    for img in shots:
        px = img[ys, xs].reshape(n * n, I, 3)
        visible = np.any(px.reshape(n * n, -1) > 0, axis=1)
        assert visible.mean() >= 0.5, f"only {visible.mean():.0%} of the points visible"
        lit_sets.append(px.max(axis=2) > 2 * max(GHOST_BASE))  # brighter than the ghost base
    changes = sum(int(np.count_nonzero(a != b)) for a, b in zip(lit_sets, lit_sets[1:]))
    assert changes > 100, "the lit cells did not change: the map does not pulse"


# ------------------------------------------------------------------ the audience window

def _window_names(display: str) -> list[str]:
    from render_support import x_env

    r = subprocess.run(["xdotool", "search", "--onlyvisible", "--class", "rvae-visual"], env=x_env(display),
                       capture_output=True, text=True, timeout=10)
    return [subprocess.run(["xdotool", "getwindowname", w], env=x_env(display), capture_output=True, text=True,
                           timeout=10).stdout.strip() for w in r.stdout.split()]


def test_audience_window_on_the_second_monitor_shows_the_clean_map_at_the_same_tick(two_monitor_display, tmp_path):
    from render_support import best_tick_match, screenshot, wait_for_window, x_env

    from rvae_visual.model.store import load_model

    model = load_model()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rvae_visual", "play", "--silent", "--no-landmarks", "--audience", "1",
         "--duration", "40", "--stats", str(tmp_path / "stats.json")],
        env=x_env(two_monitor_display, JACK_NO_START_SERVER="1"), cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        wait_for_window(two_monitor_display, "rvae-visual", proc)
        deadline = time.monotonic() + 20
        while "rvae-visual audience" not in _window_names(two_monitor_display):
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.terminate()
                raise AssertionError(f"no audience window: {proc.communicate(timeout=30)[1]}")
            time.sleep(0.1)
        time.sleep(1.5)
        img = screenshot(two_monitor_display, tmp_path / "both.png")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err
    assert img.shape == (1080, 3200, 3)
    main, aud = img[:, :1920], img[:720, 1920:3200]
    gm, ga = MapGeometry(1920, 1080, model.extent), MapGeometry(1280, 720, model.extent)
    assert main[:, :gm.left].max() > 0  # the performer's HUD
    assert aud[:, :ga.left].max() == 0 and aud[:, ga.left + ga.side:].max() == 0  # no HUD, nothing beside the map
    assert img[720:, 1920:].max() == 0  # below the 720-line monitor: nothing
    grid = model.grid()
    frames = look_frames(grid.onsets, grid.velocities, 0.5, MapLook())
    head_m = (*gm.latent_to_pixel(0.0, 0.0), 40)
    head_a = (*ga.latent_to_pixel(0.0, 0.0), 30)
    tm, em, nm = best_tick_match(main, frames, grid.n, I, gm, skip=[head_m])
    ta, ea, na = best_tick_match(aud, frames, grid.n, I, ga, skip=[head_a])
    assert em == nm and ea == na, (em, nm, ea, na)  # both windows show a whole frame of the map
    assert min((tm - ta) % 96, (ta - tm) % 96) <= 1  # at the same heard tick


def test_audience_on_a_missing_display_says_so_and_plays_on(xvfb_display, tmp_path):
    from render_support import x_env

    r = subprocess.run([sys.executable, "-m", "rvae_visual", "play", "--silent", "--audience", "3", "--duration", "2"],
                       env=x_env(xvfb_display, JACK_NO_START_SERVER="1"), cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if "--audience" in line]
    assert len(lines) == 1 and "no display 3" in lines[0] and "playing without the audience window" in lines[0]
