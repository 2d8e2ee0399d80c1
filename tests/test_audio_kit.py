"""Built-in kits (made by samples/make_kits.py) and user kits (any rate, fallbacks)."""

from __future__ import annotations

import importlib.util
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from rvae_visual.audio.kit import bundled_kits, load_kit, resample
from rvae_visual.errors import InputError

SAMPLES = Path(str(resources.files("rvae_visual.samples")))
CORE = ("kick", "snare", "hihat", "openhat")


def centroid(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / sr)
    return float((spec * f).sum() / spec.sum())


def test_at_least_two_bundled_kits_with_the_core_sounds():
    kits = bundled_kits()
    assert {"808", "acoustic"} <= set(kits)
    for kit in kits:
        for inst in CORE:
            path = SAMPLES / kit / f"{inst}.wav"
            info = sf.info(str(path))
            assert (info.samplerate, info.channels, info.format, info.subtype) == (48000, 1, "WAV", "PCM_16")
            assert path.stat().st_size < 200_000
            x, _ = sf.read(str(path), dtype="float32")
            peak_db = 20 * np.log10(np.abs(x).max())
            assert -3.0 < peak_db < -0.5  # normalised, below full scale
        for path in (SAMPLES / kit).glob("*.wav"):  # the extra sounds too
            assert path.stat().st_size < 200_000, path


@pytest.mark.parametrize("kit", ["808", "acoustic"])
def test_bundled_sounds_have_drum_character(kit):
    sr = 48000
    k = {i: sf.read(str(SAMPLES / kit / f"{i}.wav"), dtype="float64")[0] for i in CORE}
    # the kick is low, the hat is high, the snare sits between
    assert centroid(k["kick"], sr) < 300
    assert 700 < centroid(k["snare"], sr) < 7000
    assert centroid(k["hihat"], sr) > 6000
    # punch: the kick peaks in its first 15 ms and still has body at 60 ms
    env = np.abs(k["kick"])
    assert np.argmax(env) < 0.015 * sr
    assert env[int(0.06 * sr):int(0.07 * sr)].max() > 0.2 * env.max()
    # a crisp short hat: 30 dB down within 120 ms; the open hat rings longer
    hat = np.abs(k["hihat"])
    assert hat[int(0.12 * sr):].max() < hat.max() * 10 ** (-30 / 20)
    assert len(k["openhat"]) > 3 * len(k["hihat"])
    # a snappy snare: most of its energy in the first 150 ms
    e = k["snare"] ** 2
    assert e[: int(0.15 * sr)].sum() > 0.85 * e.sum()


def test_kits_contrast():
    a = sf.read(str(SAMPLES / "808" / "kick.wav"))[0]
    b = sf.read(str(SAMPLES / "acoustic" / "kick.wav"))[0]
    assert abs(len(a) - len(b)) > 0.1 * 48000  # the 808 booms longer


def test_make_kits_reproduces_the_shipped_wavs(tmp_path):
    spec = importlib.util.spec_from_file_location("make_kits", SAMPLES / "make_kits.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    written = mod.make_all(tmp_path)
    assert len(written) >= 2 * len(CORE)
    for p in written:
        shipped = SAMPLES / p.parent.name / p.name
        assert shipped.read_bytes() == p.read_bytes(), p


def test_bundled_kit_at_another_rate_is_resampled():
    k48 = load_kit("808", ("kick", "snare", "hihat"), 48000)
    k44 = load_kit("808", ("kick", "snare", "hihat"), 44100)
    for a, b in zip(k48.samples, k44.samples):
        assert abs(len(b) - len(a) * 44100 / 48000) <= 1
        assert b.dtype == np.float32 and not b.flags.writeable
    assert k44.sample_rate == 44100 and k44.name == "808"


def test_resample_keeps_pitch():
    sr_in, sr_out = 44100, 48000
    t = np.arange(sr_in // 2) / sr_in
    x = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    y = resample(x, sr_in, sr_out)
    spec = np.abs(np.fft.rfft(y))
    f = np.fft.rfftfreq(len(y), 1 / sr_out)
    assert abs(f[np.argmax(spec)] - 1000) < 3
    assert 0.9 < np.abs(y[1000:-1000]).max() < 1.1


def test_user_kit_any_rate_stereo_with_fallbacks(tmp_path):
    kit_dir = tmp_path / "mykit"
    kit_dir.mkdir()
    sr = 44100
    t = np.arange(int(0.3 * sr)) / sr
    kick = np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.1)
    sf.write(str(kit_dir / "kick.flac"), np.stack([kick, kick * 0.5], axis=1), sr)  # stereo FLAC
    (kit_dir / "HiHat.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")  # unreadable
    lines: list[str] = []
    kit = load_kit(str(kit_dir), ("kick", "snare", "hihat"), 48000, lines.append)
    assert kit.name == "mykit"
    assert kit.sources[0].endswith("kick.flac")
    assert kit.sources[1] == "built-in 808/snare" and kit.sources[2] == "built-in 808/hihat"
    assert abs(len(kit.samples[0]) - len(kick) * 48000 / sr) <= 1
    assert np.abs(kit.samples[0]).max() == pytest.approx(0.75 * np.abs(kick).max(), abs=0.01)  # mono mix of L, R
    assert len(lines) == 2
    assert "snare" in lines[0] and str(kit_dir) in lines[0] and "\n" not in lines[0]
    assert "HiHat.wav" in lines[1] and "cannot read" in lines[1] and "\n" not in lines[1]


def test_unknown_kit_is_one_line_error(tmp_path):
    with pytest.raises(InputError, match="no such kit folder .*808"):
        load_kit(str(tmp_path / "nope"), ("kick",), 48000)
    f = tmp_path / "file.wav"
    f.write_bytes(b"")
    with pytest.raises(InputError, match="not a folder"):
        load_kit(str(f), ("kick",), 48000)


def test_extra_instruments_find_bundled_sounds_or_say_so():
    lines: list[str] = []
    kit = load_kit("acoustic", ("kick", "open_hihat", "ride", "cowbell"), 48000, lines.append)
    assert kit.sources[1] == "built-in acoustic/openhat"
    assert kit.sources[3] == "silence" and len(lines) == 1 and "cowbell" in lines[0]
