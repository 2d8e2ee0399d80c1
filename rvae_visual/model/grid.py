"""The latent grid: n x n points at cell centres over [-extent, extent]^2, decoded to Patterns.

Screen orientation: row 0 is the top of the screen = largest z2 (screen-up = +z2); column 0 is
the left = smallest z1. Cell k's centre on either axis is -extent + (k + 0.5) * 2 * extent / n.
numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..pattern import Pattern

GRID_N = 30
GRID_EXTENT = 3.0


def cell_to_latent(row: float, col: float, n: int = GRID_N, extent: float = GRID_EXTENT
                   ) -> tuple[float, float]:
    """Latent (z1, z2) at continuous cell coordinates (row, col); integer values = cell centres."""
    step = 2.0 * extent / n
    z1 = -extent + (col + 0.5) * step
    z2 = extent - (row + 0.5) * step
    return float(z1), float(z2)


def latent_to_cell(z1: float, z2: float, n: int = GRID_N, extent: float = GRID_EXTENT
                   ) -> tuple[float, float]:
    """Continuous (row, col) of a latent point; inverse of `cell_to_latent`
    (round() to get the nearest cell; outside 0..n-1 means off the map)."""
    step = 2.0 * extent / n
    col = (z1 + extent) / step - 0.5
    row = (extent - z2) / step - 0.5
    return float(row), float(col)


def grid_points(n: int = GRID_N, extent: float = GRID_EXTENT) -> np.ndarray:
    """(n, n, 2) float32: latent point at the centre of each cell (row, col)."""
    c = -extent + (np.arange(n, dtype=np.float64) + 0.5) * (2.0 * extent / n)
    z = np.empty((n, n, 2), np.float64)
    z[:, :, 0] = c[None, :]  # z1 grows to the right
    z[:, :, 1] = c[::-1, None]  # z2 grows upwards: row 0 = +extent side
    return z.astype(np.float32)


@dataclass(frozen=True, eq=False)
class LatentGrid:
    """n x n decoded Patterns; arrays are (n, n, instruments, 96), indexed [row, col]."""

    n: int
    extent: float
    z: np.ndarray
    onsets: np.ndarray
    velocities: np.ndarray
    offsets: np.ndarray

    def pattern(self, row: int, col: int) -> Pattern:
        """The Pattern of one cell."""
        return Pattern(self.onsets[row, col], self.velocities[row, col], self.offsets[row, col])

    def hit_masks(self, threshold: float = 0.5) -> np.ndarray:
        """(n, n, instruments, 96) bool: onset probability > threshold."""
        return self.onsets > threshold


def build_grid(decode_split: Callable[[np.ndarray], np.ndarray], n: int = GRID_N,
               extent: float = GRID_EXTENT) -> LatentGrid:
    """Decode every cell centre into a LatentGrid; `decode_split` maps (N, 2) latent points to
    (3, N, I, 96): onsets, velocities, offsets (as `NumpyVAE.decode_split`)."""
    z = grid_points(n, extent)
    out = decode_split(z.reshape(-1, 2))
    arrays = []
    for k in range(3):
        a = out[k].reshape(n, n, *out.shape[2:])
        a.setflags(write=False)
        arrays.append(a)
    z.setflags(write=False)
    return LatentGrid(n, float(extent), z, *arrays)
