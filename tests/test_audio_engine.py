"""AudioEngine without a sound card: the silent wall-clock run, layering, and the devices listing.
(The real-callback tests are in test_jack_audio.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

PY = sys.executable


def no_audio_env() -> dict[str, str]:
    """An environment where PortAudio finds no output: no JACK server under this name, and this
    machine has no ALSA devices."""
    env = dict(os.environ)
    env.update({"JACK_NO_START_SERVER": "1", "JACK_DEFAULT_SERVER": "rvae-no-such-server"})
    return env


def run_py(code: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_audio_layer_imports_no_torch_pygame_or_sounddevice():
    r = run_py("""
        import sys
        import rvae_visual.audio.engine, rvae_visual.audio.offline, rvae_visual.audio.kit
        import rvae_visual.audio.sequencer, rvae_visual.commands.render, rvae_visual.commands.devices
        bad = [m for m in ("torch", "pygame", "sounddevice") if m in sys.modules]
        print(bad)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_no_audio_device_runs_silent_and_the_transport_goes_on():
    r = run_py("""
        import json, time
        import numpy as np
        from rvae_visual.audio.engine import AudioEngine
        from rvae_visual.audio.sequencer import hits_in_window
        from rvae_visual.pattern import Pattern
        on = np.zeros((3, 96), np.float32); vel = np.zeros_like(on); off = np.zeros_like(on)
        for t in range(0, 96, 12):
            on[2, t] = 1; vel[2, t] = 0.8
        on[0, 0] = 1; vel[0, 0] = 1; off[0, 0] = -0.2
        p = Pattern(on, vel, off)
        lines = []
        e = AudioEngine(kit="acoustic", bpm=180, warn=lines.append)
        e.publish(p)
        t0 = time.monotonic()
        e.start()
        pos = []
        for _ in range(12):
            time.sleep(0.1)
            pos.append(e.heard_position())
        wall = time.monotonic() - t0
        played = e.drain_played()
        e.set_playing(False)
        time.sleep(0.1)
        frozen = [e.heard_position(), e.heard_position()]
        time.sleep(0.1)
        frozen.append(e.heard_position())
        e.close()
        last = max(s for s, _, _ in played) + 1
        want = hits_in_window(p, 0.5, (), 180, e.sample_rate, 0, last)
        print(json.dumps({"silent": e.silent, "status": e.status, "pos": pos, "wall": wall,
                          "played": played, "want": want, "rate": e.sample_rate,
                          "frozen": frozen, "lines": lines, "kit": e.kit_name}))
    """, env=no_audio_env())
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout.strip().splitlines()[-1])
    assert d["silent"] is True
    assert "running silent" in d["status"] and "\n" not in d["status"]
    assert d["lines"] == []  # the player prints `status` itself: no second copy
    assert d["kit"] == "acoustic"
    pos = d["pos"]
    assert all(b > a for a, b in zip(pos, pos[1:]))  # heard position moves on
    ticks_per_s = 180 * 24 / 60
    assert 0.5 * ticks_per_s * 1.1 < pos[-1] - pos[0] < 2.0 * ticks_per_s * 1.1  # roughly the wall clock
    assert [tuple(h) for h in d["played"]] == [tuple(h) for h in d["want"]]  # what played is the pattern
    assert len(d["played"]) >= 8
    assert d["frozen"][0] == d["frozen"][2]  # stopped: position stays put


@pytest.mark.parametrize("failure", ["OSError('PortAudio library not found')", "ImportError('no module')"])
def test_missing_portaudio_runs_silent_with_one_line(failure, tmp_path):
    # the import of sounddevice fails as it does on a machine without libportaudio2, in this
    # process and in the audio process alike (a module of that name first on the path)
    (tmp_path / "sounddevice.py").write_text(f"raise {failure}\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path)] + [p for p in [env.get("PYTHONPATH")] if p])
    r = run_py("""
        import sys, time
        from rvae_visual.audio.engine import AudioEngine
        e = AudioEngine()
        e.start()
        time.sleep(0.3)
        print(e.silent, e.heard_position() > 0)
        print(e.status)
        e.close()
    """, env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == "True True"
    assert out[1].startswith("no audio: ") and out[1].endswith("running silent (visuals and MIDI go on)")
    assert len(out) == 2


def test_engine_setters_check_their_input():
    from rvae_visual.audio.engine import AudioEngine

    e = AudioEngine()
    with pytest.raises(ValueError, match="40-300"):
        e.set_bpm(20)
    with pytest.raises(ValueError, match="quantize"):
        e.set_quantize("half")
    with pytest.raises(ValueError, match="quantize"):
        AudioEngine(quantize="sometimes")
    e.set_threshold(1.7)
    assert e.threshold == 1.0
    e.set_mutes([True])
    assert e.mutes == (True, False, False)
    assert e.heard_position() == 0.0 and e.drain_played() == []  # before start


def test_devices_says_in_one_line_when_there_is_no_audio():
    r = subprocess.run([PY, "-m", "rvae_visual", "devices"], capture_output=True, text=True,
                       env=no_audio_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("audio outputs")
    assert lines[1].strip() == "no audio output device found (the player will run silent)"
    assert "MIDI:" in lines
