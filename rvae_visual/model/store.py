"""A trained model ready to play: numpy only (the play and render path never imports torch).

    model = load_model()            # the default bundled model
    model = load_model("trap")      # a bundled model by name
    model = load_model("my.npz")    # a model file
    pattern = model.decode_pattern(0.5, -1.2)
    grid = model.grid()             # 30 x 30 cell centres over the model's window

Every decoded onset probability has gone through the model's hit rule (`hitrule.HitRule`), so
whatever thresholds a Pattern (map picture, audio, MIDI out, render, export) plays hits a
drummer could play.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..drum_map import DrumMap
from ..errors import InputError
from ..pattern import TICKS_PER_BAR, Meter, Pattern
from .bundled import bundled_models, default_model_name, find_bundled
from .decoder import NumpyVAE
from .grid import GRID_N, LatentGrid, build_grid
from .hitrule import LEGACY_WINDOW, HitRule
from .reading import check_reading
from .modelfile import read_model_file

__all__ = ["PlayModel", "load_model", "bundled_models", "default_model_name", "model_from_arrays"]


class PlayModel:
    """Decoder and encoder of a model file, its drum map, metadata and landmarks."""

    def __init__(self, weights: dict[str, np.ndarray], meta: dict, name: str,
                 path: str | None = None) -> None:
        self.name = name
        self.path = path
        self.meta = meta
        source = path or name
        self.drum_map = DrumMap.from_dict(meta.get("drum_map") or {}, source=f"{source} (drum map)")
        rep = meta["representation"]
        ticks = int(rep["ticks"])
        if ticks != TICKS_PER_BAR:
            raise InputError(f"{source}: model has {ticks} ticks a bar; this build plays {TICKS_PER_BAR}")
        if len(rep["instruments"]) != self.drum_map.n_instruments:
            raise InputError(f"{source}: corrupt model file (drum map and representation disagree)")
        arch = meta["arch"]
        self.net = NumpyVAE(weights, self.drum_map.n_instruments, ticks,
                            float(arch.get("leaky_slope", 0.3)), float(arch.get("timing_scale", 2.0)))
        self.landmarks: list[tuple[str, float, float]] = [
            (landmark_label(m), float(m["z"][0]), float(m["z"][1])) for m in meta.get("landmarks", [])
        ]
        self.meter = Meter.from_dict(meta.get("meter"))
        self.reading = check_reading(rep.get("reading", "nearest"))
        window = meta.get("window") or LEGACY_WINDOW
        self.window: tuple[float, float, float, float] = tuple(float(v) for v in window)  # type: ignore[assignment]
        if len(self.window) != 4 or not (self.window[0] < self.window[1] and self.window[2] < self.window[3]):
            raise InputError(f"{source}: corrupt model file (map window {window!r})")
        rule = meta.get("hit_rule")
        self.hit_rule: HitRule | None = HitRule.from_dict(rule, self.drum_map.instruments) if rule else None
        self._grid: LatentGrid | None = None

    @property
    def n_instruments(self) -> int:
        """Instruments per Pattern."""
        return self.drum_map.n_instruments

    @property
    def extent(self) -> float:
        """Half-width of the map window (latent units); the window is centred on the origin."""
        a, b, c, d = self.window
        return max(abs(a), abs(b), abs(c), abs(d))

    def check_point(self, z1: float, z2: float, what: str) -> None:
        """Refuse (InputError) a latent point outside the map this model shows: the square of
        half-width `extent` latent units that play draws; `what` names the option."""
        e = self.extent
        if not (abs(z1) <= e and abs(z2) <= e):
            raise InputError(f"{what} {z1:g},{z2:g} is outside the map of model '{self.name}' "
                             f"(-{e:.2f} to {e:.2f} on both axes)")

    def decode_split(self, z: np.ndarray) -> np.ndarray:
        """Latent points (N, 2) -> (3, N, instruments, 96) float32: onset probability after the
        hit rule, velocity 0..1, offset in ticks (see `NumpyVAE.decode_split`)."""
        out = self.net.decode_split(z)
        if self.hit_rule is not None:
            self.hit_rule.apply(out[0])
        return out

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Latent points (N, 2) -> (N, 3, instruments, 96) float32: onset probability (after the
        hit rule), velocity 0..1, offset in ticks."""
        return np.ascontiguousarray(self.decode_split(z).transpose(1, 0, 2, 3))

    def decode_raw(self, z: np.ndarray) -> np.ndarray:
        """As `decode`, without the hit rule (the network's own probabilities)."""
        return self.net.decode(z)

    def decode_pattern(self, z1: float, z2: float) -> Pattern:
        """The Pattern at one latent point."""
        out = self.decode_split(np.array([[z1, z2]], np.float32))[:, 0]
        return Pattern(out[0], out[1], out[2])

    def encode(self, patterns: list[Pattern]) -> np.ndarray:
        """Latent means (N, 2) of Patterns."""
        if not patterns:
            return np.zeros((0, self.net.latent), np.float32)
        for p in patterns:
            if p.n_instruments != self.n_instruments:
                raise ValueError(f"pattern has {p.n_instruments} instruments, model "
                                 f"'{self.name}' has {self.n_instruments}")
        return self.net.encode(np.stack([p.to_array() for p in patterns]))

    def grid(self, n: int = GRID_N, extent: float | None = None) -> LatentGrid:
        """The n x n decoded grid over [-extent, extent]^2 (default: the model's window), the
        hit rule applied (cached: computed once per n and extent)."""
        ext = self.extent if extent is None else float(extent)
        g = self._grid
        if g is None or g.n != n or g.extent != ext:
            g = build_grid(self.decode_split, n, ext)
            self._grid = g
        return g

    def __repr__(self) -> str:
        return f"PlayModel({self.name!r}, path={self.path!r})"


def landmark_label(m: dict) -> str:
    """Label of a landmark: clip name and 1-based bar."""
    return f"{m.get('clip', '?')}:{int(m.get('bar', 0)) + 1}"


def model_from_arrays(weights: dict[str, np.ndarray], meta: dict, name: str = "model") -> PlayModel:
    """A PlayModel straight from weights and metadata (as training produces them)."""
    return PlayModel({k: np.asarray(v, np.float32) for k, v in weights.items()}, meta, name)


def load_model(path: str | os.PathLike | None = None) -> PlayModel:
    """Load a model file, or a bundled model by name (None = the default bundled model).

    Raises InputError (one line naming the file) when it cannot be used."""
    if path is None:
        name = default_model_name()
        if not name:
            raise InputError("no bundled models in this installation; train one with "
                             "`rvae-visual train CLIPS -o MODEL.npz`")
        path = find_bundled(name)
        assert path is not None
    p = Path(path)
    if not p.exists():
        found = find_bundled(str(path)) if os.sep not in str(path) else None
        if found is None:
            names = ", ".join(n for n, _ in bundled_models()) or "none"
            raise InputError(f"{path}: no such model file or bundled model (bundled: {names})")
        p = Path(found)
    weights, meta = read_model_file(p)
    try:
        return PlayModel(weights, meta, p.stem, str(p))
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{p}: corrupt model file (bad metadata: {e})") from None
