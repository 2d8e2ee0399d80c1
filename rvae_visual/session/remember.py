"""Remembered settings (`play --remember`, on in installation mode): what plays (model, kit,
head, knobs) and the scenes, saved every `SAVE_EVERY_S` while something changed and on quit,
always through a temporary file and a rename, and restored at the next start."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..controls import GLIDE_MAX, QUANTIZE, SCENES
from ..errors import InputError
from ..outfiles import os_reason, write_text_atomic
from ..toml_file import read_toml
from .messages import Messages
from .scenes import HEADER, Scene, scene_from_toml

SAVE_EVERY_S = 30.0
FILE_NAME = "remembered.toml"


def default_state_file() -> Path:
    """$XDG_STATE_HOME/rvae-visual/remembered.toml (~/.local/state/... by default)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "rvae-visual" / FILE_NAME


@dataclass
class Remembered:
    """What a state file holds: the state (a scene), quantize, glide (beats), the scenes."""

    state: Scene | None = None
    quantize: str | None = None
    glide: float | None = None
    scenes: dict[int, Scene] = field(default_factory=dict)


def read_remembered(path: Path) -> tuple[Remembered, str | None]:
    """The remembered settings, and one line when the file is broken (then nothing is taken
    from it); a missing file is no settings and no line."""
    if not path.exists():
        return Remembered(), None
    try:
        data = read_toml(path, "a remembered-settings file")
        out = Remembered()
        if "state" in data:
            out.state = scene_from_toml(data["state"])
        q = data.get("quantize")
        if q is not None:
            if q not in QUANTIZE:
                raise ValueError(f"quantize {q!r} is not one of {', '.join(QUANTIZE)}")
            out.quantize = q
        g = data.get("glide")
        if g is not None:
            if isinstance(g, bool) or not isinstance(g, (int, float)) or not 0 <= g <= GLIDE_MAX:
                raise ValueError(f"glide must be 0..{GLIDE_MAX:g} beats")
            out.glide = float(g)
        scenes = data.get("scenes", {})
        if not isinstance(scenes, dict):
            raise ValueError("scenes must be tables")
        for key, table in scenes.items():
            slot = int(key)
            if not 1 <= slot <= SCENES:
                raise ValueError(f"scene slot {key} is not 1..{SCENES}")
            out.scenes[slot] = scene_from_toml(table)
        return out, None
    except (InputError, ValueError) as e:
        return Remembered(), f"{path}: remembered settings not used ({e}); starting from the defaults"


def remembered_text(state: Scene, quantize: str, glide: float, scenes: dict[int, Scene]) -> str:
    """The state file's text."""
    return "\n".join([HEADER.replace("scenes 1-8, written by `rvae-visual play --set` after every store",
                                     "remembered settings, written by `rvae-visual play --remember`"),
                      f'quantize = "{quantize}"', f"glide = {glide:g}", "", state.to_toml("state")]
                     + [scenes[s].to_toml(s) for s in sorted(scenes)])


class Rememberer:
    """Saves `text()` to `path` when it changed, at most every `every_s` s, and on `close`."""

    def __init__(self, path: Path, text: Callable[[], str], messages: Messages, every_s: float = SAVE_EVERY_S) -> None:
        self.path = path
        self.text = text
        self.messages = messages
        self.every_s = every_s
        self._saved: str | None = None
        self._last = float("-inf")
        self._failed = False
        self.saves = 0

    def maybe_save(self, now: float) -> None:
        """Once a frame (`now` in s): save if due and something changed."""
        if now - self._last >= self.every_s:
            self._last = now
            self.save()

    def save(self) -> None:
        """Write the file now if it changed; a failure is one line (once until it works again)."""
        text = self.text()
        if text == self._saved:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.path, text)
        except OSError as e:
            if not self._failed:
                self.messages.error(f"{self.path}: settings not remembered ({os_reason(e)}); the music goes on")
            self._failed = True
            return
        self._failed = False
        self._saved = text
        self.saves += 1
