"""What the audio side writes for others to read: named block records, the played-hit ring,
the callback's health counters, and the `TransportView` that MIDI out reads.

All of it lives in one `Rings` object: plain numpy arrays over one buffer, private memory for
the in-process engine or a shared memory mapping for the audio process (audio/proc.py). The
writer (the audio callback) fills a slot first and then bumps its counter; a reader copies a
slot below the counter, so it never sees half a record. No locks anywhere.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass

import numpy as np

from ..pattern import Pattern

HIT_RING = 4096  # hits the main thread may fall behind by
BLOCK_RING = 64  # per-block records kept
LOAD_RING = 2048  # callback run times kept
UNDERFLOW_RING = 4096  # underflow positions and times kept
AUDIO_RING = 1 << 17  # frames of the output mix kept (2.7 s at 48 kHz), for the recorder's WAV
AUDIO_SLACK = 8192  # frames past its counter the writer may be filling (the mixer's largest block)

# ---- columns of a block record (float64 each): one row per block the mixer rendered
B_CLOCK = 0  # mixer clock sample at the block's start
B_POS = 1  # transport sample at the block's start
B_TICK = 2  # tick-time at the block's start
B_TICKS_PER_SAMPLE = 3  # 1 / samples per tick
B_PLAYING = 4  # 1.0 while playing
B_HEARD = 5  # time.monotonic() when the block's first sample is heard
B_FRAMES = 6  # frames in the block
B_RUN = 7  # transport run (starts and locates so far)
B_RUN_START = 8  # transport sample where that run began
B_CATCH_UP = 9  # hits in [catch_up_from, run_start) were played at run_start
B_AHEAD = 10  # seconds from computing the block to hearing it (DAC time - now); 0 if unknown
B_CUR = 11  # serial of the CompiledPattern playing (-1: none)
B_CUR_FROM = 12  # first tick-time it may play
B_NXT = 13  # serial of the one waiting to take over (-1: none)
B_SWITCH = 14  # tick-time where it takes over
B_SWING = 15  # swing (0.5 straight .. 0.75) before tick-time B_SWING_AT
B_SWING_NEXT = 16  # swing from B_SWING_AT on
B_SWING_AT = 17  # an 8th-note line (tick-time), or 2**62
B_HITS = 18  # the hit counter after this block's hits (its hits are [previous B_HITS, B_HITS))
N_BLOCK = 19

# ---- counters (int64): each written after the slot it counts
C_HITS = 0
C_BLOCKS = 1
C_UNDERFLOWS = 2
C_ERRORS = 3
C_LOADS = 4
C_AUDIO = 5  # frames of the output mix written to the audio ring (= the mixer clock after the block)
N_COUNTS = 8


@dataclass(frozen=True)
class BlockRecord:
    """One block as the audio callback rendered it (see the B_* columns; times in seconds)."""

    clock: int
    pos: int
    tick: float
    ticks_per_sample: float
    playing: bool
    heard: float
    frames: int
    run: int
    run_start: int
    catch_up_from: int
    ahead: float
    cur: int = -1
    cur_from: float = 0.0
    nxt: int = -1
    switch_tick: float = 0.0
    swing: float = 0.5
    swing_next: float = 0.5
    swing_at: float = float(1 << 62)

    @staticmethod
    def of(row: np.ndarray) -> "BlockRecord":
        """From a copied ring row."""
        return BlockRecord(int(row[B_CLOCK]), int(row[B_POS]), float(row[B_TICK]),
                           float(row[B_TICKS_PER_SAMPLE]), row[B_PLAYING] != 0.0, float(row[B_HEARD]),
                           int(row[B_FRAMES]), int(row[B_RUN]), int(row[B_RUN_START]),
                           int(row[B_CATCH_UP]), float(row[B_AHEAD]), int(row[B_CUR]), float(row[B_CUR_FROM]),
                           int(row[B_NXT]), float(row[B_SWITCH]), float(row[B_SWING]),
                           float(row[B_SWING_NEXT]), float(row[B_SWING_AT]))

    def heard_ticks(self, when: float, sample_rate: int, past_the_block: bool = False) -> float:
        """Tick-time heard at monotonic time `when`: never beyond the block's end (if the
        callback stalls, so does what is heard) unless `past_the_block` (what would be heard had
        the stream gone on); stays put while stopped."""
        if not self.playing:
            return self.tick
        elapsed = max(0.0, when - self.heard) * sample_rate
        if not past_the_block:
            elapsed = min(elapsed, float(self.frames))
        return self.tick + elapsed * self.ticks_per_sample

    def end_ticks(self) -> float:
        """Tick-time at the block's end: what the callback has computed up to."""
        return self.tick + (self.frames * self.ticks_per_sample if self.playing else 0.0)


@dataclass(frozen=True)
class TransportView:
    """What MIDI out needs from the audio engine, read at one instant.

    `heard_sample` is the transport sample being heard at monotonic time `at` (seconds);
    `run` changes whenever the transport starts or jumps (locate); `run_start` is the
    transport sample where that run began; hits in [catch_up_from, run_start) were played at
    run_start (a run that started late, see transport.MAX_CATCH_UP)."""

    playing: bool
    pattern: Pattern | None
    threshold: float | tuple[float, ...]  # one for all instruments, or one each
    mutes: tuple[bool, ...]
    bpm: float
    origin: float
    sample_rate: int
    heard_sample: float
    at: float
    run: int = 0
    run_start: float = 0.0
    catch_up_from: float = 0.0
    cur_from: float = -1e18  # tick-time from which `pattern` may play
    next_pattern: Pattern | None = None  # the pattern taking over at `switch_tick` (tick-time)
    switch_tick: float = 1e18
    swing: float = 0.5  # as the transport: `swing` before tick-time `swing_at`, `swing_next` from it
    swing_next: float = 0.5
    swing_at: float = float(1 << 62)
    computed_to: float = float("inf")  # transport sample the audio has computed up to (its newest block's end)


def _layout() -> tuple[list[tuple[str, type, tuple[int, ...]]], int]:
    fields: list[tuple[str, type, tuple[int, ...]]] = [
        ("counts", np.int64, (N_COUNTS,)),
        ("blk", np.float64, (BLOCK_RING, N_BLOCK)),
        ("hit_pos", np.int64, (HIT_RING,)),
        ("hit_vel", np.float64, (HIT_RING,)),
        ("load", np.float64, (LOAD_RING,)),
        ("underflow_at", np.int64, (UNDERFLOW_RING,)),
        ("underflow_time", np.float64, (UNDERFLOW_RING,)),
        ("hit_inst", np.int32, (HIT_RING,)),
        ("aud", np.float32, (AUDIO_RING,)),
    ]
    size = sum(int(np.prod(shape)) * np.dtype(t).itemsize for _, t, shape in fields)
    return fields, size


RINGS_BYTES = _layout()[1]


class Rings:
    """The arrays, over `buf` (RINGS_BYTES, e.g. a shared mmap) or private memory."""

    def __init__(self, buf: mmap.mmap | bytearray | None = None) -> None:
        fields, size = _layout()
        self.buf = buf if buf is not None else bytearray(size)
        off = 0
        for name, t, shape in fields:
            n = int(np.prod(shape))
            arr: np.ndarray = np.frombuffer(self.buf, dtype=t, count=n, offset=off).reshape(shape)
            setattr(self, name, arr)
            off += n * np.dtype(t).itemsize
        self.counts: np.ndarray
        self.blk: np.ndarray
        self.hit_pos: np.ndarray
        self.hit_vel: np.ndarray
        self.hit_inst: np.ndarray
        self.load: np.ndarray
        self.underflow_at: np.ndarray
        self.underflow_time: np.ndarray
        self.aud: np.ndarray  # the output mix (mono: every channel carries it), frame k at k % AUDIO_RING

    # ------------------------------------------------------------ readers (any thread but the writer's)

    def count(self, c: int) -> int:
        """Counter `c` (C_*)."""
        return int(self.counts[c])

    def drain_hits(self, since: int) -> tuple[list[tuple[int, int, float]], int]:
        """Hits played from counter `since` on: (list of (sample, instrument, velocity), new
        counter). If the reader fell more than the ring behind, the oldest are skipped."""
        end = self.count(C_HITS)
        begin = max(since, end - HIT_RING + 256)  # leave room for the writer
        out = []
        for k in range(begin, end):
            i = k % HIT_RING
            out.append((int(self.hit_pos[i]), int(self.hit_inst[i]), float(self.hit_vel[i])))
        return out, end

    def copy_audio(self, start: int, out: np.ndarray) -> int:
        """Copy the output mix from mixer clock `start` (frames) into `out` (float32); frames
        not rendered yet, or overwritten before they were copied, are zeros. Returns how many
        rendered frames were lost that way (the reader fell more than AUDIO_RING behind)."""
        written = self.count(C_AUDIO)  # frames below it are complete
        a, b = max(start, 0), min(start + len(out), written)
        out[:] = 0.0
        lo = max(a, written - AUDIO_RING + AUDIO_SLACK)
        if b > lo:
            i, j = lo % AUDIO_RING, (b - 1) % AUDIO_RING + 1
            if i < j:
                out[lo - start:b - start] = self.aud[i:j]
            else:
                k = AUDIO_RING - i
                out[lo - start:lo - start + k] = self.aud[i:]
                out[lo - start + k:b - start] = self.aud[:j]
        keep_from = max(a, self.count(C_AUDIO) - AUDIO_RING + AUDIO_SLACK)  # the writer may have lapped us
        if keep_from > start:
            out[:min(keep_from, start + len(out)) - start] = 0.0
        return max(0, min(b, keep_from) - a)

    def last_block(self) -> BlockRecord | None:
        """The newest block record, or None before the first block."""
        n = self.count(C_BLOCKS)
        if n == 0:
            return None
        return BlockRecord.of(self.blk[(n - 1) % BLOCK_RING].copy())

    def block_before(self, when: float) -> BlockRecord | None:
        """The newest block record heard at or before monotonic time `when` (the oldest kept
        if none is), or None before the first block."""
        n = self.count(C_BLOCKS)
        if n == 0:
            return None
        for k in range(n - 1, max(-1, n - BLOCK_RING // 2 - 1), -1):
            row = self.blk[k % BLOCK_RING].copy()
            if row[B_HEARD] <= when:
                return BlockRecord.of(row)
        return BlockRecord.of(self.blk[max(0, n - BLOCK_RING // 2) % BLOCK_RING].copy())

    def recent_load(self) -> np.ndarray:
        """Callback time as a fraction of the block period, for the recent blocks."""
        n = min(self.count(C_LOADS), LOAD_RING)
        return self.load[:n].copy()

    def underflow_positions(self) -> list[int]:
        """Transport samples at which the host reported underflows (the latest 4096), in order."""
        n = self.count(C_UNDERFLOWS)
        return [int(self.underflow_at[k % UNDERFLOW_RING]) for k in range(max(0, n - UNDERFLOW_RING), n)]

    def underflows_since(self, when: float) -> int:
        """Underflows reported at or after monotonic time `when` (within the ring)."""
        n = self.count(C_UNDERFLOWS)
        c = 0
        for k in range(n - 1, max(-1, n - UNDERFLOW_RING - 1), -1):
            if self.underflow_time[k % UNDERFLOW_RING] < when:
                break
            c += 1
        return c

    def last_underflow_time(self) -> float | None:
        """Monotonic time of the newest underflow, or None."""
        n = self.count(C_UNDERFLOWS)
        return None if n == 0 else float(self.underflow_time[(n - 1) % UNDERFLOW_RING])
