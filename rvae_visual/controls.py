"""The controls vocabulary: every control of the instrument as data, and the one key table.

Keys, the HUD's help, MIDI mapping and learn, the `--control` script (and scenes and OSC as
they come) all read this module; ranges live only here. A vocabulary is built from the drum
map's instrument names, so `mute_<name>` exists for every instrument of any map.

Values are in control units, the units a MIDI knob or an OSC message sends:
head_x / head_y 0..1 across the map window (y up), threshold 0..1, noise in latent units,
tempo in BPM, switches 0 or 1 (>= 0.5 is on), triggers fire on a value >= 0.5.

Who applies a control (`Control.target`): `performance` controls change the Performance
state (`apply`, `value_of`); `session` ones are handled by the conductor (models, kits);
`window` ones by the window (fullscreen, HUD, help, quit).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, Sequence

CONTINUOUS = "continuous"  # a value in lo..hi
TOGGLE = "toggle"  # on / off, kept until changed
TRIGGER = "trigger"  # fires once per press

PERFORMANCE = "performance"
SESSION = "session"
WINDOW = "window"

BPM_MIN = 40.0
BPM_MAX = 300.0
BPM_KNOB = (60.0, 180.0)  # a 0-127 knob over 40-300 BPM would move in 2 BPM steps
NOISE_MAX = 1.0  # latent units; the prior is N(0, 1)
DEFAULT_INSTRUMENTS = ("kick", "snare", "hihat")
PRESSED = 0.5  # a switch or trigger value at or above this is on / fires

# key actions
HOLD = "hold"  # on while the key is held (mutes)
FLIP = "flip"  # a toggle flips
PRESS = "press"  # a trigger fires
STEP = "step"  # a continuous control moves by `step` (x `fine` with Shift)

THRESHOLD_STEP = 0.05
NOISE_STEP = 0.05
TEMPO_STEP = 1.0
FINE = 0.2  # Shift makes the threshold and noise keys 5x finer
TEMPO_SHIFT = 5.0  # Shift makes the tempo keys 5x coarser
GLOW_MAX = 24.0  # ticks: a quarter note
GLOW_STEP = 3.0  # ticks: a 32nd note
MUTE_KEYS = "qwe"  # hold to mute the first three instruments (Shift latches)
SWING_MIN = 50.0  # swing: where in its 8th note the second 16th sounds, percent; 50 is straight
SWING_MAX = 75.0  # the 8th split 3:1 (dotted 16th + 32nd); 66.7 is triplet swing
SWING_STEP = 2.0
TRIM = 0.5  # a drum's threshold_<name> moves its own threshold this far either side of the global one
QUANTIZE = ("tick", "beat", "bar")  # where a new pattern takes over; `quantize` is the index
TAP_RESET_S = 2.0  # a tap this long after the last one starts a new count (slower than 30 BPM)
TAPS_KEPT = 5  # the tempo is the median of the last four intervals
SCENES = 8  # scene slots, 1..SCENES
GLIDE_MAX = 16.0  # beats a recalled scene's head may glide over


@dataclass(frozen=True)
class Control:
    """One control: its name, kind, range and unit, default, and who applies it.

    `knob` is the range a MIDI knob bound to it covers by default, when not lo..hi;
    `instrument` is the drum-map row a per-instrument control acts on."""

    name: str
    kind: str
    help: str
    lo: float = 0.0
    hi: float = 1.0
    unit: str = ""
    default: float = 0.0
    target: str = PERFORMANCE
    knob: tuple[float, float] | None = None
    instrument: int | None = None
    choices: tuple[str, ...] = ()  # a continuous control over named steps: its value is the index

    def snap(self, value: float) -> float:
        """`value` clamped into lo..hi, and to the nearest step when the control has `choices`."""
        v = self.clamp(value)
        return float(round(v)) if self.choices else v

    @property
    def knob_range(self) -> tuple[float, float]:
        """(min, max) a MIDI knob covers unless its binding says otherwise."""
        return self.knob if self.knob is not None else (self.lo, self.hi)

    def clamp(self, value: float) -> float:
        """`value` clamped into lo..hi."""
        return min(self.hi, max(self.lo, float(value)))


@dataclass(frozen=True)
class Key:
    """One key press bound to a control. `key` is a pygame key name (`pygame.key.name`);
    `shift` True / False needs / forbids Shift, None takes either."""

    key: str
    control: str
    action: str
    shift: bool | None = False
    step: float = 0.0


@dataclass(frozen=True)
class KeyRow:
    """One row of the key help: the keys as the performer reads them, what they do."""

    label: str
    help: str
    keys: tuple[Key, ...] = ()


class Vocabulary:
    """Every control for one drum map, and the key table; look controls up by name."""

    def __init__(self, instruments: Sequence[str] = DEFAULT_INSTRUMENTS) -> None:
        self.instruments = tuple(instruments)
        self.controls: tuple[Control, ...] = _controls(self.instruments)
        self._by_name = {c.name: c for c in self.controls}
        self.key_rows: tuple[KeyRow, ...] = _key_rows(self.instruments)
        self._keys: dict[tuple[str, bool], Key] = {}
        for row in self.key_rows:
            for k in row.keys:
                for shift in ((False, True) if k.shift is None else (k.shift,)):
                    self._keys.setdefault((k.key, shift), k)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Control:
        return self._by_name[name]

    def get(self, name: str) -> Control | None:
        """The control called `name`, or None."""
        return self._by_name.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        """Every control name, in vocabulary order."""
        return tuple(c.name for c in self.controls)

    def of_kind(self, *kinds: str) -> tuple[Control, ...]:
        """Controls of the given kinds."""
        return tuple(c for c in self.controls if c.kind in kinds)

    def bindable(self) -> tuple[str, ...]:
        """Names a controller mapping may bind (everything but window controls)."""
        return tuple(c.name for c in self.controls if c.target != WINDOW)

    def key(self, name: str, shift: bool) -> Key | None:
        """The key binding for pygame key name `name` with or without Shift, or None."""
        return self._keys.get((name, shift))

    def learn_keys(self) -> dict[tuple[str, bool], str]:
        """(key name, shift) -> the control that key stands for in MIDI learn mode."""
        return {ks: k.control for ks, k in self._keys.items() if self._by_name[k.control].target != WINDOW}

    def help_rows(self) -> tuple[tuple[str, str], ...]:
        """(keys, what they do) rows for the key help."""
        return tuple((r.label, r.help) for r in self.key_rows)


@lru_cache(maxsize=16)
def vocabulary(instruments: tuple[str, ...] = DEFAULT_INSTRUMENTS) -> Vocabulary:
    """The (shared, immutable) vocabulary of a drum map's instruments."""
    return Vocabulary(instruments)


def _controls(instruments: tuple[str, ...]) -> tuple[Control, ...]:
    out = [
        Control("head_x", CONTINUOUS, "playback head across the map (0 left, 1 right)", unit="of the map"),
        Control("head_y", CONTINUOUS, "playback head up the map (0 bottom, 1 top)", unit="of the map"),
        Control("threshold", CONTINUOUS, "onsets with a probability above it are heard and shown",
                default=0.5),
        Control("noise", CONTINUOUS, "per-bar Gaussian jitter of the head", 0.0, NOISE_MAX, "latent units"),
        Control("tempo", CONTINUOUS, "tempo", BPM_MIN, BPM_MAX, "BPM", 120.0, knob=BPM_KNOB),
        Control("swing", CONTINUOUS, "where the off-beat 16ths sound: 50 straight .. 75 hard swing",
                SWING_MIN, SWING_MAX, "%", SWING_MIN),
        Control("tap_tempo", TRIGGER, "tap the beat: the tempo follows two taps or more"),
        Control("quantize", CONTINUOUS, "where a head move takes over: 0 next tick, 1 next beat, 2 next bar",
                0.0, float(len(QUANTIZE) - 1), "tick / beat / bar", choices=QUANTIZE),
        Control("next_quantize", TRIGGER, "quantize tick -> beat -> bar -> tick"),
    ]
    out += [Control(f"mute_{n}", TOGGLE, f"mute {n}", instrument=i) for i, n in enumerate(instruments)]
    out += [Control(f"threshold_{n}", CONTINUOUS, f"{n}'s threshold, above (+) or below (-) the global one",
                    -TRIM, TRIM, "from the threshold", instrument=i) for i, n in enumerate(instruments)]
    out += [
        Control("mute_all", TOGGLE, "mute everything"),
        Control("excursion", TOGGLE, "while held: head, noise and thresholds move for now, and snap back "
                "on the next beat when let go"),
        Control("listen", TOGGLE, "head heard (1) or silent (0)", default=1.0),
        Control("scene_glide", CONTINUOUS, "a recalled scene's head glides there over this many beats "
                "(0: it jumps)", 0.0, GLIDE_MAX, "beats"),
    ]
    out += [Control(f"recall_scene_{n}", TRIGGER, f"recall scene {n} on the next beat (bar with quantize bar)",
                    target=SESSION) for n in range(1, SCENES + 1)]
    out += [Control(f"store_scene_{n}", TRIGGER, f"store what plays now as scene {n}", target=SESSION)
            for n in range(1, SCENES + 1)]
    out += [
        Control("record", TOGGLE, "record what is played to a MIDI file (and WAV with --record-audio) "
                "in the --record folder", target=SESSION),
        Control("start_stop", TRIGGER, "stop / start (from bar 1)"),
        Control("clear_trail", TRIGGER, "clear the head's trail"),
        Control("new_seed", TRIGGER, "a new noise seed"),
        Control("next_model", TRIGGER, "next model", target=SESSION),
        Control("prev_model", TRIGGER, "previous model", target=SESSION),
        Control("next_kit", TRIGGER, "next drum kit", target=SESSION),
        Control("prev_kit", TRIGGER, "previous drum kit", target=SESSION),
        Control("fullscreen", TRIGGER, "fullscreen on/off", target=WINDOW),
        Control("toggle_hud", TRIGGER, "HUD on/off", target=WINDOW),
        Control("toggle_landmarks", TRIGGER, "clip landmarks on/off", target=WINDOW),
        Control("toggle_topology", TRIGGER, "rhythm-region boundaries on/off", target=WINDOW),
        Control("glow", CONTINUOUS, "how long a hit stays lit on the map", 0.0, GLOW_MAX, "ticks", 6.0,
                target=WINDOW),
        Control("toggle_help", TRIGGER, "key help on/off", target=WINDOW),
        Control("quit", TRIGGER, "quit", target=WINDOW),
    ]
    return tuple(out)


def _key_rows(instruments: tuple[str, ...]) -> tuple[KeyRow, ...]:
    muted = list(zip(MUTE_KEYS, instruments))
    names = " / ".join("hi-hat" if n == "hihat" else n for _, n in muted)
    letters = " ".join(k.upper() for k, _ in muted)
    step = [Key(k, c, STEP, None, s) for k, c, s in (
        ("up", "threshold", THRESHOLD_STEP), ("down", "threshold", -THRESHOLD_STEP),
        ("right", "noise", NOISE_STEP), ("left", "noise", -NOISE_STEP))]
    tempo = [Key(k, "tempo", STEP, None, s) for k, s in (
        ("=", TEMPO_STEP), ("+", TEMPO_STEP), ("[+]", TEMPO_STEP),
        ("-", -TEMPO_STEP), ("[-]", -TEMPO_STEP))]
    return (
        KeyRow("Esc", "quit", (Key("escape", "quit", PRESS, None),)),
        KeyRow("F", "fullscreen on/off", (Key("f", "fullscreen", PRESS, None),)),
        KeyRow("Space", "start / stop", (Key("space", "start_stop", PRESS, None),)),
        KeyRow("click head / Enter", "head heard / silent",
               (Key("return", "listen", FLIP, None), Key("enter", "listen", FLIP, None))),
        KeyRow("click, drag", "move the head"),
        KeyRow(f"{letters} (hold)", f"mute {names}",
               tuple(Key(k, f"mute_{n}", HOLD) for k, n in muted)),
        KeyRow(f"Shift+{letters}", "latch mute", tuple(Key(k, f"mute_{n}", FLIP, True) for k, n in muted)),
        KeyRow("R", "mute all on/off", (Key("r", "mute_all", FLIP, None),)),
        KeyRow("V (hold)", "excursion: play around, snap back on the next beat when let go",
               (Key("v", "excursion", HOLD, None),)),
        KeyRow("Up / Down", f"threshold +/- {THRESHOLD_STEP:g} (Shift {THRESHOLD_STEP * FINE:g})", tuple(step[:2])),
        KeyRow("Right / Left", f"noise +/- {NOISE_STEP:g} (Shift {NOISE_STEP * FINE:g})", tuple(step[2:])),
        KeyRow("N", "new noise seed", (Key("n", "new_seed", PRESS, None),)),
        KeyRow("+ / -", f"tempo +/- {TEMPO_STEP:g} BPM (Shift {TEMPO_STEP * TEMPO_SHIFT:g})", tuple(tempo)),
        KeyRow("S / Shift+S", f"swing +/- {SWING_STEP:g} %",
               (Key("s", "swing", STEP, False, SWING_STEP), Key("s", "swing", STEP, True, -SWING_STEP))),
        KeyRow("B", "tap tempo (tap the beat)", (Key("b", "tap_tempo", PRESS, None),)),
        KeyRow("X", "quantize: tick / beat / bar", (Key("x", "next_quantize", PRESS, None),)),
        KeyRow(f"1-{SCENES} / Shift+1-{SCENES}", "recall / store a scene",
               tuple(Key(str(n), f"recall_scene_{n}", PRESS) for n in range(1, SCENES + 1))
               + tuple(Key(str(n), f"store_scene_{n}", PRESS, True) for n in range(1, SCENES + 1))),
        KeyRow("O", "record on/off (with --record DIR)", (Key("o", "record", FLIP, None),)),
        KeyRow("M / Shift+M", "next / previous model",
               (Key("m", "next_model", PRESS), Key("m", "prev_model", PRESS, True))),
        KeyRow("K / Shift+K", "next / previous kit",
               (Key("k", "next_kit", PRESS), Key("k", "prev_kit", PRESS, True))),
        KeyRow("C", "clear the trail", (Key("c", "clear_trail", PRESS, None),)),
        KeyRow("L", "clip landmarks on/off", (Key("l", "toggle_landmarks", PRESS, None),)),
        KeyRow("T", "rhythm regions on/off", (Key("t", "toggle_topology", PRESS, None),)),
        KeyRow("G / Shift+G", f"afterglow +/- {GLOW_STEP:g} ticks",
               (Key("g", "glow", STEP, False, GLOW_STEP), Key("g", "glow", STEP, True, -GLOW_STEP))),
        KeyRow("H", "HUD on/off", (Key("h", "toggle_hud", PRESS, None),)),
        KeyRow("?", "this help", (Key("?", "toggle_help", PRESS, None), Key("f1", "toggle_help", PRESS, None),
                                  Key("/", "toggle_help", PRESS, True))),
        KeyRow("Tab", "MIDI learn (with --midi-in)"),
        KeyRow("drop a file", "model file: load it"),
        KeyRow("drop a folder", "MIDI clips: train a new map"),
    )


def key_step(key: Key, shift: bool) -> float:
    """How far a STEP key moves its control, with or without Shift."""
    if not shift or key.shift is True:  # a key bound to Shift+X has its own step
        return key.step
    return key.step * (TEMPO_SHIFT if key.control == "tempo" else FINE)


# ------------------------------------------------------------------ applying to the state

class PerformanceState(Protocol):
    """What `apply` and `value_of` need of rvae_visual.performance.Performance."""

    extent: float
    head: tuple[float, float]
    threshold: float
    noise: float
    bpm: float
    quantize: str
    swing: float
    mute_all: bool
    listening: bool
    playing: bool
    latched: list[bool]
    held: list[bool]
    trims: list[float]
    excursion_held: bool
    glide_beats: float

    def move_head(self, z1: float, z2: float, now: float) -> None: ...
    def set_threshold(self, value: float) -> None: ...
    def set_noise(self, value: float) -> None: ...
    def set_tempo(self, bpm: float) -> None: ...
    def tap(self, now: float) -> None: ...
    def set_quantize(self, name: str) -> None: ...
    def set_swing(self, percent: float) -> None: ...
    def set_trim(self, instrument: int, value: float) -> None: ...
    def set_excursion(self, held: bool) -> None: ...
    def set_glide(self, beats: float) -> None: ...
    def set_latch(self, instrument: int, on: bool) -> None: ...
    def hold_mute(self, instrument: int, down: bool) -> None: ...
    def toggle_playing(self) -> None: ...
    def clear_trail(self) -> None: ...
    def new_seed(self) -> int: ...


def _unit(value: float) -> float:
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else float(value)


def apply(state: PerformanceState, control: Control, value: float, now: float) -> None:
    """Apply a `performance` control to the state; `now` (s) times the head's trail."""
    v = float(value)
    name = control.name
    if name in ("head_x", "head_y"):
        e = state.extent
        z = -e + 2.0 * e * _unit(v)
        if name == "head_x":
            state.move_head(z, state.head[1], now)
        else:
            state.move_head(state.head[0], z, now)
    elif name == "threshold":
        state.set_threshold(v)
    elif name == "noise":
        state.set_noise(v)
    elif name == "tempo":
        state.set_tempo(v)
    elif name == "swing":
        state.set_swing(v)
    elif name == "quantize":
        state.set_quantize(QUANTIZE[int(control.snap(v))])
    elif name == "scene_glide":
        state.set_glide(v)
    elif name.startswith("threshold_") and control.instrument is not None:
        state.set_trim(control.instrument, v)
    elif control.instrument is not None:
        state.set_latch(control.instrument, v >= PRESSED)
    elif name == "mute_all":
        state.mute_all = v >= PRESSED
    elif name == "excursion":
        state.set_excursion(v >= PRESSED)
    elif name == "listen":
        state.listening = v >= PRESSED
    elif v >= PRESSED:
        if name == "start_stop":
            state.toggle_playing()
        elif name == "clear_trail":
            state.clear_trail()
        elif name == "new_seed":
            state.new_seed()
        elif name == "tap_tempo":
            state.tap(now)
        elif name == "next_quantize":
            state.set_quantize(QUANTIZE[(QUANTIZE.index(state.quantize) + 1) % len(QUANTIZE)])


def value_of(state: PerformanceState, control: Control) -> float | None:
    """The state's current value of a `performance` control, in control units (None for a
    trigger). A per-instrument mute reads its latch (what a MIDI latch toggles)."""
    name = control.name
    if name in ("head_x", "head_y"):
        e = state.extent
        return (float(state.head[0 if name == "head_x" else 1]) + e) / (2.0 * e)
    if name == "threshold":
        return float(state.threshold)
    if name == "noise":
        return float(state.noise)
    if name == "tempo":
        return float(state.bpm)
    if name == "quantize":
        return float(QUANTIZE.index(state.quantize))
    if name == "swing":
        return float(state.swing)
    if name == "scene_glide":
        return float(state.glide_beats)
    if name.startswith("threshold_") and control.instrument is not None:
        i = control.instrument
        return float(state.trims[i]) if i < len(state.trims) else 0.0
    if control.instrument is not None:
        i = control.instrument
        return 1.0 if i < len(state.latched) and state.latched[i] else 0.0
    if name == "mute_all":
        return 1.0 if state.mute_all else 0.0
    if name == "excursion":
        return 1.0 if state.excursion_held else 0.0
    if name == "listen":
        return 1.0 if state.listening else 0.0
    return None


def hold(state: PerformanceState, control: Control, down: bool) -> None:
    """A held key: a per-instrument mute is muted while held, on top of its latch; any other
    control (the excursion) is on while held."""
    if control.instrument is not None:
        state.hold_mute(control.instrument, down)
    else:
        apply(state, control, 1.0 if down else 0.0, 0.0)
