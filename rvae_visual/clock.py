"""Clock sources and the one phase lock (core: standard library only).

A clock source decides the tempo and the bar phase the instrument plays: the internal clock
(the performer's tempo), a followed MIDI clock, or an Ableton Link session. Each drives the
conductor through `TransportControl`, from whatever thread it runs in (the MIDI input
thread for MIDI clock and Link), never through the frame loop.

Units: tick-time is ticks since bar 1, tick 0 (24 ticks a quarter, 96 a bar); instants are
`time.monotonic()` seconds; tempo is BPM.
"""

from __future__ import annotations

from typing import Protocol

from .controls import BPM_MAX, BPM_MIN


class TransportControl(Protocol):
    """What a clock source may do to the transport. Safe to call from any thread."""

    @property
    def playing(self) -> bool:
        """Whether the transport runs."""
        ...

    @property
    def tempo(self) -> float:
        """The tempo played now, BPM."""
        ...

    def follow_tempo(self, bpm: float) -> None:
        """Play at `bpm` from the next audio block (clamped to BPM_MIN..BPM_MAX)."""
        ...

    def locate(self, tick: float, at: float | None = None) -> None:
        """Play from tick-time `tick`, heard at instant `at` (None: at once)."""
        ...

    def stop(self) -> None:
        """Stop."""
        ...

    def heard_position(self) -> float:
        """Tick-time heard now."""
        ...


class ClockSource(Protocol):
    """A source of tempo and phase: 'internal', 'midi' or 'link'."""

    name: str

    def status(self) -> str:
        """One HUD line ('' for none)."""
        ...

    def close(self) -> None:
        """Stop following (idempotent)."""
        ...


class InternalClock:
    """Our own tempo: the performer's keys and knobs set it; nothing to follow."""

    name = "internal"

    def status(self) -> str:
        """No line: the HUD shows the tempo anyway."""
        return ""

    def close(self) -> None:
        """Nothing to release."""


def clamp_bpm(bpm: float) -> float:
    """`bpm` clamped to BPM_MIN..BPM_MAX."""
    return min(BPM_MAX, max(BPM_MIN, float(bpm)))


class PhaseLock:
    """Pulls our heard bar phase onto a followed clock's: a tempo factor within `max_nudge`
    of the clock's own tempo, and a jump (`resync_due`) when out of step by more than
    `resync_ticks` for `resync_after` seconds (a stalled audio host, a clock that jumped).

    `gain`: tempo nudge per beat of phase error. Errors are taken within half of `span`
    ticks (a bar), so either side of the bar line counts as near."""

    def __init__(self, max_nudge: float, resync_ticks: float, resync_after: float,
                 gain: float = 0.5, span: float = 96.0) -> None:
        self.max_nudge = float(max_nudge)
        self.resync_ticks = float(resync_ticks)
        self.resync_after = float(resync_after)
        self.gain = float(gain)
        self.span = float(span)
        self.error: float | None = None  # theirs minus ours, ticks (None: not locked)
        self.resync_due = False
        self.resyncs = 0
        self._off_since: float | None = None

    def update(self, theirs: float, ours: float, now: float) -> float:
        """Phase of the followed clock and ours (ticks) at instant `now` (s): the tempo factor
        to play the clock's tempo by. Sets `error` and `resync_due`."""
        half = self.span / 2.0
        e = (float(theirs) - float(ours) + half) % self.span - half
        self.error = e
        self.resync_due = False
        if abs(e) <= self.resync_ticks:
            self._off_since = None
        elif self._off_since is None:
            self._off_since = now
        elif now - self._off_since >= self.resync_after:
            self._off_since = None
            self.resync_due = True
            self.resyncs += 1
        nudge = self.gain * e / 24.0
        return 1.0 + max(-self.max_nudge, min(self.max_nudge, nudge))

    def release(self) -> None:
        """Not locked now (stopped, no clock): forget the error and any pending jump."""
        self.error = None
        self.resync_due = False
        self._off_since = None
