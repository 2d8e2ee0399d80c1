"""MIDI out: the hits the audio plays, as notes, and the MIDI clock, scheduled against the audio clock.

A dedicated thread looks a little ahead of the sample being heard, takes the hits that start
in the next window of transport samples from the same sequencer the audio uses
(`hits_in_window`, so threshold, mutes, velocity and microtiming are the audio's), and sends
each note-on at the wall time its sample is heard, plus `latency` (signed seconds). Because it
looks ahead, a hit with a negative offset (early) is sent on time too. Clock pulses (one per
tick) are placed the same way. On stop and on close: note-offs for sounding notes and All
Notes Off.

Time comes in through `TransportView`: which transport sample is heard at which
`time.monotonic()` instant, plus the pattern state. Tests inject views and a clock.
"""

from __future__ import annotations

import heapq
import math
import itertools
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..audio.records import TransportView  # owned by audio/: the engine makes them
from ..audio.sequencer import NO_LIMIT, hits_in_window
from ..pattern import velocity_byte
from . import clock_out

ALL_NOTES_OFF = 123


@dataclass
class NoteOutConfig:
    """Per-instrument note and channel (0-15 internally), note length and timing, in seconds."""

    notes: tuple[int, ...] = (36, 38, 42)
    channels: tuple[int, ...] = (9, 9, 9)
    length: float = 0.05
    latency: float = 0.0  # + sends later than the audio, - earlier
    lookahead: float = 0.02
    notes_on: bool = True
    clock_out: bool = False
    max_late: float = 0.05  # a note-on later than this is dropped (counted), not sent
    spin: float = 0.0004  # the last part of a wait before an event is spun, for precision
    rt_priority: int = 3  # SCHED_FIFO priority of the sending thread where allowed (0: off)

    def channel_set(self) -> list[int]:
        """Distinct channels in use."""
        return sorted(set(self.channels))


class ClockFit:
    """Least-squares line through recent (monotonic seconds, transport sample) readings.

    The audio clock runs at its own rate (a sound card's crystal, or JACK's dummy driver, which
    drifts ~0.2 % from the system clock) and each reading is a little jittery; a line fitted over
    the last `window` seconds follows the drift and averages the jitter out. A reading more
    than `jump` seconds off the line is set aside; three in a row mean the clock really jumped
    (an xrun lost a period, the transport restarted, a loaded host's JACK keeps skipping) and
    start a new fit from the newest of them."""

    def __init__(self, sample_rate: int, window: float = 0.5, jump: float = 0.0015) -> None:
        self.sr = float(sample_rate)
        self.window = window
        self.jump = jump
        self.reset()

    def reset(self) -> None:
        """Forget all readings."""
        self._pts: deque[tuple[float, float]] = deque()
        self._odd: list[tuple[float, float]] = []  # readings off the line, in a row
        self._t0 = self._s0 = 0.0
        self._n = 0
        self._st = self._ss = self._stt = self._sts = 0.0
        self.jumps = 0

    def _sums(self, t: float, s: float, sign: float) -> None:
        dt, ds = t - self._t0, s - self._s0
        self._n += int(sign)
        self._st += sign * dt
        self._ss += sign * ds
        self._stt += sign * dt * dt
        self._sts += sign * dt * ds

    def add(self, t: float, s: float) -> None:
        """A reading: transport sample `s` is heard at monotonic time `t`."""
        if self._n:
            off = t - self.time_of(s)
            if abs(off) > self.jump:
                odd = self._odd
                odd.append((t, s))
                if len(odd) < 3:
                    return
                # three in a row off the line: the line is wrong. Start again from those that agree
                # with the newest one (a clock that keeps jumping never gives three that agree)
                last = odd[-1][0] - self.time_of(odd[-1][1])
                keep = [(ot, os_) for ot, os_ in odd if abs((ot - self.time_of(os_)) - last) <= self.jump]
                jumps = self.jumps + 1
                self.reset()
                self.jumps = jumps
                for ot, os_ in keep:
                    self.add(ot, os_)
                return
            self._odd.clear()
        if not self._n:
            self._t0, self._s0 = t, s
        self._pts.append((t, s))
        self._sums(t, s, 1.0)
        while self._pts and t - self._pts[0][0] > self.window:
            ot, os_ = self._pts.popleft()
            self._sums(ot, os_, -1.0)

    def time_of(self, s: float) -> float:
        """Monotonic time at which transport sample `s` is heard (needs one reading)."""
        n = self._n
        mt, ms = self._st / n, self._ss / n
        var = self._stt / n - mt * mt
        rate = self.sr
        if n >= 16 and var > 1e-4:  # enough spread in time to trust a measured rate
            fitted = (self._sts / n - mt * ms) / var
            if abs(fitted / self.sr - 1.0) < 0.01:
                rate = fitted
        return self._t0 + mt + (s - self._s0 - ms) / rate

    @property
    def ready(self) -> bool:
        """True once there is a reading."""
        return self._n > 0


@dataclass
class OutStats:
    """Counters for the HUD and the benchmark (seconds)."""

    notes: int = 0
    pulses: int = 0
    dropped_late: int = 0
    late_max: float = 0.0
    lateness: list[float] = field(default_factory=list)  # recent send time - due time
    keep: int = 0  # record this many lateness values (benchmarks)


def _tick_bound(x: float) -> int:
    return int(max(-NO_LIMIT, min(NO_LIMIT, x)))


def hits_as_played(v: TransportView, start: int, stop: int) -> list[tuple[int, int, float]]:
    """The hits the audio plays in [start, stop) transport samples: the playing pattern up to
    the switch tick, the one taking over from it (as the transport does), in time order."""
    if v.pattern is None:
        return []
    hi = _tick_bound(v.switch_tick) if v.next_pattern is not None else NO_LIMIT
    swing = (v.swing, v.swing_next, v.swing_at)
    out = hits_in_window(v.pattern, v.threshold, v.mutes, v.bpm, v.sample_rate, start, stop, v.origin,
                         _tick_bound(v.cur_from), hi, *swing)
    if v.next_pattern is not None:
        out += hits_in_window(v.next_pattern, v.threshold, v.mutes, v.bpm, v.sample_rate, start, stop, v.origin,
                              hi, NO_LIMIT, *swing)
        out.sort(key=lambda h: h[0])
    return out


class MidiScheduler:
    """Sends notes and clock for the transport `source()` describes, via `send(bytes)`."""

    def __init__(self, source: Callable[[], TransportView], send: Callable[[Sequence[int]], None],
                 config: NoteOutConfig | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.send = send
        self.config = config or NoteOutConfig()
        self.clock = clock
        self.stats = OutStats()
        self._heap: list[list] = []  # [time, seq, msg, alive]
        self._seq = itertools.count()
        self._offs: dict[tuple[int, int], list] = {}  # sounding (channel, note) -> its note-off entry
        self._playing = False
        self._run: int | None = None
        self._committed = 0  # transport samples before this are scheduled
        self._mapping: tuple | None = None  # (run, origin, bpm, swing...) the last commit used
        self._clock_started = False
        self._clock_sent = False
        self._fit: ClockFit | None = None  # transport sample -> monotonic time
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.poll = 0.004  # seconds between look-ahead commits
        self.realtime = False  # the thread got real-time priority (wakes on time on a busy machine)

    # ------------------------------------------------------------------ scheduling

    def _push(self, t: float, msg: list[int], pos: int | None = None) -> list:
        """Schedule `msg` at time `t`; `pos`: the transport sample it stands for, if it may be
        taken back (`_retract`)."""
        e = [t, next(self._seq), msg, True, pos]
        heapq.heappush(self._heap, e)
        return e

    def _time_of(self, pos: float, sr: int) -> float:
        return self._fit.time_of(pos) + self.config.latency  # type: ignore[union-attr]

    def _note(self, t: float, inst: int, vel: float, pos: int | None = None) -> None:
        cfg = self.config
        if inst >= len(cfg.notes):
            return
        ch, note = cfg.channels[inst], cfg.notes[inst]
        key = (ch, note)
        prev = self._offs.get(key)
        if prev is not None and prev[3] and prev[0] > t:
            prev[3] = False  # retriggered before its note-off: end it just before the new note
            self._push(t, [0x80 | ch, note, 0])
        self._push(t, [0x90 | ch, note, velocity_byte(vel)], pos)
        self._offs[key] = self._push(t + cfg.length, [0x80 | ch, note, 0], pos)

    def _retract(self, v: TransportView) -> None:
        """The audio's mapping from samples to ticks changed within one run (a tempo or swing
        change, taken up at the audio's next block): notes and clock pulses committed for
        samples it has not computed yet were placed by the old mapping; take them back and
        commit those samples again."""
        if not math.isfinite(v.computed_to):
            return  # a source that does not say how far the audio is
        redo = int(v.computed_to)
        if redo >= self._committed:
            return
        for e in self._heap:
            if e[3] and e[4] is not None and e[4] >= redo:
                e[3] = False
        self._committed = redo

    def _update_offset(self, v: TransportView) -> None:
        if self._fit is None or self._fit.sr != v.sample_rate:
            self._fit = ClockFit(v.sample_rate)
        self._fit.add(v.at, v.heard_sample)

    def _begin(self, v: TransportView, now: float) -> None:
        self._playing = True
        self._run = v.run
        if self._fit is not None:
            self._fit.reset()
            self._fit.add(v.at, v.heard_sample)
        self._clock_started = False
        heard = v.heard_sample + (now - v.at) * v.sample_rate
        # a run that began moments ago is taken from its top (Start, or Song Position +
        # Continue, and the first hits, a little late if need be); one joined later from where
        # it is (Song Position + Continue on the next 16th)
        top = int(v.run_start)
        if heard - top < self.config.max_late * v.sample_rate:
            self._committed = top
            if self.config.notes_on and v.pattern is not None and v.catch_up_from < top:
                t = self._time_of(top, v.sample_rate)
                for _, inst, vel in hits_in_window(v.pattern, v.threshold, v.mutes, v.bpm, v.sample_rate,
                                                   int(v.catch_up_from), top, v.origin, -NO_LIMIT, NO_LIMIT,
                                                   v.swing, v.swing_next, v.swing_at):
                    self._note(t, inst, vel)
        else:
            self._committed = int(heard)

    def _commit(self, v: TransportView, now: float) -> None:
        cfg = self.config
        sr = v.sample_rate
        ahead = cfg.lookahead + max(0.0, -cfg.latency) + self.poll
        heard = v.heard_sample + (now - v.at) * sr
        mapping = (v.run, v.origin, v.bpm, v.swing, v.swing_next, v.swing_at)
        if self._mapping is not None and mapping != self._mapping and v.run == self._mapping[0]:
            self._retract(v)
        self._mapping = mapping
        horizon = int(heard + ahead * sr)
        start = self._committed
        if horizon <= start:
            return
        if cfg.notes_on and v.pattern is not None:
            for pos, inst, vel in hits_as_played(v, start, horizon):
                self._note(self._time_of(pos, sr), inst, vel, pos)
        if cfg.clock_out:
            for pos, k in clock_out.pulses_in_window(v.bpm, sr, v.origin, start, horizon):
                t = self._time_of(pos, sr)
                if not self._clock_started:
                    if k > 0 and k % clock_out.TICKS_PER_SIXTEENTH:
                        continue  # (re)join on a 16th, where Song Position can point
                    for m in clock_out.start_messages(k):
                        self._push(t, m)
                    self._clock_started = self._clock_sent = True
                self._push(t, [clock_out.CLOCK], pos)
        self._committed = horizon

    def _flush_stop(self, now: float, stop_clock: bool = True) -> None:
        """Note-offs now for sounding notes, drop the rest, Stop, All Notes Off."""
        for e in self._heap:
            if e[3] and (e[2][0] & 0xF0) == 0x80:
                self.send(e[2])
        self._heap.clear()
        self._offs.clear()
        if stop_clock and self._clock_sent:
            self.send([clock_out.STOP])
            self._clock_sent = False
        for ch in self.config.channel_set():
            self.send([0xB0 | ch, ALL_NOTES_OFF, 0])

    def step(self, now: float) -> float:
        """Commit hits in the look-ahead window and send what is due at `now`; returns when to
        call again (seconds, the clock's time base)."""
        v = self.source()
        if v.playing:
            self._update_offset(v)
            if not self._playing or v.run != self._run:
                if self._playing:
                    self._flush_stop(now, stop_clock=True)
                self._begin(v, now)
            self._commit(v, now)
        elif self._playing:
            self._playing = False
            self._flush_stop(now)
        heap = self._heap
        st = self.stats
        while heap and heap[0][0] <= now:
            t, _, msg, alive, _ = heapq.heappop(heap)
            if not alive:
                continue
            late = now - t
            kind = msg[0] & 0xF0
            if kind == 0x90 and late > self.config.max_late:
                st.dropped_late += 1
                self._drop_note_off(msg)
                continue
            self.send(msg)
            if kind == 0x90:
                st.notes += 1
                if late > st.late_max:
                    st.late_max = late
                if st.keep:
                    st.lateness.append(late)
                    if len(st.lateness) > st.keep:
                        del st.lateness[: st.keep // 2]
            elif msg[0] == clock_out.CLOCK:
                st.pulses += 1
        nxt = now + self.poll
        if heap and heap[0][0] < nxt:
            nxt = heap[0][0]
        return nxt

    def _drop_note_off(self, on_msg: list[int]) -> None:
        key = (on_msg[0] & 0x0F, on_msg[1])
        e = self._offs.pop(key, None)
        if e is not None:
            e[3] = False

    def panic(self) -> None:
        """Note-offs for sounding notes, Stop if the clock ran, All Notes Off on every channel."""
        self._flush_stop(self.clock())
        self._playing = False

    # ------------------------------------------------------------------ thread

    def start(self) -> None:
        """Run the scheduler in a daemon thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rvae-midi-out", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        self.realtime = _try_realtime(self.config.rt_priority)
        clock, stop, spin = self.clock, self._stop, self.config.spin
        while not stop.is_set():
            try:
                nxt = self.step(clock())
            except Exception:  # never let MIDI out kill the music; retry shortly
                nxt = clock() + 0.05
            event_due = bool(self._heap) and self._heap[0][0] <= nxt
            d = nxt - clock()
            if event_due:
                if d > spin:
                    stop.wait(d - spin)
                while clock() < nxt and not stop.is_set():
                    pass
            elif d > 0:
                stop.wait(d)

    def close(self) -> None:
        """Stop the thread and send note-offs / All Notes Off (idempotent)."""
        t, self._thread = self._thread, None
        if t is not None:
            self._stop.set()
            t.join(timeout=2.0)
        self.panic()


def _try_realtime(priority: int) -> bool:
    """Give the calling thread SCHED_FIFO `priority` (below JACK's) if the system allows it.

    A busy machine wakes an ordinary thread up to several ms late; a real-time one on time.
    The thread only sleeps, or spins for under a millisecond before an event."""
    if priority <= 0 or not hasattr(os, "sched_setscheduler"):
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return True
    except (OSError, AttributeError):
        return False
