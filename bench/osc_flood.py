"""OSC flood benchmark: `rvae-visual play` (Xvfb, audio on the JACK dummy server, both started
or reused like the tests) with --osc-in and --osc-out, in rounds that take turns: no OSC input,
then a flood of --rate messages a second (the head and the threshold moving) for --flood
seconds in the middle of the run. Per condition, the median over the rounds of:

- fps, frame_ms_p50, frame_gap_ms_p99 and underflows from play's --stats;
- publishes (patterns sent to the audio process: what the flood costs downstream);
- echo_ms: a new swing sent over OSC in until OSC out reports it back, ten probes spread
  over the flood (or the same seconds without it), median of each run (OSC out reports at
  most once a frame, so up to 16.7 ms of it is that);
- read: the fraction of the flood's datagrams play read (UDP drops the rest when it lags).

Targets: fps and underflows of the flood rounds within the margins of tests/test_osc.py
(fps >= 0.8 x, underflows <= 2 x + 10), echo within two frames.

    python bench/osc_flood.py                 # 3 rounds (about 90 s)
    python bench/osc_flood.py --rounds 1

Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def host_steal_s() -> float:
    """CPU time the VM's host took from us so far, seconds (/proc/stat's steal column)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def one_run(env: dict, folder: Path, flood: bool, seconds: float, flood_s: float, rate: int) -> dict:
    from osc_support import Listener, free_udp_port, osc

    rx = Listener()
    port = free_udp_port()
    stats = folder / f"stats-{'flood' if flood else 'none'}-{time.monotonic_ns()}.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rvae_visual", "play", "--audio-device", "system", "--windowed", "--size", "960x540",
         "--no-landmarks", "--duration", str(seconds), "--stats", str(stats),
         "--osc-in", str(port), "--osc-out", f"127.0.0.1:{rx.port}"],
        env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    addr = ("127.0.0.1", port)
    echoes: list[float] = []
    sent = probes_sent = 0
    try:
        if not rx.wait_for(lambda r: len(r.messages("/rvae/tick")) > 10, 30):
            raise RuntimeError("play sent no ticks over OSC")
        time.sleep(1.0)
        msgs = [osc("/rvae/head", 0.3 + 0.4 * (k % 50) / 50, 0.5) for k in range(50)]
        msgs += [osc("/rvae/threshold", 0.4 + (k % 20) / 100) for k in range(20)]
        # spread over a frame's phase (probes a whole number of frames apart would all meet it alike)
        probes = [flood_s * (i + 0.5) / 10 + (i / 10) / 60 for i in range(10)]
        pending: tuple[float, float] | None = None  # (value, sent at)
        t0 = time.monotonic()
        while (el := time.monotonic() - t0) < flood_s:
            if flood:
                while sent < int(el * rate):
                    try:
                        tx.sendto(msgs[sent % len(msgs)], addr)
                    except OSError:
                        pass
                    sent += 1
            if pending is None and probes and el >= probes[0]:
                probes.pop(0)
                value = 51.0 + len(probes)  # a control the flood leaves alone (its own would win the batch)
                pending = (value, time.monotonic())
                tx.sendto(osc("/rvae/swing", value), addr)
                probes_sent += 1
            if pending is not None:
                got = [m for m in rx.messages("/rvae/swing", pending[1])
                       if math.isclose(m[2][0], pending[0], abs_tol=1e-4)]
                if got:
                    echoes.append((got[0][0] - pending[1]) * 1e3)
                    pending = None
                elif time.monotonic() - pending[1] > 1.0:
                    pending = None  # lost (the probe may be dropped with the flood): not counted
            time.sleep(0.001)
        _, err = proc.communicate(timeout=seconds + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        tx.close()
        rx.close()
    if proc.returncode != 0:
        raise RuntimeError(f"play exited with {proc.returncode}:\n{err}")
    d = json.loads(stats.read_text())
    read = 0
    for line in err.splitlines():
        if "OSC in " in line and " datagrams" in line:
            read = int(line.split("OSC in ")[1].split(" datagrams")[0])
    return {"fps": d["fps"], "frame_ms_p50": d["frame_ms_p50"], "frame_gap_ms_p99": d["frame_gap_ms_p99"],
            "underflows": d["underflows"], "publishes": d["publishes"],
            "echo_ms": round(statistics.median(echoes), 2) if echoes else None, "echoes": len(echoes),
            "sent": sent, "read": round(read / (sent + probes_sent), 3) if sent else None}


def median_of(runs: list[dict]) -> dict:
    out = {}
    for k in runs[0]:
        vals = [r[k] for r in runs if r[k] is not None]
        out[k] = round(statistics.median(vals), 3) if vals else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of (no flood, flood) (default 3)")
    ap.add_argument("--seconds", type=float, default=12.0, help="length of each play run (default 12)")
    ap.add_argument("--flood", type=float, default=6.0, help="seconds of flood in each flood run (default 6)")
    ap.add_argument("--rate", type=int, default=10000, help="flood messages a second (default 10000)")
    args = ap.parse_args()
    import servers
    from render_support import x_env

    env = x_env(servers.ensure_xvfb(), **servers.ensure_jack())
    steal0 = host_steal_s()
    runs: dict[str, list[dict]] = {"none": [], "flood": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for cond in ("none", "flood"):
                res = one_run(env, Path(tmp), cond == "flood", args.seconds, args.flood, args.rate)
                runs[cond].append(res)
                print(f"round {r + 1} {cond}: {json.dumps(res)}", flush=True)
    none, flood = median_of(runs["none"]), median_of(runs["flood"])
    result = {
        "bench": "osc_flood", "rounds": args.rounds, "rate": args.rate, "flood_s": args.flood,
        "none": none, "flood": flood,
        "fps_ratio": round(flood["fps"] / none["fps"], 3) if none["fps"] else None,
        "underflows_none": none["underflows"], "underflows_flood": flood["underflows"],
        "host_steal_s": round(host_steal_s() - steal0, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
