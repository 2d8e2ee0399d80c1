"""Underflows as the performer sees them: real ones, made by holding the interpreter lock away
from an in-process (thread) engine on the JACK dummy server, reach the HUD's last-minute count,
its time of the newest one and its red flash."""

from __future__ import annotations

import sys
import time

from rvae_visual.audio.engine import AudioEngine
from rvae_visual.pattern import Pattern
from rvae_visual.render.hud import UNDERFLOW_WARN_S, UnderflowWatch


def _hold_the_gil(seconds: float) -> None:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    try:
        t = time.monotonic()
        while time.monotonic() - t < seconds:
            pass
    finally:
        sys.setswitchinterval(old)


def test_real_underflows_reach_the_minute_count_and_the_flash(jack_server):
    e = AudioEngine(kit="808", bpm=120.0, mode="thread")
    e.publish(Pattern.empty(3))
    e.start()
    try:
        assert not e.silent, e.status
        time.sleep(1.0)
        watch = UnderflowWatch()
        watch.update(e.underflows, time.monotonic())
        before, t0 = e.underflows, time.monotonic()
        for _ in range(3):
            _hold_the_gil(0.3)  # the callback cannot run: JACK's period passes without our audio
            time.sleep(0.3)
        time.sleep(0.3)
        now = time.monotonic()
        assert e.underflows > before, "holding the lock for 300 ms made no underflow"
        assert e.underflows_last_minute() >= e.underflows - before
        assert e.last_underflow is not None and t0 <= e.last_underflow <= now
        rising, flash = watch.update(e.underflows, now)
        assert rising and flash == 1.0
        rising, _ = watch.update(watch.total, now + UNDERFLOW_WARN_S + 0.1)
        assert not rising  # no new one: not red, though the total stays
    finally:
        e.close()
