"""`rvae-visual train CLIPS... -o MODEL [--recipe default|paper] [--epochs N] [--seed S] [--json]`."""

from __future__ import annotations

from typing import Any

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from ..errors import InputError
from ..outfiles import check_output_file, save_or_fallback
from .common import add_drum_map_option, add_reading_option, drum_map_from, positive_int

DESCRIPTION = (
    "Train a model on MIDI clips (files or folders, read as `scan` reads them: unusable files are "
    "skipped and reported). Shows a progress bar with epoch, loss and validation loss and ends "
    "with a summary. Ctrl-C stops after the current epoch and still saves the best model so far. "
    "Exit 1 when no clip is usable, 2 when MODEL cannot be written (checked before training), "
    "3 when writing MODEL failed after training: the model is then saved in your data folder "
    "(or the current or temporary folder) and that path is printed."
)

MODEL_BYTES_NEEDED = 1024 * 1024  # a model file is about 650 kB (float32)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `train`."""
    p.add_argument("paths", nargs="+", metavar="CLIPS", help="MIDI files or folders (recursive)")
    p.add_argument("-o", "--output", required=True, metavar="MODEL",
                   help="model file to write (.npz)")
    p.add_argument("--recipe", choices=("default", "paper"), default="default",
                   help="default: ours; paper: the original R-VAE training, as a baseline")
    p.add_argument("--epochs", type=positive_int, metavar="N",
                   help="epochs (default: paper 150; default recipe: chosen from the data, "
                        "with early stopping)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="random seed; the same seed and clips give the same model (default 0)")
    p.add_argument("--json", action="store_true",
                   help="last stdout line: one JSON object with the summary")
    p.add_argument("--progress", choices=("bar", "jsonl", "none"), default=None,
                   help="progress display: bar (stderr, the default), jsonl (one JSON line per "
                        "epoch on stdout, then the summary line), none")
    p.add_argument("--float16", action="store_true",
                   help="store weights as float16 (half the file size)")
    p.add_argument("--min-hits", type=positive_int, default=1, metavar="N",
                   help="skip bars with fewer hits (default 1)")
    add_reading_option(p)
    add_drum_map_option(p)


class _StopFlag:
    """First Ctrl-C: finish the epoch, then stop and save. Second Ctrl-C: abort at once."""

    def __init__(self) -> None:
        self.requested = False
        self._prev: Any = None

    def __enter__(self) -> "_StopFlag":
        try:
            self._prev = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: Ctrl-C stays a KeyboardInterrupt
            self._prev = None
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nrvae-visual: stopping after this epoch (Ctrl-C again to abort without saving)",
              file=sys.stderr, flush=True)

    def __exit__(self, *exc) -> None:
        if self._prev is not None:
            signal.signal(signal.SIGINT, self._prev)


def _check_output(path: Path) -> None:
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a model file name such as {path / 'model.npz'}")
    check_output_file(path, "model", MODEL_BYTES_NEEDED)


def run(args: argparse.Namespace) -> int:
    """Read clips, train, save; exit 0 on a saved model, 1 when no clip is usable."""
    t0 = time.perf_counter()
    from ..model.scan import scan

    dm = drum_map_from(args)
    out_path = Path(args.output)
    _check_output(out_path)
    progress = args.progress or ("none" if args.json and not sys.stderr.isatty() else "bar")

    entries = scan(args.paths, dm, args.min_hits, roundtrip=False, reading=args.reading)
    ok = [e for e in entries if e.status == "ok"]
    skipped = [e for e in entries if e.status != "ok"]
    if ok:  # one meter per model: the meter of most clips; the others are skipped
        from collections import Counter

        meter = Counter(e.meter for e in ok).most_common(1)[0][0]
        for e in ok:
            if e.meter != meter:
                e.status, e.reason = "skipped", f"{e.path}: in {e.meter}; the other clips are in {meter}"
        skipped += [e for e in ok if e.status != "ok"]
        ok = [e for e in ok if e.status == "ok"]
    for e in entries:
        for w in e.warnings:
            print(f"warning: {w}", file=sys.stderr)
    for e in skipped:
        print(f"skipped: {e.reason}", file=sys.stderr)
    if not ok:
        print(f"rvae-visual: error: no usable clips in {', '.join(map(str, args.paths))} "
              f"({len(skipped)} skipped); nothing to train on", file=sys.stderr)
        return 1

    from ..model.modelfile import save_model_file
    from ..model.training import train, trainset_from_clips

    from ..model.training import training_warnings

    data = trainset_from_clips([e.clip for e in ok if e.clip is not None])
    for w in training_warnings(data):
        print(f"warning: {w}", file=sys.stderr)
    print(f"training ({args.recipe} recipe) on {len(ok)} clips, {data.n_bars} bars"
          + (f"; {len(skipped)} skipped" if skipped else ""), file=sys.stderr, flush=True)

    bar = None

    def on_epoch(r) -> None:
        nonlocal bar
        if progress == "jsonl":
            print(json.dumps({"epoch": r.epoch, "epochs": r.epochs, "loss": round(r.loss, 5),
                              "val_loss": None if r.val_loss is None else round(r.val_loss, 5)}),
                  flush=True)
        elif progress == "bar":
            if bar is None:
                from tqdm import tqdm

                bar = tqdm(total=r.epochs, desc="training", unit="epoch", file=sys.stderr,
                           dynamic_ncols=True, leave=True)
            post = {"loss": f"{r.loss:.2f}"}
            if r.val_loss is not None:
                post["val_loss"] = f"{r.val_loss:.2f}"
            bar.set_postfix(post, refresh=False)
            bar.update(1)

    with _StopFlag() as stop:
        try:
            result = train(data, args.recipe, args.epochs, args.seed, dm, on_epoch,
                           lambda: stop.requested)
        finally:
            if bar is not None:
                bar.close()
    meta = dict(result.meta)
    # names only: a model file carries no folder names from the trainer's disk
    meta["trained_on"] = " ".join(Path(p).name or str(p) for p in args.paths)
    meta["skipped_clips"] = [Path(e.path).name for e in skipped]
    dtype = "float16" if args.float16 else "float32"
    wanted = out_path
    try:
        out_path, problem = save_or_fallback(
            out_path, lambda p: save_model_file(p, result.weights, meta, dtype))
    except OSError as e:
        print(f"rvae-visual: error: {e}; the trained model is lost", file=sys.stderr)
        return 3
    if problem:
        print(f"rvae-visual: error: {problem}; the model was saved to {out_path} instead",
              file=sys.stderr, flush=True)

    seconds = time.perf_counter() - t0
    summary = {
        "seconds": round(seconds, 3),
        "clips": len(ok),
        "bars": data.n_bars,
        "epochs": result.epochs_run,
        "loss": result.final_loss,
        "val_loss": result.final_val_loss,
        "skipped": len(skipped),
        "best_epoch": result.best_epoch,
        "stop_reason": result.stop_reason,
        "recipe": args.recipe,
        "seed": args.seed,
        "model": str(out_path),
    }
    if result.stop_reason == "interrupted":
        print(f"rvae-visual: interrupted after epoch {result.epochs_run}; saved the best model so "
              f"far (epoch {result.best_epoch}) to {out_path}", file=sys.stderr)
    lines = [
        f"model:    {out_path} ({args.recipe} recipe, seed {args.seed})",
        f"clips:    {len(ok)} used, {len(skipped)} skipped; {data.n_bars} bars",
        f"epochs:   {result.epochs_run} ({result.stop_reason}; kept epoch {result.best_epoch})",
        f"loss:     {result.final_loss:.3f}"
        + (f"   validation loss: {result.final_val_loss:.3f}" if result.final_val_loss is not None else ""),
        f"seconds:  {seconds:.1f}",
    ]
    if args.json or progress == "jsonl":
        print("\n".join(lines), file=sys.stderr)
        print(json.dumps(summary), flush=True)
    else:
        print("\n".join(lines))
    return 3 if out_path != wanted else 0
