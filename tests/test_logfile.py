"""`play --log FILE`: time-stamped events and errors in a log that rotates and stays bounded."""

from __future__ import annotations

import re
import subprocess
import sys

from render_support import x_env

from rvae_visual.logfile import RotatingLog

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


def test_the_log_rotates_and_stays_bounded(tmp_path):
    log = RotatingLog(tmp_path / "play.log", max_bytes=2000, backups=3)
    for i in range(2000):
        log.line(f"event {i}")
    log.lines(b"two lines\n\nfrom stderr\n")
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["play.log", "play.log.1", "play.log.2", "play.log.3"]
    assert all((tmp_path / f).stat().st_size <= 2000 for f in files)
    last = (tmp_path / "play.log").read_text().splitlines()
    assert last[-2:][0].endswith("two lines") and last[-1].endswith("from stderr")
    assert all(STAMP.match(ln) for f in files for ln in (tmp_path / f).read_text().splitlines())
    older = (tmp_path / "play.log.1").read_text().splitlines()
    assert int(older[-1].rsplit(" ", 1)[1]) < int(last[0].rsplit(" ", 1)[1])  # .1 is the one before


def test_play_logs_its_start_notes_errors_and_stop(jack_server, xvfb_display, tmp_path):
    env = x_env(xvfb_display, **jack_server)
    (tmp_path / "gig.toml").write_text("broken = [")
    log = tmp_path / "logs" / "play.log"
    r = subprocess.run([sys.executable, "-m", "rvae_visual", "play", "--windowed", "--size", "640x360",
                        "--duration", "2", "--log", str(log), "--set", str(tmp_path / "gig.toml"),
                        "--control", "0.5:store_scene_2=1", "--control", "1:recall_scene_7=1"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = log.read_text().splitlines()
    assert all(STAMP.match(ln) for ln in lines)
    text = "\n".join(lines)
    assert "play started: --windowed" in lines[0]
    assert "gig.toml: a set file is not valid TOML" in text  # an error (via stderr)
    assert "scene 2 stored" in text and "scene 7 is empty" in text  # HUD notes
    assert lines[-1].endswith("play stopped")
    ro = subprocess.run([sys.executable, "-m", "rvae_visual", "play", "--log", "/proc/nope/play.log"],
                        env=env, capture_output=True, text=True, timeout=60)
    assert ro.returncode == 2 and ro.stderr.strip().count("\n") == 0 and "cannot write the log" in ro.stderr
