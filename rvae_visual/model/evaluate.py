"""Metrics: how well a model reconstructs bars, and what its map is like (numpy only).

Reconstruction: every bar is encoded to its latent mean and decoded (hit rule applied: what is
played); onsets are compared at threshold 0.5 on the exact tick (precision, recall, F1, overall
and per instrument) and within one tick (`onset_within_1`); velocity and timing errors are
measured on the bar's true hits (timing in ms at the clip's tempo), each beside its baseline:
every hit on its grid position (`timing_baseline_ms`: the mean |offset|) and every hit at its
drum's mean velocity in the training clips (`velocity_baseline`).
Map: on the n x n grid of the model's window at threshold 0.5, richness = number of distinct
hit patterns, smoothness = mean Jaccard distance between the hit sets of 4-neighbour cells (0 =
identical neighbours), identical_neighbours = share of 4-neighbour pairs with the same hits,
largest_plateau = points in the largest connected region of one pattern, jump = mean Hamming
distance of the neighbour pairs that differ, flam_rate (hits with a hit of the same drum on the
tick before), mean_hits and max_hits (per drum, over all points); "clips" gives the same density
and flam figures of the training clips, as the model file records them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..pattern import ms_per_tick
from .clips import Clip
from .grid import LatentGrid
from .hitrule import hit_figures

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


def near_hits(a: np.ndarray, b: np.ndarray, tolerance: int = 1) -> np.ndarray:
    """Where boolean `a` (..., ticks) has a hit with a hit of `b` at most `tolerance` ticks away
    (around the bar)."""
    out = np.zeros(np.shape(a), dtype=bool)
    for d in range(-tolerance, tolerance + 1):
        out |= np.roll(b, d, axis=-1)
    return a & out


def onset_scores_within(true: np.ndarray, pred: np.ndarray, tolerance: int = 1) -> dict[str, float]:
    """Precision (predicted hits with a true hit of the same drum within `tolerance` ticks),
    recall (true hits with a predicted one that near) and their F1."""
    t = np.asarray(true, bool)
    p = np.asarray(pred, bool)
    n_p, n_t = int(p.sum()), int(t.sum())
    if n_p + n_t == 0:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    prec = int(near_hits(p, t, tolerance).sum()) / n_p if n_p else 0.0
    rec = int(near_hits(t, p, tolerance).sum()) / n_t if n_t else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1}


def reconstruction_metrics(true: np.ndarray, pred: np.ndarray, ms_per_tick_bar: np.ndarray,
                           instruments: Sequence[str], threshold: float = THRESHOLD,
                           velocity_means: Sequence[float] | None = None) -> dict:
    """Compare bars (N, 3, I, 96) with their reconstructions (same shape).

    `ms_per_tick_bar` (N,): milliseconds per tick at each bar's tempo; `velocity_means` (I,):
    the baseline's velocity per drum (default: the mean of these bars' own hits)."""
    t_hit = true[:, 0] > 0.5  # a clip's onsets are exactly 0 or 1
    p_hit = pred[:, 0] > threshold
    scale = np.asarray(ms_per_tick_bar, np.float64).reshape(-1, 1, 1)
    if velocity_means is None:
        velocity_means = [float(true[:, 1, i][t_hit[:, i]].mean()) if t_hit[:, i].any() else 0.0
                          for i in range(true.shape[2])]
    vm = np.broadcast_to(np.asarray(velocity_means, np.float64).reshape(1, -1, 1), t_hit.shape)
    return {
        "bars": int(true.shape[0]),
        "onset": onset_scores(t_hit, p_hit),
        "onset_within_1": onset_scores_within(t_hit, p_hit, 1),
        "per_instrument": {
            name: onset_scores(t_hit[:, i], p_hit[:, i]) for i, name in enumerate(instruments)
        },
        "velocity_mae": masked_mae(true[:, 1], pred[:, 1], t_hit),
        "velocity_baseline": masked_mae(true[:, 1], vm, t_hit),
        "timing_mae_ms": masked_mae(true[:, 2], pred[:, 2], t_hit, scale),
        "timing_baseline_ms": masked_mae(true[:, 2], np.zeros_like(true[:, 2]), t_hit, scale),
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


def largest_plateau(hits: np.ndarray) -> int:
    """Points in the largest 4-connected region of one hit pattern on a (rows, cols, I, T) grid."""
    h = np.asarray(hits, bool)
    rows, cols = h.shape[:2]
    _, labels = np.unique(np.packbits(h.reshape(rows * cols, -1), axis=1), axis=0,
                          return_inverse=True)
    lab = np.asarray(labels).reshape(rows, cols)
    seen = np.zeros((rows, cols), bool)
    best = 0
    for r0 in range(rows):
        for c0 in range(cols):
            if seen[r0, c0]:
                continue
            seen[r0, c0] = True
            stack, size = [(r0, c0)], 0
            while stack:
                r, c = stack.pop()
                size += 1
                for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                    if 0 <= rr < rows and 0 <= cc < cols and not seen[rr, cc] \
                            and lab[rr, cc] == lab[r0, c0]:
                        seen[rr, cc] = True
                        stack.append((rr, cc))
            best = max(best, size)
    return best


def neighbour_figures(hits: np.ndarray) -> dict:
    """Zones of a (rows, cols, I, T) hit grid: share of 4-neighbour pairs with identical hits,
    the largest plateau (points), and the mean Hamming distance (hits) of the pairs that differ."""
    h = np.asarray(hits, bool)
    inner = h.shape[2:]
    a = np.concatenate([h[:, :-1].reshape(-1, *inner), h[:-1, :].reshape(-1, *inner)])
    b = np.concatenate([h[:, 1:].reshape(-1, *inner), h[1:, :].reshape(-1, *inner)])
    ham = np.count_nonzero(a ^ b, axis=(1, 2))
    diff = ham > 0
    return {
        "identical_neighbours": round(float(np.mean(~diff)), 4),
        "largest_plateau": largest_plateau(h),
        "jump": round(float(ham[diff].mean()), 3) if diff.any() else 0.0,
    }


def map_metrics(grid: LatentGrid, threshold: float = THRESHOLD,
                instruments: Sequence[str] | None = None) -> dict:
    """Figures of a decoded grid: richness, smoothness, identical_neighbours, largest_plateau,
    jump, flam_rate, mean_hits, max_hits (per drum; `instruments` names them)."""
    hits = grid.hit_masks(threshold)
    names = list(instruments) if instruments is not None else [str(i) for i in range(hits.shape[2])]
    fig = hit_figures(hits.reshape(-1, *hits.shape[2:]), names)
    return {"richness": map_richness(hits), "smoothness": round(map_smoothness(hits), 6),
            **neighbour_figures(hits), "flam_rate": fig["flam_rate"],
            "mean_hits": fig["mean_hits"], "max_hits": fig["max_hits"]}


def clip_figures(model: "PlayModel") -> dict | None:
    """The density and flam figures of the model's training clips (None for older files)."""
    return model.meta.get("clip_figures")


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
    """The `eval` result of a PlayModel on clips (read with the model's reading): reconstruction
    metrics with their baselines, map metrics, and the training clips' figures."""
    arrays, mpt = clips_to_arrays(clips)
    z = model.net.encode(arrays)
    pred = model.decode(z)
    vm = model.meta.get("velocity_means")
    names = model.drum_map.instruments
    out = reconstruction_metrics(arrays, pred, mpt, names, threshold,
                                 [vm.get(n, 0.0) for n in names] if vm else None)
    out["map"] = map_metrics(model.grid(), threshold, names)
    out["clips"] = clip_figures(model)
    out["window"] = list(model.window)
    return out


def rounded(result: dict, digits: int = 4) -> dict:
    """A copy of a metrics dict with floats rounded for printing."""
    if isinstance(result, dict):
        return {k: rounded(v, digits) for k, v in result.items()}
    if isinstance(result, float):
        return round(result, digits)
    return result
