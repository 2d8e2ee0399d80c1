"""Reading the user's TOML files (drum maps, controller mappings) with one-line errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

from .errors import InputError


def read_toml(path: str | Path, what: str) -> dict:
    """Parse a TOML file; InputError naming the file and `what` it should be when unreadable."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{p}: cannot read {what} ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: {what} is not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{p}: {what} is not valid TOML ({e})") from None
