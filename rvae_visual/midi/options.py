"""Command-line options for MIDI (`play`), and their checks. Standard library only."""

from __future__ import annotations

import argparse
from typing import Sequence

from ..argtypes import number_in, number_list


channel_list = number_list(1, 16, "MIDI channel", "10 or 10,10,11")
note_list = number_list(0, 127, "MIDI note", "36,38,42")
signed_ms = number_in(-1000.0, 1000.0, "MIDI latency", " ms")
length_ms = number_in(1.0, 2000.0, "note length", " ms")


def add_midi_arguments(p: argparse.ArgumentParser) -> None:
    """--midi-in, --midi-out, --controller, --midi-channel, --midi-notes, --midi-latency,
    --midi-note-length, --clock-out, --clock, --clock-in, --clock-stop."""
    g = p.add_argument_group("MIDI", "ports are an index or a name substring from `rvae-visual devices`, "
                             "or 'virtual' (a port named rvae-visual); the API follows MIDO_BACKEND")
    g.add_argument("--midi-in", metavar="PORT", help="controller input (head, knobs, mutes; MIDI learn)")
    g.add_argument("--midi-out", metavar="PORT", help="send the hits as notes (and the clock with --clock-out)")
    g.add_argument("--controller", metavar="PRESET|FILE",
                   help="controller mapping: a preset (generic, kaoss) or a TOML file; default: your "
                        "mapping file (~/.config/rvae-visual/controller.toml) if it exists, else generic")
    g.add_argument("--midi-channel", type=channel_list, default=(10,), metavar="CH[,CH..]",
                   help="MIDI out channel 1-16, one for all or one per instrument (default 10)")
    g.add_argument("--midi-notes", type=note_list, metavar="N,N,N",
                   help="MIDI out note per instrument (default: the drum map's, 36,38,42)")
    g.add_argument("--midi-latency", type=signed_ms, default=0.0, metavar="MS",
                   help="shift MIDI out against the audio, signed ms (+ later, - earlier; default 0)")
    g.add_argument("--midi-note-length", type=length_ms, default=50.0, metavar="MS",
                   help="MIDI out note length in ms (default 50)")
    g.add_argument("--clock-out", action="store_true", help="send MIDI clock (24 ppqn), start/stop/continue "
                   "and song position on --midi-out")
    g.add_argument("--clock", choices=("internal", "midi", "link"), default="internal",
                   help="internal: our own tempo; midi: follow MIDI clock on --clock-in (default --midi-in): "
                        "wait for the master's Start, or Song Position + Continue, and play in its bar; "
                        "link: join an Ableton Link session (needs the [link] extra)")
    g.add_argument("--clock-in", metavar="PORT", help="MIDI clock input for --clock midi (default: --midi-in)")
    g.add_argument("--clock-stop", choices=("stop", "hold"), default="stop",
                   help="when the followed clock vanishes: stop, or hold the last tempo (default stop)")


def per_instrument(values: Sequence[int], n: int, what: str) -> tuple[int, ...]:
    """One value for all `n` instruments, or exactly one per instrument; ValueError otherwise."""
    if len(values) == 1:
        return tuple(values) * n
    if len(values) != n:
        raise ValueError(f"{what} needs 1 or {n} values (one per instrument), got {len(values)}")
    return tuple(values)
