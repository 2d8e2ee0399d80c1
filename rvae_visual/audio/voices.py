"""Preallocated sample voices, placed by absolute sample time.

Every voice knows, in samples of the mixer's own clock, where it starts, where a choke fade
begins and where it ends. Mixing a block only reads those numbers, so the output does not
depend on how the stream cuts time into blocks: a 128-frame live stream and a 512-frame
offline render give the same samples, bit for bit (voices are also summed in slot order, and a
free slot is chosen by time, not by when a block noticed it).
"""

from __future__ import annotations

import numpy as np

from .kit import Kit

FOREVER = 1 << 62
CHOKE_FADE_SECONDS = 0.004  # a choked hat fades over 4 ms: quick, but no click


def velocity_gain(velocity: float) -> float:
    """Amplitude for a velocity 0..1: square law (0.5 -> -12 dB, 0.25 -> -24 dB), as players
    and most samplers expect; soft ghost notes stay audible, accents stand out."""
    v = min(1.0, max(0.0, velocity))
    return v * v


class Voices:
    """A fixed pool of voices mixing kit samples into a mono float32 block.

    Sounding voices are kept in `seq`, ordered by start sample, and summed in that order, so
    float rounding does not depend on slots or block sizes. A slot is reused only after its
    voice has been rendered to the end."""

    def __init__(self, kit: Kit, n_voices: int = 48, max_frames: int = 8192) -> None:
        self.kit = kit
        self.n = n_voices
        self.max_frames = max_frames
        self.fade_len = max(1, int(round(CHOKE_FADE_SECONDS * kit.sample_rate)))
        ramp = np.cos(np.linspace(0.0, np.pi / 2, self.fade_len, endpoint=False)) ** 2
        self.ramp = ramp.astype(np.float32)
        self.tmp = np.zeros(max_frames, np.float32)
        # per slot, plain lists (fast scalar access from Python, fixed length)
        self.smp: list[np.ndarray] = [kit.samples[0]] * n_voices
        self.start = [0] * n_voices  # clock sample where the voice starts
        self.fade = [FOREVER] * n_voices  # clock sample where its choke fade starts
        self.end = [0] * n_voices  # clock sample after its last one
        self.gain = [0.0] * n_voices
        self.group = [-1] * n_voices
        self.seq = [0] * n_voices  # sounding slots by start sample: seq[:count]
        self.count = 0
        self.free = list(range(n_voices - 1, -1, -1))  # free slots: free[:n_free]
        self.n_free = n_voices
        self.stolen = 0  # voices cut because all were busy

    def set_kit(self, kit: Kit) -> None:
        """Swap the kit; voices already sounding finish with their old samples."""
        self.kit = kit

    def _remove(self, k: int) -> None:
        seq = self.seq
        slot = seq[k]
        for j in range(k, self.count - 1):
            seq[j] = seq[j + 1]
        self.count -= 1
        self.free[self.n_free] = slot
        self.n_free += 1

    def trigger(self, at: int, inst: int, velocity: float) -> None:
        """Start instrument `inst` at clock sample `at` (chokes its group)."""
        kit = self.kit
        smp = kit.samples[inst]
        grp = kit.choke[inst]
        start, fade, end, seq = self.start, self.fade, self.end, self.seq
        end_new = at + len(smp)
        fade_new = FOREVER
        if grp >= 0:
            for k in range(self.count):
                v = seq[k]
                if self.group[v] != grp or end[v] <= at and start[v] <= at:
                    continue
                if start[v] <= at:  # an earlier hit of the group: fade it from here
                    if at < fade[v]:
                        fade[v] = at
                        end[v] = min(end[v], at + self.fade_len)
                elif start[v] < fade_new:  # a later one (same block): it cuts this one
                    fade_new = start[v]
                    end_new = min(end_new, fade_new + self.fade_len)
        if self.n_free == 0:  # all busy: steal the oldest voice (a click, but never silence)
            self._remove(0)
            self.stolen += 1
        self.n_free -= 1
        slot = self.free[self.n_free]
        self.smp[slot] = smp
        start[slot] = at
        fade[slot] = fade_new
        end[slot] = end_new
        self.gain[slot] = velocity_gain(velocity)
        self.group[slot] = grp
        # insert after every voice starting at or before `at`
        k = self.count
        while k > 0 and start[seq[k - 1]] > at:
            seq[k] = seq[k - 1]
            k -= 1
        seq[k] = slot
        self.count += 1

    def mix(self, out: np.ndarray, clock: int, frames: int) -> None:
        """Add every voice sounding in clock samples [clock, clock + frames) into out[:frames]."""
        stop = clock + frames
        tmp = self.tmp
        seq, start, end, fade, smps, gains = self.seq, self.start, self.end, self.fade, self.smp, self.gain
        mul, add = np.multiply, np.add
        k = 0
        while k < self.count:
            v = seq[k]
            s = start[v]
            if s >= stop:  # later voices start later still
                break
            e = end[v]
            f = fade[v]
            a = s if s > clock else clock
            b = e if e < stop else stop
            if f < b:  # a choke fade begins before this voice's part of the block ends
                # plain part [a, f), then the fade [max(f, a), b)
                if f > a:
                    n = f - a
                    t = tmp[:n]
                    mul(smps[v][a - s:f - s], gains[v], out=t)
                    o = out[a - clock:f - clock]
                    add(o, t, out=o)
                    a = f
                n = b - a
                if n > 0:
                    t = tmp[:n]
                    mul(smps[v][a - s:b - s], gains[v], out=t)
                    mul(t, self.ramp[a - f:b - f], out=t)
                    o = out[a - clock:b - clock]
                    add(o, t, out=o)
            elif b > a:
                n = b - a
                t = tmp[:n]
                mul(smps[v][a - s:b - s], gains[v], out=t)
                o = out[a - clock:b - clock]
                add(o, t, out=o)
            if e <= stop:  # rendered to its end: free the slot
                self._remove(k)
            else:
                k += 1

    def sounding(self) -> int:
        """Voices not yet rendered to their end."""
        return self.count
