"""Models shipped in the package (`rvae_visual/data/models/<name>.npz`): list and find them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# The player's default (falls back to the first bundled model): the most varied map of the
# bundled ones by `eval` (the most distinct patterns of the 900; see data/models/README.md).
DEFAULT_MODEL = "gmd-latin"


def models_dir() -> Path:
    """The folder of bundled model files."""
    return Path(str(resources.files("rvae_visual.data").joinpath("models")))


def _names() -> list[str]:
    d = models_dir()
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.npz") if p.is_file())


def default_model_name() -> str:
    """Name of the model the player opens when none is given ("" when none is bundled)."""
    names = _names()
    if DEFAULT_MODEL in names:
        return DEFAULT_MODEL
    return names[0] if names else ""


def bundled_models() -> list[tuple[str, str]]:
    """(name, path) of every bundled model, the default first, then by name."""
    names = _names()
    default = default_model_name()
    ordered = ([default] if default else []) + [n for n in names if n != default]
    d = models_dir()
    return [(n, str(d / f"{n}.npz")) for n in ordered]


def find_bundled(name: str) -> str | None:
    """Path of the bundled model called `name` (case-insensitive), or None."""
    for n, p in bundled_models():
        if n.lower() == name.lower():
            return p
    return None
