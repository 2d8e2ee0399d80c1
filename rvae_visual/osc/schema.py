"""The OSC address space, generated from the controls vocabulary: every address `play` takes
(--osc-in) and sends (--osc-out), with its arguments, ranges and units."""

from __future__ import annotations

from ..controls import CONTINUOUS, SCENES, TOGGLE, TRIGGER, Control, Vocabulary
from ..pattern import TICKS_PER_BAR
from . import PREFIX


def _arg(name: str, type_: str, lo: float | None = None, hi: float | None = None, unit: str = "",
         **extra: object) -> dict:
    a: dict = {"name": name, "type": type_}
    if lo is not None:
        a["min"], a["max"] = lo, hi
    if unit:
        a["unit"] = unit
    a.update(extra)
    return a


def _value_arg(c: Control) -> dict:
    if c.kind == CONTINUOUS:
        extra: dict = {"default": c.default}
        if c.choices:
            extra["choices"] = list(c.choices)
        return _arg("value", "f", c.lo, c.hi, c.unit, **extra)
    if c.kind == TOGGLE:
        return _arg("value", "f", 0.0, 1.0, "off < 0.5 <= on", default=c.default)
    return _arg("value", "f", 0.0, 1.0, "fires at >= 0.5; optional", optional=True)


def _control_entry(c: Control) -> dict:
    return {"address": PREFIX + c.name, "control": c.name, "kind": c.kind, "target": c.target,
            "args": [_value_arg(c)], "help": c.help}


def schema(vocab: Vocabulary) -> dict:
    """The whole address space as plain data (the `--json` document)."""
    head = [_arg("x", "f", 0.0, 1.0, "of the map, 0 left"), _arg("y", "f", 0.0, 1.0, "of the map, 0 bottom")]
    slot = [_arg("n", "i", 1, SCENES, "scene slot")]
    incoming = [_control_entry(c) for c in vocab.controls]
    incoming += [
        {"address": PREFIX + "head", "controls": ["head_x", "head_y"], "args": head,
         "help": "move the playback head (both at once)"},
        {"address": PREFIX + "scene/store", "controls": [f"store_scene_{n}" for n in range(1, SCENES + 1)],
         "args": slot, "help": "store what plays now as scene n"},
        {"address": PREFIX + "scene/recall", "controls": [f"recall_scene_{n}" for n in range(1, SCENES + 1)],
         "args": slot, "help": "recall scene n on the next beat (bar with quantize bar)"},
    ]
    outgoing = [
        {"address": PREFIX + "tick", "when": "each tick as heard (24 a quarter note in 4/4)",
         "args": [_arg("bar", "i", 1, None, "bar, from 1"), _arg("tick", "i", 0, TICKS_PER_BAR - 1, "tick of the bar")]},
        {"address": PREFIX + "hit", "when": "each hit as heard",
         "args": [_arg("instrument", "s", choices=list(vocab.instruments)),
                  _arg("velocity", "f", 0.0, 1.0)]},
        {"address": PREFIX + "head", "when": "the head moved (at most once a frame)", "args": head},
        {"address": PREFIX + "scene", "when": "a scene recall landed", "args": slot},
    ]
    outgoing += [dict(_control_entry(c), when="its value changed (at most once a frame, 60 Hz)", args=[
        {k: v for k, v in _value_arg(c).items() if k != "optional"}])
        for c in vocab.controls if c.kind != TRIGGER]
    return {"protocol": "OSC 1.0 over UDP", "prefix": PREFIX, "instruments": list(vocab.instruments),
            "in": incoming, "out": outgoing,
            "notes": ["numbers may be int or float (T/F count as 1/0); values are clamped to the range",
                      "a bundle's messages are applied in order at once (its time tag is not waited for)",
                      "ticks and hits are timed like MIDI out, against the audio clock (--osc-latency shifts them)"]}


def _fmt_num(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _fmt_arg(a: dict) -> str:
    text = f"{a['name']}:{a['type']}"
    if "min" in a:
        hi = "" if a["max"] is None else _fmt_num(a["max"])
        text += f" {_fmt_num(a['min'])}..{hi}"
    if a.get("choices"):
        text += " " + "|".join(a["choices"])
    if a.get("unit"):
        text += f" ({a['unit']})"
    return f"[{text}]" if a.get("optional") else text


def schema_text(doc: dict) -> str:
    """The schema as lines for a terminal."""
    out = [f"OSC address space ({doc['protocol']}); instruments: {', '.join(doc['instruments'])}", "",
           "in (play --osc-in [HOST:]PORT, 127.0.0.1 unless a host is given):"]
    for e in doc["in"]:
        kind = f"{e['kind']}, " if "kind" in e else ""
        out.append(f"  {e['address']}  {'  '.join(_fmt_arg(a) for a in e['args'])}  -- {kind}{e['help']}")
    out += ["", "out (play --osc-out HOST:PORT):"]
    for e in doc["out"]:
        out.append(f"  {e['address']}  {'  '.join(_fmt_arg(a) for a in e['args'])}  -- {e['when']}")
    out += [""] + [f"note: {n}" for n in doc["notes"]]
    return "\n".join(out)
