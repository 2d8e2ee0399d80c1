"""The recorder's WAV file, written by a thread of its own so a slow disk never holds up the
thread that reads the audio rings. Mono (every output channel carries the same mix), 32-bit
float at the stream's rate (the very samples the callback played); the header is brought up to date at every flush (about once a
second), so the file on disk is whole up to the last flush. Near the 4 GiB a WAV can hold, it
goes on in `NAME.2.wav`, `NAME.3.wav`, ...
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

FLUSH_S = 1.0
MAX_PENDING_S = 30.0  # seconds of audio queued before chunks are dropped (the disk fell behind)
BYTES_PER_FRAME = 4  # mono 32-bit float
MAX_FILE_FRAMES = ((1 << 32) - (1 << 20)) // BYTES_PER_FRAME  # a WAV's 32-bit sizes, with room for the header


def open_wav(path: Path, sample_rate: int):  # -> soundfile.SoundFile
    """A new WAV file at `path` (never an existing one: FileExistsError / OSError)."""
    import soundfile as sf

    if path.exists():
        raise FileExistsError(17, "file exists", str(path))
    return sf.SoundFile(str(path), "x", samplerate=sample_rate, channels=1, subtype="FLOAT", format="WAV")


class WavWriter:
    """Writes the chunks given to `put` (float32 mono) to `path`, in its own thread.
    `fail(path, exception)` hears of the first write error; later chunks are then dropped."""

    def __init__(self, path: Path, sample_rate: int, fail: Callable[[Path, BaseException], None]) -> None:
        self.path = path
        self.sample_rate = int(sample_rate)
        self._fail = fail
        self._file = open_wav(path, self.sample_rate)
        self._file_frames = 0
        self._part = 1
        self.frames = 0  # written so far, all parts
        self.dropped = 0  # frames not written because the writer fell behind
        self.failed = False
        self._queued = 0  # frames waiting (only this object's two threads touch it; ints are atomic)
        self._q: queue.SimpleQueue[np.ndarray | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="rvae-record-wav", daemon=True)
        self._thread.start()

    def put(self, chunk: np.ndarray) -> None:
        """Queue `chunk` (owned by the writer from now on)."""
        if self.failed:
            return
        if self._queued > MAX_PENDING_S * self.sample_rate:
            self.dropped += len(chunk)
            return
        self._queued += len(chunk)
        self._q.put(chunk)

    def close(self) -> None:
        """Write what is queued, bring the header up to date and close the file."""
        self._q.put(None)
        self._thread.join()

    def _run(self) -> None:
        last_flush = time.monotonic()
        while True:
            chunk = self._q.get()
            if chunk is None:
                break
            self._queued -= len(chunk)
            if self.failed:
                continue
            try:
                self._write(chunk)
                if time.monotonic() - last_flush >= FLUSH_S:
                    self._file.flush()
                    last_flush = time.monotonic()
            except Exception as e:  # soundfile reports a short write as AssertionError or its own error
                self._failed(e)
        try:
            self._file.close()
        except Exception as e:
            if not self.failed:
                self._failed(e)

    def _write(self, chunk: np.ndarray) -> None:
        while len(chunk):
            room = MAX_FILE_FRAMES - self._file_frames
            if room <= 0:
                self._file.close()
                self._part += 1
                self._file = open_wav(self.path.with_suffix(f".{self._part}.wav"), self.sample_rate)
                self._file_frames = 0
                continue
            part = chunk[:room]
            self._file.write(part)
            self._file_frames += len(part)
            self.frames += len(part)
            chunk = chunk[room:]

    def _failed(self, e: BaseException) -> None:
        self.failed = True
        self._fail(self.path, e)
