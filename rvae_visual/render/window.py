"""The window: which display, fullscreen or not, vsync, and telling "no display" apart."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from ..errors import InputError
from .mapview import MapGeometry

if TYPE_CHECKING:
    import pygame

NO_DISPLAY_HINT = ("no display to open a window on (DISPLAY is not set or the X server is not reachable); "
                   "to play without a screen, render to a file with `rvae-visual render`")
DEFAULT_WINDOW_SIZE = (1280, 720)
TITLE = "rvae-visual"


class NoDisplayError(Exception):
    """There is no screen to draw on; the message is one line pointing to `rvae-visual render`."""


def prepare_sdl_env() -> None:
    """Environment for pygame before it is imported: no banner, no SDL audio (we use our own)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("SDL_VIDEO_X11_WMCLASS", TITLE)  # window managers and xdotool find us by it


def init_display() -> None:
    """Initialise pygame's display; NoDisplayError when there is no real one.

    Without DISPLAY, SDL quietly falls back to its offscreen driver: that counts as no display
    unless SDL_VIDEODRIVER asked for it (tests use the dummy driver on purpose). With DISPLAY
    and no Wayland, only X11 is tried, so a dead X server gives our one line, not SDL's
    complaints about Wayland as well."""
    prepare_sdl_env()
    env = os.environ
    chosen = env.get("SDL_VIDEODRIVER")
    if sys.platform.startswith("linux") and not chosen:
        if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY") and not os.path.exists("/dev/dri"):
            raise NoDisplayError(NO_DISPLAY_HINT)  # no X, no Wayland, no console graphics
        if env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
            env["SDL_VIDEODRIVER"] = "x11"
    import pygame

    try:
        pygame.display.init()
    except pygame.error as e:
        raise NoDisplayError(f"{NO_DISPLAY_HINT} (SDL: {e})") from None
    finally:
        if not chosen:
            env.pop("SDL_VIDEODRIVER", None)
    driver = pygame.display.get_driver()
    if driver in ("offscreen", "dummy") and not chosen:
        pygame.display.quit()
        raise NoDisplayError(NO_DISPLAY_HINT)


def vsync_wanted(mode: str) -> bool:
    """'on', 'off', or 'auto' = on unless the framebuffer is software (where vsync costs ~12 ms)."""
    if mode in ("on", "off"):
        return mode == "on"
    import pygame

    accel = os.environ.get("SDL_FRAMEBUFFER_ACCELERATION", "").strip().lower()
    if accel in ("0", "false", "software"):
        return False
    return pygame.display.get_driver() not in ("dummy", "offscreen")


def check_display_index(display: int) -> None:
    """InputError unless `display` is one of the screens SDL sees (0-based)."""
    import pygame

    n = pygame.display.get_num_displays()
    if not 0 <= display < n:
        raise InputError(f"--display {display}: there {'is' if n == 1 else 'are'} {n} "
                         f"display{'s' if n != 1 else ''} (0-{n - 1})")


class Window:
    """The one pygame window; `surface` is what to draw on, re-read after any mode change."""

    def __init__(self, display: int = 0, fullscreen: bool = True,
                 size: tuple[int, int] | None = None, vsync: str = "auto") -> None:
        import pygame

        check_display_index(display)
        self.display = display
        self.fullscreen = fullscreen
        self.windowed_size = size or DEFAULT_WINDOW_SIZE
        self.vsync = vsync_wanted(vsync)
        self.surface: pygame.Surface = self._set_mode()
        pygame.display.set_caption(TITLE)

    def _set_mode(self) -> pygame.Surface:
        import warnings

        with warnings.catch_warnings():
            # without a window manager, X keeps the old size and pygame warns about it
            warnings.simplefilter("ignore", RuntimeWarning)
            return self._set_mode_now()

    def _set_mode_now(self) -> pygame.Surface:
        import pygame

        if self.fullscreen:
            size, flags = (0, 0), pygame.FULLSCREEN
        else:
            size, flags = self.windowed_size, pygame.RESIZABLE
        if self.vsync:
            try:
                return pygame.display.set_mode(size, flags, display=self.display, vsync=1)
            except pygame.error:
                self.vsync = False
        return pygame.display.set_mode(size, flags, display=self.display)

    def toggle_fullscreen(self) -> None:
        """F: fullscreen <-> window (the map re-fits either way)."""
        import pygame

        if not self.fullscreen:
            self.windowed_size = self.size
        self.fullscreen = not self.fullscreen
        self.surface = self._set_mode()
        pygame.display.set_caption(TITLE)

    def refresh(self) -> None:
        """Re-read the display surface after a resize."""
        import pygame

        s = pygame.display.get_surface()
        if s is not None:
            self.surface = s

    @property
    def size(self) -> tuple[int, int]:
        """Window size in pixels."""
        return self.surface.get_size()

    def geometry(self, extent: float = 3.0) -> MapGeometry:
        """Where the map goes in the window now."""
        w, h = self.size
        return MapGeometry(w, h, extent)
