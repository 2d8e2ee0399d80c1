"""One recording's MIDI file: blocks and hits in, notes and tempo events out (see recorder.py).

Fed the blocks in order; times are recorder samples (the mixer clock, continuous across
restarts of the audio process). The file starts at the bar line at or before its first block,
a new ticks-per-sample is a tempo event, each hit a note at its sample through the file's own
tempo map (`filetime`), and it ends on the bar line reached.
"""

from __future__ import annotations

import bisect
import math
import time
from pathlib import Path

from ..audio.records import BlockRecord
from ..drum_map import DrumMap
from ..pattern import METER_4_4, Meter, velocity_byte
from .filetime import PPQ, FileClock, us_per_quarter
from .smf import GrowingSmf, note_event, tempo_event, time_signature_event, track_name_event
from .wav_writer import WavWriter

FLUSH_S = 0.5
NOTE_QUARTERS = 0.125  # note length (a 32nd), as the MIDI export


class Take:
    """One recording, fed the blocks in order: `block(g, rec, hits, key)` with `g` the block's
    start in file-independent samples (the recorder's continuous clock) and `key` the run
    (a change is a locate or a start). Pure but for its files."""

    def __init__(self, mid: Path, fd: int, wav: WavWriter | None, sample_rate: int, drum_map: DrumMap,
                 meter: Meter = METER_4_4, start_after: float | None = None) -> None:
        self.mid, self.fd, self.wav = mid, fd, wav
        self.sample_rate = int(sample_rate)
        self.drum_map, self.meter = drum_map, meter
        self.start_after = start_after  # monotonic time: the first block heard after it begins the take
        self.started = self.done = self.failed = False
        self.g0 = 0  # the file's start (a bar line), recorder samples
        self.end_g: float | None = None  # the file's end, once finished
        self.smf: GrowingSmf | None = None
        self.clock: FileClock | None = None
        self.tps = 0.0  # the transport's ticks per sample playing
        self.key: object = None
        self.stopping: float | None = None  # tick-time the take ends at (a bar line) in run `key`
        self.notes = 0
        self.wav_next = 0  # the next WAV frame to copy (recorder samples)
        self.first_g = 0.0  # where the first block fed begins
        self.last: tuple[float, BlockRecord] | None = None
        self._offs: list[tuple[int, int]] = []  # pending note-offs (tick, note), sorted
        self._length = max(1, round(NOTE_QUARTERS * PPQ))
        self._flushed = time.monotonic()

    # -- the file's grid ---------------------------------------------------------------------------
    @property
    def bar_ticks(self) -> int:
        """File ticks a bar of the meter (4/4: 4 quarter notes, 12/8: 6, 6/8: 3)."""
        return PPQ * self.meter.numerator * 4 // self.meter.denominator

    def _us(self, tps: float) -> int:
        return us_per_quarter(tps, self.sample_rate, self.meter.ticks_per_quarter)

    def _begin(self, g: float, rec: BlockRecord) -> None:
        bar = self.meter.ticks_per_bar  # the file starts at the bar line at or before this block
        xb = math.floor(rec.tick / bar + 1e-9) * bar
        self.g0 = int(math.floor(g - (rec.tick - xb) / rec.ticks_per_sample + 0.5))
        self.tps = rec.ticks_per_sample
        self.clock = FileClock(self.sample_rate, self._us(self.tps))
        self.smf = GrowingSmf(self.fd, PPQ, [
            track_name_event("rvae-visual"),
            time_signature_event(self.meter.numerator, self.meter.denominator),
            tempo_event(self.clock.us),
        ])
        self.wav_next = self.g0
        self.first_g = g  # the WAV is silent before it (what played then is not in the take)
        self.started = True

    # -- feeding -----------------------------------------------------------------------------------
    def block(self, g: float, rec: BlockRecord, hits: list[tuple[int, int, float]], key: object) -> None:
        """One block the callback rendered, its hits (transport sample, instrument, velocity)."""
        if self.done:
            return
        if not self.started:
            if self.start_after is not None and rec.heard + rec.frames / self.sample_rate <= self.start_after:
                return
            if not rec.playing:  # a take begins with the music (a followed clock's Start), on its bar line
                return
            self._begin(g, rec)
            self.key = key
        assert self.clock is not None
        if key != self.key:
            if self.stopping is not None:  # a locate or stop before the bar line: end here
                self.finish(g)
                return
            self.key = key
        if rec.ticks_per_sample != self.tps:
            self.tps = rec.ticks_per_sample
            self._emit_offs(self.clock.tick(g - self.g0))
            assert self.smf is not None
            self.smf.add(self.clock.change_tempo(g - self.g0, self._us(self.tps)), tempo_event(self._us(self.tps)))
        target = self.stopping
        for s, inst, vel in sorted(hits, key=lambda h: h[0]):
            if target is not None and rec.playing and rec.tick + (s - rec.pos) * rec.ticks_per_sample >= target:
                continue
            self._note(g + (s - rec.pos) - self.g0, inst, vel)
        self.last = (g, rec)
        if target is not None and (not rec.playing or rec.end_ticks() >= target):
            self.finish(g + (target - rec.tick) / rec.ticks_per_sample if rec.playing else g)

    def late_hits(self, hits: list[tuple[float, int, float]]) -> None:
        """Hits (recorder sample, instrument, velocity) of blocks whose records were missed,
        all after the last block fed."""
        if self.started and not self.done:
            for g, inst, vel in sorted(hits):
                self._note(g - self.g0, inst, vel)

    def _note(self, samples: float, inst: int, vel: float) -> None:
        dm = self.drum_map
        if not 0 <= inst < len(dm.out_notes):
            return
        assert self.clock is not None and self.smf is not None
        t = self.clock.tick(samples)
        note, ch = dm.out_notes[inst], dm.channel - 1
        self._emit_offs(t)
        for i, (off, n) in enumerate(self._offs):  # the same drum again before its note ended
            if n == note:
                del self._offs[i]
                self.smf.add(t, note_event(False, ch, note, 0))
                break
        self.smf.add(t, note_event(True, ch, note, velocity_byte(vel)))
        bisect.insort(self._offs, (t + self._length, note))
        self.notes += 1

    def _emit_offs(self, upto: int) -> None:
        assert self.smf is not None
        ch = self.drum_map.channel - 1
        while self._offs and self._offs[0][0] <= upto:
            t, note = self._offs.pop(0)
            self.smf.add(t, note_event(False, ch, note, 0))

    def horizon(self) -> float:
        """Recorder samples up to which every hit is known (the end of the last block fed)."""
        if self.last is None:
            return float(self.g0)
        g, rec = self.last
        return g + rec.frames

    def flush(self, force: bool = False) -> None:
        """Make what is known part of the file on disk (every FLUSH_S, or now with `force`)."""
        if not self.started or self.done or self.smf is None or self.clock is None:
            return
        now = time.monotonic()
        if not force and now - self._flushed < FLUSH_S:
            return
        self._flushed = now
        end = self.clock.tick(self.horizon() - self.g0)
        self._emit_offs(end)
        self.smf.flush(end)

    # -- the end -----------------------------------------------------------------------------------
    def stop_at_bar_end(self) -> None:
        """End at the end of the bar being played (the recording runs on to it); at once if the
        transport is stopped or nothing was fed yet."""
        if self.last is None or not self.started:
            self.abandon()
            return
        g, rec = self.last
        if not rec.playing:
            self.finish(self.horizon(), to_bar=True)
            return
        bar = self.meter.ticks_per_bar
        x = rec.end_ticks()
        self.stopping = math.ceil(x / bar - 1e-9) * bar
        if self.stopping <= x + 1e-9:
            self.finish(g + (self.stopping - rec.tick) / rec.ticks_per_sample)

    def finish_now(self) -> None:
        """Nothing more will come (the engine has stopped): end at the end of the bar of the
        last position played (or the bar line already asked for)."""
        if self.done:
            return
        if not self.started or self.last is None:
            self.abandon()
            return
        if self.stopping is None:
            self.stop_at_bar_end()
        if self.done:
            return
        g, rec = self.last
        assert self.stopping is not None
        self.finish(g + (self.stopping - rec.tick) / rec.ticks_per_sample)

    def finish(self, end_g: float, to_bar: bool = False) -> None:
        """End the file at recorder sample `end_g` (on the file's bar grid when it is within a
        32nd of it, or the next bar line with `to_bar`): pending note-offs, end-of-track, close."""
        if self.done:
            return
        self.done = True
        assert self.clock is not None and self.smf is not None
        end = self.clock.tick(end_g - self.g0)
        bt = self.bar_ticks
        near = round(end / bt) * bt
        if to_bar:
            end = math.ceil(end / bt) * bt
        elif abs(end - near) <= bt // 32:
            end = near
        end = max(end, self.smf.last_tick)
        ch = self.drum_map.channel - 1
        for t, note in self._offs:
            self.smf.add(min(t, end), note_event(False, ch, note, 0))
        self._offs.clear()
        self.end_g = self.g0 + self.clock.samples(end)
        self.smf.close(end)

    def abandon(self) -> None:
        """Close without a take (nothing was played into it; the recorder removes the file)."""
        if self.done:
            return
        self.done = True
        if self.smf is None:
            self.smf = GrowingSmf(self.fd, PPQ, [track_name_event("rvae-visual")])
        self.smf.close()
        self.end_g = float(self.g0)
