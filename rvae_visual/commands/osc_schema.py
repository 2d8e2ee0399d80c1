"""`rvae-visual osc-schema [--json] [--model M | --drum-map FILE]`: every OSC address with its
arguments, ranges and units, for `play --osc-in` and `--osc-out`."""

from __future__ import annotations

import argparse
import json

DESCRIPTION = (
    "Print the OSC address space of `rvae-visual play --osc-in / --osc-out`, generated from the "
    "controls vocabulary: every address with its arguments, ranges and units, in and out. "
    "Per-drum controls (mute_<drum>, threshold_<drum>) follow the drum map: the built-in one, a "
    "model's (--model) or a drum map file (--drum-map)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `osc-schema`."""
    p.add_argument("--json", action="store_true", help="print exactly one JSON document")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--model", metavar="M", help="the drum map of this bundled model name or model file")
    g.add_argument("--drum-map", metavar="FILE", help="the drum map of this TOML file")


def run(args: argparse.Namespace) -> int:
    """Print the schema; InputError for a bad model or drum map file."""
    from ..controls import vocabulary
    from ..osc.schema import schema, schema_text
    from .common import drum_map_from

    if args.model:
        from ..model.store import load_model

        instruments = load_model(args.model).drum_map.instruments
    else:
        instruments = drum_map_from(args).instruments
    doc = schema(vocabulary(tuple(instruments)))
    print(json.dumps(doc, indent=1) if args.json else schema_text(doc))
    return 0
