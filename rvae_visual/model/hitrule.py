"""From onset probabilities to hits a drummer could play, and the map window (numpy only).

`HitRule` is applied to every decoded Pattern (the map picture, the audio, MIDI out, render and
export all threshold the same onsets), so it holds at any threshold:

- a drum absent from every training clip never plays (its probabilities are 0);
- no drum plays on two neighbouring ticks: of two neighbours the less probable one is 0 (the
  training clips, read musically, have no such pairs: a flam is one hit with its offset);
- no point plays more hits of a drum than the densest training bar: only that many of the
  drum's most probable ticks keep their probability.

The window is the square of the latent plane shown as the map: centred on the origin (the
prior's mean; the player keeps the map's centre there), wide enough for `WINDOW_COVER` of the
training bars plus a margin, so the map shows where the model learned rhythms rather than its
extrapolation far from all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

WINDOW_COVER = 0.95  # share of training bars inside the window before the margin
WINDOW_MARGIN = 0.15  # of the half-width, added on every side
WINDOW_MIN_HALF = 0.5  # latent units: a window never narrower than 1 x 1
LEGACY_WINDOW = (-3.0, 3.0, -3.0, 3.0)  # models from before the window was fitted


def flam_rate(hits: np.ndarray) -> float:
    """Share of hits with a hit of the same drum on the tick before (around the bar: each pair
    of neighbouring hits counts once), over boolean hit masks (..., I, ticks); 0 without hits."""
    h = np.asarray(hits, bool)
    n = int(np.count_nonzero(h))
    if not n:
        return 0.0
    return float(np.count_nonzero(h & np.roll(h, 1, axis=-1))) / n


def hit_figures(hits: np.ndarray, instruments: Sequence[str]) -> dict:
    """Density and flam figures of bars' boolean hit masks (N, I, ticks): bars, mean hits a bar,
    the most hits of each drum in one bar, the flam rate, and the drums never hit."""
    h = np.asarray(hits, bool).reshape(-1, len(instruments), np.shape(hits)[-1])
    per = h.sum(axis=2)  # (N, I)
    return {
        "bars": int(h.shape[0]),
        "mean_hits": round(float(per.sum(axis=1).mean()), 3) if len(h) else 0.0,
        "max_hits": {n: int(per[:, i].max()) if len(h) else 0 for i, n in enumerate(instruments)},
        "flam_rate": round(flam_rate(h), 4),
        "absent": [n for i, n in enumerate(instruments) if not per[:, i].any()],
    }


@dataclass(frozen=True)
class HitRule:
    """Per drum, the most hits one bar may play (0: the drum is never played)."""

    max_hits: tuple[int, ...]

    @classmethod
    def from_bars(cls, onsets: np.ndarray) -> "HitRule":
        """The rule of training bars' onsets (N, I, ticks), 0 or 1."""
        per = (np.asarray(onsets) > 0.5).sum(axis=-1)  # (N, I)
        return cls(tuple(int(v) for v in per.max(axis=0)))

    def to_dict(self, instruments: Sequence[str]) -> dict:
        """What a model file records."""
        return {"max_hits": {n: int(k) for n, k in zip(instruments, self.max_hits)},
                "neighbours": "less probable of two neighbouring ticks is 0"}

    @classmethod
    def from_dict(cls, d: dict, instruments: Sequence[str]) -> "HitRule":
        """Inverse of `to_dict`."""
        m = d["max_hits"]
        return cls(tuple(int(m[n]) for n in instruments))

    def apply(self, onsets: np.ndarray) -> np.ndarray:
        """Apply the rule in place to onset probabilities (..., I, ticks) float32; returns them."""
        p = onsets
        ticks = p.shape[-1]
        rows = p.reshape(-1, ticks)
        # of two neighbours the less probable goes; on a tie the later one
        prev = np.empty_like(rows)
        prev[:, 1:] = rows[:, :-1]
        prev[:, 0] = rows[:, -1]
        lose = rows < prev
        lose |= (rows == prev) & (rows > 0)
        prev[:, :-1] = rows[:, 1:]  # now the next tick
        prev[:, -1] = rows[:, 0]
        lose |= rows < prev
        rows[lose] = 0.0
        for i, k in enumerate(self.max_hits):
            drum = p[..., i, :].reshape(-1, ticks)
            if k <= 0:
                drum[...] = 0.0
            elif k < ticks:
                kth = np.partition(drum, ticks - k, axis=1)[:, ticks - k, None]
                below = drum < kth
                drum[below] = 0.0
                over = np.count_nonzero(drum > 0, axis=1) > k  # ties at the k-th value
                for r in np.flatnonzero(over):
                    order = np.argsort(-drum[r], kind="stable")
                    drum[r, order[k:]] = 0.0
            p[..., i, :] = drum.reshape(p[..., i, :].shape)
        return p


def fit_window(means: np.ndarray, cover: float = WINDOW_COVER, margin: float = WINDOW_MARGIN,
               centre: str = "origin") -> tuple[float, float, float, float]:
    """The map window (z1_min, z1_max, z2_min, z2_max) for training bars' latent means (N, 2):
    a square centred on the origin (or, `centre="median"`, on the bars' median), half-width the
    `cover` quantile of their Chebyshev distance from that centre, plus `margin` of it."""
    z = np.asarray(means, np.float64).reshape(-1, 2)
    if not len(z):
        return LEGACY_WINDOW
    c = np.median(z, axis=0) if centre == "median" else np.zeros(2)
    d = np.abs(z - c).max(axis=1)
    half = max(WINDOW_MIN_HALF, float(np.quantile(d, cover)) * (1.0 + margin))
    r = lambda v: round(float(v), 4)  # noqa: E731
    return (r(c[0] - half), r(c[0] + half), r(c[1] - half), r(c[1] + half))


def inside_window(means: np.ndarray, window: Sequence[float]) -> float:
    """Share of latent points (N, 2) inside a window (z1_min, z1_max, z2_min, z2_max)."""
    z = np.asarray(means, np.float64).reshape(-1, 2)
    if not len(z):
        return 1.0
    a, b, c, d = window
    ok = (z[:, 0] >= a) & (z[:, 0] <= b) & (z[:, 1] >= c) & (z[:, 1] <= d)
    return float(ok.mean())
