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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, TextIO

from ..errors import InputError
from .clock_in import ClockFollower
from .hotplug import HotPlug, OutputHolder, Watched
from .learn import Learn
from .mapping import DEFAULT_INSTRUMENTS, Controller, resolve_controller
from .notes_out import MidiScheduler, NoteOutConfig, TransportView
from .options import per_instrument
from .poller import InputPoller
from .ports import Backend, MidiInput, MidiPortError, PortNotFound, PortSpecError, backend_from_env, \
    open_input, open_output

# transport commands from the clock follower or Link (MidiSystem.transport_cmds); the tempo goes
# to the player's control queue as "tempo"
CLOCK_START = "clock_start"  # play from `tick` (the top, or Link's bar phase)
CLOCK_CONTINUE = "clock_continue"  # play from `tick` (where Song Position or a Stop left it)
CLOCK_STOP = "clock_stop"  # stop


def song_place(ticks: int) -> str:
    """'bar 3 beat 3' (+ '.2' for a 16th off the beat) for a song position in ticks."""
    bar, rest = divmod(int(ticks), 96)
    beat, rest = divmod(rest, 24)
    sixteenth = rest // 6
    return f"bar {bar + 1} beat {beat + 1}" + (f".{sixteenth + 1}" if sixteenth else "")


class ClockCmd(NamedTuple):
    """A transport command: `kind` is CLOCK_START, CLOCK_CONTINUE or CLOCK_STOP; to start,
    play from tick-time `tick` (ticks since bar 1, tick 0) as heard at time.monotonic() `at`
    (None: as soon as possible)."""

    kind: str
    tick: float = 0.0
    at: float | None = None

NOTICE_SECONDS = 10.0
PLL_GAIN = 0.5  # tempo nudge per tick of phase error, as a fraction of a beat's worth
# the nudge never moves the tempo more than 1 % off the measured one (inaudible as a tempo, and
# it takes up half a tick - a first bar played at our own tempo - within a second or two)
PLL_MAX = 0.01
RESYNC_TICKS = 1.5  # out of step by this much (the lock cannot take it up quickly) ...
RESYNC_AFTER = 0.5  # ... for this many seconds: jump onto the clock


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

    @classmethod
    def from_args(cls, args: argparse.Namespace, drum_map=None) -> "MidiConfig":
        """From `play`'s parsed options (see options.add_midi_arguments) and the drum map."""
        kw = {}
        if drum_map is not None:
            kw = {"instruments": tuple(drum_map.instruments), "default_notes": tuple(drum_map.out_notes)}
        g = lambda name, default=None: getattr(args, name, default)  # noqa: E731
        return cls(midi_in=g("midi_in"), midi_out=g("midi_out"), clock_in=g("clock_in"),
                   controller=g("controller"), channels=tuple(g("midi_channel", (10,))),
                   notes=g("midi_notes"), latency_ms=float(g("midi_latency", 0.0)),
                   note_length_ms=float(g("midi_note_length", 50.0)), clock_out=bool(g("clock_out", False)),
                   clock=g("clock", "internal") or "internal", clock_stop=g("clock_stop", "stop") or "stop",
                   **kw)

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


class MidiSystem:
    """Controller input, learn, note and clock out, clock in and hot-plug for the player.

    `actions`: the player's queue of (name, value) controls; `transport()`: a TransportView of
    the audio engine (needed for MIDI out); `get_value(name)`: the player's current value of a
    control (for soft takeover, encoders and latches; 'playing' for the clock follower)."""

    def __init__(self, config: MidiConfig, actions: "queue.SimpleQueue[tuple[str, float]]",
                 transport: Callable[[], TransportView] | None = None,
                 get_value: Callable[[str], float | None] | None = None,
                 backend: Backend | None = None, err: TextIO | None = sys.stderr,
                 hotplug_interval: float = 0.5, position: Callable[[], float] | None = None) -> None:
        self.config = config
        self.actions = actions
        self.transport = transport
        self.position = position  # our tick-time heard now (phase lock)
        self.phase_error: float | None = None  # external clock minus us, ticks
        self._off_since: float | None = None  # when the phase error went beyond RESYNC_TICKS
        self.resyncs = 0  # jumps back onto the followed clock
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
        self._tempo_sent: float | None = None
        self._started = False
        self.link = None  # a LinkClock with --clock link
        # CLOCK_START / CLOCK_CONTINUE / CLOCK_STOP for the player's transport, in order
        self.transport_cmds: "queue.SimpleQueue[str]" = queue.SimpleQueue()

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
        if cfg.midi_out and self.transport is None:
            raise InputError("--midi-out needs the audio engine's transport")
        note_cfg = cfg.note_out_config() if cfg.midi_out else None
        mapping, self.mapping_path = resolve_controller(cfg.controller, cfg.user_mapping, cfg.instruments)
        self.controller = Controller(mapping, self.get_value)
        self.learner = Learn(self.controller, self.mapping_path)
        if cfg.clock == "midi":
            self.follower = ClockFollower()
        if cfg.clock == "link":
            from .link_clock import LinkClock

            tempo = self.get_value("tempo") if self.get_value is not None else None
            self.link = LinkClock(tempo or 120.0)
        self.poller = InputPoller(self.actions, self.controller, self.learner, self.follower,
                                  on_clock=self._on_clock, on_poll=self._on_poll if self.link else None)
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
            self.scheduler = MidiScheduler(self.transport, self.out.send, note_cfg)  # type: ignore[arg-type]
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
            w.name = port.name
            w.install(port)
        if w.state == "absent" or not _is_virtual_spec(w.spec):
            self.hotplug.watch(w)
        return w

    # ------------------------------------------------------------------ clock in

    def _on_clock(self) -> None:
        """Called in the polling thread after clock messages (or a timeout)."""
        f = self.follower
        poller = self.poller
        if f is None or poller is None:
            return
        co = poller.coalescer
        cmds = self.transport_cmds
        events = f.take_events()
        for ev, pos, at in events:
            if ev == "start":
                cmds.put(ClockCmd(CLOCK_START, float(pos), at))
            elif ev == "continue":
                cmds.put(ClockCmd(CLOCK_CONTINUE, float(pos), at))
            elif ev == "stop":
                cmds.put(ClockCmd(CLOCK_STOP, float(pos)))
            elif ev == "lost":
                if self.config.clock_stop == "stop":
                    cmds.put(ClockCmd(CLOCK_STOP, float(pos)))
                    self._report("MIDI clock stopped arriving: stopped (--clock-stop hold keeps playing)")
                else:
                    bpm = f"{self._tempo_sent:.1f} BPM" if self._tempo_sent else "the last tempo"
                    self._report(f"MIDI clock stopped arriving: holding {bpm}")
        if events:
            poller.ready.set()  # the player takes transport commands between frames too
        if f.present and f.bpm is not None:
            now = time.monotonic()
            bpm = min(300.0, max(40.0, f.bpm * self._phase_nudge(f, now)))
            if self._tempo_sent is None or abs(bpm - self._tempo_sent) >= 0.01:
                self._tempo_sent = bpm
                co.add("tempo", bpm)
            self._resync(f, now)

    def _resync(self, f: ClockFollower, now: float) -> None:
        """Out of step by more than RESYNC_TICKS for RESYNC_AFTER s (the audio stalled, the
        clock jumped without Song Position): jump onto the clock's position and say so."""
        e = self.phase_error
        if e is None or abs(e) <= RESYNC_TICKS:
            self._off_since = None
            return
        if self._off_since is None:
            self._off_since = now
            return
        ext = f.ticks_at(now)
        if now - self._off_since < RESYNC_AFTER or ext is None or self.poller is None:
            return
        self._off_since = None
        self.resyncs += 1
        self.transport_cmds.put(ClockCmd(CLOCK_CONTINUE, ext, now))
        self.poller.ready.set()
        self._report(f"MIDI clock: {abs(e):.1f} ticks out of step, jumped back onto it")

    def _on_poll(self, now: float) -> None:
        """Every poll (input thread): read the Link session now and then."""
        link, poller = self.link, self.poller
        if link is None or poller is None or not link.due(now):
            return
        gv = self.get_value
        playing = gv("playing") if gv is not None else 1.0
        ours = None
        if self.position is not None and (playing is None or playing >= 0.5):
            try:
                ours = float(self.position())
            except Exception:
                ours = None
        tempo = link.poll(ours, gv("tempo") if gv is not None else None)
        if link.restart:
            self.transport_cmds.put(ClockCmd(CLOCK_START, link.restart_tick, link.restart_at))
        if self._tempo_sent is None or abs(tempo - self._tempo_sent) >= 0.01:
            self._tempo_sent = tempo
            poller.coalescer.add("tempo", tempo)

    def _phase_nudge(self, f: ClockFollower, now: float) -> float:
        """Tempo factor that pulls our heard position onto the external clock's (a gentle
        phase lock: within 1 % of the measured tempo, so the tempo stays put)."""
        self.phase_error = None
        if self.position is None or not f.running:
            return 1.0
        try:
            ours = float(self.position())
        except Exception:
            return 1.0
        ext = f.ticks_at(now)
        if ext is None or ours <= 0.0:
            return 1.0
        e = (ext - ours + 48.0) % 96.0 - 48.0  # within half a bar
        self.phase_error = e
        return 1.0 + max(-PLL_MAX, min(PLL_MAX, PLL_GAIN * e / 24.0))

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
        if self.follower is not None:
            f = self.follower
            if self._clock_watch is not None:
                lines.append("clock in: " + self._port_state(self._clock_watch, self.poller.clock_port if self.poller else None))
            where = "" if f.running else f", stopped at {song_place(f.position)}"
            if f.present and f.bpm is not None:
                phase = "" if self.phase_error is None else f", phase {self.phase_error:+.2f} tick"
                lines.append(f"clock: MIDI {f.bpm:.1f} BPM" + (f", running{phase}" if f.running else where))
            else:
                lines.append("clock: MIDI, no clock arriving" + (where if f.position else ""))
        if self.link is not None:
            from .link_clock import link_status

            lines.append(link_status(self.link))
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
        if self.link is not None:
            self.link.close()
        self._started = False


def _is_virtual_spec(spec: str) -> bool:
    return spec.strip().lower() == "virtual"
