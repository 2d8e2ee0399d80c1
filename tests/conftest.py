"""Shared fixtures: the clip corpora (tests/data, ../shared/data), and the JACK dummy server and Xvfb."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"  # the full shared test data, when it is beside us
BUNDLED_DATA = REPO / "tests" / "data"  # the small corpus shipped in the repository (gmd, stickflow)
# every corpus present: the bundled one always, ../shared/data too when it is there
CORPORA = [BUNDLED_DATA] + ([SHARED_DATA] if SHARED_DATA.is_dir() else [])

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests import servers/jackcapture

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("JACK_NO_START_SERVER", "1")

import servers  # noqa: E402


def corpus_id(path: Path) -> str:
    return "bundled" if path == BUNDLED_DATA else "shared"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """Real clips by other people: ../shared/data beside the repository when it is there, else
    the corpus in tests/data (gmd and stickflow only). Both have gmd/<genre>/ and
    stickflow/<genre>/ folders, each source with NOTICE.txt and manifest.csv."""
    return SHARED_DATA if SHARED_DATA.is_dir() else BUNDLED_DATA


@pytest.fixture(scope="session", params=CORPORA, ids=corpus_id)
def every_corpus(request) -> Path:
    """Each corpus present in turn (for tests over a whole corpus): tests/data always, and
    ../shared/data too when it is there."""
    return request.param


@pytest.fixture(scope="session")
def shared_data(corpus) -> Path:
    """The old name of `corpus`."""
    return corpus


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


@pytest.fixture(scope="session")
def two_monitor_display() -> str:
    """DISPLAY of an X server with two monitors side by side, 1920x1080 and 1280x720 (reused or started)."""
    try:
        return servers.ensure_two_monitor_x()
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
