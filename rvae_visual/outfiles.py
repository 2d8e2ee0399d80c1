"""Files we write for the user (models, screenshots, stats, WAV, MIDI, PNG): checked before the
work that makes them, and when writing still fails, one line saying what and where - finished
work (a trained model) is saved somewhere else rather than lost. Standard library only."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Callable

from .errors import InputError

APP_DIR = "rvae-visual"


def os_reason(e: OSError) -> str:
    """A short reason for an OSError: 'read-only file system', 'no space left on device', ..."""
    if e.errno == errno.EROFS:
        return "read-only file system"
    if e.errno == errno.ENOSPC:
        return "no space left on device"
    if e.errno == errno.EDQUOT:
        return "disk quota exceeded"
    return (e.strerror or str(e) or type(e).__name__).lower()


def _probe(folder: Path) -> None:
    """Create and remove a small file in `folder` (raises OSError when that is impossible)."""
    fd, name = tempfile.mkstemp(prefix=".rvae-visual-", suffix=".probe", dir=folder)
    try:
        os.write(fd, b"\0" * 4096)
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(name)


def check_output_file(path: str | os.PathLike, what: str = "output file",
                      need_bytes: int = 0) -> Path:
    """Check that `path` can be written now: its folder exists, it is not a folder, a file can
    be created there and (`need_bytes`) the disk has that much room. InputError (one line naming
    the path) otherwise; returns the path."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise InputError(f"{p}: is a folder; the {what} needs a file name")
    if not parent.exists():
        raise InputError(f"{p}: cannot write the {what}: folder {parent} does not exist")
    if not parent.is_dir():
        raise InputError(f"{p}: cannot write the {what}: {parent} is not a folder")
    try:
        _probe(parent)
    except OSError as e:
        raise InputError(f"{p}: cannot write the {what} in {parent} ({os_reason(e)})") from None
    if need_bytes:
        try:
            st = os.statvfs(parent)
            free = st.f_bavail * st.f_frsize
        except OSError:
            free = need_bytes
        if free < need_bytes:
            raise InputError(f"{p}: cannot write the {what} in {parent} (no space left on device: "
                             f"{free // 1024} kB free, about {need_bytes // 1024} kB needed)")
    return p


def fallback_folders() -> list[Path]:
    """Where finished work goes when its own place cannot take it, in order: the user's data
    folder ($XDG_DATA_HOME/rvae-visual or ~/.local/share/rvae-visual), the current folder, the
    temporary folder."""
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return [Path(data) / APP_DIR, Path.cwd(), Path(tempfile.gettempdir()) / APP_DIR]


def free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or with `-2`, `-3`, ... before the suffix when that exists already."""
    p = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    k = 2
    while p.exists():
        p = folder / f"{stem}-{k}{suffix}"
        k += 1
    return p


def writable_fallback(name: str, avoid: Path | None = None) -> Path:
    """A free path for `name` in the first fallback folder that takes a file (not `avoid`'s
    folder); OSError when none does."""
    last: OSError | None = None
    for folder in fallback_folders():
        if avoid is not None and folder.resolve() == avoid.resolve():
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _probe(folder)
        except OSError as e:
            last = e
            continue
        return free_name(folder, name)
    raise last or OSError(errno.EACCES, "no writable folder")


def save_or_fallback(path: str | os.PathLike, write: Callable[[Path], None]) -> tuple[Path, str | None]:
    """Write with `write(path)`; when that fails with an OSError, write to a fallback place
    (see `fallback_folders`). Returns (where it was written, the failure at `path` as one line
    or None). Raises OSError only when no place at all took it."""
    p = Path(path)
    try:
        write(p)
        return p, None
    except OSError as e:
        problem = f"{p}: cannot write ({os_reason(e)})"
    tried = [p.parent if str(p.parent) else Path(".")]
    for folder in fallback_folders():
        if any(folder.resolve() == t.resolve() for t in tried if t.exists()):
            continue
        tried.append(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target = free_name(folder, p.name)
            write(target)
            return target, problem
        except OSError:
            continue
    raise OSError(errno.ENOSPC, f"{problem}; no fallback folder could take it either")


def write_bytes_or_fallback(path: str | os.PathLike, data: bytes, what: str) -> Path:
    """Write `data` to `path`, or when that fails to a fallback place (`save_or_fallback`),
    printing one line to stderr that says what failed and where it went. Returns where it went;
    OSError when no place took it."""
    import sys

    def write(p: Path) -> None:
        try:
            with open(p, "wb") as f:
                f.write(data)
        except OSError:
            with contextlib.suppress(OSError):
                p.unlink()  # a cut-off file would look whole
            raise

    where, problem = save_or_fallback(path, write)
    if problem:
        print(f"rvae-visual: warning: {problem}; the {what} was saved to {where}", file=sys.stderr)
    return where


def write_text_atomic(path: str | os.PathLike, text: str, mode: int | None = None,
                      owner: tuple[int, int] | None = None) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and a rename, so the
    file is never half-written; `mode` / `owner` (uid, gid) for the new file when given (the
    owner only where allowed). OSError when it cannot be written (nothing is left behind)."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}-", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        if owner is not None:
            with contextlib.suppress(OSError):  # only root may give a file away
                os.chown(tmp, *owner)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return p
