"""Capture of the set: every hit as the audio played it, to a Standard MIDI File (and, with
`--record-audio`, the output mix to a WAV), read from the engine's rings by `rvae-recorder`, a
thread of the player; the audio callback does nothing for it but fill the rings.

Every POLL_S the thread reads the block records (tick-time, ticks per sample, run, mixer
clock, the hit counter after each block) and the played-hit ring, and feeds each block with its
hits to the takes recording (`take.Take`), and copies the output mix they need out of the audio
ring to their WAV writers (`wav_writer`, a thread each). Recorder time is the mixer clock
(samples the stream rendered): continuous across stops and locates, and joined on by heard
time when the engine's rings are replaced (the audio process restarted, or the silent clock
took over). Stopping ends a take at the end of the bar being played; quitting (Esc, SIGINT,
SIGTERM) closes the takes after the engine has stopped, so every hit it played is in, the
end-of-track at the end of that bar. A write error is one line naming the file (stderr and the
HUD); that take stops, the music goes on.
"""

from __future__ import annotations

import math
import os
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from ..audio.records import B_FRAMES, B_HEARD, B_HITS, BLOCK_RING, C_BLOCKS, C_HITS, HIT_RING, BlockRecord, Rings
from ..drum_map import DrumMap
from ..outfiles import os_reason
from ..pattern import METER_4_4, Meter
from .take import Take
from .wav_writer import WavWriter

POLL_S = 0.02  # the block ring holds 64 blocks: 170 ms of 128-frame blocks at 48 kHz
AUDIO_CHUNK_S = 0.1  # copy the mix out of the ring once this much has come
PREFIX = "rvae-"


class RingSource(Protocol):
    """What the recorder needs of the audio engine."""

    @property
    def rings(self) -> Rings | None: ...
    @property
    def sample_rate(self) -> int: ...


def take_paths(folder: Path, audio: bool, when: float | None = None) -> tuple[Path, Path | None, int]:
    """A new MIDI file named by the time `when` (default now), e.g. rvae-20261203-184512.mid,
    created empty (never an existing one: -2, -3, ... when taken), the WAV path beside it (not
    created), and the MIDI file's open descriptor. OSError when the folder cannot take it."""
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
    stem = take_stem(when)
    k = 1
    while True:
        name = stem if k == 1 else f"{stem}-{k}"
        mid, wav = folder / f"{name}.mid", folder / f"{name}.wav"
        k += 1
        if audio and wav.exists():
            continue
        try:
            fd = os.open(mid, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        return mid, (wav if audio else None), fd


def take_stem(when: float | None = None) -> str:
    """rvae-YYYYMMDD-HHMMSS for the local time `when` (default now)."""
    return PREFIX + time.strftime("%Y%m%d-%H%M%S", time.localtime(when))


def _reason(path: Path, e: BaseException) -> str:
    if isinstance(e, OSError):
        return os_reason(e)
    try:
        st = os.statvfs(path.parent)
        if st.f_bavail * st.f_frsize < (1 << 20):
            return "no space left on device"
    except OSError:
        pass
    return str(e).splitlines()[0] if str(e) else type(e).__name__


class Recorder:
    """Records from `engine`'s rings into `folder` (see the module). The main thread calls
    `toggle`/`start`/`stop`/`recording`; `close` (after the engine has stopped) finishes every
    take. `model()` gives the drum map and meter a new take is written with; `error` and `note`
    get one-line messages (the HUD's, once attached; stderr before)."""

    def __init__(self, engine: RingSource, folder: str | Path, model: Callable[[], tuple[DrumMap, Meter]],
                 audio: bool = False, error: Callable[[str], None] | None = None,
                 note: Callable[[str], None] | None = None, poll_s: float = POLL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.folder = Path(folder)
        self.model = model
        self.audio = audio
        self.early: list[str] = []  # errors before `attach` (or `close`) gives them to the HUD / stderr
        self.error = error or self.early.append
        self.note = note or (lambda line: None)
        self.poll_s = poll_s
        self.clock = clock  # the block records' clock (time.monotonic)
        self.takes: list[Take] = []
        self.finished: list[Take] = []  # the last few, for tests and the final line
        self.missed_blocks = 0
        self._requests: queue.SimpleQueue[tuple[str, float | None]] = queue.SimpleQueue()
        self._wanted = False  # what the toggle shows: a take is (being) recorded
        self._rings: Rings | None = None
        self._epoch = 0
        self._offset: float | None = 0.0  # recorder samples = offset + mixer clock (None: at the next block)
        self._epoch_start = 0.0  # recorder samples where this ring's blocks begin
        self._nb = 0  # next block to read
        self._hits_at = 0  # hit counter read up to
        self._end_g = 0.0  # recorder samples at the end of the last block read
        self._end_heard = 0.0  # monotonic time that end is heard
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rvae-recorder", daemon=True)
        self._closed = False
        self._last_internal = ""

    # -- main thread -------------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        """Whether a take is being recorded (or asked for)."""
        return self._wanted

    def start(self, from_launch: bool = False) -> None:
        """A new take: from the stream's first block with `from_launch` (if still in the ring),
        else from the block heard now."""
        self._wanted = True
        self._requests.put(("start", None if from_launch else self.clock()))
        if self.poll_s > 0 and not self._thread.is_alive() and not self._closed:
            self._thread.start()

    def stop(self) -> None:
        """End the take at the end of the bar being played."""
        self._wanted = False
        self._requests.put(("stop", None))

    def toggle(self, value: float) -> None:
        """The `record` control: on (>= 0.5) starts a new take, off stops it."""
        if value >= 0.5:
            if not self._wanted:
                self.start()
        elif self._wanted:
            self.stop()

    def close(self) -> None:
        """After the engine has stopped: read what is left, end every take at the end of its
        bar, close the files (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        if self.error == self.early.append:  # never attached: stderr it is
            self._say_early(lambda line: print(f"rvae-visual: {line}", file=sys.stderr, flush=True))
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        else:
            self.poll()
        for take in list(self.takes):
            self._guard(take, take.finish_now)
            self._audio(take, final=True)
            self._close_take(take)

    def _say_early(self, error: Callable[[str], None]) -> None:
        self.error = error
        while self.early:
            error(self.early.pop(0))

    # -- the recorder thread -----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.poll()
        self.poll()

    def poll(self) -> None:
        """One read of the rings (the thread's, every `poll_s`; with poll_s 0 the caller's)."""
        try:
            r = self.engine.rings
            if r is not None and r is not self._rings:
                if self._rings is not None:
                    self._read()
                    for take in self.takes:  # all of the old rings' mix, before it is gone
                        self._audio(take, final=True)
                self._switch(r)
            if self._rings is None:
                return
            self._take_requests()
            self._read()
            for take in list(self.takes):
                self._audio(take)
                if take.done:
                    self._audio(take, final=True)
                    self._close_take(take)
                else:
                    self._guard(take, take.flush)
        except Exception as e:  # a bug here must not stop the music; say it once a kind
            line = f"recording: internal error: {type(e).__name__}: {e}"
            if line != self._last_internal:
                self._last_internal = line
                self.error(line)

    def _switch(self, r: Rings) -> None:
        """Follow the engine to new rings (the audio process restarted, or the silent clock)."""
        n = r.count(C_BLOCKS)
        oldest = max(0, n - (BLOCK_RING - 2))
        sr = self.engine.sample_rate
        first = self._rings is None
        k = oldest
        if not first:  # from the first block heard after the old rings' last one
            k = n
            for j in range(oldest, n):
                if r.blk[j % BLOCK_RING][B_HEARD] >= self._end_heard - 0.5 / sr:
                    k = j
                    break
            self._offset = None
            self._epoch += 1
        self._rings = r
        self._nb = k
        self._hits_at = 0 if k == 0 else int(r.blk[(k - 1) % BLOCK_RING][B_HITS])

    def _take_requests(self) -> None:
        while True:
            try:
                what, at = self._requests.get_nowait()
            except queue.Empty:
                return
            if what == "stop":
                for take in self.takes:
                    if take.stopping is None:
                        self._guard(take, take.stop_at_bar_end)
                continue
            take = self._new_take(at)
            if take is None:
                continue
            self.takes.append(take)
            if at is not None:  # blocks already read but heard after the press belong to it
                self._replay(take, at)

    def _new_take(self, at: float | None) -> Take | None:
        sr = int(self.engine.sample_rate)
        path = self.folder / f"{take_stem()}.mid"  # what the line names if the folder takes nothing
        try:
            mid, wav_path, fd = take_paths(self.folder, self.audio)
            path = mid
            dm, meter = self.model()
            wav = None
            if wav_path is not None:
                path = wav_path
                try:
                    wav = WavWriter(wav_path, sr, self._wav_failed)
                except BaseException:
                    os.close(fd)
                    raise
            take = Take(mid, fd, wav, sr, dm, meter, start_after=at)
        except Exception as e:
            self._wanted = False
            self.error(f"recording: cannot write {path} ({_reason(Path(path), e)}); not recording")
            return None
        self.note(f"recording to {mid}" + (f" and {wav_path.name}" if wav_path else ""))
        return take

    def _replay(self, take: Take, at: float) -> None:
        r = self._rings
        if r is None:
            return
        sr = self.engine.sample_rate
        n = r.count(C_BLOCKS)
        lo, k = max(0, n - (BLOCK_RING - 2)), self._nb
        while k > lo:
            row = r.blk[(k - 1) % BLOCK_RING]
            if row[B_HEARD] + row[B_FRAMES] / sr <= at:
                break
            k -= 1
        if k < self._nb:
            h = int(r.blk[(k - 1) % BLOCK_RING][B_HITS]) if k > 0 else 0
            self._feed(r, k, self._nb, h, [take])

    def _read(self) -> None:
        r = self._rings
        assert r is not None
        n = r.count(C_BLOCKS)
        if n - self._nb > BLOCK_RING - 2:  # fell behind the block ring: those records are gone
            skip = n - (BLOCK_RING - 2)
            self.missed_blocks += skip - self._nb
            h = int(r.blk[(skip - 1) % BLOCK_RING][B_HITS])
            # their hits are still in the hit ring: placed back from the first block kept (the
            # transport sample runs with the mixer clock within a run; a restart from stopped
            # in between would put them after it, and they are left out)
            ref = BlockRecord.of(r.blk[skip % BLOCK_RING].copy())
            if self._offset is not None:
                g = self._offset + ref.clock - ref.pos
                late = [(g + s, i, v) for s, i, v in self._hits(r, self._hits_at, h) if s <= ref.pos]
                for take in self.takes:
                    self._guard(take, take.late_hits, late)
            self._nb, self._hits_at = skip, h
        self._hits_at = self._feed(r, self._nb, n, self._hits_at, self.takes, advance=True)
        self._nb = n

    def _feed(self, r: Rings, k0: int, k1: int, hits_at: int, takes: list[Take], advance: bool = False) -> int:
        """Blocks k0..k1-1 of `r` (their hits from counter `hits_at`) to `takes`; returns the
        hit counter after them."""
        sr = self.engine.sample_rate
        for k in range(k0, k1):
            row = r.blk[k % BLOCK_RING].copy()
            rec = BlockRecord.of(row)
            h1 = int(row[B_HITS])
            hits = self._hits(r, hits_at, h1)
            hits_at = h1
            if self._offset is None:  # the first block of new rings: joined on by heard time
                gap = max(0, round((rec.heard - self._end_heard) * sr))
                self._offset = self._end_g + gap - rec.clock
                self._epoch_start = self._end_g + gap
            g = self._offset + rec.clock
            key = (self._epoch, rec.run)
            for take in takes:
                self._guard(take, take.block, g, rec, hits, key)
            if advance:
                self._end_g = g + rec.frames
                self._end_heard = rec.heard + rec.frames / sr
        return hits_at

    @staticmethod
    def _hits(r: Rings, h0: int, h1: int) -> list[tuple[int, int, float]]:
        h0 = max(h0, r.count(C_HITS) - HIT_RING + 256)
        return [(int(r.hit_pos[i % HIT_RING]), int(r.hit_inst[i % HIT_RING]), float(r.hit_vel[i % HIT_RING]))
                for i in range(h0, h1)]

    def _audio(self, take: Take, final: bool = False) -> None:
        """Copy the mix the take has not had yet (up to its end, or what was read) to its WAV:
        in chunks of AUDIO_CHUNK_S, or all of it when `final`."""
        w, r = take.wav, self._rings
        if w is None or take.failed or not take.started or r is None or self._offset is None:
            return
        upto = take.end_g if take.end_g is not None else self._end_g
        end = int(math.floor(upto + 0.5))
        sr = self.engine.sample_rate
        if not final and take.end_g is None and end - take.wav_next < AUDIO_CHUNK_S * sr:
            return
        while take.wav_next < end:
            n = min(end - take.wav_next, sr)
            chunk = np.zeros(n, np.float32)
            lo = take.wav_next
            # silence before the take's first block, and in the gap while the audio was lost
            floor = max(self._epoch_start, take.first_g)
            if lo + n > floor:
                skip = max(0, int(math.ceil(floor - lo)))
                clock = int(lo + skip - self._offset)
                w.dropped += r.copy_audio(clock, chunk[skip:])
            w.put(chunk)
            take.wav_next += n

    def _guard(self, take: Take, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` for `take`; a write error stops that take with one line."""
        if take.failed:
            return
        try:
            fn(*args)
        except OSError as e:
            self._take_failed(take, take.mid, e)

    def _wav_failed(self, path: Path, e: BaseException) -> None:
        for take in list(self.takes):  # (the WAV writer's thread)
            if take.wav is not None and take.wav.path == path:
                self._take_failed(take, path, e)

    def _take_failed(self, take: Take, path: Path, e: BaseException) -> None:
        with self._lock:
            if take.failed:
                return
            take.failed = True
            take.done = True
        self._wanted = False
        self.error(f"recording stopped: cannot write {path} ({_reason(path, e)}); the music goes on")

    def _close_take(self, take: Take) -> None:
        if take in self.takes:
            self.takes.remove(take)
        if take.wav is not None:
            take.wav.close()
        self.finished = (self.finished + [take])[-8:]
        if take.failed:  # the MIDI file stays as its last flush left it
            try:
                os.close(take.fd) if take.smf is None else take.smf.close()
            except OSError:
                pass
            return
        if not take.started:  # stopped before anything was played into it: no file
            for path in (take.mid, take.wav.path if take.wav is not None else None):
                if path is not None:
                    path.unlink(missing_ok=True)
            return
        lost = []
        if take.wav is not None and take.wav.dropped:
            lost.append(f"{take.wav.dropped} audio frames dropped (the writer fell behind)")
        if self.missed_blocks:
            lost.append(f"{self.missed_blocks} audio blocks read late (their hits came from the hit ring)")
        if lost:
            self.error(f"recording {take.mid.name}: " + ", ".join(lost))
        else:
            self.note(f"recorded {take.mid} ({take.notes} notes)")


def _model_of(model: Any) -> tuple[DrumMap, Meter]:
    return model.drum_map, getattr(model, "meter", METER_4_4)


def start_recorder(engine: RingSource, folder: str | None, audio: bool, model: Any) -> Recorder | None:
    """`play --record DIR [--record-audio]`: a Recorder taking from the stream's start (call it
    right after the engine starts), or None without a folder."""
    if folder is None:
        if audio:
            print("rvae-visual: warning: --record-audio needs --record DIR; not recording", file=sys.stderr)
        return None
    rec = Recorder(engine, folder, lambda: _model_of(model), audio=audio)
    rec.start(from_launch=True)
    return rec


def attach(conductor: Any, recorder: Recorder | None) -> None:
    """Register the `record` control's handler and value on the conductor; route the
    recorder's messages to the HUD; new takes follow the model playing. Without a recorder,
    the control says how to get one."""
    if recorder is None:
        conductor.handlers["record"] = lambda v: conductor.messages.say("recording needs --record DIR")
        conductor.values["record"] = lambda: 0.0
        return
    recorder.note = conductor.messages.say
    recorder._say_early(conductor.messages.error)
    recorder.model = lambda: _model_of(conductor.library.current.model)
    conductor.handlers["record"] = recorder.toggle
    conductor.values["record"] = lambda: 1.0 if recorder.recording else 0.0
