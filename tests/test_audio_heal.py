"""The audio server going away and coming back while `play` runs (issue 14's self-healing): a
private JACK dummy server made here is killed under the real player: stderr says so at once and
the map's clock goes on; started again, the sound comes back (captured from JACK) within 5 s;
SIGTERM exits 0 quickly, also while the server is still gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from jackcapture import RecorderProcess
from render_support import x_env

REPO = Path(__file__).resolve().parent.parent
SERVER = "rvae-heal"


def _jackd() -> subprocess.Popen:
    p = subprocess.Popen(["jackd", "-n", SERVER, "-R", "-d", "dummy", "-r", "48000", "-p", "256"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    env = dict(os.environ, JACK_DEFAULT_SERVER=SERVER, JACK_NO_START_SERVER="1")
    deadline = time.monotonic() + 10
    while subprocess.run(["jack_lsp"], env=env, capture_output=True).returncode != 0:
        assert time.monotonic() < deadline and p.poll() is None, "the private JACK server did not start"
        time.sleep(0.1)
    return p


def _stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.kill()
    p.wait(timeout=10)


class _Lines:
    """stderr of a process, line by line with arrival times, read in a thread."""

    def __init__(self, stream) -> None:
        self.lines: list[tuple[float, str]] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, text: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t, line in list(self.lines):
                if text in line:
                    return t
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r} within {timeout} s: {[x for _, x in self.lines]}")


def _play(xvfb_display: str, tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, _Lines]:
    env = x_env(xvfb_display, JACK_DEFAULT_SERVER=SERVER, JACK_NO_START_SERVER="1")
    proc = subprocess.Popen([sys.executable, "-m", "rvae_visual", "play", "--audio-device", "system",
                             "--windowed", "--no-landmarks", "--head=0.5,0.5", "--duration", "60", *extra],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, _Lines(proc.stderr)


def _terminate_quickly(proc: subprocess.Popen) -> float:
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    return time.monotonic() - t0


def _assert_quit_cleanly(proc, err, took: float) -> None:
    """The player exited with 0 within 3 s of SIGTERM (`took`: seconds)."""
    assert proc.returncode == 0, [x for _, x in err.lines]
    assert took < 3.0


def test_the_audio_server_vanishing_and_coming_back(xvfb_display, tmp_path):
    jack = _jackd()
    stats = tmp_path / "stats.json"
    proc, err = _play(xvfb_display, tmp_path, "--stats", str(stats))
    try:
        err.wait_for("rvae-visual: audio: [", 30)
        time.sleep(1.5)
        _stop(jack)
        t_kill = time.monotonic()
        t_said = err.wait_for("audio lost", 5)
        assert t_said - t_kill < 2.5  # at once: the watch needs a second without blocks
        time.sleep(2.0)
        assert proc.poll() is None
        jack = _jackd()
        t_back = time.monotonic()
        rec = RecorderProcess(r"^rvae-visual:out_", 3.0, channels=1, name="rvae-heal-rec",
                              env={"JACK_DEFAULT_SERVER": SERVER, "JACK_NO_START_SERVER": "1"}, timeout=30)
        take = rec.result()
        t_said_back = err.wait_for("back after", 1)
        assert t_said_back - t_back < 5.0
        assert np.abs(take.data).max() > 0.01, "no sound after the server came back"
        took = _terminate_quickly(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        _stop(jack)
    _assert_quit_cleanly(proc, err, took)
    assert not any("Traceback" in x for _, x in err.lines)
    assert json.loads(stats.read_text())["frames"] > 200  # the map was drawn all along (about 8 s)


def test_sigterm_while_the_audio_server_is_gone_exits_cleanly(xvfb_display, tmp_path):
    jack = _jackd()
    proc, err = _play(xvfb_display, tmp_path)
    try:
        err.wait_for("rvae-visual: audio: [", 30)
        time.sleep(1.0)
        _stop(jack)
        err.wait_for("audio lost", 5)
        took = _terminate_quickly(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        _stop(jack)
    _assert_quit_cleanly(proc, err, took)


def test_the_clock_goes_on_across_a_loss_on_the_beat_grid(monkeypatch):
    from rvae_visual.audio.engine import AudioEngine
    from rvae_visual.pattern import Pattern

    monkeypatch.setenv("JACK_DEFAULT_SERVER", SERVER)
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    jack = _jackd()
    e = AudioEngine(kit="808", bpm=120.0, device="system", mode="process")
    try:
        e.publish(Pattern.empty(3))
        e.start()
        assert not e.silent, e.status
        time.sleep(1.0)
        p0, t0 = e.heard_position(), time.monotonic()
        _stop(jack)
        time.sleep(2.5)
        assert e.silent and "audio lost" in e.status and e.lost_count == 1
        p1, t1 = e.heard_position(), time.monotonic()
        assert abs((p1 - p0) - (t1 - t0) * 48.0) < 4.0  # 48 ticks a second at 120 BPM, no gap in the grid
        jack = _jackd()
        deadline = time.monotonic() + 8
        while e.silent:
            assert time.monotonic() < deadline, e.status
            time.sleep(0.1)
        p2, t2 = e.heard_position(), time.monotonic()
        assert abs((p2 - p0) - (t2 - t0) * 48.0) < 4.0
    finally:
        e.close()
        _stop(jack)
