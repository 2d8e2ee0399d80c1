"""Drum kits: one sample per instrument, mono float32 at the stream's rate.

A kit is a bundled name (`bundled_kits()`: folders of the `rvae_visual.samples` package) or a
user folder with one file per instrument, named after it (`kick.wav`, `snare.flac`,
`hihat.ogg`, ...; any rate, mono or stereo, anything soundfile reads). A missing or unreadable
file costs one warning line and the built-in sample for that instrument is used instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import InputError

DEFAULT_KIT = "808"
BUNDLED_RATE = 48000
SUFFIXES = (".wav", ".flac", ".ogg", ".aif", ".aiff")
MAX_SAMPLE_SECONDS = 20.0  # a one-shot drum sample; longer files are cut (with a warning)

# other names a drum map or a user's files may use for the bundled instruments
ALIASES: dict[str, tuple[str, ...]] = {
    "kick": ("bd", "bass", "bassdrum", "bass_drum", "kick_drum"),
    "snare": ("sd", "snare_drum"),
    "hihat": ("hh", "hat", "hi-hat", "hi_hat", "chh", "closed_hihat", "closedhat", "closed_hat"),
    "openhat": ("oh", "ohh", "open_hihat", "open_hat", "open-hat", "openhihat"),
    "clap": ("cp", "handclap", "hand_clap"),
    "rim": ("rs", "rimshot", "rim_shot", "sidestick", "side_stick", "stick"),
    "tom": ("tom1", "tom_mid", "midtom", "mid_tom", "lowtom", "low_tom", "hightom", "high_tom", "tom2", "tom3"),
    "ride": ("rd", "ride_cymbal"),
    "crash": ("cr", "cymbal", "crash_cymbal"),
}
# instruments that cut each other off (a closed hat chokes an open one); kick is monophonic
CHOKE_GROUPS: dict[str, str] = {"hihat": "hat", "openhat": "hat", "kick": "kick"}

Warn = Callable[[str], None]


def canonical(name: str) -> str:
    """The bundled instrument name for `name` (itself when no alias matches)."""
    key = name.strip().lower()
    for canon, aliases in ALIASES.items():
        if key == canon or key in aliases:
            return canon
    return key


@dataclass(frozen=True, eq=False)
class Kit:
    """Samples for the instruments of a drum map, in its row order, at `sample_rate`."""

    name: str
    sample_rate: int
    instruments: tuple[str, ...]
    samples: tuple[np.ndarray, ...]  # float32, mono, read-only
    sources: tuple[str, ...]  # where each sample came from (file or "built-in NAME/INST")
    choke: tuple[int, ...]  # choke group per instrument, -1 for none

    def duration(self, inst: int) -> float:
        """Length of an instrument's sample in seconds."""
        return len(self.samples[inst]) / self.sample_rate


def bundled_kits() -> list[str]:
    """Names of the kits shipped in the package, sorted."""
    root = resources.files("rvae_visual.samples")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.joinpath("kick.wav").is_file())


MAX_CHANNELS = 16


def _read(path, max_seconds: float | None = None) -> tuple[np.ndarray, int, int]:
    """(samples as frames x channels float32, rate in Hz, frames in the whole file); only the
    first `max_seconds` are read, however long the file."""
    import soundfile as sf  # heavy-ish (cffi); only when a kit is loaded

    with resources.as_file(path) as p, sf.SoundFile(str(p)) as f:  # a plain Path passes through
        rate, total = int(f.samplerate), int(f.frames)
        if f.channels > MAX_CHANNELS:
            raise ValueError(f"{f.channels} channels (at most {MAX_CHANNELS})")
        keep = total if max_seconds is None else min(total, int(max_seconds * rate))
        data = f.read(keep, dtype="float32", always_2d=True)
    return data, rate, total


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling of a one-shot sample (FFT, zero-padded so nothing wraps)."""
    if rate_in == rate_out or len(x) == 0:
        return x.astype(np.float32)
    n_out = int(round(len(x) * rate_out / rate_in))
    pad = len(x) + max(64, len(x) // 8)
    spec = np.fft.rfft(x.astype(np.float64), pad)
    n_pad_out = int(round(pad * rate_out / rate_in))
    new = np.zeros(n_pad_out // 2 + 1, np.complex128)
    k = min(len(spec), len(new))
    new[:k] = spec[:k]
    if rate_out < rate_in and k > 8:  # gentle roll-off at the new Nyquist (no ringing)
        new[:k] *= np.cos(np.linspace(0, np.pi / 2, k)) ** 0.1
    y = np.fft.irfft(new, n_pad_out) * (n_pad_out / pad)
    return y[:n_out].astype(np.float32)


def _prepare(data: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    y = resample(mono, rate, sample_rate)
    y = np.ascontiguousarray(y, dtype=np.float32)
    y.setflags(write=False)
    return y


def _bundled_file(kit: str, inst: str):
    f = resources.files("rvae_visual.samples").joinpath(kit, f"{canonical(inst)}.wav")
    return f if f.is_file() else None


_cache: dict[tuple[str, str, int], np.ndarray] = {}


def _bundled_sample(kit: str, inst: str, sample_rate: int) -> np.ndarray | None:
    key = (kit, canonical(inst), sample_rate)
    if key not in _cache:
        f = _bundled_file(kit, inst)
        if f is None:
            return None
        data, rate, _ = _read(f)
        _cache[key] = _prepare(data, rate, sample_rate)
    return _cache[key]


def _find_user_file(folder: Path, inst: str) -> Path | None:
    names = {inst.lower(), canonical(inst)} | set(ALIASES.get(canonical(inst), ()))
    found = []
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() in SUFFIXES and p.stem.lower() in names and p.is_file():
            found.append(p)
    # the exact instrument name first, then the canonical name, then aliases
    found.sort(key=lambda p: (p.stem.lower() != inst.lower(), p.stem.lower() != canonical(inst), p.name))
    return found[0] if found else None


def _silence(sample_rate: int) -> np.ndarray:
    z = np.zeros(1, np.float32)
    z.setflags(write=False)
    return z


def load_kit(
    kit: str | Path | None,
    instruments: Sequence[str],
    sample_rate: int,
    warn: Warn | None = None,
) -> Kit:
    """Load a bundled kit by name or a user kit folder for `instruments`, resampled to
    `sample_rate` Hz. A missing or unreadable file: one line to `warn`, built-in sample used.
    InputError when `kit` is neither a bundled name nor a folder."""
    say = warn or (lambda line: None)
    spec = DEFAULT_KIT if kit is None else str(kit)
    bundled = bundled_kits()
    user_dir: Path | None = None
    if spec in bundled:
        name, base = spec, spec
    else:
        p = Path(spec).expanduser()
        if not p.is_dir():
            what = "is not a folder" if p.exists() else "no such kit folder"
            raise InputError(f"{spec}: {what} (bundled kits: {', '.join(bundled)})")
        user_dir, name, base = p, p.name, DEFAULT_KIT
    samples: list[np.ndarray] = []
    sources: list[str] = []
    for inst in instruments:
        smp = None
        if user_dir is not None:
            f = _find_user_file(user_dir, inst)
            if f is None:
                say(f"kit {user_dir}: no {inst} file ({inst}.wav/.flac/.ogg); using the built-in {base} {inst}")
            else:
                try:
                    data, rate, total = _read(f, MAX_SAMPLE_SECONDS)
                    if data.shape[0] == 0:
                        raise ValueError("no audio frames")
                    if total > data.shape[0]:
                        say(f"{f}: {total / rate:.0f} s long, longer than {MAX_SAMPLE_SECONDS:g} s; "
                            f"only its first {MAX_SAMPLE_SECONDS:g} s are used")
                    if not np.all(np.isfinite(data)):
                        raise ValueError("holds NaN or infinite samples")
                    smp = _prepare(data, rate, sample_rate)
                    sources.append(str(f))
                except Exception as e:  # soundfile raises RuntimeError/LibsndfileError/TypeError
                    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
                    say(f"{f}: cannot read as audio ({msg}); using the built-in {base} {inst}")
        if smp is None:
            smp = _bundled_sample(base, inst, sample_rate)
            if smp is None:
                say(f"kit {name}: no sample for instrument '{inst}' (built-in sounds: "
                    f"{', '.join(ALIASES)}); it stays silent")
                smp = _silence(sample_rate)
                sources.append("silence")
            else:
                sources.append(f"built-in {base}/{canonical(inst)}")
        samples.append(smp)
    groups: dict[str, int] = {}
    choke = tuple(groups.setdefault(CHOKE_GROUPS[canonical(i)], len(groups))
                  if canonical(i) in CHOKE_GROUPS else -1 for i in instruments)
    return Kit(name, int(sample_rate), tuple(instruments), tuple(samples), tuple(sources), choke)
