"""Metrics: how well a model reconstructs bars, and what its map is like (numpy only).

Reconstruction: every bar is encoded to its latent mean and decoded; onsets are compared at
threshold 0.5 on the exact tick (precision, recall, F1, overall and per instrument); velocity
and timing errors are measured on the bar's true hits (timing in ms at the clip's tempo).
Map: on the n x n grid at threshold 0.5, richness = number of distinct hit patterns, smoothness =
mean Jaccard distance between the hit sets of 4-neighbour cells (0 = identical neighbours).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..pattern import ms_per_tick
from .clips import Clip
from .grid import LatentGrid

if TYPE_CHECKING:
    from .store import PlayModel

THRESHOLD = 0.5


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 from counts. With nothing true and nothing predicted all three
    are 1 (a silent bar reproduced exactly); otherwise an empty denominator gives 0."""
    if tp + fp + fn == 0:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1}


def onset_scores(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Precision/recall/F1 of boolean hit arrays of the same shape."""
    t = np.asarray(true, bool)
    p = np.asarray(pred, bool)
    tp = int(np.count_nonzero(t & p))
    return prf(tp, int(np.count_nonzero(~t & p)), int(np.count_nonzero(t & ~p)))


def masked_mae(true: np.ndarray, pred: np.ndarray, mask: np.ndarray,
               scale: np.ndarray | float = 1.0) -> float | None:
    """Mean |true - pred| x scale over mask (None when the mask is empty). `scale` broadcasts
    against the arrays (e.g. ms per tick for each bar, shaped (N, 1, 1))."""
    m = np.asarray(mask, bool)
    if not m.any():
        return None
    err = np.abs(np.asarray(true, np.float64) - np.asarray(pred, np.float64)) * scale
    return float(err[np.broadcast_to(m, err.shape)].mean())


def reconstruction_metrics(true: np.ndarray, pred: np.ndarray, ms_per_tick_bar: np.ndarray,
                           instruments: Sequence[str], threshold: float = THRESHOLD) -> dict:
    """Compare bars (N, 3, I, 96) with their reconstructions (same shape).

    `ms_per_tick_bar` (N,): milliseconds per tick at each bar's tempo."""
    t_hit = true[:, 0] > 0.5  # a clip's onsets are exactly 0 or 1
    p_hit = pred[:, 0] > threshold
    scale = np.asarray(ms_per_tick_bar, np.float64).reshape(-1, 1, 1)
    return {
        "bars": int(true.shape[0]),
        "onset": onset_scores(t_hit, p_hit),
        "per_instrument": {
            name: onset_scores(t_hit[:, i], p_hit[:, i]) for i, name in enumerate(instruments)
        },
        "velocity_mae": masked_mae(true[:, 1], pred[:, 1], t_hit),
        "timing_mae_ms": masked_mae(true[:, 2], pred[:, 2], t_hit, scale),
    }


def map_richness(hits: np.ndarray) -> int:
    """Number of distinct hit patterns on a grid of boolean (rows, cols, I, 96) hit masks."""
    flat = np.asarray(hits, bool).reshape(hits.shape[0] * hits.shape[1], -1)
    return int(len(np.unique(np.packbits(flat, axis=1), axis=0)))


def jaccard_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - |a & b| / |a | b| over the last axes of boolean arrays (0 for two empty sets)."""
    axes = tuple(range(a.ndim - 2, a.ndim)) if a.ndim >= 2 else (0,)
    inter = np.count_nonzero(a & b, axis=axes)
    union = np.count_nonzero(a | b, axis=axes)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = 1.0 - inter / union
    return np.where(union == 0, 0.0, d)


def map_smoothness(hits: np.ndarray) -> float:
    """Mean Jaccard distance between hit sets of horizontally and vertically adjacent cells of
    a (rows, cols, I, 96) boolean grid; lower is smoother."""
    h = np.asarray(hits, bool)
    d_right = jaccard_distance(h[:, :-1], h[:, 1:])
    d_down = jaccard_distance(h[:-1, :], h[1:, :])
    return float(np.concatenate([d_right.ravel(), d_down.ravel()]).mean())


def map_metrics(grid: LatentGrid, threshold: float = THRESHOLD) -> dict:
    """Richness and smoothness of a decoded grid."""
    hits = grid.hit_masks(threshold)
    return {"richness": map_richness(hits), "smoothness": round(map_smoothness(hits), 6)}


def clips_to_arrays(clips: Sequence[Clip]) -> tuple[np.ndarray, np.ndarray]:
    """All bars of clips as (N, 3, I, 96) and each bar's ms per tick (N,)."""
    arrays, mpt = [], []
    for c in clips:
        for p in c.patterns:
            arrays.append(p.to_array())
            mpt.append(ms_per_tick(c.bpm))
    if not arrays:
        raise ValueError("no bars to evaluate")
    return np.stack(arrays).astype(np.float32), np.asarray(mpt, np.float64)


def evaluate_model(model: "PlayModel", clips: Sequence[Clip], threshold: float = THRESHOLD) -> dict:
    """The `eval` result of a PlayModel on clips: reconstruction metrics and map metrics."""
    arrays, mpt = clips_to_arrays(clips)
    z = model.net.encode(arrays)
    pred = model.decode(z)
    out = reconstruction_metrics(arrays, pred, mpt, model.drum_map.instruments, threshold)
    out["map"] = map_metrics(model.grid(), threshold)
    return out


def rounded(result: dict, digits: int = 4) -> dict:
    """A copy of a metrics dict with floats rounded for printing."""
    if isinstance(result, dict):
        return {k: rounded(v, digits) for k, v in result.items()}
    if isinstance(result, float):
        return round(result, digits)
    return result
