"""Helpers for the render/play tests: a small random-weight model (for pure-logic unit tests)
and a fake engine with a wall-clock transport (unit tests of the app logic only; the real
engine is used by the end-to-end tests)."""

from __future__ import annotations

import time

import numpy as np

from rvae_visual.drum_map import default_drum_map
from rvae_visual.model.decoder import layer_shapes
from rvae_visual.model.store import PlayModel, model_from_arrays
from rvae_visual.pattern import PPQN, TICKS_PER_BAR, Pattern


def random_weights_and_meta(seed: int = 0, hidden: int = 32, landmarks: int = 4,
                            drum_map=None) -> tuple[dict, dict]:
    """Random weights and the metadata of a model file (not trained: for plumbing tests)."""
    dm = drum_map or default_drum_map()
    rng = np.random.default_rng(seed)
    weights = {}
    for layer, (n_in, n_out) in layer_shapes(dm.n_instruments * TICKS_PER_BAR, hidden, 2).items():
        weights[f"{layer}.W"] = (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32)
        weights[f"{layer}.b"] = (rng.standard_normal(n_out) * 0.1).astype(np.float32)
    # sparse onsets, like drum bars: most cells well below 0.5
    weights["out_on.b"] = rng.normal(-3.0, 1.5, weights["out_on.b"].shape).astype(np.float32)
    meta = {
        "representation": {"ticks": TICKS_PER_BAR, "ppqn": PPQN, "instruments": list(dm.instruments)},
        "drum_map": dm.to_dict(),
        "arch": {"hidden": hidden, "latent": 2, "leaky_slope": 0.3, "timing_scale": 2.0},
        "landmarks": [{"clip": f"clip{k}", "bar": 0, "z": [float(v) for v in rng.uniform(-2.5, 2.5, 2)]}
                      for k in range(landmarks)],
    }
    return weights, meta


def random_model(seed: int = 0, hidden: int = 32, landmarks: int = 4, drum_map=None) -> PlayModel:
    """A PlayModel with random weights (not trained: for geometry and plumbing tests)."""
    weights, meta = random_weights_and_meta(seed, hidden, landmarks, drum_map)
    return model_from_arrays(weights, meta, name=f"random{seed}")


def random_model_file(path, seed: int = 0) -> str:
    """Write a random-weight model file; returns its path."""
    from rvae_visual.model.modelfile import save_model_file

    weights, meta = random_weights_and_meta(seed)
    save_model_file(path, weights, meta)
    return str(path)


class FakeEngine:
    """Records what the app sends; the transport runs on a fixed tick position or the wall clock."""

    def __init__(self, position: float | None = 0.0, bpm: float = 120.0) -> None:
        self.fixed = position
        self.bpm = bpm
        self.published: list[Pattern] = []
        self.calls: list[tuple[str, object]] = []
        self.silent = True
        self.output_latency = 0.0
        self.underflows = 0
        self.status = "fake engine"
        self.kit_name = "808"
        self.instruments: tuple[str, ...] = ()
        self.playing = False
        self._t0 = time.perf_counter()

    def publish(self, pattern: Pattern) -> None:
        self.published.append(pattern)

    def set_playing(self, on: bool) -> None:
        self.playing = on
        self.calls.append(("playing", on))

    def locate(self, tick: float, at: float | None = None) -> None:
        self.playing = True
        self.calls.append(("locate", (tick, at)))

    def set_bpm(self, bpm: float) -> None:
        self.bpm = bpm
        self.calls.append(("bpm", bpm))

    def set_threshold(self, t: float) -> None:
        self.calls.append(("threshold", t))

    def set_mutes(self, mutes) -> None:
        self.calls.append(("mutes", list(mutes)))

    def set_quantize(self, name: str) -> None:
        self.calls.append(("quantize", name))

    def set_swing(self, swing: float) -> None:
        self.calls.append(("swing", swing))

    def set_kit(self, name: str) -> None:
        self.kit_name = name
        self.calls.append(("kit", name))

    def heard_position(self) -> float:
        if self.fixed is not None:
            return self.fixed
        return (time.perf_counter() - self._t0) * self.bpm * PPQN / 60.0

    def last(self, name: str):
        return [v for n, v in self.calls if n == name][-1]


def build_app(window, engine, perf, model, grid, ref, models=(), kits=(), show_hud=True, script=(),
              train_args=(), fps=60, scenes=None):
    """A window over a fresh session (as `play` wires it); `scenes` a SceneBank."""
    from rvae_visual.render.app import App, AppOptions, prepare_frames
    from rvae_visual.session.start import start_session

    conductor = start_session(engine, perf, model, grid, ref, models=models, kits=kits, fps=fps,
                              script=script, train_args=train_args, prepare=prepare_frames, scenes=scenes)
    return App(window, conductor, AppOptions(show_hud=show_hud, fps=fps, record_stats=True))


# ---------------------------------------------------------------- X11 helpers (Xvfb tests)

def x_env(display: str, **extra: str) -> dict[str, str]:
    """Environment for a process drawing on `display` (software framebuffer, no SDL audio)."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=display, SDL_FRAMEBUFFER_ACCELERATION="0", PYGAME_HIDE_SUPPORT_PROMPT="1",
               SDL_AUDIODRIVER="dummy")
    env.update(extra)
    return env


def xdotool(display: str, *args: str) -> str:
    """Run xdotool on `display`; its stdout."""
    import subprocess

    r = subprocess.run(["xdotool", *args], env=x_env(display), capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        raise RuntimeError(f"xdotool {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def wait_for_window(display: str, name: str, proc=None, timeout: float = 20.0) -> str:
    """Id of the visible window of class and title `name` on `display`, once it is mapped."""
    import subprocess

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the process exited with code {proc.returncode} before its window appeared")
        r = subprocess.run(["xdotool", "search", "--onlyvisible", "--class", name], env=x_env(display),
                           capture_output=True, text=True, timeout=10)
        for wid in r.stdout.split():
            n = subprocess.run(["xdotool", "getwindowname", wid], env=x_env(display),
                               capture_output=True, text=True, timeout=10)
            if n.stdout.strip() == name:
                return wid
        time.sleep(0.1)
    raise TimeoutError(f"no window named {name!r} on {display} within {timeout:g} s")


def window_size(display: str, wid: str) -> tuple[int, int]:
    """(width, height) of an X window."""
    out = xdotool(display, "getwindowgeometry", "--shell", wid)
    vals = dict(line.split("=", 1) for line in out.split() if "=" in line)
    return int(vals["WIDTH"]), int(vals["HEIGHT"])


def screenshot(display: str, path) -> np.ndarray:
    """The whole screen of `display` via ImageMagick's `import -window root`, as (h, w, 3) uint8."""
    import subprocess

    import pygame

    subprocess.run(["import", "-window", "root", str(path)], env=x_env(display), check=True,
                   capture_output=True, timeout=30)
    img = pygame.image.load(str(path))
    return pygame.surfarray.array3d(img).transpose(1, 0, 2)


def best_tick_match(img: np.ndarray, frames: np.ndarray, n: int, n_inst: int, geom, skip=()) -> tuple[int, int, int]:
    """Compare the map in a screenshot with all 96 small tick frames (`look_frames` or
    `tick_frames`, stripes layout) at every stripe centre.

    Returns (best tick, cells equal at that tick, cells compared); `skip` holds screen
    points (x, y, radius) whose cells are not compared (head, labels)."""
    from rvae_visual.render.mapview import cell_stripe_center

    cells, pix = [], []
    for row in range(n):
        for col in range(n):
            for inst in range(n_inst):
                x, y = cell_stripe_center(geom, n, n_inst, row, col, inst)
                if any((x - sx) ** 2 + (y - sy) ** 2 <= r * r for sx, sy, r in skip):
                    continue
                cells.append((row, col, inst))
                pix.append(img[y, x])
    idx = np.array(cells)
    got = np.array(pix, np.int32)
    best = (-1, -1, len(cells))
    for t in range(96):
        want = frames[t][idx[:, 1] * n_inst + idx[:, 2], idx[:, 0]].astype(np.int32)
        equal = int(np.count_nonzero(np.all(want == got, axis=1)))
        if equal > best[1]:
            best = (t, equal, len(cells))
    return best


def kill_and_report(proc) -> None:
    """After a failure in a test driving `rvae-visual play` (a Popen with text pipes): stop it
    and print its stderr, which says why."""
    import sys

    if proc.poll() is None:
        proc.kill()
    _, err = proc.communicate()
    print(f"rvae-visual play stderr:\n{err}", file=sys.stderr)


class XGrab:
    """Fast screenshots of an X display's root window through libX11's XGetImage (ctypes):
    about 10 ms for 1920x1080, so a second of frames can be sampled as it plays."""

    def __init__(self, display: str) -> None:
        import ctypes
        import ctypes.util

        self._c = ctypes
        self.x = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        self.x.XOpenDisplay.restype = ctypes.c_void_p
        self.x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.x.XDefaultRootWindow.restype = ctypes.c_ulong
        self.x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        self.x.XGetImage.restype = ctypes.c_void_p
        self.x.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
        self.x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.dpy = self.x.XOpenDisplay(display.encode())
        if not self.dpy:
            raise RuntimeError(f"cannot open X display {display}")
        self.root = self.x.XDefaultRootWindow(self.dpy)

    def grab(self, width: int, height: int) -> np.ndarray:
        """The top-left `width` x `height` of the screen as (height, width, 3) uint8 RGB."""
        c = self._c

        class XImage(c.Structure):
            _fields_ = [("width", c.c_int), ("height", c.c_int), ("xoffset", c.c_int), ("format", c.c_int),
                        ("data", c.c_void_p), ("byte_order", c.c_int), ("bitmap_unit", c.c_int),
                        ("bitmap_bit_order", c.c_int), ("bitmap_pad", c.c_int), ("depth", c.c_int),
                        ("bytes_per_line", c.c_int), ("bits_per_pixel", c.c_int), ("red_mask", c.c_ulong),
                        ("green_mask", c.c_ulong), ("blue_mask", c.c_ulong), ("obdata", c.c_void_p),
                        ("create_image", c.c_void_p), ("destroy_image", c.c_void_p)]

        ptr = self.x.XGetImage(self.dpy, self.root, 0, 0, width, height, 0xFFFFFFFF, 2)  # ZPixmap
        if not ptr:
            raise RuntimeError("XGetImage failed")
        img = XImage.from_address(ptr)
        try:
            assert img.bits_per_pixel == 32, img.bits_per_pixel
            buf = (c.c_ubyte * (img.bytes_per_line * height)).from_address(img.data)
            a = np.frombuffer(buf, np.uint8).reshape(height, img.bytes_per_line // 4, 4)[:, :width]
            out = a[:, :, [2, 1, 0]].copy()  # BGRX -> RGB
        finally:
            c.CFUNCTYPE(c.c_int, c.c_void_p)(img.destroy_image)(ptr)
        return out

    def close(self) -> None:
        if self.dpy:
            self.x.XCloseDisplay(self.dpy)
            self.dpy = None
