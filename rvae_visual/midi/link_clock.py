"""Ableton Link (optional extra `rvae-visual[link]`, the `linkpython-extern` package): share the
tempo with the session both ways and keep our bar phase on the session's.

Polled from the MIDI input thread every `LINK_POLL` seconds: the session's tempo, nudged a
little (like the MIDI clock's phase lock) so that the beat we are heard playing meets the
session's beat at the same instant; a phase far off for a while (joining a session mid-bar)
moves our transport straight onto the session's bar phase instead. A tempo the performer sets here is committed to the
session. Link finds its peers by multicast on the local network.
"""

from __future__ import annotations

import time
from types import ModuleType

from ..clock import PhaseLock, TransportControl, clamp_bpm
from ..errors import InputError

LINK_POLL = 0.02  # seconds between reads of the session
QUANTUM = 4.0  # beats per bar, the phase Link aligns
NUDGE_MAX = 0.02  # up to 2 % off the session tempo while catching up the phase
REALIGN_TICKS = 3.0  # a phase error this large, for REALIGN_AFTER s, moves us onto the session's phase
REALIGN_AFTER = 1.0


def import_link() -> ModuleType:
    """The `link` module of linkpython-extern, or InputError saying how to install it."""
    try:
        import link
    except ImportError:
        raise InputError("--clock link needs Ableton Link support: pip install 'rvae-visual[link]' "
                         "(the linkpython-extern package)") from None
    return link


class LinkClock:
    """One Link peer (`--clock link`). `poll(ours, our_tempo)` returns the tempo we should play
    (BPM); `drive(transport, now)` reads the session and drives the transport with it."""

    name = "link"

    def __init__(self, bpm: float, quantum: float = QUANTUM, module: ModuleType | None = None) -> None:
        mod = module or import_link()
        self._link = mod.Link(float(bpm))
        self._link.enabled = True
        self.quantum = quantum
        self.tempo = float(bpm)  # the session's, as last read
        self.peers = 0
        self.lock = PhaseLock(NUDGE_MAX, REALIGN_TICKS, REALIGN_AFTER, span=quantum * 24.0)
        self._committed = float(bpm)  # the tempo we last asked the player to play
        self._last_poll = 0.0
        self.restart = False  # set by poll(): move our transport to `restart_tick` (heard at `restart_at`)
        self.restart_tick = 0.0  # the session's bar phase in ticks
        self.restart_at = 0.0  # time.monotonic() seconds
        self.restarts = 0

    @property
    def phase_error(self) -> float | None:
        """The session's bar phase minus ours, ticks (None: not playing or alone)."""
        return self.lock.error

    def due(self, now: float) -> bool:
        """True when it is time to read the session again."""
        if now - self._last_poll >= LINK_POLL:
            self._last_poll = now
            return True
        return False

    def poll(self, ours: float | None, our_tempo: float | None) -> float:
        """Read the session. `ours`: our tick-time heard now (ticks since bar 1, tick 0; None when
        stopped); `our_tempo`: the player's tempo now (if the performer changed it, the session
        follows). Returns the tempo to play, nudged to pull our phase onto the session's."""
        link = self._link
        s = link.captureAppSessionState()
        now_us = link.clock().micros()
        mono = time.monotonic()
        self.peers = int(link.numPeers())
        if our_tempo is not None and abs(our_tempo - self._committed) > 0.05 and abs(our_tempo - s.tempo()) > 0.05:
            s.setTempo(float(our_tempo), now_us)  # the performer leads
            link.commitAppSessionState(s)
        self.tempo = float(s.tempo())
        factor = 1.0
        self.restart = False
        if ours is not None and ours > 0.0 and self.peers > 0:
            beats = float(s.phaseAtTime(now_us, self.quantum))
            factor = self.lock.update(beats * 24.0, ours, mono)
            if self.lock.resync_due:  # far off for a while: onto the session's bar phase
                self.restart = True
                self.restart_tick = beats * 24.0
                self.restart_at = mono
                self.restarts += 1
        else:
            self.lock.release()
        self._committed = clamp_bpm(self.tempo * factor)
        return self._committed

    def drive(self, transport: TransportControl, now: float) -> None:
        """Every poll of the MIDI input thread: read the session now and then, and play its
        tempo and bar phase."""
        if not self.due(now):
            return
        ours = transport.heard_position() if transport.playing else None
        before = self._committed
        tempo = self.poll(ours, transport.tempo)
        if self.restart:
            transport.locate(self.restart_tick, self.restart_at)
        if abs(tempo - before) >= 0.01 or abs(tempo - transport.tempo) >= 0.01:
            transport.follow_tempo(tempo)

    def status(self) -> str:
        """One HUD line."""
        return link_status(self)

    def close(self) -> None:
        """Leave the session."""
        try:
            self._link.enabled = False
        except Exception:
            pass


def link_status(clock: LinkClock) -> str:
    """One HUD line."""
    phase = "" if clock.phase_error is None else f", phase {clock.phase_error:+.2f} tick"
    return f"clock: Link {clock.tempo:.1f} BPM, {clock.peers} peer{'s' if clock.peers != 1 else ''}{phase}"

