"""Incoming OSC: datagrams -> (control name, value) actions, bad ones sorted by kind, and the
coalescer that keeps a flood down to one batch per drain.

Addresses (values in control units, rvae_visual.controls):
  /rvae/<control> value    every control; a trigger also takes no argument (a press), and a
                           value below 0.5 is its release (ignored)
  /rvae/head x y           head_x and head_y, 0..1 of the map window (y up)
  /rvae/scene/store n      store_scene_<n>, n = 1..8
  /rvae/scene/recall n     recall_scene_<n>
A bundle's messages are taken in order, at once (its time tag is not waited for).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Iterable, Iterator

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage

from ..controls import CONTINUOUS, PRESSED, SCENES, TRIGGER, Vocabulary
from . import PREFIX

# kinds of ignored messages, counted apiece
NOT_OSC = "not OSC"
BAD_ADDRESS = "bad address"
UNKNOWN_CONTROL = "unknown control"
BAD_ARGUMENTS = "wrong argument type or count"
BAD_VALUE = "value out of range"
KINDS = (NOT_OSC, BAD_ADDRESS, UNKNOWN_CONTROL, BAD_ARGUMENTS, BAD_VALUE)

MAX_EVENTS = 64  # presses and switch flips kept per batch; more in one batch are counted, not queued
MAX_DEPTH = 8  # nested bundles


class Rejected(Exception):
    """A message that is ignored: `kind` (one of KINDS) and a short reason."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


def messages_of(data: bytes) -> Iterator[OscMessage]:
    """The OSC messages in one datagram (a bundle's in order); Rejected(NOT_OSC) if it is not OSC."""
    if data[:1] == b"/":
        yield _message(data)
    elif data[:8] == b"#bundle\x00":
        try:
            bundle = OscBundle(data)
        except Exception:  # python-osc raises ParseError, and more on some byte soups
            raise Rejected(NOT_OSC, f"a bundle of {len(data)} bytes that does not parse") from None
        yield from _flatten(bundle, 0)
    else:
        raise Rejected(NOT_OSC, f"{len(data)} bytes starting {data[:8]!r}")


def _message(data: bytes) -> OscMessage:
    try:
        return OscMessage(data)
    except Exception:
        raise Rejected(NOT_OSC, f"a message of {len(data)} bytes that does not parse ({data[:24]!r})") from None


def _flatten(bundle: OscBundle, depth: int) -> Iterator[OscMessage]:
    if depth >= MAX_DEPTH:
        raise Rejected(NOT_OSC, "OSC bundles nested too deep")
    for item in bundle:
        if isinstance(item, OscBundle):
            yield from _flatten(item, depth + 1)
        else:
            yield item


def _number(x: object, address: str) -> float:
    # bool is an int: OSC's T / F arrive as True / False
    if not isinstance(x, (int, float)):
        raise Rejected(BAD_ARGUMENTS, f"{address}: expected a number, got {type(x).__name__}")
    v = float(x)
    if not math.isfinite(v):
        raise Rejected(BAD_VALUE, f"{address}: {v} is not a finite number")
    return v


def _args(params: list, address: str, counts: tuple[int, ...]) -> list[float]:
    if len(params) not in counts:
        want = " or ".join(str(n) for n in counts)
        raise Rejected(BAD_ARGUMENTS, f"{address}: expected {want} argument(s), got {len(params)}")
    return [_number(x, address) for x in params]


def actions_of(address: str, params: list, vocab: Vocabulary) -> list[tuple[str, float]]:
    """The (control, value) actions one message stands for ([] for a trigger's release);
    Rejected for a bad address, an unknown control or wrong arguments."""
    if not address.startswith(PREFIX):
        raise Rejected(BAD_ADDRESS, f"{address[:60]!r} is not under {PREFIX}")
    name = address[len(PREFIX):]
    if name == "head":
        x, y = _args(params, address, (2,))
        return [("head_x", vocab["head_x"].clamp(x)), ("head_y", vocab["head_y"].clamp(y))]
    if name in ("scene/store", "scene/recall"):
        (n,) = _args(params, address, (1,))
        if n != int(n) or not 1 <= n <= SCENES:
            raise Rejected(BAD_VALUE, f"{address}: scene {n:g} is not 1-{SCENES}")
        return [(f"{name[6:]}_scene_{int(n)}", 1.0)]
    c = vocab.get(name)
    if c is None:
        raise Rejected(UNKNOWN_CONTROL, f"{address}: no control {name[:40]!r}")
    if c.kind == TRIGGER:
        vals = _args(params, address, (0, 1))
        return [(c.name, 1.0)] if not vals or vals[0] >= PRESSED else []
    (v,) = _args(params, address, (1,))
    if c.kind == CONTINUOUS:
        return [(c.name, c.snap(v))]
    return [(c.name, 1.0 if v >= PRESSED else 0.0)]


class Counts:
    """Messages taken and ignored, per kind; `first` holds the first reason of each kind
    not yet reported (read and cleared by the reporting side)."""

    def __init__(self) -> None:
        self.received = 0  # datagrams
        self.taken = 0  # messages turned into actions
        self.ignored = dict.fromkeys(KINDS, 0)
        self.dropped = 0  # presses beyond MAX_EVENTS in one batch
        self.first: deque[str] = deque(maxlen=len(KINDS))

    def reject(self, r: Rejected) -> None:
        """Count one ignored message; remember its reason if it is the first of its kind."""
        self.ignored[r.kind] += 1
        if self.ignored[r.kind] == 1:
            self.first.append(f"OSC in: {r.kind}: {r} (ignored; more of this kind are only counted)")

    @property
    def bad(self) -> int:
        """Messages ignored, all kinds."""
        return sum(self.ignored.values())

    def summary(self) -> str:
        """One line: received, taken, ignored by kind."""
        parts = [f"{n} {k}" for k, n in self.ignored.items() if n]
        if self.dropped:
            parts.append(f"{self.dropped} presses over {MAX_EVENTS} a batch")
        text = f"{self.received} datagrams, {self.taken} messages taken"
        return text + (f", ignored: {', '.join(parts)}" if parts else ", none ignored")


def read_datagram(data: bytes, vocab: Vocabulary, counts: Counts) -> list[tuple[str, float]]:
    """Every action in one datagram; what is bad in it is counted in `counts`, never raised."""
    counts.received += 1
    out: list[tuple[str, float]] = []
    try:
        for msg in messages_of(data):
            try:
                out += actions_of(msg.address, msg.params, vocab)
                counts.taken += 1
            except Rejected as r:
                counts.reject(r)
    except Rejected as r:  # the datagram (or the rest of a bundle) is not OSC
        counts.reject(r)
    return out


class Coalescer:
    """Pending actions between drains: a continuous control keeps its latest value; presses
    and switch flips keep their order, at most MAX_EVENTS a batch (the rest counted)."""

    def __init__(self, vocab: Vocabulary, counts: Counts) -> None:
        self.counts = counts
        self.set_vocabulary(vocab)
        self.values: dict[str, float] = {}
        self.events: list[tuple[str, float]] = []

    def set_vocabulary(self, vocab: Vocabulary) -> None:
        """The vocabulary in use changed (another model, another drum map)."""
        self.continuous = frozenset(c.name for c in vocab.of_kind(CONTINUOUS))

    def add(self, actions: Iterable[tuple[str, float]]) -> None:
        """Queue actions."""
        for name, value in actions:
            if name in self.continuous:
                self.values[name] = value
            elif len(self.events) < MAX_EVENTS:
                self.events.append((name, value))
            else:
                self.counts.dropped += 1

    def __bool__(self) -> bool:
        return bool(self.values or self.events)

    def take(self) -> list[tuple[str, float]]:
        """The pending batch (events first, then the latest values), emptied."""
        out = self.events + list(self.values.items())
        self.events = []
        self.values = {}
        return out
