"""The audio engine's transport and clock as a `TransportView` source for MIDI out.

The audio callback records, per block, the transport sample of the block's start and the
`time.monotonic()` instant that sample is heard (PortAudio's DAC time); those readings are the
audio clock MIDI is scheduled against, and the engine turns the newest into a `TransportView`
(`AudioEngine.transport_view`). Nothing here reaches deeper into the engine.

Which instant a note should leave depends on the MIDI path. A MIDI port that delivers at once
(ALSA to a synth) wants the note when the sound is heard. JACK MIDI runs through the same
graph as the audio, with the same buffering, so a note belongs in the JACK period that carries
its sample: it leaves when the audio block is computed, before it is heard
(`through_audio_graph=True`).
"""

from __future__ import annotations

from typing import Callable, Protocol

from ..audio.records import TransportView


class ViewSource(Protocol):
    """What MIDI out needs of rvae_visual.audio.engine.AudioEngine."""

    def transport_view(self, through_audio_graph: bool = False) -> TransportView: ...


def engine_view(engine: ViewSource, through_audio_graph: bool = False) -> Callable[[], TransportView]:
    """A `TransportView` source for an `AudioEngine` (running live or silent); with
    `through_audio_graph`, times are when each block is computed rather than heard."""
    def view() -> TransportView:
        return engine.transport_view(through_audio_graph)

    return view
