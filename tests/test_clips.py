"""Reading and writing clips: hand-made files for the edges, real corpora (tests/data, and
../shared/data when present) for the real thing."""

import csv
import io
import os

import mido
import numpy as np
import pytest

from rvae_visual.drum_map import default_drum_map
from rvae_visual.errors import ClipError
from rvae_visual.model.clips import (
    find_midi_files,
    grid16_moved,
    midi_bytes,
    patterns_to_midi,
    read_clip,
    roundtrip_error_ms,
)

DM = default_drum_map()


def smf(path, notes, tpq=480, tempo_bpm=120.0, ts=(4, 4), length_quarters=None, type_=0,
        extra_tempos=()):
    """Write a test MIDI file. notes: (quarter, channel 1-16, note, velocity)."""
    mid = mido.MidiFile(type=type_, ticks_per_beat=tpq)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    if ts:
        meta.append(mido.MetaMessage("time_signature", numerator=ts[0], denominator=ts[1], time=0))
    events = []
    for q, ch, n, v in notes:
        t = round(q * tpq)
        events.append((t, 1, mido.Message("note_on", channel=ch - 1, note=n, velocity=v)))
        events.append((t + tpq // 8, 0, mido.Message("note_off", channel=ch - 1, note=n, velocity=0)))
    for q, b in extra_tempos:
        events.append((round(q * tpq), 2, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(b))))
    end = round((length_quarters if length_quarters is not None else
                 4 * (int(max(q for q, *_ in notes) // 4) + 1)) * tpq)
    events.sort(key=lambda e: (e[0], e[1]))
    track = meta if type_ == 0 else mido.MidiTrack()
    now = 0
    for t, _, m in events:
        track.append(m.copy(time=t - now))
        now = t
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
    if type_ == 1:
        meta.append(mido.MetaMessage("end_of_track", time=0))
        mid.tracks.append(meta)
    mid.tracks.append(track)
    mid.save(str(path))
    return path


def test_grid_offsets_and_velocity(tmp_path):
    # 480 tpq: a tick of the 24-ppqn grid is 20 file ticks; 5 file ticks = +0.25 tick
    f = smf(tmp_path / "a.mid", [(0.0, 10, 36, 127), (1 + 5 / 480, 10, 38, 64),
                                 (2 - 9 / 480, 10, 42, 100)])
    clip = read_clip(f)
    p = clip.patterns[0]
    assert clip.n_bars == 1 and len(clip.patterns) == 1
    assert p.onsets[0, 0] == 1 and p.velocities[0, 0] == pytest.approx(1.0)
    assert p.onsets[1, 24] == 1 and p.offsets[1, 24] == pytest.approx(0.25)
    assert p.velocities[1, 24] == pytest.approx(64 / 127)
    assert p.onsets[2, 48] == 1 and p.offsets[2, 48] == pytest.approx(-0.45)
    assert clip.hits == {"kick": 1, "snare": 1, "hihat": 1}


def test_half_tick_rounds_up_so_offsets_stay_in_range(tmp_path):
    f = smf(tmp_path / "h.mid", [(0.5 / 24, 10, 36, 100)], tpq=48)
    p = read_clip(f, reading="nearest").patterns[0]
    assert p.onsets[0, 1] == 1 and p.offsets[0, 1] == pytest.approx(-0.5)


def test_note_on_downbeat_after_last_bar_wraps_to_tick_zero(tmp_path):
    # 2-bar clip; a hat played a hair early for the next loop's downbeat
    f = smf(tmp_path / "w.mid", [(0.0, 10, 36, 100), (8 - 0.2 / 24, 10, 42, 90)], length_quarters=8)
    clip = read_clip(f)
    assert clip.n_bars == 2
    p = clip.patterns[0]
    assert p.onsets[2, 0] == 1 and p.offsets[2, 0] == pytest.approx(-0.2, abs=1e-6)
    err, lost = roundtrip_error_ms(clip)
    assert lost == 0 and err < 0.5


def test_collision_keeps_loudest_and_is_counted(tmp_path):
    # 42 and 46 are both hi-hat: same tick -> one hit, the louder velocity
    f = smf(tmp_path / "c.mid", [(0, 10, 36, 100), (1, 10, 42, 40), (1, 10, 46, 110)])
    clip = read_clip(f)
    assert clip.collisions == 1
    assert clip.patterns[0].velocities[2, 24] == pytest.approx(110 / 127)
    assert clip.hits["hihat"] == 1


def test_unmapped_notes_are_counted(tmp_path):
    f = smf(tmp_path / "u.mid", [(0, 10, 36, 100), (1, 10, 49, 100), (2, 10, 45, 90)])
    clip = read_clip(f)
    assert clip.unmapped == 2 and clip.hits["kick"] == 1


def test_type1_multitrack_any_tpq_and_tempo_changes_do_not_move_the_grid(tmp_path):
    f = smf(tmp_path / "t1.mid", [(0, 10, 36, 100), (3.5, 10, 38, 100), (6.25, 10, 42, 100)],
            tpq=96, type_=1, extra_tempos=[(2.0, 90.0), (5.0, 150.0)])
    clip = read_clip(f)
    assert clip.n_bars == 2 and clip.bpm == pytest.approx(120.0)
    assert clip.patterns[0].onsets[1, 84] == 1  # 3.5 quarters = tick 84
    assert clip.patterns[1].onsets[2, 54] == 1  # 6.25 quarters = bar 1 tick 54


def test_no_channel_10_falls_back_to_all_channels_with_warning(tmp_path):
    f = smf(tmp_path / "ch1.mid", [(0, 1, 36, 100), (1, 1, 38, 100)])
    clip = read_clip(f)
    assert clip.hits["kick"] == 1 and clip.hits["snare"] == 1
    assert len(clip.warnings) == 1 and "channel 10" in clip.warnings[0] and str(f) in clip.warnings[0]


def test_channel_10_only_when_present(tmp_path):
    f = smf(tmp_path / "mix.mid", [(0, 10, 36, 100), (1, 1, 38, 100)])
    clip = read_clip(f)
    assert clip.hits["snare"] == 0 and not clip.warnings


def test_min_hits_skips_sparse_bars(tmp_path):
    f = smf(tmp_path / "m.mid", [(0, 10, 36, 100), (1, 10, 38, 100), (4, 10, 36, 100)],
            length_quarters=8)
    assert len(read_clip(f).patterns) == 2
    clip = read_clip(f, min_hits=2)
    assert len(clip.patterns) == 1 and clip.skipped_bars == 1 and clip.bar_indices == [0]
    with pytest.raises(ClipError, match="no bar has at least 3"):
        read_clip(f, min_hits=3)


def test_written_midi_loop_length_exact_channel_and_notes(tmp_path):
    f = smf(tmp_path / "a.mid", [(0, 10, 36, 127), (1.01, 10, 38, 64), (7.5, 10, 42, 1)],
            length_quarters=8)
    clip = read_clip(f)
    mid = patterns_to_midi(clip.patterns, 97.0)
    back = mido.MidiFile(file=io.BytesIO(midi_bytes(mid)))
    total = sum(m.time for m in back.tracks[0])
    assert total == 8 * back.ticks_per_beat  # end of track on the bar line
    ons = [m for m in back.tracks[0] if m.type == "note_on"]
    assert {m.channel for m in ons} == {9}
    assert [m.note for m in ons] == [36, 38, 42]
    assert [m.velocity for m in ons] == [127, 64, 1]
    tempo = [m for m in back.tracks[0] if m.type == "set_tempo"][0]
    assert mido.tempo2bpm(tempo.tempo) == pytest.approx(97.0, abs=1e-3)
    assert abs(back.length - 8 * 60 / 97.0) < 1e-3
    other = patterns_to_midi(clip.patterns, 97.0, channel=2)
    assert {m.channel for m in other.tracks[0] if m.type == "note_on"} == {1}


def test_negative_offset_on_first_downbeat_is_written_at_loop_end():
    on = np.zeros((3, 96), np.float32)
    on[0, 0] = 1
    off = np.zeros_like(on)
    off[0, 0] = -0.25
    from rvae_visual.pattern import Pattern

    mid = patterns_to_midi([Pattern(on, on, off)], 120.0)
    t = 0
    for m in mid.tracks[0]:
        t += m.time
        if m.type == "note_on":
            assert t == 4 * mid.ticks_per_beat - mid.ticks_per_beat // 24 // 4


def test_grid16_moved_counts_triplets(tmp_path):
    # triplet 8ths at 120 BPM sit 1/6 quarter (83 ms) from the nearest 16th
    f = smf(tmp_path / "t.mid", [(0, 10, 36, 100), (1 / 3, 10, 42, 100), (2 / 3, 10, 42, 100),
                                 (1.0, 10, 38, 100)])
    assert grid16_moved(read_clip(f)) == 2


# ---------------------------------------------------------------- bad input: one line each


def _one_line(e, path):
    msg = str(e.value)
    assert str(path) in msg and "\n" not in msg
    return msg


def test_not_midi(tmp_path):
    f = tmp_path / "notes.mid"
    f.write_text("this is a text file, not MIDI\n")
    with pytest.raises(ClipError) as e:
        read_clip(f)
    assert "not a Standard MIDI File" in _one_line(e, f)


def test_zero_length(tmp_path):
    f = tmp_path / "empty.mid"
    f.write_bytes(b"")
    with pytest.raises(ClipError) as e:
        read_clip(f)
    assert "empty file" in _one_line(e, f)


def test_truncated(tmp_path):
    good = smf(tmp_path / "g.mid", [(q / 2, 10, 42, 90) for q in range(16)])
    f = tmp_path / "trunc.mid"
    f.write_bytes(good.read_bytes()[:40])
    with pytest.raises(ClipError) as e:
        read_clip(f)
    assert "truncated" in _one_line(e, f)


def test_no_drum_notes(tmp_path):
    f = smf(tmp_path / "piano.mid", [(0, 10, 60, 100), (1, 10, 64, 100)])
    with pytest.raises(ClipError) as e:
        read_clip(f)
    assert "no drum notes the drum map knows" in _one_line(e, f)
    f2 = smf(tmp_path / "silent.mid", [], length_quarters=4) if False else None
    mid = mido.MidiFile()
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("end_of_track", time=0)]))
    f2 = tmp_path / "nothing.mid"
    mid.save(str(f2))
    with pytest.raises(ClipError) as e:
        read_clip(f2)
    assert "no notes at all" in _one_line(e, f2)


def test_not_four_four(tmp_path):
    f = smf(tmp_path / "waltz.mid", [(0, 10, 36, 100), (1, 10, 38, 100)], ts=(3, 4))
    with pytest.raises(ClipError) as e:
        read_clip(f)
    assert "time signature 3/4" in _one_line(e, f)


def test_too_big(tmp_path):
    f = tmp_path / "huge.mid"
    with open(f, "wb") as fh:
        fh.write(b"MThd")
        fh.truncate(5 * 1024 * 1024)
    with pytest.raises(ClipError) as e:
        read_clip(f)
    assert "too big" in _one_line(e, f)


def test_unreadable_paths(tmp_path):
    missing = tmp_path / "missing.mid"
    with pytest.raises(ClipError) as e:
        read_clip(missing)
    assert "no such file" in _one_line(e, missing)
    link = tmp_path / "dangling.mid"
    link.symlink_to(tmp_path / "gone.mid")
    with pytest.raises(ClipError) as e:
        read_clip(link)
    assert "no such file" in _one_line(e, link)
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    with pytest.raises(ClipError) as e:
        read_clip(fifo)  # must not block reading a FIFO
    assert "not a regular file" in _one_line(e, fifo)


# ---------------------------------------------------------------- every clip of each corpus


def _raw_notes(path):
    """Independent of our reader: mido's own absolute times, in quarters, channel 10 notes."""
    mid = mido.MidiFile(str(path))
    out = []
    for track in mid.tracks:
        t = 0
        for m in track:
            t += m.time
            if m.type == "note_on" and m.velocity > 0 and m.channel == 9:
                out.append((t / mid.ticks_per_beat, m.note, m.velocity))
    return out, mid


def test_roundtrip_every_corpus_clip(every_corpus):
    files = find_midi_files(every_corpus)
    manifests = {}
    for man in every_corpus.glob("*/manifest.csv"):
        with open(man) as fh:
            for row in csv.DictReader(fh):
                manifests[row["file"]] = row
    # each source folder's manifest lists exactly its clips, and we find every one of them
    assert len(manifests) >= 100
    assert sorted(f.name for f in files) == sorted(manifests)
    worst = 0.0
    checked_manifest = 0
    for f in files:
        clip = read_clip(f)
        orig, _ = _raw_notes(f)
        mapped = [(DM.instrument_of(n), q, v) for q, n, v in orig if DM.instrument_of(n) >= 0]
        assert clip.unmapped == len(orig) - len(mapped), f
        kept = sum(clip.hits.values())
        assert kept == len(mapped) - clip.collisions, f
        # write, serialise, read back with plain mido
        mid = patterns_to_midi(clip.patterns, clip.bpm, bar_indices=clip.bar_indices, n_bars=clip.n_bars)
        back = mido.MidiFile(file=io.BytesIO(midi_bytes(mid)))
        loop = clip.n_bars * 4 * back.ticks_per_beat
        assert sum(m.time for m in back.tracks[0]) == loop, f
        t = 0
        got = []
        for m in back.tracks[0]:
            t += m.time
            if m.type == "note_on" and m.velocity > 0:
                got.append((DM.instrument_of(m.note), t / back.ticks_per_beat, m.velocity))
        assert len(got) == kept, f
        ms_per_q = 60000.0 / clip.bpm
        loop_q = clip.n_bars * 4.0
        for inst in range(3):
            w = np.array([q for i, q, _ in mapped if i == inst]) % loop_q
            g = np.array([q for i, q, _ in got if i == inst]) % loop_q
            if len(g) == 0:
                continue
            d = np.abs(g[:, None] - w[None, :])
            d = np.minimum(d, loop_q - d)
            # every written note is within 0.5 ms of an original note of its instrument, and
            # carries the velocity of one such note
            nearest = d.min(axis=1) * ms_per_q
            worst = max(worst, float(nearest.max()))
            assert nearest.max() <= 0.5, (f, nearest.max())
        row = manifests.get(f.name)
        # lmms manifest counts include hits merged before export, so only the others compare
        if row and "/lmms/" not in str(f):
            assert clip.hits["kick"] + clip.hits["snare"] + clip.hits["hihat"] + clip.collisions == (
                int(row["n_kick"]) + int(row["n_snare"]) + int(row["n_hat"])), f
            checked_manifest += 1
    assert worst <= 0.5
    assert checked_manifest == sum("/lmms/" not in str(f) for f in files)
