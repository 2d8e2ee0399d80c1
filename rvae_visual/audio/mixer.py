"""The mixer: transport + voices + master gain + soft clip, one block at a time.

`Mixer.process` is the whole audio path. The live sounddevice callback, the silent wall-clock
runner and the offline renderer all call it, so what a test renders offline is what is heard.
It allocates no arrays or containers in steady state, takes no locks, and never logs.

What it played goes out through fixed-size rings the main thread drains: hits (transport
sample, instrument, velocity), per block the clock/transport/tick-time/heard-time record
that maps the transport to the wall clock, and the output mix itself (the recorder's WAV).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .kit import Kit
from .records import (
    B_AHEAD, B_CATCH_UP, B_CLOCK, B_CUR, B_CUR_FROM, B_FRAMES, B_HEARD, B_NXT, B_PLAYING, B_POS, B_RUN,
    B_HITS, B_RUN_START, B_SWING, B_SWING_AT, B_SWING_NEXT, B_SWITCH, B_TICK, B_TICKS_PER_SAMPLE, AUDIO_RING,
    BLOCK_RING, C_AUDIO, C_BLOCKS, C_HITS, HIT_RING, BlockRecord, Rings,
)
from .transport import Transport
from .voices import Voices

MASTER_GAIN = 0.6  # about -4.4 dB: three full-velocity hits at once stay near the knee
CLIP_KNEE = 0.7  # linear up to here
CLIP_CEILING = 0.98  # and never beyond this (about -0.2 dBFS)


class Mixer:
    """Renders blocks of the transport's Patterns through a kit (mono mix copied to every channel)."""

    def __init__(self, kit: Kit, transport: Transport, max_frames: int = 8192,
                 master_gain: float = MASTER_GAIN, rings: Rings | None = None) -> None:
        if kit.sample_rate != transport.sample_rate:
            raise ValueError(f"kit is at {kit.sample_rate} Hz, transport at {transport.sample_rate} Hz")
        self.transport = transport
        self.voices = Voices(kit, max_frames=max_frames)
        self.req_kit = kit  # main thread swaps this reference
        self.master_gain = float(master_gain)
        self.max_frames = max_frames
        self.clock = 0  # samples rendered since the mixer was made
        self._mix = np.zeros(max_frames, np.float32)
        self._abs = np.zeros(max_frames, np.float32)
        self._over = np.zeros(max_frames, bool)
        self._block_clock = 0
        self._emit = self._trigger  # bound once: no bound-method object per block
        # played hits and per-block records (named B_* columns), for other threads or the
        # player's process to read; each slot is written before its counter
        self.rings = rings if rings is not None else Rings()
        self.hit_pos = self.rings.hit_pos
        self.hit_inst = self.rings.hit_inst
        self.hit_vel = self.rings.hit_vel
        self.hit_count = 0
        self.blk = self.rings.blk
        self.blk_count = 0
        self._counts = self.rings.counts
        self._aud = self.rings.aud  # the output mix, for the recorder (written before C_AUDIO)
        self.peak = 0.0  # largest |output| sample since last reset (before the soft clip)
        self.clipped = 0  # blocks in which the soft clip acted

    def set_kit(self, kit: Kit) -> None:
        """Publish a new kit (main thread); it is taken up at the next block."""
        if kit.sample_rate != self.transport.sample_rate:
            raise ValueError(f"kit is at {kit.sample_rate} Hz, stream at {self.transport.sample_rate} Hz")
        self.req_kit = kit

    def _trigger(self, s: int, inst: int, vel: float) -> None:
        t = self.transport
        if inst >= len(self.voices.kit.samples):
            return
        self.voices.trigger(self._block_clock + (s - t.block_start), inst, vel)
        i = self.hit_count % HIT_RING
        self.hit_pos[i] = s
        self.hit_inst[i] = inst
        self.hit_vel[i] = vel
        self.hit_count += 1
        self._counts[C_HITS] = self.hit_count

    def process(self, out: np.ndarray, frames: int, heard_time: float = 0.0, ahead: float = 0.0) -> None:
        """Render `frames` samples into out[:frames, :] (float32, any channel count).

        `heard_time`: when the block's first sample reaches the listener (seconds on the
        caller's clock, time.monotonic for the live stream), `ahead`: seconds from now until
        then (0.0 if unknown); both only recorded."""
        if frames > self.max_frames:  # never in a stream opened with our block size
            done = 0
            while done < frames:
                n = min(self.max_frames, frames - done)
                self.process(out[done:done + n], n, heard_time + done / self.transport.sample_rate, ahead)
                done += n
            return
        if self.req_kit is not self.voices.kit:
            self.voices.set_kit(self.req_kit)
        clock = self.clock
        m = self._mix[:frames]
        m.fill(0.0)
        self._block_clock = clock
        t = self.transport
        t.advance(frames, self._emit, heard_time)
        self.voices.mix(m, clock, frames)
        np.multiply(m, self.master_gain, out=m)
        a = self._abs[:frames]
        np.abs(m, out=a)
        pk = float(a.max())
        if pk > self.peak:
            self.peak = pk
        if pk > CLIP_KNEE:
            self._soft_clip(m, a, self._over[:frames])
            self.clipped += 1
        out[:frames] = m[:, None]
        i = clock % AUDIO_RING
        k = AUDIO_RING - i
        if frames <= k:
            self._aud[i:i + frames] = m
        else:
            self._aud[i:] = m[:k]
            self._aud[:frames - k] = m[k:]
        self._counts[C_AUDIO] = clock + frames
        i = self.blk_count % BLOCK_RING
        row = self.blk[i]
        row[B_CLOCK] = clock
        row[B_POS] = t.block_start
        row[B_TICK] = (t.block_start - t.origin) / t.spt
        row[B_TICKS_PER_SAMPLE] = 1.0 / t.spt
        row[B_PLAYING] = 1.0 if t.playing else 0.0
        row[B_HEARD] = heard_time
        row[B_FRAMES] = frames
        row[B_RUN] = t.run
        row[B_RUN_START] = t.run_start
        row[B_CATCH_UP] = t.catch_up_from
        row[B_AHEAD] = ahead
        cur, nxt = t.cur, t.nxt
        row[B_CUR] = cur.serial if cur is not None else -1
        row[B_CUR_FROM] = t.cur_from
        row[B_NXT] = nxt.serial if nxt is not None else -1
        row[B_SWITCH] = t.switch_tick
        row[B_SWING] = t.swing
        row[B_SWING_NEXT] = t.swing_next
        row[B_SWING_AT] = t.swing_at
        row[B_HITS] = self.hit_count
        self.blk_count += 1
        self._counts[C_BLOCKS] = self.blk_count
        self.clock = clock + frames

    @staticmethod
    def _soft_clip(m: np.ndarray, a: np.ndarray, over: np.ndarray) -> None:
        """Above the knee, |x| -> knee + room * tanh((|x| - knee) / room): smooth, and never
        beyond the ceiling. In place, on preallocated buffers."""
        room = CLIP_CEILING - CLIP_KNEE
        np.greater(a, CLIP_KNEE, out=over)
        np.subtract(a, CLIP_KNEE, out=a)
        np.multiply(a, 1.0 / room, out=a)
        np.tanh(a, out=a)
        np.multiply(a, room, out=a)
        np.add(a, CLIP_KNEE, out=a)
        np.copysign(a, m, out=a)
        np.copyto(m, a, where=over)

    # ------------------------------------------------------------ main-thread readers

    def drain_hits(self, since: int) -> tuple[list[tuple[int, int, float]], int]:
        """Hits played from counter `since` on (see Rings.drain_hits)."""
        return self.rings.drain_hits(since)

    def last_block(self) -> BlockRecord | None:
        """The newest block record, or None before the first block."""
        return self.rings.last_block()

    def block_before(self, when: float) -> BlockRecord | None:
        """The newest block record heard at or before `when` (see Rings.block_before)."""
        return self.rings.block_before(when)


def heard_ticks(row: BlockRecord, when: float, sample_rate: int) -> float:
    """Tick-time heard at `when` from a block record (see BlockRecord.heard_ticks)."""
    return row.heard_ticks(when, sample_rate)


def mutes_tuple(mutes: Sequence[bool], n: int) -> tuple[bool, ...]:
    """Mutes padded or cut to `n` instruments."""
    m = [bool(x) for x in mutes][:n]
    return tuple(m + [False] * (n - len(m)))
