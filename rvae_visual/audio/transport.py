"""The transport: tempo, start/stop, position in samples, and which Pattern plays when.

Two sides. The main thread writes *requests*, each one attribute (a float, a bool, a tuple or
an immutable CompiledPattern), so a request is never seen half-written. The audio thread (or
the offline renderer) calls `advance` once per block: it takes up the requests at the block
start, emits the block's hits with their exact sample offsets, and moves the position on.

Time: tick-time x (ticks since bar 1, tick 0, fractional; a start is at 0, a locate anywhere)
maps to transport sample origin + x * samples_per_tick. A tempo change re-anchors `origin` half a sample before the
block start, so no hit is played twice or lost at the change (see `sequencer.scan`).

Start and locate: a start plays from tick 0; `request_locate` starts (or, while playing, jumps)
to any tick-time, optionally given as "the tick heard at monotonic time `at`", which the audio
thread carries to its own block (a followed clock's Song Position + Continue, a Link session's
phase); hits skipped that way are played at once (see MAX_CATCH_UP). Each start or locate
begins a new *run* (`run` counts them) so MIDI out can tell.

Swing (rvae_visual.swing) warps when the pattern's tick-times sound; the switch and catch-up
rules work on pattern tick-times (the sounding position unwarped). A new swing is taken up at
the next 8th-note line.

Pattern changes: a new Pattern plays from the next tick, beat or bar (`quantize`). Ticks are
counted without microtiming, so a hit on the switch tick with a negative offset sounds early,
as the new Pattern asks, and the switch tick is chosen late enough that it has not passed yet.
"""

from __future__ import annotations

import math
from typing import Sequence

from ..pattern import PPQN, Pattern, samples_per_tick
from ..swing import STRAIGHT, next_line, unwarp_switching, warp_switching
from .sequencer import EPS_TICKS, NO_LIMIT, CompiledPattern, Emit, check_bpm, compile_pattern, scan

QUANTIZE_TICKS = {"tick": 1, "beat": 24, "bar": 96}
MAX_LOCATE_AGE = 2.0  # seconds: a locate time further from the block's is not trusted
# A locate at a time already past (a followed clock's first pulse, heard here a few ms ago)
# starts a little after its tick; hits from half a tick before that tick up to where the run
# starts are played at the run's first sample, late but not lost (the downbeat on Start), if
# the run starts at most this many seconds late.
MAX_CATCH_UP = 0.1


def check_quantize(name: str) -> int:
    """Ticks per quantize step for 'tick', 'beat' or 'bar'; ValueError otherwise."""
    try:
        return QUANTIZE_TICKS[name]
    except KeyError:
        raise ValueError(f"quantize must be one of {', '.join(QUANTIZE_TICKS)}, got {name!r}") from None


def switch_begun(x: float, nxt: CompiledPattern | None, switch_tick: int) -> bool:
    """Has a pending switch to `nxt` at `switch_tick` begun sounding by tick-time `x`?"""
    return nxt is not None and x > switch_tick + nxt.min_offset - EPS_TICKS


def switch_tick_for(x: float, cur: CompiledPattern, new: CompiledPattern, quantum: int) -> int:
    """The first quantize step (ticks) at which `new` can take over from `cur` when asked at
    tick-time `x`: no early hit of either may already have sounded."""
    lead = min(cur.min_offset, new.min_offset)
    return math.ceil((x - lead + EPS_TICKS) / quantum) * quantum


class Transport:
    """Sequencer state for one stream. Requests: `request_*` (any thread); `advance` (audio)."""

    def __init__(self, sample_rate: int, bpm: float = 120.0, quantize: str = "tick",
                 threshold: float | tuple[float, ...] = 0.5, mutes: Sequence[bool] = ()) -> None:
        self.sample_rate = int(sample_rate)
        # --- requests, written by the main thread
        self.req_bpm = check_bpm(bpm)
        # (serial, playing, start tick, monotonic time that tick is heard or None); one tuple
        # so the audio thread never sees half a request, a serial so equal requests differ
        self.req_run: tuple[int, bool, float, float | None] = (0, False, 0.0, None)
        self.req_pattern: CompiledPattern | None = None
        self.quantum = check_quantize(quantize)
        self.threshold = threshold if isinstance(threshold, tuple) else float(threshold)  # or one per instrument
        self.mutes: tuple[bool, ...] = tuple(bool(m) for m in mutes)
        self.req_swing = STRAIGHT
        # --- audio-thread state
        self.swing = STRAIGHT  # the swing before tick-time `swing_at`
        self.swing_next = STRAIGHT  # the swing from `swing_at` on
        self.swing_at: float = NO_LIMIT
        self.playing = False
        self._run_taken: tuple[int, bool, float, float | None] = self.req_run
        self.run = 0  # starts and locates taken up so far
        self.run_start = 0  # `pos` where the current run began
        self.catch_up_from = 0  # hits in [catch_up_from, run_start) play at run_start
        self._catch_up = False  # the next block plays them
        self._out: Emit | None = None  # the emit of the block being rendered
        self._emit_late = self._emit_at_block_start  # bound once: no allocation per block
        self.heard_time = 0.0  # when the block being rendered is heard (caller's clock)
        self.pos = 0  # transport samples since start
        self.block_start = 0  # `pos` at the start of the block being rendered
        self.origin = 0.0  # transport sample of tick-time 0 (moves on tempo changes)
        self.bpm = self.req_bpm
        self.spt = samples_per_tick(self.bpm, self.sample_rate)
        self.cur: CompiledPattern | None = None
        self.cur_from = -NO_LIMIT  # first bar tick `cur` may play
        self.nxt: CompiledPattern | None = None
        self.switch_tick = NO_LIMIT  # first bar tick `nxt` plays
        self._taken: CompiledPattern | None = None  # last request taken up

    # ------------------------------------------------------------ main-thread side

    def request_pattern(self, pattern: Pattern | CompiledPattern) -> None:
        """Publish a Pattern (one reference swap); it plays from the next quantize step."""
        self.req_pattern = pattern if isinstance(pattern, CompiledPattern) else compile_pattern(pattern)

    def request_bpm(self, bpm: float) -> None:
        """New tempo (40-300 BPM), from the next block."""
        self.req_bpm = check_bpm(bpm)

    @property
    def req_playing(self) -> bool:
        """Whether the transport has been asked to play."""
        return self.req_run[1]

    def request_playing(self, on: bool) -> None:
        """Start (from bar 1, tick 0) or stop at the next block; ringing voices decay. Asking
        for the state already asked for does nothing."""
        if bool(on) != self.req_run[1]:
            self.req_run = (self.req_run[0] + 1, bool(on), 0.0, None)

    def request_locate(self, tick: float, at: float | None = None) -> None:
        """Play from tick-time `tick` (ticks since bar 1, tick 0), starting if stopped, jumping
        if playing. With `at` (time.monotonic() seconds, as the block times the caller passes
        to `advance`), `tick` is the one heard at `at`: the audio thread moves it on to its
        block, so the delay until the request is taken up costs no phase."""
        self.req_run = (self.req_run[0] + 1, True, float(tick), None if at is None else float(at))

    def request_swing(self, swing: float) -> None:
        """New swing 0.5 (straight) .. 0.75, from the next 8th-note line."""
        self.req_swing = min(0.75, max(STRAIGHT, float(swing)))

    def pattern_time(self, x: float) -> float:
        """The pattern tick-time sounding at tick-time `x` (unswung)."""
        return unwarp_switching(x, self.swing, self.swing_next, self.swing_at)

    def set_quantize(self, name: str) -> None:
        """'tick', 'beat' or 'bar': where published Patterns take over."""
        self.quantum = check_quantize(name)

    def tick_time(self, pos: float | None = None) -> float:
        """Tick-time of transport sample `pos` (default: the current position)."""
        return ((self.pos if pos is None else pos) - self.origin) / self.spt

    # ------------------------------------------------------------ audio-thread side

    def switch_at(self, cp: CompiledPattern, tick: int) -> None:
        """Play `cp` from bar tick `tick` on (which must not have started sounding yet)."""
        if self.cur is None:
            self.cur, self.cur_from = cp, tick
        else:
            self.nxt, self.switch_tick = cp, tick

    def _take_run(self) -> None:
        req = self.req_run
        self._run_taken = req
        _, on, tick, at = req
        if on:  # a new run from `tick` with the latest tempo and pattern
            if self.req_bpm != self.bpm:
                self.bpm = self.req_bpm
                self.spt = samples_per_tick(self.bpm, self.sample_rate)
            late_s = 0.0  # seconds from when `tick` was heard to this block
            if at is not None and self.heard_time > 0.0 and abs(self.heard_time - at) < MAX_LOCATE_AGE:
                late_s = self.heard_time - at
            if not self.playing:
                self.pos = 0
            self.origin = self.pos - (tick + late_s * self.bpm * PPQN / 60.0) * self.spt
            self.swing = self.swing_next = self.req_swing
            self.swing_at = NO_LIMIT
            self.catch_up_from = self.pos
            self._catch_up = 0.0 < late_s <= MAX_CATCH_UP
            if self._catch_up:
                x0 = warp_switching(tick - 0.5, self.swing, self.swing_next, self.swing_at)
                self.catch_up_from = min(self.pos, math.floor(self.origin + x0 * self.spt + 0.5))
            self.cur = self._taken = self.req_pattern
            self.cur_from = -NO_LIMIT
            self.nxt = None
            self.switch_tick = NO_LIMIT
            self.run += 1
            self.run_start = self.pos
        else:
            self._catch_up = False
        self.playing = on

    def _take_requests(self) -> None:
        if self.req_run is not self._run_taken:
            self._take_run()
        if not self.playing:
            return
        bpm = self.req_bpm
        if bpm != self.bpm:
            # continuity at pos - 0.5: hits before it keep their samples, hits after get new ones
            x = (self.pos - 0.5 - self.origin) / self.spt
            self.bpm = bpm
            self.spt = samples_per_tick(bpm, self.sample_rate)
            self.origin = self.pos - 0.5 - x * self.spt
        if self.req_swing != self.swing_next:
            # `swing` plays before `swing_at`, `swing_next` from it; the last change stays on
            # record (MIDI out reads it) until the next one
            x = (self.pos - 0.5 - self.origin) / self.spt
            if x >= self.swing_at or self.swing_at >= NO_LIMIT:
                self.swing = self.swing_next
                self.swing_at = next_line(x)
            self.swing_next = self.req_swing  # a change still pending takes the newest value
        req = self.req_pattern
        if req is self._taken or req is None:
            return
        if self.cur is None:
            self.cur, self.cur_from, self._taken = req, -NO_LIMIT, req
            return
        xa = self.pattern_time((self.pos - 0.5 - self.origin) / self.spt)
        if switch_begun(xa, self.nxt, self.switch_tick):
            return  # the pending switch has begun sounding: let it finish first
        self.nxt = req
        self.switch_tick = switch_tick_for(xa, self.cur, req, self.quantum)
        self._taken = req

    def _emit_at_block_start(self, sample: int, inst: int, vel: float) -> None:
        self._out(self.block_start, inst, vel)  # type: ignore[misc]

    def advance(self, frames: int, emit: Emit, heard_time: float = 0.0) -> None:
        """Take up requests, emit(sample, instrument, velocity) for every hit in the next
        `frames` samples, and move on. `heard_time`: when the block's first sample is heard
        (time.monotonic() seconds live; 0.0 offline). Allocates no containers."""
        self.heard_time = heard_time
        self._take_requests()
        self.block_start = start = self.pos
        if not self.playing:
            return
        stop = start + frames
        cur, nxt = self.cur, self.nxt
        if self._catch_up:
            self._catch_up = False
            if cur is not None:
                self._out = emit
                scan(cur, self.threshold, self.mutes, self.spt, self.origin, self.catch_up_from, start,
                     self._emit_late, self.cur_from, NO_LIMIT, self.swing, self.swing_next, self.swing_at)
        if cur is not None:
            scan(cur, self.threshold, self.mutes, self.spt, self.origin, start, stop, emit,
                 self.cur_from, self.switch_tick if nxt is not None else NO_LIMIT,
                 self.swing, self.swing_next, self.swing_at)
        if nxt is not None:
            scan(nxt, self.threshold, self.mutes, self.spt, self.origin, start, stop, emit,
                 self.switch_tick, NO_LIMIT, self.swing, self.swing_next, self.swing_at)
            # once every hit of `cur` before the switch tick has passed, `nxt` becomes `cur`
            x_next = self.pattern_time((stop - 0.5 - self.origin) / self.spt)
            if cur is None or x_next > self.switch_tick - 1 + cur.max_offset + EPS_TICKS:
                self.cur, self.cur_from, self.nxt = nxt, self.switch_tick, None
                self.switch_tick = NO_LIMIT
        self.pos = stop
