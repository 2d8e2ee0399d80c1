"""`MidiSystem`: everything MIDI the player owns, behind start / close / status_lines / learn.

Threads: `rvae-midi-in` polls the controller and clock inputs and feeds the player's action
queue (coalesced per frame); `rvae-midi-out` schedules notes and clock against the audio clock;
`rvae-midi-hotplug` reopens ports that come back. Problems with ports are reported in one line
(stderr and the HUD) and never stop the music; only a wrong port name or a bad mapping file
at start is an error (InputError).
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..clock import ClockSource, TransportControl
from ..drum_map import DrumMap
from ..errors import InputError
from .clock_follow import MidiClockSource
from .clock_in import ClockFollower
from .hotplug import HotPlug, OutputHolder, Watched
from .learn import Learn
from .mapping import DEFAULT_INSTRUMENTS, Controller, resolve_controller
from .notes_out import MidiScheduler, NoteOutConfig, TransportView
from .options import per_instrument
from .poller import InputPoller
from . import APP_PORT_NAME
from .ports import (
    Backend,
    MidiPortError,
    PortNotFound,
    PortSpecError,
    backend_from_env,
    open_input,
    open_output,
)

if TYPE_CHECKING:
    from .link_clock import LinkClock

NOTICE_SECONDS = 10.0


@dataclass
class MidiConfig:
    """What the command line asked of MIDI (ports as given; channels 1-16; times in ms)."""

    midi_in: str | None = None
    midi_out: str | None = None
    clock_in: str | None = None
    controller: str | None = None
    channels: tuple[int, ...] = (10,)
    notes: tuple[int, ...] | None = None
    latency_ms: float = 0.0
    note_length_ms: float = 50.0
    clock_out: bool = False
    clock: str = "internal"
    clock_stop: str = "stop"
    lookahead_ms: float = 20.0
    instruments: tuple[str, ...] = DEFAULT_INSTRUMENTS
    default_notes: tuple[int, ...] = (36, 38, 42)
    user_mapping: Path | None = None  # where learned bindings go (default: the user's file)
    scale_takeover: bool = False  # soft-takeover knobs pick up by scaling (installation mode)

    @classmethod
    def from_args(cls, args: argparse.Namespace, drum_map: DrumMap | None = None) -> MidiConfig:
        """From `play`'s parsed options (see options.add_midi_arguments) and the drum map."""
        a = vars(args)
        cfg = cls(midi_in=a.get("midi_in"), midi_out=a.get("midi_out"), clock_in=a.get("clock_in"),
                  controller=a.get("controller"), channels=tuple(a.get("midi_channel") or (10,)),
                  notes=a.get("midi_notes"), latency_ms=float(a.get("midi_latency") or 0.0),
                  note_length_ms=float(a.get("midi_note_length") or 50.0), clock_out=bool(a.get("clock_out")),
                  clock=a.get("clock") or "internal", clock_stop=a.get("clock_stop") or "stop",
                  scale_takeover=bool(a.get("installation")))
        if drum_map is not None:
            cfg.instruments, cfg.default_notes = tuple(drum_map.instruments), tuple(drum_map.out_notes)
        return cfg

    @property
    def enabled(self) -> bool:
        """True if any MIDI port is asked for."""
        return bool(self.midi_in or self.midi_out or self.clock in ("midi", "link"))

    def note_out_config(self) -> NoteOutConfig:
        """Per-instrument notes and 0-based channels; InputError if the lists do not fit."""
        n = len(self.instruments)
        try:
            notes = per_instrument(self.notes or self.default_notes, n, "--midi-notes")
            chans = per_instrument(self.channels, n, "--midi-channel")
        except ValueError as e:
            raise InputError(str(e)) from None
        return NoteOutConfig(notes=notes, channels=tuple(c - 1 for c in chans),
                             length=self.note_length_ms / 1000.0, latency=self.latency_ms / 1000.0,
                             lookahead=self.lookahead_ms / 1000.0, clock_out=self.clock_out)


LINK_NOTICE = ("Ableton Link joins over the network: it listens on UDP port 20808 on every interface, "
               "so anyone on this network can change the tempo")


class MidiSystem:
    """Controller input, learn, note and clock out, clock in and hot-plug for the player.

    The player's side of the seam: `actions`, its queue of (name, value) controls;
    `get_value(name)`, its current value of a control in control units (for soft takeover,
    encoders and latches); `transport`, the TransportControl a followed clock drives
    (needed for --clock midi and link); `view()`, a TransportView of the audio engine (needed
    for MIDI out)."""

    def __init__(self, config: MidiConfig, actions: queue.SimpleQueue[tuple[str, float]],
                 view: Callable[[], TransportView] | None = None,
                 get_value: Callable[[str], float | None] | None = None,
                 backend: Backend | None = None, err: TextIO | None = sys.stderr,
                 hotplug_interval: float = 0.5, transport: TransportControl | None = None) -> None:
        self.config = config
        self.actions = actions
        self.view = view
        self.transport = transport
        self.clock_source: ClockSource | None = None
        self.get_value = get_value
        self.backend = backend or backend_from_env()
        self.err = err
        self.notices: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self.mapping_path: Path | None = None
        self.controller: Controller | None = None
        self.learner: Learn | None = None
        self.follower: ClockFollower | None = None
        self.poller: InputPoller | None = None
        self.out: OutputHolder | None = None
        self.scheduler: MidiScheduler | None = None
        self.hotplug = HotPlug(self.backend, self._report, interval=hotplug_interval)
        self._in_watch: Watched | None = None
        self._clock_watch: Watched | None = None
        self._out_watch: Watched | None = None
        self._started = False
        self.link: LinkClock | None = None  # with --clock link
        self.midi_clock: MidiClockSource | None = None  # with --clock midi

    # ------------------------------------------------------------------ setup

    def _report(self, line: str) -> None:
        with self._lock:
            self.notices.append((time.monotonic(), line))
            del self.notices[:-20]
        if self.err is not None:
            try:
                print(f"rvae-visual: midi: {line}", file=self.err, flush=True)
            except Exception:
                pass

    def start(self) -> None:
        """Open ports and start the threads. InputError for a wrong port name or mapping file;
        ports that are missing or cannot be opened are reported and waited for."""
        if self._started:
            return
        cfg = self.config
        if cfg.clock == "midi" and not (cfg.clock_in or cfg.midi_in):
            raise InputError("--clock midi needs a MIDI input: --clock-in PORT or --midi-in PORT")
        if cfg.midi_out and self.view is None:
            raise InputError("--midi-out needs the audio engine's transport")
        transport = self.transport
        if cfg.clock in ("midi", "link") and transport is None:
            raise InputError(f"--clock {cfg.clock} needs the player's transport")
        note_cfg = cfg.note_out_config() if cfg.midi_out else None
        mapping, self.mapping_path = resolve_controller(cfg.controller, cfg.user_mapping, cfg.instruments)
        self.controller = Controller(mapping, self.get_value, soft_as_scale=cfg.scale_takeover)
        self.learner = Learn(self.controller, self.mapping_path)
        on_clock: Callable[[], None] | None = None
        on_poll: Callable[[float], None] | None = None
        if cfg.clock == "midi" and transport is not None:
            self.follower = ClockFollower()
            self.midi_clock = self.clock_source = MidiClockSource(self.follower, transport, self._report,
                                                                  cfg.clock_stop)
            on_clock = self.midi_clock.on_clock
        if cfg.clock == "link" and transport is not None:
            from .link_clock import LinkClock

            link = self.link = LinkClock(transport.tempo)
            self.clock_source = link
            self._report(LINK_NOTICE)

            def on_poll(now: float) -> None:
                link.drive(transport, now)
        self.poller = InputPoller(self.actions, self.controller, self.learner, self.follower,
                                  on_clock=on_clock, on_poll=on_poll)
        clock_spec = (cfg.clock_in or cfg.midi_in) if cfg.clock == "midi" else None
        shared = clock_spec is not None and cfg.midi_in is not None and clock_spec == cfg.midi_in
        if cfg.midi_in:
            roles = ("control", "clock") if shared else ("control",)
            self._in_watch = self._open_in(cfg.midi_in, "MIDI in", roles)
        if clock_spec and not shared:
            self._clock_watch = self._open_in(clock_spec, "clock in", ("clock",))
        if cfg.midi_out:
            self.out = OutputHolder()
            self._out_watch = self._open_out(cfg.midi_out)
            assert self.view is not None and note_cfg is not None
            self.scheduler = MidiScheduler(self.view, self.out.send, note_cfg)
        self._started = True
        self.poller.start()
        if self.scheduler is not None:
            self.scheduler.start()
        self.hotplug.start()

    def _open_in(self, spec: str, label: str, roles: tuple[str, ...]) -> Watched:
        poller = self.poller
        assert poller is not None

        def install(port: object) -> None:
            for r in roles:
                poller.set_port(r, port)  # type: ignore[arg-type]

        option = "--clock-in" if label == "clock in" else "--midi-in"
        return self._open_watched(Watched("input", spec, label, install), open_input, option)

    def _open_out(self, spec: str) -> Watched:
        out = self.out
        assert out is not None
        return self._open_watched(Watched("output", spec, "MIDI out", out.swap), open_output,  # type: ignore[arg-type]
                                  "--midi-out")

    def _open_watched(self, w: Watched, opener: Callable, option: str) -> Watched:
        """Open the port `w` names and install it; an absent one is reported and waited for
        (hot-plug), a bad spec is a usage error naming `option`."""
        try:
            port = opener(w.spec, self.backend)
        except PortSpecError as e:
            raise InputError(f"{option} {w.spec}: {e}") from None
        except MidiPortError as e:
            w.state = "absent"
            self._report(f"{w.label}: {e}; the music goes on" + (", waiting for it" if isinstance(e, PortNotFound) else ""))
        else:
            w.name, w.port = port.name, port
            w.install(port)
        if _is_virtual_spec(w.spec):
            client = f"{APP_PORT_NAME}-{'in' if w.kind == 'input' else 'out'}"
            w.listed_as = f"{client}:{APP_PORT_NAME}"
        self.hotplug.watch(w)
        return w

    # ------------------------------------------------------------------ for the player

    def learn(self, target: str) -> None:
        """Start MIDI learn for `target` (an action name); InputError if unknown."""
        if self.learner is None:
            raise InputError("MIDI learn needs a MIDI input (--midi-in)")
        self.learner.start(target)

    def cancel_learn(self) -> None:
        """Leave learn mode."""
        if self.learner is not None:
            self.learner.cancel()

    def wait_actions(self, timeout: float) -> bool:
        """Wait up to `timeout` s for controller actions to arrive in the queue (the player can
        apply them at once instead of at its next frame); True if some did."""
        poller = self.poller
        if poller is None:
            return False
        if poller.ready.wait(timeout):
            poller.ready.clear()
            return True
        return False

    @property
    def learning(self) -> str | None:
        """The action waiting for a control, or None."""
        return None if self.learner is None else self.learner.target

    def status_lines(self) -> list[str]:
        """Short lines for the HUD: ports, counts, clock, learn, the latest notice."""
        lines: list[str] = []
        cfg = self.config
        if cfg.midi_in:
            lines.append("MIDI in: " + self._port_state(self._in_watch, self.poller.control_port if self.poller else None)
                         + (f" · {self.poller.received} msgs" if self.poller else ""))
        if self._clock_watch is not None:
            lines.append("clock in: " + self._port_state(self._clock_watch, self.poller.clock_port if self.poller else None))
        if self.clock_source is not None:
            lines.append(self.clock_source.status())
        if cfg.midi_out:
            st = self.scheduler.stats if self.scheduler else None
            line = "MIDI out: " + self._port_state(self._out_watch, self.out.port if self.out else None)
            if st is not None:
                line += f" · {st.notes} notes"
                if cfg.clock_out:
                    line += f" · clock {st.pulses}"
                if st.dropped_late:
                    line += f" · {st.dropped_late} late"
            lines.append(line)
        if self.learner is not None and self.learner.message:
            lines.append(self.learner.message)
        with self._lock:
            recent = [n for t, n in self.notices if time.monotonic() - t < NOTICE_SECONDS]
        if recent:
            lines.append(recent[-1])
        return lines

    @staticmethod
    def _port_state(w: Watched | None, port) -> str:
        if w is None:
            return "-"
        if w.state == "lost":
            return f"'{w.name}' LOST, waiting"
        if w.state == "absent" or port is None:
            return f"waiting for '{w.spec}'"
        return f"{port.name}" + (" (virtual)" if port.virtual else "")

    def close(self) -> None:
        """Stop the threads, send note-offs and All Notes Off, close the ports (idempotent)."""
        self.hotplug.close()
        if self.poller is not None:
            self.poller.close()
        if self.scheduler is not None:
            self.scheduler.close()
            self.scheduler = None
        if self.out is not None:
            self.out.swap(None)
        if self.clock_source is not None:
            self.clock_source.close()
        self._started = False


def _is_virtual_spec(spec: str) -> bool:
    return spec.strip().lower() == "virtual"
