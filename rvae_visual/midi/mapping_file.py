"""Saving a learned binding into the user's own mapping file without losing what they wrote.

The file is edited, not rewritten: the learned action's `[[bind]]` table gets its new `cc` /
`note` number and channel in place (its comments, `takeover`, range and the rest stay), a table
the new control or action replaces is commented out with a line saying why, and a binding for an
action the file did not have is appended. The result is read back and must give exactly the
mapping in use; when it does not (a layout this editor does not follow), the file is written
whole instead. Either way the previous file is kept as `NAME.bak`, and the file keeps its mode.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import tomllib
from pathlib import Path

from ..outfiles import write_text_atomic
from .mapping import ABSOLUTE, Binding, Mapping, mapping_from_dict

_TABLE = re.compile(r"^\s*\[")
_BIND = re.compile(r"^\s*\[\[\s*bind\s*\]\]\s*(#.*)?$")
_KEY = re.compile(r"^(\s*)(cc|note|channel)(\s*=\s*)([^#\n]*?)(\s*#.*)?$")


def _blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(first, end) line indices of each [[bind]] table, trailing comments and blanks left out."""
    out: list[tuple[int, int]] = []
    starts = [i for i, line in enumerate(lines) if _BIND.match(line)]
    for i in starts:
        j = i + 1
        while j < len(lines) and not _TABLE.match(lines[j]):
            j += 1
        end = j
        while end > i + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
            end -= 1
        out.append((i, end))
    return out


def _parse_block(lines: list[str]) -> dict | None:
    try:
        return tomllib.loads("\n".join(lines) + "\n")["bind"][0]
    except (tomllib.TOMLDecodeError, KeyError, IndexError, TypeError):
        return None


def _channel_text(channel: int | None) -> str:
    return '"any"' if channel is None else str(channel)


def binding_lines(b: Binding) -> list[str]:
    """The `[[bind]]` table of one binding, as `Mapping.to_toml` writes it."""
    out = ["[[bind]]", f'action = "{b.action}"', f"{b.kind} = {b.number}", f"channel = {_channel_text(b.channel)}",
           f'mode = "{b.mode}"']
    if b.mode == ABSOLUTE and b.takeover != "soft":
        out.append(f'takeover = "{b.takeover}"')
    for key, v in (("min", b.lo), ("max", b.hi), ("step", b.step)):
        if v is not None:
            out.append(f"{key} = {float(v)!r}")
    if b.invert:
        out.append("invert = true")
    return out


def _edit_in_place(block: list[str], b: Binding) -> list[str]:
    out = []
    for line in block:
        m = _KEY.match(line)
        if m and m.group(2) in ("cc", "note"):
            line = f"{m.group(1)}{b.kind}{m.group(3)}{b.number}{m.group(5) or ''}"
        elif m and m.group(2) == "channel":
            line = f"{m.group(1)}channel{m.group(3)}{_channel_text(b.channel)}{m.group(5) or ''}"
        out.append(line)
    if not any((m := _KEY.match(line)) and m.group(2) == "channel" for line in block):
        out.append(f"channel = {_channel_text(b.channel)}")
    return out


def edited_text(text: str, learned: Binding) -> str:
    """`text` (a mapping file) with `learned` put in: its action's table edited in place when
    the control kind is the same, tables it replaces commented out, else a table appended."""
    lines = text.splitlines()
    blocks = _blocks(lines)
    today = _dt.date.today().isoformat()
    placed = False
    for first, end in reversed(blocks):  # from the end, so indices before stay valid
        t = _parse_block(lines[first:end])
        if t is None:
            continue
        kind = "cc" if "cc" in t else "note"
        ch = t.get("channel", "any")
        same_source = (kind, t.get(kind), None if ch == "any" else ch) == (learned.kind, learned.number, learned.channel)
        same_action = t.get("action") == learned.action
        if same_action and kind == learned.kind and not placed:
            lines[first:end] = _edit_in_place(lines[first:end], learned)
            placed = True
        elif same_action or same_source:
            note = f"# replaced by MIDI learn on {today}: {learned.action} = {learned.source()}"
            lines[first:end] = [note] + [("# " + line) if line.strip() else line for line in lines[first:end]]
    if not placed:
        if lines and lines[-1].strip():
            lines.append("")
        lines += [f"# learned on {today}"] + binding_lines(learned)
    return "\n".join(lines) + "\n"


def _same(a: Mapping, b: Mapping) -> bool:
    key = lambda m: sorted(map(repr, m.bindings))  # noqa: E731
    return key(a) == key(b)


def _new_file_mode() -> int:
    """The mode a new file gets from the umask (0644 with the usual 022)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def backup_path(path: Path) -> Path:
    """Where the previous mapping file is kept: NAME.bak beside it."""
    return path.with_name(path.name + ".bak")


def save_learned(mapping: Mapping, learned: Binding, path: str | Path) -> Path:
    """Save `mapping` (which holds the just-learned binding `learned`) to the file at `path`:
    a new file is written whole; an existing one is edited (see the module) after copying it to
    NAME.bak, and keeps its mode. OSError when the file cannot be written; returns the path."""
    p = Path(path).expanduser()
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        old_text = p.read_text(encoding="utf-8")
        st = p.stat()
    except FileNotFoundError:
        write_text_atomic(p, mapping.to_toml(), _new_file_mode(), None)
        return p
    except (OSError, UnicodeDecodeError):
        old_text, st = None, None
    text = mapping.to_toml()
    if old_text is not None:
        try:
            candidate = edited_text(old_text, learned)
            back = mapping_from_dict(tomllib.loads(candidate), str(p), mapping.instruments)
            if _same(back, mapping):
                text = candidate
        except Exception:  # any layout we cannot edit: write the file whole (the backup keeps the old)
            pass
        mode = st.st_mode & 0o7777 if st is not None else None
        owner = (st.st_uid, st.st_gid) if st is not None else None
        write_text_atomic(backup_path(p), old_text, mode, owner)
        write_text_atomic(p, text, mode, owner)
    else:
        write_text_atomic(p, text, _new_file_mode(), None)
    return p
