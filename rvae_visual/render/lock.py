"""Installation mode's lock: visitors cannot quit or reconfigure the instrument from a keyboard.

Every key is ignored except those the installation enables (`--installation-keys`) and the
quit combination, Ctrl+Shift+Q held for `hold_s` seconds (the HUD message counts down);
closing the window is ignored; SIGTERM and SIGINT still quit cleanly (our own handlers, since
SDL's would arrive as the window-close event we now ignore)."""

from __future__ import annotations

import signal
from typing import Any, Callable

QUIT_HOLD_S = 3.0
QUIT_KEY = "q"


class QuitSignal:
    """SIGTERM / SIGINT as a flag, installed before the display opens: SDL takes over only
    signals still at their default, and its handler would turn them into the window-close
    event that installation mode ignores."""

    requested = False

    @classmethod
    def install(cls) -> None:
        """Catch SIGTERM and SIGINT from now on (main thread only)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, cls._handle)

    @classmethod
    def _handle(cls, signum: int, frame: Any) -> None:
        cls.requested = True


class InstallationLock:
    """An event filter and frame check for `App` (see the module)."""

    def __init__(self, quit: Callable[[], None], say: Callable[[str], None], clock: Callable[[], float],
                 hold_s: float = QUIT_HOLD_S, allowed: Callable[[str, bool], bool] = lambda key, shift: False) -> None:
        self.quit = quit
        self.allowed = allowed  # (pygame key name, shift held) -> the key works in this installation
        self.say = say
        self.clock = clock
        self.hold_s = hold_s
        self.held_since: float | None = None  # when Ctrl+Shift+Q went down
        self.ignored = 0  # key presses and close requests ignored

    def install_signals(self) -> None:
        """SIGTERM and SIGINT quit at the end of the frame (main thread only); a signal that
        came before the loop began quits at its first frame."""
        QuitSignal.install()

    def event_filter(self, ev: Any) -> bool:
        """True (consumed) for every key event and window-close request."""
        import pygame

        if ev.type == pygame.QUIT:
            self.ignored += 1
            return True
        if ev.type not in (pygame.KEYDOWN, pygame.KEYUP):
            return False
        name = pygame.key.name(ev.key)
        combo = bool(ev.mod & pygame.KMOD_CTRL) and bool(ev.mod & pygame.KMOD_SHIFT)
        if self.allowed(name, bool(ev.mod & pygame.KMOD_SHIFT)) and not combo:
            return False
        if ev.type == pygame.KEYDOWN:
            if name == QUIT_KEY and combo:
                self.held_since = self.clock()
                self.say(f"keep holding Ctrl+Shift+Q for {self.hold_s:g} s to quit")
            else:
                self.ignored += 1
        elif name in (QUIT_KEY, "left ctrl", "right ctrl", "left shift", "right shift"):
            self.held_since = None
        return True

    def check(self, _app: Any = None) -> None:
        """Once a frame: quit on a signal, or when the combination has been held long enough."""
        if QuitSignal.requested:
            QuitSignal.requested = False
            self.quit()
            return
        if self.held_since is not None and self.clock() - self.held_since >= self.hold_s:
            self.held_since = None
            self.quit()
