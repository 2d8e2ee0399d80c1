"""MIDI clips <-> Patterns (mido).

Reading: any Standard MIDI File (type 0 or 1, any ticks per quarter, any number of tracks).
Positions are measured in quarter notes from the file's own ticks, so tempo changes never move
the grid; a Pattern is 4 beats from the file start: 4 quarters in 4/4, 4 dotted quarters in
12/8 (one bar) and 6/8 (two bars). Other meters are refused. Each drum note goes to a tick and a
signed microtiming offset by one of the readings of `reading.py` (default: its intended grid
position; or the nearest tick).

Writing: Patterns to a Standard MIDI File at 1920 ticks per quarter (a multiple of every common
resolution: 24, 48, 96, 192, 480, 960), with microtiming, velocities, a tempo, and the end of the
track exactly on the loop's last bar line.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import mido
import numpy as np

from ..drum_map import DrumMap, default_drum_map
from ..errors import ClipError
from ..pattern import METER_4_4, QUARTERS_PER_BAR, TICKS_PER_BAR, Meter, Pattern, meter_of, velocity_byte
from .reading import DEFAULT_READING, check_reading, place, subdivisions_used

MAX_CLIP_BYTES = 4 * 1024 * 1024  # a drum clip is a few kB; anything this big is not one
MAX_CLIP_BARS = 512  # bars of 4 quarter notes; a drum clip is a few bars, this is ~17 min at 120
OUT_TPQ = 1920
DEFAULT_BPM = 120.0
MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")


@dataclass(frozen=True)
class Note:
    """A note-on read from a file: position in quarter notes from the file start."""

    quarter: float
    channel: int  # 0-15
    note: int
    velocity: int


@dataclass
class MidiContent:
    """What `read_midi_notes` found in a file."""

    notes: list[Note]
    bpm: float
    length_quarters: float
    time_signatures: list[tuple[int, int]]
    ticks_per_quarter: int


@dataclass(frozen=True)
class KeptNote:
    """A drum note that made it into a Pattern: instrument, exact loop position in quarters."""

    instrument: int
    quarter: float
    velocity: int


@dataclass
class Clip:
    """A clip read into Patterns, with what happened to its notes on the way."""

    path: str
    bpm: float  # beats (24 ticks: quarters, or dotted quarters in 12/8 and 6/8) a minute
    n_bars: int  # Patterns in the loop (kept + skipped)
    patterns: list[Pattern]  # kept bars, in order
    bar_indices: list[int]  # index of each kept bar in the loop
    hits: dict[str, int]  # hits kept, per instrument
    collisions: int  # notes dropped because a louder one shared their tick
    unmapped: int  # drum notes the drum map has no place for
    skipped_bars: int  # bars with fewer than min_hits hits
    kept_notes: list[KeptNote] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    drum_map: DrumMap | None = None
    meter: Meter = METER_4_4
    reading: str = DEFAULT_READING
    subdivisions: list[str] = field(default_factory=list)  # what the notes were read on

    @property
    def name(self) -> str:
        """File name without folder or suffix."""
        return Path(self.path).stem

    @property
    def loop_quarters(self) -> float:
        """Loop length in quarter notes (`n_bars` Patterns of 4 beats)."""
        return float(self.n_bars * QUARTERS_PER_BAR * self.meter.quarters_per_beat)


def read_midi_file(path: str | Path) -> mido.MidiFile:
    """Open a file as MIDI; any failure becomes a one-line ClipError naming the file."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ClipError(f"{p}: no such file or folder") from None
    except OSError as e:
        raise ClipError(f"{p}: cannot read ({e.strerror or e})") from None
    if not p.is_file():
        raise ClipError(f"{p}: not a regular file")
    if st.st_size == 0:
        raise ClipError(f"{p}: empty file (0 bytes), not a MIDI file")
    if st.st_size > MAX_CLIP_BYTES:
        raise ClipError(
            f"{p}: {st.st_size / 1e6:.1f} MB is too big for a drum clip "
            f"(limit {MAX_CLIP_BYTES // (1024 * 1024)} MB)"
        )
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ClipError(f"{p}: cannot read ({e.strerror or e})") from None
    if not data.startswith(b"MThd"):
        raise ClipError(f"{p}: not a Standard MIDI File (no MThd header)")
    try:
        return mido.MidiFile(file=io.BytesIO(data))
    except EOFError:
        raise ClipError(f"{p}: truncated MIDI file (ends in the middle of a track)") from None
    except Exception as e:  # mido raises OSError, ValueError, KeyError, IndexError on bad data
        raise ClipError(f"{p}: corrupt MIDI file ({type(e).__name__}: {e})") from None


def read_midi_notes(mid: mido.MidiFile) -> MidiContent:
    """All note-ons of a MIDI file, positioned in quarter notes from the file start."""
    tpq = mid.ticks_per_beat
    if not tpq or tpq <= 0:
        raise ValueError("SMPTE time division is not supported")
    notes: list[Note] = []
    tempos: list[tuple[int, int]] = []
    sigs: list[tuple[int, int, int]] = []
    end = 0
    for track in mid.tracks:
        t = 0
        for msg in track:
            t += msg.time
            kind = msg.type
            if kind == "note_on":
                if msg.velocity > 0:
                    notes.append(Note(t / tpq, msg.channel, msg.note, msg.velocity))
            elif kind == "set_tempo":
                tempos.append((t, msg.tempo))
            elif kind == "time_signature":
                sigs.append((t, msg.numerator, msg.denominator))
        end = max(end, t)
    notes.sort(key=lambda n: (n.quarter, n.note))
    bpm = DEFAULT_BPM
    if tempos:
        tempos.sort()
        bpm = mido.tempo2bpm(tempos[0][1])
    sigs.sort()
    return MidiContent(notes, float(bpm), end / tpq, [(a, b) for _, a, b in sigs], tpq)


def read_clip(
    path: str | Path,
    drum_map: DrumMap | None = None,
    min_hits: int = 1,
    reading: str = DEFAULT_READING,
) -> Clip:
    """Read a drum clip into one Pattern per 4 beats; raises ClipError (one line) when unusable.
    `reading`: "musical" or "nearest" (see `reading.py`)."""
    dm = drum_map or default_drum_map()
    p = Path(path)
    mid = read_midi_file(p)
    try:
        content = read_midi_notes(mid)
    except Exception as e:
        raise ClipError(f"{p}: corrupt MIDI file ({e})") from None
    check_clip_length(content, str(p))
    return clip_from_notes(content, str(p), dm, min_hits, reading)


def check_clip_length(content: MidiContent, path: str, max_bars: int = MAX_CLIP_BARS) -> None:
    """ClipError (one line naming the file) when the file's events reach past `max_bars` bars of
    4 quarter notes, checked before any array of bars is allocated (a huge delta-time in a tiny
    file would otherwise claim gigabytes)."""
    last = max([content.length_quarters] + [n.quarter for n in content.notes])
    limit = max_bars * QUARTERS_PER_BAR
    if last > limit:
        raise ClipError(
            f"{path}: {last / QUARTERS_PER_BAR:,.0f} bars long (its events reach quarter note "
            f"{last:,.0f}); a drum clip may be at most {max_bars} bars of 4/4"
        )


def clip_meter(content: MidiContent, path: str) -> Meter:
    """The one meter of a file (4/4 without a time signature); ClipError for another meter or
    for a change of meter."""
    names = list(dict.fromkeys(f"{n}/{d}" for n, d in content.time_signatures))
    if len(names) > 1:
        raise ClipError(f"{path}: changes meter ({', '.join(names)}); a clip is read in one meter")
    if not names:
        return METER_4_4
    num, den = content.time_signatures[0]
    try:
        return meter_of(num, den)
    except ValueError as e:
        raise ClipError(f"{path}: {e}") from None


def clip_from_notes(content: MidiContent, path: str, dm: DrumMap, min_hits: int = 1,
                    reading: str = DEFAULT_READING) -> Clip:
    """Turn the notes of a file into Patterns (see `read_clip`)."""
    check_reading(reading)
    meter = clip_meter(content, path)
    if not content.notes:
        raise ClipError(f"{path}: no notes at all, nothing to learn")
    warnings: list[str] = []
    chan = dm.channel - 1
    notes = [n for n in content.notes if n.channel == chan]
    if not notes:
        used = sorted({n.channel + 1 for n in content.notes})
        warnings.append(
            f"{path}: no notes on channel {dm.channel}; reading drums from all channels "
            f"(found channel{'s' if len(used) > 1 else ''} {', '.join(map(str, used))})"
        )
        notes = content.notes
    mapped = []
    unmapped = 0
    for n in notes:
        inst = dm.instrument_of(n.note)
        if inst < 0:
            unmapped += 1
        else:
            mapped.append((inst, n))
    if not mapped:
        found = sorted({n.note for n in notes})
        shown = ", ".join(map(str, found[:8])) + (", ..." if len(found) > 8 else "")
        raise ClipError(
            f"{path}: no drum notes the drum map knows (notes found: {shown}; "
            f"the map takes {', '.join(f'{a} {list(b)}' for a, b in zip(dm.instruments, dm.notes))})"
        )

    tpq = meter.ticks_per_quarter
    length_ticks = content.length_quarters * tpq
    n_meter_bars = max(1, int(round(length_ticks / meter.ticks_per_bar)))
    if n_meter_bars % meter.bars_per_pattern:  # an odd number of 6/8 bars: the loop twice
        repeat = n_meter_bars * meter.ticks_per_bar / tpq
        mapped = mapped + [(inst, Note(n.quarter + repeat, n.channel, n.note, n.velocity))
                           for inst, n in mapped]
        n_meter_bars *= 2
    n_bars = n_meter_bars // meter.bars_per_pattern
    ticks, offs_read, subs = place(np.array([n.quarter * tpq for _, n in mapped]), meter, reading)
    placed: list[tuple[int, int, float, KeptNote]] = []  # (abs tick, inst, offset, note)
    for (inst, n), tick, off in zip(mapped, ticks.tolist(), offs_read.tolist()):
        placed.append((tick, inst, off, KeptNote(inst, n.quarter, n.velocity)))
    last_tick = max(t for t, *_ in placed)
    if last_tick > n_bars * TICKS_PER_BAR:  # notes beyond the file's length extend the loop
        n_bars = last_tick // TICKS_PER_BAR + 1
    loop_ticks = n_bars * TICKS_PER_BAR

    n_inst = dm.n_instruments
    onsets = np.zeros((n_bars, n_inst, TICKS_PER_BAR), np.float32)
    vels = np.zeros_like(onsets)
    offs = np.zeros_like(onsets)
    owner: dict[tuple[int, int], KeptNote] = {}
    collisions = 0
    for tick, inst, off, kn in placed:
        if tick >= loop_ticks:  # read onto the downbeat after the loop: it is the loop's tick 0
            tick -= loop_ticks
        elif tick < 0:  # read onto the loop's first tick from before it (cannot happen today)
            tick += loop_ticks
        if (tick, inst) in owner and reading == "musical":
            # two notes of a drum on one grid position (a roll finer than the subdivisions read):
            # the second goes to its nearest tick when that and its neighbours are free (a
            # flam, two hits a tick apart, stays one hit: the louder)
            exact = tick + off
            near = int(np.floor(exact + 0.5))
            if all(((near + d) % loop_ticks, inst) not in owner for d in (-1, 0, 1)):
                tick, off = near % loop_ticks, exact - near
        bar, t = divmod(tick, TICKS_PER_BAR)
        key = (tick, inst)
        if key in owner:
            collisions += 1
            if kn.velocity <= owner[key].velocity:
                continue
        owner[key] = kn
        onsets[bar, inst, t] = 1.0
        vels[bar, inst, t] = kn.velocity / 127.0
        offs[bar, inst, t] = off

    counts = onsets.sum(axis=(1, 2))
    keep = [b for b in range(n_bars) if counts[b] >= max(1, min_hits)]
    if not keep:
        raise ClipError(f"{path}: no bar has at least {max(1, min_hits)} drum hits")
    kept_bars = set(keep)
    kept_notes = sorted(
        (kn for (tick, _), kn in owner.items() if tick // TICKS_PER_BAR in kept_bars),
        key=lambda k: (k.quarter, k.instrument),
    )
    hits = {name: int(onsets[keep, i].sum()) for i, name in enumerate(dm.instruments)}
    return Clip(
        path=path,
        bpm=content.bpm / meter.quarters_per_beat,
        n_bars=n_bars,
        patterns=[Pattern(onsets[b], vels[b], offs[b]) for b in keep],
        bar_indices=keep,
        hits=hits,
        collisions=collisions,
        unmapped=unmapped,
        skipped_bars=n_bars - len(keep),
        kept_notes=kept_notes,
        warnings=warnings,
        drum_map=dm,
        meter=meter,
        reading=reading,
        subdivisions=subdivisions_used(subs),
    )


def patterns_to_midi(
    patterns: Sequence[Pattern],
    bpm: float = DEFAULT_BPM,
    drum_map: DrumMap | None = None,
    threshold: float = 0.5,
    channel: int | None = None,
    bar_indices: Sequence[int] | None = None,
    n_bars: int | None = None,
    note_quarters: float = 0.125,
    mutes: Iterable[bool] | None = None,
    meter: Meter = METER_4_4,
    swing: float = 0.5,
) -> mido.MidiFile:
    """A type-0 MIDI file of `patterns` played bar after bar (or at `bar_indices` of an
    `n_bars` loop): notes from the drum map, velocities 1-127, microtiming applied, the tempo,
    and end of track exactly on the last bar line. A hit before the loop start (negative offset
    on tick 0 of bar 0) is written at the loop's end, where it sounds when the loop repeats.
    `channel` is 1-16 (default: the drum map's, normally 10); note length in quarters. `bpm` is
    beats (24 ticks) a minute; the file gets the `meter`'s time signature (a 6/8 Pattern is two
    bars of it) and the tempo of its quarter note. `swing` 0.5..0.75 places the hits as the
    audio plays them (rvae_visual.swing)."""
    from ..swing import warp

    dm = drum_map or default_drum_map()
    ch = (channel if channel is not None else dm.channel) - 1
    if not 0 <= ch <= 15:
        raise ValueError(f"MIDI channel {ch + 1} is outside 1-16")
    idx = list(bar_indices) if bar_indices is not None else list(range(len(patterns)))
    total_bars = n_bars if n_bars is not None else (max(idx) + 1 if idx else 0)
    file_per_tick = OUT_TPQ / meter.ticks_per_quarter  # 80 (4/4) or 120 (12/8, 6/8)
    loop = int(round(total_bars * TICKS_PER_BAR * file_per_tick))  # in file ticks
    muted = list(mutes) if mutes is not None else [False] * dm.n_instruments
    events: list[tuple[int, int, int, int]] = []  # (time, order, note, velocity); order: off first
    length = max(1, round(note_quarters * OUT_TPQ))
    for bar, pat in zip(idx, patterns):
        if pat.n_instruments != dm.n_instruments:
            raise ValueError(
                f"pattern has {pat.n_instruments} instruments, drum map '{dm.name}' has {dm.n_instruments}"
            )
        for h in pat.hits(threshold):
            if muted[h.instrument]:
                continue
            pos = warp(bar * TICKS_PER_BAR + h.tick + h.offset, swing) * file_per_tick
            start = int(round(pos))
            if start < 0:
                start += loop
            elif start >= loop:
                start -= loop
            stop = min(start + length, loop)
            vel = velocity_byte(h.velocity)
            note = dm.out_notes[h.instrument]
            events.append((start, 1, note, vel))
            events.append((stop, 0, note, 0))
    events.sort()
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="rvae-visual", time=0))
    track.append(mido.MetaMessage("time_signature", numerator=meter.numerator,
                                  denominator=meter.denominator, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm * meter.quarters_per_beat),
                                  time=0))
    now = 0
    for t, on, note, vel in events:
        kind = "note_on" if on else "note_off"
        track.append(mido.Message(kind, channel=ch, note=note, velocity=vel if on else 0, time=t - now))
        now = t
    track.append(mido.MetaMessage("end_of_track", time=loop - now))
    mid = mido.MidiFile(type=0, ticks_per_beat=OUT_TPQ)
    mid.tracks.append(track)
    return mid


def write_clip(path: str | Path, patterns: Sequence[Pattern], bpm: float = DEFAULT_BPM, **kw) -> None:
    """Write `patterns` as a Standard MIDI File (see `patterns_to_midi` for options)."""
    patterns_to_midi(patterns, bpm, **kw).save(str(path))


def midi_bytes(mid: mido.MidiFile) -> bytes:
    """Serialise a MidiFile to bytes."""
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def roundtrip_error_ms(clip: Clip) -> tuple[float, int]:
    """Write the clip's Patterns to MIDI bytes, read them back, and compare with the kept notes.

    Returns (largest position error in ms at the clip's tempo, notes missing or extra).
    Positions are compared around the loop, per instrument.
    """
    dm = clip.drum_map or default_drum_map()
    mid = patterns_to_midi(clip.patterns, clip.bpm, dm, threshold=0.5,
                           bar_indices=clip.bar_indices, n_bars=clip.n_bars, meter=clip.meter)
    back = read_midi_notes(mido.MidiFile(file=io.BytesIO(midi_bytes(mid))))
    loop = clip.loop_quarters
    ms_per_quarter = 60000.0 / (clip.bpm * clip.meter.quarters_per_beat)
    worst = 0.0
    lost = 0
    for i in range(dm.n_instruments):
        want = sorted(k.quarter % loop for k in clip.kept_notes if k.instrument == i)
        got = sorted(n.quarter % loop for n in back.notes if dm.instrument_of(n.note) == i)
        lost += abs(len(want) - len(got))
        if not want or not got:
            continue
        w = np.asarray(want)
        g = np.asarray(got)
        # nearest written note around the loop for every kept note
        d = np.abs(w[:, None] - g[None, :])
        d = np.minimum(d, loop - d).min(axis=1)
        worst = max(worst, float(d.max()) * ms_per_quarter)
    return worst, lost


def grid16_moved(clip: Clip, limit_ms: float = 10.0) -> int:
    """How many kept notes a 16th-note grid (GrooVAE's) would move by more than `limit_ms`."""
    if not clip.kept_notes:
        return 0
    q = np.array([k.quarter for k in clip.kept_notes]) * 4.0
    moved_ms = np.abs(q - np.round(q)) / 4.0 * 60000.0 / (clip.bpm * clip.meter.quarters_per_beat)
    return int(np.count_nonzero(moved_ms > limit_ms))


def find_midi_files(path: Path) -> list[Path]:
    """MIDI files under a folder (recursive, sorted)."""
    return sorted(
        p for p in path.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file()
    )

