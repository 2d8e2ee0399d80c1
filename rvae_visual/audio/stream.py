"""The live output: a sounddevice OutputStream whose callback runs the Mixer, or, when there is
no audio device, a wall-clock thread that runs the same Mixer into nothing (so the transport,
the visuals and MIDI out keep going).

sounddevice is imported here only, lazily: a missing PortAudio library is an OSError at import,
which becomes one status line and a silent run.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from typing import Any

import numpy as np

from ..errors import InputError
from .mixer import Mixer
from .records import C_ERRORS, C_LOADS, C_UNDERFLOWS, LOAD_RING, UNDERFLOW_RING

JACK_CLIENT_NAME = "rvae-visual"
# Benchmarks only: with this variable set to 1 the stream's callback writes silence and only
# counts underflows, the floor our callback is compared with under the same player load.
EMPTY_CALLBACK_ENV = "RVAE_BENCH_EMPTY_CALLBACK"


class AudioUnavailable(Exception):
    """No way to make sound here; the message is one line saying why."""


_jack_name_buf: Any = None  # PortAudio keeps the pointer: the buffer must outlive the library


def import_sounddevice():
    """The sounddevice module; AudioUnavailable (one line) when PortAudio is missing."""
    try:
        import sounddevice as sd
    except OSError as e:  # "PortAudio library not found"
        raise AudioUnavailable(f"no audio: {e} (install PortAudio, e.g. Debian's libportaudio2)") from None
    except ImportError:
        raise AudioUnavailable("no audio: the sounddevice package is not installed") from None
    return sd


def set_jack_client_name(sd, name: str) -> None:
    """Name our JACK client (ports appear as NAME:out_0, ...). Re-initialises PortAudio, so
    call it only with no stream open. Without PortAudio's JACK support it does nothing."""
    global _jack_name_buf
    try:
        lib = ctypes.CDLL(sd._libname)
        setter = lib.PaJack_SetClientName
    except (OSError, AttributeError):
        if sd._initialized == 0:
            sd._initialize()
        return
    buf = ctypes.create_string_buffer(name.encode()[:60])
    while sd._initialized > 0:  # the name is read when PortAudio initialises
        sd._terminate()
    setter(buf)
    _jack_name_buf = buf
    sd._initialize()


def device_list(sd) -> list[str]:
    """Output devices as '[index] name (host API, N out, rate Hz)' lines."""
    lines = []
    apis = sd.query_hostapis()
    for i, d in enumerate(sd.query_devices()):
        if d["max_output_channels"] > 0:
            lines.append(f"[{i}] {d['name']} ({apis[d['hostapi']]['name']}, "
                         f"{d['max_output_channels']} out, {d['default_samplerate']:g} Hz)")
    return lines


def resolve_output_device(sd, device: str | int | None) -> tuple[int, dict]:
    """(index, info) of the output device asked for: an index, or a case-insensitive name
    substring (an exact name wins); None means the default output.

    InputError when a named device does not match (the message lists the devices);
    AudioUnavailable when there is no output device at all."""
    outs = device_list(sd)
    if not outs:
        raise AudioUnavailable("no audio output device found")
    if device is None or device == "":
        try:
            info = sd.query_devices(None, "output")
        except (ValueError, sd.PortAudioError):
            # no default: take the first output device
            idx = int(outs[0][1:outs[0].index("]")])
            return idx, sd.query_devices(idx)
        return int(info["index"]), info
    spec: str | int = device
    if isinstance(spec, str) and spec.strip().isdigit():
        spec = int(spec)
    try:
        info = sd.query_devices(spec, "output")
    except (ValueError, sd.PortAudioError) as e:
        raise InputError(
            f"--audio-device {device}: {str(e).splitlines()[0]} (output devices: {'; '.join(outs)})"
        ) from None
    return int(info["index"]), info


class Callback:
    """The stream callback: runs the mixer, counts underflows and errors, times itself.

    Audio thread: no arrays or containers allocated, no locks, no logging."""

    def __init__(self, mixer: Mixer, latency: float = 0.0) -> None:
        self.mixer = mixer
        self.sample_rate = mixer.transport.sample_rate
        self.latency = latency  # used when the host gives no DAC time
        self.underflows = 0
        self.errors = 0  # exceptions caught (the stream must never die of one)
        self.last_error = ""
        self.rings = rings = mixer.rings  # counters and rings others read (audio/records.py)
        self._counts = rings.counts
        self.load = rings.load  # run time / block period
        self.load_count = 0
        self.underflow_at = rings.underflow_at  # transport sample of each
        self.underflow_time = rings.underflow_time  # time.monotonic() of each
        self._perf = time.perf_counter
        self._mono = time.monotonic

    def __call__(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        t0 = self._perf()
        mono = self._mono()
        if status.output_underflow:
            i = self.underflows % UNDERFLOW_RING
            self.underflow_at[i] = self.mixer.transport.pos
            self.underflow_time[i] = mono
            self.underflows += 1
            self._counts[C_UNDERFLOWS] = self.underflows
        try:
            dac = time_info.outputBufferDacTime
            now = time_info.currentTime
            known = dac > 0.0 and now > 0.0
            ahead = dac - now if known else self.latency
            self.mixer.process(outdata, frames, mono + ahead, ahead if known else 0.0)
        except Exception as e:  # an exception would silently stop the stream: keep playing
            outdata.fill(0.0)
            self.errors += 1
            self._counts[C_ERRORS] = self.errors
            self.last_error = type(e).__name__
        i = self.load_count % LOAD_RING
        self.load[i] = (self._perf() - t0) * self.sample_rate / frames
        self.load_count += 1
        self._counts[C_LOADS] = self.load_count

    def recent_load(self) -> np.ndarray:
        """Callback time as a fraction of the block period, for the recent blocks."""
        return self.rings.recent_load()

    def underflow_positions(self) -> list[int]:
        """Transport samples at which the host reported underflows (the latest 4096), in order."""
        return self.rings.underflow_positions()


class EmptyCallback(Callback):
    """Writes silence, counts underflows; runs no mixer (the benchmarks' floor)."""

    def __call__(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.output_underflow:
            i = self.underflows % UNDERFLOW_RING
            self.underflow_time[i] = self._mono()
            self.underflows += 1
            self._counts[C_UNDERFLOWS] = self.underflows
        outdata.fill(0.0)


class LiveStream:
    """A sounddevice OutputStream running `Callback` (the mixer) on an output device."""

    def __init__(self, mixer: Mixer, device: int, channels: int, blocksize: int = 0,
                 latency: float | str | None = None) -> None:
        self.mixer = mixer
        self.sample_rate = mixer.transport.sample_rate
        empty = os.environ.get(EMPTY_CALLBACK_ENV) == "1"
        self.callback = EmptyCallback(mixer) if empty else Callback(mixer)
        sd = import_sounddevice()
        self._stream = sd.OutputStream(
            samplerate=self.sample_rate, blocksize=blocksize, device=device, channels=channels,
            dtype="float32", latency=latency, callback=self.callback,
        )
        self.latency = float(self._stream.latency)
        self.callback.latency = self.latency
        self.blocksize = int(self._stream.blocksize)
        self.device = device
        self.channels = channels

    @property
    def underflows(self) -> int:
        """Output underflows the host reported."""
        return self.callback.underflows

    @property
    def errors(self) -> int:
        """Exceptions caught in the callback."""
        return self.callback.errors

    def start(self) -> None:
        """Start the stream (the callback begins)."""
        self._stream.start()

    def close(self) -> None:
        """Stop and close the stream."""
        try:
            self._stream.stop()
        finally:
            self._stream.close()

    def recent_load(self) -> np.ndarray:
        """Callback time as a fraction of the block period, for the recent blocks."""
        return self.callback.recent_load()


class SilentRunner:
    """Runs the mixer on the wall clock into a scratch buffer, for a run with no audio device.

    Blocks are scheduled from the start time plus blocks done, so nothing drifts."""

    def __init__(self, mixer: Mixer, block: int = 512, channels: int = 2) -> None:
        self.mixer = mixer
        self.block = block
        self.sample_rate = mixer.transport.sample_rate
        self.latency = block / self.sample_rate
        self._buf = np.zeros((block, channels), np.float32)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rvae-silent-clock", daemon=True)
        self.underflows = 0
        self.errors = 0
        self.last_error = ""

    def _run(self) -> None:
        period = self.block / self.sample_rate
        t0 = time.monotonic()
        n = 0
        while not self._stop.is_set():
            due = t0 + n * period
            try:
                self.mixer.process(self._buf, self.block, due + self.latency)
            except Exception as e:
                self.errors += 1
                self.mixer.rings.counts[C_ERRORS] = self.errors
                self.last_error = type(e).__name__
            n += 1
            wait = t0 + n * period - time.monotonic()
            if wait > 0:
                self._stop.wait(wait)
            elif wait < -0.5:  # the machine slept: start counting again from now
                t0, n = time.monotonic(), 0

    def start(self) -> None:
        """Start the clock thread."""
        self._thread.start()

    def close(self) -> None:
        """Stop the clock thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)

    def recent_load(self) -> np.ndarray:
        """No real-time load to report."""
        return np.zeros(0)
