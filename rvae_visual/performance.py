"""The performer's state, in latent units and plain numbers (numpy only, no I/O).

Where the playback head is, whether it is heard, the threshold, the noise and its seeded per-bar
jitter, held and latched mutes, the trail the head leaves, the tempo asked for. The window, the
keys, the mouse and a MIDI controller all change this one object; the app reads it to decide
what to decode, publish and draw.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import os

import numpy as np

from .controls import BPM_MAX, BPM_MIN, GLIDE_MAX, NOISE_MAX, QUANTIZE, SWING_MAX, SWING_MIN, TAP_RESET_S, TAPS_KEPT, TRIM

TRAIL_SECONDS = 3.0
TRAIL_MAX_POINTS = 2048


class TrailPoint(NamedTuple):
    """Where the head was (latent units) at time `t` (seconds, the caller's clock).

    Points of one stroke (one drag) share `stroke`; a jump starts a new one."""

    t: float
    z1: float
    z2: float
    stroke: int


def _clamp(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else hi if v > hi else v


class Performance:
    """Performance state; every setter clamps to its range and never raises for a value."""

    def __init__(
        self,
        n_instruments: int = 3,
        extent: float = 3.0,
        threshold: float = 0.5,
        noise: float = 0.0,
        seed: int = 0,
        bpm: float = 120.0,
        head: tuple[float, float] = (0.0, 0.0),
        trail_seconds: float = TRAIL_SECONDS,
        quantize: str = "tick",
        swing: float = SWING_MIN,
    ) -> None:
        self.extent = float(extent)
        self.n_instruments = int(n_instruments)
        self.threshold = 0.5
        self.noise = 0.0
        self.bpm = 120.0
        self.seed = int(seed)
        self.listening = True
        self.playing = True
        self.trail_seconds = float(trail_seconds)
        self.trail: deque[TrailPoint] = deque(maxlen=TRAIL_MAX_POINTS)
        self.head = (0.0, 0.0)
        self._stroke = 0
        self._normals: dict[tuple[int, int], tuple[float, float]] = {}
        self.held = [False] * self.n_instruments
        self.latched = [False] * self.n_instruments
        self.trims = [0.0] * self.n_instruments  # per-drum threshold, from the global one
        self.excursion_held = False
        # (head, noise, threshold, trims) to go back to once an excursion is let go
        self.excursion: tuple[tuple[float, float], float, float, list[float]] | None = None
        self.mute_all = False
        self.glide_beats = 0.0  # a recalled scene's head glides there over this many beats
        self.quantize = "tick"
        self.swing = SWING_MIN  # percent
        self.set_swing(swing)
        self.taps: deque[float] = deque(maxlen=TAPS_KEPT)  # times of the last taps (s, the caller's clock)
        self.set_quantize(quantize)
        self.set_threshold(threshold)
        self.set_noise(noise)
        self.set_tempo(bpm)
        self.place_head(*head)

    # -- head ---------------------------------------------------------------------------------
    def set_extent(self, extent: float) -> None:
        """A new map window [-extent, extent]^2 (another model): the head stays inside it."""
        self.extent = float(extent)
        self.head = self.clamp_latent(*self.head)

    def clamp_latent(self, z1: float, z2: float) -> tuple[float, float]:
        """A latent point clamped into the map window [-extent, extent]^2."""
        e = self.extent
        return (_clamp(float(z1), -e, e), _clamp(float(z2), -e, e))

    def place_head(self, z1: float, z2: float, now: float | None = None) -> None:
        """Jump the head to (z1, z2), latent units; with `now` (s) a new trail stroke starts there."""
        self.head = self.clamp_latent(z1, z2)
        if now is not None:
            self._stroke += 1
            self.trail.append(TrailPoint(float(now), *self.head, self._stroke))

    def move_head(self, z1: float, z2: float, now: float) -> None:
        """Move the head to (z1, z2), latent units, continuing the trail at time `now` (s)."""
        self.head = self.clamp_latent(z1, z2)
        last = self.trail[-1] if self.trail else None
        before = self.trail[-2] if len(self.trail) > 1 else None
        if (last is not None and last.t == now and before is not None
                and before.stroke == last.stroke == self._stroke):
            # a second move at the same moment (a controller's x then y): one point, no staircase
            self.trail[-1] = TrailPoint(float(now), *self.head, self._stroke)
        elif last is None or (last.z1, last.z2) != self.head:
            self.trail.append(TrailPoint(float(now), *self.head, self._stroke))

    def trail_points(self, now: float) -> list[tuple[float, float, float, int]]:
        """Trail points younger than `trail_seconds` as (fade, z1, z2, stroke), oldest first.

        Fade is 1 for a point made `now`, falling linearly to 0 at `trail_seconds` old."""
        horizon = now - self.trail_seconds
        while self.trail and self.trail[0].t < horizon:
            self.trail.popleft()
        if self.trail_seconds <= 0:
            return []
        return [(_clamp(1.0 - (now - p.t) / self.trail_seconds, 0.0, 1.0), p.z1, p.z2, p.stroke)
                for p in self.trail]

    def clear_trail(self) -> None:
        """Forget the trail (key C)."""
        self.trail.clear()

    def toggle_listening(self) -> None:
        """Head heard / silent."""
        self.listening = not self.listening

    # -- threshold and noise ----------------------------------------------------------------------
    def set_threshold(self, value: float) -> None:
        """Onset probability above which a hit is heard and shown, clamped to 0..1."""
        self.threshold = _clamp(float(value), 0.0, 1.0)

    def set_trim(self, instrument: int, value: float) -> None:
        """Instrument `instrument`'s own threshold as an offset from the global one, -TRIM..TRIM."""
        if 0 <= instrument < self.n_instruments:
            self.trims[instrument] = _clamp(float(value), -TRIM, TRIM)

    def set_excursion(self, held: bool) -> None:
        """Hold (True): what the head, noise and thresholds are now is kept, to go back to;
        let go (False): `end_excursion` is due (the conductor calls it on the next beat)."""
        if held and self.excursion is None:
            self.excursion = (self.head, self.noise, self.threshold, list(self.trims))
        self.excursion_held = bool(held)

    def end_excursion(self, now: float | None = None) -> None:
        """Back to what was kept when the excursion began (the head jumps there)."""
        if self.excursion is None:
            return
        head, noise, threshold, trims = self.excursion
        self.excursion = None
        self.excursion_held = False
        self.place_head(*head, now=now)
        self.set_noise(noise)
        self.set_threshold(threshold)
        for i, t in enumerate(trims[: self.n_instruments]):
            self.set_trim(i, t)

    @property
    def thresholds(self) -> float | tuple[float, ...]:
        """What decides a hit: the global threshold, or one per instrument (0..1 each) when a
        drum's own threshold is moved."""
        if not any(self.trims):
            return self.threshold
        return tuple(_clamp(self.threshold + t, 0.0, 1.0) for t in self.trims)

    def set_noise(self, value: float) -> None:
        """Standard deviation of the per-bar jitter of the head, latent units, 0..NOISE_MAX."""
        self.noise = _clamp(float(value), 0.0, NOISE_MAX)

    def reseed(self, seed: int) -> None:
        """A new noise seed: the same seed gives the same jitter bar by bar."""
        self.seed = int(seed)

    def new_seed(self) -> int:
        """A fresh random noise seed (key N); returns it."""
        self.reseed(int.from_bytes(os.urandom(2), "little"))
        return self.seed

    def jitter(self, bar: int) -> tuple[float, float]:
        """The head's offset for bar `bar`, latent units: noise x N(0, 1) per axis.

        A function of (seed, bar) only, so replaying a bar or seeking gives the same jitter."""
        if self.noise <= 0.0:
            return (0.0, 0.0)
        key = (self.seed, int(bar))
        g = self._normals.get(key)
        if g is None:  # a new generator costs ~0.1 ms: draw once per (seed, bar)
            if len(self._normals) > 8:
                self._normals.clear()
            n = np.random.default_rng([self.seed & 0xFFFFFFFF, int(bar) & 0xFFFFFFFFFFFF]).standard_normal(2)
            g = self._normals[key] = (float(n[0]), float(n[1]))
        return (g[0] * self.noise, g[1] * self.noise)

    def target(self, bar: int) -> tuple[float, float]:
        """The latent point heard in bar `bar`: head plus that bar's jitter, kept in the window."""
        dz1, dz2 = self.jitter(bar)
        return self.clamp_latent(self.head[0] + dz1, self.head[1] + dz2)

    # -- mutes ------------------------------------------------------------------------------------
    def hold_mute(self, instrument: int, down: bool) -> None:
        """Mute `instrument` while its key is held (Q/W/E)."""
        if 0 <= instrument < self.n_instruments:
            self.held[instrument] = bool(down)

    def toggle_latch(self, instrument: int) -> None:
        """Latch or release the mute of `instrument` (Shift+Q/W/E)."""
        if 0 <= instrument < self.n_instruments:
            self.latched[instrument] = not self.latched[instrument]

    def set_latch(self, instrument: int, on: bool) -> None:
        """Latch (True) or release (False) the mute of `instrument`."""
        if 0 <= instrument < self.n_instruments:
            self.latched[instrument] = bool(on)

    def toggle_mute_all(self) -> None:
        """Mute or unmute everything at once (R), on top of per-instrument mutes."""
        self.mute_all = not self.mute_all

    @property
    def mutes(self) -> tuple[bool, ...]:
        """Per instrument: silent now (held, latched, or all muted)."""
        return tuple(self.mute_all or h or l for h, l in zip(self.held, self.latched))

    def resize_instruments(self, n_instruments: int) -> None:
        """A model with another number of instruments: mutes reset to off."""
        if n_instruments != self.n_instruments:
            self.n_instruments = int(n_instruments)
            self.held = [False] * self.n_instruments
            self.latched = [False] * self.n_instruments
            self.trims = [0.0] * self.n_instruments

    # -- transport --------------------------------------------------------------------------------
    def set_tempo(self, bpm: float) -> None:
        """Tempo asked for, BPM, clamped to BPM_MIN..BPM_MAX."""
        self.bpm = _clamp(float(bpm), BPM_MIN, BPM_MAX)

    def tap(self, now: float) -> None:
        """A tap of tap tempo at time `now` (s): from the second tap on, the tempo is 60 over
        the median interval of the last four (a tap more than TAP_RESET_S after the last one
        starts counting again)."""
        if self.taps and not 0.0 < now - self.taps[-1] <= TAP_RESET_S:
            self.taps.clear()
        self.taps.append(float(now))
        if len(self.taps) >= 2:
            t = list(self.taps)
            self.set_tempo(60.0 / float(np.median(np.diff(t))))

    def set_swing(self, percent: float) -> None:
        """Swing in percent, clamped to SWING_MIN (straight) .. SWING_MAX."""
        self.swing = _clamp(float(percent), SWING_MIN, SWING_MAX)

    def set_glide(self, beats: float) -> None:
        """How many beats a recalled scene's head glides over, 0..GLIDE_MAX (0: it jumps)."""
        self.glide_beats = _clamp(float(beats), 0.0, GLIDE_MAX)

    def set_quantize(self, name: str) -> None:
        """Where a new pattern takes over: 'tick', 'beat' or 'bar' (anything else is ignored)."""
        if name in QUANTIZE:
            self.quantize = name

    def toggle_playing(self) -> None:
        """Start / stop (Space)."""
        self.playing = not self.playing


def map_unit(value: float, lo: float, hi: float) -> float:
    """A 0..1 knob value mapped linearly onto lo..hi (clamped)."""
    return lo + (hi - lo) * _clamp(float(value), 0.0, 1.0)

