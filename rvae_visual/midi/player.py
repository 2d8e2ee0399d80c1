"""What the player needs from MIDI, without pygame: MIDI learn mode driven by keys and clicks,
and `start_midi`, which opens MIDI for `rvae-visual play` against the player's seam.

Learn mode: the performer presses the learn key (Tab), then picks a control on screen — clicks
a knob (threshold, noise) or the map (head X, then head Y), or presses the key of a control
(the key table of rvae_visual.controls: Q/W/E mutes, R mute all, Space start/stop, Enter
listen, +/- tempo, M/Shift+M models, K/Shift+K kits, Up/Down threshold, Left/Right noise) — and
then moves a knob or presses a pad on the controller. The binding works at once and is saved
to the user's mapping file.
"""

from __future__ import annotations

import argparse
import queue
from typing import Callable, Sequence

from ..clock import TransportControl
from ..controls import DEFAULT_INSTRUMENTS, vocabulary
from ..drum_map import DrumMap
from .notes_out import TransportView
from .mapping import resolve_controller
from .system import MidiConfig, MidiSystem


class LearnMode:
    """Learn mode on top of a MidiSystem: pick a control, then move a control on the device."""

    LEARN_KEY = "tab"

    def __init__(self, midi: MidiSystem, instruments: Sequence[str] = DEFAULT_INSTRUMENTS) -> None:
        self.midi = midi
        self.keys = vocabulary(tuple(instruments)).learn_keys()
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


def check_midi_args(args: argparse.Namespace, drum_map: DrumMap | None = None) -> str | None:
    """Check what the MIDI options name before anything starts: InputError (one line naming the
    file) for a bad --controller mapping, even when no --midi-in would use it. Returns a warning
    line when an option has no effect, else None."""
    cfg = MidiConfig.from_args(args, drum_map)
    if cfg.controller is None:
        return None
    resolve_controller(cfg.controller, cfg.user_mapping, cfg.instruments)
    if not cfg.midi_in:
        return f"--controller {cfg.controller}: not used without --midi-in"
    return None


def start_midi(args: argparse.Namespace, actions: queue.SimpleQueue[tuple[str, float]],
               get_value: Callable[[str], float | None], transport: TransportControl,
               view: Callable[[bool], Callable[[], TransportView]],
               drum_map: DrumMap | None = None) -> MidiSystem | None:
    """Start MIDI for `rvae-visual play` if any MIDI option asks for it (None otherwise).

    The player's seam: `actions`, its control queue; `get_value(name)`, a control's current
    value; `transport`, what a followed clock drives; `view(through_audio_graph)`, a
    TransportView source of the audio engine for MIDI out. InputError for a wrong port name or
    mapping file; missing ports are reported and waited for."""
    cfg = MidiConfig.from_args(args, drum_map)
    if not cfg.enabled:
        return None
    midi = MidiSystem(cfg, actions, get_value=get_value, transport=transport)
    # JACK MIDI shares the audio graph's buffering: notes leave when their block is computed
    midi.view = view((midi.backend.api or "").upper() == "UNIX_JACK")
    midi.start()
    return midi
