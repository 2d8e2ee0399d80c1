"""Soak benchmark for installations (issue 14). Last stdout line: one JSON object.

`rvae-visual play --installation` under Xvfb and a private JACK dummy server for --minutes
(default 60), with the attract wander on (idle 20 s), a simulated visitor who turns the head
knobs over JACK MIDI for 20 s every --visit-every s and leaves, and the JACK server killed and
started again halfway. Beside it, on the same server, a process with an empty audio callback
counts its own underflows (the floor the host gives any client). Reports:

- rss_mb start / end (the player and its audio process), and the slope after the first
  minute, MB per hour (target <= 1);
- underflows: the player's (its --stats) beside the empty callback's;
- frames over 20 ms between frame starts, frames in all;
- reopen_s: from the server's restart to the player's "audio back" line (target <= 5);
- exceptions: tracebacks and failed frames on stderr and in the log (must be 0);
- wander moves seen (the head moved with nobody playing), host CPU steal over the run.

    python bench/soak.py --minutes 10
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
SERVER = "rvae-soak"
JACK_ENV = {"JACK_DEFAULT_SERVER": SERVER, "JACK_NO_START_SERVER": "1",
            "MIDO_BACKEND": "mido.backends.rtmidi/UNIX_JACK"}
os.environ.update(JACK_ENV)

EMPTY_CLIENT = r"""
import json, os, signal, sys, time
import sounddevice as sd
n = {"underflows": 0, "callbacks": 0}
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
def cb(outdata, frames, t, status):
    if status.output_underflow:
        n["underflows"] += 1
    n["callbacks"] += 1
    outdata.fill(0.0)
s = sd.OutputStream(device="system", channels=2, dtype="float32", callback=cb)
s.start()
last = -1
while not stop and n["callbacks"] != last:  # ends on SIGTERM or when the server went away
    last = n["callbacks"]
    time.sleep(0.5)
print(json.dumps(n), flush=True)
os._exit(0)  # never close a stream whose server died: PortAudio can hang there
"""


def log(msg: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def host_steal_s() -> float:
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


def jackd() -> subprocess.Popen:
    p = subprocess.Popen(["jackd", "-n", SERVER, "-R", "-d", "dummy", "-r", "48000", "-p", "256"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while subprocess.run(["jack_lsp"], env={**os.environ, **JACK_ENV}, capture_output=True).returncode != 0:
        if time.monotonic() > deadline or p.poll() is not None:
            raise SystemExit("the private JACK server did not start")
        time.sleep(0.1)
    return p


def empty_client() -> subprocess.Popen:
    """A process with an empty audio callback on the server (until SIGTERM or the server's end)."""
    return subprocess.Popen([sys.executable, "-c", EMPTY_CLIENT], env={**os.environ, **JACK_ENV},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its children (the audio process, started from any thread), MB."""
    total = 0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            pids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024.0


def slope_mb_per_hour(samples: list[tuple[float, float]], skip_s: float = 60.0) -> float | None:
    """Least-squares slope of (seconds, MB) samples after the first `skip_s`, MB per hour."""
    pts = [(t, m) for t, m in samples if t >= skip_s]
    if len(pts) < 3:
        return None
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    mm = sum(m for _, m in pts) / n
    var = sum((t - mt) ** 2 for t, _ in pts)
    if var == 0:
        return None
    return sum((t - mt) * (m - mm) for t, m in pts) / var * 3600.0


class Lines:
    """A stream's lines with arrival times, read in a thread (bounded: the last 5000)."""

    def __init__(self, stream) -> None:
        self.lines: list[tuple[float, str]] = []
        self.tracebacks = 0
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            if "Traceback" in line or "frame failed" in line:
                self.tracebacks += 1
            self.lines.append((time.monotonic(), line.rstrip("\n")))
            del self.lines[:-5000]

    def first(self, text: str, after: float) -> float | None:
        for t, line in list(self.lines):
            if t >= after and text in line:
                return t
        return None


class Visitor:
    """Turns the head knobs (generic preset: CC 70 / 71) over JACK MIDI, reopening its port
    after the server's restart."""

    def __init__(self) -> None:
        self.port = None

    def _open(self) -> bool:
        from rvae_visual.midi.ports import open_output

        try:
            self.port = open_output("rvae-visual-in:rvae-visual", client_name="rvae-soak-visitor")
            return True
        except Exception as e:
            log(f"visitor: no MIDI port ({type(e).__name__}: {e})")
            self.port = None
            return False

    def play(self, seconds: float, k: int) -> bool:
        """Sweep the knobs for `seconds`; False when the player's port is not there."""
        if self.port is None and not self._open():
            return False
        end = time.monotonic() + seconds
        v = 0
        try:
            while time.monotonic() < end:
                x = abs((v % 254) - 127)
                self.port.send([0xB0, 70, x])
                self.port.send([0xB0, 71, (x + 40 * k) % 128])
                v += 3
                time.sleep(0.03)
        except Exception:
            self.close()
            return False
        return True

    def close(self) -> None:
        if self.port is not None:
            try:
                self.port.close()
            except Exception:
                pass
        self.port = None


def run(minutes: float, visit_every: float) -> dict:
    import servers
    from render_support import x_env

    display = servers.ensure_xvfb()
    steal0 = host_steal_s()
    jack = jackd()
    empties = [empty_client()]
    tmp = Path(tempfile.mkdtemp(prefix="rvae-soak-"))
    stats, logf = tmp / "stats.json", tmp / "play.log"
    env = x_env(display, XDG_STATE_HOME=str(tmp / "state"), XDG_CONFIG_HOME=str(tmp / "config"), **JACK_ENV)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rvae_visual", "play", "--installation", "--attract", "20", "--audio-device", "system",
         "--windowed", "--size", "1280x720", "--midi-in", "virtual", "--stats", str(stats), "--log", str(logf),
         "--invite", "turn the knobs"],
        env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = Lines(proc.stderr)
    visitor = Visitor()
    samples: list[tuple[float, float]] = []
    total = minutes * 60.0
    t0 = time.monotonic()
    restart_at = t0 + total / 2
    restarted: float | None = None
    next_visit = t0 + 60.0
    visits = 0
    next_sample = t0
    try:
        while time.monotonic() - t0 < total:
            now = time.monotonic()
            if proc.poll() is not None:
                raise SystemExit(f"play exited early with {proc.returncode}: {[x for _, x in err.lines[-20:]]}")
            if now >= next_sample:
                samples.append((now - t0, rss_mb(proc.pid)))
                next_sample += 10.0
            if restarted is None and now >= restart_at:
                log("killing the JACK server")
                jack.kill()
                jack.wait()
                visitor.close()
                time.sleep(3.0)
                jack = jackd()
                restarted = time.monotonic()
                empties.append(empty_client())
                log("JACK server started again")
            if now >= next_visit:
                if visitor.play(20.0, visits):
                    visits += 1
                next_visit = time.monotonic() + visit_every
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        empty_counts = {"underflows": 0, "callbacks": 0}
        for e in empties:
            e.send_signal(signal.SIGTERM)
            try:
                out, _ = e.communicate(timeout=20)
                got = json.loads(out.strip().splitlines()[-1])
                for k in empty_counts:
                    empty_counts[k] += got[k]
            except (subprocess.TimeoutExpired, ValueError, IndexError):
                e.kill()
        visitor.close()
        jack.kill()
    st = json.loads(stats.read_text()) if stats.exists() else {}
    back = err.first("back after", restarted) if restarted is not None else None
    log_text = logf.read_text() if logf.exists() else ""
    rss_after = [m for t, m in samples if t >= 60.0] or [m for _, m in samples]
    return {
        "minutes": minutes,
        "rss_mb_start": round(rss_after[0], 1) if rss_after else None,
        "rss_mb_end": round(samples[-1][1], 1) if samples else None,
        "rss_mb_max": round(max(m for _, m in samples), 1) if samples else None,
        "rss_slope_mb_per_hour": (round(s, 2) if (s := slope_mb_per_hour(samples)) is not None else None),
        "underflows": st.get("underflows"),
        "empty_callback": empty_counts,
        "frames": st.get("frames"),
        "frames_over_20ms_gap": st.get("frames_over_20ms_gap"),
        "fps": st.get("fps"),
        "reopen_s": round(back - restarted, 2) if back is not None and restarted is not None else None,
        "audio_lost_lines": sum(1 for _, x in err.lines if "audio lost" in x),
        "exceptions": err.tracebacks + log_text.count("Traceback"),
        "visits": visits,
        "wander_starts": log_text.count("the head wanders"),
        "visitor_takeovers": log_text.count("someone plays"),
        "log_lines": log_text.count("\n"),
        "exit_code": proc.returncode,
        "host_steal_s": round(host_steal_s() - steal0, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--visit-every", type=float, default=180.0, help="seconds between visits (default 180)")
    a = ap.parse_args()
    out = run(a.minutes, a.visit_every)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
