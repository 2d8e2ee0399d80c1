"""Wiring a session: messages, the model library and the conductor over one engine."""

from __future__ import annotations

import time
from typing import Any, Callable, Protocol, Sequence

from ..performance import Performance
from .conductor import Conductor, Engine
from .library import KitPlayer, ModelLibrary, Prepare, loaded
from .messages import Messages
from .scenes import SceneBank


class SessionEngine(Engine, KitPlayer, Protocol):
    """An engine that plays patterns and kits (what `start_session` needs)."""


def start_session(engine: SessionEngine, perf: Performance, model: Any, grid: Any, ref: str,
                  models: Sequence[tuple[str, str]] = (), kits: Sequence[str] = (),
                  grid_n: int = 30, fps: float = 60.0, script: Sequence[tuple[float, str, float]] = (),
                  train_args: Sequence[str] = (), prepare: Prepare | None = None,
                  clock: Callable[[], float] = time.perf_counter, scenes: SceneBank | None = None) -> Conductor:
    """A conductor playing `model` (its decoded `grid`, loaded as `ref`) on `engine`."""
    messages = Messages(clock)
    library = ModelLibrary(loaded(ref, model, grid), messages, engine, models=models, kits=kits,
                           grid_n=grid_n, prepare=prepare, threshold=lambda: perf.threshold,
                           train_args=train_args, clock=clock)
    return Conductor(engine, perf, library, messages, fps=fps, script=script, clock=clock, scenes=scenes)
