"""MIDI learn: pick a target action, the next control that moves is bound to it and saved at once.

`start(target)` is called from the main thread (the performer picked a control on screen);
`offer(msg)` from the MIDI polling thread with every incoming channel message while a target
is set. The new binding replaces the target's old ones (keeping their mode, so a relearned
encoder stays relative) and any other use of that control, takes effect with the next message,
and is written to the user's mapping file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..errors import InputError
from .mapping import Binding, Controller, all_actions, is_continuous, replace_binding
from .mapping_file import backup_path, save_learned


class Learn:
    """The learn state machine over a live Controller; `message` is one line for the HUD."""

    def __init__(self, controller: Controller, save_path: str | Path) -> None:
        self.controller = controller
        self.save_path = Path(save_path).expanduser()
        self.target: str | None = None
        self.message = ""
        self.learned: list[Binding] = []

    def start(self, target: str) -> None:
        """Wait for a control to bind to `target` (an action name); InputError if unknown."""
        actions = all_actions(self.controller.mapping.instruments)
        if target not in actions:
            raise InputError(f"cannot learn '{target}': not one of {', '.join(actions)}")
        self.target = target
        what = "a knob or fader" if is_continuous(target) else "a pad, key or button"
        self.message = f"learn {target}: move {what}"

    def cancel(self) -> None:
        """Leave learn mode without binding anything."""
        if self.target is not None:
            self.message = f"learn {self.target}: cancelled"
        self.target = None

    @property
    def active(self) -> bool:
        """True while waiting for a control."""
        return self.target is not None

    def offer(self, msg: Sequence[int]) -> Binding | None:
        """Bind `msg`'s control to the target if it is a CC or a note-on that fits; else None."""
        target = self.target
        if target is None or len(msg) < 3:
            return None
        status, ch, num, val = msg[0] & 0xF0, (msg[0] & 0x0F) + 1, msg[1], msg[2]
        if status == 0xB0:
            kind = "cc"
        elif status == 0x90 and val > 0 and not is_continuous(target):
            kind = "note"
        else:
            return None
        new_map = replace_binding(self.controller.mapping, Binding(target, kind, num, ch))
        binding = new_map.for_action(target)[0]
        self.controller.set_mapping(new_map)
        self.target = None
        self.learned.append(binding)
        try:
            path = save_learned(new_map, binding, self.save_path)
            kept = f" (the previous file is {backup_path(path).name})" if backup_path(path).exists() else ""
            self.message = f"learned {target} = {binding.source()}, saved to {path}{kept}"
        except OSError as e:
            self.message = f"learned {target} = {binding.source()}, NOT saved: {self.save_path}: {e.strerror or e}"
        return binding
