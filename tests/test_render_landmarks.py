"""Landmarks: short labels, diamonds where the clips are, labels that never overlap."""

from __future__ import annotations

import numpy as np

from rvae_visual.render.colors import LANDMARK
from rvae_visual.render.landmarks import Landmarks, short_labels
from rvae_visual.render.mapview import MapGeometry


def test_short_labels():
    footwork = ["footwork_01_dotted_kick:1", "footwork_02_running_threes:1", "footwork_02_running_threes:2",
                "footwork_14_swung_sixteenths_with_a_very_long_name:1"]
    assert short_labels(footwork) == ["dotted kick", "running threes:1", "running threes:2",
                                      "swung sixteenths with a v…"]
    gmd = ["gmd_latin_drummer1_session1_145_latin-brazilian-baiao_95_beat_4-4_bar002:1",
           "gmd_latin_drummer1_session2_112_afrocuban-bembe_122_beat_4-4_bar018:1",
           "gmd_latin_drummer1_session2_112_afrocuban-bembe_122_beat_4-4_bar018:2",
           "gmd_latin_drummer8_session2_24_latin_84_beat_4-4_bar058:1"]
    assert short_labels(gmd) == ["latin-brazilian-baiao", "afrocuban-bembe:1", "afrocuban-bembe:2",
                                 "drummer8 session2 bar058"]
    assert short_labels(["groove:1"]) == ["groove"]
    assert short_labels(["a:1", "b:1"]) == ["a", "b"]


def test_diamonds_at_the_clips_and_labels_do_not_overlap(pg):
    rng = np.random.default_rng(4)
    pts = [(f"clip_{k:02d}_groove:1", float(a), float(b)) for k, (a, b) in enumerate(rng.normal(0, 0.4, (25, 2)))]
    lm = Landmarks(pts)
    surface = pg.Surface((1920, 1080))
    g = MapGeometry(1920, 1080)
    lm.draw(surface, g)
    for _, z1, z2 in pts:
        assert tuple(surface.get_at(g.latent_to_pixel(z1, z2)))[:3] == LANDMARK
    rects = [pg.Rect(pos, label.get_size()) for label, pos in lm._blits]
    assert 0 < len(rects) <= len(pts)
    for i, r in enumerate(rects):
        assert r.collidelist(rects[:i] + rects[i + 1:]) < 0
        assert g.left <= r.left and r.right <= g.left + g.side


def test_clips_beyond_the_map_window_are_marked_at_its_edge(pg):
    lm = Landmarks([("in:1", 0.5, 0.5), ("out:1", 3.5, 0.0), ("below:1", 0.0, -4.0)])
    surface = pg.Surface((1920, 1080))
    g = MapGeometry(1920, 1080)
    lm.draw(surface, g)
    px = pg.surfarray.array3d(surface)
    assert tuple(surface.get_at(g.latent_to_pixel(0.5, 0.5)))[:3] == LANDMARK
    assert px[g.left + g.side:].max() == 0  # nothing in the right margin
    assert lm.n_labelled == 1 and lm.n_beyond == 2
    right_edge = px[g.left + g.side - 12:g.left + g.side, 530:550]  # "out" is to the right, at mid height
    bottom_edge = px[g.left + g.side // 2 - 10:g.left + g.side // 2 + 10, 1068:1080]  # "below" at the bottom
    assert right_edge.max() > 0 and bottom_edge.max() > 0
    assert px[g.left:g.left + 12, 530:550].max() == 0  # not on the left edge


def test_labels_that_shorten_alike_are_told_apart():
    from rvae_visual.render.landmarks import short_labels

    names = [f"gmd_latin_drummer{d}_session1_1{d}_latin-brazilian-songo_120_beat_4-4:{b}" for d in (1, 2, 3)
             for b in (1, 2)] + ["gmd_latin_drummer1_session1_9_afrocuban-bembe_120_beat_4-4:1"]
    got = short_labels(names)
    assert len(set(got)) == len(got), got
    assert got[0].endswith("songo #1:1") and got[5].endswith("songo #3:2"), got
    assert "afrocuban-bembe" in got[-1] and "#" not in got[-1]  # one clip of its kind: no number
