"""Model files, the numpy play path, the latent grid and the bundled models."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rvae_visual.errors import InputError
from rvae_visual.model import modelfile
from rvae_visual.model.bundled import bundled_models, default_model_name
from rvae_visual.model.grid import cell_to_latent, grid_points, latent_to_cell
from rvae_visual.model.modelfile import read_model_file, save_model_file
from rvae_visual.model.store import PlayModel, load_model, model_from_arrays
from rvae_visual.pattern import Pattern

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def trained(corpus):
    """A small model trained for a few epochs on four real clips (weights, meta)."""
    from rvae_visual.model.clips import read_clip
    from rvae_visual.model.training import recipe_config, train, trainset_from_clips

    folder = corpus / "stickflow" / "rock"
    clips = [read_clip(p) for p in sorted(folder.glob("*.mid"))[:4]]
    res = train(trainset_from_clips(clips), config=recipe_config("default", 5, hidden=48), seed=2)
    return res.weights, res.meta


def one_line_error(path, match: str) -> str:
    with pytest.raises(InputError) as ei:
        read_model_file(path)
    msg = str(ei.value)
    assert "\n" not in msg and str(path) in msg and match in msg, msg
    return msg


def test_round_trip_keeps_weights_meta_and_output(tmp_path, trained):
    weights, meta = trained
    path = tmp_path / "m.npz"
    save_model_file(path, weights, meta)
    w2, m2 = read_model_file(path)
    assert set(w2) == set(weights) and all(np.array_equal(w2[k], weights[k]) for k in weights)
    assert m2["kind"] == "rvae-visual-model" and m2["format_version"] == modelfile.FORMAT_VERSION
    for key in ("recipe", "seed", "history", "landmarks", "clips", "drum_map", "representation",
                "package_version", "created", "arch"):
        assert m2[key] == json.loads(json.dumps(meta[key])), key
    assert m2["representation"]["ticks"] == 96 and m2["representation"]["ppqn"] == 24
    # nothing pickled: every member is a plain array numpy reads with allow_pickle=False
    with np.load(path, allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
    model = load_model(path)
    assert model.name == "m" and model.path == str(path)
    z = np.random.default_rng(0).uniform(-3, 3, (20, 2))
    assert np.array_equal(model.decode(z), model_from_arrays(weights, meta).decode(z))
    assert len(model.landmarks) == meta["bars"] and isinstance(model.landmarks[0][0], str)
    assert model.landmarks[0][0].endswith(":1")


def test_float16_stays_within_1e3_of_float32(tmp_path, trained):
    weights, meta = trained
    save_model_file(tmp_path / "a.npz", weights, meta, "float32")
    save_model_file(tmp_path / "b.npz", weights, meta, "float16")
    assert (tmp_path / "b.npz").stat().st_size < 0.6 * (tmp_path / "a.npz").stat().st_size
    a, b = load_model(tmp_path / "a.npz"), load_model(tmp_path / "b.npz")
    assert b.meta["weights_dtype"] == "float16"
    z = np.random.default_rng(1).uniform(-3, 3, (200, 2)).astype(np.float32)
    assert np.abs(a.decode_raw(z) - b.decode_raw(z)).max() < 1e-3  # the network, before the hit rule


def test_refuses_corrupt_files(tmp_path, trained):
    weights, meta = trained
    good = tmp_path / "good.npz"
    save_model_file(good, weights, meta)
    data = good.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    one_line_error(tmp_path / "truncated.npz", "corrupt model file")
    # a flipped byte inside the compressed weights: zip CRC or zlib catches it
    bad = bytearray(data)
    bad[len(bad) // 3] ^= 0xFF
    (tmp_path / "flipped.npz").write_bytes(bytes(bad))
    one_line_error(tmp_path / "flipped.npz", "corrupt model file")
    # weights changed but archive intact: the recorded decoder output no longer matches
    w = dict(weights)
    w["out_on.b"] = w["out_on.b"] + 0.5
    save_model_file(tmp_path / "tampered.npz", w, meta)
    with zipfile.ZipFile(tmp_path / "tampered.npz") as zt, zipfile.ZipFile(good) as zg:
        members = {n: zt.read(n) for n in zt.namelist()}
        members["check.out.npy"] = zg.read("check.out.npy")
    with zipfile.ZipFile(tmp_path / "mismatch.npz", "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    one_line_error(tmp_path / "mismatch.npz", "differs")
    # a weight array missing
    arrays = dict(np.load(good))
    del arrays["dec_in.W"]
    np.savez(tmp_path / "missing.npz", **arrays)
    one_line_error(tmp_path / "missing.npz", "'dec_in.W' are missing")
    # metadata that is not JSON
    arrays = dict(np.load(good))
    arrays["meta"] = np.frombuffer(b"{not json", np.uint8)
    np.savez(tmp_path / "badjson.npz", **arrays)
    one_line_error(tmp_path / "badjson.npz", "not valid JSON")


def test_refuses_files_of_another_kind(tmp_path, corpus):
    midi = next((corpus / "gmd" / "funk").glob("*.mid"))
    copy = tmp_path / "clip.npz"
    copy.write_bytes(midi.read_bytes())
    one_line_error(copy, "a MIDI file")
    (tmp_path / "text.npz").write_text("hello, not a model")
    one_line_error(tmp_path / "text.npz", "not an rvae-visual model file")
    np.save(tmp_path / "array.npy", np.arange(10))
    one_line_error(tmp_path / "array.npy", "not an rvae-visual model file")
    np.savez(tmp_path / "plain.npz", a=np.arange(3), b=np.ones(2))
    one_line_error(tmp_path / "plain.npz", "without rvae-visual metadata")
    np.savez(tmp_path / "other.npz", meta=np.frombuffer(json.dumps({"kind": "photo-album"}).encode(), np.uint8))
    one_line_error(tmp_path / "other.npz", "'photo-album'")
    with zipfile.ZipFile(tmp_path / "zip.npz", "w") as z:
        z.writestr("readme.txt", "a zip, not an npz")
    one_line_error(tmp_path / "zip.npz", "not an rvae-visual model file")
    one_line_error(tmp_path / "nothing.npz", "no such model file")
    one_line_error(tmp_path, "is a folder")


def test_refuses_newer_format_version(tmp_path, trained):
    weights, meta = trained
    save_model_file(tmp_path / "m.npz", weights, meta)
    arrays = dict(np.load(tmp_path / "m.npz"))
    m = json.loads(arrays["meta"].tobytes())
    m["format_version"] = modelfile.FORMAT_VERSION + 1
    arrays["meta"] = np.frombuffer(json.dumps(m).encode(), np.uint8)
    np.savez(tmp_path / "future.npz", **arrays)
    msg = one_line_error(tmp_path / "future.npz", f"version {modelfile.FORMAT_VERSION + 1} is newer")
    assert "upgrade" in msg


def test_load_model_names_paths_and_errors(tmp_path):
    names = [n for n, _ in bundled_models()]
    assert names and names[0] == default_model_name()
    assert load_model().name == default_model_name()
    for name, path in bundled_models():
        assert load_model(name).path == path
    with pytest.raises(InputError, match="no such model file or bundled model"):
        load_model(tmp_path / "nope.npz")
    with pytest.raises(InputError, match="bundled:"):
        load_model("no-such-model-name")


def test_bundled_models_are_float16_small_and_checked():
    """Each bundled model loads (the load checks its float16 decoder output against the float32
    output recorded when it was saved: within 1e-3), is small, and has landmarks."""
    models = bundled_models()
    assert len(models) >= 3
    for name, path in models:
        assert Path(path).stat().st_size < 3_000_000, name
        weights, meta = read_model_file(path)
        assert meta["weights_dtype"] == "float16" and meta["recipe"] == "default"
        with np.load(path) as npz:
            z, want = npz["check.z"], npz["check.out"]
            assert want.dtype == np.float32 and len(z) == 16
        m = load_model(name)
        assert np.abs(m.decode_raw(z) - want).max() < 1e-3
        assert len(m.landmarks) == meta["bars"] >= 12
        assert m.drum_map.instruments == ("kick", "snare", "hihat")


def test_play_path_never_imports_torch():
    code = (
        "import sys\n"
        "from rvae_visual.model.store import load_model\n"
        "import rvae_visual.model.grid, rvae_visual.model.evaluate, rvae_visual.model.decoder\n"
        "m = load_model()\n"
        "p = m.decode_pattern(0.3, -1.0)\n"
        "g = m.grid()\n"
        "m.encode([p])\n"
        "assert g.onsets.shape == (30, 30, 3, 96), g.onsets.shape\n"
        "print('torch' in sys.modules, len(p.hits()))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "False"


def test_grid_cell_centres_and_screen_up(trained):
    n, ext = 30, 3.0
    z = grid_points(n, ext)
    assert z.shape == (30, 30, 2)
    step = 2 * ext / n
    assert z[0, 0] == pytest.approx([-ext + step / 2, ext - step / 2])  # top-left: z1 min, z2 max
    assert z[0, 29] == pytest.approx([ext - step / 2, ext - step / 2])  # top-right
    assert z[29, 0] == pytest.approx([-ext + step / 2, -ext + step / 2])  # bottom-left
    assert np.all(np.diff(z[:, 0, 1]) < 0)  # rows go down the screen: z2 falls
    assert np.all(np.diff(z[0, :, 0]) > 0)  # columns go right: z1 rises
    assert z[:, :, 0].mean() == pytest.approx(0, abs=1e-6) and z[:, :, 1].mean() == pytest.approx(0, abs=1e-6)
    for row, col in ((0, 0), (3, 17), (29, 29), (12.25, 4.75)):
        z1, z2 = cell_to_latent(row, col)
        assert latent_to_cell(z1, z2) == pytest.approx((row, col))
        if float(row).is_integer():
            assert (z1, z2) == pytest.approx(tuple(z[int(row), int(col)]))
    assert latent_to_cell(0.0, 0.0) == pytest.approx((14.5, 14.5))
    assert latent_to_cell(-3.0, 3.0) == pytest.approx((-0.5, -0.5))  # the map's top-left corner
    model = model_from_arrays(*trained)
    g = model.grid()
    assert g.extent == model.extent and model.window == tuple(model.meta["window"])
    assert g.onsets.shape == g.velocities.shape == g.offsets.shape == (30, 30, 3, 96)
    assert g.onsets.dtype == np.float32 and not g.onsets.flags.writeable
    assert model.grid() is g  # cached
    for row, col in ((0, 0), (0, 29), (29, 0), (11, 23)):
        p = model.decode_pattern(*cell_to_latent(row, col, extent=g.extent))
        assert isinstance(p, Pattern)
        assert np.allclose(p.to_array(), g.pattern(row, col).to_array(), atol=1e-6)
    small = model.grid(n=4, extent=2.0)
    assert small.z[0, 0] == pytest.approx([-1.5, 1.5])
    assert g.offsets.min() >= model.net.offset_lo and g.offsets.max() <= model.net.offset_hi
    assert model.net.offset_hi < 3.0 == -model.net.offset_lo  # a musically read model: +-3 ticks


def test_encode_patterns(trained):
    model = model_from_arrays(*trained)
    p = model.decode_pattern(1.0, -2.0)
    assert model.encode([p, p]).shape == (2, 2)
    assert model.encode([]).shape == (0, 2)
    with pytest.raises(ValueError, match="instruments"):
        model.encode([Pattern.empty(4)])
    assert isinstance(model, PlayModel)
