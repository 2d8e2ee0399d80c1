"""Stream time -> MIDI file ticks, through the file's own tempo map.

A recorded file's time runs with the audio stream: sample n after the file's start sounds at
n / sample_rate seconds. Its tempo events carry whole microseconds per quarter note, so a note
is placed by that tempo as written, not by the transport's exact one: the note then sounds at
its sample to within half a file tick (0.73 samples at 48 kHz and 60 BPM, 0.37 at 120 BPM),
however long the file. (The bar grid of the file drifts from the music's by at most 0.5 us a
quarter note, 2 ms an hour at worst.)
"""

from __future__ import annotations

import math

# 48 * 682: the 96-tick bar is whole file ticks in 4/4 (1364 a tick) and 12/8 or 6/8 (2046);
# the most a 15-bit division allows, near enough (32767 at most)
PPQ = 32736


def us_per_quarter(ticks_per_sample: float, sample_rate: int, ticks_per_quarter: float) -> int:
    """The tempo event's microseconds per quarter note for the transport's `ticks_per_sample`
    (96-tick bar ticks) when a quarter note is `ticks_per_quarter` of them (24, or 16 in 12/8)."""
    return int(round(ticks_per_quarter / ticks_per_sample / sample_rate * 1e6))


class FileClock:
    """Samples since the file's start -> file ticks, one tempo segment at a time."""

    def __init__(self, sample_rate: int, us: int, ppq: int = PPQ) -> None:
        self.sample_rate = int(sample_rate)
        self.ppq = int(ppq)
        self.us = int(us)  # microseconds per quarter note of the segment playing
        self._tick0 = 0  # the segment's first tick
        self._s0 = 0.0  # and its sample (exact, from the tempi written before it)

    def ticks_per_sample(self) -> float:
        """File ticks a sample in the current segment."""
        return self.ppq * 1e6 / (self.us * self.sample_rate)

    def ticks(self, samples: float) -> float:
        """File ticks (fractional) at `samples` since the file's start (current segment)."""
        return self._tick0 + (samples - self._s0) * self.ticks_per_sample()

    def tick(self, samples: float) -> int:
        """The nearest whole file tick (never before the current segment's start)."""
        return max(self._tick0, int(math.floor(self.ticks(samples) + 0.5)))

    def samples(self, ticks: float) -> float:
        """Samples since the file's start at file tick `ticks` (current segment)."""
        return self._s0 + (ticks - self._tick0) / self.ticks_per_sample()

    def change_tempo(self, samples: float, us: int) -> int:
        """A new tempo from `samples` on: returns the whole tick where its tempo event goes
        (the nearest to `samples`); the new segment starts exactly there."""
        k = self.tick(samples)
        self._s0 = self.samples(k)
        self._tick0 = k
        self.us = int(us)
        return k
