"""A Standard MIDI File that is valid on disk while it grows (type 0, one track).

Events are appended as they come; each `flush` writes them over the old end-of-track, then a
new end-of-track, then the track's length in the header, so a reader (or a crash) between
flushes finds a whole file that ends at the previous flush. Standard library only.
"""

from __future__ import annotations

import os
from typing import Sequence

HEADER_BYTES = 14  # MThd chunk
TRACK_LEN_AT = HEADER_BYTES + 4  # offset of the MTrk chunk's length field
END_OF_TRACK = b"\xff\x2f\x00"


def vlq(n: int) -> bytes:
    """A MIDI variable-length quantity (delta time), n >= 0."""
    if n < 0:
        raise ValueError(f"negative delta time {n}")
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def tempo_event(us_per_quarter: int) -> bytes:
    """Set Tempo: microseconds per quarter note (1..2**24-1)."""
    us = min((1 << 24) - 1, max(1, int(us_per_quarter)))
    return b"\xff\x51\x03" + us.to_bytes(3, "big")


def time_signature_event(numerator: int, denominator: int) -> bytes:
    """Time Signature, with the metronome on the beat (a dotted quarter in 6/8 and 12/8)."""
    log2 = denominator.bit_length() - 1
    click = 36 if denominator == 8 and numerator % 3 == 0 else 96 // denominator
    return bytes([0xFF, 0x58, 0x04, numerator, log2, click, 8])


def track_name_event(name: str) -> bytes:
    """Sequence/Track Name."""
    data = name.encode("utf-8")[:127]
    return b"\xff\x03" + vlq(len(data)) + data


def note_event(on: bool, channel: int, note: int, velocity: int) -> bytes:
    """Note On (velocity 1-127) or Note Off (velocity 0), channel 0-15."""
    return bytes([(0x90 if on else 0x80) | (channel & 0x0F), note & 0x7F, velocity & 0x7F])


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        if n <= 0:
            raise OSError(28, "no space left on device")
        view, offset = view[n:], offset + n


class GrowingSmf:
    """A type-0 SMF written to the file descriptor `fd` (a new file open for writing),
    `ppq` ticks per quarter note. `add` events in time order (ticks from the start); `flush`
    makes them part of the file on disk, ending at `end` ticks or the last event."""

    def __init__(self, fd: int, ppq: int, first: Sequence[bytes] = ()) -> None:
        if not 0 < ppq < 0x8000:
            raise ValueError(f"ppq {ppq} outside 1..32767")
        self.fd = fd
        self.ppq = ppq
        self.last_tick = 0  # of the last event added
        self.end_tick = 0  # where the end-of-track sits on disk
        self._pending = bytearray()
        self._eot_at = HEADER_BYTES + 8  # file offset of the end-of-track event (with its delta)
        self._eot = vlq(0) + END_OF_TRACK
        _pwrite_all(fd, b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big")
                    + ppq.to_bytes(2, "big") + b"MTrk" + len(self._eot).to_bytes(4, "big") + self._eot, 0)
        for data in first:
            self.add(0, data)
        self.flush()

    def add(self, tick: int, data: bytes) -> None:
        """One event at `tick` (never before the previous one)."""
        tick = max(int(tick), self.last_tick)
        self._pending += vlq(tick - self.last_tick) + data
        self.last_tick = tick

    def flush(self, end: int | None = None) -> None:
        """Write the events added since the last flush and the end-of-track at tick
        max(`end`, last event). On OSError the file is left as it was after the last flush
        (and the error raised); those events are lost."""
        end_tick = max(self.last_tick, self.end_tick if end is None else int(end))
        eot = vlq(end_tick - self.last_tick) + END_OF_TRACK
        data = bytes(self._pending) + eot
        self._pending.clear()
        try:
            _pwrite_all(self.fd, data, self._eot_at)
            _pwrite_all(self.fd, self._track_len(self._eot_at + len(data)), TRACK_LEN_AT)
        except OSError:
            self._restore()
            raise
        self._eot_at += len(data) - len(eot)
        self._eot = eot
        self.end_tick = end_tick

    @staticmethod
    def _track_len(file_end: int) -> bytes:
        return (file_end - TRACK_LEN_AT - 4).to_bytes(4, "big")

    def _restore(self) -> None:
        """Put back the end-of-track of the last flush (it lies within the file's old size,
        so this needs no new disk space) and cut what came after it."""
        end = self._eot_at + len(self._eot)
        try:
            _pwrite_all(self.fd, self._eot, self._eot_at)
            _pwrite_all(self.fd, self._track_len(end), TRACK_LEN_AT)
            os.ftruncate(self.fd, end)
        except OSError:
            pass

    def close(self, end: int | None = None) -> None:
        """Flush (ending at `end`), sync to disk and close the file (also after an OSError,
        which is raised)."""
        try:
            self.flush(end)
            os.fsync(self.fd)
        finally:
            os.close(self.fd)
