"""PNG files of a pygame surface, written so that a failure is an OSError saying why."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..outfiles import write_bytes_or_fallback


def png_bytes(surface: Any) -> bytes:
    """`surface` encoded as PNG."""
    import pygame

    buf = io.BytesIO()
    pygame.image.save(surface, buf, "picture.png")
    return buf.getvalue()


def save_png(surface: Any, path: str | Path) -> None:
    """Write `surface` as a PNG file at `path` (OSError when the file cannot be written)."""
    data = png_bytes(surface)
    with open(path, "wb") as f:
        f.write(data)


def save_png_or_fallback(surface: Any, path: str | Path, what: str = "screenshot") -> Path:
    """Write `surface` as PNG at `path`, or when that fails where it can be saved, saying so in
    one line (see `outfiles.write_bytes_or_fallback`); returns where it went."""
    return write_bytes_or_fallback(path, png_bytes(surface), what)
