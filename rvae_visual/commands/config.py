"""`rvae-visual config --write FILE`: every option of `play` with its default, as a commented
settings file for `play --config FILE` to start from."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = ("Write every option of `play` with its default as a commented TOML file, to edit and use "
               "with `rvae-visual play --config FILE` (the command line overrides the file).")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `config`."""
    p.add_argument("--write", metavar="FILE", required=True, help="the file to write ('-' for standard output)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")


def play_parser() -> argparse.ArgumentParser:
    """The `play` command's own parser."""
    from . import play

    p = argparse.ArgumentParser(prog="rvae-visual play")
    play.add_arguments(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Write the file; 2 when it exists (without --force) or cannot be written."""
    from ..config_file import config_text
    from ..outfiles import os_reason, write_text_atomic

    text = config_text(play_parser(), "rvae-visual play settings (rvae-visual play --config FILE)") + "\n"
    if args.write == "-":
        sys.stdout.write(text)
        return 0
    from pathlib import Path

    path = Path(args.write)
    if path.exists() and not args.force:
        print(f"rvae-visual: error: {path} exists (--force replaces it)", file=sys.stderr)
        return 2
    try:
        write_text_atomic(path, text)
    except OSError as e:
        print(f"rvae-visual: error: {path}: cannot write the settings file ({os_reason(e)})", file=sys.stderr)
        return 2
    print(f"rvae-visual: wrote {path}: edit it, then `rvae-visual play --config {path}`", file=sys.stderr)
    return 0
