"""What the player needs from MIDI, without pygame: the current value of each control (for
soft takeover, encoders and latches) and MIDI learn mode driven by keys and clicks.

Learn mode: the performer presses the learn key (Tab), then picks a control on screen — clicks
a knob (threshold, noise) or the map (head X, then head Y), or presses the key of a control
(Q/W/E mutes, R mute all, Space start/stop, Enter listen, +/- tempo, M/Shift+M models,
K/Shift+K kits, Up/Down threshold, Left/Right noise) — and then moves a knob or presses a pad
on the controller. The binding works at once and is saved to the user's mapping file.
"""

from __future__ import annotations

from typing import Any, Sequence

from .system import MidiSystem

HEAD_EXTENT_DEFAULT = 3.0


def control_value(perf: Any, name: str, instruments: Sequence[str] = ("kick", "snare", "hihat"),
                  noise_max: float = 1.0) -> float | None:
    """The player's current value of control `name`, in the units MIDI sends it (head 0..1
    with y up, noise 0..1 of its range, tempo in BPM, switches 0 or 1); None if unknown."""
    try:
        if name in ("head_x", "head_y"):
            ext = float(getattr(perf, "extent", HEAD_EXTENT_DEFAULT))
            z = perf.head[0 if name == "head_x" else 1]
            return (float(z) + ext) / (2.0 * ext)
        if name == "threshold":
            return float(perf.threshold)
        if name == "noise":
            return float(perf.noise) / noise_max
        if name == "tempo":
            return float(perf.bpm)
        if name == "mute_all":
            return 1.0 if perf.mute_all else 0.0
        if name == "listen":
            return 1.0 if perf.listening else 0.0
        if name == "playing":
            return 1.0 if perf.playing else 0.0
        if name.startswith("mute_"):
            inst = name[5:]
            if inst in instruments:
                i = list(instruments).index(inst)
                return 1.0 if perf.latched[i] else 0.0
    except (AttributeError, IndexError, TypeError):
        return None
    return None


def key_targets(instruments: Sequence[str]) -> dict[tuple[str, bool], str]:
    """(pygame key name, shift) -> the control that key stands for in learn mode."""
    out: dict[tuple[str, bool], str] = {}
    for key, name in zip("qwe", instruments):
        out[(key, False)] = out[(key, True)] = f"mute_{name}"
    for shift in (False, True):
        out[("r", shift)] = "mute_all"
        out[("space", shift)] = "start_stop"
        out[("return", shift)] = "listen"
        for k in ("=", "+", "-", "[+]", "[-]"):
            out[(k, shift)] = "tempo"
        for k in ("up", "down"):
            out[(k, shift)] = "threshold"
        for k in ("left", "right"):
            out[(k, shift)] = "noise"
    out[("m", False)], out[("m", True)] = "next_model", "prev_model"
    out[("k", False)], out[("k", True)] = "next_kit", "prev_kit"
    return out


class LearnMode:
    """Learn mode on top of a MidiSystem: pick a control, then move a control on the device."""

    LEARN_KEY = "tab"

    def __init__(self, midi: MidiSystem, instruments: Sequence[str] = ("kick", "snare", "hihat")) -> None:
        self.midi = midi
        self.keys = key_targets(instruments)
        self.active = False
        self._then_y = False
        self.note = ""

    def toggle(self) -> None:
        """Enter or leave learn mode (the learn key)."""
        if self.active:
            self.leave()
        else:
            self.active = True
            self.note = "MIDI learn: pick a control (click a knob or the map, or press its key); Tab/Esc leaves"

    def leave(self) -> None:
        """Leave learn mode, cancelling a binding not yet made."""
        self.active = False
        self._then_y = False
        self.midi.cancel_learn()
        self.note = ""

    def _pick(self, target: str) -> None:
        self.midi.learn(target)
        self.note = ""

    def key(self, name: str, shift: bool) -> bool:
        """A key press; True if learn mode used it (the player must not act on it)."""
        if name == self.LEARN_KEY:
            self.toggle()
            return True
        if not self.active:
            return False
        if name == "escape":
            self.leave()
            return True
        target = self.keys.get((name, shift))
        if target is not None:
            self._then_y = False
            self._pick(target)
        return True

    def knob(self, name: str) -> bool:
        """A click on an on-screen knob ('threshold', 'noise', ...); True if used."""
        if not self.active:
            return False
        self._then_y = False
        self._pick(name)
        return True

    def map_click(self) -> bool:
        """A click on the map: learn head X, then head Y; True if used."""
        if not self.active:
            return False
        self._pick("head_x")
        self._then_y = True
        return True

    def poll(self) -> None:
        """Once per frame: after head X is bound, wait for head Y."""
        if self._then_y and self.midi.learning is None:
            learned = self.midi.learner.learned if self.midi.learner is not None else []
            if learned and learned[-1].action == "head_x":
                self._then_y = False
                self._pick("head_y")

    def status(self) -> list[str]:
        """HUD lines while learning."""
        if not self.active:
            return []
        target = self.midi.learning
        if target is not None:
            return [f"MIDI learn: move the control for {target} (Tab/Esc leaves)"]
        return [self.note or "MIDI learn: pick a control; Tab/Esc leaves"]


def start_midi(args: Any, app: Any, engine: Any, drum_map: Any = None) -> MidiSystem | None:
    """Start MIDI for `rvae-visual play` if any MIDI option asks for it, and attach it to the
    app (see `attach`). InputError for a wrong port name or mapping file; missing ports are
    reported and waited for."""
    from .audio_clock import engine_view
    from .system import MidiConfig

    cfg = MidiConfig.from_args(args, drum_map)
    if not cfg.enabled:
        return None
    instruments = cfg.instruments
    perf = app.perf

    def get_value(name: str) -> float | None:
        return control_value(perf, name, instruments)

    midi = MidiSystem(cfg, app.controls, get_value=get_value, position=engine.heard_position)
    # JACK MIDI shares the audio graph's buffering: notes leave when their block is computed
    midi.transport = engine_view(engine, through_audio_graph=(midi.backend.api or "").upper() == "UNIX_JACK")
    midi.start()
    attach(app, midi, instruments)
    return midi


HUD_LINES = 4


def attach(app: Any, midi: MidiSystem, instruments: Sequence[str]) -> LearnMode:
    """Hook MIDI into the player through its extension points: learn keys and clicks
    (event filter), transport commands from a followed clock and learn's second step (frame
    hook), status lines (HUD), panic on quit; and between frames, controller actions and a
    clock's Start / Stop / Continue are applied as soon as they arrive (`app.idle`), so a knob
    is heard within a tick and a block, not a frame later."""
    import pygame

    from .system import CLOCK_STOP

    learn = LearnMode(midi, instruments)
    app.midi, app.learn_mode = midi, learn
    state: dict[str, Any] = {"lines": []}

    def on_event(ev: Any) -> bool:
        if ev.type == pygame.KEYDOWN:
            return learn.key(pygame.key.name(ev.key), bool(ev.mod & pygame.KMOD_SHIFT))
        if ev.type == pygame.MOUSEBUTTONDOWN and getattr(ev, "button", 0) == 1 and learn.active:
            knob = app.hud.knob_at(*ev.pos)
            if knob:
                return learn.knob(knob)
            if app._geom().contains(*ev.pos):
                return learn.map_click()
            return True
        return False

    def take_transport(a: Any) -> None:
        q = midi.transport_cmds
        while not q.empty():
            cmd = q.get_nowait()
            if cmd.kind == CLOCK_STOP:
                a.perf.playing = False
            else:  # Start, Continue, Song Position while running, a Link realignment
                a.locate(cmd.tick, cmd.at)

    def on_frame(a: Any) -> None:
        learn.poll()
        take_transport(a)
        state["lines"] = learn.status() + midi.status_lines()

    def idle(wait: float) -> None:
        end = app.clock() + wait
        while (left := end - app.clock()) > 0:
            if midi.wait_actions(left):
                app._drain_controls()
                take_transport(app)
                app.sync_at(app.engine.heard_position())

    app.event_filters.append(on_event)
    app.frame_hooks.append(on_frame)
    for k in range(HUD_LINES):
        app.hud_lines.append(lambda k=k: state["lines"][k] if k < len(state["lines"]) else "")
    app.shutdown_hooks.append(midi.close)
    if hasattr(app, "idle"):
        app.idle = idle
    return learn
