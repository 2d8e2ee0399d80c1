"""Read the audio engine's transport and clock as a `TransportView` for MIDI out.

The audio callback records, per block, the transport sample of the block's start and the
`time.monotonic()` instant that sample is heard (PortAudio's DAC time); those readings are the
audio clock MIDI is scheduled against. Only attribute reads: nothing here touches the stream.

Which instant a note should leave depends on the MIDI path. A MIDI port that delivers at once
(ALSA to a synth) wants the note when the sound is heard. JACK MIDI runs through the same
graph as the audio, with the same buffering, so a note belongs in the JACK period that carries
its sample: it leaves when the audio block is computed, one output latency before it is
heard (`through_audio_graph=True`).
"""

from __future__ import annotations

from typing import Any, Callable

from ..pattern import PPQN, samples_per_tick
from .notes_out import TransportView


def engine_view(engine: Any, through_audio_graph: bool = False) -> Callable[[], TransportView]:
    """A `TransportView` source for an `AudioEngine` (running live or silent); with
    `through_audio_graph`, times are when each block is computed rather than heard."""
    def view() -> TransportView:
        m = engine.mixer
        row = m.last_block() if m is not None else None
        if row is None:
            return TransportView(False, None, 0.5, (), 120.0, 0.0, engine.sample_rate, 0.0, 0.0, 0)
        t = m.transport
        # tempo, origin and run as of the newest block (the audio thread may have taken up
        # newer requests since: those show in the next block's record)
        spt = 1.0 / float(row[3])
        sr = int(t.sample_rate)
        bpm = float(t.bpm)
        if abs(samples_per_tick(bpm, sr) - spt) > 1e-9 * spt:
            bpm = sr * 60.0 / (PPQN * spt)
        origin = float(row[1]) - float(row[2]) * spt
        run = int(row[7])
        playing = bool(row[4]) and bool(t.req_playing)
        pos = float(row[1])
        cp = t.req_pattern
        at = float(row[5])
        if through_audio_graph and not engine.silent:
            at -= compute_to_heard(engine, float(row[6]))
        return TransportView(playing, None if cp is None else cp.pattern, float(t.threshold),
                             tuple(t.mutes), bpm, origin, sr,
                             pos, at, run, float(row[8]), float(row[9]))

    return view


def compute_to_heard(engine: Any, block_frames: float) -> float:
    """Seconds from computing an audio block to hearing it.

    The engine's `block_ahead` (PortAudio's DAC time minus the callback's current time) when it
    has one; otherwise its nominal output latency plus one block, which is what PortAudio's
    JACK host shows (it reports one period less than its DAC times say; measured here: 2.67 ms
    reported, 5.33 ms between callback and DAC at 128 frames)."""
    ahead = getattr(engine, "block_ahead", None)
    if ahead is not None:
        return float(ahead)
    return float(engine.output_latency) + block_frames / float(engine.sample_rate)
