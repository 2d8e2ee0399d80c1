"""Run inside a fresh network namespace (loopback only; see test_midi_link.py): a Link peer at
100 BPM (another app) and our MidiSystem with --clock link driving a simulated transport.
Prints one JSON line with what happened."""

from __future__ import annotations

import json
import queue
import sys
import threading
import time

import link

from rvae_visual.midi.system import MidiConfig, MidiSystem


class SimTransport:
    """A transport that runs at the tempo it is told, from tick 37 (joined mid-bar)."""

    def __init__(self) -> None:
        self._tempo = 120.0
        self.ticks = 37.0
        self.t = time.monotonic()
        self.tempos: list[float] = []
        self.restarts = 0
        self.lock = threading.Lock()

    @property
    def playing(self) -> bool:
        return True

    @property
    def tempo(self) -> float:
        return self._tempo

    def heard_position(self) -> float:
        with self.lock:
            now = time.monotonic()
            self.ticks += (now - self.t) * self._tempo * 24 / 60.0
            self.t = now
            return self.ticks

    def follow_tempo(self, bpm: float) -> None:
        self.heard_position()
        self._tempo = bpm
        self.tempos.append(round(bpm, 3))

    def locate(self, tick: float, at: float | None = None) -> None:  # onto the session's phase
        with self.lock:
            now = time.monotonic()
            self.ticks = tick + (now - (at or now)) * self._tempo * 24 / 60.0
            self.t = now
            self.restarts += 1

    def stop(self) -> None:
        raise AssertionError("Link never stops the transport")


def main() -> None:
    other = link.Link(100.0)
    other.enabled = True
    tr = SimTransport()
    system = MidiSystem(MidiConfig(clock="link"), queue.SimpleQueue(), err=None, transport=tr)
    system.start()
    out: dict = {}
    try:
        time.sleep(6.0)
        assert system.link is not None
        out["restarts"] = tr.restarts
        out["tempos"] = list(tr.tempos)
        out["phase_error"] = system.link.phase_error
        out["peers"] = system.link.peers
        out["notices"] = [line for _, line in system.notices]
        out["session_tempo"] = other.captureSessionState().tempo()
        out["status"] = system.status_lines()
        # the performer changes the tempo here: the session follows
        tr._tempo = 128.0
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
