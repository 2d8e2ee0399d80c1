"""Shared fixtures: real-data paths, and the JACK dummy server and Xvfb (started or reused)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests import servers/jackcapture

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("JACK_NO_START_SERVER", "1")

import servers  # noqa: E402


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repository (real clips by other people)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} is missing: tests need ../shared/data beside the repository")
    return SHARED_DATA


@pytest.fixture(scope="session")
def jack_server() -> dict[str, str]:
    """A running JACK dummy server (reused or started); env vars for its clients.

    Also sets them in this process, so sounddevice / rtmidi opened here talk to it."""
    try:
        env = servers.ensure_jack()
    except servers.ServerError as e:
        pytest.fail(str(e))
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def xvfb_display() -> str:
    """DISPLAY of a running Xvfb 1920x1080x24 (reused or started)."""
    try:
        return servers.ensure_xvfb()
    except servers.ServerError as e:
        pytest.fail(str(e))


@pytest.fixture
def pg(monkeypatch):
    """pygame with a display on SDL's dummy video driver (fast pixel tests, no X server)."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    from rvae_visual.render.window import init_display

    init_display()
    import pygame

    yield pygame
    pygame.display.quit()


@pytest.fixture
def dummy_display(pg):
    """The same as `pg`, under the name the pixel tests use."""
    return pg
