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
import time
from multiprocessing.connection import Connection
from typing import Any

from ..errors import InputError
from .engine import GIL_SWITCH_INTERVAL, AudioEngine, ThreadEngine
from .records import C_BLOCKS, RINGS_BYTES, Rings

START_TIMEOUT = 30.0  # seconds for the audio process to open its stream
WATCH_S = 0.25  # how often the watch looks at the block count
LOCATE_WAIT_S = 1.0  # seconds a reopened stream gets to take up the locate before it is heard
STALL_S = 1.0  # no block for this long: the stream is lost
RETRY_S = 1.0  # first wait before a new audio process is tried (doubling)
RETRY_MAX_S = 5.0
# what the audio side is told, by the names `_apply` sends and the engines keep as `_<name>`
MIRRORED = ("pattern", "bpm", "threshold", "mutes", "quantize", "swing", "playing")


def _take_mirror(engine: AudioEngine, values: dict[str, Any]) -> None:
    """Give a not yet started engine the mirrored state `values` (see MIRRORED)."""
    for name, value in values.items():
        setattr(engine, "_" + name, value)


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
        self._local: ThreadEngine | None = None
        self._watcher: threading.Thread | None = None
        self._stop_watch = threading.Event()
        self._lost_since: float | None = None  # time.monotonic() when the stream stopped, while lost
        self.lost_count = 0  # times the stream was lost
        self.back_count = 0  # times it came back (the audio server may have restarted: MIDI over JACK too)

    def start(self) -> None:
        """Start the audio process and wait until its stream runs (or it runs silent); from
        then on a watch reopens the stream if it stops (see `_watch`).

        InputError if an explicitly named --audio-device matches no output device."""
        if self._proc is not None:
            return
        import gc
        gc.collect()
        gc.freeze()  # as ThreadEngine does: shorter collections for the frame loop too
        try:
            child = self._spawn()
        except OSError as e:
            self._go_silent_here(f"no audio: {e or 'the audio process failed'}")
            return
        kind, info = child[3], child[4]
        if kind == "error":
            self._kill(child)
            raise InputError(info)
        self._proc, self._conn, self._map = child[0], child[1], child[2]
        for line in info["messages"]:
            self._say(line)
        self._take_info(info)
        if self.silent:
            self.messages.append(self.status)
        self._rings = Rings(self._map)
        if not self.silent:
            self._watcher = threading.Thread(target=self._watch, name="rvae-audio-watch", daemon=True)
            self._watcher.start()

    def _spawn(self) -> tuple[subprocess.Popen[bytes], Connection, mmap.mmap, str, Any]:
        """A new audio process over a new shared mapping, given the mirrored state; returns
        (process, pipe, mapping, "ready" | "error", info). OSError when it does not come up."""
        fd, path = tempfile.mkstemp(prefix="rvae-audio-", dir=_shm_dir())
        try:
            os.ftruncate(fd, RINGS_BYTES)
            shared = mmap.mmap(fd, RINGS_BYTES)
        finally:
            os.close(fd)
        ours, theirs = socket.socketpair()
        cmd = [sys.executable, "-m", "rvae_visual.audio.proc", str(theirs.fileno()), path]
        try:
            proc = subprocess.Popen(cmd, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        conn = Connection(ours.detach())
        with self._lock:
            config = dict(kit=self._kit_spec, device=self.device, blocksize=self.blocksize, latency=self.latency,
                          sample_rate=self._requested_rate, instruments=self.instruments,
                          jack_client_name=self.jack_client_name, **self._mirror())
        try:
            conn.send(config)
            if not conn.poll(START_TIMEOUT):
                raise OSError("the audio process did not start")
            kind, info = conn.recv()
        except (OSError, EOFError) as e:
            self._kill((proc, conn, shared))
            raise OSError(str(e) or "the audio process failed") from None
        finally:
            os.unlink(path)  # both sides hold the mapping (or it failed)
        return proc, conn, shared, kind, info

    def _mirror(self) -> dict[str, Any]:
        """The mirrored state now (see MIRRORED)."""
        return {name: getattr(self, "_" + name) for name in MIRRORED}

    def _take_info(self, info: dict) -> None:
        self.sample_rate = int(info["sample_rate"])
        self._latency_s = float(info["output_latency"])
        self.silent = bool(info["silent"])
        self.status = str(info["status"])
        self._kit_name = str(info["kit_name"])
        self._switch = float(info["switch"])

    @staticmethod
    def _kill(child: tuple) -> None:
        """End an audio process at once (one whose stream died may hang in PortAudio's close)."""
        proc, conn = child[0], child[1]
        try:
            conn.close()
        except OSError:
            pass
        if proc.poll() is None:
            proc.kill()
        proc.wait()

    # ------------------------------------------------------------ self-healing

    def _watch(self) -> None:
        """Every WATCH_S: blocks must keep coming (the stream runs while stopped too). When none
        came for STALL_S (the audio server or device went away, or the audio process died):
        say so once, go on with a silent clock in this process from the tick heard (visuals and
        MIDI go on), and try a new audio process every RETRY_S (doubling to RETRY_MAX_S) until
        one plays; it takes over at the tick heard then."""
        last_count, last_change = -1, time.monotonic()
        retry_at, wait = 0.0, RETRY_S
        while not self._stop_watch.wait(WATCH_S):
            now = time.monotonic()
            if self._lost_since is None:
                r = self._rings
                n = r.count(C_BLOCKS) if r is not None else 0
                dead = self._proc is not None and self._proc.poll() is not None
                if n != last_count:
                    last_count, last_change = n, now
                elif dead or now - last_change > STALL_S:
                    self._lose(now)
                    retry_at, wait = now + RETRY_S, RETRY_S
            elif now >= retry_at:
                if self._reopen():
                    last_count, last_change = -1, time.monotonic()
                else:
                    wait = min(RETRY_MAX_S, wait * 2)
                    retry_at = time.monotonic() + wait

    def _lose(self, now: float) -> None:
        with self._lock:
            pos = self._tick_now(now)
            old = (self._proc, self._conn, self._map)
            self._proc, self._conn = None, None
            self._go_silent_here("audio lost (the audio server or device went away); retrying")
            local = self._local
            assert local is not None
            if self._playing:
                local.locate(pos, now)
            self._lost_since = now
            self.lost_count += 1
        self._warn(self.status)
        if old[0] is not None and old[1] is not None:
            self._kill(old)

    def _tick_now(self, now: float) -> float:
        """Tick-time that would be heard at `now` had the stream gone on (the beat grid
        continues across a loss instead of resuming where the last block ended)."""
        r = self._rings
        row = r.last_block() if r is not None else None
        return 0.0 if row is None else row.heard_ticks(now, self.sample_rate, past_the_block=True)

    def _reopen(self) -> bool:
        """One try at a new audio process; True when it plays (and has taken over)."""
        try:
            child = self._spawn()
        except OSError:
            return False
        kind, info = child[3], child[4]
        if kind != "ready" or info["silent"]:
            self._kill(child)
            return False
        with self._lock:
            local = self._local
            pos = local.heard_position() if local is not None else 0.0
            at = time.monotonic()
            self._proc, self._conn, self._map = child[0], child[1], child[2]
            self._dead = False
            # what changed while the new process started, then the tick heard now
            for what, value in self._mirror().items():
                if what != "playing" and value is not None:
                    self._conn.send((what, value))
            rings = Rings(self._map)
            first = rings.last_block()
            # its stream started playing from its config (run 1), the locate makes the next run
            located = (first.run if first is not None else 1) + 1
            playing = self._playing
            self._conn.send(("locate", (pos, at)) if playing else ("playing", False))
        # the silent clock goes on being heard until the new stream plays from the locate
        # (before it, the new stream counts from its own start); setters reach both meanwhile
        deadline = time.monotonic() + LOCATE_WAIT_S
        while playing and time.monotonic() < deadline:
            row = rings.last_block()
            if row is not None and row.run >= located:
                break
            time.sleep(0.005)
        with self._lock:
            self._take_info(info)
            self._rings = rings
            self._local = None
            took = at - (self._lost_since or at)
            self._lost_since = None
            self.back_count += 1
        if local is not None:
            local.close()
        self._warn(f"{self.status} (back after {took:.1f} s)")
        self.status += f" (back after {took:.1f} s)"
        return True

    def _go_silent_here(self, why: str) -> None:
        """The audio process could not run: fall back to a silent engine in this process."""
        local = ThreadEngine(self._kit_spec, self._bpm, None, 0, None, self._quantize,
                             self._requested_rate, self._threshold, self.instruments, self._warn)
        _take_mirror(local, self._mirror())
        local._go_silent(why)
        self._local = local
        self._rings = local._rings
        self.sample_rate = local.sample_rate
        self._latency_s = local.output_latency
        self.silent, self.status = True, local.status
        self.messages.append(self.status)

    def _apply(self, what: str, value: Any) -> None:
        local = self._local
        if local is not None:
            local._apply(what, value)  # and to a reopened process while it takes over
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
        self._stop_watch.set()
        w, self._watcher = self._watcher, None
        if w is not None:
            w.join(timeout=10.0)
        local, self._local = self._local, None
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
    _take_mirror(engine, {name: cfg[name] for name in MIRRORED})
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
