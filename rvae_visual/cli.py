"""The `rvae-visual` command: play (default), train, render, scan, eval, inspect, devices."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from . import __version__
from .errors import InputError

# subcommand -> (module in rvae_visual.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "play": ("play", "open the fullscreen map and play (the default)"),
    "train": ("train", "train a model on MIDI clips"),
    "render": ("render", "render bars under a head position or path to WAV and MIDI"),
    "scan": ("scan", "report what MIDI clips hold, before training"),
    "eval": ("eval", "measure a model on clips: reconstruction and map quality"),
    "inspect": ("inspect", "show what a model file holds; draw its map to PNG"),
    "models": ("models", "list the bundled models and kits"),
    "devices": ("devices", "list audio devices and MIDI ports"),
    "osc-schema": ("osc_schema", "list every OSC address of play --osc-in / --osc-out"),
    "config": ("config", "write a commented settings file for play --config"),
}


def _command_module(name: str):
    return importlib.import_module(f"rvae_visual.commands.{COMMANDS[name][0]}")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (each subcommand adds its own options)."""
    parser = argparse.ArgumentParser(
        prog="rvae-visual",
        description="A live drum instrument: a VAE's 2-D map of rhythms, played with a playback head.",
    )
    parser.add_argument("--version", action="version", version=f"rvae-visual {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.set_defaults(_subparsers={})
    for name, (_, help_) in COMMANDS.items():
        try:
            mod = _command_module(name)
        except ModuleNotFoundError as e:
            if e.name != f"rvae_visual.commands.{COMMANDS[name][0]}":
                raise
            continue  # not built yet
        p = sub.add_parser(name, help=help_, description=getattr(mod, "DESCRIPTION", help_))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
        parser.get_default("_subparsers")[name] = p
    return parser


def _given(parser: argparse.ArgumentParser, args: Sequence[str]) -> frozenset[str]:
    """The dests of the options written out in `args` (not from defaults or a config file)."""
    out = set()
    for a in parser._actions:
        for opt in a.option_strings:
            if any(x == opt or x.startswith(opt + "=") for x in args):
                out.add(a.dest)
    return frozenset(out)


def _config_path(args: Sequence[str]) -> str | None:
    """The FILE of `--config FILE` / `--config=FILE` among `args`, or None."""
    for i, a in enumerate(args):
        if a == "--":
            return None
        if a == "--config" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--config="):
            return a.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (2 for usage errors)."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if not args_in or (args_in[0].startswith("-") and args_in[0] not in ("-h", "--help", "--version")):
        args_in.insert(0, "play")
    parser = build_parser()
    config = _config_path(args_in[1:]) if args_in[0] == "play" else None
    if config is not None:
        from .config_file import ConfigError, apply_config

        try:
            apply_config(parser.get_default("_subparsers")["play"], config)
        except ConfigError as e:
            for line in e.lines:
                print(f"rvae-visual: error: {line}", file=sys.stderr)
            return 2
        except InputError as e:
            print(f"rvae-visual: error: {e}", file=sys.stderr)
            return 2
    args = parser.parse_args(args_in)
    if args.command == "play":
        args._given = _given(parser.get_default("_subparsers")["play"], args_in[1:])
    run = getattr(args, "_run", None)
    if run is None:
        parser.error(f"command '{args.command}' is not available in this build")
    if args.command == "play":  # runs for days: a flood of one warning must not fill the disk
        from .stderr_limit import limit_repeated_stderr

        limit = limit_repeated_stderr()
        if getattr(args, "log", None):
            from .logfile import open_log

            try:
                log = open_log(args.log, int(args.log_size * 1e6))
            except InputError as e:
                print(f"rvae-visual: error: {e}", file=sys.stderr)
                return 2
            if limit is not None:
                limit.log = log.lines
            log.line(f"rvae-visual {__version__} play started: {' '.join(args_in[1:])}")
    try:
        return int(run(args) or 0)
    except InputError as e:
        print(f"rvae-visual: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rvae-visual: interrupted", file=sys.stderr)
        return 130
