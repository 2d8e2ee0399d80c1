"""One frame of the map: the map square, landmarks, trail, head and HUD, and which screen rects
changed since the last frame."""

from __future__ import annotations

from typing import Any

from ..performance import Performance
from .colors import BACKGROUND
from .head import draw_halo, draw_head, draw_trail
from .hud import Hud, HudState
from .invite import Invitation
from .landmarks import Landmarks
from .mapview import MapGeometry, MapView

OVERHANG = 40  # pixels around the map square that the head, halo and labels may reach


def draw_map(surface: Any, g: MapGeometry, view: MapView, landmarks: Landmarks | None, perf: Performance,
             bar: int, tick: int, now: float, invite: Invitation | None = None) -> Any:
    """The map of bar `bar`, tick `tick` at time `now` (s), the landmarks if given, and the head
    with its trail and halo, in `g`'s square of `surface` (the performer's and the audience's),
    over the band OVERHANG pixels round the square, cleared first; returns that band (a Rect).
    `invite`: an installation's invitation line, on top."""
    import pygame

    square = pygame.Rect(g.rect)
    band = square.inflate(2 * OVERHANG, 2 * OVERHANG).clip(surface.get_rect())
    for rect in above_and_below(band, square):
        surface.fill(BACKGROUND, rect)
    view.draw(surface, g, tick, (square.left - band.left, band.right - square.right))  # and beside it
    if landmarks is not None:
        landmarks.draw(surface, g)
    draw_trail(surface, g, perf.trail_points(now))
    if perf.noise > 0:
        draw_halo(surface, g, perf.head, perf.target(bar))
    draw_head(surface, g, perf.head, perf.listening)
    if invite is not None:
        invite.draw(surface, square)
    return band


class FramePainter:
    """Paints frames and remembers what the last one covered; `full_redraw` forces a whole
    screen (after a resize or an expose)."""

    def __init__(self) -> None:
        self.full_redraw = True
        self._last_geom: MapGeometry | None = None
        self._last_panel: Any = None
        self._hud_was_visible: bool | None = None

    def paint(self, surface: Any, extent: float, view: MapView, landmarks: Landmarks | None,
              perf: Performance, bar: int, tick: int, now: float, hud: Hud, state: HudState,
              invite: Invitation | None = None) -> list | None:
        """Draw bar `bar`, tick `tick` at time `now` (s). Returns the screen rects that changed,
        or None when the whole screen must be shown: from frame to frame only the map square
        (plus a band the head may overhang) and the HUD panel change."""
        import pygame

        width, height = surface.get_size()
        g = MapGeometry(width, height, extent)
        full = (self.full_redraw or g != self._last_geom or hud.show_help
                or hud.visible != self._hud_was_visible)
        self.full_redraw = hud.show_help  # closing the help needs one more full frame
        self._last_geom = g
        self._hud_was_visible = hud.visible
        if full:
            surface.fill(BACKGROUND)
        elif self._last_panel is not None:  # the map's band is cleared by draw_map
            surface.fill(BACKGROUND, self._last_panel)
        band = draw_map(surface, g, view, landmarks, perf, bar, tick, now, invite)
        drawn = hud.draw(surface, g, state)
        panel = pygame.Rect(drawn) if drawn else None
        last, self._last_panel = self._last_panel, panel
        if full:
            return None
        if panel is not None and last is not None:
            panel = panel.union(last)  # a shorter HUD must still clear what it covered before
        panel = panel or last
        return [band] if panel is None else [band, panel]



def above_and_below(band: Any, square: Any) -> list:
    """The full-width rows of `band` above and below `square` (inside it), those not empty."""
    import pygame

    return [r for r in (pygame.Rect(band.left, band.top, band.width, square.top - band.top),
                        pygame.Rect(band.left, square.bottom, band.width, band.bottom - square.bottom))
            if r.width > 0 and r.height > 0]
