"""Input polling and per-frame coalescing with in-memory ports; port name resolution; options."""

from __future__ import annotations

import argparse
import queue
import time
from collections import deque

import pytest
from transport_support import CLOCK_CONTINUE, CLOCK_START, RecordingTransport

from rvae_visual.midi import clock_out
from rvae_visual.midi.clock_in import ClockFollower
from rvae_visual.midi.learn import Learn
from rvae_visual.midi.mapping import Controller, load_preset
from rvae_visual.midi.options import add_midi_arguments, per_instrument
from rvae_visual.midi.poller import Coalescer, InputPoller
from rvae_visual.midi.ports import (Backend, MidiPortError, PortNotFound, PortSpecError,
                                    backend_from_env, open_input, resolve_port)
from rvae_visual.midi.clock_follow import PLL_MAX, RESYNC_AFTER, MidiClockSource
from rvae_visual.midi.system import MidiConfig, MidiSystem


class MemPort:
    """An input port holding messages in memory (what rtmidi's C queue would hold)."""

    def __init__(self, name: str = "mem") -> None:
        self.name, self.virtual = name, False
        self.q: deque = deque()
        self.closed = False

    def push(self, msg, t: float = 0.0) -> None:
        self.q.append((list(msg), t))

    def get_message(self):
        return self.q.popleft() if self.q else None

    def close(self) -> None:
        self.closed = True


def drain(q: queue.SimpleQueue) -> list:
    out = []
    while not q.empty():
        out.append(q.get_nowait())
    return out


def test_coalescer_keeps_last_values_and_ordered_presses_and_waits_for_the_player():
    q: queue.SimpleQueue = queue.SimpleQueue()
    c = Coalescer()
    c.add("head_x", 0.1)
    c.add("mute_kick", 1.0)
    c.add("head_x", 0.2)
    c.add("mute_kick", 0.0)
    assert c.flush_into(q) == 3
    assert drain(q) == [("mute_kick", 1.0), ("mute_kick", 0.0), ("head_x", 0.2)]
    c.add("head_x", 0.3)
    q.put(("other", 1.0))  # the player has not drained yet: keep coalescing
    assert c.flush_into(q) == 0
    c.add("head_x", 0.4)
    drain(q)
    assert c.flush_into(q) == 1 and drain(q) == [("head_x", 0.4)]


def test_a_flood_of_ten_thousand_cc_becomes_one_action_per_control_per_frame():
    q: queue.SimpleQueue = queue.SimpleQueue()
    port = MemPort()
    poller = InputPoller(q, Controller(load_preset("generic")))
    poller.set_port("control", port)
    for k in range(10000):
        port.push([0xB0, 70 + (k % 2), k % 128])
    t = time.perf_counter()
    applied: dict = {}
    frames = 0
    while port.q or frames == 0:  # each round: a poll, then the player drains its queue (a frame)
        poller.poll_once()
        batch = drain(q)
        assert len(batch) <= 2  # one action per control, however many messages
        applied.update(batch)
        frames += 1
    took = time.perf_counter() - t
    assert poller.received == 10000
    assert sorted(applied) == ["head_x", "head_y"]
    assert applied["head_x"] == pytest.approx((9998 % 128) / 127)
    assert applied["head_y"] == pytest.approx((9999 % 128) / 127)
    assert took < 0.5, f"10,000 messages took {took:.3f} s"  # generous: ~20 ms here


def test_clock_messages_go_to_the_follower_and_learn_takes_channel_messages(tmp_path):
    q: queue.SimpleQueue = queue.SimpleQueue()
    ctl = Controller(load_preset("generic"))
    learn = Learn(ctl, tmp_path / "c.toml")
    follower = ClockFollower()
    calls = []
    poller = InputPoller(q, ctl, learn, follower, on_clock=lambda: calls.append(1))
    port = MemPort()
    poller.set_port("control", port)
    poller.set_port("clock", port)
    learn.start("threshold")
    port.push([0xB0, 33, 5])  # learned, not applied
    port.push([0xFA])
    for k in range(30):
        port.push([0xF8], k * 0.02)
    poller.poll_once()
    assert drain(q) == []
    assert follower.running and follower.bpm == pytest.approx(125.0) and calls
    port.push([0xB0, 33, 127])
    poller.poll_once()
    assert drain(q) == [("threshold", 1.0)]  # nothing told us the current value: jumps


def test_midi_system_clock_follow_drives_the_transport_with_start_and_tempo(tmp_path):
    q: queue.SimpleQueue = queue.SimpleQueue()
    tr = RecordingTransport()
    sys_ = MidiSystem(MidiConfig(clock="midi", midi_in="x", user_mapping=tmp_path / "c.toml"), q, err=None,
                      transport=tr)
    # wire by hand (no real port): what start() does, minus opening
    from rvae_visual.midi.poller import InputPoller as P
    sys_.controller = Controller(load_preset("generic"))
    sys_.follower = ClockFollower()
    src = MidiClockSource(sys_.follower, tr, sys_._report)
    sys_.poller = P(q, sys_.controller, None, sys_.follower, on_clock=src.on_clock)
    port = MemPort()
    sys_.poller.set_port("clock", port)
    port.push([clock_out.START])
    for k in range(48):
        port.push([clock_out.CLOCK], k * 60.0 / (100 * 24))
    sys_.poller.poll_once()
    assert drain(q) == []  # nothing goes through the player's control queue
    cmds = drain(tr.cmds)
    assert [(c.kind, c.tick) for c in cmds] == [(CLOCK_START, 0.0)]
    assert tr.tempos and tr.tempos[-1] == pytest.approx(100.0)


def test_resolve_port_by_index_substring_exact_and_virtual():
    names = ["Midi Through:Port-0", "nanoKONTROL2:ctrl", "nanoPAD2:pad", "pad"]
    assert resolve_port("virtual", names, "input") is None
    assert resolve_port("1", names, "input") == 1
    assert resolve_port("kontrol", names, "input") == 1
    assert resolve_port("PAD", names, "input") == 3  # an exact name wins over substrings
    with pytest.raises(PortSpecError) as ei:
        resolve_port("nano", names, "input")
    assert "[1] nanoKONTROL2:ctrl" in str(ei.value) and "[2] nanoPAD2:pad" in str(ei.value)
    with pytest.raises(PortSpecError, match="does not exist"):
        resolve_port("9", names, "output")
    with pytest.raises(PortNotFound, match="available: \\[0\\] Midi Through"):
        resolve_port("launchpad", names, "input")


def test_backend_from_mido_environment_variable():
    assert backend_from_env({}) == Backend("mido.backends.rtmidi", None)
    b = backend_from_env({"MIDO_BACKEND": "mido.backends.rtmidi/UNIX_JACK"})
    assert b.is_rtmidi and b.api == "UNIX_JACK" and b.label() == "rtmidi/UNIX_JACK"
    assert not backend_from_env({"MIDO_BACKEND": "mido.backends.portmidi"}).is_rtmidi


def test_opening_errors_are_one_line_whatever_their_type():
    with pytest.raises(MidiPortError) as ei:
        open_input("virtual", Backend("mido.backends.rtmidi", "NO_SUCH_API"))
    assert "NO_SUCH_API" in str(ei.value) and "\n" not in str(ei.value)
    with pytest.raises(MidiPortError) as ei:
        open_input("virtual", Backend("mido.backends.no_such_backend"))
    assert "no_such_backend" in str(ei.value) and "\n" not in str(ei.value)


def test_midi_options_parse_and_check():
    p = argparse.ArgumentParser()
    add_midi_arguments(p)
    a = p.parse_args(["--midi-channel", "10,11,12", "--midi-notes", "35,38,44", "--midi-latency", "-12.5",
                      "--clock-out", "--clock", "midi", "--midi-in", "virtual"])
    cfg = MidiConfig.from_args(a)
    nc = cfg.note_out_config()
    assert nc.channels == (9, 10, 11) and nc.notes == (35, 38, 44) and nc.latency == -0.0125
    assert nc.clock_out and cfg.clock == "midi" and cfg.enabled
    for bad in (["--midi-channel", "0"], ["--midi-channel", "17"], ["--midi-notes", "128"],
                ["--midi-latency", "x"]):
        with pytest.raises(SystemExit):
            p.parse_args(bad)
    assert per_instrument((10,), 3, "x") == (10, 10, 10)
    with pytest.raises(ValueError):
        per_instrument((1, 2), 3, "x")


def clock_at_tick_47(now: float) -> ClockFollower:
    """A follower of a 120 BPM clock: Start, pulses for ticks 0..47, the last one read at `now`."""
    per = 60.0 / (120.0 * 24)
    f = ClockFollower()
    f.feed(clock_out.START, 0.0, now - 48 * per)
    for k in range(48):
        f.feed(clock_out.CLOCK, k * per, now - (47 - k) * per)
    return f


def test_following_a_clock_nudges_the_tempo_towards_its_phase_within_limits():
    now = 1000.0
    f = clock_at_tick_47(now)
    behind = {"ticks": 46.5}
    src = MidiClockSource(f, RecordingTransport(lambda: behind["ticks"]), lambda line: None)
    up = src.nudge(now)
    assert src.phase_error == pytest.approx(0.5, abs=1e-6) and 1.0 < up <= 1.0 + PLL_MAX
    behind["ticks"] = 47.2  # ahead of the clock: slow down a little
    assert 1.0 - PLL_MAX <= src.nudge(now) < 1.0
    behind["ticks"] = 20.0  # far behind: the nudge stays within its limit
    assert src.nudge(now) == pytest.approx(1.0 + PLL_MAX)
    behind["ticks"] = 47.0 + 96  # a whole bar further on is the same phase
    src.nudge(now)
    assert src.phase_error == pytest.approx(0.0, abs=1e-6)


def test_far_out_of_step_for_half_a_second_jumps_onto_the_clock():
    now = 1000.0
    f = clock_at_tick_47(now)
    f.take_events()
    ours = {"ticks": 40.0}  # 7 ticks behind (the audio stalled)
    tr = RecordingTransport(lambda: ours["ticks"])
    notes: list[str] = []
    src = MidiClockSource(f, tr, notes.append)
    tr._playing = True
    src.on_clock(now)
    assert tr.cmds.empty()  # not at once: the lock may still take it up
    later = now + RESYNC_AFTER
    ext = f.ticks_at(later)
    src.on_clock(later)
    cmd = tr.cmds.get_nowait()
    assert cmd.kind == CLOCK_CONTINUE and cmd.tick == pytest.approx(ext, abs=1e-6) and cmd.at == later
    assert src.lock.resyncs == 1 and "out of step" in notes[-1]
    ours["ticks"] = ext  # back in step: no more jumps
    src.on_clock(later)
    src.on_clock(later + RESYNC_AFTER)
    assert tr.cmds.empty()
