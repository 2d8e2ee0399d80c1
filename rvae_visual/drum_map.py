"""The drum map: instrument names, the MIDI notes each takes in, and the note each plays out.

It is data (a TOML file), not code: `default_drum_map()` reads the one shipped in the package,
`load_drum_map(path)` reads a user's (`--drum-map FILE`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import InputError
from .toml_file import read_toml


@dataclass(frozen=True)
class DrumMap:
    """Instruments in Pattern row order; `notes[i]` are the MIDI notes instrument i takes in."""

    name: str
    instruments: tuple[str, ...]
    out_notes: tuple[int, ...]
    notes: tuple[tuple[int, ...], ...]
    channel: int = 10  # 1-16

    def __post_init__(self) -> None:
        lookup = [-1] * 128
        for i, ns in enumerate(self.notes):
            for n in ns:
                lookup[n] = i
        object.__setattr__(self, "_lookup", tuple(lookup))

    @property
    def n_instruments(self) -> int:
        """Number of instruments (Pattern rows)."""
        return len(self.instruments)

    def instrument_of(self, note: int) -> int:
        """Instrument index for a MIDI note, or -1 when the map has no place for it."""
        return self._lookup[note]  # type: ignore[attr-defined]

    def to_dict(self) -> dict:
        """Plain data, for model files."""
        return {
            "name": self.name,
            "channel": self.channel,
            "instrument": [
                {"name": n, "out": o, "notes": list(ns)}
                for n, o, ns in zip(self.instruments, self.out_notes, self.notes)
            ],
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "drum map") -> "DrumMap":
        """Build and check a drum map from plain data (a parsed TOML file or a model file)."""

        def bad(what: str) -> InputError:
            return InputError(f"{source}: {what}")

        insts = data.get("instrument")
        if not isinstance(insts, list) or not insts:
            raise bad("needs at least one [[instrument]] table")
        names, outs, notes = [], [], []
        seen: dict[int, str] = {}
        for k, inst in enumerate(insts):
            if not isinstance(inst, dict):
                raise bad(f"instrument {k + 1} is not a table")
            name = inst.get("name")
            if not isinstance(name, str) or not name:
                raise bad(f"instrument {k + 1} has no name")
            ns = inst.get("notes")
            if not isinstance(ns, list) or not ns or not all(
                isinstance(n, int) and 0 <= n <= 127 for n in ns
            ):
                raise bad(f"instrument '{name}' needs notes = [..] of MIDI numbers 0-127")
            for n in ns:
                if n in seen:
                    raise bad(f"note {n} is in both '{seen[n]}' and '{name}'")
                seen[n] = name
            out = inst.get("out", ns[0])
            if not isinstance(out, int) or not 0 <= out <= 127:
                raise bad(f"instrument '{name}' has out = {out!r}, expected a MIDI note 0-127")
            names.append(name)
            outs.append(out)
            notes.append(tuple(ns))
        if len(set(names)) != len(names):
            raise bad("instrument names must be unique")
        channel = data.get("channel", 10)
        if not isinstance(channel, int) or not 1 <= channel <= 16:
            raise bad(f"channel = {channel!r}, expected 1-16")
        return cls(str(data.get("name", "custom")), tuple(names), tuple(outs), tuple(notes), channel)


def load_drum_map(path: str | Path) -> DrumMap:
    """Read a drum map TOML file; raises InputError with one line naming the file."""
    return DrumMap.from_dict(read_toml(path, "drum map"), source=str(path))


_DEFAULT: DrumMap | None = None


def default_drum_map() -> DrumMap:
    """The drum map shipped with the package: kick, snare, hi-hat (GM + GMD notes)."""
    global _DEFAULT
    if _DEFAULT is None:
        text = resources.files("rvae_visual.data").joinpath("drum_map.toml").read_text("utf-8")
        _DEFAULT = DrumMap.from_dict(tomllib.loads(text), source="built-in drum map")
    return _DEFAULT
