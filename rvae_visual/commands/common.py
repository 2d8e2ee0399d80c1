"""Options and checks shared by several subcommands."""

from __future__ import annotations

import argparse

from ..argtypes import bpm_value, number_in, number_list, positive_int, swing_percent, unit_value
from ..drum_map import DrumMap, default_drum_map, load_drum_map


def add_drum_map_option(p: argparse.ArgumentParser) -> None:
    """--drum-map FILE."""
    p.add_argument("--drum-map", metavar="FILE",
                   help="drum map TOML (default: the built-in kick/snare/hi-hat map)")


def add_reading_option(p: argparse.ArgumentParser) -> None:
    """--reading musical|nearest."""
    p.add_argument("--reading", choices=("musical", "nearest"), default="musical",
                   help="where notes go: musical = each note on its intended grid position "
                        "(16ths, triplets, 32nds) with its microtiming as an offset (default); "
                        "nearest = the nearest of the 96 ticks")


def drum_map_from(args: argparse.Namespace) -> DrumMap:
    """The drum map an invocation asked for; InputError on a bad file."""
    path = getattr(args, "drum_map", None)
    return load_drum_map(path) if path else default_drum_map()

__all__ = ["add_drum_map_option", "add_reading_option", "bpm_value", "drum_map_from", "number_in", "number_list",
           "positive_int", "swing_percent", "unit_value"]
