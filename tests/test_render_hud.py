"""The HUD: where it goes, what it shows, its knobs, the pattern strip; and small pure helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rvae_visual.pattern import Pattern
from rvae_visual.render.colors import instrument_colors
from rvae_visual.render.colors import HUD_ALERT
from rvae_visual.render.hud import Hud, HudState, knob_angle, mute_text, strip_image, underflow_text
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


def test_mute_line_names_exactly_the_muted_instruments():
    inst = ("kick", "snare", "hihat")
    assert mute_text(inst, (False, False, False), (False, False, False)) == ""
    assert mute_text(inst, (False, True, False), (False, False, False)) == "snare"
    assert mute_text(inst, (True, False, True), (False, False, True)) == "kick  hihat*"


def test_underflow_line_counts_the_last_minute_and_all():
    assert underflow_text(0, 0, 60.0).startswith("no underflows")
    assert underflow_text(14, 2, 60.0).startswith("underflows 2/min  14 in all")


def _alert_pixels(pg, st: HudState) -> int:
    surface = pg.Surface((1920, 1080))
    Hud().draw(surface, MapGeometry(1920, 1080), st)
    px = pg.surfarray.array3d(surface).reshape(-1, 3)
    return int(np.all(px == np.array(HUD_ALERT), axis=1).sum())


def test_a_new_underflow_flashes_red_and_an_old_one_does_not(pg):
    base = dict(pattern=_pattern(), model_name="footwork", kit_name="808", underflows=14, underflows_minute=0)
    quiet = _alert_pixels(pg, HudState(**base))
    fresh = _alert_pixels(pg, HudState(**base, underflows_recent=True, underflow_flash=1.0))
    fading = _alert_pixels(pg, HudState(**base, underflows_recent=True, underflow_flash=0.0))
    assert quiet == 0  # 14 underflows long ago: nothing red
    assert fresh > 2000  # the frame round the panel, and the line in red
    assert 0 < fading < fresh  # the line stays red a few seconds; the frame is gone


def test_underflow_watch_is_red_only_while_the_count_rises():
    from rvae_visual.render.hud import UNDERFLOW_FLASH_S, UNDERFLOW_WARN_S, UnderflowWatch

    w = UnderflowWatch()
    assert w.update(0, 100.0) == (False, 0.0)
    assert w.update(6, 100.0) == (True, 1.0)  # the player opened with 6 already: a rise
    rising, flash = w.update(6, 100.0 + UNDERFLOW_FLASH_S / 2)
    assert rising and 0.0 < flash < 1.0
    assert w.update(6, 100.0 + UNDERFLOW_WARN_S + 0.1) == (False, 0.0)  # 6 in all, none new: not red
    assert w.update(7, 200.0) == (True, 1.0)


def test_wrap_to_width_never_exceeds_the_width():
    from rvae_visual.render.hud import wrap_to_width

    measure = lambda t: 10 * len(t)  # noqa: E731  10 px a character
    text = "audio: [0] system, 48000 Hz, block auto, latency 2.7 ms, kit /a/very/long/path/with/no/spaces/at/all"
    lines = wrap_to_width(text, 200, measure)
    assert all(measure(line) <= 200 for line in lines), lines
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_long_hud_lines_wrap_inside_the_panel(pg, size):
    surface = pg.Surface(size)
    g = MapGeometry(*size)
    st = HudState(pattern=_pattern(), model_name="footwork", kit_name="808",
                  audio_status="audio: [0] system, 48000 Hz, block auto, latency 2.7 ms, kit 808, "
                               "engine process, callback p99 4 %",
                  extra=["MIDI in: virtual port rvae-visual (rtmidi/UNIX_JACK), learn: Tab, mapping "
                         "/home/me/.config/rvae-visual/controller.toml"],
                  message="learned threshold = CC 16 ch 3, saved to /home/me/.config/rvae-visual/controller.toml "
                          "(the previous file is controller.toml.bak)")
    rect = Hud().draw(surface, g, st)
    px = pg.surfarray.array3d(surface)
    assert px[g.left:].max() == 0  # nothing written onto the map or past it
    short = Hud().draw(pg.Surface(size), g, HudState(pattern=_pattern(), model_name="footwork", kit_name="808",
                                                     audio_status="audio: ok", extra=["MIDI in: ok"], message="ok"))
    assert rect is not None and short is not None
    assert rect[3] >= short[3] + 3 * 12  # the long lines went on to more lines instead of being cut


def test_a_knob_waiting_for_soft_takeover_shows_where_it_is(pg):
    from rvae_visual.render.colors import HUD_WARN

    def warn_pixels(st):
        surface = pg.Surface((1920, 1080))
        hud = Hud()
        hud.draw(surface, MapGeometry(1920, 1080), st)
        px = pg.surfarray.array3d(surface).reshape(-1, 3)
        return int(np.all(px == np.array(HUD_WARN), axis=1).sum())

    base = dict(pattern=_pattern(), model_name="footwork", kit_name="808", threshold=0.5)
    assert warn_pixels(HudState(**base, takeover=(("threshold", 0.9, 0.5),))) > warn_pixels(HudState(**base)) + 200


def test_the_hud_keeps_a_bounded_number_of_rendered_lines(pg):
    from rvae_visual.render.hud import TEXT_CACHE

    surface = pg.Surface((1920, 1080))
    g = MapGeometry(1920, 1080)
    hud = Hud()
    for k in range(400):  # a new bar / tick / fps line every frame, as in hours of playing
        hud.draw(surface, g, HudState(pattern=_pattern(), model_name="footwork", kit_name="808",
                                      bar=k // 96, tick=k % 96, fps=50 + k % 10))
    assert len(hud._cache) <= TEXT_CACHE
    assert any(key[0] == "model  footwork" for key in hud._cache)  # the lines that stay are kept
