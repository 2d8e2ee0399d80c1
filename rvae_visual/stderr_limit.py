"""A limit on repeated lines in the process's standard error, for a player meant to run for days.

Libraries we do not control write warnings straight to file descriptor 2 from C (RtMidi's
"MidiInJack: message queue limit reached!!" once per lost message, JACK's and ALSA's own lines),
so the limit works on the descriptor: fd 2 becomes a pipe that one thread reads, line by line,
passing each line on to the real stderr the first time it is seen in a window of `window_s`
seconds and counting it after that; when a counted line's window ends, one line says how many
times it came. Blank lines after a held line are held with it. Standard library only.
"""

from __future__ import annotations

import atexit
import faulthandler
import os
import select
import sys
import threading
import time
from collections import OrderedDict
from typing import Callable

WINDOW_S = 10.0
MAX_WINDOW_S = 3600.0
MAX_TRACKED = 64  # distinct recent lines remembered (the oldest is forgotten first)
MAX_LINE = 4096  # bytes of one line kept for comparison; longer lines are passed on whole


class RepeatLimiter:
    """The rule, apart from any file: a line is passed on the first time it comes; while it
    keeps coming it is counted, and one summary line per window says how many times it came.
    A line that keeps coming gets a window twice as long each time (up to `max_window_s`), so a
    flood that lasts for days writes a few dozen lines a day; a window without repeats forgets it."""

    def __init__(self, window_s: float = WINDOW_S, max_tracked: int = MAX_TRACKED,
                 max_window_s: float = MAX_WINDOW_S) -> None:
        self.window_s = window_s
        self.max_window_s = max_window_s
        self.max_tracked = max_tracked
        self._seen: OrderedDict[bytes, list[float]] = OrderedDict()  # line -> [window start s, repeats, window s]
        self._holding = False  # the last non-blank line was held: hold blank lines too
        self.held = 0  # lines held back in all

    def feed(self, line: bytes, now: float) -> list[bytes]:
        """Lines (with their newline) to write for `line` (without its newline) arriving at `now` s."""
        out = self.flush(now)
        key = line.rstrip()[:MAX_LINE]
        if not key:
            if self._holding:
                self.held += 1
                return out
            return out + [line + b"\n"]
        entry = self._seen.get(key)
        if entry is not None:
            entry[1] += 1
            self.held += 1
            self._holding = True
            self._seen.move_to_end(key)
            return out
        self._seen[key] = [now, 0, self.window_s]
        while len(self._seen) > self.max_tracked:
            old, (start, n, _) = self._seen.popitem(last=False)
            if n:
                out.append(self._summary(old, int(n), now - start))
        self._holding = False
        return out + [line + b"\n"]

    def flush(self, now: float | None) -> list[bytes]:
        """Summaries of the windows ended by `now` s (of every window with repeats when None)."""
        out: list[bytes] = []
        for key in list(self._seen):
            start, n, window = self._seen[key]
            if now is None:
                if n:
                    out.append(self._summary(key, int(n), None))
                    self._seen[key][1] = 0
            elif now - start >= window:
                if n:
                    out.append(self._summary(key, int(n), now - start))
                    self._seen[key] = [now, 0, min(window * 2, self.max_window_s)]
                else:
                    del self._seen[key]
        return out

    def next_due(self, now: float) -> float | None:
        """Seconds until the next summary may be due (None when nothing is counted)."""
        due = [start + window - now for start, n, window in self._seen.values() if n]
        return max(0.0, min(due)) if due else None

    @staticmethod
    def _summary(key: bytes, n: int, span: float | None) -> bytes:
        text = key.decode("utf-8", "replace").strip()
        when = f" in {span:.0f} s" if span is not None else ""
        return f"rvae-visual: the line \"{text}\" came {n} more time{'s' if n != 1 else ''}{when}\n".encode()


class StderrLimit:
    """fd 2 through a pipe and a `RepeatLimiter`; `close()` puts the real stderr back after
    passing on everything written so far."""

    def __init__(self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.limiter = RepeatLimiter(window_s)
        self.clock = clock
        self.log: Callable[[bytes], None] | None = None  # also gets every line passed on (--log)
        sys.stderr.flush()
        self._real = os.dup(2)
        self._real_file = os.fdopen(os.dup(self._real), "w")
        faulthandler.enable(file=self._real_file)  # a crash report must not wait in our pipe
        r, w = os.pipe()
        os.dup2(w, 2)
        os.close(w)
        self._read = r
        self._closed = False
        self._thread = threading.Thread(target=self._pump, name="rvae-stderr", daemon=True)
        self._thread.start()

    def _write(self, data: bytes) -> None:
        if self.log is not None and data:
            self.log(data)
        while data:
            n = os.write(self._real, data)
            data = data[n:]

    def _pump(self) -> None:
        buf = b""
        try:
            while True:
                wait = self.limiter.next_due(self.clock())
                ready, _, _ = select.select([self._read], [], [], wait)
                now = self.clock()
                if not ready:
                    self._write(b"".join(self.limiter.flush(now)))
                    continue
                chunk = os.read(self._read, 65536)
                if not chunk:
                    break
                buf += chunk
                *lines, buf = buf.split(b"\n")
                if len(buf) > 65536:  # one endless line: pass it on as it is
                    lines.append(buf)
                    buf = b""
                out: list[bytes] = []
                for line in lines:
                    out += self.limiter.feed(line, now)
                if not lines:
                    out += self.limiter.flush(now)
                if out:
                    self._write(b"".join(out))
            if buf:
                self._write(buf)
            self._write(b"".join(self.limiter.flush(None)))
        except Exception:
            # never leave writers blocked on a pipe nobody reads: give them the real stderr back
            os.dup2(self._real, 2)
            self._write(buf)

    def close(self) -> None:
        """Restore fd 2 and pass on what is left (summaries included); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        sys.stderr.flush()
        os.dup2(self._real, 2)  # our write end of the pipe is gone: the reader sees the end
        self._thread.join(timeout=2.0)
        faulthandler.enable(file=sys.stderr)
        if not self._thread.is_alive():
            os.close(self._read)


_active: StderrLimit | None = None


def limit_repeated_stderr(window_s: float = WINDOW_S) -> StderrLimit | None:
    """Route this process's stderr through a `StderrLimit` until exit (once; None when fd 2
    cannot be redirected)."""
    global _active
    if _active is not None:
        return _active
    try:
        _active = StderrLimit(window_s)
    except OSError:
        return None
    atexit.register(_active.close)
    return _active
