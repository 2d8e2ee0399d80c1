"""argparse value types with one-line messages (core: standard library only)."""

from __future__ import annotations

import argparse
import math
from typing import Any, Callable

from .controls import BPM_MAX, BPM_MIN, SWING_MAX, SWING_MIN


def number_in(lo: float | None, hi: float | None, what: str, unit: str = "", kind: type = float,
              above: bool = False) -> Callable[[str], Any]:
    """An argparse type: a number of `kind` in [lo, hi] (either end None = open; `above`: lo
    itself is refused), with one-line messages such as "tempo 400 BPM is outside 40-300"."""

    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'a whole number' if kind is int else 'a number'} for {what}, got {text!r}") from None
        if isinstance(v, float) and not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{what} must be a finite number, got {text!r}")
        low_bad = lo is not None and (v <= lo if above else v < lo)
        if low_bad or (hi is not None and v > hi):
            if hi is None:
                need = f"above {lo:g}" if above else f"{lo:g} or more"
                raise argparse.ArgumentTypeError(f"{what} must be {need}{unit}, got {v:g}")
            if lo is None:
                raise argparse.ArgumentTypeError(f"{what} must be {hi:g}{unit} or less, got {v:g}")
            sep = " to " if lo < 0 else "-"
            raise argparse.ArgumentTypeError(f"{what} {v:g}{unit} is outside {lo:g}{sep}{hi:g}")
        return v

    parse.__name__ = what.replace(" ", "_")  # argparse names the type in its messages
    return parse


def number_list(lo: int, hi: int, what: str, example: str) -> Callable[[str], tuple[int, ...]]:
    """An argparse type: comma-separated whole numbers in [lo, hi], e.g. MIDI notes 36,38,42."""
    one = number_in(lo, hi, what, kind=int)

    def parse(text: str) -> tuple[int, ...]:
        try:
            return tuple(one(part) for part in text.split(","))
        except argparse.ArgumentTypeError as e:
            raise argparse.ArgumentTypeError(f"{e} (expected {what}s like {example}, got {text!r})") from None

    parse.__name__ = what.replace(" ", "_") + "_list"
    return parse


positive_int = number_in(1, None, "count", kind=int)
bpm_value = number_in(BPM_MIN, BPM_MAX, "tempo", " BPM")
unit_value = number_in(0.0, 1.0, "value")
swing_percent = number_in(SWING_MIN, SWING_MAX, "swing", " %")
