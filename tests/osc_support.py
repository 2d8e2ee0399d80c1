"""OSC test helpers: a real UDP listener that collects what arrives, and message building."""

from __future__ import annotations

import socket
import threading
import time

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder


def osc(address: str, *args) -> bytes:
    """One OSC message datagram."""
    b = OscMessageBuilder(address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Listener:
    """A UDP socket on 127.0.0.1 and a thread that keeps every OSC message: (monotonic s, address, params)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.got: list[tuple[float, str, list]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, OSError):
                continue
            m = OscMessage(data)
            with self._lock:
                self.got.append((time.monotonic(), m.address, list(m.params)))

    def messages(self, address: str | None = None, since: float = 0.0) -> list[tuple[float, str, list]]:
        """What arrived (at `address`, after monotonic time `since`)."""
        with self._lock:
            return [g for g in self.got if (address is None or g[1] == address) and g[0] >= since]

    def wait_for(self, pred, timeout: float) -> bool:
        """Wait until pred(self) is true."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred(self):
                return True
            time.sleep(0.02)
        return bool(pred(self))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
        self.sock.close()
