"""AudioEngine: what the player uses. Kit, transport, mixer and the live stream behind a small
surface that the main thread calls; every setter is one reference or number swap that the audio
callback takes up at its next block.

No pygame, no torch. With no audio device (or no PortAudio) it runs silent on a wall clock:
`silent` is True, `status` says why in one line, and the transport, `heard_position` and
`drain_played` go on working.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Callable, Sequence

import numpy as np

from ..pattern import Pattern
from .kit import DEFAULT_KIT, Kit, load_kit
from .mixer import Mixer, heard_ticks, mutes_tuple
from .sequencer import check_bpm, compile_pattern
from .stream import (
    JACK_CLIENT_NAME, AudioUnavailable, LiveStream, SilentRunner, import_sounddevice,
    resolve_output_device, set_jack_client_name,
)
from .transport import Transport, check_quantize

DEFAULT_INSTRUMENTS = ("kick", "snare", "hihat")
SILENT_RATE = 48000
# The callback is Python: it needs the GIL, and a busy main thread keeps it for up to the
# interpreter's switch interval (5 ms by default, two 128-frame periods). 0.5 ms halved the
# underflows measured with a busy main thread on the JACK dummy server.
GIL_SWITCH_INTERVAL = 0.0005


def _stderr(line: str) -> None:
    print(f"rvae-visual: warning: {line}", file=sys.stderr)


class AudioEngine:
    """Drum sample playback of published Patterns, sample-accurate, on a sounddevice stream.

    `device`: output index or name substring (None: default). `blocksize` in frames (0: the
    host's choice). `latency`: seconds or 'low'/'high'. `quantize`: where a published Pattern
    takes over: 'tick', 'beat' or 'bar'. `sample_rate`: None for the device's own rate.
    `instruments`: the drum map's names, which choose the kit's samples. `warn` gets one-line
    messages (default: stderr)."""

    def __init__(self, kit: str | None = None, bpm: float = 120.0, device: str | int | None = None,
                 blocksize: int = 0, latency: float | str | None = None, quantize: str = "tick",
                 sample_rate: int | None = None, threshold: float = 0.5,
                 instruments: Sequence[str] = DEFAULT_INSTRUMENTS,
                 warn: Callable[[str], None] | None = None,
                 jack_client_name: str = JACK_CLIENT_NAME) -> None:
        self._kit_spec = kit or DEFAULT_KIT
        self._bpm = check_bpm(bpm)
        self.device = device
        self.blocksize = int(blocksize)
        self.latency = latency
        self._quantize = quantize
        check_quantize(quantize)
        self._requested_rate = sample_rate
        self._threshold = float(threshold)
        self.instruments = tuple(instruments)
        self._mutes = mutes_tuple((), len(self.instruments))
        self._warn = warn or _stderr
        self.jack_client_name = jack_client_name
        self.messages: list[str] = []
        self.silent = False
        self.status = "not started"
        self.sample_rate = int(sample_rate or SILENT_RATE)
        self._playing = True
        self._pattern = None
        self._transport: Transport | None = None
        self._mixer: Mixer | None = None
        self._out: LiveStream | SilentRunner | None = None
        self._hits_read = 0
        self._sd = None
        self._old_switch: float | None = None
        self.kit: Kit | None = None

    # ------------------------------------------------------------ lifecycle

    def _say(self, line: str) -> None:
        self.messages.append(line)
        self._warn(line)

    def start(self) -> None:
        """Open the stream (or run silent, saying why in `status`) and start the transport.

        InputError if an explicitly named --audio-device matches no output device."""
        if self._out is not None:
            return
        # A full garbage collection walks every tracked object (12-18 ms for a player process
        # here) holding the GIL, and may even run in the audio thread. Objects alive now (the
        # modules, the model, the grid) are moved out of its reach, so later passes are short.
        gc.collect()
        gc.freeze()
        info = None
        try:
            sd = import_sounddevice()
            self._sd = sd
            set_jack_client_name(sd, self.jack_client_name)
            index, info = resolve_output_device(sd, self.device)
            self.sample_rate = int(self._requested_rate or info["default_samplerate"])
        except AudioUnavailable as e:
            self._go_silent(str(e))
            return
        self._build()
        channels = max(1, min(2, int(info["max_output_channels"])))
        try:
            out = LiveStream(self._mixer, index, channels, self.blocksize, self.latency)
            out.start()
        except Exception as e:  # PortAudioError, ValueError (bad rate/latency), OSError
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            self._go_silent(f"cannot open audio device [{index}] {info['name']}: {msg}")
            return
        self._out = out
        self._old_switch = sys.getswitchinterval()
        sys.setswitchinterval(min(self._old_switch, GIL_SWITCH_INTERVAL))
        self.silent = False
        self.status = (f"audio: [{index}] {info['name']}, {self.sample_rate} Hz, "
                       f"block {out.blocksize or 'auto'}, latency {out.latency * 1000:.1f} ms, kit {self.kit_name}")

    def _go_silent(self, why: str) -> None:
        if self._mixer is None:  # else: built for a device that then failed to open; keep it
            self.sample_rate = int(self._requested_rate or SILENT_RATE)
            self._build()
        self._out = SilentRunner(self._mixer)
        self._out.start()
        self.silent = True
        self.status = f"{why}; running silent (visuals and MIDI go on)"
        self.messages.append(self.status)  # the player prints `status` once

    def _build(self) -> None:
        self.kit = load_kit(self._kit_spec, self.instruments, self.sample_rate, self._say)
        t = Transport(self.sample_rate, self._bpm, self._quantize, self._threshold, self._mutes)
        if self._pattern is not None:
            t.request_pattern(self._pattern)
        t.request_playing(self._playing)
        self._transport = t
        self._mixer = Mixer(self.kit, t)

    def close(self) -> None:
        """Stop the stream or the silent clock; release PortAudio (safe to call twice)."""
        out, self._out = self._out, None
        if out is not None:
            out.close()
        if self._old_switch is not None:
            sys.setswitchinterval(self._old_switch)
            self._old_switch = None
        sd, self._sd = self._sd, None
        if sd is not None and getattr(sd, "_initialized", 0) > 0:
            try:
                sd._terminate()  # so this process may outlive the audio server (docs/architecture.md)
            except Exception:
                pass

    def __enter__(self) -> "AudioEngine":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ performance controls

    def publish(self, pattern: Pattern) -> None:
        """Play `pattern` from the next tick, beat or bar (per quantize): one reference swap."""
        cp = compile_pattern(pattern)
        self._pattern = cp
        if self._transport is not None:
            self._transport.request_pattern(cp)

    @property
    def playing(self) -> bool:
        """Whether the transport runs (as requested)."""
        return self._playing

    def set_playing(self, on: bool) -> None:
        """Start from bar 1 or stop (ringing sounds decay); see `locate` to start elsewhere."""
        self._playing = bool(on)
        if self._transport is not None:
            self._transport.request_playing(self._playing)

    def locate(self, tick: float, at: float | None = None) -> None:
        """Play from tick-time `tick` (ticks since bar 1, tick 0; starts if stopped, jumps if
        playing); with `at`, `tick` is the one to be heard at time.monotonic() `at`."""
        self._playing = True
        if self._transport is not None:
            self._transport.request_locate(tick, at)

    @property
    def bpm(self) -> float:
        """Tempo in BPM."""
        return self._bpm

    def set_bpm(self, bpm: float) -> None:
        """Tempo 40-300 BPM (ValueError outside), from the next block, phase kept."""
        self._bpm = check_bpm(bpm)
        if self._transport is not None:
            self._transport.request_bpm(self._bpm)

    @property
    def threshold(self) -> float:
        """Onset probability a cell must exceed to play."""
        return self._threshold

    def set_threshold(self, t: float) -> None:
        """Onset threshold 0..1, from the next block."""
        self._threshold = min(1.0, max(0.0, float(t)))
        if self._transport is not None:
            self._transport.threshold = self._threshold

    @property
    def mutes(self) -> tuple[bool, ...]:
        """Mute flag per instrument."""
        return self._mutes

    def set_mutes(self, mutes: Sequence[bool]) -> None:
        """Mute flags per instrument (padded with False), from the next block."""
        self._mutes = mutes_tuple(mutes, len(self.instruments))
        if self._transport is not None:
            self._transport.mutes = self._mutes

    @property
    def quantize(self) -> str:
        """'tick', 'beat' or 'bar'."""
        return self._quantize

    def set_quantize(self, name: str) -> None:
        """Where published Patterns take over: 'tick', 'beat' or 'bar'."""
        check_quantize(name)
        self._quantize = name
        if self._transport is not None:
            self._transport.set_quantize(name)

    def set_kit(self, kit: str) -> None:
        """Bundled kit name or folder; loaded here (main thread), swapped in at the next block
        without stopping the music. InputError for an unknown kit (the old one keeps playing)."""
        new = load_kit(kit, self.instruments, self.sample_rate, self._say)
        self._kit_spec = kit
        self.kit = new
        if self._mixer is not None:
            self._mixer.set_kit(new)

    @property
    def kit_name(self) -> str:
        """Name of the kit playing (or to play)."""
        return self.kit.name if self.kit is not None else str(self._kit_spec)

    # ------------------------------------------------------------ what is heard

    def heard_position(self) -> float:
        """Tick-time (ticks since bar 1, tick 0) of the audio heard now (stream time minus output
        latency): bar = int(p) // 96, tick = p % 96. 0.0 before the first block."""
        m = self._mixer
        if m is None:
            return 0.0
        now = time.monotonic()
        row = m.block_before(now)
        if row is None:
            return 0.0
        return heard_ticks(row, now, self.sample_rate)

    def time_of(self, sample: int) -> float:
        """When transport sample `sample` is heard, in time.monotonic() seconds (for MIDI out
        scheduled against the audio clock). Uses the newest block; NaN before the first."""
        m = self._mixer
        row = m.last_block() if m is not None else None
        if row is None:
            return float("nan")
        return float(row[5] + (sample - row[1]) / self.sample_rate)

    def drain_played(self) -> list[tuple[int, int, float]]:
        """Hits played since the last call: (transport sample, instrument, velocity), in the
        order the callback played them (at most the ring's size behind)."""
        m = self._mixer
        if m is None:
            return []
        hits, self._hits_read = m.drain_hits(self._hits_read)
        return hits

    # ------------------------------------------------------------ health

    @property
    def underflows(self) -> int:
        """Output underflows reported by the audio host since start."""
        return self._out.underflows if self._out is not None else 0

    def underflow_positions(self) -> list[int]:
        """Transport samples where the host reported an underflow (latest 4096; [] if silent)."""
        out = self._out
        return out.callback.underflow_positions() if isinstance(out, LiveStream) else []

    @property
    def callback_errors(self) -> int:
        """Exceptions caught inside the callback (should stay 0)."""
        return self._out.errors if self._out is not None else 0

    @property
    def callback_load(self) -> tuple[float, float]:
        """(median, p99) callback run time as a fraction of the block period, recent blocks;
        (0, 0) when silent or before the first block."""
        if self._out is None:
            return (0.0, 0.0)
        load = self._out.recent_load()
        if len(load) == 0:
            return (0.0, 0.0)
        return (float(np.median(load)), float(np.percentile(load, 99)))

    @property
    def output_latency(self) -> float:
        """Output latency of the stream in seconds (one block when silent)."""
        return float(self._out.latency) if self._out is not None else 0.0

    @property
    def mixer(self) -> Mixer | None:
        """The Mixer (tests and benchmarks read its counters)."""
        return self._mixer
