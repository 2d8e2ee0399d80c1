"""Record what other JACK clients play, sample-exact, with positions in JACK frame time.

    rec = Recorder(channels=2)             # a JACK client with inputs in_1, in_2
    rec.connect("rvae-visual")             # output ports whose name matches (regex)
    rec.start(); ...; take = rec.stop()    # or: take = rec.record(seconds)
    take.data                              # float32 (frames, channels)
    take.first_frame                       # JACK frame time of take.data[0]
    take.continuous                        # True if no JACK period was missed
    rec.close()

    # in its own process, so its JACK callback never waits for the test process's GIL:
    proc = RecorderProcess("rvae-visual", seconds=4.0)   # connects, starts, then returns
    ...                                                  # play something
    take = proc.result()                                 # waits for the take

Needs a running JACK server (the `jack_server` fixture) and the JACK-Client package. The process
callback runs in JACK's thread and only copies into a preallocated buffer.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np


@dataclass
class Take:
    """A recording: samples, the JACK frame time of the first one, and of every period."""

    data: np.ndarray  # float32 (frames, channels)
    first_frame: int
    period_frames: np.ndarray  # JACK frame time at the start of each recorded period
    blocksize: int
    sample_rate: int

    @property
    def continuous(self) -> bool:
        """True when the periods follow each other without a gap."""
        d = np.diff(self.period_frames.astype(np.int64))
        return bool(np.all(d == self.blocksize))

    def frame_of(self, index: int) -> int:
        """JACK frame time of sample `index` (assumes a continuous take)."""
        return self.first_frame + index


class Recorder:
    """A JACK client recording its input ports into memory (up to `max_seconds`)."""

    def __init__(self, name: str = "rvae-capture", channels: int = 2, max_seconds: float = 120.0) -> None:
        import jack

        self._jack = jack
        self.client = jack.Client(name, no_start_server=True)
        self.sample_rate = int(self.client.samplerate)
        self.blocksize = int(self.client.blocksize)
        cap = int(max_seconds * self.sample_rate) // self.blocksize * self.blocksize
        self._buf = np.zeros((cap, channels), np.float32)
        self._frames = np.zeros(cap // self.blocksize, np.int64)
        self._n = 0
        self._periods = 0
        self._recording = False
        self.full = False
        self.ports = [self.client.inports.register(f"in_{i + 1}") for i in range(channels)]
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        if not self._recording:
            return
        n = self._n
        if n + frames > len(self._buf) or self._periods >= len(self._frames):
            self._recording = False
            self.full = True
            return
        self._frames[self._periods] = self.client.last_frame_time
        for c, port in enumerate(self.ports):
            self._buf[n:n + frames, c] = port.get_array()
        self._periods += 1
        self._n = n + frames

    def output_ports(self, pattern: str) -> list[str]:
        """Names of audio output ports matching the regex `pattern`, sorted."""
        ports = self.client.get_ports(is_audio=True, is_output=True)
        rx = re.compile(pattern)
        return sorted(p.name for p in ports if rx.search(p.name))

    def wait_for_ports(self, pattern: str, count: int = 1, timeout: float = 10.0) -> list[str]:
        """Wait until at least `count` output ports match `pattern`; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            names = self.output_ports(pattern)
            if len(names) >= count:
                return names
            if time.monotonic() > deadline:
                raise TimeoutError(f"no JACK output port matching {pattern!r} within {timeout:g} s "
                                   f"(ports: {self.output_ports('.')})")
            time.sleep(0.02)

    def connect(self, pattern: str, timeout: float = 10.0) -> list[str]:
        """Connect matching output ports, in name order, to our inputs; returns their names."""
        names = self.wait_for_ports(pattern, 1, timeout)
        for src, dst in zip(names, self.ports):
            self.client.connect(src, dst)
        return names[: len(self.ports)]

    def start(self) -> None:
        """Begin recording at the next JACK period."""
        self._n = 0
        self._periods = 0
        self.full = False
        self._recording = True

    def stop(self) -> Take:
        """Stop recording; returns the take."""
        self._recording = False
        time.sleep(2 * self.blocksize / self.sample_rate)  # let a running period finish
        n, p = self._n, self._periods
        first = int(self._frames[0]) if p else -1
        return Take(self._buf[:n].copy(), first, self._frames[:p].copy(), self.blocksize, self.sample_rate)

    def record(self, seconds: float) -> Take:
        """Record for `seconds` of JACK time (counted in frames, not wall time)."""
        self.start()
        return self.record_more(seconds)

    def record_more(self, seconds: float) -> Take:
        """Go on recording (already started) until `seconds` are in; returns the take."""
        want = int(seconds * self.sample_rate)
        done = threading.Event()
        deadline = time.monotonic() + seconds * 3 + 5
        while self._n < want and not self.full and self._recording:
            if time.monotonic() > deadline:
                break
            done.wait(0.01)
        return self.stop()

    def close(self) -> None:
        """Deactivate and close the client."""
        try:
            self.client.deactivate()
        finally:
            self.client.close()

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def first_nonzero(x: np.ndarray, start: int = 0) -> int:
    """Index of the first sample (any channel) that is not 0.0, from `start`; -1 if none."""
    flat = np.abs(x[start:]).reshape(len(x) - start, -1).max(axis=1)
    nz = np.flatnonzero(flat > 0.0)
    return start + int(nz[0]) if len(nz) else -1


def onsets_after_silence(x: np.ndarray, min_gap: int) -> list[int]:
    """Sample indices where sound starts after at least `min_gap` samples of exact silence
    (the first sound of the take counts as one)."""
    loud = np.abs(x).reshape(len(x), -1).max(axis=1) > 0.0
    idx = np.flatnonzero(loud)
    if len(idx) == 0:
        return []
    gaps = np.diff(idx) - 1
    return [int(idx[0])] + [int(i) for i, g in zip(idx[1:], gaps) if g >= min_gap]


def period_ok(take: Take) -> np.ndarray:
    """Per period: True when JACK frame time runs on by one period on both sides (no xrun)."""
    d = np.diff(take.period_frames)
    good = np.ones(len(take.period_frames), bool)
    bad = np.flatnonzero(d != take.blocksize)
    good[bad] = False
    good[bad + 1] = False
    return good


def skipped_before(take: Take) -> np.ndarray:
    """Per period: JACK frames the server skipped (xruns) since the take began; a misreported
    period (+1, then -1 period) nets out."""
    d = np.diff(take.period_frames) - take.blocksize
    return np.concatenate([[0], np.cumsum(d)])


@dataclass
class Comparison:
    """How a take lines up with a reference rendering (see `compare_with_reference`)."""

    compared: int  # periods compared (outside xruns, inside the reference)
    equal: int  # of those, equal to the reference sample for sample
    mismatched: list[int]  # periods equal to no allowed alignment
    drops: list[tuple[int, int]]  # (period, samples): a whole-cycle realignment after an xrun
    dropped: list[int]  # periods that went out wrong in a cycle JACK dropped (just before a drop)
    drift: np.ndarray  # per period: samples the stream lags the recording (0 without drops)
    nonzero_verified: int  # compared periods that held sound


def compare_with_reference(take: Take, ref: np.ndarray, start_index: int, channel: int = 0,
                           trouble_at: Sequence[int] = (), max_shift_periods: int = 64,
                           near_periods: int = 16) -> Comparison:
    """Compare a take with `ref` (what the stream should play from its transport sample 0,
    which is take index `start_index`), period by period, skipping xrun periods.

    Under an xrun, JACK may skip whole cycles of one client and not the other (the recorder and
    the player are separate processes), which moves everything after by whole periods. So a new
    alignment, by whole periods only, is looked for only where, since the last period verified
    with sound (or before the first: a skip in the silent lead-in cannot be seen), the recorder
    saw an xrun (its frame time jumps) or the stream reported an underflow (`trouble_at`,
    transport samples), give or take `near_periods`. Up to 8 wrong periods just before such a
    realignment are the skipped cycles themselves. Every other period must match exactly."""
    bs = take.blocksize
    good = period_ok(take)
    n = len(take.period_frames)
    bad = np.flatnonzero(~good)
    trouble = np.sort(np.asarray(list(trouble_at), np.int64))
    near = near_periods
    drift = 0
    drifts = np.zeros(n, np.int64)
    compared = equal = nonzero = 0
    mismatched: list[int] = []
    drops: list[tuple[int, int]] = []
    dropped: list[int] = []
    data = take.data[:, channel]
    verified_j = -(1 << 40)  # last period verified with sound (none yet: a drop in the silent
    verified_r = -(1 << 62)  # lead-in cannot be seen, so the first sound may realign)

    def trouble_since_verified(j: int, r: int) -> bool:
        if verified_j < 0:
            return True
        lo, hi = np.searchsorted(bad, verified_j - near), np.searchsorted(bad, j + near, side="right")
        if hi > lo:
            return True
        lo, hi = np.searchsorted(trouble, verified_r - near * bs), np.searchsorted(trouble, r + near * bs, side="right")
        return bool(hi > lo)

    for j in range(n):
        drifts[j] = drift
        if not good[j]:
            continue
        seg = data[j * bs:(j + 1) * bs]
        r = j * bs - start_index - drift
        if r + bs <= 0:
            if seg.any():
                mismatched.append(j)
            continue
        if r < 0 or r + bs > len(ref):
            continue
        compared += 1
        if np.array_equal(seg, ref[r:r + bs]):
            equal += 1
            if seg.any():
                nonzero += 1
                verified_j, verified_r = j, r + bs
            continue
        found = 0
        if seg.any() and trouble_since_verified(j, r):
            for k in sorted(range(-max_shift_periods, max_shift_periods + 1), key=abs):
                r2 = r - k * bs
                if k and 0 <= r2 and r2 + bs <= len(ref) and np.array_equal(seg, ref[r2:r2 + bs]):
                    found = k
                    break
        if found:
            drift += found * bs
            drifts[j] = drift
            drops.append((j, found * bs))
            equal += 1
            nonzero += 1
            verified_j, verified_r = j, r - found * bs + bs
            while mismatched and mismatched[-1] >= j - 8:  # the cycles that went out wrong
                dropped.insert(0, mismatched.pop())
                compared -= 1
        else:
            mismatched.append(j)
    return Comparison(compared, equal, mismatched, drops, dropped, drifts, nonzero)


class RecorderProcess:
    """A Recorder in a child process: connects to output ports matching `pattern`, records
    `seconds` of JACK time, and hands the take back through a temporary .npz file."""

    def __init__(self, pattern: str, seconds: float, channels: int = 2, name: str = "rvae-capture",
                 env: dict[str, str] | None = None, timeout: float = 20.0) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="rvae-capture-")
        self.out = Path(self._dir.name) / "take.npz"
        self.seconds = seconds
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--connect", pattern, "--seconds", str(seconds),
             "--channels", str(channels), "--name", name, "--out", str(self.out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
        )
        line = self._readline(timeout)
        if not line.startswith("recording"):
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.proc.kill()
            raise RuntimeError(f"recorder did not start: {line!r} {err.strip()}")
        self.ports = line.split(" ", 1)[1].strip().split(",") if " " in line.strip() else []

    def _readline(self, timeout: float) -> str:
        box: list[str] = []
        t = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout)
        return box[0] if box else ""

    def result(self, timeout: float | None = None) -> Take:
        """Wait for the recording to finish; returns the take."""
        try:
            _, err = self.proc.communicate(timeout=timeout or self.seconds * 3 + 20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        if self.proc.returncode != 0:
            raise RuntimeError(f"recorder failed ({self.proc.returncode}): {err.strip()}")
        with np.load(self.out) as z:
            take = Take(z["data"], int(z["first_frame"]), z["period_frames"], int(z["blocksize"]),
                        int(z["sample_rate"]))
        self._dir.cleanup()
        return take


def _main() -> int:
    ap = argparse.ArgumentParser(description="record JACK output ports to an .npz (used by RecorderProcess)")
    ap.add_argument("--connect", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--name", default="rvae-capture")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rec = Recorder(a.name, a.channels, max_seconds=a.seconds + 5)
    try:
        names = rec.connect(a.connect)
        rec.start()
        while rec._periods == 0:  # the first period is in: recording has begun
            time.sleep(0.002)
        print("recording " + ",".join(names), flush=True)
        take = rec.record_more(a.seconds)
    finally:
        rec.close()
    np.savez(a.out, data=take.data, first_frame=take.first_frame, period_frames=take.period_frames,
             blocksize=take.blocksize, sample_rate=take.sample_rate)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
