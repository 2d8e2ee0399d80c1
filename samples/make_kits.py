"""Synthesize the built-in drum kits: `python samples/make_kits.py [OUT_DIR]`.

numpy only and deterministic (fixed seeds): the WAVs in this folder were made by this script.
Every sound is mono 48 kHz 16-bit PCM, peak-normalised to -1 dBFS, with a short fade at its end.

Kits:
- `808`: analog-drum-machine style. Sine kick with a pitch sweep and long boom, two-tone snare
  with bright noise, hats from six detuned square waves (the TR-808 cymbal circuit's
  frequencies) through a high band-pass.
- `acoustic`: a studio kit. Kick with a beater click and a short tuned body, snare with
  membrane modes and rattling wires, hats from inharmonic metal partials plus noise.

Each kit has kick, snare, hihat (closed), openhat, clap, rim, tom, ride and crash, so a user
drum map with more instruments than kick/snare/hat still finds a sound.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SR = 48000
PEAK_DB = -1.0
INSTRUMENTS = ("kick", "snare", "hihat", "openhat", "clap", "rim", "tom", "ride", "crash")


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(round(seconds * SR))) / SR


def _exp(t: np.ndarray, tau: float) -> np.ndarray:
    """Exponential decay with time constant `tau` seconds."""
    return np.exp(-t / tau)


def _attack(t: np.ndarray, seconds: float) -> np.ndarray:
    """A raised-cosine attack ramp of `seconds` (avoids a click at the very start)."""
    a = np.ones_like(t)
    n = max(1, int(seconds * SR))
    a[:n] = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
    return a


def _band(x: np.ndarray, lo: float | None, hi: float | None, order: int = 2) -> np.ndarray:
    """Zero-phase band-pass in the frequency domain (Butterworth-shaped magnitude)."""
    n = len(x)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(x, size)
    f = np.fft.rfftfreq(size, 1.0 / SR)
    f[0] = 1e-3
    gain = np.ones_like(f)
    if lo:
        gain *= 1.0 / np.sqrt(1.0 + (lo / f) ** (2 * order))
    if hi:
        gain *= 1.0 / np.sqrt(1.0 + (f / hi) ** (2 * order))
    return np.fft.irfft(spec * gain, size)[:n]


def _peak_eq(x: np.ndarray, centre: float, q: float, gain_db: float) -> np.ndarray:
    """A bell boost/cut in the frequency domain."""
    n = len(x)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(x, size)
    f = np.fft.rfftfreq(size, 1.0 / SR)
    bw = centre / q
    g = 10 ** (gain_db / 20.0)
    shape = 1.0 / (1.0 + ((f - centre) / (bw / 2)) ** 2)
    return np.fft.irfft(spec * (1.0 + (g - 1.0) * shape), size)[:n]


def _sweep_sine(t: np.ndarray, f_start: float, f_end: float, tau: float, phase: float = 0.0) -> np.ndarray:
    """Sine whose frequency falls exponentially from f_start to f_end (time constant tau)."""
    freq = f_end + (f_start - f_end) * np.exp(-t / tau)
    return np.sin(phase + 2 * np.pi * np.cumsum(freq) / SR)


def _square(t: np.ndarray, f: float, phase: float) -> np.ndarray:
    return np.sign(np.sin(2 * np.pi * f * t + phase))


def _finish(x: np.ndarray, fade: float = 0.01) -> np.ndarray:
    """Remove DC, fade the tail out, normalise the peak to PEAK_DB."""
    x = x - np.mean(x) * np.linspace(1, 0, len(x)) ** 8  # nudge DC without touching the attack
    n = int(fade * SR)
    x[-n:] *= np.linspace(1.0, 0.0, n) ** 2
    return (x / np.max(np.abs(x)) * 10 ** (PEAK_DB / 20.0)).astype(np.float32)


def _sat(x: np.ndarray, drive: float) -> np.ndarray:
    """Soft saturation (tanh), level-compensated."""
    return np.tanh(drive * x) / np.tanh(drive)


# ---------------------------------------------------------------- 808-style


def kick_808(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.9)
    body = _sweep_sine(t, 165.0, 49.0, 0.028) * _exp(t, 0.30) * _attack(t, 0.0008)
    click = _band(rng.standard_normal(len(t)), 900.0, 6000.0) * _exp(t, 0.0025) * 0.35
    return _finish(_sat(body + click, 1.8))


def snare_808(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.4)
    tone = (_sweep_sine(t, 240.0, 185.0, 0.01) * _exp(t, 0.07) * 0.7
            + _sweep_sine(t, 400.0, 331.0, 0.01) * _exp(t, 0.045) * 0.45)
    noise = _band(rng.standard_normal(len(t)), 1800.0, 11000.0) * _exp(t, 0.085) * 0.55
    return _finish(_sat((tone + noise) * _attack(t, 0.0005), 1.4))


_HAT_808_FREQS = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)


def _metal_808(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    phases = rng.uniform(0, 2 * np.pi, len(_HAT_808_FREQS))
    x = sum(_square(t, f * 1.47, p) for f, p in zip(_HAT_808_FREQS, phases))
    return _band(x, 7000.0, 14000.0, order=3)


def hihat_808(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.16)
    env = _exp(t, 0.022) * _attack(t, 0.0003)
    noise = _band(rng.standard_normal(len(t)), 8000.0, None) * 0.25
    return _finish((_metal_808(t, rng) + noise) * env)


def openhat_808(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.7)
    env = (0.75 * _exp(t, 0.17) + 0.25 * _exp(t, 0.02)) * _attack(t, 0.0003)
    noise = _band(rng.standard_normal(len(t)), 8000.0, None) * 0.2
    return _finish((_metal_808(t, rng) + noise) * env)


def clap_808(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.45)
    noise = _band(rng.standard_normal(len(t)), 900.0, 2600.0, order=2)
    env = np.zeros_like(t)
    for start in (0.0, 0.011, 0.022):  # three quick claps, then the reverberant tail
        tt = np.clip(t - start, 0, None)
        env += np.where(t >= start, _exp(tt, 0.004), 0.0)
    env += np.where(t >= 0.031, 0.7 * _exp(np.clip(t - 0.031, 0, None), 0.075), 0.0)
    return _finish(noise * env * _attack(t, 0.0003))


def rim_808(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.12)
    x = (np.sin(2 * np.pi * 1690 * t) * 0.6 + np.sin(2 * np.pi * 455 * t)) * _exp(t, 0.012)
    click = _band(rng.standard_normal(len(t)), 2000.0, 9000.0) * _exp(t, 0.0015) * 0.4
    return _finish(_sat(x + click, 2.0))


def tom_808(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.7)
    body = _sweep_sine(t, 155.0, 110.0, 0.06) * _exp(t, 0.2) * _attack(t, 0.0008)
    click = _band(rng.standard_normal(len(t)), 500.0, 4000.0) * _exp(t, 0.003) * 0.2
    return _finish(_sat(body + click, 1.3))


def ride_808(rng: np.random.Generator) -> np.ndarray:
    t = _t(1.5)
    env = (0.6 * _exp(t, 0.45) + 0.4 * _exp(t, 0.05)) * _attack(t, 0.0003)
    metal = _band(_metal_808(t, rng), 4000.0, 12000.0) + _band(rng.standard_normal(len(t)), 5000, None) * 0.1
    return _finish(metal * env)


def crash_808(rng: np.random.Generator) -> np.ndarray:
    t = _t(2.0)
    env = _exp(t, 0.6) * _attack(t, 0.0005)
    noise = _band(rng.standard_normal(len(t)), 3000.0, 15000.0)
    return _finish((noise * 0.7 + _metal_808(t, rng) * 0.5) * env)


# ---------------------------------------------------------------- acoustic-like


def _modes(t: np.ndarray, freqs, amps, taus, rng: np.random.Generator) -> np.ndarray:
    ph = rng.uniform(0, 2 * np.pi, len(freqs))
    return sum(a * np.sin(2 * np.pi * f * t + p) * _exp(t, d) for f, a, d, p in zip(freqs, amps, taus, ph))


def kick_acoustic(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.6)
    body = _sweep_sine(t, 112.0, 58.0, 0.035) * _exp(t, 0.16)
    shell = _modes(t, (92.0, 151.0, 237.0), (0.25, 0.12, 0.06), (0.09, 0.05, 0.03), rng)
    beater = _band(rng.standard_normal(len(t)), 1500.0, 7000.0) * _exp(t, 0.004) * 0.6
    thump = _band(rng.standard_normal(len(t)), 60.0, 400.0) * _exp(t, 0.02) * 0.5
    x = (body + shell + thump) * _attack(t, 0.001) + beater
    return _finish(_peak_eq(_sat(x, 1.5), 3500.0, 1.2, 4.0))


def snare_acoustic(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.5)
    head = _modes(t, (182.0, 287.0, 338.0, 418.0, 512.0), (1.0, 0.45, 0.5, 0.3, 0.2),
                  (0.06, 0.04, 0.035, 0.03, 0.025), rng)
    head *= 0.55 * (1.0 + 0.15 * np.exp(-t / 0.004))
    wires = _band(rng.standard_normal(len(t)), 2200.0, 9500.0) * (
        0.85 * _exp(t, 0.11) * (1 - np.exp(-t / 0.002)))
    stick = _band(rng.standard_normal(len(t)), 1000.0, 12000.0) * _exp(t, 0.0025) * 0.7
    x = (head + wires) * _attack(t, 0.0004) + stick
    return _finish(_sat(x, 1.3))


def _metal(t: np.ndarray, rng: np.random.Generator, n: int = 40, lo: float = 3200.0,
           hi: float = 14500.0) -> np.ndarray:
    freqs = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    amps = rng.uniform(0.3, 1.0, n) / np.sqrt(n)
    return _modes(t, freqs, amps, [10.0] * n, rng)  # slow decay: the envelope comes from outside


def hihat_acoustic(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.18)
    env = (0.7 * _exp(t, 0.028) + 0.3 * _exp(t, 0.006)) * _attack(t, 0.0003)
    noise = _band(rng.standard_normal(len(t)), 6500.0, 16000.0) * 0.6
    chick = _band(rng.standard_normal(len(t)), 2500.0, 6000.0) * _exp(t, 0.002) * 0.4
    return _finish((_band(_metal(t, rng), 5000.0, None) + noise) * env + chick)


def openhat_acoustic(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.9)
    env = (0.8 * _exp(t, 0.25) + 0.2 * _exp(t, 0.01)) * _attack(t, 0.0004)
    wash = _band(rng.standard_normal(len(t)), 5000.0, 15000.0) * 0.5
    return _finish((_band(_metal(t, rng), 4000.0, None) + wash) * env)


def clap_acoustic(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.4)
    noise = _band(rng.standard_normal(len(t)), 1100.0, 5000.0)
    env = np.zeros_like(t)
    for start, a in ((0.0, 0.8), (0.008, 1.0), (0.019, 0.9), (0.027, 0.6)):
        env += np.where(t >= start, a * _exp(np.clip(t - start, 0, None), 0.005), 0.0)
    env += np.where(t >= 0.03, 0.45 * _exp(np.clip(t - 0.03, 0, None), 0.09), 0.0)
    return _finish(noise * env)


def rim_acoustic(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.15)
    wood = _modes(t, (510.0, 1190.0, 1830.0), (1.0, 0.6, 0.3), (0.02, 0.012, 0.008), rng)
    click = _band(rng.standard_normal(len(t)), 2500.0, 10000.0) * _exp(t, 0.0012) * 0.8
    return _finish(wood * _attack(t, 0.0002) + click)


def tom_acoustic(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.8)
    body = _sweep_sine(t, 128.0, 104.0, 0.05) * _exp(t, 0.22)
    modes = _modes(t, (171.0, 236.0), (0.3, 0.15), (0.12, 0.07), rng)
    stick = _band(rng.standard_normal(len(t)), 1200.0, 8000.0) * _exp(t, 0.003) * 0.45
    return _finish(_sat((body + modes) * _attack(t, 0.0008) + stick, 1.3))


def ride_acoustic(rng: np.random.Generator) -> np.ndarray:
    t = _t(1.8)
    env = (0.55 * _exp(t, 0.7) + 0.45 * _exp(t, 0.04)) * _attack(t, 0.0003)
    ping = _modes(t, (2950.0, 4320.0, 5310.0), (0.4, 0.25, 0.15), (0.5, 0.4, 0.3), rng)
    wash = _band(_metal(t, rng, n=60, lo=2500.0, hi=13000.0), 3000.0, None)
    return _finish((wash * 0.8 + ping) * env)


def crash_acoustic(rng: np.random.Generator) -> np.ndarray:
    t = _t(2.0)
    env = _exp(t, 0.7) * (1 - np.exp(-t / 0.004))
    noise = _band(rng.standard_normal(len(t)), 2500.0, 14000.0)
    return _finish((noise * 0.6 + _metal(t, rng, n=80, lo=2000.0, hi=15000.0) * 0.6) * env)


KITS = {
    "808": {"kick": kick_808, "snare": snare_808, "hihat": hihat_808, "openhat": openhat_808,
            "clap": clap_808, "rim": rim_808, "tom": tom_808, "ride": ride_808, "crash": crash_808},
    "acoustic": {"kick": kick_acoustic, "snare": snare_acoustic, "hihat": hihat_acoustic,
                 "openhat": openhat_acoustic, "clap": clap_acoustic, "rim": rim_acoustic,
                 "tom": tom_acoustic, "ride": ride_acoustic, "crash": crash_acoustic},
}


def make_all(out_dir: Path) -> list[Path]:
    """Write every kit's WAVs under out_dir/<kit>/; returns the paths written."""
    import soundfile as sf  # only the writer needs it; synthesis is numpy

    written = []
    for k, (kit, sounds) in enumerate(sorted(KITS.items())):
        folder = out_dir / kit
        folder.mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(INSTRUMENTS):
            rng = np.random.default_rng(1000 * (k + 1) + i)
            x = sounds[name](rng)
            path = folder / f"{name}.wav"
            sf.write(str(path), x, SR, subtype="PCM_16", format="WAV")
            written.append(path)
    return written


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    for p in make_all(out):
        print(p)
