"""The map on screen: geometry (screen <-> latent, exact both ways), tick frames, and pixels drawn
with the SDL dummy driver for a known model, tick and threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rvae_visual.model.grid import cell_to_latent, latent_to_cell
from rvae_visual.model.store import load_model
from rvae_visual.render.colors import HEAD, instrument_colors
from rvae_visual.render.mapview import MapGeometry, cell_stripe_center, tick_frames

SIZES = [(1920, 1080), (1080, 1920), (1280, 720), (1000, 1000), (1366, 768), (801, 599)]


@pytest.mark.parametrize("w,h", SIZES)
def test_map_is_the_largest_centred_square(w, h):
    g = MapGeometry(w, h)
    assert g.side == min(w, h)
    assert abs((g.left) - (w - g.left - g.side)) <= 1
    assert abs((g.top) - (h - g.top - g.side)) <= 1
    assert g.latent_to_screen(-3.0, 3.0) == (g.left, g.top)
    assert g.latent_to_screen(3.0, -3.0) == (g.left + g.side, g.top + g.side)


@pytest.mark.parametrize("w,h", SIZES)
def test_screen_latent_mapping_is_exact_both_ways(w, h):
    g = MapGeometry(w, h)
    rng = np.random.default_rng(1)
    for z1, z2 in rng.uniform(-3, 3, (500, 2)):
        x, y = g.latent_to_screen(z1, z2)
        back = g.screen_to_latent(x, y)
        assert back == pytest.approx((z1, z2), abs=1e-12)
    for x, y in rng.uniform(0, 1, (500, 2)) * (w, h):
        z = g.screen_to_latent(x, y)
        assert g.latent_to_screen(*z) == pytest.approx((x, y), abs=1e-9)


def test_screen_up_is_plus_z2_and_right_is_plus_z1():
    g = MapGeometry(1920, 1080)
    x0, y0 = g.latent_to_screen(0.0, 0.0)
    assert (x0, y0) == (960.0, 540.0)
    x1, y1 = g.latent_to_screen(0.0, 1.0)
    assert x1 == x0 and y1 < y0
    x2, y2 = g.latent_to_screen(1.0, 0.0)
    assert x2 > x0 and y2 == y0


def test_pixels_and_latent_points_round_trip_within_half_a_pixel():
    g = MapGeometry(1920, 1080)
    half_pixel = 0.5 * 6.0 / g.side
    rng = np.random.default_rng(2)
    for z1, z2 in rng.uniform(-2.99, 2.99, (300, 2)):
        px, py = g.latent_to_pixel(z1, z2)
        b1, b2 = g.pixel_to_latent(px, py)
        assert abs(b1 - z1) <= half_pixel + 1e-12 and abs(b2 - z2) <= half_pixel + 1e-12
        assert g.latent_to_pixel(b1, b2) == (px, py)


def test_grid_cell_centres_land_in_their_cells():
    g = MapGeometry(1920, 1080)
    n = 30
    for row, col in [(0, 0), (0, 29), (29, 0), (17, 4), (29, 29)]:
        z = cell_to_latent(row, col, n, 3.0)
        x, y = g.latent_to_screen(*z)
        assert g.left + col * g.side / n < x < g.left + (col + 1) * g.side / n
        assert g.top + row * g.side / n < y < g.top + (row + 1) * g.side / n
        r, c = latent_to_cell(*g.screen_to_latent(x, y), n, 3.0)
        assert (r, c) == pytest.approx((row, col))


def test_unit_controller_range_covers_the_map():
    g = MapGeometry(1920, 1080)
    assert g.unit_to_latent(0, 0) == (-3.0, -3.0)
    assert g.unit_to_latent(1, 1) == (3.0, 3.0)
    assert g.latent_to_unit(*g.unit_to_latent(0.3, 0.8)) == pytest.approx((0.3, 0.8))


def test_tick_frames_layout_and_threshold():
    rng = np.random.default_rng(3)
    onsets = rng.uniform(0, 1, (4, 5, 3, 96)).astype(np.float32)
    frames = tick_frames(onsets, 0.6)
    assert frames.shape == (96, 5 * 3, 4, 3) and frames.dtype == np.uint8
    colors = instrument_colors(3)
    for t, row, col, inst in [(0, 0, 0, 0), (95, 3, 4, 2), (40, 2, 1, 1), (7, 1, 3, 0)]:
        p = onsets[row, col, inst, t]
        want = (colors[inst] * p).astype(np.uint8) if p > 0.6 else np.zeros(3, np.uint8)
        assert tuple(frames[t, col * 3 + inst, row]) == tuple(want)
    lit = (frames.max(axis=-1) > 0)
    expected_lit = onsets.transpose(3, 1, 2, 0).reshape(96, 15, 4) > 0.6
    # a lit cell with p just above 0.6 still has a non-zero colour channel
    assert np.array_equal(lit, expected_lit)


def test_a_cell_at_exactly_the_threshold_is_dark():
    onsets = np.zeros((1, 1, 3, 96), np.float32)
    onsets[0, 0, :, 5] = 0.5
    assert tick_frames(onsets, 0.5)[5].max() == 0
    assert tick_frames(onsets, 0.49)[5].max() > 0


# ---------------------------------------------------------------- pixels (SDL dummy driver)

@pytest.fixture(scope="module")
def model():
    return load_model()  # the default bundled model


def _app(pygame, model, size=(1920, 1080), threshold=0.5, head=(2.7, -2.7), position=0.0):
    from render_support import FakeEngine, build_app

    from rvae_visual.performance import Performance
    from rvae_visual.render.window import Window

    window = Window(fullscreen=False, size=size, vsync="off")
    perf = Performance(threshold=threshold, head=head, extent=model.grid().extent)  # the model's window
    engine = FakeEngine(position=position)
    app = build_app(window, engine, perf, model, model.grid(), model.path or model.name, show_hud=False)
    app.show_landmarks = False
    return app, window, engine


@pytest.mark.parametrize("tick,threshold", [(0, 0.5), (12, 0.3), (24, 0.8), (37, 0.5)])
def test_map_pixels_show_the_grid_at_the_tick_heard(dummy_display, model, tick, threshold):
    pygame = dummy_display
    app, window, engine = _app(pygame, model, threshold=threshold, position=96 * 7 + tick + 0.6)
    app.step()  # one real frame through the loop: engine position -> tick -> pixels
    surface = window.surface
    g = window.geometry()
    grid = model.grid()
    colors = instrument_colors(3)
    head_x, head_y = g.latent_to_screen(*app.conductor.perf.head)
    rng = np.random.default_rng(tick)
    p_now = grid.onsets[..., tick]  # (row, col, inst)
    lit_cells = np.argwhere(p_now > threshold)
    dark_cells = np.argwhere(p_now <= threshold)
    assert len(dark_cells)
    cells = [tuple(int(v) for v in c) for group in (lit_cells, dark_cells)
             for c in group[rng.permutation(len(group))[:80]]]
    lit = dark = skipped_lit = 0
    for row, col, inst in cells:
        x, y = cell_stripe_center(g, 30, 3, row, col, inst)
        if math.hypot(x - head_x, y - head_y) < 40:
            skipped_lit += grid.onsets[row, col, inst, tick] > threshold
            continue  # under the head
        p = grid.onsets[row, col, inst, tick]
        want = tuple(int(v) for v in (colors[inst] * p).astype(np.uint8)) if p > threshold else (0, 0, 0)
        got = tuple(surface.get_at((x, y)))[:3]
        assert got == want, f"cell {row},{col} inst {inst} tick {tick}: p={p:.3f}"
        lit += p > threshold
        dark += p <= threshold
    assert dark > 0 and lit == min(80, len(lit_cells)) - skipped_lit


def test_the_head_lands_on_its_pixel_and_a_click_there_maps_back(dummy_display, model):
    pygame = dummy_display
    z = (1.234, -0.567)
    app, window, engine = _app(pygame, model, head=z)
    app.step()
    g = window.geometry(model.extent)
    px, py = g.latent_to_pixel(*z)
    assert tuple(window.surface.get_at((px, py)))[:3] == HEAD
    # the pixel 4 head radii above is not the head; up there z2 is larger
    r = max(4, round(g.side / 72))
    assert tuple(window.surface.get_at((px, py - 4 * r)))[:3] != HEAD
    assert g.pixel_to_latent(px, py - 4 * r)[1] > z[1]
    # a press one head-diameter away moves the head exactly to that pixel's latent point
    target = (px + 3 * r, py + 2 * r)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=target))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=target))
    app.step()
    assert app.conductor.perf.head == pytest.approx(g.pixel_to_latent(*target), abs=1e-12)
    assert g.latent_to_pixel(*app.conductor.perf.head) == target
    assert tuple(window.surface.get_at(target))[:3] == HEAD


def test_map_fills_a_portrait_window_too(dummy_display, model):
    pygame = dummy_display
    app, window, engine = _app(pygame, model, size=(600, 900), position=12.0)
    app.step()
    g = window.geometry()
    assert g.rect == (0, 150, 600, 600)
    s = window.surface
    assert all(tuple(s.get_at((x, y)))[:3] == (0, 0, 0) for x in (0, 300, 599) for y in (0, 149, 750, 899))


def test_mapview_frames_follow_the_threshold(dummy_display):
    pygame = dummy_display
    from rvae_visual.render.mapview import MapView

    rng = np.random.default_rng(5)
    onsets = rng.uniform(0, 1, (6, 6, 3, 96)).astype(np.float32)
    view = MapView(onsets, 0.5, frames=tick_frames(onsets, 0.5))
    for t in (0, 50, 95):
        assert np.array_equal(pygame.surfarray.array3d(view.frame(t)), tick_frames(onsets, 0.5)[t])
    view.set_threshold(0.2)
    for t in (0, 50, 95):
        assert np.array_equal(pygame.surfarray.array3d(view.frame(t)), tick_frames(onsets, 0.2)[t])


def test_points_are_separated_by_black_gaps_on_a_big_screen(dummy_display):
    pygame = dummy_display
    from rvae_visual.render.mapview import MapView, point_gap

    onsets = np.ones((30, 30, 3, 96), np.float32)  # every cell lit
    view = MapView(onsets, 0.5)
    s = pygame.Surface((1920, 1080))
    geom = MapGeometry(1920, 1080)
    view.draw(s, geom, 0)
    gap = point_gap(geom.side, 30)
    assert gap >= 2
    cell = geom.side / 30
    for k in (1, 15, 29):
        edge = geom.left + round(k * cell)
        assert tuple(s.get_at((edge, geom.top + int(cell * 2.5))))[:3] == (0, 0, 0)  # between columns
        assert tuple(s.get_at((geom.left + int(cell * 2.5), geom.top + round(k * cell))))[:3] == (0, 0, 0)
        # the stripes themselves stay lit
        x, y = cell_stripe_center(geom, 30, 3, k, k, 1)
        assert tuple(s.get_at((x, y)))[:3] != (0, 0, 0)
    assert point_gap(300, 30) == 0  # a small window: no room for gaps


@pytest.mark.parametrize("style", ["stripes", "rows"])
@pytest.mark.parametrize("topology", [False, True])
@pytest.mark.parametrize("size", [(1920, 1080), (1000, 777), (640, 480), (300, 200)])
def test_the_two_pass_map_equals_one_scale_with_the_overlay_on_top(dummy_display, style, topology, size):
    """MapView.draw scales across, then down, with the overlay split between the strip and a
    few screen rows: the picture must be the frame scaled in one go with the gaps and region
    boundaries drawn over it, pixel for pixel, and the bands beside the square cleared."""
    pygame = dummy_display
    from rvae_visual.render.mapview import MapLook, MapView, overlay_picture

    rng = np.random.default_rng(11)
    onsets = rng.uniform(0, 1, (30, 30, 3, 96)).astype(np.float32)
    onsets[:12] *= 0.4  # a quieter region, so there are boundaries to draw
    view = MapView(onsets, 0.5, look=MapLook(style=style))
    view.topology = topology
    w, h = size
    geom = MapGeometry(w, h)
    beside = (min(40, geom.left), min(40, w - geom.left - geom.side))
    got = pygame.Surface(size, depth=32)
    got.fill((90, 10, 200))  # not the background: what draw clears must show
    view.draw(got, geom, 37, beside)

    want = pygame.Surface(size, depth=32)
    want.fill((90, 10, 200))
    want.fill((0, 0, 0), (geom.left - beside[0], geom.top, beside[0] + geom.side + beside[1], geom.side))
    dest = want.subsurface(pygame.Rect(geom.rect))
    pygame.transform.scale(view.frame(37), (geom.side, geom.side), dest)
    picture = overlay_picture(geom.side, 30, view.edges() if topology else None)
    if picture is not None:
        dest.blit(picture, (0, 0))
    assert (picture is not None) == (topology or geom.side >= 360)
    a, b = pygame.surfarray.array2d(got), pygame.surfarray.array2d(want)
    assert np.array_equal(a, b), f"{int((a != b).sum())} pixels differ"


def test_the_map_lights_each_drum_by_its_own_threshold():
    onsets = np.full((4, 4, 3, 96), 0.6, np.float32)
    one = tick_frames(onsets, 0.5)[0]
    each = tick_frames(onsets, (0.5, 0.7, 0.5))[0]  # (x = col*3 + inst, y)
    assert one[1::3].any(axis=-1).all() and not each[1::3].any()  # the snare stripes go dark
    assert np.array_equal(each[0::3], one[0::3]) and np.array_equal(each[2::3], one[2::3])
