"""Offline render: Patterns (one per bar, looping) through the same Mixer as the live stream.

Deterministic: the same Patterns, tempo, kit and options give the same samples, and the WAV
writer adds no time stamps, so the same arguments give the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..pattern import TICKS_PER_BAR, Pattern, samples_per_tick
from .kit import Kit
from .mixer import Mixer, mutes_tuple
from .sequencer import check_bpm, compile_pattern
from .transport import Transport

OFFLINE_BLOCK = 512


def bar_samples(bpm: float, sample_rate: int) -> float:
    """Samples in one bar (may be fractional)."""
    return TICKS_PER_BAR * samples_per_tick(bpm, sample_rate)


def render_blocks(
    patterns: Sequence[Pattern],
    bars: int,
    bpm: float,
    kit: Kit,
    threshold: float = 0.5,
    mutes: Sequence[bool] = (),
    loop: bool = True,
    block: int = OFFLINE_BLOCK,
    frames: int | None = None,
    swing: float = 0.5,
) -> Iterator[np.ndarray]:
    """`render_bars` as a stream of mono float32 blocks (each at most `block` samples, a view
    valid until the next one is asked for): memory stays one block however long the render.
    `swing` 0.5 (straight) .. 0.75 as live (rvae_visual.swing)."""
    if not patterns:
        raise ValueError("render needs at least one Pattern")
    bpm = check_bpm(bpm)
    sr = kit.sample_rate
    length = int(round(bars * bar_samples(bpm, sr))) if frames is None else int(frames)
    passes = 2 if loop else 1
    transport = Transport(sr, bpm, "tick", threshold, mutes_tuple(mutes, patterns[0].n_instruments))
    transport.request_swing(swing)
    mixer = Mixer(kit, transport, max_frames=block)
    cps = [compile_pattern(p) for p in patterns]
    transport.request_pattern(cps[0])
    transport.request_playing(True)
    total = passes * length
    buf = np.zeros((block, 1), np.float32)
    next_bar = 1
    n_bars_total = passes * bars
    done = 0
    while done < total:
        if len(cps) > 1 and transport.nxt is None and next_bar < n_bars_total + 1:
            transport.switch_at(cps[next_bar % bars % len(cps)], next_bar * TICKS_PER_BAR)
            next_bar += 1
        # the loop's second pass is its steady state: it starts with the first pass's tails
        n = min(block, total - done, length - done) if loop and done < length else min(block, total - done)
        buf[:n] = 0.0
        mixer.process(buf[:n], n)
        if not loop or done >= length:
            yield buf[:n, 0]
        done += n


def render_bars(
    patterns: Sequence[Pattern],
    bars: int,
    bpm: float,
    kit: Kit,
    threshold: float = 0.5,
    mutes: Sequence[bool] = (),
    loop: bool = True,
    block: int = OFFLINE_BLOCK,
    frames: int | None = None,
    swing: float = 0.5,
) -> np.ndarray:
    """Render `bars` bars, bar k playing patterns[k % len(patterns)], as mono float32.

    loop=True: the steady state of the loop — tails of the last bar ring into the first and
    early hits of the first bar (negative offsets) sound at the end, so the file tiles
    seamlessly, as the MIDI export writes it. loop=False: from silence, exactly what the live
    stream plays when the transport starts (hits before sample 0 are lost).
    Length: round(bars * bar samples), or `frames` if given. `swing` 0.5..0.75 as live."""
    parts = [b.copy() for b in render_blocks(patterns, bars, bpm, kit, threshold, mutes, loop, block, frames, swing)]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> None:
    """Write mono float audio as WAV (no time stamps: same audio, same bytes)."""
    import soundfile as sf

    sf.write(str(path), audio, sample_rate, subtype=subtype, format="WAV")


WAV_MAX_BYTES = 0xFFFFFFFF - 1024
"""A RIFF WAV file holds at most 4 GiB (its sizes are 32-bit), less room for its header."""

BYTES_PER_SAMPLE = {"PCM_16": 2, "PCM_24": 3, "FLOAT": 4}


def wav_bytes(frames: int, subtype: str = "PCM_16") -> int:
    """Size in bytes of a mono WAV holding `frames` samples (header included)."""
    return 44 + frames * BYTES_PER_SAMPLE[subtype]


def write_wav_blocks(path: str | Path, blocks: Iterable[np.ndarray], sample_rate: int,
                     subtype: str = "PCM_16") -> int:
    """Write mono float blocks to a WAV file as they come (memory: one block); returns the
    frames written. The same blocks give the same bytes."""
    import soundfile as sf

    frames = 0
    with sf.SoundFile(str(path), "w", sample_rate, 1, subtype, format="WAV") as f:
        for b in blocks:
            f.write(b)
            frames += len(b)
    return frames
