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

from ..pattern import TICKS_PER_BAR
from .colors import instrument_colors

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


def tick_frames(onsets: np.ndarray, threshold: float, colors: np.ndarray | None = None) -> np.ndarray:
    """All 96 frames of the map as small RGB images, (96, n*I, n, 3) uint8 in surfarray (x, y) order.

    `onsets` is the grid's (n, n, I, 96) onset probability (row 0 = top). Pixel x = col*I + i,
    y = row holds instrument i of grid point (row, col): its colour times the probability when
    the probability is above `threshold`, black otherwise."""
    n_rows, n_cols, n_inst, n_ticks = onsets.shape
    if n_ticks != TICKS_PER_BAR:
        raise ValueError(f"grid onsets must have {TICKS_PER_BAR} ticks, got {n_ticks}")
    col = instrument_colors(n_inst) if colors is None else np.asarray(colors, np.uint8)
    p = np.asarray(onsets, np.float32).transpose(3, 1, 2, 0)  # (tick, col, inst, row)
    lit = np.where(p > threshold, p, np.float32(0.0))
    # (tick, col, inst, row, rgb) -> (tick, col*I + inst, row, rgb)
    rgb = lit[..., None] * col.astype(np.float32)[None, None, :, None, :]
    return rgb.reshape(n_ticks, n_cols * n_inst, n_rows, 3).astype(np.uint8)


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
    `frames`); each becomes a pygame surface when its tick first comes up. A new threshold
    marks them stale and each is rebuilt when its tick comes up (about 0.1 ms), so neither a
    model swap nor dragging the threshold knob stalls a frame."""

    def __init__(self, onsets: np.ndarray, threshold: float, extent: float = 3.0,
                 frames: np.ndarray | None = None) -> None:
        self.onsets = np.asarray(onsets, np.float32)
        self.n = int(self.onsets.shape[0])
        self.n_instruments = int(self.onsets.shape[2])
        self.extent = float(extent)
        self.threshold = float(threshold)
        # (tick, col, inst, row): one tick's frame is a contiguous block
        self._p = np.ascontiguousarray(self.onsets.transpose(3, 1, 2, 0))
        self._colors = instrument_colors(self.n_instruments).astype(np.float32)
        self._arrays = frames if frames is not None else tick_frames(self.onsets, self.threshold)
        self._arrays_threshold = self.threshold
        self.frames: list[pygame.Surface | None] = [None] * TICKS_PER_BAR
        self._built_for: list[float | None] = [None] * TICKS_PER_BAR

    def frame_array(self, tick: int) -> np.ndarray:
        """The small RGB image of `tick` at the current threshold, (n*I, n, 3) uint8 (x, y)."""
        p = self._p[tick]
        lit = np.where(p > self.threshold, p, np.float32(0.0))
        rgb = lit[..., None] * self._colors[None, :, None, :]
        return rgb.reshape(self.n * self.n_instruments, self.n, 3).astype(np.uint8)

    def frame(self, tick: int) -> pygame.Surface:
        """The surface of `tick` (0..95), rebuilt if the threshold changed since it was made."""
        import pygame

        s = self.frames[tick]
        if s is None or self._built_for[tick] != self.threshold:
            if s is None:
                s = pygame.Surface((self.n * self.n_instruments, self.n), depth=32)
            arr = self._arrays[tick] if self._arrays_threshold == self.threshold else self.frame_array(tick)
            pygame.surfarray.blit_array(s, arr)
            self.frames[tick] = s
            self._built_for[tick] = self.threshold
        return s

    def set_threshold(self, threshold: float) -> None:
        """A new threshold: frames are rebuilt as their ticks come up."""
        self.threshold = float(threshold)

    def draw(self, target: pygame.Surface, geom: MapGeometry, tick: int) -> None:
        """Draw the frame of `tick` (0..95) into the map square of `target`."""
        import pygame

        side = geom.side
        if side <= 0:
            return
        dest = target.subsurface(pygame.Rect(geom.rect))
        pygame.transform.scale(self.frame(tick % TICKS_PER_BAR), (side, side), dest)
        # thin black gaps between grid points, so the map reads as n x n points, not stripes
        gap = point_gap(side, self.n)
        if gap:
            for k in range(1, self.n):
                at = round(k * side / self.n) - gap // 2
                dest.fill((0, 0, 0), (at, 0, gap, side))
                dest.fill((0, 0, 0), (0, at, side, gap))


def point_gap(side: int, n: int) -> int:
    """Width in pixels of the black gap drawn between neighbouring grid points (0 when the
    points are too small to spare any: below 12 pixels a point)."""
    cell = side / n
    return 0 if cell < 12 else max(1, int(cell // 12))
