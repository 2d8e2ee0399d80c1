"""Scenes: snapshots of what plays (head, thresholds, noise, mutes, tempo, swing, model, kit) in
numbered slots, and the set file (TOML) that keeps them between runs.

A set file is read once at start (`SceneBank.load`) and written back whole, through a temporary
file and a rename, after every store. A missing file is a note (stores will create it); a broken
one is one line, play goes on with empty scenes, and the broken file is moved aside (never
overwritten) before the first store writes the new one.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..controls import SCENES, SWING_MAX, SWING_MIN, TRIM, BPM_MAX, BPM_MIN, NOISE_MAX
from ..errors import InputError
from ..outfiles import os_reason, write_text_atomic
from ..toml_file import read_toml

HEADER = "# rvae-visual set: scenes 1-8, written by `rvae-visual play --set` after every store\n"


@dataclass(frozen=True)
class Scene:
    """One scene. `head` in latent units; thresholds 0..1 and trims (per instrument name, from
    the global threshold) -0.5..0.5; `mutes`: the instruments latched silent; tempo in BPM,
    swing in percent; `model` the model reference it was stored with, `kit` the kit's name."""

    head: tuple[float, float]
    threshold: float
    noise: float = 0.0
    trims: dict[str, float] = field(default_factory=dict)
    mutes: tuple[str, ...] = ()
    mute_all: bool = False
    tempo: float = 120.0
    swing: float = SWING_MIN
    model: str = ""
    model_name: str = ""
    kit: str = ""

    def to_toml(self, slot: int | str) -> str:
        """This scene as the `[scenes.N]` table of a set file (a named table for a string)."""
        q = json.dumps  # a JSON string is a TOML basic string
        trims = ", ".join(f"{q(k)} = {v:.6g}" for k, v in self.trims.items())
        return "\n".join([
            f"[scenes.{slot}]" if isinstance(slot, int) else f"[{slot}]",
            f"head = [{self.head[0]:.9g}, {self.head[1]:.9g}]",
            f"threshold = {self.threshold:.6g}",
            f"noise = {self.noise:.6g}",
            f"thresholds = {{ {trims} }}" if trims else "thresholds = {}",
            f"mutes = [{', '.join(q(m) for m in self.mutes)}]",
            f"mute_all = {'true' if self.mute_all else 'false'}",
            f"tempo = {self.tempo:.6g}",
            f"swing = {self.swing:.6g}",
            f"model = {q(self.model)}",
            f"model_name = {q(self.model_name)}",
            f"kit = {q(self.kit)}",
            "",
        ])


def _number(d: dict, key: str, lo: float, hi: float, default: float | None = None) -> float:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{key} must be a number")
    if not lo <= v <= hi:
        raise ValueError(f"{key} {v:g} is outside {lo:g}..{hi:g}")
    return float(v)


def scene_from_toml(d: object) -> Scene:
    """A Scene from a set file's `[scenes.N]` table; ValueError saying what is wrong."""
    if not isinstance(d, dict):
        raise ValueError("not a table")
    head = d.get("head")
    if (not isinstance(head, list) or len(head) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in head)):
        raise ValueError("head must be [z1, z2], two numbers")
    trims = d.get("thresholds", {})
    if not isinstance(trims, dict):
        raise ValueError("thresholds must be a table of instrument = offset")
    mutes = d.get("mutes", [])
    if not isinstance(mutes, list) or not all(isinstance(m, str) for m in mutes):
        raise ValueError("mutes must be a list of instrument names")
    for key in ("model", "model_name", "kit"):
        if not isinstance(d.get(key, ""), str):
            raise ValueError(f"{key} must be a string")
    if not isinstance(d.get("mute_all", False), bool):
        raise ValueError("mute_all must be true or false")
    return Scene(
        head=(float(head[0]), float(head[1])),
        threshold=_number(d, "threshold", 0.0, 1.0),
        noise=_number(d, "noise", 0.0, NOISE_MAX, 0.0),
        trims={str(k): _number(trims, k, -TRIM, TRIM) for k in trims},
        mutes=tuple(mutes),
        mute_all=bool(d.get("mute_all", False)),
        tempo=_number(d, "tempo", BPM_MIN, BPM_MAX, 120.0),
        swing=_number(d, "swing", SWING_MIN, SWING_MAX, SWING_MIN),
        model=str(d.get("model", "")),
        model_name=str(d.get("model_name", "")),
        kit=str(d.get("kit", "")),
    )


class SceneBank:
    """SCENES slots (1..SCENES), and the set file they are saved in (None: kept in memory only)."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.slots: dict[int, Scene] = {}
        self._broken = False  # the file on disk is not ours to overwrite until moved aside
        self.moved_aside: Path | None = None  # where a broken set file was kept

    @property
    def broken(self) -> bool:
        """The set file read at start was broken (it is moved aside before the first save)."""
        return self._broken

    def get(self, slot: int) -> Scene | None:
        """Scene `slot`, or None when that slot is empty."""
        return self.slots.get(slot)

    def load(self) -> str | None:
        """Read the set file; returns one line for the HUD (a note or an error) or None. On any
        error the bank starts empty (bad scenes are left out, the rest kept)."""
        if self.path is None:
            return None
        if not self.path.exists():
            return f"set file {self.path} not found: scenes start empty and a store creates it"
        try:
            data = read_toml(self.path, "a set file")
        except InputError as e:
            self._broken = True
            return f"{e}; scenes start empty"
        scenes = data.get("scenes", {})
        if not isinstance(scenes, dict):
            self._broken = True
            return f"{self.path}: [scenes] must be tables [scenes.1] .. [scenes.{SCENES}]; scenes start empty"
        bad = []
        for key, table in scenes.items():
            try:
                slot = int(key)
                if not 1 <= slot <= SCENES:
                    raise ValueError(f"slot {key} is not 1..{SCENES}")
                self.slots[slot] = scene_from_toml(table)
            except ValueError as e:
                bad.append(f"scene {key}: {e}")
        if bad:
            self._broken = True
            return f"{self.path}: left out {'; '.join(bad)}"
        return None

    def store(self, slot: int, scene: Scene) -> str | None:
        """Keep `scene` in `slot` and write the set file; returns an error line when the file
        could not be written (the scene is kept in memory either way)."""
        if not 1 <= slot <= SCENES:
            return f"no scene slot {slot} (1..{SCENES})"
        self.slots[slot] = scene
        return self.save()

    def text(self) -> str:
        """The set file's text for the scenes held now."""
        return HEADER + "\n" + "\n".join(self.slots[s].to_toml(s) for s in sorted(self.slots))

    def save(self) -> str | None:
        """Write the set file (when there is one); an error line, or None."""
        if self.path is None:
            return None
        try:
            if self._broken and self.path.exists():
                keep = self.path.with_name(self.path.name + ".broken")
                os.replace(self.path, keep)
                self.moved_aside = keep
            self._broken = False
            write_text_atomic(self.path, self.text())
        except OSError as e:
            return f"{self.path}: set file not saved ({os_reason(e)}); the scenes are kept until quit"
        return None
