"""The installation files in contrib/: the example settings are a valid `play --config` file,
and the systemd unit passes `systemd-analyze verify` pointing at this checkout."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

from rvae_visual.commands.config import play_parser
from rvae_visual.config_file import read_config

ROOT = Path(__file__).resolve().parent.parent


def test_the_example_installation_settings_are_a_valid_config():
    values = read_config(play_parser(), ROOT / "contrib" / "installation.toml")
    assert values["installation"] is True and values["remember"] is True and values["attract"] > 0


def test_the_systemd_unit_verifies_and_restarts_on_failure(tmp_path):
    text = (ROOT / "contrib" / "rvae-visual.service").read_text()
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string(text)
    assert unit["Service"]["Restart"] == "on-failure" and unit["Service"]["KillSignal"] == "SIGTERM"
    assert "--config" in unit["Service"]["ExecStart"] and "\nEnvironment=DISPLAY=:0\n" in text
    here = tmp_path / "rvae-visual.service"
    here.write_text(text.replace("%h/rvae-visual", str(ROOT)))
    r = subprocess.run(["systemd-analyze", "verify", str(here)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Unknown" not in r.stderr, r.stderr
