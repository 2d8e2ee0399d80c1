"""`play --config FILE.toml`: every option of a command, from a TOML file, checked up front.

A key is an option's long name without the dashes, with `_` or `-` between words
(`audio_device = "hw:1"`, `midi-in = "nanoKONTROL"`); a value is what the option takes, in TOML
types: a string or number for an option with a value, true / false for a switch, a list for a
repeatable option (`control = ["2:head_x=0.25"]`) or for one that takes a comma list
(`midi_channel = [10, 10, 11]`). Each value goes through the option's own argparse type, so a
file and the command line are checked alike. The file's values become the parser's defaults:
the command line still overrides them. Standard library only.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Any, Iterator

from .errors import InputError
from .toml_file import read_toml

SKIPPED = {"help", "config", "version"}  # dests a file may not set


class ConfigError(InputError):
    """A config file that cannot be used; `lines` says each thing wrong, one line each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def options(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """The parser's options a config file may set (long options, not suppressed from help)."""
    for a in parser._actions:
        if a.dest in SKIPPED or a.help == argparse.SUPPRESS or not a.option_strings:
            continue
        if not any(s.startswith("--") for s in a.option_strings):
            continue
        yield a


def key_of(action: argparse.Action) -> str:
    """The key of an option in a config file: its long name, words joined by `_`."""
    long = next(s for s in action.option_strings if s.startswith("--"))
    return long[2:].replace("-", "_")


def _text(v: Any) -> str | None:
    """A TOML scalar as the text the option would get on the command line (None: not a scalar)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, float) else str(v)
    if isinstance(v, str):
        return v
    return None


def _convert(action: argparse.Action, v: Any) -> Any:
    """The option's value from a TOML value; ValueError with the reason."""
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(v, bool):
            raise ValueError("expected true or false")
        return v if isinstance(action, argparse._StoreTrueAction) else not v
    if isinstance(action, argparse._AppendAction):
        items = v if isinstance(v, list) else [v]
        return [_one(action, item) for item in items]
    if isinstance(v, list) and callable(action.type):  # a comma list option (channels, notes, head)
        if not all(_text(x) is not None for x in v):
            raise ValueError("expected a list of numbers or strings")
        v = ",".join(_text(x) or "" for x in v)
    return _one(action, v)


def _one(action: argparse.Action, v: Any) -> Any:
    text = _text(v) if callable(action.type) or isinstance(v, str) else None
    if text is None:
        raise ValueError(f"expected {'a string or number' if action.type else 'a string'}, got {_kind(v)}")
    try:
        value = action.type(text) if callable(action.type) else text
    except (argparse.ArgumentTypeError, ValueError) as e:
        raise ValueError(str(e) or f"bad value {text!r}") from None
    if action.choices is not None and value not in action.choices:
        raise ValueError(f"{value!r} is not one of {', '.join(map(str, action.choices))}")
    return value


def _kind(v: Any) -> str:
    return {bool: "true/false", list: "a list", dict: "a table"}.get(type(v), type(v).__name__)


def read_config(parser: argparse.ArgumentParser, path: str | Path) -> dict[str, Any]:
    """{dest: value} for the options `path` sets; ConfigError naming the file and each key
    that is unknown or has a bad value (the whole file is checked, nothing half-applied)."""
    data = read_toml(path, "a config file")
    by_key = {key_of(a): a for a in options(parser)}
    out: dict[str, Any] = {}
    bad: list[str] = []
    for key, v in data.items():
        a = by_key.get(key.replace("-", "_"))
        if a is None:
            bad.append(f"{path}: unknown key '{key}' (not an option of this command; "
                       f"`rvae-visual config --write FILE` lists them)")
            continue
        try:
            out[a.dest] = _convert(a, v)
        except ValueError as e:
            bad.append(f"{path}: {key}: {e}")
    if bad:
        raise ConfigError(bad)
    return out


def apply_config(parser: argparse.ArgumentParser, path: str | Path) -> None:
    """Make the options `path` sets the parser's defaults (the command line still wins)."""
    parser.set_defaults(**read_config(parser, path))


def _toml_value(v: Any) -> str | None:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        items = [_toml_value(x) for x in v]
        return None if any(x is None for x in items) else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    return None


def config_text(parser: argparse.ArgumentParser, title: str) -> str:
    """A config file of every option with its default, each under its help as a comment;
    options without a default are commented out."""
    lines = [f"# {title}", "# Uncomment and change what you need; the command line overrides this file.", ""]
    for group in parser._action_groups:
        acts = [a for a in group._group_actions if a in set(options(parser))]
        if not acts:
            continue
        lines.append(f"# ---- {group.title}")
        for a in acts:
            help_ = (a.help or "").replace("%%", "%")
            if a.choices is not None:
                help_ += f" (one of: {', '.join(map(str, a.choices))})"
            lines += [f"# {ln}" for ln in textwrap.wrap(help_, 96)]
            default = a.default
            if isinstance(a, argparse._AppendAction) and not default:
                default = None
            text = _toml_value(default) if default is not None else None
            if text is None:
                example = f'["{a.metavar}", ...]' if isinstance(a, argparse._AppendAction) else a.metavar or '"..."'
                lines.append(f"# {key_of(a)} = {example}")
            else:
                lines.append(f"{key_of(a)} = {text}")
        lines.append("")
    return "\n".join(lines)
