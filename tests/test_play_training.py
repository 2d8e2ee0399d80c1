"""Training inside the instrument: a dropped folder of MIDI clips trains a new model in another
process while the real audio engine (on the JACK dummy server) keeps playing and frames keep
coming; the new map swaps in and is saved beside the clips. A folder with nothing usable gives
one clear message and changes nothing."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from rvae_visual.model.store import load_model
from rvae_visual.performance import Performance

# Real-time timing on a VM that loses CPU to its host now and then (docs/architecture.md): a failed
# timing assertion is retried after 20 s (CPU steal comes in stretches), at most 3 times.
pytestmark = pytest.mark.flaky(reruns=3, reruns_delay=20, only_rerun=["AssertionError"])

HEAD = (0.5, 0.5)


@pytest.fixture
def live_app(pg, jack_server):
    from rvae_visual.audio.engine import AudioEngine
    from render_support import build_app

    from rvae_visual.render.window import Window

    model = load_model()
    engine = AudioEngine(device="system", instruments=model.drum_map.instruments,
                         jack_client_name="rvae-visual-training-test")
    head = HEAD if model.decode_pattern(*HEAD).n_hits(0.5) else model.landmarks[0][1:]
    perf = Performance(head=head)
    engine.publish(model.decode_pattern(*head))
    engine.start()
    assert not engine.silent, engine.status
    window = Window(fullscreen=False, size=(800, 600), vsync="off")
    app = build_app(window, engine, perf, model, model.grid(), model.path, train_args=["--epochs", "4"])
    yield app, engine, model
    app.shutdown()
    engine.close()


def _run_frames(pg, app, until, timeout: float) -> list[float]:
    """Step the app at ~60 fps until `until()`; returns the frame start times."""
    starts = []
    clock = pg.time.Clock()
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, f"timed out; HUD says: {app.messages.text!r} {app.library.training_status!r}"
        starts.append(time.monotonic())
        app.step()
        clock.tick(60)
    return starts


def test_dropped_folder_trains_a_new_map_while_the_music_plays(pg, live_app, corpus, tmp_path):
    app, engine, model = live_app
    clips = tmp_path / "my clips"
    clips.mkdir()
    for src in sorted((corpus / "gmd" / "funk").glob("*.mid"))[:6]:
        shutil.copy(src, clips / src.name)
    _run_frames(pg, app, lambda: len(app.stats.frame_work) > 30, 10)
    engine.drain_played()
    spt = engine.sample_rate * 60.0 / (engine.bpm * 24)  # samples a tick
    start = engine.heard_position() * spt
    pg.event.post(pg.event.Event(pg.DROPFILE, file=str(clips)))
    progress_seen = []
    played = []

    def done() -> bool:
        if app.library.training_status.startswith("training my clips: epoch"):
            progress_seen.append(app.library.training_status)
        played.extend(engine.drain_played())
        return app.library.current.name != model.name

    starts = _run_frames(pg, app, done, 180)
    end = engine.heard_position() * spt
    saved = clips / "my clips.npz"
    assert saved.is_file()  # beside the clips
    assert app.library.current.ref == str(saved) and app.library.current.name == "my clips"
    assert progress_seen and "/4" in progress_seen[-1]
    assert "saved" in app.library.training_status
    # the new map is the saved model's, and the head now plays its rhythm
    new = load_model(saved)
    assert np.array_equal(app.view.onsets, new.grid().onsets)
    assert app.conductor.pattern == new.decode_pattern(*app.conductor.perf.head)
    assert len(new.landmarks) >= 6
    # the music went on all the time, in audio time: hits from the drop to the swap, never a
    # bar (2 s at 120 BPM) without one
    sr = engine.sample_rate
    positions = np.sort(np.array([p for p, _, _ in played], np.float64))
    assert len(positions) > 0
    assert (positions[0] - start) / sr < 2.1 and (end - positions[-1]) / sr < 2.1
    assert np.diff(positions).max() / sr < 2.1
    # and so did the frames
    frame_gaps = np.diff(starts)
    assert frame_gaps.max() < 0.5, f"a frame took {frame_gaps.max():.3f} s"
    assert engine.callback_errors == 0


def test_a_folder_without_usable_clips_says_so_and_changes_nothing(pg, live_app, tmp_path, capsys):
    app, engine, model = live_app
    folder = tmp_path / "not clips"
    folder.mkdir()
    (folder / "notes.txt").write_text("no MIDI here")
    (folder / "broken.mid").write_bytes(b"MThd\x00")
    _run_frames(pg, app, lambda: len(app.stats.frame_work) > 10, 10)
    before = app.library.current
    pg.event.post(pg.event.Event(pg.DROPFILE, file=str(folder)))
    _run_frames(pg, app, lambda: app.messages.is_error, 60)
    assert "no usable clips" in app.messages.text and str(folder) in app.messages.text
    assert app.library.current is before
    assert not list(folder.glob("*.npz"))
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rvae-visual:")]
    assert len(err) == 1 and "no usable clips" in err[0]
    assert engine.playing
