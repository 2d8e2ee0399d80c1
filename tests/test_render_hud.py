"""The HUD: where it goes, what it shows, its knobs, the pattern strip; and small pure helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rvae_visual.pattern import Pattern
from rvae_visual.render.colors import instrument_colors
from rvae_visual.render.hud import Hud, HudState, knob_angle, strip_image
from rvae_visual.render.mapview import MapGeometry
from rvae_visual.session.training_job import output_path_for


@pytest.fixture
def pg(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    from rvae_visual.render.window import init_display

    init_display()
    import pygame

    pygame.font.init()
    yield pygame
    pygame.display.quit()


def _pattern() -> Pattern:
    on = np.zeros((3, 96), np.float32)
    vel = np.zeros((3, 96), np.float32)
    on[0, 0], vel[0, 0] = 0.9, 1.0  # kick on the one, loud
    on[1, 24], vel[1, 24] = 0.7, 0.0  # a soft snare
    on[2, 12] = 0.3  # a hat below the threshold
    return Pattern(on, vel, np.zeros((3, 96), np.float32))


def test_strip_image_shows_hits_velocity_mutes_and_ghosts():
    img = strip_image(_pattern(), 0.5, (False, False, False))
    assert img.shape == (96, 3, 3) and img.dtype == np.uint8
    colors = instrument_colors(3)
    assert tuple(img[0, 0]) == tuple(colors[0])  # full velocity: full colour
    assert tuple(img[24, 1]) == tuple((colors[1] * 0.33).astype(np.uint8))  # soft, still visible
    assert tuple(img[12, 2]) == (18, 18, 18)  # below threshold: a dark grey ghost (0.3 * 60)
    assert img[50].max() == 0
    muted = strip_image(_pattern(), 0.5, (True, False, False))
    assert muted[0, 0, 0] == int(255 * 0.25)


def test_knob_angle_sweeps_270_degrees():
    assert math.degrees(knob_angle(0.0)) == pytest.approx(225)
    assert math.degrees(knob_angle(1.0)) == pytest.approx(-45)
    assert math.degrees(knob_angle(0.5)) == pytest.approx(90)
    assert knob_angle(2.0) == knob_angle(1.0)


def test_output_path_is_beside_the_clips_and_never_overwrites(tmp_path):
    folder = tmp_path / "grooves"
    folder.mkdir()
    p1 = output_path_for(folder)
    assert p1 == folder / "grooves.npz"
    p1.write_bytes(b"x")
    p2 = output_path_for(folder)
    assert p2 == folder / "grooves-2.npz"
    p2.write_bytes(b"x")
    assert output_path_for(folder) == folder / "grooves-3.npz"


def test_hud_sits_in_the_margin_and_leaves_the_map_alone(pg):
    surface = pg.Surface((1920, 1080))
    g = MapGeometry(1920, 1080)
    hud = Hud()
    st = HudState(pattern=_pattern(), tick=40, model_name="footwork", kit_name="808",
                  message="a message that is long enough to be wrapped onto more than one line "
                          "of the panel, with a /very/long/path/that/has/no/spaces/in/it.npz")
    hud.draw(surface, g, st)
    px = pg.surfarray.array3d(surface)
    assert px[: g.left].max() > 0  # drawn in the left margin
    assert px[g.left:].max() == 0  # nothing on the map or the right margin
    assert set(hud.knobs) == {"threshold", "noise"}
    for name, (cx, cy, r) in hud.knobs.items():
        assert cx + r < g.left
        assert hud.knob_at(cx, cy) == name
    assert hud.knob_at(g.left + 10, 10) is None
    hud.visible = False
    assert hud.knob_at(*hud.knobs["threshold"][:2]) is None


def test_hud_overlays_a_square_window_and_help_is_centred(pg):
    surface = pg.Surface((800, 800))
    g = MapGeometry(800, 800)
    hud = Hud()
    hud.show_help = True
    hud.draw(surface, g, HudState())
    px = pg.surfarray.array3d(surface)
    assert px[400, 400].max() > 0  # the help box covers the centre
    assert px[5:300, 5:200].max() > 0  # the status panel at the top-left
    assert px[790:, 790:].max() == 0
