"""JACK MIDI helpers for tests and benchmarks: record MIDI events with their JACK frame times,
and a transport whose sample clock is JACK's frame clock (for the MIDI out scheduler)."""

from __future__ import annotations

import time
from typing import Sequence

import jack
import numpy as np

from rvae_visual.midi.notes_out import TransportView
from rvae_visual.pattern import Pattern, samples_per_tick


class MidiRecorder:
    """A JACK client with one MIDI input; `events` gets (JACK frame, bytes) for every event."""

    def __init__(self, name: str = "rvae-test-rec") -> None:
        self.client = jack.Client(name, no_start_server=True)
        self.port = self.client.midi_inports.register("in")
        self.events: list[tuple[int, bytes]] = []
        self.cycle: tuple[int, float] | None = None  # (JACK frame, monotonic time) of the newest cycle start
        self.cycle_frames: list[int] = []  # JACK frame of every cycle start
        port, client, events, cycles = self.port, self.client, self.events, self.cycle_frames
        mono = time.monotonic

        @client.set_process_callback
        def process(frames: int) -> None:
            base = client.last_frame_time
            self.cycle = (base, mono())
            cycles.append(base)
            for off, data in port.incoming_midi_events():
                events.append((base + off, bytes(data)))

        client.activate()
        self._period = client.blocksize  # JACK frames per cycle, still known after close()

    @property
    def sample_rate(self) -> int:
        return self.client.samplerate

    @property
    def period(self) -> int:
        return self._period

    def gaps(self) -> list[tuple[int, int]]:
        """(first, last) JACK frames of every stretch the dummy driver skipped (a dropped period)."""
        f = np.asarray(self.cycle_frames, dtype=np.int64)
        bad = np.nonzero(np.diff(f) != self._period)[0]
        return [(int(f[i]), int(f[i + 1])) for i in bad]

    def connect_from(self, source: str) -> None:
        """Connect a JACK MIDI output port (full name or unique substring) to our input."""
        names = [p.name for p in self.client.get_ports(is_midi=True, is_output=True)]
        match = [n for n in names if n == source] or [n for n in names if source in n]
        if len(match) != 1:
            raise RuntimeError(f"MIDI output {source!r}: candidates {names}")
        self.client.connect(match[0], self.port.name)

    def take(self) -> list[tuple[int, bytes]]:
        out = list(self.events)
        del self.events[: len(out)]
        return out

    def close(self) -> None:
        try:
            self.client.deactivate()
        finally:
            self.client.close()


class JackClockTransport:
    """A playing transport whose sample s is JACK frame `f0 + s`; views for MidiScheduler.

    Like the audio engine, it reads the time of each JACK cycle start in the cycle itself (the
    recorder's process callback): JACK's own frame_time estimate is off by several ms on the
    dummy backend under load."""

    def __init__(self, rec: MidiRecorder, pattern: Pattern | None, bpm: float, lead: float = 0.1,
                 threshold: float = 0.5, mutes: tuple[bool, ...] = (False, False, False),
                 start_tick: int = 0) -> None:
        self.rec = rec
        self.sr = rec.sample_rate
        while rec.cycle is None:
            time.sleep(0.001)
        self.f0 = rec.cycle[0] + int(lead * self.sr)
        self.pattern, self.bpm, self.threshold, self.mutes = pattern, bpm, threshold, mutes
        self.origin = -start_tick * samples_per_tick(bpm, self.sr)  # tick `start_tick` at frame f0
        self.playing = True

    def view(self) -> TransportView:
        frame, at = self.rec.cycle
        return TransportView(self.playing, self.pattern, self.threshold, self.mutes, self.bpm, self.origin,
                             self.sr, float(frame - self.f0), at, 1)


class MonotonicTransport:
    """A playing transport on the system clock: sample s is heard at monotonic t0 + s / sr."""

    def __init__(self, pattern: Pattern | None, bpm: float, sample_rate: int = 48000, lead: float = 0.1) -> None:
        self.pattern, self.bpm, self.sr = pattern, bpm, sample_rate
        self.t0 = time.monotonic() + lead
        self.playing = True
        self.run = 1

    def view(self) -> TransportView:
        now = time.monotonic()
        return TransportView(self.playing, self.pattern, 0.5, (False, False, False), self.bpm, 0.0,
                             self.sr, (now - self.t0) * self.sr, now, self.run)


def wait_for(pred, timeout: float = 3.0, step: float = 0.01):
    """Poll `pred()` until it returns something truthy (returned) or `timeout` s pass (None)."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            return None
        time.sleep(step)


def assert_on_time(errs, period: int, sample_rate: int) -> None:
    """MIDI timing errors (frames): within one JACK period plus 1 ms (rtmidi's events start the
    next period), allowing for this VM's stalls: JACK drops a period now and then (docs/architecture.md),
    which delays what was sent during it. So: all but 2 % (at least all but one) on time, and
    none off by more than 10 ms."""
    import numpy as np

    e = np.abs(np.asarray(errs, dtype=float))
    limit = period + sample_rate // 1000
    late = int(np.count_nonzero(e > limit))
    assert late <= max(1, int(0.02 * len(e))), f"{late} of {len(e)} beyond {limit} frames: {sorted(e)[-5:]}"
    assert e.max() <= sample_rate // 100, f"worst {e.max():.0f} frames"


def note_phase_errors(events, pulses: Sequence[int], first_tick: int, pattern: Pattern,
                      notes: Sequence[int], lo: float, hi: float) -> list[float]:
    """Where a follower's notes sit against its master's clock: for each note-on (note
    notes[i] = instrument i) recorded while the master was in ticks [lo, hi) - a line fitted to
    its recorded pulses, pulse j being tick first_tick + j - that tick minus the nearest hit of
    the instrument in `pattern`, in ticks (signed, around the bar)."""
    ks = np.arange(len(pulses))
    per, f0 = np.polyfit(ks, np.asarray(pulses, float), 1)
    hits = {i: [h.tick + h.offset for h in pattern.hits(0.5) if h.instrument == i] for i in range(len(notes))}
    errs = []
    for f, d in events:
        x = first_tick + (f - f0) / per
        if not (lo <= x < hi and d[0] & 0xF0 == 0x90 and d[2] > 0 and d[1] in notes):
            continue
        want = hits[list(notes).index(d[1])]
        if want:
            errs.append(min(((x % 96.0 - w + 48.0) % 96.0 - 48.0 for w in want), key=abs))
    return errs
