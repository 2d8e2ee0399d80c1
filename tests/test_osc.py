"""OSC for VJ tools: parsing and coalescing, bad messages counted, the sockets (real UDP on
127.0.0.1), ticks and hits scheduled like MIDI out, the schema, and `rvae-visual play` driven
over OSC in and reporting over OSC out on the JACK dummy server and Xvfb, with and without a
flood of 10,000 messages a second."""

from __future__ import annotations

import argparse
import json
import math
import queue
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from osc_support import Listener, free_udp_port, osc
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from rvae_visual.audio.records import TransportView
from rvae_visual.controls import CONTINUOUS, SCENES, TOGGLE, TRIGGER, vocabulary
from rvae_visual.osc import inbound
from rvae_visual.osc.inbound import MAX_EVENTS, Coalescer, Counts, actions_of, read_datagram
from rvae_visual.osc.options import host_port
from rvae_visual.osc.receiver import OscReceiver, open_listener
from rvae_visual.osc.schema import schema
from rvae_visual.osc.sender import OscScheduler, OscSender, StateOut, open_sender
from rvae_visual.osc.system import start_osc
from rvae_visual.pattern import Pattern

VOCAB = vocabulary()


# ------------------------------------------------------------------ addresses and values

def test_host_port_defaults_to_localhost_and_refuses_bad_ports():
    assert host_port("9000") == ("127.0.0.1", 9000)
    assert host_port("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert host_port("[::1]:7000") == ("::1", 7000)
    for bad in ("x", "70000", "host:0", "host:"):
        with pytest.raises(argparse.ArgumentTypeError):
            host_port(bad)
    with pytest.raises(argparse.ArgumentTypeError):
        host_port("9001", need_host=True)


def test_every_control_of_the_vocabulary_has_its_address():
    for c in VOCAB.controls:
        if c.kind == CONTINUOUS:
            mid = (c.lo + c.hi) / 2
            assert actions_of(f"/rvae/{c.name}", [mid], VOCAB) == [(c.name, c.snap(mid))]
            assert actions_of(f"/rvae/{c.name}", [c.hi + 100], VOCAB) == [(c.name, c.hi)]  # clamped
        elif c.kind == TOGGLE:
            assert actions_of(f"/rvae/{c.name}", [1], VOCAB) == [(c.name, 1.0)]
            assert actions_of(f"/rvae/{c.name}", [0.2], VOCAB) == [(c.name, 0.0)]
            assert actions_of(f"/rvae/{c.name}", [True], VOCAB) == [(c.name, 1.0)]
        else:
            assert c.kind == TRIGGER
            assert actions_of(f"/rvae/{c.name}", [], VOCAB) == [(c.name, 1.0)]  # a bang
            assert actions_of(f"/rvae/{c.name}", [1.0], VOCAB) == [(c.name, 1.0)]
            assert actions_of(f"/rvae/{c.name}", [0], VOCAB) == []  # a button's release


def test_head_scenes_and_record():
    assert actions_of("/rvae/head", [0.25, 1.5], VOCAB) == [("head_x", 0.25), ("head_y", 1.0)]
    assert actions_of("/rvae/quantize", [1.4], VOCAB) == [("quantize", 1.0)]
    for n in range(1, SCENES + 1):
        assert actions_of("/rvae/scene/store", [n], VOCAB) == [(f"store_scene_{n}", 1.0)]
        assert actions_of("/rvae/scene/recall", [float(n)], VOCAB) == [(f"recall_scene_{n}", 1.0)]
    assert actions_of("/rvae/record", [1], VOCAB) == [("record", 1.0)]
    assert actions_of("/rvae/record", [0], VOCAB) == [("record", 0.0)]


@pytest.mark.parametrize("data,kind", [
    (b"\x00\x01garbage", inbound.NOT_OSC),
    (b"/rvae/threshold\x00", inbound.BAD_ARGUMENTS),  # no type tag (OSC 1.0 allows it): no value
    (b"/rvae/thresh", inbound.NOT_OSC),  # cut off
    (b"#bundle\x00\x00", inbound.NOT_OSC),
    (osc("/other/threshold", 0.5), inbound.BAD_ADDRESS),
    (osc("/rvae/no_such_control", 0.5), inbound.UNKNOWN_CONTROL),
    (osc("/rvae/mute_cowbell", 1.0), inbound.UNKNOWN_CONTROL),
    (osc("/rvae/threshold", "half"), inbound.BAD_ARGUMENTS),
    (osc("/rvae/threshold"), inbound.BAD_ARGUMENTS),
    (osc("/rvae/threshold", 0.1, 0.2), inbound.BAD_ARGUMENTS),
    (osc("/rvae/head", 0.5), inbound.BAD_ARGUMENTS),
    (osc("/rvae/threshold", float("nan")), inbound.BAD_VALUE),
    (osc("/rvae/scene/recall", 9), inbound.BAD_VALUE),
    (osc("/rvae/scene/store", 1.5), inbound.BAD_VALUE),
])
def test_a_bad_message_is_counted_by_kind_and_reported_once(data, kind):
    counts = Counts()
    for _ in range(5):
        assert read_datagram(data, VOCAB, counts) == []
    assert counts.ignored[kind] == 5
    assert counts.bad == 5 and counts.taken == 0
    assert len(counts.first) == 1 and kind in counts.first[0]


def test_random_bytes_never_raise():
    rng = np.random.default_rng(1)
    counts = Counts()
    good = osc("/rvae/threshold", 0.25)
    for k in range(3000):
        data = bytes(rng.integers(0, 256, int(rng.integers(0, 64)), dtype=np.uint8))
        if k % 3 == 0:  # a real message with a damaged tail
            data = good[: int(rng.integers(1, len(good)))] + data[:4]
        read_datagram(data, VOCAB, counts)
    assert counts.received == 3000
    assert counts.bad + counts.taken >= 3000 - 10


def test_a_bundle_is_taken_in_order_nested_too():
    inner = OscBundleBuilder(IMMEDIATELY)
    inner.add_content(OscMessageBuilder("/rvae/noise").build())
    outer = OscBundleBuilder(IMMEDIATELY)
    m = OscMessageBuilder("/rvae/threshold")
    m.add_arg(0.3)
    outer.add_content(m.build())
    outer.add_content(inner.build())
    m = OscMessageBuilder("/rvae/start_stop")
    outer.add_content(m.build())
    counts = Counts()
    got = read_datagram(outer.build().dgram, VOCAB, counts)
    assert got == [("threshold", pytest.approx(0.3)), ("start_stop", 1.0)]
    assert counts.ignored[inbound.BAD_ARGUMENTS] == 1  # /rvae/noise without its value


def test_coalescer_keeps_the_latest_value_and_bounds_the_presses():
    counts = Counts()
    c = Coalescer(VOCAB, counts)
    for k in range(10000):
        c.add([("threshold", k / 10000), ("head_x", 0.5), ("start_stop", 1.0)])
    batch = c.take()
    assert ("threshold", 9999 / 10000) in batch
    assert sum(1 for n, _ in batch if n == "threshold") == 1
    assert sum(1 for n, _ in batch if n == "start_stop") == MAX_EVENTS
    assert counts.dropped == 10000 - MAX_EVENTS
    assert not c and c.take() == []


# ------------------------------------------------------------------ sockets

def test_receiver_coalesces_a_flood_into_one_batch_per_drain():
    q: queue.SimpleQueue[tuple[str, float]] = queue.SimpleQueue()
    r = OscReceiver(open_listener("127.0.0.1", 0), q, lambda: VOCAB)
    assert r.address.startswith("127.0.0.1:")
    host, port = r.address.split(":")
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.start()
    try:
        tx.sendto(osc("/rvae/start_stop"), (host, int(port)))
        for k in range(2000):
            tx.sendto(osc("/rvae/threshold", k / 2000), (host, int(port)))
            if k % 200 == 0:
                time.sleep(0.002)
        tx.sendto(b"not osc", (host, int(port)))
        tx.sendto(osc("/rvae/threshold", 0.75), (host, int(port)))
        time.sleep(0.3)  # nobody drains: the first batch waits in the queue, the rest coalesce
        first = []
        while not q.empty():
            first.append(q.get_nowait())
        assert r.wait_actions(0.0)  # the waker was set
        assert ("start_stop", 1.0) in first
        assert len(first) <= 3
        assert r.wait_actions(1.0)  # the coalesced rest comes once the queue is empty
        second = []
        while not q.empty():
            second.append(q.get_nowait())
        assert second[-1] == ("threshold", 0.75) and len(second) == 1
        assert r.counts.ignored[inbound.NOT_OSC] == 1
        assert r.counts.received > 1000  # the kernel may drop some of a burst; most arrive
    finally:
        r.close()
        tx.close()
    assert r._thread is None


def test_a_port_in_use_is_one_line_and_play_goes_on(capsys):
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    port = busy.getsockname()[1]
    player = FakePlayer()
    try:
        args = argparse.Namespace(osc_in=("127.0.0.1", port), osc_out=("no-such-host.invalid", 9), osc_latency=0.0)
        assert start_osc(args, player, lambda through: (lambda: None)) is None  # type: ignore[arg-type, return-value]
    finally:
        busy.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err[0] and "without OSC in" in err[0]
    assert "cannot send to no-such-host.invalid:9" in err[1] and "without OSC out" in err[1]
    assert player.wakers == [] and player.on_scene == []


def test_sending_to_nobody_is_counted_not_raised():
    port = free_udp_port()
    s = OscSender(open_sender("127.0.0.1", port))
    for _ in range(20):
        s.send("/rvae/tick", 1, 0)
        time.sleep(0.002)
    assert s.refused >= 5  # Linux reports the ICMP port unreachable on the next send
    assert s.sent + s.refused == 20
    s.close()


class FakePlayer:
    """The conductor's seam for OSC: a queue, wakers, scene subscribers, values."""

    def __init__(self) -> None:
        self.controls: queue.SimpleQueue[tuple[str, float]] = queue.SimpleQueue()
        self.wakers: list = []
        self.on_scene: list = []
        self.values = {c.name: c.default for c in VOCAB.controls if c.kind != TRIGGER}
        self.errors: list[str] = []
        self.messages = self

    def error(self, text: str) -> None:
        self.errors.append(text)

    @property
    def vocabulary(self):
        return VOCAB

    def value_of(self, name: str) -> float | None:
        return self.values.get(name)


def test_state_out_sends_changes_only_at_most_60_hz():
    rx = Listener()
    now = [100.0]
    player = FakePlayer()
    s = OscSender(open_sender("127.0.0.1", rx.port))
    state = StateOut(s, lambda: VOCAB, player.value_of, clock=lambda: now[0])
    try:
        assert state.frame() == len(player.values) + 1  # everything once, and the head
        assert state.frame() == 0
        now[0] += 1 / 60
        assert state.frame() == 0  # nothing changed
        player.values["threshold"] = 0.25
        player.values["head_y"] = 0.75
        now[0] += 0.005
        assert state.frame() == 0  # too soon
        now[0] += 1 / 60
        assert state.frame() == 3
        state.scene(3)
        assert rx.wait_for(lambda r: len(r.messages()) == len(player.values) + 1 + 3 + 1, 2.0)
        assert rx.messages("/rvae/threshold")[-1][2] == [0.25]
        assert rx.messages("/rvae/head")[-1][2] == [player.values["head_x"], 0.75]
        assert rx.messages("/rvae/scene")[-1][2] == [3]
        assert not rx.messages("/rvae/start_stop")  # triggers have no value to report
    finally:
        s.close()
        rx.close()


# ------------------------------------------------------------------ ticks and hits

SR = 48000


def _pattern() -> Pattern:
    on = np.zeros((3, 96), np.float32)
    vel = np.zeros((3, 96), np.float32)
    off = np.zeros((3, 96), np.float32)
    for inst, tick, v, o in [(0, 0, 1.0, -0.3), (1, 24, 0.6, 0.2), (2, 48, 0.3, 0.0), (0, 60, 0.8, 0.45)]:
        on[inst, tick], vel[inst, tick], off[inst, tick] = 0.9, v, o
    return Pattern(on, vel, off)


def test_ticks_and_hits_go_out_like_midi_out_with_bar_and_tick():
    p = _pattern()
    t0 = 1.0
    now = [0.9]

    def view() -> TransportView:
        return TransportView(True, p, 0.5, (False,) * 3, 120.0, 0.0, SR, (now[0] - t0) * SR, now[0], 1)

    rx = Listener()
    out = OscSender(open_sender("127.0.0.1", rx.port))
    sched = OscScheduler(view, out, lambda: ("kick", "snare", "hihat"))
    send = out.send

    def paced(address, *args):
        send(address, *args)
        time.sleep(0.0001)  # let the listener keep up

    out.send = paced  # type: ignore[method-assign]
    t_end = t0 + 2 * 2.0 + 0.3  # two bars at 120 BPM and a little
    while now[0] < t_end:
        now[0] = max(sched.step(now[0]), now[0] + 1e-6)
    try:
        assert rx.wait_for(lambda r: len(r.messages()) == out.sent, 3.0)
        ticks = [tuple(m[2]) for m in rx.messages("/rvae/tick")]
        assert ticks[:97] == [(1, k) for k in range(96)] + [(2, 0)]
        assert len(ticks) >= 2 * 96
        assert ticks == [(1 + k // 96, k % 96) for k in range(len(ticks))]
        hits = [tuple(m[2]) for m in rx.messages("/rvae/hit")]
        names = {0: "kick", 1: "snare", 2: "hihat"}
        want = [(names[h.instrument], pytest.approx(h.velocity, abs=1e-6)) for h in p.hits(0.5)]
        # the first kick is 0.3 ticks early: before the run's start, so bar 1 begins with the snare
        assert hits[:3] == want[1:] and hits[3:7] == want
        assert sched.stats.pulses == len(ticks) and sched.stats.notes == len(hits)
    finally:
        out.close()
        rx.close()


def test_a_tick_leaves_when_it_is_heard():
    p = _pattern()
    t0 = 1.0
    now = [0.9]

    def view() -> TransportView:
        return TransportView(True, p, 0.5, (False,) * 3, 120.0, 0.0, SR, (now[0] - t0) * SR, now[0], 1)

    got: list[tuple[float, str, tuple]] = []

    class Capture:
        sent = 0

        def send(self, address, *args):
            got.append((now[0], address, args))

    sched = OscScheduler(view, Capture(), lambda: ("kick", "snare", "hihat"))  # type: ignore[arg-type]
    while now[0] < t0 + 2.5:
        now[0] = max(sched.step(now[0]), now[0] + 1e-6)
    ticks = [(t, a) for t, addr, a in got if addr == "/rvae/tick"]
    assert len(ticks) > 96
    for t, (bar, tick) in ticks:
        k = (bar - 1) * 96 + tick
        assert abs(t - (t0 + k / 48.0)) < 1e-3  # 48 ticks a second at 120 BPM


# ------------------------------------------------------------------ schema

FOUR = """
name = "four"
channel = 10
[[instrument]]
name = "kick"
out = 36
notes = [36]
[[instrument]]
name = "snare"
out = 38
notes = [38]
[[instrument]]
name = "hat"
out = 42
notes = [42]
[[instrument]]
name = "tom"
out = 45
notes = [45]
"""


def _schema_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rvae_visual", "osc-schema", *args],
                          capture_output=True, text=True, timeout=60)


def test_schema_lists_every_control_of_a_four_drum_map(tmp_path):
    path = tmp_path / "four.toml"
    path.write_text(FOUR, encoding="utf-8")
    r = _schema_cli("--json", "--drum-map", str(path))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)  # one JSON document
    vocab = vocabulary(("kick", "snare", "hat", "tom"))
    addresses = {e["address"]: e for e in doc["in"]}
    assert {f"/rvae/{n}" for n in vocab.names} <= set(addresses)
    for drum in ("kick", "snare", "hat", "tom"):
        assert addresses[f"/rvae/mute_{drum}"]["kind"] == "toggle"
        arg = addresses[f"/rvae/threshold_{drum}"]["args"][0]
        assert (arg["min"], arg["max"], arg["unit"]) == (-0.5, 0.5, "from the threshold")
    assert addresses["/rvae/tempo"]["args"][0]["unit"] == "BPM"
    assert [a["name"] for a in addresses["/rvae/head"]["args"]] == ["x", "y"]
    assert {"/rvae/scene/store", "/rvae/scene/recall", "/rvae/record"} <= set(addresses)
    out = {e["address"]: e for e in doc["out"]}
    assert out["/rvae/hit"]["args"][0]["choices"] == ["kick", "snare", "hat", "tom"]
    assert [a["type"] for a in out["/rvae/tick"]["args"]] == ["i", "i"]
    assert {f"/rvae/{c.name}" for c in vocab.controls if c.kind != TRIGGER} <= set(out)
    assert not {f"/rvae/{c.name}" for c in vocab.controls if c.kind == TRIGGER} & set(out)
    assert doc == schema(vocab)
    text = _schema_cli("--drum-map", str(path))
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    for n in vocab.names:
        assert any(line.strip().startswith(f"/rvae/{n} ") for line in lines), n
    assert sum(1 for line in lines if "threshold_tom" in line) == 2  # in and out


def test_schema_of_a_model_and_a_bad_drum_map(tmp_path):
    r = _schema_cli("--json", "--model", "nope-not-a-model")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 3\n", encoding="utf-8")
    r = _schema_cli("--drum-map", str(bad))
    assert r.returncode == 2 and "bad.toml" in r.stderr
    r = _schema_cli("--json")
    assert r.returncode == 0
    assert json.loads(r.stdout)["instruments"] == list(VOCAB.instruments)


# ------------------------------------------------------------------ play, end to end

BPM = 120.0


def _play(env, tmp_path, in_port: int, out_port: int, seconds: float, stats_name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rvae_visual", "play", "--audio-device", "system", "--bpm", str(BPM),
         "--windowed", "--size", "960x540", "--no-landmarks", "--duration", str(seconds),
         "--stats", str(tmp_path / stats_name),
         "--osc-in", str(in_port), "--osc-out", f"127.0.0.1:{out_port}"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen, timeout: float = 40.0) -> str:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"play did not exit in time:\n{err}") from None
    assert proc.returncode == 0, err
    return err


def _echoed(rx: Listener, address: str, value: float, since: float, timeout: float = 3.0) -> bool:
    def ok(r: Listener) -> bool:
        return any(math.isclose(m[2][0], value, abs_tol=1e-4) for m in r.messages(address, since))
    return rx.wait_for(ok, timeout)


def test_play_takes_controls_over_osc_and_reports_ticks_hits_and_state(jack_server, xvfb_display, tmp_path):
    from render_support import x_env

    from rvae_visual.model.store import load_model

    instruments = set(load_model().drum_map.instruments)
    rx = Listener()
    in_port = free_udp_port()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    proc = _play(x_env(xvfb_display, **jack_server), tmp_path, in_port, rx.port, 12, "stats.json")
    try:
        assert rx.wait_for(lambda r: len(r.messages("/rvae/tick")) > 10, 25), "no ticks over OSC"
        start = rx.messages("/rvae/threshold")
        assert start and start[0][2] == [0.5]  # the state, once at start
        t = time.monotonic()
        tx.sendto(osc("/rvae/threshold", 0.3), ("127.0.0.1", in_port))
        tx.sendto(osc("/rvae/head", 0.2, 0.8), ("127.0.0.1", in_port))
        tx.sendto(osc("/rvae/mute_snare", 1), ("127.0.0.1", in_port))
        for junk in (b"junk", osc("/nope", 1.0), osc("/rvae/nope", 1.0), osc("/rvae/threshold", "x")):
            tx.sendto(junk, ("127.0.0.1", in_port))
        assert _echoed(rx, "/rvae/threshold", 0.3, t)
        assert _echoed(rx, "/rvae/mute_snare", 1.0, t)
        assert _echoed(rx, "/rvae/head_x", 0.2, t) and _echoed(rx, "/rvae/head_y", 0.8, t)
        heads = rx.messages("/rvae/head", t)
        assert heads and heads[-1][2] == pytest.approx([0.2, 0.8], abs=1e-4)
        tx.sendto(osc("/rvae/scene/store", 2), ("127.0.0.1", in_port))
        time.sleep(0.3)
        ts = time.monotonic()
        tx.sendto(osc("/rvae/head", 0.7, 0.3), ("127.0.0.1", in_port))
        tx.sendto(osc("/rvae/scene/recall", 2), ("127.0.0.1", in_port))
        assert rx.wait_for(lambda r: [2] in [m[2] for m in r.messages("/rvae/scene", ts)], 3.0), "no scene recall"
        assert _echoed(rx, "/rvae/head_x", 0.2, ts)  # the stored head came back
        assert rx.wait_for(lambda r: len(r.messages("/rvae/tick")) > 2 * 96 + 20, 10)
        err = _finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        tx.close()
        rx.close()
    ticks = [m for m in rx.messages("/rvae/tick")]
    pairs = [tuple(m[2]) for m in ticks]
    k = [(b - 1) * 96 + tk for b, tk in pairs]
    assert all(b - a == 1 for a, b in zip(k, k[1:])), "ticks come one by one, bar and tick counting"
    assert any(tk == 0 and b >= 2 for b, tk in pairs)
    # about 48 ticks a second at 120 BPM (the JACK dummy clock drifts a little)
    span = ticks[-1][0] - ticks[0][0]
    assert (len(ticks) - 1) / span == pytest.approx(48.0, rel=0.05)
    hits = rx.messages("/rvae/hit")
    assert len({m[2][0] for m in hits}) >= 2 and {m[2][0] for m in hits} <= instruments
    assert all(0.0 < m[2][1] <= 1.0 for m in hits)
    assert all(m[2][0] != "snare" for m in hits if m[0] > t + 0.5)  # muted over OSC
    reports = [line for line in err.splitlines() if "(ignored; more of this kind are only counted)" in line]
    assert len(reports) == 4, err  # the first of each kind, once
    for kind in ("not OSC:", "bad address:", "unknown control:", "wrong argument type or count:"):
        assert sum(1 for line in reports if f"OSC in: {kind}" in line) == 1, (kind, err)
    assert "ignored: 1 not OSC, 1 bad address, 1 unknown control, 1 wrong argument type or count" in err


FLOOD_RATE = 10000  # messages a second
FLOOD_S = 4.0


def _flood(port: int, seconds: float, stop: threading.Event) -> int:
    """FLOOD_RATE messages a second for `seconds`: the head, the threshold and the noise moving."""
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    addr = ("127.0.0.1", port)
    msgs = [osc("/rvae/head", 0.3 + 0.4 * (k % 50) / 50, 0.5) for k in range(50)]
    msgs += [osc("/rvae/threshold", 0.4 + (k % 20) / 100) for k in range(20)] + [osc("/rvae/noise", 0.01)]
    n = 0
    t0 = time.monotonic()
    while not stop.is_set() and (el := time.monotonic() - t0) < seconds:
        due = int(el * FLOOD_RATE)
        while n < due:
            try:
                tx.sendto(msgs[n % len(msgs)], addr)
            except OSError:
                pass
            n += 1
        time.sleep(0.001)
    tx.close()
    return n


def _run_for_stats(env, tmp_path, name: str, flood: bool) -> tuple[dict, int, str, Listener]:
    rx = Listener()
    in_port = free_udp_port()
    proc = _play(env, tmp_path, in_port, rx.port, 10, name)
    sent = 0
    try:
        assert rx.wait_for(lambda r: len(r.messages("/rvae/tick")) > 10, 25), "no ticks over OSC"
        time.sleep(1.0)
        if flood:
            stop = threading.Event()
            sent = _flood(in_port, FLOOD_S, stop)
            # still responsive right after: a new threshold comes back over OSC out
            t = time.monotonic()
            tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tx.sendto(osc("/rvae/threshold", 0.77), ("127.0.0.1", in_port))
            tx.close()
            assert _echoed(rx, "/rvae/threshold", 0.77, t, timeout=1.0), "not responsive after the flood"
        err = _finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        rx.close()
    return json.loads((tmp_path / name).read_text()), sent, err, rx


@pytest.mark.flaky(reruns=2, reruns_delay=20, only_rerun=["AssertionError"])
def test_a_flood_of_10000_messages_a_second_stalls_neither_frames_nor_audio(jack_server, xvfb_display, tmp_path):
    from render_support import x_env

    env = x_env(xvfb_display, **jack_server)
    base, _, _, _ = _run_for_stats(env, tmp_path, "base.json", flood=False)
    flood, sent, err, rx = _run_for_stats(env, tmp_path, "flood.json", flood=True)
    assert sent >= FLOOD_RATE * FLOOD_S * 0.9
    received = int(err.split("OSC in ")[1].split(" datagrams")[0])
    assert received > sent * 0.3, err  # most of the flood was read (UDP may drop some under load)
    assert flood["fps"] >= 0.8 * base["fps"], (base["fps"], flood["fps"])
    assert flood["frame_gap_ms_p99"] <= max(2.0 * base["frame_gap_ms_p99"], 40.0), (base, flood)
    # this VM's host makes 5-15 underflows in 10 s on its own (docs/architecture.md): a generous ratio
    assert flood["underflows"] <= base["underflows"] * 2 + 10, (base["underflows"], flood["underflows"])
    ticks = [(b - 1) * 96 + tk for b, tk in (tuple(m[2]) for m in rx.messages("/rvae/tick"))]
    assert all(b - a == 1 for a, b in zip(ticks, ticks[1:])), "OSC out kept every tick under the flood"
