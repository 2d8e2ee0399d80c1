"""`train`, `eval`, `inspect` and `models` as a user runs them: real subprocesses, real clips."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SUMMARY_KEYS = {"seconds", "clips", "bars", "epochs", "loss", "val_loss"}


def run(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "rvae_visual", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO, timeout=timeout)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory, corpus):
    """Six real clips (gmd funk and stickflow rock) plus two broken files, in a tmp folder."""
    d = tmp_path_factory.mktemp("clips")
    for p in sorted((corpus / "gmd" / "funk").glob("*.mid"))[:3] + \
            sorted((corpus / "stickflow" / "rock").glob("*.mid"))[:3]:
        (d / p.name).write_bytes(p.read_bytes())
    (d / "broken.mid").write_text("not midi at all")
    (d / "empty.mid").write_bytes(b"")
    return d


@pytest.fixture(scope="module")
def trained_model(clip_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m.npz"
    r = run("train", clip_dir, "-o", out, "--epochs", "4", "--seed", "3", "--json")
    return out, r


def test_train_json_summary_and_skipped_files(trained_model):
    out, r = trained_model
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert SUMMARY_KEYS <= set(summary)
    assert summary["clips"] == 6 and summary["skipped"] == 2
    assert summary["bars"] == 12 and summary["epochs"] == 4
    assert isinstance(summary["loss"], float) and isinstance(summary["val_loss"], float)
    assert out.is_file()
    assert "broken.mid" in r.stderr and "empty.mid" in r.stderr  # each skipped file named
    assert "Traceback" not in r.stderr


def test_train_progress_jsonl_one_line_per_epoch(clip_dir, tmp_path):
    out = tmp_path / "p.npz"
    r = run("train", clip_dir, "-o", out, "--epochs", "3", "--recipe", "paper", "--progress", "jsonl")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.strip().splitlines()]
    assert [x["epoch"] for x in lines[:-1]] == [1, 2, 3]
    assert all(x["epochs"] == 3 and x["loss"] > 0 for x in lines[:-1])
    assert SUMMARY_KEYS <= set(lines[-1]) and lines[-1]["recipe"] == "paper"


def test_train_without_usable_clips_exits_1_with_one_line(tmp_path):
    (tmp_path / "a.mid").write_text("nope")
    r = run("train", tmp_path, "-o", tmp_path / "x.npz", "--progress", "jsonl")
    assert r.returncode == 1
    errors = [x for x in r.stderr.splitlines() if x.startswith("rvae-visual: error:")]
    assert len(errors) == 1 and "no usable clips" in errors[0]
    assert not (tmp_path / "x.npz").exists()
    r = run("train", tmp_path, "-o", tmp_path / "missing_dir" / "x.npz")
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_ctrl_c_stops_after_the_epoch_and_saves_the_best(clip_dir, tmp_path):
    out = tmp_path / "i.npz"
    p = subprocess.Popen([sys.executable, "-m", "rvae_visual", "train", clip_dir, "-o", out,
                          "--epochs", "5000", "--progress", "jsonl"], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = p.stdout.readline()  # training has started once an epoch is reported
        assert json.loads(first)["epoch"] == 1
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["stop_reason"] == "interrupted" and summary["epochs"] < 5000
    assert "saved the best model so far" in stderr
    assert out.is_file()


def test_eval_json_on_other_clips(trained_model, corpus):
    out, r = trained_model
    assert r.returncode == 0, r.stderr
    other = sorted((corpus / "gmd" / "funk").glob("*.mid"))[-2:]
    r = run("eval", out, *other, "--json")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    d = json.loads(lines[0])
    assert d["bars"] == 4
    assert set(d["onset"]) == {"precision", "recall", "f1"}
    assert set(d["per_instrument"]) == {"kick", "snare", "hihat"}
    assert 0 <= d["onset"]["f1"] <= 1 and d["velocity_mae"] >= 0 and d["timing_mae_ms"] >= 0
    assert 1 <= d["map"]["richness"] <= 900 and 0 <= d["map"]["smoothness"] <= 1
    table = run("eval", out, *other)
    assert table.returncode == 0 and "F1" in table.stdout and "richness" in table.stdout


def test_inspect_prints_and_draws_a_png(trained_model, tmp_path):
    out, r = trained_model
    assert r.returncode == 0, r.stderr
    png = tmp_path / "map.png"
    r = run("inspect", out, "--png", png)
    assert r.returncode == 0, r.stderr
    assert "recipe:" in r.stdout and "default" in r.stdout and "12 bars" in r.stdout
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    img = pygame.image.load(str(png))
    assert img.get_size() == (1600, 900)
    # the map area holds coloured cells, not just background
    colours = {tuple(img.get_at((x, y)))[:3] for x in range(80, 840, 13) for y in range(80, 840, 13)}
    assert len(colours) > 20
    r = run("inspect", out, "--json")
    meta = json.loads(r.stdout)
    assert meta["recipe"] == "default" and len(meta["landmarks"]) == 12


def test_bad_model_file_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    for cmd in (("inspect", bad), ("eval", bad, bad)):
        r = run(*cmd)
        assert r.returncode == 2
        assert r.stderr.strip().splitlines() == [r.stderr.strip()]
        assert str(bad) in r.stderr and "corrupt model file" in r.stderr


def test_models_lists_bundled_models():
    r = run("models", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    names = [m["name"] for m in d["models"]]
    assert len(names) >= 3 and d["models"][0]["default"]
    assert all(m["clips"] >= 12 for m in d["models"])
    r = run("models")
    assert r.returncode == 0 and all(n in r.stdout for n in names)
