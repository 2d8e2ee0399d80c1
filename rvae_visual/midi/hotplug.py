"""Hot-plug: notice a MIDI port that went away, say so once, and reopen it when it comes back.

A watcher thread lists the ports every `interval` seconds (one persistent listing client per
kind). A watched port whose name is gone is reported once; the music goes on. When a port of
that name (or, failing that, one matching what the user asked for) is listed again, it is
reopened and handed to its user (`install`). A port named on the command line that was absent
at start is waited for the same way. Our virtual ports go away only with the MIDI system
itself (a JACK server that was restarted): one seen in the other side's listing and then gone
is reported and made again once the listing works.

Limitation: a port that disappears and returns between two checks keeps its name in both
listings, so it is not noticed; keep `interval` short (0.5 s).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

from .ports import (Backend, MidiOutput, MidiPortError, PortLister, PortNotFound, open_input,
                    open_output, resolve_port)


class OutputHolder:
    """The current output port, swappable from the watcher thread while another thread sends."""

    def __init__(self, port: MidiOutput | None = None) -> None:
        self.port = port
        self._lock = threading.Lock()

    def send(self, msg) -> None:
        """Send on the current port (dropped while there is none)."""
        with self._lock:
            if self.port is not None:
                self.port.send(msg)

    def swap(self, port: MidiOutput | None) -> None:
        """Install `port`, closing the one it replaces."""
        with self._lock:
            old, self.port = self.port, port
        if old is not None and old is not port:
            old.close()


@dataclass
class Watched:
    """One port under watch: what the user asked (`spec`), the name opened, its state."""

    kind: str  # "input" | "output"
    spec: str
    label: str  # e.g. "MIDI in", for messages
    install: Callable[[object], None]
    name: str | None = None
    state: str = "open"  # open | lost | absent
    opens: int = 0
    last_error: str = field(default="", repr=False)
    port: object = field(default=None, repr=False)  # the port opened last
    listed_as: str | None = None  # a virtual port: its name in the other kind's listing
    seen: bool = False  # that name has been listed (a virtual port never seen is not tracked)


class HotPlug:
    """Watches ports by name in a daemon thread; `report(line)` tells the HUD what happened."""

    def __init__(self, backend: Backend | None, report: Callable[[str], None], interval: float = 0.5,
                 open_kw: dict | None = None) -> None:
        self.backend = backend
        self.report = report
        self.interval = interval
        self.open_kw = open_kw or {}
        self.watched: list[Watched] = []
        self._listers: dict[str, PortLister] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._restarted = False

    def watch(self, w: Watched) -> None:
        """Add a port (state 'open' with its name, or 'absent' to wait for it)."""
        self.watched.append(w)

    def _names(self, kind: str) -> list[str] | None:
        lister = self._listers.get(kind)
        if lister is None:
            lister = self._listers[kind] = PortLister(kind, self.backend)
        try:
            return lister.names()
        except MidiPortError:
            return None

    def check_once(self) -> None:
        """One round: report vanished ports, reopen returned ones."""
        if self._restarted:
            self._after_restart()
        for w in self.watched:
            if w.listed_as is not None:
                self._check_virtual(w)
                continue
            names = self._names(w.kind)
            if names is None:
                continue
            if w.state == "open":
                if w.name is not None and w.name not in names:
                    w.state = "lost"
                    self.report(f"{w.label} '{w.name}' disappeared; the music goes on, waiting for it")
                continue
            self._try_reopen(w, names)

    def server_restarted(self) -> None:
        """The audio server came back after a loss (any thread): under JACK, MIDI's clients
        died with it (their listings go on showing the old ports), so the next check lists
        afresh and opens every port again."""
        self._restarted = True

    def _after_restart(self) -> None:
        self._restarted = False
        jack = "JACK" in (getattr(self.backend, "api", "") or "").upper()
        for lister in self._listers.values():
            lister.abandon() if jack else lister.close()
        self._listers.clear()
        if not jack:
            return
        for w in self.watched:
            abandon = getattr(w.port, "abandon", None)
            if abandon is not None:
                abandon()  # replaced soon: its close must not touch the dead client
            if w.state == "open":
                w.state, w.seen = "lost", False
                self.report(f"{w.label} '{w.name}' went away with the audio server; opening it again")

    def _check_virtual(self, w: Watched) -> None:
        names = self._names("output" if w.kind == "input" else "input")
        if names is None:
            return
        name = w.listed_as or ""
        listed = any(n == name or n.startswith(name + " ") for n in names)
        if w.state == "open":
            if listed:
                w.seen = True
            elif w.seen:
                w.state, w.seen = "lost", False
                self.report(f"{w.label}: the virtual port went away with the MIDI system; making it again")
            return
        opener = open_input if w.kind == "input" else open_output
        try:
            port = opener("virtual", self.backend, **self.open_kw.get(w.kind, {}))
        except MidiPortError as e:
            if str(e) != w.last_error:
                w.last_error = str(e)
                self.report(f"{w.label}: {e}")
            return
        w.state, w.last_error, w.port = "open", "", port
        w.opens += 1
        w.install(port)
        self.report(f"{w.label}: virtual port '{name}' is back")

    def _try_reopen(self, w: Watched, names: list[str]) -> None:
        if w.name is not None and w.name in names:
            target = w.name
        else:
            try:
                i = resolve_port(w.spec, names, w.kind)
            except MidiPortError:  # not there yet, or ambiguous for now
                return
            if i is None:
                return
            target = names[i]
        opener = open_input if w.kind == "input" else open_output
        try:
            port = opener(target, self.backend, **self.open_kw.get(w.kind, {}))
        except PortNotFound:
            return
        except MidiPortError as e:
            if str(e) != w.last_error:
                w.last_error = str(e)
                self.report(f"{w.label}: {e}")
            return
        was_lost = w.state == "lost"
        w.name, w.state, w.last_error, w.port = port.name, "open", "", port
        w.opens += 1
        w.install(port)
        self.report(f"{w.label} '{port.name}' is {'back' if was_lost else 'connected'}")

    def start(self) -> None:
        """Check every `interval` seconds in a daemon thread."""
        if self._thread is not None or not self.watched:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rvae-midi-hotplug", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check_once()
            except Exception as e:  # keep watching whatever happens
                self.report(f"MIDI hot-plug check failed: {e}")

    def close(self) -> None:
        """Stop watching and release the listing clients."""
        t, self._thread = self._thread, None
        if t is not None:
            self._stop.set()
            t.join(timeout=3.0)
        for lister in self._listers.values():
            lister.close()
        self._listers.clear()

