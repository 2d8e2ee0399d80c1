"""Following a MIDI clock: the follower's Start / Continue / Stop and tempo, and the one phase
lock, drive the transport directly from the MIDI input thread."""

from __future__ import annotations

import time
from typing import Callable

from ..clock import PhaseLock, TransportControl, clamp_bpm
from .clock_in import ClockFollower

# the nudge never moves the tempo more than 1 % off the measured one (inaudible as a tempo, and
# it takes up half a tick - a first bar played at our own tempo - within a second or two)
PLL_MAX = 0.01
RESYNC_TICKS = 1.5  # out of step by this much (the lock cannot take it up quickly) ...
RESYNC_AFTER = 0.5  # ... for this many seconds: jump onto the clock


def song_place(ticks: int) -> str:
    """'bar 3 beat 3' (+ '.2' for a 16th off the beat) for a song position in ticks."""
    bar, rest = divmod(int(ticks), 96)
    beat, rest = divmod(rest, 24)
    sixteenth = rest // 6
    return f"bar {bar + 1} beat {beat + 1}" + (f".{sixteenth + 1}" if sixteenth else "")


class MidiClockSource:
    """A followed MIDI clock (`--clock midi`). `on_clock(now)` runs in the polling thread after
    clock messages arrive; `clock_stop` is 'stop' or 'hold' for a clock that vanishes."""

    name = "midi"

    def __init__(self, follower: ClockFollower, transport: TransportControl,
                 report: Callable[[str], None], clock_stop: str = "stop") -> None:
        self.follower = follower
        self.transport = transport
        self.report = report
        self.clock_stop = clock_stop
        self.lock = PhaseLock(PLL_MAX, RESYNC_TICKS, RESYNC_AFTER)
        self.tempo_sent: float | None = None

    @property
    def phase_error(self) -> float | None:
        """The clock's phase minus ours, ticks (None: not locked)."""
        return self.lock.error

    def on_clock(self, now: float | None = None) -> None:
        """Take the follower's transport events and tempo (time.monotonic() `now`)."""
        f, tr = self.follower, self.transport
        now = time.monotonic() if now is None else now
        for ev, pos, at in f.take_events():
            if ev in ("start", "continue"):
                tr.locate(float(pos), at)
            elif ev == "stop":
                tr.stop()
            elif ev == "lost":
                if self.clock_stop == "stop":
                    tr.stop()
                    self.report("MIDI clock stopped arriving: stopped (--clock-stop hold keeps playing)")
                else:
                    held = f"{self.tempo_sent:.1f} BPM" if self.tempo_sent else "the last tempo"
                    self.report(f"MIDI clock stopped arriving: holding {held}")
        if f.present and f.bpm is not None:
            bpm = clamp_bpm(f.bpm * self.nudge(now))
            if self.tempo_sent is None or abs(bpm - self.tempo_sent) >= 0.01:
                self.tempo_sent = bpm
                tr.follow_tempo(bpm)
            if self.lock.resync_due:
                ext = f.ticks_at(now)
                if ext is not None:
                    tr.locate(ext, now)
                    self.report(f"MIDI clock: {abs(self.lock.error or 0.0):.1f} ticks out of step, "
                                "jumped back onto it")

    def nudge(self, now: float) -> float:
        """Tempo factor that pulls our heard position onto the clock's (1.0 when not running)."""
        f = self.follower
        ext = f.ticks_at(now) if f.running else None
        ours = self.transport.heard_position() if ext is not None else 0.0
        if ext is None or ours <= 0.0:
            self.lock.release()
            return 1.0
        return self.lock.update(ext, ours, now)

    def status(self) -> str:
        """One HUD line: tempo, running or where it stopped, phase."""
        f = self.follower
        where = "" if f.running else f", stopped at {song_place(f.position)}"
        if f.present and f.bpm is not None:
            e = self.lock.error
            phase = "" if e is None else f", phase {e:+.2f} tick"
            return f"clock: MIDI {f.bpm:.1f} BPM" + (f", running{phase}" if f.running else where)
        return "clock: MIDI, no clock arriving" + (where if f.position else "")

    def close(self) -> None:
        """Nothing to release (the poller owns the port)."""
