"""The latent map on screen: where it sits, screen <-> latent mapping, and its 96 tick frames.

The map fills the largest centred square of the window. Latent z1 runs left to right over
[-extent, extent], z2 bottom to top (screen-up = +z2). Each of the n x n grid points is a block
of instrument stripes (kick | snare | hi-hat, left to right); a stripe's brightness is the onset
probability at the tick on screen, and it is lit only when that probability is above the
threshold (the same rule that decides what is heard).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..pattern import TICKS_PER_BAR, Threshold, as_threshold, threshold_array
from .colors import BACKGROUND, instrument_colors

if TYPE_CHECKING:  # pygame is imported by the functions that draw
    import pygame


@dataclass(frozen=True)
class MapGeometry:
    """The map square inside a `width` x `height` window (pixels) and its latent window."""

    width: int
    height: int
    extent: float = 3.0

    @property
    def side(self) -> int:
        """Side of the map square, pixels."""
        return min(self.width, self.height)

    @property
    def left(self) -> int:
        """x of the square's left edge, pixels."""
        return (self.width - self.side) // 2

    @property
    def top(self) -> int:
        """y of the square's top edge, pixels."""
        return (self.height - self.side) // 2

    @property
    def rect(self) -> tuple[int, int, int, int]:
        """(left, top, side, side) in pixels."""
        return (self.left, self.top, self.side, self.side)

    def latent_to_screen(self, z1: float, z2: float) -> tuple[float, float]:
        """Latent point -> screen position in pixels (continuous; pixel k spans [k, k+1))."""
        span = 2.0 * self.extent
        x = self.left + (z1 + self.extent) / span * self.side
        y = self.top + (self.extent - z2) / span * self.side
        return (x, y)

    def screen_to_latent(self, x: float, y: float) -> tuple[float, float]:
        """Screen position in pixels (continuous) -> latent point; the inverse of latent_to_screen."""
        span = 2.0 * self.extent
        z1 = (x - self.left) / self.side * span - self.extent
        z2 = self.extent - (y - self.top) / self.side * span
        return (z1, z2)

    def latent_to_pixel(self, z1: float, z2: float) -> tuple[int, int]:
        """The pixel (column, row) that contains a latent point."""
        x, y = self.latent_to_screen(z1, z2)
        return (math.floor(x), math.floor(y))

    def pixel_to_latent(self, px: int, py: int) -> tuple[float, float]:
        """Latent point at the centre of pixel (px, py), e.g. a mouse position."""
        return self.screen_to_latent(px + 0.5, py + 0.5)

    def contains(self, px: float, py: float) -> bool:
        """Is the screen position inside the map square?"""
        return self.left <= px < self.left + self.side and self.top <= py < self.top + self.side

    def unit_to_latent(self, u: float, v: float) -> tuple[float, float]:
        """Controller position 0..1 across the map (u left->right, v bottom->top) -> latent."""
        return (-self.extent + 2.0 * self.extent * u, -self.extent + 2.0 * self.extent * v)

    def latent_to_unit(self, z1: float, z2: float) -> tuple[float, float]:
        """Inverse of unit_to_latent."""
        span = 2.0 * self.extent
        return ((z1 + self.extent) / span, (z2 + self.extent) / span)


def tick_frames(onsets: np.ndarray, threshold: Threshold, colors: np.ndarray | None = None) -> np.ndarray:
    """All 96 frames of the map as small RGB images, (96, n*I, n, 3) uint8 in surfarray (x, y) order.

    `onsets` is the grid's (n, n, I, 96) onset probability (row 0 = top). Pixel x = col*I + i,
    y = row holds instrument i of grid point (row, col): its colour times the probability when
    the probability is above `threshold`, black otherwise (`look_frames` in the plain look)."""
    return look_frames(onsets, None, threshold, MapLook.plain(), colors)


STYLES = ("stripes", "rows")
GHOST_BASE = (26, 26, 30)  # every point, always: the map's structure on any frame
GHOST_LEVEL = 0.22  # an instrument that plays anywhere in the point's bar, as a share of its colour
SOFT_HIT = 0.35  # the brightness of the softest hit (velocity 0), the loudest is 1


@dataclass(frozen=True)
class MapLook:
    """How the map is drawn. `glow_ticks`: a hit stays lit this many ticks, fading (0 = only on
    its tick; 6 = a 16th note, so it follows the tempo); `ghost`: every point always faintly
    visible, its instruments tinted where they play in the bar; `style`: "stripes" (instrument
    columns, kick | snare | hi-hat) or "rows" (instrument rows, hi-hat on top, kick at the bottom)."""

    glow_ticks: int = 6
    ghost: bool = True
    style: str = "stripes"

    @staticmethod
    def plain() -> "MapLook":
        """Hits only on their tick, black between: the first releases' look."""
        return MapLook(glow_ticks=0, ghost=False)


def look_frames(onsets: np.ndarray, velocities: np.ndarray | None, threshold: Threshold, look: MapLook,
                colors: np.ndarray | None = None, ticks: range | None = None) -> np.ndarray:
    """Frames of the map in `look`, (len(ticks), W, H, 3) uint8 in surfarray (x, y) order; all 96
    by default. W x H is n*I x n for "stripes", n x n*I for "rows".

    A hit (probability above `threshold`) lights its cell at SOFT_HIT..1 by its velocity (by its
    probability without velocities) and fades linearly over `glow_ticks` ticks, wrapping round
    the bar as the loop does; under it the ghost: a dim base for every cell and the instrument's
    colour at GHOST_LEVEL where it plays anywhere in that bar."""
    n_rows, n_cols, n_inst, n_ticks = onsets.shape
    if n_ticks != TICKS_PER_BAR:
        raise ValueError(f"grid onsets must have {TICKS_PER_BAR} ticks, got {n_ticks}")
    if look.style not in STYLES:
        raise ValueError(f"style {look.style!r} is not one of {', '.join(STYLES)}")
    col = (instrument_colors(n_inst) if colors is None else np.asarray(colors, np.uint8)).astype(np.float32)
    p = np.asarray(onsets, np.float32).transpose(3, 1, 2, 0)  # (tick, col, inst, row), a view
    v = None if velocities is None else np.asarray(velocities, np.float32).transpose(3, 1, 2, 0)
    want = range(TICKS_PER_BAR) if ticks is None else ticks
    thr = threshold_array(threshold)  # against (..., inst, row)
    g = max(0, int(look.glow_ticks))
    levels: dict[int, np.ndarray] = {}  # only the ticks the wanted frames need

    def level(t: int) -> np.ndarray:
        got = levels.get(t)
        if got is None:
            hit_t = p[t] > thr
            if v is None:
                got = np.where(hit_t, p[t], np.float32(0.0))
            else:
                got = np.where(hit_t, SOFT_HIT + (1.0 - SOFT_HIT) * np.clip(v[t], 0.0, 1.0), np.float32(0.0))
            levels[t] = got
        return got

    out = np.empty((len(want), n_cols, n_inst, n_rows), np.float32)
    for j, t in enumerate(want):
        cur = level(t).copy()
        for k in range(1, g):
            np.maximum(cur, level((t - k) % TICKS_PER_BAR) * np.float32(1.0 - k / g), out=cur)
        out[j] = cur
    rgb = out[..., None] * col[None, None, :, None, :]  # (t, col, inst, row, rgb)
    if look.ghost:
        plays = np.asarray((p > thr).any(axis=0))  # (col, inst, row)
        ghost = np.where(plays[..., None], GHOST_LEVEL * col[None, :, None, :], np.float32(0.0))
        ghost = np.maximum(ghost, np.asarray(GHOST_BASE, np.float32))
        np.maximum(rgb, ghost[None], out=rgb)
    img = rgb.astype(np.uint8)
    if look.style == "rows":  # (t, col, inst, row) -> (t, col, row*I + (I-1-inst)): kick at the bottom
        img = img[:, :, ::-1].transpose(0, 1, 3, 2, 4).reshape(len(want), n_cols, n_rows * n_inst, 3)
        return np.ascontiguousarray(img)
    return np.ascontiguousarray(img.reshape(len(want), n_cols * n_inst, n_rows, 3))


EDGE_MIN = 0.08  # neighbours whose hits differ less than this (Jaccard distance) share a region
EDGE_FULL = 0.3  # a boundary this strong or stronger is drawn at full brightness


def boundaries(onsets: np.ndarray, threshold: Threshold, min_distance: float = EDGE_MIN) -> tuple[np.ndarray, np.ndarray]:
    """Where neighbouring points play clearly different rhythms: (right, down) float arrays of
    shapes (n, n-1) and (n-1, n), the Jaccard distance of the two points' hits (instrument and
    tick, a hit one tick off counting as the same), 0 where it is below `min_distance`.
    right[r, c] is the edge between (r, c) and (r, c+1); down[r, c] between (r, c) and (r+1, c)."""
    hits = np.asarray(onsets) > threshold_array(threshold)  # (row, col, inst, tick)
    near = hits | np.roll(hits, 1, axis=-1) | np.roll(hits, -1, axis=-1)

    def dist(a: np.ndarray, b: np.ndarray, a_near: np.ndarray, b_near: np.ndarray) -> np.ndarray:
        inter = (a & b_near).sum(axis=(-2, -1)) + (b & a_near).sum(axis=(-2, -1))
        total = a.sum(axis=(-2, -1)) + b.sum(axis=(-2, -1))
        d = 1.0 - np.divide(inter, total, out=np.ones(total.shape), where=total > 0)
        d = np.where(total == 0, 0.0, d)  # two silent points are alike
        return np.where(d >= min_distance, d, 0.0)

    right = dist(hits[:, :-1], hits[:, 1:], near[:, :-1], near[:, 1:])
    down = dist(hits[:-1], hits[1:], near[:-1], near[1:])
    return right, down


def cell_stripe_center(geom: MapGeometry, n: int, n_instruments: int, row: int, col: int,
                       instrument: int) -> tuple[int, int]:
    """Pixel at the centre of instrument `instrument`'s stripe of grid point (row, col)."""
    stripe = geom.side / (n * n_instruments)
    x = geom.left + (col * n_instruments + instrument + 0.5) * stripe
    y = geom.top + (row + 0.5) * geom.side / n
    return (math.floor(x), math.floor(y))


class MapView:
    """The 96 tick frames of a model's grid, drawn scaled into the map square.

    The 96 small RGB frames are computed when the model loads (numpy, any thread: pass them as
    `frames`, made for `threshold` and `look`); each becomes a pygame surface when its tick
    first comes up. A new threshold or look marks them stale and each is rebuilt when its tick
    comes up (well under a millisecond), so neither a model swap nor dragging the threshold knob
    stalls a frame. `topology` draws the boundaries between rhythm regions over the map."""

    def __init__(self, onsets: np.ndarray, threshold: Threshold, extent: float = 3.0,
                 frames: np.ndarray | None = None, velocities: np.ndarray | None = None,
                 look: MapLook | None = None) -> None:
        self.onsets = np.asarray(onsets, np.float32)
        self.velocities = None if velocities is None else np.asarray(velocities, np.float32)
        self.n = int(self.onsets.shape[0])
        self.n_instruments = int(self.onsets.shape[2])
        self.extent = float(extent)
        self.threshold: Threshold = as_threshold(threshold)
        self.look = look if look is not None else MapLook.plain()
        self.topology = False
        self._arrays = frames
        self._arrays_key = (self.threshold, self.look)
        self.frames: list[pygame.Surface | None] = [None] * TICKS_PER_BAR
        self._built_for: list[tuple[Threshold, MapLook] | None] = [None] * TICKS_PER_BAR
        self._edges: tuple[Threshold, tuple[np.ndarray, np.ndarray]] | None = None
        self._overlays: dict[int, tuple[tuple[Threshold, bool, int], tuple[pygame.Surface | None, list]]] = {}  # by map side
        self._strips: dict[tuple[int, int, int, int], tuple[pygame.Surface, pygame.Surface, list]] = {}

    def frame_array(self, tick: int) -> np.ndarray:
        """The small RGB image of `tick` at the current threshold and look, uint8 (x, y)."""
        return look_frames(self.onsets, self.velocities, self.threshold, self.look,
                           ticks=range(tick, tick + 1))[0]

    def frame(self, tick: int) -> pygame.Surface:
        """The surface of `tick` (0..95), rebuilt if the threshold or look changed since."""
        import pygame

        key = (self.threshold, self.look)
        s = self.frames[tick]
        if s is None or self._built_for[tick] != key:
            arr = (self._arrays[tick] if self._arrays is not None and self._arrays_key == key
                   else self.frame_array(tick))
            if s is None or s.get_size() != arr.shape[:2]:
                s = pygame.Surface(arr.shape[:2], depth=32)
            pygame.surfarray.blit_array(s, arr)
            self.frames[tick] = s
            self._built_for[tick] = key
        return s

    def set_threshold(self, threshold: Threshold) -> None:
        """A new threshold (one, or one per instrument): frames are rebuilt as their ticks come up."""
        self.threshold = as_threshold(threshold)

    def set_look(self, look: MapLook) -> None:
        """A new look: frames are rebuilt as their ticks come up."""
        self.look = look

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """`boundaries` at the current threshold (computed once per threshold)."""
        if self._edges is None or self._edges[0] != self.threshold:
            self._edges = (self.threshold, boundaries(self.onsets, self.threshold))
        return self._edges[1]

    def draw(self, target: pygame.Surface, geom: MapGeometry, tick: int, beside: tuple[int, int] = (0, 0)) -> None:
        """Draw the frame of `tick` (0..95) into the map square of `target`, and clear
        `beside` = (left, right) pixels of background next to it, the square's height tall."""
        import pygame

        side = geom.side
        if side <= 0:
            return
        left, right = max(0, min(beside[0], geom.left)), max(0, min(beside[1], geom.width - geom.left - side))
        small = self.frame(tick % TICKS_PER_BAR)
        # Scaled in two steps: across into a strip one small row high, then down into the
        # square. Each pass over the screen's rows costs (their memory pages are walked again),
        # so the square and the bands beside it are written in one pass, and what is drawn over
        # the map (gaps between points, region boundaries) is split into the part that is the
        # same down each row of points (drawn into the strip) and the few screen rows where it
        # is not (blitted after).
        strip, inside, beside_rects = self._strip(side, small.get_height(), left, right)
        pygame.transform.scale(small, inside.get_size(), inside)
        for rect in beside_rects:
            strip.fill(BACKGROUND, rect)
        over_strip, over_rows = self._overlay(side, small.get_height())
        if over_strip is not None:
            inside.blit(over_strip, (0, 0))
        dest = target.subsurface(pygame.Rect(geom.left - left, geom.top, left + side + right, side))
        pygame.transform.scale(strip, dest.get_size(), dest)
        if over_rows:
            dest.fblits([(surf, (left, y)) for surf, y in over_rows])

    def _strip(self, side: int, height: int, left: int, right: int) -> tuple[pygame.Surface, pygame.Surface, list]:
        """The strip surface (`left` + `side` + `right` x `height`), its map part and the rects
        of background beside it, for a map square of `side` pixels; cached."""
        import pygame

        key = (side, height, left, right)
        got = self._strips.get(key)
        if got is None:
            strip = pygame.Surface((left + side + right, height), depth=32)
            fills = [r for r in (pygame.Rect(0, 0, left, height), pygame.Rect(left + side, 0, right, height)) if r.width]
            got = (strip, strip.subsurface(pygame.Rect(left, 0, side, height)), fills)
            if len(self._strips) >= 4:  # a performer's and an audience window, and resizes
                self._strips.clear()
            self._strips[key] = got
        return got

    def _overlay(self, side: int, height: int) -> tuple[pygame.Surface | None, list]:
        """What is drawn over the map (`overlay_picture`) for a map square of `side` pixels and
        frames `height` small rows high, split for `draw`: a colour-keyed `side` x `height`
        strip that is the same down each row of points, and (surface, y) for the screen rows
        where the picture differs from it. Cached per map side."""
        key = (self.threshold, self.topology, height)
        got = self._overlays.get(side)
        if got is not None and got[0] == key:
            return got[1]
        picture = overlay_picture(side, self.n, self.edges() if self.topology else None)
        split = (None, []) if picture is None else split_overlay(picture, height)
        if len(self._overlays) >= 4:  # a performer's and an audience window, and resizes
            self._overlays.clear()
        self._overlays[side] = (key, split)
        return split


def overlay_picture(side: int, n: int, edges: tuple[np.ndarray, np.ndarray] | None) -> pygame.Surface | None:
    """A colour-keyed `side` x `side` picture of what is drawn over an n x n map: thin black
    gaps between points (so the map reads as n x n points) and, when `edges` are given, the
    rhythm-region boundaries. None when there is nothing to draw."""
    import pygame

    gap = point_gap(side, n)
    fills: list = []
    if gap:
        for k in range(1, n):
            at = round(k * side / n) - gap // 2
            fills += [(BACKGROUND, (at, 0, gap, side)), (BACKGROUND, (0, at, side, gap))]
    if edges is not None:
        fills += boundary_fills(side, n, *edges)
    if not fills:
        return None
    surf = pygame.Surface((side, side), depth=32)
    surf.fill(OVERLAY_KEY)
    for color, rect in fills:
        surf.fill(color, rect)
    surf.set_colorkey(OVERLAY_KEY)
    return surf


def scale_rows(height: int, side: int) -> np.ndarray:
    """Which of `height` source rows `pygame.transform.scale` puts on each of `side` rows."""
    import pygame

    src = pygame.Surface((1, height), depth=32)
    pygame.surfarray.pixels2d(src)[0, :] = np.arange(height, dtype=np.uint32)
    out = pygame.transform.scale(src, (1, side))
    return np.asarray(pygame.surfarray.array2d(out)[0] & 0xFFFFFF, np.int64)


def split_overlay(picture: pygame.Surface, height: int) -> tuple[pygame.Surface | None, list]:
    """`picture` (side x side, colour-keyed) as a `side` x `height` strip that, scaled down the
    square as the map's strip is, gives the picture wherever it is the same down each row of
    points, and (surface, y): the bands of screen rows where it is not, to blit after."""
    import pygame

    side = picture.get_height()
    pix = pygame.surfarray.array2d(picture)  # (x, y)
    rows = scale_rows(height, side)
    strip_pix = np.empty((pix.shape[0], height), pix.dtype)
    for j in range(height):  # each strip row: the middle screen row it becomes
        ys = np.flatnonzero(rows == j)
        strip_pix[:, j] = pix[:, ys[len(ys) // 2]] if len(ys) else pix[:, 0]
    differs = (pix != strip_pix[:, rows]).any(axis=0)
    key = picture.get_colorkey() or OVERLAY_KEY
    strip = None
    if bool(np.any(strip_pix != picture.map_rgb(key))):
        strip = pygame.Surface((pix.shape[0], height), depth=32)
        pygame.surfarray.blit_array(strip, strip_pix)
        strip.set_colorkey(key)
    bands = []
    y = 0
    while y < side:
        if not differs[y]:
            y += 1
            continue
        y1 = y
        while y1 < side and differs[y1]:
            y1 += 1
        band = picture.subsurface(pygame.Rect(0, y, pix.shape[0], y1 - y)).copy()
        band.set_colorkey(key)
        bands.append((band, y))
        y = y1
    return strip, bands


OVERLAY_KEY = (255, 0, 255)  # transparent in the overlay; no boundary is this colour
TOPOLOGY = (235, 235, 245)  # boundary lines at full strength; thin enough to play over


def boundary_fills(side: int, n: int, right: np.ndarray, down: np.ndarray) -> list:
    """(colour, (x, y, w, h)) rectangles in a map square of `side` pixels: lines on the edges
    between points whose rhythms differ (`boundaries`), brighter the more they differ."""
    width = max(1, round(side / n / 10))
    edge = [round(k * side / n) for k in range(n + 1)]
    out = []
    def color(d: float) -> tuple[int, ...]:
        k = 0.35 + 0.65 * min(1.0, d / EDGE_FULL)
        return tuple(int(v * k) for v in TOPOLOGY)

    for (r, c), d in np.ndenumerate(right):
        if d > 0:
            out.append((color(d),
                        (edge[c + 1] - width // 2, edge[r], width, edge[r + 1] - edge[r])))
    for (r, c), d in np.ndenumerate(down):
        if d > 0:
            out.append((color(d),
                        (edge[c], edge[r + 1] - width // 2, edge[c + 1] - edge[c], width)))
    return out


def point_gap(side: int, n: int) -> int:
    """Width in pixels of the black gap drawn between neighbouring grid points (0 when the
    points are too small to spare any: below 12 pixels a point)."""
    cell = side / n
    return 0 if cell < 12 else max(1, int(cell // 12))
