"""Run inside a fresh network namespace (loopback only; see test_midi_link.py): a Link peer at
100 BPM (another app) and our MidiSystem with --clock link driving a simulated transport.
Prints one JSON line with what happened."""

from __future__ import annotations

import json
import queue
import sys
import time

import link

from rvae_visual.midi.system import CLOCK_START, MidiConfig, MidiSystem


def main() -> None:
    other = link.Link(100.0)
    other.enabled = True
    state = {"tempo": 120.0, "ticks": None, "t": None, "playing": True}
    q: queue.SimpleQueue = queue.SimpleQueue()

    def get_value(name: str):
        return {"tempo": state["tempo"], "playing": 1.0}.get(name)

    def position() -> float:  # our transport: ticks heard now at the tempo we play
        now = time.monotonic()
        state["ticks"] += (now - state["t"]) * state["tempo"] * 24 / 60.0
        state["t"] = now
        return state["ticks"]

    system = MidiSystem(MidiConfig(clock="link"), q, get_value=get_value, position=position, err=None)
    state["ticks"], state["t"] = 37.0, time.monotonic()  # joined mid-bar
    system.start()
    out = {"restarts": 0, "tempos": [], "peers": 0}
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 6.0:
            while not q.empty():
                name, value = q.get_nowait()
                if name == "tempo":
                    position()
                    state["tempo"] = value
                    out["tempos"].append(round(value, 3))
            while not system.transport_cmds.empty():
                cmd = system.transport_cmds.get_nowait()
                if cmd.kind == CLOCK_START:  # move onto the session's phase, as the engine does
                    now = time.monotonic()
                    state["ticks"] = cmd.tick + (now - cmd.at) * state["tempo"] * 24 / 60.0
                    state["t"] = now
                    out["restarts"] += 1
            time.sleep(1 / 60)
        out["phase_error"] = system.link.phase_error
        out["peers"] = system.link.peers
        out["session_tempo"] = other.captureSessionState().tempo()
        out["status"] = system.status_lines()
        # the performer changes the tempo here: the session follows
        state["tempo"] = 128.0
        t1 = time.monotonic()
        while time.monotonic() - t1 < 2.0 and other.captureSessionState().tempo() != 128.0:
            time.sleep(0.02)
        out["other_tempo"] = other.captureSessionState().tempo()
    finally:
        system.close()
        other.enabled = False
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
