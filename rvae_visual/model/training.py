"""Training loops of both recipes (torch), reproducible from a seed.

`--recipe paper` reproduces R-VAE / M4L.RhythmVAE's loop as its code runs (see docs/architecture.md,
"What the originals do"): fewer than 64 clips are duplicated up to 64; the bars are shuffled
once and split 5/6 train, 1/6 validation; every epoch runs floor(N/64) batches of 64 drawn
cyclically from the training bars, then one validation batch of 128 drawn cyclically; the loss
is unmasked; Adam 1e-3; 150 epochs. One more fact of that code: its tfjs BatchNormalization
layers were called without `training=true`, so they ran in inference mode all along (moving
statistics frozen at mean 0, variance 1: a learned per-unit scale and shift). The paper recipe
keeps that too.

`--recipe default` (ours; every choice measured with bench/quality.py, see `DEFAULT`): every
training bar once per epoch in shuffled mini-batches of 8 (no duplication), true hits weighted
2x in the onset loss (F1 at threshold 0.5 is the decision that is played; unweighted BCE puts
too few hits above it), the velocity loss masked by the true onsets, the timing loss an absolute
error (the timing metric is a mean absolute error; offsets under half a tick are mostly noise in
performed clips, so the median, not the mean, is the target) masked too except for a weak pull
(0.2) towards "on the grid" where a bar has no hit, a per-instrument timing term shared by all
ticks (folded into the output layer on export), BatchNorm as the original effectively ran it (batch statistics of 8 bars measured
worse), a KL warm-up over the first quarter of the epochs, 1/6 of the bars held out and the
epoch with the best onset F1 on them kept (early stopping), a smaller network (128 units: the
data are a dozen clips), epochs chosen from the data (about 600 steps), and reproducibility from
the seed (same seed, same clips, same machine -> identical weights).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .. import __version__
from ..drum_map import DrumMap, default_drum_map
from ..pattern import METER_4_4, PPQN, TICKS_PER_BAR, Meter
from .clips import Clip
from .hitrule import HitRule, fit_window, hit_figures, inside_window
from .reading import DEFAULT_READING, offset_limit
from .decoder import LAYERS, NumpyVAE, fold_batchnorm
from .vae import (BN_EPS, LEAKY_SLOPE, TIMING_SCALE, TS_LOSS_COEF, VEL_LOSS_COEF, DenseBN, RhythmVAE,
                  default_loss, paper_loss)

RECIPES = ("default", "paper")
TRAIN_THREADS = 1  # small nets: one thread is as fast, and robust on a busy machine


@dataclass(frozen=True)
class RecipeConfig:
    """Everything a recipe decides; saved in the model file (`recipe_config`)."""

    recipe: str
    hidden: int
    lr: float
    batch_size: int
    epochs: int  # maximum epochs (0 = decide from the data: see `auto_epochs`)
    frozen_bn: bool  # BatchNorm in inference mode all along (statistics stay 0/1)
    # paper only
    paper_dup_clips: int = 64
    paper_val_batch: int = 128
    # default only
    target_steps: int = 600  # optimiser steps the automatic epoch count aims at
    min_epochs: int = 40
    max_auto_epochs: int = 600
    warmup_fraction: float = 0.25  # of the epochs: KL weight rises linearly 0 -> kl_weight
    kl_weight: float = 1.0
    patience_fraction: float = 0.2  # stop after this fraction of epochs without a better score
    val_fraction: float = 1.0 / 6.0  # bars held out for validation (none below 6 bars)
    val_metric: str = "f1"  # "f1": onset F1 at 0.5 on the held-out bars; "elbo": their loss
    off_hit_weight: float = 0.2  # weight of timing errors where the bar has no hit
    beat_rotation: float = 0.0  # probability of rotating a training bar by 1-3 whole beats
    bn_momentum: float = 0.01  # torch convention (tf momentum 0.99 = torch 0.01)
    timing_loss: str = "l1"  # "mse" | "l1" | "huber" (see vae.default_loss)
    velocity_loss: str = "mse"
    huber_delta: float = 0.1  # network units (offset x 2)
    timing_coef: float = 1.0  # x vae.TS_LOSS_COEF
    velocity_coef: float = 1.0  # x vae.VEL_LOSS_COEF
    pos_weight: float = 2.0  # weight of true hits in the onset BCE
    timing_instrument_bias: bool = True  # see vae.RhythmVAE
    # the timing loss per tick of error is kept as at timing_scale 2 (offsets of +-0.5 tick)
    # whatever the reading's offset range (default recipe only)
    timing_per_tick: bool = True


# The original's settings (see the module docstring).
PAPER = RecipeConfig(recipe="paper", hidden=512, lr=1e-3, batch_size=64, epochs=150, frozen_bn=True)
# Ours, chosen with bench/quality.py (3 seeds x 6 genre sets, held-out clips); measured and
# dropped: early stopping on the validation loss (stops at the end of the warm-up with a blurred,
# collapsed map: F1 0.40 vs 0.45), batch statistics in BatchNorm (F1 0.40-0.41), 256 or 512
# hidden units (no better, 2-6x slower, bigger files), batches of 32 (F1 0.42), KL weight 0.5
# (0.436), rotating bars by whole beats (0.427), fully masked timing (timing MAE 4.28 ms vs 3.84).
# Then (pooled over seeds 0-2; before: F1 0.450, timing MAE 3.840 ms): hits weighted 2x in the BCE
# (F1 0.479; 1.5x 0.474, 3x 0.473), + L1 timing (0.495, 3.831 ms; huber delta 0.05 3.827),
# + per-instrument timing term (0.483, 3.823), + off-hit pull 0.2 (0.484, 3.816; 0.5: 3.839,
# 1.0: 3.852, 0: 4.157). Measured and dropped: L1 velocity (no better), timing loss x0.5 / x2.
DEFAULT = RecipeConfig(recipe="default", hidden=128, lr=2e-3, batch_size=8, epochs=0,
                       frozen_bn=True)


def recipe_config(recipe: str, epochs: int | None = None, **overrides) -> RecipeConfig:
    """The configuration of `recipe`, with `epochs` and any field overridden."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; expected one of {', '.join(RECIPES)}")
    cfg = PAPER if recipe == "paper" else DEFAULT
    if epochs is not None:
        overrides["epochs"] = epochs
    return replace(cfg, **overrides)


@dataclass
class TrainSet:
    """Training bars: arrays (N, 3, instruments, 96) float32 (offsets in ticks), and where each
    bar comes from; all read in one meter with one reading."""

    arrays: np.ndarray
    clip_index: np.ndarray  # (N,) index into `clips`
    bar_index: list[int]  # bar of the clip's loop
    clips: list[dict]  # name, file, bpm, bars
    meter: Meter = METER_4_4
    reading: str = DEFAULT_READING

    @property
    def n_bars(self) -> int:
        """Number of bars."""
        return int(self.arrays.shape[0])

    @property
    def timing_scale(self) -> float:
        """Network timing unit per tick of offset: 1 / the reading's largest offset."""
        return 1.0 / offset_limit(self.reading)


def trainset_from_clips(clips: Sequence[Clip]) -> TrainSet:
    """Collect the bars of clips (as read by `read_clip` / `scan`); ValueError when they were
    read in different meters or with different readings."""
    meters = sorted({c.meter.name for c in clips})
    readings = sorted({c.reading for c in clips})
    if len(meters) > 1:
        raise ValueError(f"clips in different meters ({', '.join(meters)}); train one meter at a time")
    if len(readings) > 1:
        raise ValueError(f"clips read in different ways ({', '.join(readings)})")
    arrays, cidx, bidx, info = [], [], [], []
    for i, c in enumerate(clips):
        # the file name only: a model file carries no folder names from the trainer's disk
        info.append({"name": c.name, "file": Path(c.path).name, "bpm": round(float(c.bpm), 3),
                     "bars": len(c.patterns)})
        for b, p in zip(c.bar_indices, c.patterns):
            arrays.append(p.to_array())
            cidx.append(i)
            bidx.append(int(b))
    if not arrays:
        raise ValueError("no bars to train on")
    return TrainSet(np.stack(arrays).astype(np.float32), np.asarray(cidx), bidx, info,
                    clips[0].meter, clips[0].reading)


def velocity_means(arrays: np.ndarray, instruments: Sequence[str]) -> dict[str, float]:
    """Mean velocity (0..1) of each drum's hits in bars (N, 3, I, ticks); 0.0 for a drum never hit
    (the velocity baseline of `eval`)."""
    out = {}
    for i, n in enumerate(instruments):
        hit = arrays[:, 0, i] > 0.5
        out[n] = round(float(arrays[:, 1, i][hit].mean()), 5) if hit.any() else 0.0
    return out


# Below this many clips or bars a map is a few large plateaus of one rhythm each, not a
# continuous space (see `eval`'s largest_plateau and identical_neighbours).
FEW_CLIPS = 6
FEW_BARS = 12


def training_warnings(data: TrainSet, paths: Sequence[str] | None = None) -> list[str]:
    """What to warn about before training: too few clips for a continuous map; files that are
    identical (the same bars twice); `paths` are the clips' files, in `data.clips` order."""
    out = []
    n_clips = len(data.clips)
    if n_clips < FEW_CLIPS or data.n_bars < FEW_BARS:
        out.append(f"{n_clips} clip{'s' if n_clips != 1 else ''}, {data.n_bars} bars: too few for "
                   f"a continuous map (with fewer than {FEW_CLIPS} clips or {FEW_BARS} bars the map "
                   "is a few large plateaus of one rhythm each); a dozen clips is a good size")
    seen: dict[bytes, int] = {}
    for i in range(n_clips):
        rows = np.nonzero(data.clip_index == i)[0]
        key = data.arrays[rows].tobytes()
        if key in seen:
            a = data.clips[seen[key]]["file"]
            b = data.clips[i]["file"]
            out.append(f"{a} and {b} are identical: the same bars count twice")
        else:
            seen[key] = i
    return out


@dataclass
class EpochReport:
    """Progress after one epoch."""

    epoch: int  # 1-based
    epochs: int  # planned maximum
    loss: float
    val_loss: float | None
    best_epoch: int
    parts: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainResult:
    """A trained model as plain arrays, ready to save or play."""

    weights: dict[str, np.ndarray]  # folded, float32
    meta: dict
    history: list[dict]
    seconds: float
    best_epoch: int
    epochs_run: int
    stop_reason: str  # "completed" | "early stop" | "interrupted"

    @property
    def final_loss(self) -> float:
        """Training loss of the kept (best) epoch."""
        return self.history[self.best_epoch - 1]["loss"]

    @property
    def final_val_loss(self) -> float | None:
        """Validation loss of the kept epoch (None without validation bars)."""
        return self.history[self.best_epoch - 1]["val_loss"]


def _to_tensors(a: np.ndarray, rows: np.ndarray | None = None, scale: float = TIMING_SCALE
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = a if rows is None else a[rows]
    n = x.shape[0]
    flat = torch.from_numpy(np.ascontiguousarray(x.reshape(n, 3, -1)))
    return flat[:, 0], flat[:, 1], flat[:, 2] * scale


def rotate_beats(arrays: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """Rotate each bar by a random whole number of beats (1-3) with probability p."""
    if p <= 0:
        return arrays
    out = arrays.copy()
    shifts = rng.integers(1, 4, size=len(arrays)) * PPQN
    pick = rng.random(len(arrays)) < p
    for i in np.nonzero(pick)[0]:
        out[i] = np.roll(arrays[i], int(shifts[i]), axis=-1)
    return out


def auto_epochs(cfg: RecipeConfig, n_train: int) -> int:
    """Epochs for the default recipe: about `target_steps` optimiser steps, within bounds."""
    steps = max(1, math.ceil(n_train / cfg.batch_size))
    return int(min(cfg.max_auto_epochs, max(cfg.min_epochs, math.ceil(cfg.target_steps / steps))))


class Adam:
    """Adam (Kingma & Ba) with bias correction, on the parameters' own tensors.

    torch.optim.Adam would do the same, but constructing it imports torch's compiler stack
    (2-5 s here), which is most of the start-up a dozen-clip training run can afford."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr, (self.b1, self.b2), self.eps, self.wd = lr, betas, eps, weight_decay
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self) -> None:
        """Forget the gradients of the last step."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update from the current gradients."""
        self.t += 1
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        if self.wd:
            grads = torch._foreach_add(grads, self.params, alpha=self.wd)
        torch._foreach_mul_(self.m, self.b1)
        torch._foreach_add_(self.m, grads, alpha=1.0 - self.b1)
        torch._foreach_mul_(self.v, self.b2)
        torch._foreach_addcmul_(self.v, grads, grads, value=1.0 - self.b2)
        c1 = 1.0 - self.b1 ** self.t
        c2 = 1.0 - self.b2 ** self.t
        denom = torch._foreach_sqrt(self.v)
        torch._foreach_div_(denom, math.sqrt(c2))
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(self.params, self.m, denom, value=-self.lr / c1)


def export_weights(model: RhythmVAE) -> dict[str, np.ndarray]:
    """Eval-mode weights with BatchNorm folded in, as the numpy VAE takes them."""
    out: dict[str, np.ndarray] = {}
    with torch.no_grad():
        for name in LAYERS:
            mod = getattr(model, name)
            if isinstance(mod, DenseBN):
                bn = mod.bn
                mean, var = bn.running_mean, bn.running_var
                assert mean is not None and var is not None  # track_running_stats is on
                w, b = fold_batchnorm(
                    mod.linear.weight.numpy(), mod.linear.bias.numpy(), bn.weight.numpy(),
                    bn.bias.numpy(), mean.numpy().astype(np.float64),
                    var.numpy().astype(np.float64), bn.eps)
            else:
                wt, bt = model.timing_output() if name == "out_ts" else (mod.weight, mod.bias)
                w = wt.numpy().T.astype(np.float64)
                b = bt.numpy().astype(np.float64)
            out[f"{name}.W"] = w.astype(np.float32)
            out[f"{name}.b"] = b.astype(np.float32)
    return out


def _freeze_bn_stats(model: RhythmVAE) -> None:
    """Put every BatchNorm in inference mode (the original's tfjs behaviour)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.eval()


class _Determinism:
    """Seeded, fixed-thread torch for the duration of a training run.

    On the CPU the ops used here (matmul, BatchNorm, Adam) are deterministic for a fixed
    thread count; `torch.use_deterministic_algorithms` is not called because it imports
    torch's compiler stack (about 8 s here) and changes nothing for these ops."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __enter__(self) -> "_Determinism":
        self.prev_threads = torch.get_num_threads()
        torch.set_num_threads(TRAIN_THREADS)
        torch.manual_seed(self.seed)
        return self

    def __exit__(self, *exc) -> None:
        torch.set_num_threads(self.prev_threads)


def train(data: TrainSet, recipe: str = "default", epochs: int | None = None, seed: int = 0,
          drum_map: DrumMap | None = None,
          on_epoch: Callable[[EpochReport], None] | None = None,
          should_stop: Callable[[], bool] | None = None,
          config: RecipeConfig | None = None) -> TrainResult:
    """Train a model on `data` with a recipe; `should_stop()` is asked after every epoch
    (Ctrl-C) and the best weights so far are kept. Same seed, same data -> same weights."""
    cfg = config or recipe_config(recipe, epochs)
    dm = drum_map or default_drum_map()
    if data.arrays.shape[2] != dm.n_instruments:
        raise ValueError(f"bars have {data.arrays.shape[2]} instruments, drum map "
                         f"'{dm.name}' has {dm.n_instruments}")
    t0 = time.perf_counter()
    with _Determinism(seed):
        if cfg.recipe == "paper":
            model, history, best, reason, cfg = _train_paper(data, cfg, seed, on_epoch, should_stop)
        else:
            model, history, best, reason, cfg = _train_default(data, cfg, seed, on_epoch, should_stop)
        model.eval()
        weights = export_weights(model)
    seconds = time.perf_counter() - t0
    net = NumpyVAE(weights, dm.n_instruments, TICKS_PER_BAR, LEAKY_SLOPE, data.timing_scale)
    means = net.encode(data.arrays)
    landmarks = [
        {"clip": data.clips[int(c)]["name"], "bar": int(b), "z": [round(float(m[0]), 5), round(float(m[1]), 5)]}
        for c, b, m in zip(data.clip_index, data.bar_index, means)
    ]
    window = fit_window(means)
    rule = HitRule.from_bars(data.arrays[:, 0])
    meta = {
        "package_version": __version__,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "representation": {"ticks": TICKS_PER_BAR, "ppqn": PPQN, "instruments": list(dm.instruments),
                           "matrices": ["onset", "velocity", "offset"],
                           "offset_unit": f"ticks, [-{offset_limit(data.reading):g}, "
                                          f"{offset_limit(data.reading):g})",
                           "reading": data.reading},
        "drum_map": dm.to_dict(),
        "arch": {"hidden": cfg.hidden, "latent": 2, "leaky_slope": LEAKY_SLOPE,
                 "timing_scale": data.timing_scale, "batchnorm": "folded", "bn_eps": BN_EPS},
        "meter": data.meter.to_dict(),
        "recipe": cfg.recipe,
        "recipe_config": asdict(cfg),
        "seed": seed,
        "history": history,
        "best_epoch": best,
        "epochs_run": len(history),
        "stop_reason": reason,
        "train_seconds": round(seconds, 3),
        "clips": data.clips,
        "bars": data.n_bars,
        "landmarks": landmarks,
        "window": list(window),
        "window_inside": round(inside_window(means, window), 4),
        "hit_rule": rule.to_dict(dm.instruments),
        "clip_figures": hit_figures(data.arrays[:, 0] > 0.5, dm.instruments),
        "velocity_means": velocity_means(data.arrays, dm.instruments),
    }
    return TrainResult(weights, meta, history, seconds, best, len(history), reason)


def _report(on_epoch, epoch, epochs, loss, val, best, parts) -> None:
    if on_epoch is not None:
        on_epoch(EpochReport(epoch, epochs, loss, val, best, parts))


@dataclass
class PaperPlan:
    """How the original loop uses the data: rows of `TrainSet.arrays` after duplication and
    shuffling, the 5/6 train and 1/6 validation rows, and batches per epoch."""

    rows: np.ndarray  # all examples, duplicated and shuffled
    train_rows: np.ndarray
    test_rows: np.ndarray
    train_order: np.ndarray  # positions in train_rows, cycled through batch after batch
    test_order: np.ndarray
    batches_per_epoch: int


def paper_plan(data: TrainSet, cfg: RecipeConfig, rng: np.random.Generator) -> PaperPlan:
    """Duplicate fewer than 64 clips up to 64, shuffle, split 5/6 : 1/6, floor(N/64) batches."""
    n_clips = len(data.clips)
    clip_order = list(range(n_clips))
    if n_clips < cfg.paper_dup_clips:  # their duplication hack: repeat the folder up to 64 clips
        clip_order = [i % n_clips for i in range(cfg.paper_dup_clips)]
    rows = np.concatenate([np.nonzero(data.clip_index == c)[0] for c in clip_order])
    rows = rows[rng.permutation(len(rows))]
    total = len(rows)
    n_train = int(math.floor(total * 5 / 6))
    return PaperPlan(rows, rows[:n_train], rows[n_train:], rng.permutation(n_train),
                     rng.permutation(total - n_train),
                     total // cfg.batch_size)  # floor(N/64) of the whole set, not the train split


def _train_paper(data: TrainSet, cfg: RecipeConfig, seed: int, on_epoch, should_stop):
    """The original loop (see module docstring)."""
    rng = np.random.default_rng(seed)
    plan = paper_plan(data, cfg, rng)
    train_a, test_a = data.arrays[plan.train_rows], data.arrays[plan.test_rows]
    train_idx, test_idx = plan.train_order, plan.test_order
    n_batch = plan.batches_per_epoch
    model = RhythmVAE(data.arrays.shape[2], TICKS_PER_BAR, cfg.hidden)
    opt = Adam(model.parameters(), lr=cfg.lr, eps=1e-7)  # tfjs Adam epsilon
    history: list[dict] = []
    tr_ptr = te_ptr = 0
    reason = "completed"

    def cyclic(idx: np.ndarray, ptr: int, n: int) -> tuple[np.ndarray, int]:
        pos = (ptr + 1 + np.arange(n)) % len(idx)  # their index advances before use
        return idx[pos], int(pos[-1])

    for epoch in range(1, cfg.epochs + 1):
        model.train()
        if cfg.frozen_bn:
            _freeze_bn_stats(model)
        losses = []
        for _ in range(n_batch):
            sel, tr_ptr = cyclic(train_idx, tr_ptr, cfg.batch_size)
            batch = _to_tensors(train_a, sel, data.timing_scale)
            mu, logvar, out = model(*batch)
            loss, _ = paper_loss(batch, mu, logvar, out)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        val = None
        if len(test_a):
            sel, te_ptr = cyclic(test_idx, te_ptr, cfg.paper_val_batch)
            batch = _to_tensors(test_a, sel, data.timing_scale)
            with torch.no_grad():
                mu, logvar, out = model(*batch)
                val = float(paper_loss(batch, mu, logvar, out)[0])
        loss_avg = float(np.mean(losses)) if losses else float("nan")
        history.append({"epoch": epoch, "loss": round(loss_avg, 5),
                        "val_loss": None if val is None else round(val, 5)})
        _report(on_epoch, epoch, cfg.epochs, loss_avg, val, epoch, {})
        if should_stop is not None and should_stop() and epoch < cfg.epochs:
            reason = "interrupted"
            break
    # the original keeps the last weights, not the best
    return model, history, len(history), reason, cfg


def _default_loss(cfg: RecipeConfig, batch, mu, logvar, out, beta: float, ts_factor: float = 1.0):
    return default_loss(batch, mu, logvar, out, beta, cfg.off_hit_weight, cfg.timing_loss,
                        cfg.velocity_loss, cfg.huber_delta, cfg.pos_weight,
                        VEL_LOSS_COEF * cfg.velocity_coef, TS_LOSS_COEF * cfg.timing_coef * ts_factor)


def _evaluate_default(model: RhythmVAE, batch, cfg: RecipeConfig, ts_factor: float = 1.0
                      ) -> tuple[float, float]:
    """Validation at the latent mean (deterministic): (loss with full KL, onset F1 at 0.5)."""
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(*batch)
        out = model.decode_logits(mu)
        loss = float(_default_loss(cfg, batch, mu, logvar, out, 1.0, ts_factor)[0])
        pred = out[0] > 0.0
        true = batch[0] > 0.5
        tp = int((pred & true).sum())
        denom = int(pred.sum()) + int(true.sum())
        f1 = 2.0 * tp / denom if denom else 1.0
    return loss, f1


def _train_default(data: TrainSet, cfg: RecipeConfig, seed: int, on_epoch, should_stop):
    """Our loop (see module docstring)."""
    rng = np.random.default_rng(seed)
    n = data.n_bars
    order = rng.permutation(n)
    n_val = int(round(n * cfg.val_fraction)) if n >= 6 else 0
    val_rows, train_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
    train_a = data.arrays[train_rows]
    scale = data.timing_scale
    ts_factor = (TIMING_SCALE / scale) ** (2 if cfg.timing_loss == "mse" else 1) \
        if cfg.timing_per_tick else 1.0
    val_batch = _to_tensors(data.arrays, val_rows, scale) if n_val else None
    epochs = cfg.epochs or auto_epochs(cfg, len(train_a))
    cfg = replace(cfg, epochs=epochs)
    warmup = max(1, int(round(epochs * cfg.warmup_fraction)))
    patience = max(5, int(round(epochs * cfg.patience_fraction)))
    model = RhythmVAE(data.arrays.shape[2], TICKS_PER_BAR, cfg.hidden, bn_momentum=cfg.bn_momentum,
                      timing_instrument_bias=cfg.timing_instrument_bias)
    opt = Adam(model.parameters(), lr=cfg.lr)
    history: list[dict] = []
    best_state, best_score, best_epoch = None, math.inf, 0
    reason = "completed"
    bs = max(2, min(cfg.batch_size, len(train_a)))
    for epoch in range(1, epochs + 1):
        beta = cfg.kl_weight * min(1.0, epoch / warmup)
        model.train()
        if cfg.frozen_bn:
            _freeze_bn_stats(model)
        perm = rng.permutation(len(train_a))
        a = rotate_beats(train_a[perm], rng, cfg.beat_rotation)
        starts = list(range(0, len(a), bs))
        if len(starts) > 1 and len(a) - starts[-1] < 2:  # BatchNorm needs 2+ bars a batch
            starts.pop()
        losses, weights = [], []
        for k, s in enumerate(starts):
            e = starts[k + 1] if k + 1 < len(starts) else len(a)
            batch = _to_tensors(a[s:e], None, scale)
            mu, logvar, out = model(*batch)
            loss, _ = _default_loss(cfg, batch, mu, logvar, out, beta, ts_factor)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            weights.append(e - s)
        loss_avg = float(np.average(losses, weights=weights))
        val, val_f1 = _evaluate_default(model, val_batch if val_batch is not None else
                                        _to_tensors(train_a, None, scale), cfg, ts_factor)
        score = -val_f1 if cfg.val_metric == "f1" else val
        if val_batch is None:
            val = None
        # warm-up epochs optimise another objective; only full-KL epochs compete for "best"
        if epoch >= warmup and score < best_score:
            best_score, best_epoch = score, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        history.append({"epoch": epoch, "loss": round(loss_avg, 5),
                        "val_loss": None if val is None else round(val, 5)})
        _report(on_epoch, epoch, epochs, loss_avg, val, best_epoch or epoch, {"beta": beta})
        if should_stop is not None and should_stop() and epoch < epochs:
            reason = "interrupted"
            break
        if best_epoch and epoch - best_epoch >= patience:
            reason = "early stop"
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = len(history)
    return model, history, best_epoch, reason, cfg
