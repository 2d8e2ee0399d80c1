"""The MIDI part of `rvae-visual devices`: inputs and outputs with their indices."""

from __future__ import annotations

from . import APP_PORT_NAME
from .ports import Backend, MidiPortError, backend_from_env, port_names


def midi_section(backend: Backend | None = None) -> list[str]:
    """Lines listing MIDI inputs and outputs as `[index] name` (printed under 'MIDI:'); never raises."""
    b = backend or backend_from_env()
    lines = [f"API: {b.label()} (set with MIDO_BACKEND, e.g. mido.backends.rtmidi/UNIX_JACK)"]
    for kind, opt in (("input", "--midi-in, --clock-in"), ("output", "--midi-out")):
        try:
            names = port_names(kind, b)
        except MidiPortError as e:
            lines.append(f"{kind}s: unavailable - {e}")
            continue
        lines.append(f"{kind}s ({opt} INDEX or NAME):" + ("" if names else " none"))
        lines.extend(f"  [{i}] {n}" for i, n in enumerate(names))
    lines.append(f"'virtual' opens a port of our own named {APP_PORT_NAME}")
    return lines
