"""OSC in: one UDP socket read by the `rvae-osc-in` thread, coalesced into the player's queue.

The thread blocks on the socket (with a timeout, so close() is prompt), turns each datagram
into actions and coalesces them; a batch goes into the player's queue only when the player
has drained the last one and `gap` seconds have passed, so 10,000 messages a second cost the
main thread one action per continuous control per batch, at most 1/gap batches a second.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from typing import Callable

from ..controls import Vocabulary
from .inbound import Coalescer, Counts, read_datagram

GAP = 0.004  # s between batches: under a tick at 300 BPM (8.3 ms)
POLL = 0.1  # s the socket waits while nothing is pending (how soon close() is seen)
RCVBUF = 1 << 20  # bytes asked of the kernel for the socket's queue (it may give less)
MAX_DATAGRAM = 65536


def open_listener(host: str, port: int) -> socket.socket:
    """A UDP socket bound to host:port; OSError (one line's worth) if that cannot be done."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.bind(addr)
    except OSError:
        sock.close()
        raise
    return sock


class OscReceiver:
    """Reads `sock` in a daemon thread; actions go into `actions` and `ready` is set then.

    `vocab()` is the vocabulary in use (read once a datagram: a new model may bring other drums)."""

    def __init__(self, sock: socket.socket, actions: queue.SimpleQueue[tuple[str, float]],
                 vocab: Callable[[], Vocabulary], gap: float = GAP) -> None:
        self.sock = sock
        self.actions = actions
        self.vocab = vocab
        self.gap = gap
        self.counts = Counts()
        self._vocab = vocab()
        self.pending = Coalescer(self._vocab, self.counts)
        self.ready = threading.Event()
        self.batches = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_flush = 0.0

    @property
    def address(self) -> str:
        """host:port the socket listens on."""
        host, port = self.sock.getsockname()[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        """Read in a daemon thread until close()."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="rvae-osc-in", daemon=True)
            self._thread.start()

    def handle(self, data: bytes) -> None:
        """One datagram into the pending batch."""
        v = self.vocab()
        if v is not self._vocab:
            self._vocab = v
            self.pending.set_vocabulary(v)
        self.pending.add(read_datagram(data, v, self.counts))

    def flush(self, now: float) -> float | None:
        """Hand the pending batch over if the player took the last one and `gap` has passed;
        returns how long to wait before trying again (None: nothing pending)."""
        if not self.pending:
            return None
        wait = self._last_flush + self.gap - now
        if wait > 0:
            return wait
        if not self.actions.empty():
            return self.gap / 4
        for item in self.pending.take():
            self.actions.put(item)
        self._last_flush = now
        self.batches += 1
        self.ready.set()
        return None

    def _loop(self) -> None:
        sock, stop = self.sock, self._stop
        buf = bytearray(MAX_DATAGRAM)
        view = memoryview(buf)
        timeout: float | None = None
        while not stop.is_set():
            sock.settimeout(POLL if timeout is None else max(0.0005, timeout))
            try:
                n = sock.recv_into(buf)
            except TimeoutError:
                n = -1
            except OSError:
                if stop.is_set():
                    return
                time.sleep(0.01)  # e.g. an ICMP error reported on the socket: read on
                n = -1
            try:
                if n >= 0:
                    self.handle(bytes(view[:n]))
                timeout = self.flush(time.monotonic())
            except Exception:  # never let a message end OSC in; what it was is counted elsewhere
                timeout = None

    def wait_actions(self, timeout: float) -> bool:
        """Wait up to `timeout` s for a batch in the player's queue; True if one came."""
        if self.ready.wait(timeout):
            self.ready.clear()
            return True
        return False

    def close(self) -> None:
        """Stop the thread and close the socket (idempotent)."""
        self._stop.set()
        t, self._thread = self._thread, None
        if t is not None:
            t.join(timeout=1.0)
        self.sock.close()
