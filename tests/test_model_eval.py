"""Metric functions of `eval` on hand-made patterns and grids."""

from __future__ import annotations

import numpy as np
import pytest

from rvae_visual.model.evaluate import (
    jaccard_distance, map_richness, map_smoothness, masked_mae, onset_scores, prf,
    reconstruction_metrics,
)
from rvae_visual.pattern import Pattern, ms_per_tick


def bar(hits: dict[int, list[int]], vel: float = 0.8, off: float = 0.0) -> np.ndarray:
    """(3, 3, 96) bar with hits {instrument: [ticks]}."""
    p = np.zeros((3, 3, 96), np.float32)
    for i, ticks in hits.items():
        p[0, i, ticks] = 1.0
        p[1, i, ticks] = vel
        p[2, i, ticks] = off
    return p


def test_prf_counts_and_edge_cases():
    assert prf(3, 1, 2) == pytest.approx({"precision": 0.75, "recall": 0.6, "f1": 2 * 0.75 * 0.6 / 1.35})
    assert prf(0, 0, 0) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}  # silence reproduced
    assert prf(0, 2, 0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert prf(0, 0, 5)["recall"] == 0.0


def test_reconstruction_metrics_on_hand_made_bars():
    true = np.stack([bar({0: [0, 48], 1: [24, 72], 2: list(range(0, 96, 12))}, vel=0.8, off=0.2)])
    pred = true.copy()
    pred[0, 0, 0, 48] = 0.4  # a kick missed (0.4 is not above 0.5)
    pred[0, 0, 1, 36] = 0.9  # an extra snare
    pred[0, 0, 2, 6] = 0.5  # exactly 0.5 is not a hit
    pred[0, 1] = np.where(true[0, 0] > 0, 0.6, 0.0)  # velocity 0.2 low on every true hit
    pred[0, 2] = np.where(true[0, 0] > 0, -0.1, 0.33)  # offset 0.3 ticks early on true hits
    pred[0, 1, 1, 36] = 0.0  # errors where there is no true hit are not counted
    res = reconstruction_metrics(true, pred, np.array([ms_per_tick(125.0)]), ("kick", "snare", "hihat"))
    assert res["bars"] == 1
    # 12 true hits, 11 found, 1 extra
    assert res["onset"] == pytest.approx({"precision": 11 / 12, "recall": 11 / 12, "f1": 11 / 12})
    assert res["per_instrument"]["kick"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3})
    assert res["per_instrument"]["snare"] == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8})
    assert res["per_instrument"]["hihat"]["f1"] == pytest.approx(1.0)
    assert res["velocity_mae"] == pytest.approx(0.2, abs=1e-6)
    assert res["timing_mae_ms"] == pytest.approx(0.3 * 20.0, abs=1e-4)  # 125 BPM: 20 ms a tick


def test_timing_in_ms_follows_each_clips_tempo():
    true = np.stack([bar({0: [0]}, off=0.25), bar({0: [0]}, off=0.25)])
    pred = true.copy()
    pred[:, 2] = 0.0
    res = reconstruction_metrics(true, pred, np.array([ms_per_tick(60.0), ms_per_tick(120.0)]),
                                 ("kick", "snare", "hihat"))
    assert res["timing_mae_ms"] == pytest.approx((0.25 * 1000 / 24 + 0.25 * 500 / 24) / 2)
    assert masked_mae(true[:, 1], pred[:, 1], np.zeros_like(true[:, 0], bool)) is None


def test_onset_scores_match_pattern_hits():
    p = Pattern(*bar({0: [0, 24], 2: [12]}))
    q = Pattern(*bar({0: [0], 2: [12, 13]}))
    s = onset_scores(p.hit_mask(), q.hit_mask())
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)


def test_map_richness_counts_distinct_hit_patterns():
    g = np.zeros((4, 4, 3, 96), bool)
    assert map_richness(g) == 1
    g[0, 0, 0, 0] = True
    g[3, 3, 0, 0] = True  # same pattern as (0, 0)
    g[2, 1, 1, 95] = True
    assert map_richness(g) == 3


def test_map_smoothness_is_mean_neighbour_jaccard_distance():
    g = np.zeros((2, 2, 1, 96), bool)
    assert map_smoothness(g) == 0.0  # all empty: identical neighbours
    g[:, :, 0, :4] = True
    assert map_smoothness(g) == 0.0
    g[1, 1, 0, :4] = False
    g[1, 1, 0, 2:6] = True  # {2,3,4,5} vs {0,1,2,3}: 2 shared of 6 -> distance 2/3
    # 4 neighbour pairs: (0,0)-(0,1), (1,0)-(1,1), (0,0)-(1,0), (0,1)-(1,1); two involve (1,1)
    assert map_smoothness(g) == pytest.approx((2 / 3 + 2 / 3) / 4)
    a = np.zeros((1, 96), bool)
    b = np.zeros((1, 96), bool)
    b[0, 3] = True
    assert jaccard_distance(a[None], b[None])[0] == 1.0
