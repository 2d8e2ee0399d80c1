"""The audio engine in a process of its own, so that its callback never waits for the
interpreter lock of the player's frame loop.

    player process                           audio process (python -m rvae_visual.audio.proc)
    ProcessEngine                            ThreadEngine: Transport + Mixer + LiveStream
      setters --- pipe (pickled, in order) -->  command thread: request_* (one swap each)
      readers <-- shared mmap (Rings) --------  callback: block records, hits, underflows

- Controls go down one pipe, in call order (a locate carries its serial through the
  transport's request tuple as before); a published Pattern is compiled in the player and
  sent compiled, a kit is loaded in the caller's thread and sent loaded, so the audio process
  only swaps references (its command thread holds its GIL for ~0.1 ms per message).
- Everything the callback reports lives in a shared memory mapping (audio/records.py): the
  block records that are the heard-position clock and MIDI out's TransportView, the played
  hits, underflow counts and times, callback load. Readers copy slots below counters; no locks.
- The audio process exits when the pipe closes (the player quit or died).
"""

from __future__ import annotations

import mmap
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from typing import Any

from ..errors import InputError
from .engine import GIL_SWITCH_INTERVAL, AudioEngine, ThreadEngine
from .records import RINGS_BYTES, Rings

START_TIMEOUT = 30.0  # seconds for the audio process to open its stream


def _shm_dir() -> str | None:
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


class ProcessEngine(AudioEngine):
    """AudioEngine whose transport, mixer and stream run in a child process."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._conn: Connection | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._map: mmap.mmap | None = None
        self._send_lock = threading.Lock()
        self._switch = 0.0
        self._dead = False

    def start(self) -> None:
        """Start the audio process and wait until its stream runs (or it runs silent).

        InputError if an explicitly named --audio-device matches no output device."""
        if self._proc is not None:
            return
        import gc
        gc.collect()
        gc.freeze()  # as ThreadEngine does: shorter collections for the frame loop too
        fd, path = tempfile.mkstemp(prefix="rvae-audio-", dir=_shm_dir())
        try:
            os.ftruncate(fd, RINGS_BYTES)
            self._map = mmap.mmap(fd, RINGS_BYTES)
        finally:
            os.close(fd)
        ours, theirs = socket.socketpair()
        cmd = [sys.executable, "-m", "rvae_visual.audio.proc", str(theirs.fileno()), path]
        try:
            self._proc = subprocess.Popen(cmd, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        config = dict(kit=self._kit_spec, bpm=self._bpm, device=self.device, blocksize=self.blocksize,
                      latency=self.latency, quantize=self._quantize, sample_rate=self._requested_rate,
                      threshold=self._threshold, instruments=self.instruments,
                      jack_client_name=self.jack_client_name, playing=self._playing, mutes=self._mutes,
                      pattern=self._pattern)
        try:
            self._conn.send(config)
            if not self._conn.poll(START_TIMEOUT):
                raise OSError("the audio process did not start")
            kind, info = self._conn.recv()
        except (OSError, EOFError) as e:
            os.unlink(path)
            self._stop_child()
            self._go_silent_here(f"no audio: {e or 'the audio process failed'}")
            return
        os.unlink(path)  # both sides hold the mapping
        if kind == "error":
            self._stop_child()
            raise InputError(info)
        for line in info["messages"]:
            self._say(line)
        self.sample_rate = int(info["sample_rate"])
        self._latency_s = float(info["output_latency"])
        self.silent = bool(info["silent"])
        self.status = str(info["status"])
        self._kit_name = str(info["kit_name"])
        self._switch = float(info["switch"])
        if self.silent:
            self.messages.append(self.status)
        self._rings = Rings(self._map)

    def _go_silent_here(self, why: str) -> None:
        """The audio process could not run: fall back to a silent engine in this process."""
        local = ThreadEngine(self._kit_spec, self._bpm, None, 0, None, self._quantize,
                             self._requested_rate, self._threshold, self.instruments, self._warn)
        local._pattern, local._playing, local._mutes = self._pattern, self._playing, self._mutes
        local._go_silent(why)
        self._local = local
        self._rings = local._rings
        self.sample_rate = local.sample_rate
        self._latency_s = local.output_latency
        self.silent, self.status = True, local.status
        self.messages.append(self.status)

    def _apply(self, what: str, value: Any) -> None:
        local = getattr(self, "_local", None)
        if local is not None:
            local._apply(what, value)
            return
        conn = self._conn
        if conn is None or self._dead:
            return  # before start: the config carries the mirror
        try:
            with self._send_lock:
                conn.send((what, value))
        except OSError:
            self._dead = True
            self.status = "the audio process stopped; no sound until restart"
            self._warn(self.status)

    def _stop_child(self) -> None:
        conn, self._conn = self._conn, None
        proc, self._proc = self._proc, None
        if conn is not None:
            try:
                with self._send_lock:
                    conn.send(("close", None))
                if conn.poll(5.0):
                    conn.recv()
            except (OSError, EOFError):
                pass
            conn.close()
        if proc is not None:
            try:
                proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        """Stop the audio process (its stream closes and PortAudio is released there)."""
        local = getattr(self, "_local", None)
        if local is not None:
            local.close()
        self._stop_child()

    @property
    def audio_switch_interval(self) -> float:
        """The GIL switch interval (s) of the audio process."""
        return self._switch

    @property
    def pid(self) -> int | None:
        """Process id of the audio process, or None."""
        return self._proc.pid if self._proc is not None else None


def _serve(conn: Connection, path: str) -> None:
    """The audio process: build a ThreadEngine over the shared rings, then apply commands."""
    fd = os.open(path, os.O_RDWR)
    try:
        shared = mmap.mmap(fd, RINGS_BYTES)
    finally:
        os.close(fd)
    cfg = conn.recv()
    messages: list[str] = []
    engine = ThreadEngine(cfg["kit"], cfg["bpm"], cfg["device"], cfg["blocksize"], cfg["latency"],
                          cfg["quantize"], cfg["sample_rate"], cfg["threshold"], cfg["instruments"],
                          messages.append, cfg["jack_client_name"], rings=Rings(shared))
    engine._playing = bool(cfg["playing"])
    engine._mutes = tuple(cfg["mutes"])
    engine._pattern = cfg["pattern"]
    try:
        engine.start()
    except InputError as e:
        conn.send(("error", str(e)))
        return
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)  # also when silent: the runner is a thread too
    conn.send(("ready", {"messages": [m for m in messages if m != engine.status],
                         "sample_rate": engine.sample_rate, "output_latency": engine.output_latency,
                         "silent": engine.silent, "status": engine.status, "kit_name": engine.kit_name,
                         "switch": sys.getswitchinterval()}))
    try:
        while True:
            try:
                what, value = conn.recv()
            except (EOFError, OSError, pickle.UnpicklingError):
                break
            if what == "close":
                break
            with engine._lock:
                if what == "kit":
                    engine._kit, engine._kit_name = value, value.name
                engine._apply(what, value)
    finally:
        engine.close()
        try:
            conn.send(("closed", None))
        except OSError:
            pass


def main(argv: list[str]) -> None:
    """Entry point of the audio process: argv = [pipe fd, shared mapping path]."""
    conn = Connection(int(argv[0]))
    try:
        _serve(conn, argv[1])
    finally:
        conn.close()


if __name__ == "__main__":
    main(sys.argv[1:])
