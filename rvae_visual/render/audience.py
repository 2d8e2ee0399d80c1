"""The audience view: a second fullscreen window on another display with the clean map (the map,
the head and its trail; clip landmarks if asked), drawn every frame at the same heard tick as
the performer's window. Nothing in it reacts to the mouse; keys pressed while it has focus
work as in the performer's window."""

from __future__ import annotations

from typing import Any

from ..performance import Performance
from .colors import BACKGROUND
from .frame import draw_map
from .invite import Invitation
from .landmarks import Landmarks
from .mapview import MapGeometry, MapView

TITLE = "rvae-visual audience"
_CENTRED_ON = 0x2FFF0000  # SDL_WINDOWPOS_CENTERED_DISPLAY(n) = this | n


class AudienceWindow:
    """A pygame-ce `Window` filling display `display` (0-based SDL display index)."""

    def __init__(self, display: int, show_landmarks: bool = False) -> None:
        import pygame

        pos = _CENTRED_ON | display
        self.display = display
        self.show_landmarks = show_landmarks
        self.window: Any = pygame.Window(TITLE, size=pygame.display.get_desktop_sizes()[display],
                                         position=(pos, pos), fullscreen_desktop=True)
        self.closed = False
        self._landmarks: tuple[Landmarks, Landmarks] | None = None  # (the performer's, ours)
        self._last_geom: MapGeometry | None = None

    def _own(self, landmarks: Landmarks | None) -> Landmarks | None:
        """Our copy of the model's landmarks: their label layout is made for one window size."""
        if landmarks is None:
            return None
        if self._landmarks is None or self._landmarks[0] is not landmarks:
            self._landmarks = (landmarks, Landmarks(landmarks.points))
        return self._landmarks[1]

    def draw(self, view: MapView, landmarks: Landmarks | None, perf: Performance, bar: int, tick: int,
             now: float, extent: float, invite: Invitation | None = None) -> None:
        """Draw the frame of bar `bar`, tick `tick` at time `now` (s) and show it."""
        surface = self.window.get_surface()
        w, h = surface.get_size()
        g = MapGeometry(w, h, extent)
        if g != self._last_geom:  # the first frame or a new size: all of it, then only the map's band
            surface.fill(BACKGROUND)
            self._last_geom = g
        draw_map(surface, g, view, self._own(landmarks) if self.show_landmarks else None, perf, bar, tick, now,
                 invite)
        self.window.flip()

    def event_filter(self, ev: Any) -> bool:
        """True for an event of this window that the performer's window must not see (mouse,
        window changes); closing this window closes only it. Keys pass on."""
        import pygame

        if getattr(ev, "window", None) is not self.window:
            return False
        if ev.type == pygame.WINDOWCLOSE:
            self.close()
            return True
        if ev.type in (pygame.WINDOWEXPOSED, pygame.WINDOWSIZECHANGED, pygame.WINDOWRESIZED):
            self._last_geom = None  # the whole window again on the next frame
        return ev.type not in (pygame.KEYDOWN, pygame.KEYUP, pygame.TEXTINPUT, pygame.DROPFILE)

    def close(self) -> None:
        """Close the window (idempotent)."""
        if not self.closed:
            self.closed = True
            self.window.destroy()


def open_audience(display: int, show_landmarks: bool = False) -> tuple[AudienceWindow | None, str | None]:
    """The audience window on `display`, or (None, one line saying why not): the performer's
    window goes on either way."""
    import pygame

    n = pygame.display.get_num_displays()
    if not 0 <= display < n:
        sizes = ", ".join(f"{k}: {w}x{h}" for k, (w, h) in enumerate(pygame.display.get_desktop_sizes()))
        return None, (f"--audience {display}: there is no display {display} (displays {sizes}); "
                      "playing without the audience window")
    try:
        return AudienceWindow(display, show_landmarks), None
    except (pygame.error, OSError) as e:
        return None, f"--audience {display}: cannot open the audience window ({e}); playing without it"
