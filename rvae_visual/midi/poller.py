"""Poll MIDI inputs from our own thread and hand controller actions to the player once per frame.

Never a callback inside the MIDI system's real-time thread: python-rtmidi queues incoming
messages in C and we drain them with `get_message()` every `interval` seconds. Controller
actions are coalesced: a continuous control keeps only its latest value, presses and releases
keep their order, and a new batch goes into the player's queue only once the player has
drained the previous one (once per frame), so a flood of 10,000 CC messages a second costs the
main thread one action per control per frame.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Callable, Sequence

from .clock_in import ClockFollower
from .learn import Learn
from ..controls import CONTINUOUS, vocabulary
from .mapping import Controller
from .ports import MidiInput

MAX_PER_POLL = 4096  # messages taken from one port per poll, so one flood cannot starve the rest


class Coalescer:
    """Pending actions: continuous ones last-value-wins, the others in arrival order."""

    def __init__(self, continuous: Sequence[str] | None = None) -> None:
        if continuous is None:
            continuous = [c.name for c in vocabulary().of_kind(CONTINUOUS)]
        self.continuous = frozenset(continuous)
        self.values: dict[str, float] = {}
        self.events: list[tuple[str, float]] = []

    def add(self, action: str, value: float) -> None:
        """Queue one action."""
        if action in self.continuous:
            self.values[action] = value
        else:
            self.events.append((action, value))

    def __bool__(self) -> bool:
        return bool(self.values or self.events)

    def flush_into(self, q: "queue.SimpleQueue[tuple[str, float]]", force: bool = False) -> int:
        """Put the pending actions into `q` if it is empty (the player took the last batch) or
        `force`; returns how many were put."""
        if not (self.values or self.events) or not (force or q.empty()):
            return 0
        n = 0
        for item in self.events:
            q.put(item)
            n += 1
        for item in self.values.items():
            q.put(item)
            n += 1
        self.events = []
        self.values = {}
        return n


class InputPoller:
    """Drains the controller and clock inputs every `interval` s in a daemon thread.

    Channel messages of the control port go to MIDI learn (while it waits) or the Controller;
    realtime and song position messages of the clock port go to the ClockFollower, and
    `on_clock()` is called (in this thread) after each poll that fed it."""

    def __init__(self, actions: "queue.SimpleQueue[tuple[str, float]]", controller: Controller,
                 learn: Learn | None = None, follower: ClockFollower | None = None,
                 on_clock: Callable[[], None] | None = None, interval: float = 0.002,
                 clock: Callable[[], float] = time.monotonic,
                 on_poll: Callable[[float], None] | None = None) -> None:
        self.actions = actions
        self.controller = controller
        self.learn = learn
        self.follower = follower
        self.on_clock = on_clock
        self.on_poll = on_poll  # called every poll with the time (e.g. to read Ableton Link)
        self.interval = interval
        self.clock = clock
        self.coalescer = Coalescer()
        self.ready = threading.Event()  # set when actions were put in the queue
        self.control_port: MidiInput | None = None
        self.clock_port: MidiInput | None = None
        self._swaps: list[tuple[str, MidiInput | None]] = []  # (role, port) handed over by other threads
        self._swap_lock = threading.Lock()
        self.received = 0
        self.touches = 0  # channel messages from the controller (a visitor's input, taken up or not)
        self.last_message = 0.0  # monotonic time of the last message (any port)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # ---------------------------------------------------------------- ports

    def set_port(self, role: str, port: MidiInput | None) -> None:
        """Hand a port over ('control' or 'clock'); installed by the polling thread, which
        closes the port it replaces (unless it still serves the other role)."""
        with self._swap_lock:
            self._swaps.append((role, port))
        if self._thread is None:
            self._take_swaps()

    def _take_swaps(self) -> None:
        with self._swap_lock:
            swaps, self._swaps = self._swaps, []
        for role, port in swaps:
            attr = "control_port" if role == "control" else "clock_port"
            old = getattr(self, attr)
            setattr(self, attr, port)
            if old is not None and old is not port and old is not self.control_port \
                    and old is not self.clock_port:
                old.close()

    # ---------------------------------------------------------------- polling

    def poll_once(self) -> int:
        """Drain every port once and flush actions if the player is ready; returns messages read."""
        if self._swaps:
            self._take_swaps()
        now = self.clock()
        n = 0
        fed_clock = False
        ctl, clk = self.control_port, self.clock_port
        for port in (ctl, clk) if clk is not ctl else (ctl,):
            if port is None:
                continue
            get = port.get_message
            is_ctl, is_clk = port is ctl, port is clk
            for _ in range(MAX_PER_POLL):
                m = get()
                if m is None:
                    break
                n += 1
                msg, t = m
                status = msg[0] if msg else 0
                if status >= 0xF0:
                    if is_clk and self.follower is not None:
                        self.follower.feed(status, t, now, msg[1:])
                        fed_clock = True
                elif is_ctl:
                    self._channel_message(msg)
        if n:
            self.received += n
            self.last_message = now
        if self.follower is not None:
            if self.follower.check(now):
                fed_clock = True
            if fed_clock and self.on_clock is not None:
                self.on_clock()
        if self.on_poll is not None:
            self.on_poll(now)
        if self.coalescer.flush_into(self.actions):
            self.ready.set()
        return n

    def _channel_message(self, msg: list[int]) -> None:
        self.touches += 1
        learn = self.learn
        if learn is not None and learn.target is not None and learn.offer(msg) is not None:
            return
        for action, value in self.controller.handle(msg):
            self.coalescer.add(action, value)

    def start(self) -> None:
        """Poll in a daemon thread until close()."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rvae-midi-in", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        stop, interval = self._stop, self.interval
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:  # a bad message or a vanished port must not end input for good
                pass
            stop.wait(interval)

    def close(self) -> None:
        """Stop polling and close the ports."""
        t, self._thread = self._thread, None
        if t is not None:
            self._stop.set()
            t.join(timeout=2.0)
        self._take_swaps()
        for port in {id(p): p for p in (self.control_port, self.clock_port) if p is not None}.values():
            port.close()
        self.control_port = self.clock_port = None
