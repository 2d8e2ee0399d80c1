"""`play --config FILE.toml` and `config --write FILE`: every option of play from a file, checked
up front (one line per thing wrong, exit 2), the command line overriding it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from render_support import x_env

from rvae_visual.cli import build_parser, main
from rvae_visual.commands.config import play_parser
from rvae_visual.config_file import ConfigError, key_of, options, read_config


def _run(*args: str, env=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rvae_visual", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_the_written_defaults_file_lists_every_option_and_reads_back_as_the_defaults(tmp_path):
    path = tmp_path / "play.toml"
    r = _run("config", "--write", str(path))
    assert r.returncode == 0, r.stderr
    text = path.read_text()
    p = play_parser()
    for a in options(p):
        assert f"\n{key_of(a)} = " in text or f"\n# {key_of(a)} = " in text, key_of(a)
    values = read_config(p, path)
    defaults = {a.dest: a.default for a in options(p)}
    assert values and all(values[k] == defaults[k] for k in values)
    assert _run("config", "--write", str(path)).returncode == 2  # never replaced unless --force
    assert _run("config", "--write", str(path), "--force").returncode == 0


@pytest.mark.parametrize("body, expect", [
    ("bmp = 96\n", "unknown key 'bmp'"),
    ("bpm = 400\n", "bpm: tempo 400 BPM is outside 40-300"),
    ("quantize = \"half\"\n", "quantize: 'half' is not one of tick, beat, bar"),
    ("installation = \"yes\"\n", "installation: expected true or false"),
    ("midi_channel = [10, 17]\n", "midi_channel: MIDI channel 17 is outside 1-16"),
    ("kit = [1]\n", "kit: expected a string, got a list"),
    ("model = 3.5\n", "model: expected a string, got float"),
    ("bpm = [\n", "is not valid TOML"),
])
def test_a_broken_config_is_one_line_naming_the_file_and_key_and_exit_2(tmp_path, body, expect):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    r = _run("play", "--config", str(path), "--windowed")
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert any(expect in ln and str(path) in ln for ln in lines), r.stderr
    assert all(ln.startswith("rvae-visual: error: ") for ln in lines), r.stderr  # nothing started


def test_a_missing_config_and_every_bad_key_of_one_file_each_get_a_line(tmp_path, capsys):
    assert main(["play", "--config", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.toml: cannot read a config file" in err[0]
    path = tmp_path / "bad.toml"
    path.write_text("bpm = 10\nwobble = 1\nfps = 0\n")
    with pytest.raises(ConfigError) as e:
        read_config(build_parser().get_default("_subparsers")["play"], path)
    assert len(e.value.lines) == 3


def test_the_command_line_overrides_the_file_and_the_file_reaches_play(jack_server, xvfb_display, tmp_path):
    """A real run: the file's tempo and script are taken, a tempo on the command line wins."""
    cfg = tmp_path / "gig.toml"
    stats = tmp_path / "stats.json"
    cfg.write_text(f'bpm = 90\nwindowed = true\nsize = "640x360"\nduration = 1.5\nstats = "{stats}"\n'
                   'control = ["0.5:threshold=0.3"]\nquantize = "bar"\n')
    env = x_env(xvfb_display, **jack_server)
    r = _run("play", "--config", str(cfg), env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(stats.read_text())["frames"] > 20
    args = build_parser()
    from rvae_visual.config_file import apply_config

    play = args.get_default("_subparsers")["play"]
    apply_config(play, cfg)
    ns = args.parse_args(["play", "--config", str(cfg), "--bpm", "128"])
    assert ns.bpm == 128.0 and ns.quantize == "bar" and ns.size == (640, 360) and ns.windowed
    assert ns.control == [(0.5, "threshold", 0.3)]
