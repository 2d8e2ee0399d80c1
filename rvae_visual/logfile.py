"""`play --log FILE`: events and errors, one time-stamped line each, in a log that rotates
(FILE, FILE.1 .. FILE.<backups>) so days of running stay bounded. Standard library only.

Everything the process writes to stderr (our one-line errors and warnings, and the audio and
MIDI libraries' own lines, after the repeat limit) and the HUD's notes (model loaded, scene
recalled, device back) go in. A log that cannot be written is counted, never raised: the
music goes on.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from .errors import InputError
from .outfiles import os_reason

MAX_BYTES = 1_000_000
BACKUPS = 4


class RotatingLog:
    """Appends lines to `path`; past `max_bytes` the file becomes `path.1` (and so on)."""

    def __init__(self, path: str | os.PathLike, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
        self.path = Path(path)
        self.max_bytes = int(max_bytes)
        self.backups = int(backups)
        self.failures = 0
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "ab")
        except OSError as e:
            raise InputError(f"{self.path}: cannot write the log ({os_reason(e)})") from None
        self._size = self._f.tell()

    def line(self, text: str) -> None:
        """One event, time-stamped."""
        self._write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text.rstrip()}\n".encode("utf-8", "replace"))

    def lines(self, data: bytes) -> None:
        """What was written to stderr: each non-blank line, time-stamped."""
        for ln in data.decode("utf-8", "replace").splitlines():
            if ln.strip():
                self.line(ln)

    def _write(self, data: bytes) -> None:
        with self._lock:
            try:
                if self._size + len(data) > self.max_bytes and self._size > 0:
                    self._rotate()
                self._f.write(data)
                self._f.flush()
                self._size += len(data)
            except (OSError, ValueError):
                self.failures += 1

    def _rotate(self) -> None:
        self._f.close()
        for i in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{i}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{i + 1}"))
        if self.backups > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self._f = open(self.path, "ab")
        self._size = 0

    def close(self) -> None:
        """Close the file (later lines are counted as failures)."""
        with self._lock:
            self._f.close()


_active: RotatingLog | None = None


def open_log(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> RotatingLog:
    """Open the process's log (once); InputError when it cannot be written."""
    global _active
    if _active is None:
        _active = RotatingLog(path, max_bytes)
    return _active


def active_log() -> RotatingLog | None:
    """The log opened by `open_log`, if any."""
    return _active
