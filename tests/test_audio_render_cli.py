"""`rvae-visual render`: WAV + MIDI of the decoded rhythm, exact lengths, same hits, same bytes."""

from __future__ import annotations

import subprocess
import sys

import mido
import numpy as np
import pytest
import soundfile as sf

from render_support import random_model_file
from rvae_visual.audio.kit import load_kit
from rvae_visual.audio.offline import render_bars
from rvae_visual.cli import main
from rvae_visual.model.clips import OUT_TPQ, read_midi_notes
from rvae_visual.model.store import load_model


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return random_model_file(tmp_path_factory.mktemp("model") / "m.npz", seed=3)


def midi_hits(path) -> list[tuple[float, int, int]]:
    content = read_midi_notes(mido.MidiFile(str(path)))
    return [(round(n.quarter * 24, 6), n.note, n.velocity) for n in content.notes]


def pattern_hits(patterns, dm, threshold=0.5, mutes=None) -> list[tuple[float, int, int]]:
    out = []
    loop_ticks = 96 * len(patterns)
    for b, p in enumerate(patterns):
        for h in p.hits(threshold):
            if mutes and mutes[h.instrument]:
                continue
            pos = round(((b * 96 + h.tick + h.offset) * OUT_TPQ / 24)) * 24 / OUT_TPQ
            out.append((round(pos % loop_ticks, 6), dm.out_notes[h.instrument],
                        int(min(127, max(1, round(h.velocity * 127))))))
    return sorted(out, key=lambda x: (x[0], x[1]))


def test_what_it_must_show(model_path, tmp_path, capsys):
    wav, mid = tmp_path / "out.wav", tmp_path / "out.mid"
    code = main(["render", "--model", model_path, "--at", "0,0", "--bars", "4", "--bpm", "120",
                 "-o", str(wav), "--midi", str(mid)])
    assert code == 0
    line = capsys.readouterr().out.strip()
    assert "4 bars at 120 BPM, 8.000 s" in line
    info = sf.info(str(wav))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (48000, 1, 384000, "PCM_16")
    model = load_model(model_path)
    pat = model.decode_pattern(0.0, 0.0)
    # the audio is the mixer's render of the decoded pattern (to 16-bit precision)
    audio, _ = sf.read(str(wav), dtype="float32")
    ref = render_bars([pat], 4, 120.0, load_kit("808", model.drum_map.instruments, 48000))
    assert np.abs(audio - ref).max() <= 1.0 / 32768 + 1e-7
    assert np.abs(audio).max() > 0.05
    # the MIDI file: exactly 4 bars, the same hits
    m = mido.MidiFile(str(mid))
    assert sum(msg.time for msg in m.tracks[0]) == 4 * 4 * OUT_TPQ
    assert midi_hits(mid) == pattern_hits([pat] * 4, model.drum_map)
    assert len(midi_hits(mid)) > 4


def test_same_arguments_same_bytes(model_path, tmp_path):
    outs = []
    for k in range(2):
        wav, mid = tmp_path / f"a{k}.wav", tmp_path / f"a{k}.mid"
        r = subprocess.run([sys.executable, "-m", "rvae_visual", "render", "--model", model_path,
                            "--path", "0,0;1.5,-1;-2,2", "--bpm", "97", "--kit", "acoustic",
                            "-o", str(wav), "--midi", str(mid)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        outs.append((wav.read_bytes(), mid.read_bytes()))
    assert outs[0] == outs[1]


def test_path_moves_the_head_one_point_per_bar(model_path, tmp_path):
    mid = tmp_path / "p.mid"
    points = [(0.0, 0.0), (2.0, -1.0)]
    assert main(["render", "--model", model_path, "--path", "0,0; 2,-1", "--bars", "3", "--threshold", "0.4",
                 "--mute", "snare", "-o", str(tmp_path / "p.wav"), "--midi", str(mid)]) == 0
    model = load_model(model_path)
    pats = [model.decode_pattern(*points[k % 2]) for k in range(3)]
    assert midi_hits(mid) == pattern_hits(pats, model.drum_map, 0.4, [False, True, False])
    assert sf.info(str(tmp_path / "p.wav")).frames == 3 * 96_000


@pytest.mark.parametrize("args,needle", [
    (["--kit", "no-such-kit"], "no-such-kit: no such kit folder"),
    (["--mute", "cowbell"], "--mute cowbell"),
    (["--at", "99,99"], "--at 99,99 is outside the map of model"),  # the rule of play --head
    (["--path", "0,0;9,-1"], "--path point 9,-1 is outside the map of model"),
])
def test_bad_input_is_one_line(model_path, tmp_path, capsys, args, needle):
    code = main(["render", "--model", model_path, "-o", str(tmp_path / "x.wav")] + args)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("rvae-visual: error: ") and needle in err and err.count("\n") == 1
    assert not (tmp_path / "x.wav").exists()


def test_bad_channel_is_a_usage_error(model_path, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["render", "--model", model_path, "-o", str(tmp_path / "x.wav"), "--channel", "17"])
    assert e.value.code == 2
    assert "argument --channel: MIDI channel 17 is outside 1-16" in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists()


def test_missing_output_folder_is_one_line(model_path, tmp_path, capsys):
    code = main(["render", "--model", model_path, "-o", str(tmp_path / "nope" / "x.wav")])
    err = capsys.readouterr().err
    assert code == 2 and "does not exist" in err and err.count("\n") == 1


def test_bad_point_is_a_usage_error(model_path, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["render", "--model", model_path, "--at", "1;2", "-o", str(tmp_path / "x.wav")])
    assert e.value.code == 2
    assert "latent point" in capsys.readouterr().err


def test_swing_moves_the_same_hits_in_the_wav_and_the_midi_file(model_path, tmp_path, capsys):
    """`render --swing 66.7`: the WAV is the mixer's render with that swing, and the MIDI file's
    notes sit where the WAV's hits do (the swing warp of their tick-times), not on the grid."""
    from rvae_visual.swing import warp

    wav, mid = tmp_path / "sw.wav", tmp_path / "sw.mid"
    assert main(["render", "--model", model_path, "--at", "0,0", "--bars", "2", "--swing", "66.7",
                 "-o", str(wav), "--midi", str(mid)]) == 0
    model = load_model(model_path)
    pat = model.decode_pattern(0.0, 0.0)
    kit = load_kit("808", model.drum_map.instruments, 48000)
    audio, _ = sf.read(str(wav), dtype="float32")
    swung = render_bars([pat], 2, 120.0, kit, swing=0.667)
    straight = render_bars([pat], 2, 120.0, kit)
    assert np.abs(audio - swung).max() <= 1.0 / 32768 + 1e-7
    assert np.abs(swung - straight).max() > 0.05  # the swing is heard
    want = sorted((round(round(warp(b * 96 + h.tick + h.offset, 0.667) * OUT_TPQ / 24) * 24 / OUT_TPQ % 192, 6),
                   model.drum_map.out_notes[h.instrument]) for b in range(2) for h in pat.hits(0.5))
    got = sorted((t, n) for t, n, _ in midi_hits(mid))
    assert got == want
    assert any(abs(a[0] - b[0]) > 1 for a, b in zip(got, sorted(pattern_hits([pat] * 2, model.drum_map))))
    assert "swing" not in capsys.readouterr().err


def test_swing_outside_50_75_is_one_line(model_path, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["render", "--model", model_path, "--swing", "80", "-o", str(tmp_path / "x.wav")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "swing 80 % is outside 50-75" in err
