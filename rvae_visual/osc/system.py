"""`start_osc` for `rvae-visual play`: OSC in and out against the player's seams, and `attach`,
which hooks them into the window (frame hook, HUD lines, quit) without importing it.

What each thread may do: `rvae-osc-in` reads its socket and puts coalesced actions into the
conductor's queue (never touches the performance itself); `rvae-osc-out` reads a
TransportView and sends ticks and hits; the main thread, once a frame, reports the first of
each kind of bad message (HUD and stderr) and sends changed controls, the head and scenes.
"""

from __future__ import annotations

import argparse
import queue
import sys
from typing import Any, Callable, Protocol

from ..audio.records import TransportView
from ..controls import Vocabulary
from .receiver import OscReceiver, open_listener
from .sender import OscScheduler, OscSender, StateOut, open_sender


class ErrorSink(Protocol):
    """What OSC needs of session.messages.Messages."""

    def error(self, text: str) -> None: ...


class Player(Protocol):
    """What OSC needs of session.conductor.Conductor."""

    controls: queue.SimpleQueue[tuple[str, float]]
    wakers: list[Callable[[float], bool]]
    on_scene: list[Callable[[int], None]]

    @property
    def messages(self) -> ErrorSink: ...

    @property
    def vocabulary(self) -> Vocabulary: ...
    def value_of(self, name: str) -> float | None: ...


def _say(line: str) -> None:
    print(f"rvae-visual: {line}", file=sys.stderr, flush=True)


class OscSystem:
    """OSC in and / or out of one `play` session. Either side may be None (not asked for, or
    it could not be opened)."""

    def __init__(self, player: Player, receiver: OscReceiver | None, sender: OscSender | None,
                 scheduler: OscScheduler | None) -> None:
        self.player = player
        self.receiver = receiver
        self.sender = sender
        self.scheduler = scheduler
        self.state = StateOut(sender, lambda: player.vocabulary, player.value_of) if sender is not None else None
        self._closed = False

    def start(self) -> None:
        """Start the threads and subscribe to the conductor."""
        if self.receiver is not None:
            self.receiver.start()
            self.player.wakers.append(self.receiver.wait_actions)
        if self.scheduler is not None:
            self.scheduler.start()
        if self.state is not None:
            self.player.on_scene.append(self.state.scene)

    def frame(self, _app: Any = None) -> None:
        """Once a frame on the main thread: report new kinds of bad messages, send changes."""
        r = self.receiver
        if r is not None:
            while r.counts.first:
                self.player.messages.error(r.counts.first.popleft())
        if self.state is not None:
            self.state.frame()

    def status_lines(self) -> list[str]:
        """HUD lines: where OSC listens and sends, and the counts."""
        lines = []
        r = self.receiver
        if r is not None:
            c = r.counts
            lines.append(f"OSC in: {r.address} · {c.taken} msgs" + (f" · {c.bad} ignored" if c.bad else ""))
        s = self.sender
        if s is not None:
            st = self.scheduler.stats if self.scheduler is not None else None
            line = f"OSC out: {s.address} · {s.sent} sent"
            if st is not None:
                line += f" · {st.pulses} ticks · {st.notes} hits"
            if s.refused:
                line += f" · {s.refused} refused"
            lines.append(line)
        return lines

    def attach(self, app: Any) -> None:
        """Hook into the window (render.app.App, duck-typed: this layer never imports render):
        the frame hook, two HUD lines, close on quit."""
        app.frame_hooks.append(self.frame)
        for k in range(2):
            app.hud_lines.append(lambda k=k: (self.status_lines() + ["", ""])[k])
        app.shutdown_hooks.append(self.close)

    def close(self) -> None:
        """Stop the threads, close the sockets, one summary line each (idempotent)."""
        if self._closed:
            return
        self._closed = True
        r = self.receiver
        if r is not None:
            if r.wait_actions in self.player.wakers:
                self.player.wakers.remove(r.wait_actions)
            r.close()
            _say(f"OSC in {r.counts.summary()}")
        if self.scheduler is not None:
            self.scheduler.close()
        s = self.sender
        if s is not None:
            if self.state is not None and self.state.scene in self.player.on_scene:
                self.player.on_scene.remove(self.state.scene)
            st = self.scheduler.stats if self.scheduler is not None else None
            extra = f" ({st.pulses} ticks, {st.notes} hits)" if st is not None else ""
            _say(f"OSC out: {s.sent} messages sent{extra}, {s.refused} refused, {s.failed} failed")
            s.close()


def start_osc(args: argparse.Namespace, player: Player,
              view: Callable[[bool], Callable[[], TransportView]]) -> OscSystem | None:
    """Start OSC for `rvae-visual play` if --osc-in or --osc-out asks for it (None otherwise).

    `view(through_audio_graph)` is a TransportView source of the audio engine (as for MIDI
    out; OSC leaves when a hit is heard). A port in use or a host that does not resolve is
    one line on stderr; play goes on without that side."""
    osc_in = getattr(args, "osc_in", None)
    osc_out = getattr(args, "osc_out", None)
    if osc_in is None and osc_out is None:
        return None
    receiver = sender = scheduler = None
    if osc_in is not None:
        host, port = osc_in
        try:
            receiver = OscReceiver(open_listener(host, port), player.controls, lambda: player.vocabulary)
            _say(f"OSC in: listening on {receiver.address} (UDP)")
        except OSError as e:
            _say(f"warning: OSC in: cannot listen on {host}:{port} ({e.strerror or e}); going on without OSC in")
    if osc_out is not None:
        host, port = osc_out
        try:
            sender = OscSender(open_sender(host, port))
            scheduler = OscScheduler(view(False), sender, lambda: player.vocabulary.instruments,
                                     latency=float(getattr(args, "osc_latency", 0.0)) / 1000.0)
            _say(f"OSC out: sending to {sender.address} (UDP)")
        except OSError as e:
            _say(f"warning: OSC out: cannot send to {host}:{port} ({e.strerror or e}); going on without OSC out")
    if receiver is None and sender is None:
        return None
    system = OscSystem(player, receiver, sender, scheduler)
    system.start()
    return system
