"""The models and kits at hand in a session: loading on a worker thread, a small cache to
switch back at once, the session's model and kit lists, dropped files, and training a new
map from a dropped folder in another process. No pygame; the window polls it once a frame.
"""

from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from ..errors import InputError
from .training_job import TrainingJob
from .messages import Messages

MODEL_CACHE = 4  # models kept ready to swap back in (about 15 MB each)
MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")

Prepare = Callable[[Any, Any, float], object]  # (model, grid, threshold) -> data for the window


class KitPlayer(Protocol):
    """What the library needs of the audio engine to switch kits."""

    @property
    def kit_name(self) -> str: ...
    @property
    def instruments(self) -> tuple[str, ...]: ...
    def set_kit(self, kit: str) -> None: ...


@dataclass
class Loaded:
    """A model ready to play: the numpy model, its decoded grid, and what the window made of it
    (`prepared` on the loading thread, `ui` when first shown)."""

    name: str
    ref: str  # bundled name or file path, as given to load_model
    model: Any
    grid: Any
    instruments: tuple[str, ...]
    prepared: object = None
    prepared_threshold: float | None = None
    ui: object = None
    info: dict = field(default_factory=dict)  # why it was loaded: name, requested (s), note


def loaded(ref: str, model: Any, grid: Any, prepared: object = None,
           prepared_threshold: float | None = None) -> Loaded:
    """A Loaded for `model` (its drum map names the instruments)."""
    dm = getattr(model, "drum_map", None)
    n = int(grid.onsets.shape[2])
    insts = tuple(dm.instruments) if dm is not None else tuple(f"inst{i}" for i in range(n))
    return Loaded(str(getattr(model, "name", ref)), ref, model, grid, insts, prepared, prepared_threshold)


def _load(ref: str, n: int, threshold: float, prepare: Prepare | None) -> Loaded:
    """Load a model, decode its grid over its map window and prepare it for the window (runs
    on the worker)."""
    from ..model.store import load_model

    model = load_model(ref)
    grid = model.grid(n=n)
    return loaded(ref, model, grid, prepare(model, grid, threshold) if prepare else None, threshold)


class ModelLibrary:
    """The session's models (current one, list, cache) and kits; loads happen off the main
    thread and `poll()` hands back what became ready. Listeners in `on_activate` hear of each
    model that becomes current."""

    def __init__(self, first: Loaded, messages: Messages, kit_player: KitPlayer,
                 models: Sequence[tuple[str, str]] = (), kits: Sequence[str] = (),
                 grid_n: int = 30, prepare: Prepare | None = None,
                 threshold: Callable[[], float] = lambda: 0.5,
                 train_args: Sequence[str] = (), clock: Callable[[], float] | None = None) -> None:
        import time

        self.messages = messages
        self.kit_player = kit_player
        self.grid_n = grid_n
        self.prepare = prepare
        self.threshold = threshold
        self.train_args = list(train_args)
        self.clock = clock or time.perf_counter
        self.current = first
        self._cache: OrderedDict[str, Loaded] = OrderedDict({first.ref: first})
        self.models: list[tuple[str, str]] = list(models)
        if not any(ref == first.ref for _, ref in self.models):
            self.models.insert(0, (first.name, first.ref))
        self.model_index = self._index_of(first.ref)
        self.kits: list[str] = list(kits)
        self.kit_name = str(kit_player.kit_name or (self.kits[0] if self.kits else ""))
        self.training: TrainingJob | None = None
        self.training_status = ""
        self.on_activate: list[Callable[[Loaded], None]] = []
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rvae-load")
        self._pending: list[tuple[str, Future, dict]] = []
        self._refused: set[str] = set()  # models that cannot play in this session (preloads)

    @property
    def extent(self) -> float:
        """Half the side of the current model's map window, latent units."""
        return float(self.current.grid.extent)

    def _index_of(self, ref: str) -> int:
        return next(i for i, (_, r) in enumerate(self.models) if r == ref)

    # -- models -----------------------------------------------------------------------------------
    def request_model(self, ref: str, label: str | None = None, fresh: bool = False, note: str = "") -> None:
        """Load a model on the worker; it becomes current when ready, the music goes on.
        Models played earlier come back at once unless `fresh` (a dropped or newly trained
        file is always read again). `note` is added to the HUD message."""
        info = {"name": label or ref, "ref": ref, "requested": self.clock(), "note": note}
        cached = None if fresh else self._cache.get(ref)
        if cached is not None:
            self._activate(cached, info)
            return
        fut = self._worker.submit(_load, ref, self.grid_n, self.threshold(), self.prepare)
        self._pending.append(("model", fut, info))

    def preload(self, ref: str) -> None:
        """Load a model on the worker into the cache without playing it (`is_ready` says when);
        `request_model` then swaps it in at once."""
        if (ref in self._cache or ref in self._refused
                or any(i.get("ref") == ref for k, _, i in self._pending if k == "preload")):
            return
        fut = self._worker.submit(_load, ref, self.grid_n, self.threshold(), self.prepare)
        self._pending.append(("preload", fut, {"name": ref, "ref": ref}))

    def is_ready(self, ref: str) -> bool:
        """True when model `ref` is in the cache (a request swaps it in at once)."""
        return ref in self._cache

    def _keep(self, new: Loaded) -> None:
        playing = tuple(self.kit_player.instruments or ())
        if playing and new.instruments != playing:
            self._refused.add(new.ref)
            self.messages.error(f"{new.ref}: model plays {', '.join(new.instruments)} but this session's kit "
                                f"plays {', '.join(playing)}; left out of the playlist")
            return
        self._cache[new.ref] = new
        self._cache.move_to_end(new.ref)
        for ref in list(self._cache):
            if len(self._cache) <= MODEL_CACHE:
                break
            if ref not in (new.ref, self.current.ref):
                del self._cache[ref]

    def step_model(self, step: int) -> None:
        """Load the next (+1) or previous (-1) model of the session's list."""
        if len(self.models) < 2:
            self.messages.say(f"only one model loaded ({self.current.name})")
            return
        self.model_index = (self.model_index + step) % len(self.models)
        name, ref = self.models[self.model_index]
        self.messages.say(f"loading model {name}")
        self.request_model(ref, name)

    def _arrived(self, new: Loaded, info: dict) -> None:
        playing = tuple(self.kit_player.instruments or ())
        if playing and new.instruments != playing:
            self.messages.error(f"{new.ref}: model plays {', '.join(new.instruments)} but this session's kit "
                                f"plays {', '.join(playing)}; start `rvae-visual play --model {new.ref}` to play it")
            return
        self._activate(new, info)

    def _activate(self, new: Loaded, info: dict) -> None:
        self._cache[new.ref] = new
        self._cache.move_to_end(new.ref)
        while len(self._cache) > MODEL_CACHE:
            self._cache.popitem(last=False)
        new.info = info
        self.current = new
        if not any(r == new.ref for _, r in self.models):
            self.models.append((new.name, new.ref))
        self.model_index = self._index_of(new.ref)
        for listener in self.on_activate:
            listener(new)
        self.messages.say(f"model {new.name}" + (f" ({info['note']})" if info.get("note") else ""))

    # -- kits -------------------------------------------------------------------------------------
    def request_kit(self, name: str) -> None:
        """Switch the drum kit on the worker thread (samples are read from disk)."""
        fut = self._worker.submit(self.kit_player.set_kit, name)
        self._pending.append(("kit", fut, {"name": name}))

    def step_kit(self, step: int) -> None:
        """Switch to the next (+1) or previous (-1) bundled kit."""
        if len(self.kits) < 2:
            self.messages.say(f"only one kit available ({self.kit_name})")
            return
        i = self.kits.index(self.kit_name) if self.kit_name in self.kits else 0
        self.request_kit(self.kits[(i + step) % len(self.kits)])

    # -- dropped files and training ---------------------------------------------------------------
    def handle_drop(self, path: str) -> None:
        """A model file loads; a folder of MIDI clips trains a new model in another process."""
        p = Path(path)
        if p.is_dir():
            self.start_training(p)
        elif p.suffix.lower() in MIDI_SUFFIXES:
            self.messages.error(f"{p}: drop the folder that holds your MIDI clips to train a map on them")
        elif p.exists():
            self.messages.say(f"loading model {p.name}")
            self.request_model(str(p), p.stem, fresh=True)
        else:
            self.messages.error(f"{p}: no such file or folder")

    def start_training(self, folder: Path) -> None:
        """Train on `folder` in a subprocess; the new model swaps in when done."""
        if self.training is not None and not self.training.finished:
            self.messages.error(f"{folder}: already training on {self.training.folder.name}; wait for it to finish")
            return
        try:
            self.training = TrainingJob(folder, extra_args=self.train_args)
        except OSError as e:
            self.messages.error(f"{folder}: cannot start training ({e})")
            return
        self.training_status = f"training on {folder.name} ..."
        self.messages.say(f"training a new map on {folder}")

    def _poll_training(self) -> None:
        job = self.training
        if job is None:
            return
        for ev in job.poll():
            for note in ev.notes:  # clips skipped, a model saved elsewhere: one line each
                self.messages.error(note)
            if ev.kind == "progress":
                self.training_status = (f"training {job.folder.name}: epoch {ev.epoch}/{ev.epochs}"
                                        f"  loss {ev.loss:.3f}")
            elif ev.kind == "done":
                secs = (ev.summary or {}).get("seconds")
                self.training_status = (f"trained {job.folder.name}"
                                        + (f" in {float(secs):.0f} s" if secs is not None else "")
                                        + f", saved {Path(ev.path).name}")
                self.request_model(ev.path, Path(ev.path).stem, fresh=True, note=f"saved to {ev.path}")
            else:
                self.training_status = ""
                msg = ev.message.removeprefix("rvae-visual: error: ")
                self.messages.error(msg if str(job.folder) in msg else f"{job.folder}: {msg}")

    # -- once a frame -----------------------------------------------------------------------------
    def poll(self) -> None:
        """Take up loads, kit switches and training events that finished since the last call."""
        keep = []
        for kind, fut, info in self._pending:
            if not fut.done():
                keep.append((kind, fut, info))
                continue
            err = fut.exception()
            if err is not None:
                if kind == "preload":
                    self._refused.add(info["ref"])
                self.messages.error(_one_line(err, info["ref" if kind in ("model", "preload") else "name"]))
            elif kind == "model":
                self._arrived(fut.result(), info)
            elif kind == "preload":
                self._keep(fut.result())
            else:
                self.kit_name = str(self.kit_player.kit_name or info["name"])
                self.messages.say(f"kit {self.kit_name}")
        self._pending = keep
        self._poll_training()

    def shutdown(self) -> None:
        """Stop training and the loader thread."""
        if self.training is not None:
            self.training.cancel()
        self._worker.shutdown(wait=False, cancel_futures=True)


def _one_line(err: BaseException, what: str) -> str:
    if isinstance(err, InputError):
        return str(err)
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return f"{what}: {text}"
