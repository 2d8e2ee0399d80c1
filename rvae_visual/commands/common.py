"""Options and checks shared by several subcommands."""

from __future__ import annotations

import argparse

from ..drum_map import DrumMap, default_drum_map, load_drum_map


def add_drum_map_option(p: argparse.ArgumentParser) -> None:
    """--drum-map FILE."""
    p.add_argument("--drum-map", metavar="FILE",
                   help="drum map TOML (default: the built-in kick/snare/hi-hat map)")


def drum_map_from(args: argparse.Namespace) -> DrumMap:
    """The drum map an invocation asked for; InputError on a bad file."""
    path = getattr(args, "drum_map", None)
    return load_drum_map(path) if path else default_drum_map()


def positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {v}")
    return v


def bpm_value(text: str) -> float:
    """argparse type: tempo in BPM, 40-300."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a tempo in BPM, got {text!r}") from None
    if not 40.0 <= v <= 300.0:
        raise argparse.ArgumentTypeError(f"tempo {v:g} BPM is outside 40-300")
    return v


def unit_value(text: str) -> float:
    """argparse type: a number in 0..1."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number 0-1, got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"{v:g} is outside 0-1")
    return v
