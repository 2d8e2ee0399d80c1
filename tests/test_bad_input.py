"""Nothing lost to a bad file, a bad path or a flooding controller (issue 15): each bad input is
made here, in a temporary folder or on a small real tmpfs / read-only bind mount (we run as
root), and each case must give one line naming the file or path, the documented exit code, no
traceback, and keep everything good (the other clips, the trained model, the user's text)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run(*args, timeout=240, env=None, cwd=REPO, **kw):
    """The command as a user runs it (a real subprocess)."""
    e = dict(os.environ, PYGAME_HIDE_SUPPORT_PROMPT="1")
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "rvae_visual", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, env=e, **kw)


def error_lines(stderr: str) -> list[str]:
    """The `rvae-visual: ...` lines of a stderr."""
    return [line for line in stderr.splitlines() if line.startswith("rvae-visual:")]


def no_traceback(r) -> None:
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr[-3000:]


# ------------------------------------------------------------------ mounts made by the test itself

def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


def _umount(path: Path) -> None:
    for _ in range(20):
        if subprocess.run(["umount", str(path)], capture_output=True, timeout=30).returncode == 0:
            return
        time.sleep(0.2)
    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    """A small real tmpfs at `path` (a full disk is made by filling it)."""
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        _umount(path)


@contextlib.contextmanager
def read_only(src: Path, at: Path):
    """`src` seen read-only at `at` (a read-only bind mount)."""
    at.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(src), str(at))
    try:
        _mount("-o", "remount,bind,ro", str(at))
        yield at
    finally:
        _umount(at)


def fill(folder: Path) -> None:
    """Fill the file system of `folder` until it has no space left."""
    with open(folder / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    with contextlib.suppress(OSError):
        (folder / "filler2").write_bytes(b"\0" * 4096)


# ------------------------------------------------------------------ clips

def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def _smf(events: bytes, tpq: int = 1) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq) + b"MTrk" + struct.pack(">I", len(events)) + events


HUGE = _vlq(0x0FFFFFFF)
# 41 bytes: ticks per quarter 1, a kick, then its note-off 0x0FFFFFFF quarter notes later
HUGE_DELTA = _smf(b"\x00\xff\x03\x00" + b"\x00\x99\x24\x64" + HUGE + b"\x89\x24\x00" + b"\x00\xff\x2f\x00")
# the only event: an end of track 0x0FFFFFFF quarter notes in
HUGE_END = _smf(HUGE + b"\xff\x2f\x00")


def test_the_crafted_files_are_what_the_issue_describes():
    assert len(HUGE_DELTA) == 41 and HUGE_DELTA[12:14] == b"\x00\x01"
    assert HUGE in HUGE_END and len(HUGE_END) < 41


@pytest.fixture
def clips_with_huge(tmp_path, corpus) -> Path:
    """Four real clips and the two crafted files, in one folder."""
    d = tmp_path / "clips"
    d.mkdir()
    for p in sorted((corpus / "gmd" / "funk").glob("*.mid"))[:4]:
        (d / p.name).write_bytes(p.read_bytes())
    (d / "huge_delta.mid").write_bytes(HUGE_DELTA)
    (d / "huge_end.mid").write_bytes(HUGE_END)
    return d


def _huge_lines(stderr: str, folder: Path) -> list[str]:
    return [line for line in stderr.splitlines() if "huge_" in line]


def _assert_length_lines(lines: list[str], folder: Path) -> None:
    assert len(lines) == 2, lines
    for name, line in zip(("huge_delta.mid", "huge_end.mid"), sorted(lines)):
        assert str(folder / name) in line
        assert "bars long" in line and "at most 512 bars" in line


def test_point1_scan_reports_a_huge_delta_and_goes_on(clips_with_huge):
    r = run("scan", clips_with_huge, "--json")
    no_traceback(r)
    assert r.returncode == 0
    entries = json.loads(r.stdout)
    entries = entries.get("files", entries) if isinstance(entries, dict) else entries
    by_name = {Path(e["path"]).name: e for e in entries}
    assert sum(e["status"] == "ok" for e in by_name.values()) == 4
    bad = [by_name["huge_delta.mid"]["reason"], by_name["huge_end.mid"]["reason"]]
    _assert_length_lines(bad, clips_with_huge)


def test_point1_train_skips_the_huge_clips_and_trains_on_the_others(clips_with_huge, tmp_path):
    out = tmp_path / "m.npz"
    r = run("train", clips_with_huge, "-o", out, "--epochs", "2", "--json")
    no_traceback(r)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["clips"] == 4 and summary["skipped"] == 2
    assert out.is_file()
    _assert_length_lines(_huge_lines(r.stderr, clips_with_huge), clips_with_huge)


def test_point1_eval_skips_the_huge_clips(clips_with_huge):
    r = run("eval", "gmd-funk", clips_with_huge, "--json")
    no_traceback(r)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])
    _assert_length_lines(_huge_lines(r.stderr, clips_with_huge), clips_with_huge)


def test_point1_read_clip_refuses_before_allocating(tmp_path):
    import resource

    from rvae_visual.errors import ClipError
    from rvae_visual.model.clips import read_clip

    p = tmp_path / "huge_delta.mid"
    p.write_bytes(HUGE_DELTA)
    # under a 3 GB address-space limit the 72 GB array could never be allocated anyway: the
    # refusal must come from the bound, as a ClipError, not from numpy
    code = ("import resource,sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
            "from rvae_visual.model.clips import read_clip\n"
            "from rvae_visual.errors import ClipError\n"
            f"try:\n    read_clip({str(p)!r})\nexcept ClipError as e:\n    print('CLIPERROR', e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stdout.startswith("CLIPERROR") and str(p) in r.stdout
    with pytest.raises(ClipError, match="512 bars"):
        read_clip(p)
    assert resource  # imported for the child's limit


class _Kits:
    kit_name = "808"
    instruments = ("kick", "snare", "hihat")

    def set_kit(self, kit: str) -> None:
        self.kit_name = kit


def _library(train_args=("--epochs", "2")):
    """The session's model library (what `play` drops folders on), without a window."""
    from rvae_visual.session.library import ModelLibrary, _load
    from rvae_visual.session.messages import Messages

    err = io.StringIO()
    first = _load("gmd-funk", 30, 0.5, None)
    return ModelLibrary(first, Messages(err=err), _Kits(), train_args=train_args), err


def _poll_until(lib, cond, timeout=180.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out: {lib.messages.text!r} {lib.training_status!r}"
        lib.poll()
        time.sleep(0.05)


def test_point1_dropped_folder_names_the_huge_clip_and_trains_the_others(clips_with_huge):
    lib, err = _library()
    try:
        before = lib.current
        lib.handle_drop(str(clips_with_huge))
        _poll_until(lib, lambda: lib.current is not before)
        saved = clips_with_huge / "clips.npz"
        assert saved.is_file() and lib.current.ref == str(saved)
        lines = err.getvalue().splitlines()
        _assert_length_lines(_huge_lines("\n".join(lines), clips_with_huge), clips_with_huge)
        assert all(line.startswith("rvae-visual: ") for line in lines)
        assert "Traceback" not in err.getvalue() and "Unable to allocate" not in err.getvalue()
    finally:
        lib.shutdown()


def test_point1_dropped_folder_of_only_huge_clips_says_which(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "huge_delta.mid").write_bytes(HUGE_DELTA)
    lib, err = _library()
    try:
        before = lib.current
        lib.handle_drop(str(d))
        _poll_until(lib, lambda: lib.messages.is_error)
        assert "no usable clips" in lib.messages.text and str(d / "huge_delta.mid") in lib.messages.text
        assert "512 bars" in lib.messages.text
        assert len(err.getvalue().splitlines()) == 1
        assert lib.current is before and not list(d.glob("*.npz"))
    finally:
        lib.shutdown()


# ------------------------------------------------------------------ point 2: the trained model

@pytest.fixture
def good_clips(tmp_path, corpus) -> Path:
    d = tmp_path / "good"
    d.mkdir()
    for p in sorted((corpus / "gmd" / "funk").glob("*.mid"))[:4]:
        (d / p.name).write_bytes(p.read_bytes())
    return d


def test_point2_train_to_a_read_only_folder_stops_before_training(good_clips, tmp_path):
    ro = tmp_path / "ro"
    (tmp_path / "outsrc").mkdir()
    with read_only(tmp_path / "outsrc", ro):
        t0 = time.monotonic()
        r = run("train", good_clips, "-o", ro / "m.npz", "--epochs", "50")
        took = time.monotonic() - t0
    no_traceback(r)
    assert r.returncode == 2
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and str(ro / "m.npz") in lines[0] and "read-only" in lines[0]
    assert "training (" not in r.stderr and took < 30  # refused before any training
    assert not (tmp_path / "outsrc" / "m.npz").exists()


def test_point2_train_to_a_full_disk_stops_before_training(good_clips, tmp_path):
    with tmpfs(tmp_path / "small", "200k") as small:
        fill(small)
        r = run("train", good_clips, "-o", small / "m.npz", "--epochs", "50")
    no_traceback(r)
    assert r.returncode == 2
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and str(small / "m.npz") in lines[0] and "no space left" in lines[0]
    assert "training (" not in r.stderr


def _train_and_fill(cmd_env: dict, out: Path, clips: Path, fill_at: Path, tmp_path: Path):
    """`train` with JSONL progress; after the first epoch the process is stopped, `fill_at`'s
    disk is filled, and it goes on: the write at the end fails on a full disk."""
    err_path = tmp_path / "stderr.txt"
    env = dict(os.environ, PYGAME_HIDE_SUPPORT_PROMPT="1", **cmd_env)
    with open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "rvae_visual", "train", str(clips), "-o", str(out),
                                 "--epochs", "6", "--progress", "jsonl", "--recipe", "paper"],
                                stdout=subprocess.PIPE, stderr=err, text=True, cwd=REPO, env=env)
        assert proc.stdout is not None
        first = proc.stdout.readline()
        proc.send_signal(signal.SIGSTOP)
        try:
            assert json.loads(first)["epoch"] == 1
            fill(fill_at)
        finally:
            proc.send_signal(signal.SIGCONT)
        rest, _ = proc.communicate(timeout=240)
    return proc.returncode, first + rest, err_path.read_text()


def test_point2_disk_full_after_training_saves_the_model_elsewhere(good_clips, tmp_path):
    data = tmp_path / "data"
    with tmpfs(tmp_path / "small", "2m") as small:
        out = small / "m.npz"
        code, stdout, stderr = _train_and_fill({"XDG_DATA_HOME": str(data)}, out, good_clips, small, tmp_path)
        assert not out.exists() and not list(small.glob("*.part"))
    assert "Traceback" not in stderr, stderr
    assert code == 3
    lines = error_lines(stderr)
    assert len(lines) == 1, lines
    saved = data / "rvae-visual" / "m.npz"
    assert str(out) in lines[0] and "no space left" in lines[0] and f"saved to {saved}" in lines[0]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["model"] == str(saved) and summary["epochs"] == 6
    from rvae_visual.model.store import load_model

    assert len(load_model(saved).landmarks) > 0  # the whole trained model, loadable


def test_point2_in_app_training_of_a_read_only_folder_saves_in_the_data_folder(good_clips, tmp_path,
                                                                              monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    ro = tmp_path / "my clips"
    lib, err = _library()
    try:
        with read_only(good_clips, ro):
            before = lib.current
            lib.handle_drop(str(ro))
            _poll_until(lib, lambda: lib.current is not before)
            assert not list(ro.glob("*.npz"))
        saved = data / "rvae-visual" / "my clips.npz"
        assert saved.is_file() and lib.current.ref == str(saved)
        assert str(saved) in lib.messages.text  # "model ... (saved to ...)"
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and str(ro) in lines[0] and f"saved to {saved}" in lines[0]
        assert "Traceback" not in err.getvalue()
    finally:
        lib.shutdown()


def test_point2_in_app_training_onto_a_disk_that_fills_keeps_the_model(corpus, tmp_path, monkeypatch):
    from rvae_visual.session.training_job import TrainingJob

    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    with tmpfs(tmp_path / "small", "2m") as small:
        clips = small / "drums"
        clips.mkdir()
        for p in sorted((corpus / "gmd" / "funk").glob("*.mid"))[:4]:
            (clips / p.name).write_bytes(p.read_bytes())
        job = TrainingJob(clips, extra_args=["--epochs", "6", "--recipe", "paper"])
        assert job.out == clips / "drums.npz"
        events: list = []
        deadline = time.monotonic() + 180
        filled = False
        while not job.finished:
            assert time.monotonic() < deadline
            for ev in job.poll():
                events.append(ev)
                if ev.kind == "progress" and not filled:
                    job.proc.send_signal(signal.SIGSTOP)
                    fill(small)
                    filled = True
                    job.proc.send_signal(signal.SIGCONT)
            time.sleep(0.02)
        assert not (clips / "drums.npz").exists()
    done = events[-1]
    saved = data / "rvae-visual" / "drums.npz"
    assert done.kind == "done" and done.path == str(saved) and saved.is_file()
    assert len(done.notes) == 1 and "no space left" in done.notes[0] and str(saved) in done.notes[0]
    assert str(clips / "drums.npz") in done.notes[0]


# ------------------------------------------------------------------ point 3: output paths

PLAY = ("play", "--windowed", "--silent", "--size", "640x360")
DUMMY = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}


@pytest.mark.parametrize("option,what", [("--screenshot", "screenshot"), ("--stats", "stats file")])
def test_point3_play_output_into_a_missing_or_read_only_folder_is_refused_at_start(option, what, tmp_path):
    (tmp_path / "src").mkdir()
    name = "out.png" if option == "--screenshot" else "out.json"
    with read_only(tmp_path / "src", tmp_path / "ro") as ro:
        for target, reason in ((tmp_path / "missing" / name, "does not exist"), (ro / name, "read-only")):
            t0 = time.monotonic()
            r = run(*PLAY, "--duration", "30", option, target, env=DUMMY, timeout=120)
            no_traceback(r)
            assert r.returncode == 2, r.stderr
            lines = error_lines(r.stderr)
            assert len(lines) == 1 and str(target) in lines[0] and what in lines[0] and reason in lines[0], lines
            assert time.monotonic() - t0 < 25  # refused before playing, not after 30 s


def test_point3_play_outputs_on_a_disk_that_fills_are_saved_elsewhere_at_quit(tmp_path):
    data = tmp_path / "data"
    with tmpfs(tmp_path / "small", "200k") as small:
        shot, stats = small / "shot.png", small / "stats.json"
        env = dict(os.environ, PYGAME_HIDE_SUPPORT_PROMPT="1", XDG_DATA_HOME=str(data), **DUMMY)
        proc = subprocess.Popen([sys.executable, "-m", "rvae_visual", *PLAY, "--duration", "6",
                                 "--screenshot", str(shot), "--stats", str(stats)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
        time.sleep(3)
        fill(small)  # the paths were fine at start; the disk is full when the player quits
        out, err = proc.communicate(timeout=120)
        assert not shot.exists() and not stats.exists()
    assert "Traceback" not in err, err
    assert proc.returncode == 0
    lines = [line for line in error_lines(err) if "shot.png" in line or "stats.json" in line]
    assert len(lines) == 2, err
    saved_shot, saved_stats = data / "rvae-visual" / "shot.png", data / "rvae-visual" / "stats.json"
    assert str(shot) in lines[0] and "no space left" in lines[0] and f"saved to {saved_shot}" in lines[0]
    assert str(stats) in lines[1] and "no space left" in lines[1] and f"saved to {saved_stats}" in lines[1]
    assert saved_shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(saved_stats.read_text())["frames"] > 10


def test_point3_inspect_png_into_a_read_only_folder(tmp_path):
    (tmp_path / "src").mkdir()
    with read_only(tmp_path / "src", tmp_path / "ro") as ro:
        r = run("inspect", "footwork", "--png", ro / "map.png")
    no_traceback(r)
    assert r.returncode == 2
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and str(ro / "map.png") in lines[0] and "read-only" in lines[0], lines


def test_point3_render_to_read_only_missing_and_full_places_says_what_and_where(tmp_path):
    (tmp_path / "src").mkdir()
    with read_only(tmp_path / "src", tmp_path / "ro") as ro, tmpfs(tmp_path / "small", "200k") as small:
        cases = [(("-o", ro / "a.wav"), ro / "a.wav", "read-only"),
                 (("-o", tmp_path / "a.wav", "--midi", ro / "a.mid"), ro / "a.mid", "read-only"),
                 (("-o", tmp_path / "nope" / "a.wav"), tmp_path / "nope" / "a.wav", "does not exist"),
                 (("-o", small / "a.wav"), small / "a.wav", "no space left")]  # 4 bars: 768 kB of 200 kB
        for args, target, reason in cases:
            r = run("render", *args)
            no_traceback(r)
            assert r.returncode == 2, r.stderr
            lines = error_lines(r.stderr)
            assert len(lines) == 1 and str(target) in lines[0] and reason in lines[0], lines
            assert "System error" not in r.stderr
        assert not list(small.glob("*.wav"))  # no cut-off WAV left behind
    assert not (tmp_path / "a.wav").exists()  # checked before rendering anything


# ------------------------------------------------------------------ point 4: a flooding controller

FLOOD_RT = r"""
import subprocess, sys, time
from rvae_visual.stderr_limit import limit_repeated_stderr
limit_repeated_stderr(window_s=float(sys.argv[1]))
import rtmidi
inp = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, "rvae-test-tiny-in", queue_size_limit=16)  # never drained
inp.open_virtual_port("in")
out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "rvae-test-tiny-out")
out.open_virtual_port("out")
subprocess.run(["jack_connect", "rvae-test-tiny-out:out", "rvae-test-tiny-in:in"], check=True)
time.sleep(0.2)
for k in range(6000):
    out.send_message([0xB0, 1, k % 128])
    if k % 200 == 199:
        time.sleep(0.01)
time.sleep(0.5)
print("rvae-visual: a line of our own", file=sys.stderr)
del inp, out
"""


def test_point4_rtmidi_queue_warnings_become_one_line_with_a_count(jack_server, tmp_path):
    r = subprocess.run([sys.executable, "-c", FLOOD_RT, "60"], capture_output=True, text=True, cwd=REPO,
                       timeout=120, env=dict(os.environ, **jack_server))
    no_traceback(r)
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    limit = [line for line in lines if "queue limit reached" in line]
    assert len(limit) == 2, lines  # the warning once, then one line with its count
    count = int(limit[1].split(" came ")[1].split()[0])
    assert count > 1000 and limit[1].startswith("rvae-visual: the line")
    assert "rvae-visual: a line of our own" in lines  # other lines pass on
    assert len(r.stderr) < 1000  # without the limit: ~260 kB


def test_point4_the_player_reads_a_20000_cc_a_second_flood_without_filling_its_log(jack_server, tmp_path):
    import rtmidi

    env = dict(os.environ, PYGAME_HIDE_SUPPORT_PROMPT="1", XDG_CONFIG_HOME=str(tmp_path / "config"),
               **jack_server, **DUMMY)
    proc = subprocess.Popen([sys.executable, "-m", "rvae_visual", *PLAY, "--duration", "12", "--midi-in", "virtual"],
                            stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "rvae-test-flooder")
    try:
        out.open_virtual_port("out")
        deadline = time.monotonic() + 60
        while subprocess.run(["jack_connect", "rvae-test-flooder:out", "rvae-visual-in:rvae-visual"],
                             capture_output=True).returncode != 0:
            assert time.monotonic() < deadline and proc.poll() is None, "the player's MIDI input never appeared"
            time.sleep(0.2)
        t0, k = time.monotonic(), 0
        while time.monotonic() - t0 < 4.0:  # 20,000 CC a second for 4 s
            for _ in range(200):
                out.send_message([0xB0, 70 + k % 3, k % 128])
                k += 1
            time.sleep(max(0.0, t0 + k / 20000 - time.monotonic()))
        _, err = proc.communicate(timeout=120)
    finally:
        out.close_port()
        del out
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in err, err[-3000:]
    assert proc.returncode == 0
    assert k >= 70000
    assert "queue limit" not in err, err[-2000:]
    assert len(err.splitlines()) <= 4, err  # the audio line, the MIDI line(s)


def test_point4_repeat_limiter_counts_and_backs_off():
    from rvae_visual.stderr_limit import RepeatLimiter

    lim = RepeatLimiter(window_s=10.0, max_tracked=4, max_window_s=40.0)
    out: list[bytes] = []
    t = 0.0
    for _ in range(10000):  # one warning 100 times a second for 100 s, with a blank line after each
        out += lim.feed(b"W: queue full", t) + lim.feed(b"", t)
        t += 0.01
    out += lim.flush(None)
    text = b"".join(out).decode()
    assert text.count("W: queue full") == 1 + 4  # once, then a count at 10, 30 and 70 s and at the end
    counts = [int(line.split(" came ")[1].split()[0]) for line in text.splitlines() if " came " in line]
    assert sum(counts) == 9999
    assert text.count("\n\n") == 0 or text.startswith("W")  # held blank lines go with the held line
    for k in range(10):  # distinct lines: all pass, and only max_tracked are remembered
        assert lim.feed(f"line {k}".encode(), t) == [f"line {k}\n".encode()]
    assert len(lim._seen) <= 4


# ------------------------------------------------------------------ point 5: MIDI learn and the user's file

HAND_WRITTEN = """\
# my nanoKONTROL, set up for the Friday gig
name = "friday"

# the big fader moves across the map
[[bind]]
action = "head_x"
cc = 0          # fader 1
channel = 1
takeover = "soft"

[[bind]]
action = "head_y"
cc = 1          # fader 2
channel = 1
takeover = "jump"
min = -2.0
"""


def test_point5_learn_keeps_the_users_text_and_mode_and_a_backup(tmp_path):
    from rvae_visual.midi.learn import Learn
    from rvae_visual.midi.mapping import Controller, load_mapping, resolve_controller

    f = tmp_path / "gig.toml"
    f.write_text(HAND_WRITTEN)
    os.chmod(f, 0o644)
    mapping, save_to = resolve_controller(str(f))
    assert save_to == f
    learn = Learn(Controller(mapping), save_to)
    learn.start("head_x")
    assert learn.offer([0xB0 | 2, 16, 64]) is not None  # CC 16 on channel 3
    text = f.read_text()
    assert os.stat(f).st_mode & 0o777 == 0o644
    assert (tmp_path / "gig.toml.bak").read_text() == HAND_WRITTEN
    for kept in ("# my nanoKONTROL, set up for the Friday gig", "# the big fader moves across the map",
                 'takeover = "soft"', "# fader 2", 'takeover = "jump"', "min = -2.0"):
        assert kept in text, text
    assert "cc = 16          # fader 1" in text and "channel = 3" in text
    got = load_mapping(f)
    assert [(b.action, b.number, b.channel, b.takeover) for b in got.bindings] == [
        ("head_x", 16, 3, "soft"), ("head_y", 1, 1, "jump")]
    assert "saved to" in learn.message and "gig.toml.bak" in learn.message

    learn.start("head_y")  # the control head_x has now: head_x's table is commented out, not lost
    learn.offer([0xB0 | 2, 16, 10])
    text = f.read_text()
    got = load_mapping(f)
    assert [(b.action, b.number, b.channel) for b in got.bindings] == [("head_y", 16, 3)]
    assert "# replaced by MIDI learn" in text and "# cc = 16          # fader 1" in text
    assert 'takeover = "jump"' in text and os.stat(f).st_mode & 0o777 == 0o644

    learn.start("threshold")  # an action the file does not have is added at the end
    learn.offer([0xB0, 20, 10])
    got = load_mapping(f)
    assert [(b.action, b.number) for b in got.bindings] == [("head_y", 16), ("threshold", 20)]
    assert f.read_text().startswith("# my nanoKONTROL")


def test_point5_learn_into_a_read_only_mapping_file_says_so_and_keeps_the_binding(tmp_path):
    from rvae_visual.midi.learn import Learn
    from rvae_visual.midi.mapping import Controller, resolve_controller

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "gig.toml").write_text(HAND_WRITTEN)
    with read_only(tmp_path / "src", tmp_path / "ro") as ro:
        mapping, save_to = resolve_controller(str(ro / "gig.toml"))
        ctl = Controller(mapping)
        learn = Learn(ctl, save_to)
        learn.start("head_x")
        learn.offer([0xB0, 16, 64])
        assert "NOT saved" in learn.message and str(ro / "gig.toml") in learn.message
        assert ctl.mapping.for_action("head_x")[0].number == 16  # in use until the player quits
        assert (ro / "gig.toml").read_text() == HAND_WRITTEN


# ------------------------------------------------------------------ point 6: unbounded work

def test_point6_render_refuses_more_bars_than_a_wav_holds(tmp_path):
    t0 = time.monotonic()
    r = run("render", "--bars", "100000000", "-o", tmp_path / "x.wav")
    no_traceback(r)
    assert r.returncode == 2
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and "--bars 100000000" in lines[0] and "at most 4 GiB" in lines[0], lines
    assert time.monotonic() - t0 < 30 and not (tmp_path / "x.wav").exists()


def _max_rss_mb(*args) -> float:
    code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); sys.exit(r.returncode)")
    r = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "rvae_visual", *map(str, args)],
                       capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr
    return float(r.stdout.strip().splitlines()[-1])


def test_point6_a_long_render_streams_to_disk_in_bounded_memory(tmp_path):
    short = _max_rss_mb("render", "--bars", "4", "-o", tmp_path / "a.wav")
    long = _max_rss_mb("render", "--bars", "600", "-o", tmp_path / "b.wav", "--midi", tmp_path / "b.mid")
    # 600 bars at 120 BPM: 20 minutes, 115 MB of 16-bit WAV (and 460 MB of float in memory if held whole)
    assert (tmp_path / "b.wav").stat().st_size == 44 + 600 * 96000 * 2
    assert long - short < 60, (short, long)
    import soundfile as sf

    a, _ = sf.read(str(tmp_path / "a.wav"))
    b, _ = sf.read(str(tmp_path / "b.wav"), frames=len(a))
    assert np_equal(a[: 4 * 96000 - 48000], b[: 4 * 96000 - 48000])  # the same bars, bar for bar


def np_equal(a, b) -> bool:
    import numpy as np

    return bool(np.array_equal(a, b))


def _with_huge_header(src: Path, dst: Path) -> str:
    """A copy of model `src` whose first weight array's .npy header claims 100000 x 100000 float64
    (80 GB) while the data stored stays as it was; returns that entry's name."""
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        victim = next(n for n in zin.namelist() if n.endswith(".W.npy"))
        for info in zin.infolist():
            raw = zin.read(info.filename)
            if info.filename == victim:
                end = raw.index(b"\n") + 1
                header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }"
                pad = end - 10 - len(header) - 1
                assert pad >= 0
                raw = raw[:8] + struct.pack("<H", end - 10) + (header + " " * pad + "\n").encode() + raw[end:]
            zout.writestr(info.filename, raw)
    return victim[:-4]


def test_point6_a_model_header_claiming_a_huge_array_is_refused_before_allocating(tmp_path):
    import resource

    src = next((REPO / "rvae_visual" / "data" / "models").glob("*.npz"))
    bad = tmp_path / "huge.npz"
    entry = _with_huge_header(src, bad)

    def limit() -> None:  # 3 GB of address space: an 80 GB allocation fails at once
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))

    for args in (("inspect", bad), ("render", "--model", bad, "-o", tmp_path / "x.wav")):
        r = run(*args, preexec_fn=limit)
        no_traceback(r)
        assert r.returncode == 2, r.stderr
        lines = error_lines(r.stderr)
        assert len(lines) == 1 and str(bad) in lines[0] and entry in lines[0] and "80000 MB" in lines[0], lines
    r = run("inspect", src, preexec_fn=limit)  # the limit itself lets a good model load
    assert r.returncode == 0, r.stderr


def test_point6_a_ten_minute_sample_in_a_user_kit_is_read_only_as_far_as_it_is_used(tmp_path):
    import numpy as np
    import soundfile as sf

    kit = tmp_path / "my kit"
    kit.mkdir()
    sr = 48000
    t = np.arange(sr // 4) / sr
    sf.write(str(kit / "snare.wav"), (0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), sr)
    with sf.SoundFile(str(kit / "kick.wav"), "w", sr, 1, "PCM_16") as f:  # 10 minutes
        block = (0.3 * np.sin(2 * np.pi * 55 * np.arange(sr) / sr)).astype(np.float32)
        for _ in range(600):
            f.write(block)
    short = _max_rss_mb("render", "--bars", "1", "-o", tmp_path / "a.wav")
    code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "sys.stderr.write(r.stderr); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    r = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "rvae_visual", "render", "--bars", "1",
                        "--kit", str(kit), "-o", str(tmp_path / "b.wav")], capture_output=True, text=True, cwd=REPO,
                       timeout=300)
    no_traceback(r)
    used = float(r.stdout.strip().splitlines()[-1])
    assert (tmp_path / "b.wav").is_file()
    lines = [line for line in error_lines(r.stderr) if "kick.wav" in line]
    assert len(lines) == 1 and str(kit / "kick.wav") in lines[0] and "600 s long" in lines[0], r.stderr
    assert "first 20 s" in lines[0]
    # read whole as float32 the file alone is 115 MB; its first 20 s are 4 MB
    assert used - short < 60, (short, used)


def test_point6_controller_file_is_checked_without_midi_in(tmp_path):
    bad = tmp_path / "gig.toml"
    bad.write_text("[[bind]]\naction = 'head_x'\ncc = 300\n")
    for spec, needle in ((tmp_path / "missing.toml", "missing.toml"), (bad, "cc = 300")):
        t0 = time.monotonic()
        r = run(*PLAY, "--duration", "30", "--controller", spec, env=DUMMY, timeout=120)
        no_traceback(r)
        assert r.returncode == 2, r.stderr
        lines = error_lines(r.stderr)
        assert len(lines) == 1 and str(spec) in lines[0] and needle in lines[0], lines
        assert time.monotonic() - t0 < 25
    r = run(*PLAY, "--duration", "1", "--controller", "generic", env=DUMMY, timeout=120)
    assert r.returncode == 0 and "--controller generic: not used without --midi-in" in r.stderr
