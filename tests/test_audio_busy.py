"""A busy frame loop costs the audio nothing: with 30 ms of Python work every frame in the
player's process (and a new Pattern published every frame), our engine's callback on the JACK
dummy server has no more underflows than an empty callback under the same load, in rounds that
take turns so both meet the same host. A ratio with tolerance, not a timing: this VM's host
takes CPU in stretches (docs/architecture.md), so a failed comparison is retried."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from rvae_visual.pattern import Pattern

pytestmark = pytest.mark.flaky(reruns=3, reruns_delay=20, only_rerun=["AssertionError"])

ROUNDS = 3
ROUND_S = 3.0
BUSY_S = 0.030  # Python work per frame
FPS = 60.0


def _patterns() -> list[Pattern]:
    rng = np.random.default_rng(3)
    out = []
    for _ in range(8):
        on = (rng.random((3, 96)) > 0.6).astype(np.float32)
        out.append(Pattern(on, rng.random((3, 96)).astype(np.float32),
                           ((rng.random((3, 96)) - 0.5) * 0.8).astype(np.float32)))
    return out


def _busy_round(empty: bool, pats: list[Pattern]) -> tuple[int, int]:
    """(underflows, callbacks' hits played) of one round with the busy loop in this process."""
    from rvae_visual.audio.engine import AudioEngine
    from rvae_visual.audio.stream import EMPTY_CALLBACK_ENV

    if empty:
        os.environ[EMPTY_CALLBACK_ENV] = "1"
    # the floor is an empty callback out of this process's reach (the audio process form)
    engine = AudioEngine(kit="acoustic", bpm=160, device="system", jack_client_name="rvae-busytest",
                         mode="process" if empty else None)
    try:
        engine.publish(pats[0])
        engine.start()
        assert not engine.silent, engine.status
        end = time.monotonic() + ROUND_S
        k = 0
        while time.monotonic() < end:
            t0 = time.perf_counter()
            x = 0
            while time.perf_counter() - t0 < BUSY_S:  # the frame loop over its budget, in Python
                for i in range(200):
                    x += i * i
            engine.publish(pats[k % len(pats)])
            engine.heard_position()
            k += 1
            rest = 1.0 / FPS - (time.perf_counter() - t0)
            if rest > 0:
                time.sleep(rest)
        return engine.underflows, len(engine.drain_played())
    finally:
        engine.close()
        os.environ.pop(EMPTY_CALLBACK_ENV, None)


def test_a_busy_frame_loop_costs_no_underflow_beyond_an_empty_callbacks(jack_server):
    pats = _patterns()
    ours = empty = played = 0
    for _ in range(ROUNDS):
        u, n = _busy_round(False, pats)
        ours += u
        played += n
        empty += _busy_round(True, pats)[0]
    assert played > 100  # ours really played through it
    assert ours <= empty * 1.25 + 5, f"ours {ours} underflows, an empty callback's {empty}"
