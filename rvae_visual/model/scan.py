"""`rvae-visual scan`: what a set of clips holds, before training on it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from ..drum_map import DrumMap, default_drum_map
from ..errors import ClipError
from .reading import DEFAULT_READING
from .clips import MIDI_SUFFIXES, Clip, find_midi_files, grid16_moved, read_clip, roundtrip_error_ms


@dataclass
class ScanEntry:
    """One file (or one folder with no MIDI files) as `scan` reports it."""

    path: str
    status: str  # "ok" | "skipped"
    reason: str = ""
    bars: int = 0
    hits: dict[str, int] = field(default_factory=dict)
    collisions: int = 0
    unmapped: int = 0
    skipped_bars: int = 0
    max_roundtrip_error_ms: float = 0.0
    roundtrip_lost: int = 0
    grid16_moved: int = 0
    warnings: list[str] = field(default_factory=list)
    clip: Clip | None = None
    meter: str = ""
    subdivisions: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """The JSON object of one file."""
        return {
            "path": self.path,
            "status": self.status,
            "reason": self.reason,
            "bars": self.bars,
            "hits": self.hits,
            "collisions": self.collisions,
            "unmapped": self.unmapped,
            "skipped_bars": self.skipped_bars,
            "max_roundtrip_error_ms": round(self.max_roundtrip_error_ms, 4),
            "grid16_moved": self.grid16_moved,
            "meter": self.meter or None,
            "subdivisions": self.subdivisions,
            "warnings": self.warnings,
        }


def iter_clip_paths(paths: Iterable[str | os.PathLike]) -> Iterator[tuple[Path, str | None]]:
    """Files to read from files and folders (recursive). Yields (path, problem-or-None):
    a folder without MIDI files or a path that does not exist comes with its problem."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            try:
                files = find_midi_files(p)
            except OSError as e:
                yield p, f"{p}: cannot list folder ({e.strerror or e})"
                continue
            if not files:
                yield p, f"{p}: folder holds no MIDI files ({', '.join(MIDI_SUFFIXES)})"
            for f in files:
                yield f, None
        elif p.exists() or p.is_symlink():
            yield p, None
        else:
            yield p, f"{p}: no such file or folder"


def scan_file(path: Path, drum_map: DrumMap, min_hits: int = 1, roundtrip: bool = True,
              reading: str = DEFAULT_READING) -> ScanEntry:
    """Read one clip and measure it; a bad clip becomes a skipped entry with its reason."""
    try:
        clip = read_clip(path, drum_map, min_hits, reading)
    except ClipError as e:
        return ScanEntry(str(path), "skipped", str(e))
    err, lost = roundtrip_error_ms(clip) if roundtrip else (0.0, 0)
    return ScanEntry(
        path=str(path),
        status="ok",
        bars=len(clip.patterns),
        hits=clip.hits,
        collisions=clip.collisions,
        unmapped=clip.unmapped,
        skipped_bars=clip.skipped_bars,
        max_roundtrip_error_ms=err,
        roundtrip_lost=lost,
        grid16_moved=grid16_moved(clip),
        warnings=list(clip.warnings),
        clip=clip,
        meter=clip.meter.name,
        subdivisions=list(clip.subdivisions),
    )


def scan(
    paths: Iterable[str | os.PathLike],
    drum_map: DrumMap | None = None,
    min_hits: int = 1,
    roundtrip: bool = True,
    reading: str = DEFAULT_READING,
) -> list[ScanEntry]:
    """Scan files and folders (`reading`: "musical" or "nearest"); never raises for a bad clip."""
    dm = drum_map or default_drum_map()
    out = []
    for p, problem in iter_clip_paths(paths):
        if problem:
            out.append(ScanEntry(str(p), "skipped", problem))
        else:
            out.append(scan_file(p, dm, min_hits, roundtrip, reading))
    return out


def totals(entries: list[ScanEntry], drum_map: DrumMap | None = None) -> dict:
    """The totals object of `scan --json`."""
    dm = drum_map or default_drum_map()
    ok = [e for e in entries if e.status == "ok"]
    hits = {n: sum(e.hits.get(n, 0) for e in ok) for n in dm.instruments}
    return {
        "files": len(entries),
        "ok": len(ok),
        "skipped": len(entries) - len(ok),
        "bars": sum(e.bars for e in ok),
        "hits": hits,
        "collisions": sum(e.collisions for e in ok),
        "unmapped": sum(e.unmapped for e in ok),
        "skipped_bars": sum(e.skipped_bars for e in ok),
        "max_roundtrip_error_ms": round(max((e.max_roundtrip_error_ms for e in ok), default=0.0), 4),
        "grid16_moved": sum(e.grid16_moved for e in ok),
    }


def format_table(entries: list[ScanEntry], drum_map: DrumMap | None = None) -> str:
    """A readable table: one row a file, skipped files with their reason, then totals."""
    dm = drum_map or default_drum_map()
    names = list(dm.instruments)
    head = ["status", "bars", *names, "coll", "unmap", "rt ms", "16th>10ms", "file"]
    rows = []
    for e in entries:
        if e.status == "ok":
            rows.append([
                "ok", str(e.bars), *(str(e.hits.get(n, 0)) for n in names), str(e.collisions),
                str(e.unmapped), f"{e.max_roundtrip_error_ms:.3f}", str(e.grid16_moved), e.path,
            ])
        else:
            rows.append(["skipped", "", *[""] * len(names), "", "", "", "", e.reason])
    t = totals(entries, dm)
    rows.append([
        "TOTAL", str(t["bars"]), *(str(t["hits"][n]) for n in names), str(t["collisions"]),
        str(t["unmapped"]), f"{t['max_roundtrip_error_ms']:.3f}", str(t["grid16_moved"]),
        f"{t['files']} files: {t['ok']} ok, {t['skipped']} skipped",
    ])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]

    def line(r: list[str]) -> str:
        cells = [c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        return "  ".join(cells) + "  " + r[-1]

    out = [line(head)]
    out += [line(r) for r in rows[:-1]]
    out.append("-" * min(100, len(out[0]) + 10))
    out.append(line(rows[-1]))
    return "\n".join(out)
