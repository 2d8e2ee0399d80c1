"""Training clips as labelled landmarks on the map, so a small model's map can be read live.

Clips the model put beyond the map window are not drawn. Labels are kept short (see
`short_labels`) and never overlap: a label that would cover another one is
left out, its diamond stays. The layout is computed once per map size; drawing is blits only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

from .colors import LANDMARK, LANDMARK_SHADOW
from .mapview import MapGeometry

if TYPE_CHECKING:
    import pygame

MAX_LABEL_CHARS = 26


_RECORDING_TOKEN = re.compile(r"^(drummer|session|take|bar|eval|beat|fill)\d*$", re.IGNORECASE)


def short_labels(labels: Sequence[str]) -> list[str]:
    """'clip:bar' labels made short enough to read on the map.

    Words (split at '_' and spaces) that every clip name shares are dropped, then bare numbers;
    if the name is still long, recording bookkeeping such as 'drummer1', 'session2', 'bar010'
    goes too. ':bar' is kept only for clips of several bars; what is still too long is cut
    with an ellipsis."""
    parts = [(lab.rsplit(":", 1) + [""])[:2] for lab in labels]
    names = [n for n, _ in parts]
    words = [re.split(r"[_ ]+", n) for n in names]
    common = set.intersection(*(set(w) for w in words)) if len(set(names)) > 1 else set()
    bars: dict[str, int] = {}
    for n in names:
        bars[n] = bars.get(n, 0) + 1
    out = []
    for (n, bar), ws in zip(parts, words):
        kept = [w for w in ws if w and w not in common and not w.isdigit()] or ws
        text = " ".join(kept)
        if len(text) > MAX_LABEL_CHARS:
            text = " ".join(w for w in kept if not _RECORDING_TOKEN.match(w)) or " ".join(kept[-2:])
        if bars[n] > 1 and bar:
            text = f"{text}:{bar}"
        if len(text) > MAX_LABEL_CHARS:
            text = text[: MAX_LABEL_CHARS - 1] + "…"
        out.append(text)
    return _distinct(out, names)


def _distinct(out: list[str], names: list[str]) -> list[str]:
    """Labels of different clips that came out the same get '#1', '#2', ... (in clip-name order)
    before their ':bar', so four takes of one style read as four clips."""
    by_text: dict[str, list[str]] = {}
    for text, n in zip(out, names):
        base = text.rsplit(":", 1)[0] if ":" in text else text
        by_text.setdefault(base, [])
        if n not in by_text[base]:
            by_text[base].append(n)
    result = []
    for text, n in zip(out, names):
        base, sep, tail = text.rpartition(":") if ":" in text else (text, "", "")
        clips = by_text[base]
        if len(clips) > 1:
            tag = f" #{sorted(clips).index(n) + 1}"
            room = MAX_LABEL_CHARS - len(tag) - (len(tail) + 1 if sep else 0)
            base = base if len(base) <= room else base[: max(1, room - 1)] + "…"
            text = f"{base}{tag}{sep}{tail}"
        result.append(text)
    return result


def edge_mark(geom: MapGeometry, z1: float, z2: float, size: float) -> list[tuple[float, float]]:
    """A small triangle on the map's edge where the line from the centre to latent point
    (z1, z2), beyond the map window, leaves it; it points outward."""
    import math

    e = geom.extent
    k = e / max(abs(z1), abs(z2))  # scale the point onto the edge of the square
    x, y = geom.latent_to_screen(z1 * k, z2 * k)
    inset = 1.5 * size  # the whole triangle stays on the map
    x = min(max(x, geom.left + inset), geom.left + geom.side - inset)
    y = min(max(y, geom.top + inset), geom.top + geom.side - inset)
    a = math.atan2(-z2, z1)  # screen angle of the direction outward
    tip = (x + math.cos(a) * size, y + math.sin(a) * size)
    left = (x + math.cos(a + 2.5) * size, y + math.sin(a + 2.5) * size)
    right = (x + math.cos(a - 2.5) * size, y + math.sin(a - 2.5) * size)
    return [tip, left, right]


class Landmarks:
    """Diamonds and labels of the training clips' latent positions."""

    def __init__(self, points: Sequence[tuple[str, float, float]]) -> None:
        self.points = [(str(label), float(z1), float(z2)) for label, z1, z2 in points]
        self.labels = short_labels([p[0] for p in self.points])
        self._layout_for: tuple | None = None
        self._blits: list[tuple[pygame.Surface, tuple[float, float]]] = []
        self._diamonds: list[tuple[float, float]] = []
        self._edge_marks: list[list[tuple[float, float]]] = []  # triangles at the edge, pointing out
        self._sprites: list[tuple[pygame.Surface, tuple[float, float]]] = []  # what one draw blits

    def _layout(self, geom: MapGeometry) -> None:
        import pygame

        if not pygame.font.get_init():
            pygame.font.init()
        font = pygame.font.Font(None, max(12, round(geom.side / 48)))
        r = self.radius(geom)
        placed: list[pygame.Rect] = []
        self._blits, self._diamonds = [], []
        right = geom.left + geom.side
        shown = []
        self._edge_marks = []
        for (_, z1, z2), text in zip(self.points, self.labels):
            if abs(z1) > geom.extent or abs(z2) > geom.extent:
                self._edge_marks.append(edge_mark(geom, z1, z2, r + 2))  # beyond the map: its direction
                continue
            x, y = geom.latent_to_screen(z1, z2)
            self._diamonds.append((x, y))
            shown.append(text)
            placed.append(pygame.Rect(round(x - r - 2), round(y - r - 2), 2 * r + 5, 2 * r + 5))
        for (x, y), text in zip(self._diamonds, shown):
            fg = font.render(text, True, LANDMARK)
            w, h = fg.get_width() + 2, fg.get_height() + 2
            spots = [(x + 2 * r, y - h / 2), (x - 2 * r - w, y - h / 2), (x - w / 2, y - 2 * r - h),
                     (x - w / 2, y + 2 * r)]
            for sx, sy in spots:
                rect = pygame.Rect(round(sx), round(sy), w, h)
                if rect.left < geom.left or rect.right > right or rect.collidelist(placed) >= 0:
                    continue
                label = pygame.Surface((w, h), pygame.SRCALPHA)
                label.blit(font.render(text, True, LANDMARK_SHADOW), (2, 2))
                label.blit(fg, (0, 0))
                self._blits.append((label, (sx, sy)))
                placed.append(rect)
                break
        rim, face = diamond(r + 2, LANDMARK_SHADOW), diamond(r, LANDMARK)
        self._sprites = ([(rim, (round(x) - r - 2, round(y) - r - 2)) for x, y in self._diamonds]
                         + [(face, (round(x) - r, round(y) - r)) for x, y in self._diamonds]
                         + self._blits)
        self._layout_for = (geom.left, geom.top, geom.side)

    @property
    def n_beyond(self) -> int:
        """How many landmarks lie beyond the map window (marked at its edge; after the first draw)."""
        return len(self._edge_marks)

    @staticmethod
    def radius(geom: MapGeometry) -> int:
        """Diamond half-size in pixels."""
        return max(3, round(geom.side / 200))

    @property
    def n_labelled(self) -> int:
        """How many labels fitted without overlapping (after the first draw)."""
        return len(self._blits)

    def draw(self, surface: pygame.Surface, geom: MapGeometry) -> None:
        """A white diamond with a black rim at each clip's latent point, and the labels that fit."""
        import pygame

        if not self.points:
            return
        if self._layout_for != (geom.left, geom.top, geom.side):
            self._layout(geom)
        for tri in self._edge_marks:
            pygame.draw.polygon(surface, LANDMARK_SHADOW, tri, 0)
            pygame.draw.polygon(surface, LANDMARK, tri, 1)
        surface.fblits(self._sprites)  # all rims, then all faces, then the labels: one call


def diamond(half: int, color: tuple[int, int, int]) -> pygame.Surface:
    """A filled diamond `half` pixels from its centre to each corner, on a colour-keyed square
    of side 2 * half + 1 (its centre pixel at (half, half))."""
    import pygame

    side = 2 * half + 1
    s = pygame.Surface((side, side))
    key = (255, 0, 255)
    s.fill(key)
    pygame.draw.polygon(s, color, [(half, 0), (2 * half, half), (half, 2 * half), (0, half)])
    s.set_colorkey(key)
    return s
