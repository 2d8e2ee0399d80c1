"""One-line notes and errors for the HUD (errors also go to stderr)."""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

NOTE_SECONDS = 10.0
ERROR_SECONDS = 20.0


class Messages:
    """The latest note or error, shown for a while; `clock` is in seconds."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter, err: TextIO | None = None) -> None:
        self.clock = clock
        self.err = err
        self.log: Callable[[str], None] | None = None  # notes also go here (--log; errors reach it via stderr)
        self.text = ""
        self.is_error = False
        self._until = 0.0

    def say(self, text: str) -> None:
        """A one-line note in the HUD."""
        self.text, self.is_error = text, False
        self._until = self.clock() + NOTE_SECONDS
        if self.log is not None:
            self.log(text)

    def error(self, text: str) -> None:
        """A one-line error in the HUD and on stderr; nothing stops."""
        self.text, self.is_error = text, True
        self._until = self.clock() + ERROR_SECONDS
        print(f"rvae-visual: {text}", file=self.err or sys.stderr, flush=True)

    def expire(self, now: float) -> None:
        """Forget the message once its time is up."""
        if self.text and now > self._until:
            self.text = ""
