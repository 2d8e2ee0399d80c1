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
