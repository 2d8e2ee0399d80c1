"""`rvae-visual scan` as a user runs it: a real subprocess, real and broken files."""

import json
import os
import subprocess
import sys


from test_clips import smf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "rvae_visual", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or REPO, timeout=120)


def test_scan_corpus_json(every_corpus):
    r = run("scan", every_corpus, "--json")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1  # exactly one JSON object on stdout
    d = json.loads(lines[0])
    files = d["files"]
    # one entry per clip of the corpus: every source folder's manifest lists its clips
    listed = sum(len(m.read_text().strip().splitlines()) - 1 for m in every_corpus.glob("*/manifest.csv"))
    assert listed >= 100 and len(files) == listed
    keys = {"path", "status", "reason", "bars", "hits", "collisions", "unmapped",
            "max_roundtrip_error_ms", "grid16_moved"}
    assert all(keys <= set(f) for f in files)
    assert all(f["status"] == "ok" for f in files), [f for f in files if f["status"] != "ok"][:3]
    t = d["totals"]
    assert t["files"] == len(files) and t["ok"] == len(files) and t["skipped"] == 0
    assert t["max_roundtrip_error_ms"] <= 0.5
    assert t["bars"] == sum(f["bars"] for f in files)
    # the triplet-feel clips are why the 24-ppqn grid exists
    for genre in ("shuffle", "jazz"):
        moved = [f["grid16_moved"] for f in files if f"/gmd/{genre}/" in f["path"]]
        assert moved and sum(moved) > 0 and sum(m > 0 for m in moved) > len(moved) // 2
    # step-written 16th grooves lose nothing on a 16th grid
    assert sum(f["grid16_moved"] for f in files if "/stickflow/" in f["path"]) == 0


def test_scan_bad_inputs_go_on_and_report_one_line_each(tmp_path):
    good = smf(tmp_path / "good.mid", [(0, 10, 36, 100), (1, 10, 38, 90), (1.5, 10, 42, 80)])
    (tmp_path / "text.mid").write_text("hello")
    (tmp_path / "zero.mid").write_bytes(b"")
    (tmp_path / "trunc.mid").write_bytes(good.read_bytes()[:30])
    smf(tmp_path / "piano.mid", [(0, 10, 60, 100)])
    smf(tmp_path / "waltz.mid", [(0, 10, 36, 100)], ts=(3, 4))
    empty_dir = tmp_path / "nothing_here"
    empty_dir.mkdir()
    (empty_dir / "readme.txt").write_text("no midi")
    missing = tmp_path / "missing_folder"
    r = run("scan", tmp_path, empty_dir, missing, "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    by_name = {os.path.basename(f["path"]): f for f in d["files"]}
    assert by_name["good.mid"]["status"] == "ok"
    reasons = {
        "text.mid": "not a Standard MIDI File",
        "zero.mid": "empty file",
        "trunc.mid": "truncated",
        "piano.mid": "no drum notes",
        "waltz.mid": "time signature 3/4",
        "nothing_here": "holds no MIDI files",
        "missing_folder": "no such file or folder",
    }
    for name, words in reasons.items():
        f = by_name[name]
        assert f["status"] == "skipped" and words in f["reason"] and name in f["reason"], f
        assert "\n" not in f["reason"]
    assert d["totals"]["ok"] == 1 and d["totals"]["skipped"] == len(reasons)
    assert "Traceback" not in r.stderr


def test_scan_table_and_exit_codes(tmp_path):
    smf(tmp_path / "good.mid", [(0, 10, 36, 100), (1, 10, 38, 90)])
    r = run("scan", tmp_path)
    assert r.returncode == 0
    assert "good.mid" in r.stdout and "TOTAL" in r.stdout and "1 ok" in r.stdout
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.mid").write_text("nope")
    r = run("scan", bad)
    assert r.returncode == 1  # nothing usable
    assert "not a Standard MIDI File" in r.stdout
    r = run("scan")
    assert r.returncode == 2  # usage error
    r = run("scan", tmp_path, "--min-hits", "0")
    assert r.returncode == 2
    r = run("scan", tmp_path, "--drum-map", tmp_path / "nomap.toml")
    assert r.returncode == 2 and "nomap.toml" in r.stderr and "Traceback" not in r.stderr


def test_fallback_warning_goes_to_stderr(tmp_path):
    smf(tmp_path / "ch1.mid", [(0, 1, 36, 100), (1, 1, 38, 90)])
    r = run("scan", tmp_path, "--json")
    assert r.returncode == 0
    assert "no notes on channel 10" in r.stderr
    json.loads(r.stdout)


def test_custom_drum_map(tmp_path):
    smf(tmp_path / "toms.mid", [(0, 10, 45, 100), (1, 10, 48, 90), (2, 10, 36, 90)])
    m = tmp_path / "toms.toml"
    m.write_text('name="toms"\n[[instrument]]\nname="low"\nnotes=[45]\n'
                 '[[instrument]]\nname="high"\nnotes=[48]\n')
    r = run("scan", tmp_path / "toms.mid", "--json", "--drum-map", m)
    d = json.loads(r.stdout)
    assert d["files"][0]["hits"] == {"low": 1, "high": 1} and d["files"][0]["unmapped"] == 1
