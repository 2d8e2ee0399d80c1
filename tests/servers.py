"""Start (or reuse) the JACK dummy server and Xvfb for tests, and stop what we started by PID
after the test process has ended.

Why after: a process that loaded sounddevice aborts at exit (code 134) if jackd goes away
first (docs/architecture.md). So each server we start gets a small detached reaper process that waits for
the test process to exit and only then terminates the server.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

JACK_RATE = 48000
JACK_PERIOD = 128
XVFB_DISPLAY = ":99"
XVFB_SCREEN = "1920x1080x24"


class ServerError(RuntimeError):
    """A test server could not be started; tests that need it fail with this message."""


def _reap_after(watch_pid: int, server_pid: int) -> None:
    """Spawn a detached watcher that terminates `server_pid` once `watch_pid` has exited."""
    code = (
        "import os,sys,time,signal\n"
        "w,s=int(sys.argv[1]),int(sys.argv[2])\n"
        "def alive(p):\n"
        "    try: os.kill(p,0); return True\n"
        "    except OSError: return False\n"
        "while alive(w): time.sleep(0.2)\n"
        "if alive(s):\n"
        "    os.kill(s,signal.SIGTERM)\n"
        "    for _ in range(50):\n"
        "        if not alive(s): break\n"
        "        time.sleep(0.1)\n"
        "    else: os.kill(s,signal.SIGKILL)\n"
    )
    subprocess.Popen(
        [sys.executable, "-c", code, str(watch_pid), str(server_pid)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )


def jack_env() -> dict[str, str]:
    """Environment for processes that use the JACK server (never auto-start another one)."""
    return {
        "JACK_NO_START_SERVER": "1",
        "MIDO_BACKEND": "mido.backends.rtmidi/UNIX_JACK",
    }


def _jack_running(env: dict[str, str]) -> bool:
    r = subprocess.run(["jack_wait", "-c"], env=env, capture_output=True, text=True, timeout=10)
    return "running" in r.stdout and "not running" not in r.stdout


def ensure_jack(log_dir: Path | None = None) -> dict[str, str]:
    """Reuse a running JACK server or start `jackd -d dummy`; returns env vars for clients."""
    for tool in ("jackd", "jack_wait"):
        if shutil.which(tool) is None:
            raise ServerError(f"{tool} not found: install Debian's jackd2 (the README's test command does)")
    env = {**os.environ, **jack_env()}
    if _jack_running(env):
        # a server whose owner just exited may be shutting down (its reaper polls every
        # 0.2 s): look again after that before relying on it
        time.sleep(0.5)
        if _jack_running(env):
            return jack_env()
        time.sleep(1.0)
    log = open((log_dir or Path("/tmp")) / f"rvae-jackd-{os.getpid()}.log", "wb")
    proc = subprocess.Popen(
        ["jackd", "--no-realtime" if os.geteuid() != 0 else "-R", "-d", "dummy",
         "-r", str(JACK_RATE), "-p", str(JACK_PERIOD)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
        start_new_session=True,
    )
    _reap_after(os.getpid(), proc.pid)
    r = subprocess.run(["jack_wait", "-w", "-t", "10"], env=env, capture_output=True, text=True)
    if proc.poll() is not None or r.returncode != 0:
        raise ServerError(f"jackd did not start (exit {proc.poll()}); see {log.name}")
    return jack_env()


def _x_display_alive(display: str) -> bool:
    num = display.lstrip(":").split(".")[0]
    lock = Path(f"/tmp/.X{num}-lock")
    sock = Path(f"/tmp/.X11-unix/X{num}")
    if not (lock.exists() and sock.exists()):
        return False
    try:
        pid = int(lock.read_text().strip())
        os.kill(pid, 0)
        return True
    except (ValueError, OSError):
        return False


def ensure_xvfb(display: str = XVFB_DISPLAY, screen: str = XVFB_SCREEN) -> str:
    """Reuse a live X server on `display` or start Xvfb there; returns the DISPLAY string."""
    if _x_display_alive(display):
        return display
    if shutil.which("Xvfb") is None:
        raise ServerError("Xvfb not found: install Debian's xvfb (the README's test command does)")
    num = display.lstrip(":")
    for stale in (Path(f"/tmp/.X{num}-lock"), Path(f"/tmp/.X11-unix/X{num}")):
        if stale.exists():
            stale.unlink()
    proc = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", screen, "-nolisten", "tcp"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _reap_after(os.getpid(), proc.pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"Xvfb {display} exited with code {proc.returncode}")
        if _x_display_alive(display):
            return display
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    raise ServerError(f"Xvfb {display} did not come up within 10 s")


TWO_MONITOR_DISPLAY = ":93"
TWO_MONITORS = ((1920, 1080), (1280, 720))  # side by side, the second right of the first
_MODELINES = {(1920, 1080): "173.00 1920 2048 2248 2576 1080 1083 1088 1120 -hsync +vsync",
              (1280, 720): "74.50 1280 1344 1472 1664 720 723 728 748 -hsync +vsync"}
_XORG_DUMMY_CONF = """\
Section "Device"
    Identifier "dummy"
    Driver "dummy"
    VideoRam 65536
EndSection
Section "Monitor"
    Identifier "mon"
    HorizSync 5.0 - 1000.0
    VertRefresh 5.0 - 200.0
EndSection
Section "Screen"
    Identifier "screen"
    Device "dummy"
    Monitor "mon"
    DefaultDepth 24
    SubSection "Display"
        Depth 24
        Virtual 3200 1080
    EndSubSection
EndSection
Section "ServerFlags"
    Option "AutoAddDevices" "false"
    Option "AutoAddGPU" "false"
EndSection
"""


def _xrandr(display: str, *args: str) -> str:
    r = subprocess.run(["xrandr", *args], env={**os.environ, "DISPLAY": display}, capture_output=True,
                       text=True, timeout=20)
    if r.returncode != 0:
        raise ServerError(f"xrandr {' '.join(args)} on {display}: {r.stderr.strip()}")
    return r.stdout


def ensure_two_monitor_x(display: str = TWO_MONITOR_DISPLAY) -> str:
    """An X server with two monitors side by side (1920x1080 and 1280x720 right of it), as SDL
    sees two projectors: Xorg with the dummy video driver, whose RandR outputs xrandr switches
    on (Xvfb's +xinerama heads all sit at 0,0 and SDL reads only RandR outputs). Reused when
    running; returns the DISPLAY string."""
    if not _x_display_alive(display):
        for tool in ("Xorg", "xrandr"):
            if shutil.which(tool) is None:
                raise ServerError(f"{tool} not found: install Debian's xserver-xorg-core, "
                                  "xserver-xorg-video-dummy and x11-xserver-utils (the README's test command does)")
        num = display.lstrip(":")
        for stale in (Path(f"/tmp/.X{num}-lock"), Path(f"/tmp/.X11-unix/X{num}")):
            if stale.exists():
                stale.unlink()
        conf = Path(f"/tmp/rvae-xorg-dummy{num}.conf")
        conf.write_text(_XORG_DUMMY_CONF)
        proc = subprocess.Popen(
            ["Xorg", display, "-config", str(conf), "-noreset", "-nolisten", "tcp",
             "-logfile", f"/tmp/rvae-xorg{num}.log"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _reap_after(os.getpid(), proc.pid)
        deadline = time.monotonic() + 20
        while not _x_display_alive(display):
            if proc.poll() is not None:
                raise ServerError(f"Xorg {display} exited with code {proc.returncode} (see /tmp/rvae-xorg{num}.log)")
            if time.monotonic() > deadline:
                proc.send_signal(signal.SIGTERM)
                raise ServerError(f"Xorg {display} did not come up within 20 s")
            time.sleep(0.05)
    current = _xrandr(display)
    want = [f"DUMMY{k} connected{' primary' if k == 0 else ''} {w}x{h}+{sum(m[0] for m in TWO_MONITORS[:k])}+0"
            for k, (w, h) in enumerate(TWO_MONITORS)]
    if all(line in current for line in want):
        return display
    args: list[str] = []
    for k, (w, h) in enumerate(TWO_MONITORS):
        mode = f"{w}x{h}_rvae"
        if mode not in current:
            _xrandr(display, "--newmode", mode, *_MODELINES[(w, h)].split())
        if f"DUMMY{k}" not in current or mode not in current.split(f"DUMMY{k}")[1].split("DUMMY")[0]:
            _xrandr(display, "--addmode", f"DUMMY{k}", mode)
        args += ["--output", f"DUMMY{k}", "--mode", mode, "--pos", f"{sum(m[0] for m in TWO_MONITORS[:k])}x0"]
        if k == 0:
            args.append("--primary")
    _xrandr(display, *args)
    _xrandr(display)  # a full query makes the server probe its outputs: clients then see both monitors
    return display
