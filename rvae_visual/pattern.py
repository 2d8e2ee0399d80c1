"""The one data type: a `Pattern` is one bar of drums: four beats of 24 ticks (96 ticks).

Three float32 arrays shaped (instruments, 96): onset probability (0..1), velocity (0..1) and
microtiming offset in ticks (signed; how far a hit is played from its grid position, up to half
the spacing of the subdivision it was read on: within [-OFFSET_LIMIT, OFFSET_LIMIT)). Tick t of
bar b with offset o sounds at beat (b*96 + t + o) / 24 of the loop. A beat is a quarter note in
4/4 and a dotted quarter in 12/8 and 6/8 (see `Meter`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Tuple, Union

import numpy as np

PPQN = 24
TICKS_PER_BAR = 96
QUARTERS_PER_BAR = TICKS_PER_BAR // PPQN
TICKS_PER_BEAT = PPQN
BEATS_PER_PATTERN = TICKS_PER_BAR // TICKS_PER_BEAT
OFFSET_LIMIT = 3.0  # ticks: half a 16th, the widest microtiming a clip reading keeps


@dataclass(frozen=True)
class Meter:
    """How a 96-tick Pattern is counted: 4 beats of 24 ticks, each beat a quarter note (4/4) or
    a dotted quarter (12/8; 6/8, where two bars fill one Pattern)."""

    numerator: int
    denominator: int

    @property
    def name(self) -> str:
        """E.g. "12/8"."""
        return f"{self.numerator}/{self.denominator}"

    @property
    def compound(self) -> bool:
        """Beats of three eighths (6/8, 12/8)."""
        return self.denominator == 8

    @property
    def quarters_per_beat(self) -> float:
        """Quarter notes in one beat of 24 ticks: 1 (4/4) or 1.5 (dotted quarter)."""
        return 1.5 if self.compound else 1.0

    @property
    def ticks_per_quarter(self) -> float:
        """Ticks in one quarter note: 24 (4/4) or 16 (12/8, 6/8)."""
        return TICKS_PER_BEAT / self.quarters_per_beat

    @property
    def beats_per_bar(self) -> int:
        """Counted beats in one bar of the meter: 4 (4/4, 12/8) or 2 (6/8)."""
        return self.numerator // 3 if self.compound else self.numerator

    @property
    def ticks_per_beat(self) -> int:
        """Ticks in one counted beat: always 24."""
        return TICKS_PER_BEAT

    @property
    def bars_per_pattern(self) -> int:
        """Bars of the meter in one 96-tick Pattern: 1, or 2 for 6/8."""
        return BEATS_PER_PATTERN // self.beats_per_bar

    @property
    def ticks_per_bar(self) -> int:
        """Ticks in one bar of the meter: 96, or 48 for 6/8."""
        return self.beats_per_bar * TICKS_PER_BEAT

    @property
    def subdivision_ticks(self) -> int:
        """Spacing of the meter's own subdivision of the beat: 6 ticks (16ths of a quarter) or
        4 ticks (16ths of a dotted quarter)."""
        return 4 if self.compound else 6

    def to_dict(self) -> dict:
        """What a model file records."""
        return {"name": self.name, "numerator": self.numerator, "denominator": self.denominator,
                "beats_per_bar": self.beats_per_bar, "ticks_per_beat": self.ticks_per_beat,
                "bars_per_pattern": self.bars_per_pattern,
                "quarters_per_beat": self.quarters_per_beat}

    @classmethod
    def from_dict(cls, d: dict | None) -> "Meter":
        """Inverse of `to_dict` (None or {} = 4/4)."""
        if not d:
            return METER_4_4
        return meter_of(int(d["numerator"]), int(d["denominator"]))


METER_4_4 = Meter(4, 4)
METER_12_8 = Meter(12, 8)
METER_6_8 = Meter(6, 8)
METERS = {m.name: m for m in (METER_4_4, METER_12_8, METER_6_8)}


def meter_of(numerator: int, denominator: int) -> Meter:
    """The Meter of a time signature; ValueError for any other than 4/4, 12/8 and 6/8."""
    m = METERS.get(f"{numerator}/{denominator}")
    if m is None:
        raise ValueError(f"time signature {numerator}/{denominator}; only 4/4, 12/8 and 6/8 "
                         "clips are read")
    return m


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

    def hit_mask(self, threshold: "Threshold" = 0.5) -> np.ndarray:
        """Boolean (instruments, 96): onset probability strictly above `threshold` (one for all,
        or one per instrument)."""
        return self.onsets > threshold_array(threshold)

    def hits(self, threshold: "Threshold" = 0.5) -> list[Hit]:
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


Threshold = Union[float, Tuple[float, ...]]  # one onset threshold for all instruments, or one each


def threshold_array(threshold: Threshold) -> "float | np.ndarray":
    """`threshold` ready to compare with onsets whose last two axes are (instrument, tick or
    row): the float itself, or the per-instrument values as an (instruments, 1) array."""
    if isinstance(threshold, (int, float)):
        return float(threshold)
    return np.asarray(threshold, np.float32).reshape(-1, 1)


def as_threshold(threshold: Threshold) -> Threshold:
    """A float, or a tuple of floats (hashable: a cache key)."""
    if isinstance(threshold, (int, float)):
        return float(threshold)
    return tuple(float(v) for v in threshold)
