"""OSC out: ticks and hits as heard, the head, scene recalls and changed control values.

  /rvae/tick bar tick            each tick (ints: bar from 1 as the HUD counts, tick 0..95)
  /rvae/hit instrument velocity  each hit as heard (the drum map's name, velocity 0..1)
  /rvae/head x y                 when the head moves (0..1 of the map window, y up)
  /rvae/scene n                  when a scene recall lands (1..8)
  /rvae/<control> value          a control's value when it changed (at most once a frame, 60 Hz)

Ticks and hits are MIDI out's: `OscScheduler` is `midi.notes_out.MidiScheduler` (the same
look-ahead against the audio clock, the same hits as the audio, the same take-back on a tempo
change) with its note-ons and clock pulses (one a tick) turned into OSC in the
`rvae-osc-out` thread. The rest is sent from the main thread, once a frame. One UDP socket,
connected to the listener: a send that fails (nobody listening: ECONNREFUSED) is counted.
"""

from __future__ import annotations

import errno
import socket
import time
from typing import Callable, Sequence

from pythonosc.osc_message_builder import OscMessageBuilder

from ..audio.records import TransportView
from ..controls import TRIGGER, Vocabulary
from ..midi.clock_out import CLOCK
from ..midi.notes_out import MidiScheduler, NoteOutConfig
from ..pattern import TICKS_PER_BAR, samples_per_tick
from . import PREFIX

NOTE_ON = 0x90
CONTROL_PERIOD = 1.0 / 60.0  # s: control changes go out at most this often


def open_sender(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket connected to host:port; OSError if the host does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.connect(addr)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def encode(address: str, args: Sequence[str | int | float]) -> bytes:
    """One OSC message: ints as i, floats as f, strings as s."""
    b = OscMessageBuilder(address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


class OscSender:
    """Sends OSC messages on a connected UDP socket, from any thread; failures are counted."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sent = 0
        self.refused = 0  # nobody listened (ICMP port unreachable, reported on a later send)
        self.failed = 0  # other send errors (a full socket buffer, no route)

    @property
    def address(self) -> str:
        """host:port sent to."""
        host, port = self.sock.getpeername()[:2]
        return f"{host}:{port}"

    def send(self, address: str, *args: str | int | float) -> None:
        """Send one message; never raises for a network error."""
        try:
            self.sock.send(encode(address, args))
            self.sent += 1
        except ConnectionRefusedError:
            self.refused += 1
        except OSError as e:
            if e.errno == errno.ECONNREFUSED:
                self.refused += 1
            else:
                self.failed += 1

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


class OscScheduler(MidiScheduler):
    """MIDI out's scheduler, whose note-ons carry (instrument, velocity 0..1) and whose clock
    pulses carry their tick index, for `send` to turn into /rvae/hit and /rvae/tick."""

    def __init__(self, source: Callable[[], TransportView], out: OscSender,
                 instruments: Callable[[], Sequence[str]], latency: float = 0.0) -> None:
        cfg = NoteOutConfig(notes=(0,), channels=(0,), length=0.0, latency=latency, clock_out=True, rt_priority=0)
        super().__init__(source, self._send, cfg)
        self.out = out
        self.instruments = instruments
        self._view: TransportView | None = None

    def _commit(self, v: TransportView, now: float) -> None:
        self._view = v  # for the pulses' tick index in _push
        super()._commit(v, now)

    def _push(self, t: float, msg: list, pos: int | None = None) -> list:
        v = self._view
        if pos is not None and v is not None and msg == [CLOCK]:
            # pulse k sits on sample floor(origin + k * samples_per_tick + 0.5) (clock_out)
            msg = [CLOCK, round((pos - v.origin) / samples_per_tick(v.bpm, v.sample_rate))]
        return super()._push(t, msg, pos)

    def _note(self, t: float, inst: int, vel: float, pos: int | None = None) -> None:
        self._push(t, [NOTE_ON, inst, float(vel)], pos)  # no note-offs: a hit is an instant here

    def _send(self, msg: Sequence) -> None:
        if msg[0] == NOTE_ON:
            names = self.instruments()
            inst = int(msg[1])
            self.out.send(PREFIX + "hit", names[inst] if inst < len(names) else str(inst), float(msg[2]))
        elif msg[0] == CLOCK and len(msg) == 2:
            bar, tick = divmod(int(msg[1]), TICKS_PER_BAR)
            self.out.send(PREFIX + "tick", bar + 1, tick)
        # start / stop / song position / all notes off: nothing in OSC


class StateOut:
    """Changed control values, the head and scene recalls, sent from the main thread."""

    def __init__(self, out: OscSender, vocab: Callable[[], Vocabulary],
                 value_of: Callable[[str], float | None], clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.vocab = vocab
        self.value_of = value_of
        self.clock = clock
        self._last: dict[str, float] = {}  # at most one entry per control of the vocabulary
        self._at = -1e9

    def frame(self) -> int:
        """Send what changed since the last call (all of it the first time), at most once per
        CONTROL_PERIOD; returns how many messages went out."""
        now = self.clock()
        if now - self._at < CONTROL_PERIOD * 0.9:  # a frame at 60 Hz is never skipped
            return 0
        self._at = now
        vocab = self.vocab()
        last = self._last
        n = 0
        head_moved = False
        for c in vocab.controls:
            if c.kind == TRIGGER:
                continue
            v = self.value_of(c.name)
            if v is None or last.get(c.name) == v:
                continue
            last[c.name] = v
            self.out.send(PREFIX + c.name, float(v))
            n += 1
            head_moved = head_moved or c.name in ("head_x", "head_y")
        if len(last) > len(vocab.controls):  # another model's drums: forget the old names
            names = set(vocab.names)
            for k in [k for k in last if k not in names]:
                del last[k]
        if head_moved:
            self.out.send(PREFIX + "head", float(last.get("head_x", 0.5)), float(last.get("head_y", 0.5)))
            n += 1
        return n

    def scene(self, slot: int) -> None:
        """A scene recall landed."""
        self.out.send(PREFIX + "scene", int(slot))
