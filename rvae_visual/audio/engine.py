"""AudioEngine: what the player uses. Kit, transport, mixer and the live stream behind a small
surface; every setter is one message or reference swap that the audio callback takes up at its
next block, and everything the callback reports (block records, played hits, underflows) is read
from its `Rings` (audio/records.py) without locks.

Two forms behind the one surface, chosen by `mode` or the RVAE_AUDIO_ENGINE variable
('process', the default, or 'thread'):
- `ProcessEngine` (audio/proc.py): the transport, mixer and stream run in a process of their
  own, so the callback never waits for the interpreter lock that the player's frame loop holds;
  controls go there down a pipe, the rings come back in shared memory.
- `ThreadEngine`: the same parts in this process (the callback shares the GIL with the caller).

No pygame, no torch. With no audio device (or no PortAudio) it runs silent on a wall clock:
`silent` is True, `status` says why in one line, and the transport, `heard_position` and
`drain_played` go on working.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from typing import Any, Callable, Sequence

import numpy as np

from ..pattern import PPQN, Pattern, samples_per_tick
from .kit import DEFAULT_KIT, Kit, load_kit
from .mixer import Mixer, mutes_tuple
from .records import C_ERRORS, C_UNDERFLOWS, BlockRecord, Rings, TransportView
from .sequencer import NO_LIMIT, CompiledPattern, check_bpm, compile_pattern
from .stream import (
    JACK_CLIENT_NAME, AudioUnavailable, LiveStream, SilentRunner, import_sounddevice,
    resolve_output_device, set_jack_client_name,
)
from .transport import QUANTIZE_TICKS, Transport, check_quantize, switch_begun, switch_tick_for

DEFAULT_INSTRUMENTS = ("kick", "snare", "hihat")
SILENT_RATE = 48000
# The callback is Python: it needs the GIL, and a busy main thread keeps it for up to the
# interpreter's switch interval (5 ms by default, two 128-frame periods). 0.5 ms halved the
# underflows measured with a busy main thread on the JACK dummy server.
GIL_SWITCH_INTERVAL = 0.0005
PUBLISHED_KEPT = 16  # published patterns remembered by serial (the audio plays one of the last two)
MODES = ("process", "thread")
DEFAULT_MODE = "process"
ENGINE_ENV = "RVAE_AUDIO_ENGINE"


def engine_mode(mode: str | None = None) -> str:
    """'process' or 'thread': `mode`, else $RVAE_AUDIO_ENGINE, else the default; ValueError
    for anything else."""
    m = mode or os.environ.get(ENGINE_ENV) or DEFAULT_MODE
    if m not in MODES:
        raise ValueError(f"audio engine must be one of {', '.join(MODES)}, got {m!r}")
    return m


def _stderr(line: str) -> None:
    print(f"rvae-visual: warning: {line}", file=sys.stderr)


class AudioEngine:
    """Drum sample playback of published Patterns, sample-accurate, on a sounddevice stream.

    `device`: output index or name substring (None: default). `blocksize` in frames (0: the
    host's choice). `latency`: seconds or 'low'/'high'. `quantize`: where a published Pattern
    takes over: 'tick', 'beat' or 'bar'. `sample_rate`: None for the device's own rate.
    `instruments`: the drum map's names, which choose the kit's samples. `warn` gets one-line
    messages (default: stderr). `mode`: 'process' or 'thread' (see the module docstring).

    Threads: any thread may call the setters (calls are serialised here); readers
    (heard_position, time_of, transport_view, health) may be called from any thread;
    drain_played from one consumer."""

    def __new__(cls, *args: Any, mode: str | None = None, **kw: Any) -> "AudioEngine":
        if cls is AudioEngine:
            if engine_mode(mode) == "process":
                from .proc import ProcessEngine
                cls = ProcessEngine
            else:
                cls = ThreadEngine
        return super().__new__(cls)

    def __init__(self, kit: str | None = None, bpm: float = 120.0, device: str | int | None = None,
                 blocksize: int = 0, latency: float | str | None = None, quantize: str = "tick",
                 sample_rate: int | None = None, threshold: float | tuple[float, ...] = 0.5,
                 instruments: Sequence[str] = DEFAULT_INSTRUMENTS,
                 warn: Callable[[str], None] | None = None,
                 jack_client_name: str = JACK_CLIENT_NAME, mode: str | None = None) -> None:
        self._kit_spec = kit or DEFAULT_KIT
        self._bpm = check_bpm(bpm)
        self.device = device
        self.blocksize = int(blocksize)
        self.latency = latency
        self._quantize = quantize
        check_quantize(quantize)
        self._requested_rate = sample_rate
        self._threshold = threshold if isinstance(threshold, tuple) else float(threshold)
        self._swing = 0.5
        self.instruments = tuple(instruments)
        self._mutes = mutes_tuple((), len(self.instruments))
        self._warn = warn or _stderr
        # $RVAE_JACK_CLIENT_NAME names the default client (tests sharing one JACK server)
        self.jack_client_name = (os.environ.get("RVAE_JACK_CLIENT_NAME") or jack_client_name
                                 if jack_client_name == JACK_CLIENT_NAME else jack_client_name)
        self.messages: list[str] = []
        self.silent = False
        self.status = "not started"
        self.sample_rate = int(sample_rate or SILENT_RATE)
        self._playing = True
        self._pattern: CompiledPattern | None = None
        self._published: dict[int, CompiledPattern] = {}  # serial -> the latest few published, for MIDI out
        self._rings: Rings | None = None
        self._latency_s = 0.0
        self._hits_read = 0
        self._kit: Kit | None = None
        self._kit_name: str | None = None
        self._lock = threading.RLock()  # serialises setters from several threads

    def _say(self, line: str) -> None:
        self.messages.append(line)
        self._warn(line)

    def __enter__(self) -> "AudioEngine":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ for the two forms

    def start(self) -> None:
        """Open the stream (or run silent, saying why in `status`) and start the transport.

        InputError if an explicitly named --audio-device matches no output device."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop the stream or the silent clock; release PortAudio (safe to call twice)."""
        raise NotImplementedError

    def _apply(self, what: str, value: Any) -> None:
        """Hand one control to the audio side ('pattern', 'run', 'bpm', 'threshold', 'mutes',
        'quantize', 'kit'); called with the lock held, after the mirror is updated."""
        raise NotImplementedError

    @property
    def audio_switch_interval(self) -> float:
        """The GIL switch interval (s) of the process the audio callback runs in."""
        raise NotImplementedError

    # ------------------------------------------------------------ performance controls

    def publish(self, pattern: Pattern) -> None:
        """Play `pattern` from the next tick, beat or bar (per quantize)."""
        cp = compile_pattern(pattern)
        with self._lock:
            self._pattern = cp
            recent = self._published
            recent[cp.serial] = cp
            if len(recent) > PUBLISHED_KEPT:
                del recent[min(recent)]
            self._apply("pattern", cp)

    @property
    def playing(self) -> bool:
        """Whether the transport runs (as requested)."""
        return self._playing

    def set_playing(self, on: bool) -> None:
        """Start from bar 1 or stop (ringing sounds decay); see `locate` to start elsewhere."""
        with self._lock:
            self._playing = bool(on)
            self._apply("playing", self._playing)

    def locate(self, tick: float, at: float | None = None) -> None:
        """Play from tick-time `tick` (ticks since bar 1, tick 0; starts if stopped, jumps if
        playing); with `at`, `tick` is the one to be heard at time.monotonic() `at`."""
        with self._lock:
            self._playing = True
            self._apply("locate", (float(tick), None if at is None else float(at)))

    @property
    def bpm(self) -> float:
        """Tempo in BPM."""
        return self._bpm

    def set_bpm(self, bpm: float) -> None:
        """Tempo 40-300 BPM (ValueError outside), from the next block, phase kept."""
        v = check_bpm(bpm)
        with self._lock:
            self._bpm = v
            self._apply("bpm", v)

    @property
    def threshold(self) -> float | tuple[float, ...]:
        """Onset probability a cell must exceed to play: one for all, or one per instrument."""
        return self._threshold

    def set_threshold(self, t: float | Sequence[float]) -> None:
        """Onset threshold 0..1 (or one per instrument), from the next block."""
        with self._lock:
            if isinstance(t, (int, float)):
                self._threshold = min(1.0, max(0.0, float(t)))
            else:
                self._threshold = tuple(min(1.0, max(0.0, float(v))) for v in t)
            self._apply("threshold", self._threshold)

    @property
    def mutes(self) -> tuple[bool, ...]:
        """Mute flag per instrument."""
        return self._mutes

    def set_mutes(self, mutes: Sequence[bool]) -> None:
        """Mute flags per instrument (padded with False), from the next block."""
        with self._lock:
            self._mutes = mutes_tuple(mutes, len(self.instruments))
            self._apply("mutes", self._mutes)

    @property
    def swing(self) -> float:
        """Swing 0.5 (straight) .. 0.75: where the second 16th of each 8th sounds (rvae_visual.swing)."""
        return self._swing

    def set_swing(self, swing: float) -> None:
        """New swing 0.5..0.75 (clamped), from the next 8th-note line."""
        with self._lock:
            self._swing = min(0.75, max(0.5, float(swing)))
            self._apply("swing", self._swing)

    @property
    def quantize(self) -> str:
        """'tick', 'beat' or 'bar'."""
        return self._quantize

    def set_quantize(self, name: str) -> None:
        """Where published Patterns take over: 'tick', 'beat' or 'bar'."""
        check_quantize(name)
        with self._lock:
            self._quantize = name
            self._apply("quantize", name)

    def set_kit(self, kit: str) -> None:
        """Bundled kit name or folder. Any thread: loaded on the caller's thread (tens of ms),
        then swapped in at the next block without stopping the music. InputError for an
        unknown kit (the old one keeps playing)."""
        new = load_kit(kit, self.instruments, self.sample_rate, self._say)
        with self._lock:
            self._kit_spec = kit
            self._kit = new
            self._kit_name = new.name
            self._apply("kit", new)

    @property
    def kit(self) -> Kit | None:
        """The kit playing (loaded here on first use in the process form); None before start."""
        if self._kit is None and self._rings is not None:
            self._kit = load_kit(self._kit_spec, self.instruments, self.sample_rate, lambda line: None)
        return self._kit

    @property
    def kit_name(self) -> str:
        """Name of the kit playing (or to play)."""
        return self._kit_name or str(self._kit_spec)

    # ------------------------------------------------------------ what is heard

    def heard_position(self) -> float:
        """Tick-time (ticks since bar 1, tick 0) of the audio heard now (stream time minus output
        latency): bar = int(p) // 96, tick = p % 96. 0.0 before the first block."""
        r = self._rings
        if r is None:
            return 0.0
        now = time.monotonic()
        row = r.block_before(now)
        if row is None:
            return 0.0
        return row.heard_ticks(now, self.sample_rate)

    def computed_position(self) -> float:
        """Tick-time the callback has computed up to (the end of its newest block); 0.0 before."""
        r = self._rings
        row = r.last_block() if r is not None else None
        return 0.0 if row is None else row.end_ticks()

    def time_of(self, sample: int) -> float:
        """When transport sample `sample` is heard, in time.monotonic() seconds (for MIDI out
        scheduled against the audio clock). Uses the newest block; NaN before the first."""
        r = self._rings
        row = r.last_block() if r is not None else None
        if row is None:
            return float("nan")
        return row.heard + (sample - row.pos) / self.sample_rate

    def transport_view(self, through_audio_graph: bool = False) -> TransportView:
        """The transport and its clock as of the newest block, for MIDI out. With
        `through_audio_graph` (JACK MIDI, which leaves with the audio block), times are when
        each block is computed rather than heard."""
        sr = int(self.sample_rate)
        r = self._rings
        row = r.last_block() if r is not None else None
        if row is None:
            return TransportView(False, None, 0.5, (), 120.0, 0.0, sr, 0.0, 0.0, 0)
        # tempo, origin and run as of the newest block (newer requests show in the next one)
        spt = 1.0 / row.ticks_per_sample
        bpm = self._bpm
        if abs(samples_per_tick(bpm, sr) - spt) > 1e-9 * spt:
            bpm = sr * 60.0 / (PPQN * spt)
        at = row.heard
        if through_audio_graph and not self.silent:
            at -= row.ahead if row.ahead > 0.0 else self.output_latency + row.frames / sr
        cur, cur_from, nxt, switch = self._patterns_as_played(row)
        return TransportView(row.playing and self._playing, None if cur is None else cur.pattern,
                             self._threshold, self._mutes, bpm, row.pos - row.tick * spt, sr,
                             float(row.pos), at, row.run, float(row.run_start), float(row.catch_up_from),
                             cur_from, None if nxt is None else nxt.pattern, switch,
                             row.swing, row.swing_next, row.swing_at, float(row.pos + row.frames))

    def _patterns_as_played(self, row: BlockRecord) -> tuple[CompiledPattern | None, float, CompiledPattern | None, float]:
        """(pattern playing, tick-time it plays from, pattern taking over, tick-time it does) as
        the audio thread has them after its newest block, so MIDI out switches where the audio
        does under every quantize setting. A pattern published since, not yet taken up, is
        expected at the next quantize step after that block (the rule the transport applies)."""
        latest = self._pattern
        cur = self._published.get(row.cur)
        if cur is None:  # before the first block, or a record from before this engine's publishes
            return latest, -NO_LIMIT, None, NO_LIMIT
        nxt = self._published.get(row.nxt) if row.nxt >= 0 else None
        cur_from, switch = row.cur_from, row.switch_tick if nxt is not None else NO_LIMIT
        if latest is not None and latest is not cur and latest is not nxt:
            x = row.tick + (row.frames - 0.5) * row.ticks_per_sample  # where the next block asks
            if not switch_begun(x, nxt, int(switch)):
                nxt, switch = latest, switch_tick_for(x, cur, latest, QUANTIZE_TICKS[self._quantize])
        return cur, cur_from, nxt, switch

    @property
    def rings(self) -> Rings | None:
        """The rings of the callback playing now (None before start); a new object once the
        audio process has been restarted or the silent clock has taken over (audio/proc.py)."""
        return self._rings

    def drain_played(self) -> list[tuple[int, int, float]]:
        """Hits played since the last call: (transport sample, instrument, velocity), in the
        order the callback played them (at most the ring's size behind)."""
        r = self._rings
        if r is None:
            return []
        hits, self._hits_read = r.drain_hits(self._hits_read)
        return hits

    # ------------------------------------------------------------ health

    @property
    def underflows(self) -> int:
        """Output underflows reported by the audio host since start."""
        return self._rings.count(C_UNDERFLOWS) if self._rings is not None else 0

    def underflows_last_minute(self, now: float | None = None) -> int:
        """Underflows reported in the 60 s before `now` (time.monotonic(), default now)."""
        r = self._rings
        t = time.monotonic() if now is None else now
        return r.underflows_since(t - 60.0) if r is not None else 0

    @property
    def last_underflow(self) -> float | None:
        """time.monotonic() of the newest underflow, or None."""
        return self._rings.last_underflow_time() if self._rings is not None else None

    def underflow_positions(self) -> list[int]:
        """Transport samples where the host reported an underflow (latest 4096; [] if silent)."""
        return self._rings.underflow_positions() if self._rings is not None else []

    @property
    def callback_errors(self) -> int:
        """Exceptions caught inside the callback (should stay 0)."""
        return self._rings.count(C_ERRORS) if self._rings is not None else 0

    @property
    def callback_load(self) -> tuple[float, float]:
        """(median, p99) callback run time as a fraction of the block period, recent blocks;
        (0, 0) when silent or before the first block."""
        if self._rings is None:
            return (0.0, 0.0)
        load = self._rings.recent_load()
        if len(load) == 0:
            return (0.0, 0.0)
        return (float(np.median(load)), float(np.percentile(load, 99)))

    @property
    def output_latency(self) -> float:
        """Output latency of the stream in seconds (one block when silent)."""
        return self._latency_s

    @property
    def mixer(self) -> Mixer | None:
        """The Mixer in this process (the thread form only; None in the process form)."""
        return None


class ThreadEngine(AudioEngine):
    """The engine in this process: the callback runs the Mixer here, sharing the GIL."""

    def __init__(self, *args: Any, rings: Rings | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._shared_rings = rings  # the audio process passes its shared memory
        self._transport: Transport | None = None
        self._mixer: Mixer | None = None
        self._out: LiveStream | SilentRunner | None = None
        self._sd: Any = None
        self._old_switch: float | None = None

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
        assert self._mixer is not None
        channels = max(1, min(2, int(info["max_output_channels"])))
        try:
            out = LiveStream(self._mixer, index, channels, self.blocksize, self.latency)
            out.start()
        except Exception as e:  # PortAudioError, ValueError (bad rate/latency), OSError
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            self._go_silent(f"cannot open audio device [{index}] {info['name']}: {msg}")
            return
        self._out = out
        self._latency_s = float(out.latency)
        self._old_switch = sys.getswitchinterval()
        sys.setswitchinterval(min(self._old_switch, GIL_SWITCH_INTERVAL))
        self.silent = False
        self.status = (f"audio: [{index}] {info['name']}, {self.sample_rate} Hz, "
                       f"block {out.blocksize or 'auto'}, latency {out.latency * 1000:.1f} ms, kit {self.kit_name}")

    def _go_silent(self, why: str) -> None:
        if self._mixer is None:  # else: built for a device that then failed to open; keep it
            self.sample_rate = int(self._requested_rate or SILENT_RATE)
            self._build()
        assert self._mixer is not None
        out = SilentRunner(self._mixer)
        self._out = out
        self._latency_s = float(out.latency)
        out.start()
        self.silent = True
        self.status = f"{why}; running silent (visuals and MIDI go on)"
        self.messages.append(self.status)  # the player prints `status` once

    def _build(self) -> None:
        kit = load_kit(self._kit_spec, self.instruments, self.sample_rate, self._say)
        self._kit, self._kit_name = kit, kit.name
        t = Transport(self.sample_rate, self._bpm, self._quantize, self._threshold, self._mutes)
        t.request_swing(self._swing)
        if self._pattern is not None:
            t.request_pattern(self._pattern)
        t.request_playing(self._playing)
        self._transport = t
        self._mixer = Mixer(kit, t, rings=self._shared_rings)
        self._rings = self._mixer.rings

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

    def _apply(self, what: str, value: Any) -> None:
        t = self._transport
        if what == "kit":
            if self._mixer is not None:
                self._mixer.set_kit(value)
            return
        if t is None:
            return  # taken up by _build
        if what == "pattern":
            t.request_pattern(value)
        elif what == "playing":
            t.request_playing(value)
        elif what == "locate":
            t.request_locate(value[0], value[1])
        elif what == "bpm":
            t.request_bpm(value)
        elif what == "threshold":
            t.threshold = value
        elif what == "swing":
            t.request_swing(value)
        elif what == "mutes":
            t.mutes = value
        elif what == "quantize":
            t.set_quantize(value)

    @property
    def audio_switch_interval(self) -> float:
        """The GIL switch interval (s) of this process, where the callback runs."""
        return sys.getswitchinterval()

    @property
    def mixer(self) -> Mixer | None:
        """The Mixer (tests and benchmarks read its counters)."""
        return self._mixer
