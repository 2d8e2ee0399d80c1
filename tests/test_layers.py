"""The layer rules of docs/architecture.md, checked on every import in the package (also those
inside functions): no import from a higher layer, none between peers, and the third-party
libraries each layer must never load."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "rvae_visual"
CORE = {"__init__", "pattern", "drum_map", "performance", "controls", "clock", "errors", "toml_file", "argtypes",
        "outfiles", "stderr_limit", "swing", "config_file", "logfile"}
RANK = {"core": 0, "model": 1, "audio": 1, "data": 1, "midi": 2, "session": 2, "render": 3, "osc": 3, "cli": 4}
CLI = {"commands", "cli", "__main__"}
NEVER = {
    "core": {"pygame", "torch", "sounddevice", "mido", "rtmidi", "soundfile"},
    "model": {"pygame", "sounddevice"},
    "audio": {"pygame", "torch", "mido", "rtmidi"},
    "midi": {"pygame", "torch"},
    "session": {"pygame", "torch", "sounddevice"},
    "render": {"torch", "sounddevice"},
    "osc": {"pygame", "torch", "sounddevice", "mido", "rtmidi"},
}


def layer_of(parts: tuple[str, ...]) -> str:
    """Layer of a module given as its parts below rvae_visual ('render', 'app')."""
    head = parts[0] if parts else "__init__"
    if head in CLI:
        return "cli"
    if head in CORE or not ((PKG / head).is_dir() or (PKG / f"{head}.py").is_file()):
        return "core"  # a core module, or a name from the package's __init__
    return head


def imports(path: Path) -> list[tuple[int, str, tuple[str, ...] | None]]:
    """(line, top-level name, parts below rvae_visual or None for a third-party module)."""
    rel = path.relative_to(PKG).with_suffix("").parts
    package = rel[:-1] if rel[-1] != "__init__" else rel[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                top = a.name.split(".")[0]
                out.append((node.lineno, top, tuple(a.name.split(".")[1:]) if top == "rvae_visual" else None))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                mod = tuple(base) + tuple((node.module or "").split(".")) if node.module else tuple(base)
                if not node.module:  # from . import x
                    mod = tuple(base) + (node.names[0].name,)
                out.append((node.lineno, "rvae_visual", tuple(p for p in mod if p)))
            elif node.module:
                top = node.module.split(".")[0]
                out.append((node.lineno, top, tuple(node.module.split(".")[1:]) if top == "rvae_visual" else None))
    return out


def violations() -> list[str]:
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).with_suffix("").parts
        me = layer_of(rel)
        for line, top, parts in imports(path):
            where = f"{path.relative_to(PKG.parent)}:{line}"
            if parts is None:
                if top in NEVER.get(me, set()):
                    bad.append(f"{where}: {me} imports {top}")
                continue
            other = layer_of(parts)
            if other == me:
                continue
            if RANK[other] > RANK[me]:
                bad.append(f"{where}: {me} imports the higher layer {other}")
            elif RANK[other] == RANK[me]:
                bad.append(f"{where}: {me} imports its peer {other}")
    return bad


def test_no_import_breaks_the_layer_rules():
    assert violations() == []


@pytest.mark.parametrize("source,expected", [
    ("from ..render.app import App\n", "session imports the higher layer render"),
    ("from ..midi import system\n", "session imports its peer midi"),
    ("import pygame\n", "session imports pygame"),
])
def test_the_checker_sees_a_wrong_import(tmp_path, monkeypatch, source, expected):
    bad = PKG / "session" / "_layer_probe.py"
    bad.write_text(source, encoding="utf-8")
    try:
        assert any(expected in v for v in violations())
    finally:
        bad.unlink()
