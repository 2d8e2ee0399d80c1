"""The one data type: a `Pattern` is one 4/4 bar of drums at 24 ppqn (96 ticks).

Three float32 arrays shaped (instruments, 96): onset probability (0..1), velocity (0..1) and
microtiming offset (fraction of a tick, [-0.5, 0.5)). Tick t of bar b with offset o sounds at
quarter note (b*96 + t + o) / 24 of the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

PPQN = 24
TICKS_PER_BAR = 96
QUARTERS_PER_BAR = TICKS_PER_BAR // PPQN


class Hit(NamedTuple):
    """One hit of a thresholded Pattern: tick 0..95, instrument index, velocity 0..1, offset in ticks."""

    tick: int
    instrument: int
    velocity: float
    offset: float


@dataclass(frozen=True, eq=False)
class Pattern:
    """One bar: onset probability, velocity and microtiming offset, each (instruments, 96) float32."""

    onsets: np.ndarray
    velocities: np.ndarray
    offsets: np.ndarray

    def __post_init__(self) -> None:
        shape = np.shape(self.onsets)
        if len(shape) != 2 or shape[1] != TICKS_PER_BAR:
            raise ValueError(f"Pattern arrays must be (instruments, {TICKS_PER_BAR}), got {shape}")
        for name in ("onsets", "velocities", "offsets"):
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.float32)
            if arr.shape != shape:
                raise ValueError(f"Pattern.{name} is {arr.shape}, expected {shape}")
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def n_instruments(self) -> int:
        """Number of instrument rows."""
        return int(self.onsets.shape[0])

    @classmethod
    def empty(cls, n_instruments: int = 3) -> "Pattern":
        """A silent bar."""
        z = np.zeros((n_instruments, TICKS_PER_BAR), np.float32)
        return cls(z, z, z)

    def hit_mask(self, threshold: float = 0.5) -> np.ndarray:
        """Boolean (instruments, 96): onset probability strictly above `threshold`."""
        return self.onsets > threshold

    def hits(self, threshold: float = 0.5) -> list[Hit]:
        """Hits with onset probability > threshold, ordered by tick then instrument."""
        inst, tick = np.nonzero(self.hit_mask(threshold))
        order = np.lexsort((inst, tick))
        return [
            Hit(int(tick[i]), int(inst[i]), float(self.velocities[inst[i], tick[i]]),
                float(self.offsets[inst[i], tick[i]]))
            for i in order
        ]

    def n_hits(self, threshold: float = 0.5) -> int:
        """Number of hits above threshold."""
        return int(np.count_nonzero(self.hit_mask(threshold)))

    def to_array(self) -> np.ndarray:
        """Stacked (3, instruments, 96) float32: onsets, velocities, offsets."""
        return np.stack([self.onsets, self.velocities, self.offsets])

    @classmethod
    def from_array(cls, arr: np.ndarray) -> "Pattern":
        """Inverse of `to_array`."""
        return cls(arr[0], arr[1], arr[2])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pattern):
            return NotImplemented
        return all(np.array_equal(getattr(self, n), getattr(other, n))
                   for n in ("onsets", "velocities", "offsets"))

    __hash__ = None  # type: ignore[assignment]


def samples_per_tick(bpm: float, sample_rate: int) -> float:
    """Samples in one tick (1/24 quarter) at `bpm`."""
    return sample_rate * 60.0 / (bpm * PPQN)


def velocity_byte(v: float) -> int:
    """Velocity 0..1 -> MIDI velocity 1..127 (a hit is never silent)."""
    return min(127, max(1, int(round(v * 127.0))))


def ms_per_tick(bpm: float) -> float:
    """Milliseconds in one tick at `bpm`."""
    return 60000.0 / (bpm * PPQN)
