"""Capture of the set (`play --record DIR --record-audio`, the `record` control): the MIDI file
holds exactly the hits the audio played, at their samples through the file's own tempo map,
and ends on a bar line; the WAV is the output mix sample for sample; a full disk or an
unwritable folder is one line and the music goes on.

A kit of distinct clicks (boxes of 4, 8 and 12 samples for kick, snare, hi-hat) makes every
hit's sample and instrument readable from the audio itself: each rise of the signal is an onset,
and the instrument is the box length (where the matching fall is)."""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from rvae_visual.audio.kit import load_kit
from rvae_visual.audio.mixer import Mixer
from rvae_visual.audio.records import AUDIO_RING, Rings
from rvae_visual.audio.transport import Transport
from rvae_visual.drum_map import default_drum_map
from rvae_visual.pattern import METER_4_4, METER_12_8, Pattern
from rvae_visual.session import smf as smf_mod
from rvae_visual.session.filetime import PPQ, FileClock, us_per_quarter
from rvae_visual.session.recorder import Recorder
from rvae_visual.session.smf import GrowingSmf, note_event, tempo_event, vlq

SR = 48000
LENGTHS = (4, 8, 12)  # click length per instrument (kick, snare, hi-hat)
DM = default_drum_map()


# ---------------------------------------------------------------- helpers

def click_kit(folder: Path) -> Path:
    """A kit folder of three boxes, 0.5 high, LENGTHS samples long, 48 kHz float."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in zip(DM.instruments, LENGTHS):
        sf.write(str(folder / f"{name}.wav"), np.full(n, 0.5, np.float32), SR, subtype="FLOAT")
    return folder


def audio_hits(x: np.ndarray) -> list[tuple[int, int]]:
    """(sample, instrument) of every click in `x`, in time order (instrument order at one
    sample); instrument -1 for a rise no box length explains."""
    x = np.asarray(x, np.float64).reshape(len(x), -1)[:, 0]
    d = np.diff(np.concatenate([[0.0], x, [0.0]]))
    ups = np.flatnonzero(d > 1e-9)
    downs = set(np.flatnonzero(d < -1e-9).tolist())
    out = []
    for u in ups:
        found = [i for i, n in enumerate(LENGTHS) if u + n in downs]
        out += [(int(u), i) for i in found] or [(int(u), -1)]
    return out


def midi_hits(path: Path) -> tuple[list[tuple[float, int, int]], mido.MidiFile]:
    """(sample at the file's tempo, instrument, velocity) of every note-on, in file order."""
    mid = mido.MidiFile(str(path))
    assert mid.type == 0 and len(mid.tracks) == 1
    tempo, seconds, out = 500000, 0.0, []
    for msg in mid.tracks[0]:
        seconds += msg.time * tempo / (mid.ticks_per_beat * 1e6)
        if msg.type == "set_tempo":
            tempo = msg.tempo
        elif msg.type == "note_on" and msg.velocity > 0:
            assert msg.channel == DM.channel - 1
            out.append((seconds * SR, DM.out_notes.index(msg.note), msg.velocity))
    return out, mid


def end_tick(mid: mido.MidiFile) -> int:
    """Absolute tick of the end-of-track."""
    total = sum(m.time for m in mid.tracks[0])
    assert mid.tracks[0][-1].type == "end_of_track"
    return total


def assert_same_hits(midi: list[tuple[float, int, int]], audio: list[tuple[int, int]], offset: int = 0) -> None:
    """The MIDI file's notes are the audio's clicks: same count, instruments in the same order,
    each within one sample (audio index + `offset` = file sample)."""
    assert all(i >= 0 for _, i in audio), [h for h in audio if h[1] < 0][:5]
    m = sorted((round(s), i) for s, i, _ in midi)
    a = sorted((s + offset, i) for s, i in audio)
    assert len(m) == len(a), (len(m), len(a))
    assert [i for _, i in m] == [i for _, i in a]
    err = np.array([s for s, _ in m]) - np.array([s for s, _ in a])
    worst = max(abs(s - (sa + offset)) for (s, _, _), (sa, _) in zip(sorted(midi), sorted(audio)))
    assert np.abs(err).max() <= 1 and worst <= 1.0, worst


def click_pattern() -> Pattern:
    """Kick on the beats, snare on 2 and 4 a little late, hats on the 8ths early and late, one
    hat with the kick on the downbeat; velocities vary."""
    on = np.zeros((3, 96), np.float32)
    vel = np.zeros((3, 96), np.float32)
    off = np.zeros((3, 96), np.float32)
    for t in (0, 24, 48, 72):
        on[0, t], vel[0, t] = 1.0, 0.9
    for t in (24, 72):
        on[1, t], vel[1, t], off[1, t] = 1.0, 0.7, 0.3
    for k, t in enumerate(range(0, 96, 12)):
        on[2, t], vel[2, t], off[2, t] = 1.0, 0.4 + 0.05 * k, (0.0 if t == 0 else (-0.4 if k % 2 else 0.25))
    return Pattern(on, vel, off)


class OfflineEngine:
    """The real mixer and transport, rendered block by block by the test (the recorder's
    source): `rings` is replaced by `restart()` as after the audio process was restarted."""

    def __init__(self, kit_dir: Path, bpm: float = 120.0, block: int = 128) -> None:
        self.kit = load_kit(str(kit_dir), DM.instruments, SR)
        self.sample_rate = SR
        self.block = block
        self.played: list[np.ndarray] = []  # what each mixer output, in order
        self.t0 = time.monotonic()
        self.frames = 0  # rendered by all mixers: the stream's time, heard at t0 + frames / SR
        self._new(bpm)

    def now(self) -> float:
        """The stream's clock (monotonic seconds as the block records have them)."""
        return self.t0 + self.frames / SR

    def _new(self, bpm: float) -> None:
        self.transport = Transport(SR, bpm)
        self.transport.request_pattern(click_pattern())
        self.transport.request_playing(True)
        self.mixer = Mixer(self.kit, self.transport, rings=Rings())
        self.rings: Rings | None = self.mixer.rings

    def render(self, seconds: float, recorder: Recorder | None = None, every: int = 8) -> None:
        out = np.zeros((self.block, 2), np.float32)
        for k in range(int(seconds * SR / self.block)):
            self.mixer.process(out, self.block, self.now())
            self.frames += self.block
            self.played.append(out[:, 0].copy())
            if recorder is not None and k % every == 0:
                recorder.poll()

    def restart(self, bpm: float, tick: float) -> None:
        """A new mixer and rings, playing from `tick` (the watchdog's heal)."""
        self._new(bpm)
        self.transport.request_locate(tick)


def recorder(engine: OfflineEngine, folder: Path, audio: bool = True, meter=None) -> tuple[Recorder, list[str]]:
    lines: list[str] = []
    rec = Recorder(engine, folder, lambda: (DM, meter or METER_4_4), audio=audio, error=lines.append,
                   note=lambda line: None, poll_s=0, clock=engine.now)
    return rec, lines



# ---------------------------------------------------------------- pure parts

def test_vlq_is_the_smf_variable_length_quantity():
    assert vlq(0) == b"\x00" and vlq(0x7F) == b"\x7f" and vlq(0x80) == b"\x81\x00"
    assert vlq(0x0FFFFFFF) == b"\xff\xff\xff\x7f"
    with pytest.raises(ValueError):
        vlq(-1)


def test_file_clock_places_notes_within_half_a_tick_of_their_sample_across_tempo_changes():
    rng = np.random.default_rng(1)
    for bpm_a, bpm_b in ((120.0, 132.0), (61.0, 299.0), (97.3, 40.0)):
        tps_a, tps_b = bpm_a * 24 / (60 * SR), bpm_b * 24 / (60 * SR)
        fc = FileClock(SR, us_per_quarter(tps_a, SR, 24))
        change = 3_000_000.7  # samples (over a minute in)
        hits = np.sort(rng.uniform(0, 6_000_000, 400))
        placed, tempo_at = [], None
        for h in hits:
            if tempo_at is None and h >= change:
                tempo_at = (fc.change_tempo(change, us_per_quarter(tps_b, SR, 24)), fc.us)
            placed.append(fc.tick(h))
        # the file's time of each tick, from its integer tempi as a reader computes it
        us_a = us_per_quarter(tps_a, SR, 24)
        k, us_b = tempo_at
        secs = [t * us_a / (PPQ * 1e6) if t < k else k * us_a / (PPQ * 1e6) + (t - k) * us_b / (PPQ * 1e6)
                for t in placed]
        err = np.abs(np.array(secs) * SR - hits)
        half_tick = 0.5 * max(us_a, us_b) * 1e-6 * SR / PPQ
        assert err.max() <= half_tick + 1e-6, (bpm_a, bpm_b, err.max())
        if min(bpm_a, bpm_b) >= 44:  # within one sample from 44 BPM up
            assert err.max() <= 1.0


def test_ppq_keeps_the_96_tick_grid_whole_in_both_meters():
    assert PPQ <= 32767 and PPQ % 24 == 0 and PPQ % 16 == 0


def _parse(data: bytes) -> mido.MidiFile:
    return mido.MidiFile(file=io.BytesIO(data))


def test_growing_smf_is_a_valid_file_after_every_flush(tmp_path):
    path = tmp_path / "g.mid"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL)
    g = GrowingSmf(fd, PPQ, [tempo_event(500000)])
    assert _parse(path.read_bytes()).tracks[0][-1].type == "end_of_track"
    t = 0
    for k in range(1, 6):
        for _ in range(k):
            t += 1000
            g.add(t, note_event(True, 9, 36, 100))
            g.add(t + 10, note_event(False, 9, 36, 0))
            t += 10
        g.flush(end=t + 5000)
        mid = _parse(path.read_bytes())
        notes = [m for m in mid.tracks[0] if m.type == "note_on"]
        assert len(notes) == k * (k + 1) // 2
        assert end_tick(mid) == t + 5000  # the file is as long as what was recorded so far
    g.close(end=t + 7000)
    assert end_tick(_parse(path.read_bytes())) == t + 7000


def test_a_failed_flush_leaves_the_file_as_the_last_flush_did(tmp_path, monkeypatch):
    path = tmp_path / "g.mid"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL)
    g = GrowingSmf(fd, PPQ, [tempo_event(500000)])
    g.add(100, note_event(True, 9, 36, 100))
    g.flush(end=2000)
    before = path.read_bytes()
    real = os.pwrite
    calls = []

    def full(fd_, data, offset):  # the disk fills after the first few bytes of the append
        calls.append(offset)
        if len(calls) == 1:
            real(fd_, bytes(data)[:3], offset)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd_, data, offset)

    monkeypatch.setattr(smf_mod.os, "pwrite", full)
    for k in range(50):
        g.add(3000 + k * 100, note_event(True, 9, 38, 90))
    with pytest.raises(OSError):
        g.flush(end=9000)
    assert path.read_bytes() == before
    assert len([m for m in _parse(before).tracks[0] if m.type == "note_on"]) == 1
    monkeypatch.setattr(smf_mod.os, "pwrite", real)
    g.close()


def test_audio_ring_copy_gives_zeros_for_what_is_gone_and_counts_it():
    r = Rings()
    from rvae_visual.audio.records import AUDIO_SLACK, C_AUDIO

    n = AUDIO_RING + 5000
    r.aud[:] = np.arange(AUDIO_RING, dtype=np.float32) % 1000
    r.counts[C_AUDIO] = n  # frames 0..n written; the oldest kept is n - AUDIO_RING (+ slack)
    out = np.empty(10000, np.float32)
    lost = r.copy_audio(0, out)
    first = n - AUDIO_RING + AUDIO_SLACK
    assert lost == min(10000, first)
    assert not out[:lost].any()
    out2 = np.empty(100, np.float32)
    assert r.copy_audio(n - 100, out2) == 0
    assert np.array_equal(out2, r.aud[(np.arange(n - 100, n)) % AUDIO_RING])
    assert r.copy_audio(n - 50, out2) == 0 and not out2[50:].any()  # not rendered yet: zeros, not lost


# ---------------------------------------------------------------- the recorder on the real mixer

def test_recorded_notes_are_the_mixers_hits_through_a_tempo_change_and_a_restart(tmp_path):
    eng = OfflineEngine(click_kit(tmp_path / "kit"))
    rec, lines = recorder(eng, tmp_path / "takes")
    rec.start(from_launch=True)
    eng.render(2.5, rec)
    eng.transport.request_bpm(132.0)
    eng.render(2.0, rec)
    while not eng.played[-1].any():  # the old rings end with a click not yet copied out
        eng.render(eng.block / SR)
    heal_tick = eng.transport.tick_time() + 7.0  # a few ticks on, as the watchdog's locate
    eng.restart(132.0, heal_tick)
    eng.render(2.3, rec)
    rec.close()
    assert lines == []
    mids = sorted((tmp_path / "takes").glob("*.mid"))
    wavs = sorted((tmp_path / "takes").glob("*.wav"))
    assert len(mids) == 1 and len(wavs) == 1 and mids[0].stem == wavs[0].stem
    notes, mid = midi_hits(mids[0])
    wav, rate = sf.read(str(wavs[0]), dtype="float32")
    assert rate == SR
    played = np.concatenate(eng.played)
    # the WAV is what the mixer played, sample for sample; the heal joins on by heard time
    assert np.array_equal(wav[:len(played)], played) and not wav[len(played):].any()
    assert_same_hits(notes, audio_hits(wav))
    assert len(notes) > 30
    tempi = [m.tempo for m in mid.tracks[0] if m.type == "set_tempo"]
    assert tempi[:2] == [500000, 454545]


def test_the_file_ends_on_the_bar_line_and_the_wav_as_long(tmp_path):
    eng = OfflineEngine(click_kit(tmp_path / "kit"))
    rec, lines = recorder(eng, tmp_path / "takes")
    rec.start(from_launch=True)
    eng.render(2.0, rec)
    eng.transport.request_bpm(132.0)
    eng.render(1.3, rec)
    last_tick = eng.transport.tick_time()
    rec.close()  # as after Esc / SIGTERM: the engine has stopped
    (mid_path,) = (tmp_path / "takes").glob("*.mid")
    notes, mid = midi_hits(mid_path)
    wav, _ = sf.read(str(mid_path.with_suffix(".wav")), dtype="float32")
    bar = 4 * PPQ
    end = end_tick(mid)
    assert end % bar == 0
    # the end of the bar of the last position played: 2 s at 120 = bar 1, then 1.3 s at 132
    assert end // bar == int(last_tick // 96) + 1
    seconds = 4 * 0.5 + (end - bar) * 454545 / (PPQ * 1e6)
    assert abs(len(wav) - seconds * SR) <= 1
    played = np.concatenate(eng.played)
    assert np.array_equal(wav[:len(played)], played) and not wav[len(played):].any()
    assert_same_hits(notes, audio_hits(wav))


def test_the_control_stops_at_the_bar_end_and_starts_a_new_file(tmp_path):
    eng = OfflineEngine(click_kit(tmp_path / "kit"))
    rec, lines = recorder(eng, tmp_path / "takes")
    rec.start(from_launch=True)
    eng.render(2.5, rec)  # into bar 2 (at 120 BPM a bar is 2 s)
    rec.toggle(0.0)
    assert not rec.recording
    eng.render(2.0, rec)  # past the bar line at 4 s: the first take is done
    rec.poll()
    assert len(rec.takes) == 0 and len(rec.finished) == 1
    time.sleep(1.1)  # a new second: a new name
    rec.toggle(1.0)
    assert rec.recording
    t_on = len(eng.played) * eng.block
    eng.render(3.0, rec)
    rec.close()
    first, second = sorted((tmp_path / "takes").glob("*.mid"))
    n1, m1 = midi_hits(first)
    assert end_tick(m1) == 2 * 4 * PPQ  # closed on the bar line reached
    played = np.concatenate(eng.played)
    hits = audio_hits(played)
    assert_same_hits(n1, [h for h in hits if h[0] < 4 * SR])
    n2, m2 = midi_hits(second)
    # the second starts at the bar line before the press and holds every hit from the press on
    bar_start = (t_on // (2 * SR)) * 2 * SR
    later = [h for h in hits if h[0] >= t_on]
    got = sorted((round(s) + bar_start, i) for s, i, _ in n2)
    assert got[-len(later):] == later and len(got) - len(later) <= 2
    assert end_tick(m2) % (4 * PPQ) == 0
    # each WAV holds the clicks of its MIDI file, no more (silent before the press)
    for path, notes in ((first, n1), (second, n2)):
        assert_same_hits(notes, audio_hits(sf.read(str(path.with_suffix(".wav")), dtype="float32")[0]))


def test_twelve_eight_gets_its_time_signature_and_bar(tmp_path):
    eng = OfflineEngine(click_kit(tmp_path / "kit"))
    rec, lines = recorder(eng, tmp_path / "takes", audio=False, meter=METER_12_8)
    rec.start(from_launch=True)
    eng.render(2.7, rec)
    rec.close()
    (path,) = (tmp_path / "takes").glob("*.mid")
    notes, mid = midi_hits(path)
    ts = [m for m in mid.tracks[0] if m.type == "time_signature"][0]
    assert (ts.numerator, ts.denominator, ts.clocks_per_click) == (12, 8, 36)
    # a 96-tick bar is 6 quarter notes of 16 ticks: 120 beats a minute = 180 quarters
    assert [m.tempo for m in mid.tracks[0] if m.type == "set_tempo"] == [333333]
    assert end_tick(mid) == 2 * 6 * PPQ
    assert_same_hits(notes, audio_hits(np.concatenate(eng.played)))


def test_never_overwrites_and_an_unwritable_folder_is_one_line(tmp_path):
    eng = OfflineEngine(click_kit(tmp_path / "kit"))
    folder = tmp_path / "takes"
    folder.mkdir()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (folder / f"rvae-{stamp}.mid").write_bytes(b"keep")
    rec, lines = recorder(eng, folder)
    rec.start(from_launch=True)
    eng.render(0.5, rec)
    rec.close()
    assert (folder / f"rvae-{stamp}.mid").read_bytes() == b"keep"
    assert len(list(folder.glob("*.mid"))) == 2
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    rec, lines = recorder(eng, blocked)
    rec.start(from_launch=True)
    eng.render(0.3, rec)
    rec.close()
    assert len(lines) == 1 and str(blocked) in lines[0] and "not recording" in lines[0]
    assert not rec.recording


# ---------------------------------------------------------------- end to end: play on JACK and Xvfb

E2E_RERUN = pytest.mark.flaky(reruns=3, reruns_delay=20, only_rerun=["AssertionError"])
JACK_NAME = f"rvae-rec-{os.getpid()}"  # others may play on the same JACK server


def _play(tmp_path: Path, jack_server, xvfb_display, record_dir: Path, *extra: str) -> subprocess.Popen:
    from render_support import x_env

    kit = click_kit(tmp_path / "kit")
    cmd = [sys.executable, "-m", "rvae_visual", "play", "--audio-device", "system", "--kit", str(kit),
           "--windowed", "--size", "640x360", "--no-landmarks", "--record", str(record_dir), "--record-audio",
           *extra]
    env = x_env(xvfb_display, **jack_server, RVAE_JACK_CLIENT_NAME=JACK_NAME)
    return subprocess.Popen(cmd, env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _start_index(take, wav: np.ndarray) -> int:
    """The take index of WAV frame 0: the alignment of the take's first click with the WAV's
    clicks under which the most JACK periods are equal to the WAV."""
    from jackcapture import compare_with_reference

    data = take.data[:, 0]
    (c, ci), *_ = audio_hits(data)
    best, best_equal = None, -1
    for w, wi in audio_hits(wav):
        n = min(2000, len(data) - c, len(wav) - w)
        if wi != ci or not np.array_equal(data[c:c + n], wav[w:w + n]):
            continue
        cmp = compare_with_reference(take, wav, c - w)
        if cmp.equal > best_equal:
            best, best_equal = c - w, cmp.equal
    assert best is not None, "the JACK capture matches the recorded WAV nowhere"
    return best


@E2E_RERUN
def test_play_records_exactly_the_hits_the_audio_played(jack_server, xvfb_display, tmp_path):
    from jackcapture import RecorderProcess, compare_with_reference

    takes = tmp_path / "takes"
    proc = _play(tmp_path, jack_server, xvfb_display, takes, "--control", "2:head_x=0.85", "--control",
                 "2:head_y=0.2", "--control", "3.5:tempo=132", "--duration", "60")
    try:
        cap = RecorderProcess(f"^{JACK_NAME}:", seconds=6.0, channels=1, name=f"{JACK_NAME}-cap",
                              env=jack_server, timeout=30)
        take = cap.result()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    except BaseException:
        from render_support import kill_and_report

        kill_and_report(proc)
        raise
    assert proc.returncode == 0, err
    (mid_path,) = takes.glob("*.mid")
    wav_path = mid_path.with_suffix(".wav")
    notes, mid = midi_hits(mid_path)
    wav, rate = sf.read(str(wav_path), dtype="float32")
    assert rate == SR
    # the file's notes are the WAV's clicks: count, instruments in order, samples within one
    clicks = audio_hits(wav)
    assert_same_hits(notes, clicks)
    assert len(notes) >= 10
    # the tempo change, and the end on a bar line, the WAV as long as the MIDI file
    assert [m.tempo for m in mid.tracks[0] if m.type == "set_tempo"] == [500000, 454545]
    end = end_tick(mid)
    assert end % (4 * PPQ) == 0
    tempo_at = sum(m.time for m in mid.tracks[0][:[m.type for m in mid.tracks[0]].index("set_tempo", 3) + 1])
    seconds = tempo_at * 500000 / (PPQ * 1e6) + (end - tempo_at) * 454545 / (PPQ * 1e6)
    assert abs(len(wav) - seconds * SR) <= 1
    assert max(s for s, _, _ in notes) < len(wav)
    # and the WAV is what JACK got from the player, period for period (what it played)
    start = _start_index(take, wav)
    cmp = compare_with_reference(take, wav, start)
    assert cmp.compared >= 0.9 * (len(take.data) // take.blocksize)
    assert cmp.equal >= cmp.compared - 4 and cmp.nonzero_verified >= 20, cmp
    assert start + len(wav) >= len(take.data)  # the take ended before the recording did
    print(f"\nrecorded {len(notes)} notes, {len(wav) / SR:.2f} s; JACK periods equal to the WAV "
          f"{cmp.equal}/{cmp.compared}; {len(cmp.drops)} drops")


def _mount_tmpfs(where: Path, options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True)


def _recording_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "record" in line.lower()]


@E2E_RERUN
@pytest.mark.parametrize("case", ["full", "read-only"])
def test_a_full_disk_or_read_only_folder_is_one_line_and_the_music_goes_on(case, jack_server, xvfb_display,
                                                                            tmp_path):
    from jackcapture import RecorderProcess

    folder = tmp_path / "takes"
    _mount_tmpfs(folder, "size=256k" if case == "full" else "ro,size=64k")
    try:
        proc = _play(tmp_path, jack_server, xvfb_display, folder, "--duration", "7")
        try:
            time.sleep(4.0)  # 192 kB of WAV a second: the 256 kB disk is full by now
            cap = RecorderProcess(f"^{JACK_NAME}:", seconds=1.5, channels=1, name=f"{JACK_NAME}-cap",
                                  env=jack_server, timeout=30)
            take = cap.result()
            out, err = proc.communicate(timeout=30)
        except BaseException:
            from render_support import kill_and_report

            kill_and_report(proc)
            raise
        assert proc.returncode == 0, err
        lines = _recording_lines(err)
        assert len(lines) == 1, err
        assert np.abs(take.data).max() > 0.0  # the music went on after it
        if case == "full":
            (mid_path,) = folder.glob("*.mid")
            assert "no space left on device" in lines[0] and str(folder) in lines[0]
            assert "the music goes on" in lines[0]
            # what was flushed before the disk filled is a valid file: MIDI and WAV agree on it
            notes, mid = midi_hits(mid_path)
            assert mid.tracks[0][-1].type == "end_of_track" and len(notes) >= 1
            wav, _ = sf.read(str(mid_path.with_suffix(".wav")), dtype="float32")
            clicks = audio_hits(wav)
            assert len(wav) > SR // 2 and clicks
            n = min(len(notes), len(clicks))
            assert_same_hits(notes[:n], clicks[:n])
        else:
            assert "read-only file system" in lines[0] and f"{folder}/rvae-" in lines[0] and ".mid" in lines[0]
            assert not list(folder.iterdir())
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@E2E_RERUN
def test_recording_goes_on_across_a_restart_of_the_audio_process(jack_server, tmp_path):
    from rvae_visual.audio.engine import AudioEngine

    e = AudioEngine(kit=str(click_kit(tmp_path / "kit")), bpm=120.0, device="system", mode="process",
                    jack_client_name=f"{JACK_NAME}-heal")
    lines: list[str] = []
    rec = None
    try:
        e.publish(click_pattern())
        e.start()
        assert not e.silent, e.status
        rec = Recorder(e, tmp_path / "takes", lambda: (DM, METER_4_4), audio=True, error=lines.append)
        rec.start(from_launch=True)
        time.sleep(1.5)
        assert e.pid is not None
        os.kill(e.pid, signal.SIGKILL)  # the watchdog notices, goes on silent, then starts a new one
        deadline = time.monotonic() + 10
        while e.lost_count == 0 or e.silent:
            assert time.monotonic() < deadline, e.status
            time.sleep(0.05)
        time.sleep(1.5)
    finally:
        e.close()
        if rec is not None:
            rec.close()
    assert lines == []
    assert rec._epoch >= 2  # the silent clock's rings, then the new process's
    (mid_path,) = (tmp_path / "takes").glob("*.mid")
    notes, mid = midi_hits(mid_path)
    wav, _ = sf.read(str(mid_path.with_suffix(".wav")), dtype="float32")
    assert_same_hits(notes, audio_hits(wav))
    assert max(s for s, _, _ in notes) > 4.0 * SR  # hits after the new process took over
    assert end_tick(mid) % (4 * PPQ) == 0


def test_a_recorder_that_fell_behind_the_rings_says_so_in_one_line(tmp_path):
    eng = OfflineEngine(click_kit(tmp_path / "kit"))
    rec, lines = recorder(eng, tmp_path / "takes")
    rec.start(from_launch=True)
    eng.render(0.5, rec)
    eng.render(3.5)  # no poll for longer than the block ring (64 blocks) and the audio ring (2.7 s)
    eng.render(1.0, rec)
    rec.close()
    assert len(lines) == 1, lines
    assert "audio frames dropped" in lines[0] and "audio blocks read late" in lines[0]
    dropped = int(lines[0].split(": ", 1)[1].split()[0])
    assert 0.7 * SR < dropped <= 3.5 * SR
    (mid_path,) = (tmp_path / "takes").glob("*.mid")
    notes, _ = midi_hits(mid_path)
    wav, _ = sf.read(str(mid_path.with_suffix(".wav")), dtype="float32")
    played = np.concatenate(eng.played)
    # no hit is lost (the hit ring holds 4096): the MIDI file has every one the mixer played
    assert_same_hits(notes, audio_hits(played))
    # the WAV lost what the audio ring no longer held, as silence, and nothing else
    assert np.array_equal(wav[:SR // 2], played[:SR // 2])
    kept = np.flatnonzero(wav[:len(played)] != played)
    assert len(kept) and kept.max() < 4.0 * SR and not wav[kept].any()
    assert np.array_equal(wav[int(4.0 * SR):len(played)], played[int(4.0 * SR):])


def test_the_record_control_on_the_conductor_and_an_early_error_in_the_hud(tmp_path, capsys):
    from types import SimpleNamespace

    from rvae_visual.session.messages import Messages
    from rvae_visual.session.recorder import attach

    eng = OfflineEngine(click_kit(tmp_path / "kit"))
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x")
    rec = Recorder(eng, blocked, lambda: (DM, METER_4_4), poll_s=0, clock=eng.now)
    rec.start(from_launch=True)
    eng.render(0.2, rec)  # the error comes before the window (and the HUD) exist
    assert capsys.readouterr().err == ""
    model = SimpleNamespace(drum_map=DM, meter=METER_4_4)
    conductor = SimpleNamespace(handlers={}, values={}, messages=Messages(),
                                library=SimpleNamespace(current=SimpleNamespace(model=model)))
    attach(conductor, rec)
    assert conductor.messages.is_error and str(blocked) in conductor.messages.text
    assert capsys.readouterr().err.count("\n") == 1  # and the one line on stderr
    assert conductor.values["record"]() == 0.0
    rec.folder = tmp_path / "takes"
    conductor.handlers["record"](1.0)
    assert conductor.values["record"]() == 1.0
    eng.render(2.5, rec)
    conductor.handlers["record"](0.0)
    eng.render(2.0, rec)
    rec.close()
    (path,) = (tmp_path / "takes").glob("*.mid")
    assert end_tick(midi_hits(path)[1]) % (4 * PPQ) == 0
    none = SimpleNamespace(handlers={}, values={}, messages=Messages())
    attach(none, None)
    none.handlers["record"](1.0)
    assert "--record" in none.messages.text and none.values["record"]() == 0.0


def test_a_take_asked_for_while_stopped_begins_with_the_music_on_its_bar_line(tmp_path):
    eng = OfflineEngine(click_kit(tmp_path / "kit"))
    eng.transport.request_playing(False)  # as when following a MIDI clock: waiting for Start
    rec, lines = recorder(eng, tmp_path / "takes")
    rec.start(from_launch=True)
    eng.render(1.3, rec)
    start = len(eng.played) * eng.block
    eng.transport.request_locate(96.0 * 3)  # Start from bar 4
    eng.render(2.5, rec)
    rec.close()
    (path,) = (tmp_path / "takes").glob("*.mid")
    notes, mid = midi_hits(path)
    wav, _ = sf.read(str(path.with_suffix(".wav")), dtype="float32")
    played = np.concatenate(eng.played)
    assert np.array_equal(wav[:len(played) - start], played[start:])  # file time 0 = the Start
    assert round(notes[0][0]) == 0 and notes[0][1] == 0  # the downbeat first
    assert_same_hits(notes, audio_hits(played[start:]))
    assert end_tick(mid) == 2 * 4 * PPQ


@E2E_RERUN
def test_a_crash_leaves_valid_files_up_to_the_last_flush(jack_server, xvfb_display, tmp_path):
    takes = tmp_path / "takes"
    proc = _play(tmp_path, jack_server, xvfb_display, takes, "--duration", "60")
    try:
        deadline = time.monotonic() + 30
        while not list(takes.glob("*.wav")) or sf.info(str(next(takes.glob("*.wav")))).frames < 3 * SR:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        proc.kill()  # no chance to close anything
        proc.communicate(timeout=30)
    except BaseException:
        from render_support import kill_and_report

        kill_and_report(proc)
        raise
    (mid_path,) = takes.glob("*.mid")
    notes, mid = midi_hits(mid_path)  # whole: it parses, and ends with its end-of-track
    wav, _ = sf.read(str(mid_path.with_suffix(".wav")), dtype="float32")
    assert len(wav) >= 3 * SR and len(notes) >= 5
    # both hold the same hits as far as both reach (each is at most a flush behind the other)
    seconds = mido.tick2second(end_tick(mid), PPQ, 500000)
    reach = min(len(wav), seconds * SR) - 12
    assert reach > 2.5 * SR
    assert_same_hits([n for n in notes if n[0] < reach], [c for c in audio_hits(wav) if c[0] < reach])
