"""The playback head (a yellow circle), the halo at its jittered point, and its fading trail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .colors import HALO, HEAD, HEAD_RIM, faded
from .mapview import MapGeometry

if TYPE_CHECKING:
    import pygame


def head_radius(geom: MapGeometry) -> int:
    """Radius of the head in pixels for this map size (15 px on a 1080-px map)."""
    return max(4, round(geom.side / 72))


def hits_head(geom: MapGeometry, head: tuple[float, float], px: float, py: float) -> bool:
    """Is screen position (px, py) on the head (within its radius plus a little slack)?"""
    x, y = geom.latent_to_screen(*head)
    r = head_radius(geom) * 1.5
    return (px - x) ** 2 + (py - y) ** 2 <= r * r


def draw_trail(surface: pygame.Surface, geom: MapGeometry,
               points: Sequence[tuple[float, float, float, int]]) -> None:
    """Line segments between consecutive trail points of one stroke, fading with age.

    `points` are (fade 1..0, z1, z2, stroke), oldest first (Performance.trail_points)."""
    import pygame

    width = max(2, round(geom.side / 180))
    prev = None
    for fade, z1, z2, stroke in points:
        p = geom.latent_to_screen(z1, z2)
        if prev is not None and prev[1] == stroke and fade > 0.02:
            pygame.draw.line(surface, faded(HEAD, fade), prev[0], p, width)
        prev = (p, stroke)


def draw_halo(surface: pygame.Surface, geom: MapGeometry, head: tuple[float, float],
              point: tuple[float, float]) -> None:
    """A ring at the jittered point heard this bar, joined to the head by a thin line."""
    import pygame

    if point == head:
        return
    r = head_radius(geom)
    hx, hy = geom.latent_to_screen(*head)
    x, y = geom.latent_to_screen(*point)
    pygame.draw.line(surface, faded(HALO, 0.5), (hx, hy), (x, y), 1)
    pygame.draw.circle(surface, HALO, (x, y), round(r * 1.3), max(2, r // 5))


def draw_head(surface: pygame.Surface, geom: MapGeometry, head: tuple[float, float],
              listening: bool) -> None:
    """The head: a filled yellow circle when heard, a yellow ring when silent."""
    import pygame

    r = head_radius(geom)
    x, y = geom.latent_to_screen(*head)
    if listening:
        pygame.draw.circle(surface, HEAD, (x, y), r)
        pygame.draw.circle(surface, HEAD_RIM, (x, y), r, max(1, r // 5))
    else:
        pygame.draw.circle(surface, HEAD, (x, y), r, max(2, r // 4))

