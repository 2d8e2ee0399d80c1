"""Controller mapping files: which CC or note (on which channel) drives which action.

A mapping is TOML, one `[[bind]]` table per binding:

    name = "my-controller"
    [[bind]]
    action = "head_x"      # see ACTIONS
    cc = 70                # or note = 36
    channel = "any"        # 1-16 or "any"
    mode = "absolute"      # continuous: absolute | relative-twos | relative-offset | relative-sign
                           # mutes and listen: momentary | latch | on;  the rest: trigger
    takeover = "soft"      # absolute knobs: soft (move only after passing the value) | jump |
                           # scale (move at once, towards the knob, no jump: installations)
    min = 60.0             # optional value range in the action's units (tempo in BPM)
    max = 180.0
    step = 1.0             # optional, per encoder tick (relative modes); default range/127
    invert = false         # optional, reverse a knob or an axis

`Controller` turns incoming MIDI bytes into `(action, value)` pairs for the player's
`App.apply_control`, with soft takeover for absolute knobs and relative encoders.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence

from ..controls import CONTINUOUS, DEFAULT_INSTRUMENTS, TOGGLE, TRIGGER, Vocabulary, vocabulary
from ..errors import InputError
from ..outfiles import write_text_atomic
from ..toml_file import read_toml

ABSOLUTE = "absolute"
RELATIVE_MODES = ("relative-twos", "relative-offset", "relative-sign")
SWITCH_MODES = ("momentary", "latch", "on")
TAKEOVERS = ("soft", "jump", "scale")


def _vocab(instruments: Sequence[str]) -> Vocabulary:
    return vocabulary(tuple(instruments))


def switch_actions(instruments: Sequence[str] = DEFAULT_INSTRUMENTS) -> tuple[str, ...]:
    """On/off actions: one mute per instrument, mute_all and listen."""
    return tuple(c.name for c in _vocab(instruments).of_kind(TOGGLE))


def all_actions(instruments: Sequence[str] = DEFAULT_INSTRUMENTS) -> tuple[str, ...]:
    """Every action a binding may name (the vocabulary's controls but the window's own)."""
    return _vocab(instruments).bindable()


def is_continuous(action: str, instruments: Sequence[str] = DEFAULT_INSTRUMENTS) -> bool:
    """True for a knob-like action (a value in a range)."""
    c = _vocab(instruments).get(action)
    return c is not None and c.kind == CONTINUOUS


def default_mode(action: str, instruments: Sequence[str] = DEFAULT_INSTRUMENTS) -> str:
    """The mode a new binding for `action` gets."""
    c = _vocab(instruments).get(action)
    if c is not None and c.kind == CONTINUOUS:
        return ABSOLUTE
    if c is not None and c.kind == TRIGGER:
        return "trigger"
    return "momentary"


def knob_range(action: str, instruments: Sequence[str] = DEFAULT_INSTRUMENTS) -> tuple[float, float]:
    """The range a knob bound to `action` covers by default, in the action's units."""
    c = _vocab(instruments).get(action)
    return c.knob_range if c is not None and c.kind == CONTINUOUS else (0.0, 1.0)


@dataclass(frozen=True)
class Binding:
    """One control (CC or note number on a channel, None = any) bound to one action."""

    action: str
    kind: str  # "cc" | "note"
    number: int  # 0-127
    channel: int | None = None  # 1-16, None = any
    mode: str = ""
    takeover: str = "soft"
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    invert: bool = False

    def __post_init__(self) -> None:
        if not self.mode:
            object.__setattr__(self, "mode", default_mode(self.action))

    @property
    def value_range(self) -> tuple[float, float]:
        """(min, max) in the action's units."""
        lo, hi = knob_range(self.action)
        return (lo if self.lo is None else self.lo, hi if self.hi is None else self.hi)

    def source(self) -> str:
        """Human-readable control, e.g. 'CC 70 ch any'."""
        ch = "any" if self.channel is None else str(self.channel)
        return f"{'CC' if self.kind == 'cc' else 'note'} {self.number} ch {ch}"

    def same_source(self, other: "Binding") -> bool:
        """True if both listen to the same control."""
        return (self.kind, self.number, self.channel) == (other.kind, other.number, other.channel)


@dataclass
class Mapping:
    """A named list of bindings; `instruments` decides which mute actions exist."""

    name: str
    bindings: list[Binding] = field(default_factory=list)
    description: str = ""
    instruments: tuple[str, ...] = DEFAULT_INSTRUMENTS

    def for_action(self, action: str) -> list[Binding]:
        """Bindings that drive `action`."""
        return [b for b in self.bindings if b.action == action]

    def with_binding(self, binding: Binding) -> "Mapping":
        """A copy where `binding` replaces every binding of its action and of its control."""
        kept = [b for b in self.bindings if b.action != binding.action and not b.same_source(binding)]
        return Mapping(self.name, kept + [binding], self.description, self.instruments)

    def to_toml(self) -> str:
        """TOML text that `mapping_from_dict(tomllib.loads(text))` reads back."""
        out = ["# rvae-visual controller mapping (see `rvae-visual play --help`, --controller)",
               f"name = {_toml_str(self.name)}"]
        if self.description:
            out.append(f"description = {_toml_str(self.description)}")
        for b in self.bindings:
            out += ["", "[[bind]]", f"action = {_toml_str(b.action)}", f"{b.kind} = {b.number}",
                    f"channel = {_toml_str('any') if b.channel is None else b.channel}",
                    f"mode = {_toml_str(b.mode)}"]
            if b.mode == ABSOLUTE and b.takeover != "soft":
                out.append(f"takeover = {_toml_str(b.takeover)}")
            if b.lo is not None:
                out.append(f"min = {float(b.lo)!r}")
            if b.hi is not None:
                out.append(f"max = {float(b.hi)!r}")
            if b.step is not None:
                out.append(f"step = {float(b.step)!r}")
            if b.invert:
                out.append("invert = true")
        return "\n".join(out) + "\n"


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mapping_from_dict(data: dict, source: str = "mapping",
                      instruments: Sequence[str] = DEFAULT_INSTRUMENTS) -> Mapping:
    """Build and check a Mapping from parsed TOML; InputError with one line naming `source`."""

    def bad(what: str) -> InputError:
        return InputError(f"{source}: {what}")

    actions = all_actions(instruments)
    switches = switch_actions(instruments)
    binds = data.get("bind", [])
    if not isinstance(binds, list):
        raise bad("'bind' must be a list of [[bind]] tables")
    out: list[Binding] = []
    for k, t in enumerate(binds, 1):
        where = f"binding {k}"
        if not isinstance(t, dict):
            raise bad(f"{where} is not a table")
        known = {"action", "cc", "note", "channel", "mode", "takeover", "min", "max", "step", "invert"}
        extra = sorted(set(t) - known)
        if extra:
            raise bad(f"{where} has unknown key '{extra[0]}' (known: {', '.join(sorted(known))})")
        action = t.get("action")
        if action not in actions:
            raise bad(f"{where}: action {action!r} is not one of {', '.join(actions)}")
        where = f"binding {k} ({action})"
        if ("cc" in t) == ("note" in t):
            raise bad(f"{where} needs exactly one of cc = N or note = N")
        kind = "cc" if "cc" in t else "note"
        number = t[kind]
        if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= 127:
            raise bad(f"{where}: {kind} = {number!r}, expected 0-127")
        ch = t.get("channel", "any")
        if ch == "any":
            channel = None
        elif isinstance(ch, int) and not isinstance(ch, bool) and 1 <= ch <= 16:
            channel = ch
        else:
            raise bad(f"{where}: channel = {ch!r}, expected 1-16 or \"any\"")
        mode = t.get("mode", default_mode(action, instruments))
        if is_continuous(action, instruments):
            if kind == "note":
                raise bad(f"{where}: a continuous action needs a cc, not a note")
            allowed: tuple[str, ...] = (ABSOLUTE,) + RELATIVE_MODES
        elif action in switches:
            allowed = SWITCH_MODES
        else:
            allowed = ("trigger",)
        if mode not in allowed:
            raise bad(f"{where}: mode = {mode!r}, expected one of {', '.join(allowed)}")
        takeover = t.get("takeover", "soft")
        if takeover not in TAKEOVERS:
            raise bad(f"{where}: takeover = {takeover!r}, expected soft, jump or scale")
        nums = {}
        for key in ("min", "max", "step"):
            v = t.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise bad(f"{where}: {key} = {v!r} is not a number")
            nums[key] = None if v is None else float(v)
        if nums["step"] is not None and nums["step"] <= 0:
            raise bad(f"{where}: step must be above 0")
        invert = t.get("invert", False)
        if not isinstance(invert, bool):
            raise bad(f"{where}: invert must be true or false")
        b = Binding(action, kind, number, channel, mode, takeover, nums["min"], nums["max"], nums["step"], invert)
        lo, hi = b.value_range
        if not lo < hi:
            raise bad(f"{where}: min {lo:g} must be below max {hi:g}")
        out.append(b)
    name = data.get("name", Path(source).stem)
    desc = data.get("description", "")
    if not isinstance(name, str) or not isinstance(desc, str):
        raise bad("name and description must be strings")
    return Mapping(name, out, desc, tuple(instruments))


def load_mapping(path: str | Path, instruments: Sequence[str] = DEFAULT_INSTRUMENTS) -> Mapping:
    """Read a mapping TOML file; InputError with one line naming the file."""
    return mapping_from_dict(read_toml(path, "controller mapping"), str(path), instruments)


def save_mapping(mapping: Mapping, path: str | Path) -> Path:
    """Write the mapping atomically (temp file + rename), creating folders; returns the path."""
    p = Path(path).expanduser()
    p.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(p, mapping.to_toml())


def preset_names() -> list[str]:
    """Names of the presets shipped in rvae_visual/midi/presets."""
    root = resources.files("rvae_visual.midi.presets")
    return sorted(f.name[:-5] for f in root.iterdir() if f.name.endswith(".toml"))


def load_preset(name: str, instruments: Sequence[str] = DEFAULT_INSTRUMENTS) -> Mapping:
    """A shipped preset by name; InputError listing the presets when unknown."""
    if name not in preset_names():
        raise InputError(f"no controller preset '{name}' (presets: {', '.join(preset_names())})")
    text = resources.files("rvae_visual.midi.presets").joinpath(f"{name}.toml").read_text("utf-8")
    return mapping_from_dict(tomllib.loads(text), f"preset {name}", instruments)


def user_mapping_path(environ: dict | None = None) -> Path:
    """The user's mapping file: $XDG_CONFIG_HOME/rvae-visual/controller.toml (~/.config/...)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "rvae-visual" / "controller.toml"


def resolve_controller(spec: str | None, user_path: Path | None = None,
                       instruments: Sequence[str] = DEFAULT_INSTRUMENTS) -> tuple[Mapping, Path]:
    """The mapping `--controller` asks for, and the file learned bindings are saved to.

    spec None: the user's mapping file if it exists, else the 'generic' preset; a preset name:
    that preset (learned bindings go to the user file); a path: that file (learned bindings
    are saved back into it)."""
    upath = user_path or user_mapping_path()
    if spec is None:
        if upath.is_file():
            return load_mapping(upath, instruments), upath
        return load_preset("generic", instruments), upath
    if spec in preset_names():
        return load_preset(spec, instruments), upath
    p = Path(spec).expanduser()
    if p.suffix.lower() == ".toml" or os.sep in spec or p.exists():
        return load_mapping(p, instruments), p
    raise InputError(f"--controller {spec}: not a preset ({', '.join(preset_names())}) nor a .toml file")


# ---------------------------------------------------------------- runtime

def _scaled(cur: float, lo: float, hi: float, was: float, now: float, invert: bool) -> float:
    """Value-scaling pickup: a knob turned from `was` to `now` (0..1) moves the value `cur`
    (lo..hi) the same fraction of the way to the end the knob is turning towards, so the value
    follows at once, never jumps, and meets the knob at that end at the latest."""
    c = (cur - lo) / (hi - lo)
    if invert:
        c, was, now = 1.0 - c, 1.0 - was, 1.0 - now
    if now > was:
        c += (1.0 - c) * (now - was) / (1.0 - was)
    elif now < was:
        c -= c * (was - now) / was
    c = min(1.0, max(0.0, 1.0 - c if invert else c))
    return lo + c * (hi - lo)


def decode_relative(value: int, mode: str) -> int:
    """Encoder ticks (+/-) from a relative CC value."""
    if mode == "relative-twos":  # 1..63 up, 127..65 down (127 = -1)
        return value - 128 if value >= 64 else value
    if mode == "relative-offset":  # 64 = no change, 65 = +1, 63 = -1
        return value - 64
    if mode == "relative-sign":  # bit 6 is the sign: 1 = +1, 65 = -1
        return -(value & 0x3F) if value & 0x40 else value & 0x3F
    raise ValueError(f"not a relative mode: {mode}")


class _KnobState:
    __slots__ = ("engaged", "last_raw", "pressed")

    def __init__(self) -> None:
        self.engaged = False
        self.last_raw: int | None = None
        self.pressed = False


class Controller:
    """Turns MIDI bytes into (action, value) pairs under a Mapping.

    `get_value(action)` (optional) reads the player's current value of an action (app units;
    mutes/listen 0 or 1) so soft takeover, relative encoders and latches start from what the
    performer sees. It may lag what we sent by a frame; values we sent recently are not
    mistaken for someone else's change."""

    def __init__(self, mapping: Mapping, get_value: Callable[[str], float | None] | None = None,
                 soft_as_scale: bool = False) -> None:
        self.get_value = get_value
        self.soft_as_scale = soft_as_scale  # soft-takeover knobs pick up by scaling (installation mode)
        self._sent: dict[str, float] = {}  # last value sent per action
        self._recent: dict[str, set[int]] = {}  # knob steps (0-127) sent since the app caught up
        self.set_mapping(mapping)

    def set_mapping(self, mapping: Mapping) -> None:
        """Swap the mapping (e.g. after MIDI learn); takes effect with the next message."""
        self.mapping = mapping
        table: dict[tuple[int, int, int], list[tuple[Binding, _KnobState]]] = {}
        for b in mapping.bindings:
            key = (0 if b.kind == "cc" else 1, -1 if b.channel is None else b.channel - 1, b.number)
            table.setdefault(key, []).append((b, _KnobState()))
        self._table = table

    def handle(self, msg: Sequence[int]) -> list[tuple[str, float]]:
        """Actions for one MIDI message (channel voice bytes); [] when nothing is bound."""
        if len(msg) < 3:
            return []
        status = msg[0] & 0xF0
        if status == 0xB0:
            kind = 0
        elif status in (0x90, 0x80):
            kind = 1
        else:
            return []
        ch, num, val = msg[0] & 0x0F, msg[1], msg[2]
        hits = self._table.get((kind, ch, num))
        anych = self._table.get((kind, -1, num))
        if hits is None and anych is None:
            return []
        out: list[tuple[str, float]] = []
        for group in (hits, anych):
            if group:
                for b, st in group:
                    if kind == 1:
                        pressed = status == 0x90 and val > 0
                    else:
                        pressed = val >= 64
                    self._apply(b, st, val, pressed, out)
        return out

    # -- helpers
    def _current(self, action: str) -> float | None:
        if self.get_value is not None:
            try:
                v = self.get_value(action)
            except Exception:
                v = None
            if v is not None:
                return float(v)
        return self._sent.get(action)

    def _apply(self, b: Binding, st: _KnobState, val: int, pressed: bool, out: list) -> None:
        a = b.action
        if b.mode == ABSOLUTE or b.mode in RELATIVE_MODES:
            if b.mode == ABSOLUTE:
                self._absolute(b, st, val, out)
            else:
                self._relative(b, val, out)
            return
        was = st.pressed
        st.pressed = pressed
        if b.mode == "trigger":
            if pressed and not was:
                out.append((a, 1.0))
        elif b.mode == "momentary":
            if pressed != was:
                out.append((a, 1.0 if pressed else 0.0))
                self._sent[a] = 1.0 if pressed else 0.0
        elif b.mode == "latch":
            if pressed and not was:
                cur = self._current(a)
                new = 0.0 if (cur or 0.0) >= 0.5 else 1.0
                self._sent[a] = new
                out.append((a, new))
        elif b.mode == "on":
            if pressed and not was:
                self._sent[a] = 1.0
                out.append((a, 1.0))

    def _external_change(self, b: Binding, cur: float | None) -> bool:
        """True if the player's value moved away from everything we sent (keys, mouse)."""
        a = b.action
        if cur is None or a not in self._sent:
            return False
        step = self._to_step(b, cur)
        recent = self._recent.setdefault(a, set())
        if step == self._to_step(b, self._sent[a]):
            recent.clear()  # the player caught up with us
            recent.add(step)
            return False
        return step not in recent

    def _to_step(self, b: Binding, value: float) -> int:
        lo, hi = b.value_range
        x = (value - lo) / (hi - lo)
        if b.invert:
            x = 1.0 - x
        return int(round(min(max(x, 0.0), 1.0) * 127))

    def _emit(self, b: Binding, value: float, out: list, cur: float | None = None) -> None:
        a = b.action
        self._sent[a] = value
        recent = self._recent.setdefault(a, set())
        recent.add(self._to_step(b, value))
        if cur is not None:  # the player may show the value we started from for a frame
            recent.add(self._to_step(b, cur))
        out.append((a, value))

    def _absolute(self, b: Binding, st: _KnobState, raw: int, out: list) -> None:
        lo, hi = b.value_range
        x = raw / 127.0
        value = lo + (1.0 - x if b.invert else x) * (hi - lo)
        prev, st.last_raw = st.last_raw, raw
        if b.takeover == "jump":
            self._emit(b, value, out)
            return
        cur = self._current(b.action)
        if cur is None:
            st.engaged = True
        elif st.engaged and self._external_change(b, cur):
            st.engaged = False
        if not st.engaged and cur is not None:
            target = self._to_step(b, cur)  # in knob steps, invert already applied
            knob = 127 - raw if b.invert else raw
            prev_knob = None if prev is None else (127 - prev if b.invert else prev)
            if abs(knob - target) <= 1 or (prev_knob is not None and (prev_knob - target) * (knob - target) <= 0):
                st.engaged = True
            elif b.takeover == "scale" or self.soft_as_scale:
                if prev is None:
                    return  # where the knob is, not yet which way it turns
                value = _scaled(cur, lo, hi, prev / 127.0, x, b.invert)
                if abs(self._to_step(b, value) - knob) <= 1:
                    st.engaged = True
                self._emit(b, value, out, cur)
                return
            else:
                return
        self._emit(b, value, out, cur)

    def _relative(self, b: Binding, raw: int, out: list) -> None:
        ticks = decode_relative(raw, b.mode)
        if ticks == 0:
            return
        lo, hi = b.value_range
        step = b.step if b.step is not None else (hi - lo) / 127.0
        cur = self._current(b.action)
        base = self._sent.get(b.action)
        if base is None or self._external_change(b, cur):
            base = cur if cur is not None else (lo + hi) / 2.0
        if b.invert:
            ticks = -ticks
        self._emit(b, min(max(base + ticks * step, lo), hi), out, cur)

    def waiting_takeover(self) -> list[tuple[str, float, float]]:
        """(action, where the physical knob is, the value now) for soft-takeover knobs that were
        moved but have not picked up the value yet, in action units. Any thread (a snapshot)."""
        out = []
        for group in list(self._table.values()):
            for b, st in group:
                raw = st.last_raw
                if b.mode != ABSOLUTE or b.takeover == "jump" or st.engaged or raw is None:
                    continue
                cur = self._current(b.action)
                if cur is None:
                    continue
                lo, hi = b.value_range
                x = raw / 127.0
                out.append((b.action, lo + (1.0 - x if b.invert else x) * (hi - lo), cur))
        return out

    def bound_actions(self) -> set[str]:
        """Actions that have at least one binding."""
        return {b.action for b in self.mapping.bindings}


def describe(mapping: Mapping) -> list[str]:
    """One line per binding, for the HUD or `--help`-style listings."""
    return [f"{b.action}: {b.source()} {b.mode}" for b in mapping.bindings]


def replace_binding(mapping: Mapping, new: Binding, keep_options: bool = True) -> Mapping:
    """`mapping.with_binding(new)`, keeping mode/range/takeover of the old binding of that action
    when the control kind matches (so a relearned encoder stays relative)."""
    if keep_options:
        for old in mapping.for_action(new.action):
            if old.kind == new.kind:
                new = replace(old, number=new.number, channel=new.channel)
                break
    return mapping.with_binding(new)

