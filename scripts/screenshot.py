"""Make docs/screenshot.png: the instrument as it looks live, drawn by `rvae-visual play` itself
under Xvfb (1920 x 1080 fullscreen) in its default look (afterglow over the ghost of every
point) with the rhythm-region boundaries on, the head swept along a curve (its trail), noise on
(the halo) and the HUD, two ticks after the downbeat of the last bar. Audio goes to the JACK
dummy server (started if none is running).

    .venv/bin/python scripts/screenshot.py [--out docs/screenshot.png] [--model M]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # servers.py: start or reuse Xvfb and JACK


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "docs" / "screenshot.png"), help="PNG to write")
    ap.add_argument("--model", help="model to show (default: the default bundled model)")
    ap.add_argument("--seconds", type=float, default=4.0, help="how long to play before the shot")
    args = ap.parse_args()
    import servers

    env = {**os.environ, **servers.ensure_jack(), "DISPLAY": servers.ensure_xvfb(),
           "SDL_FRAMEBUFFER_ACCELERATION": "0", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    env.pop("SDL_VIDEODRIVER", None)
    controls = []
    steps = 40
    for k in range(steps + 1):  # a curve over the lower-left quarter of the map, then rest
        a = k / steps
        u = 0.25 + 0.35 * a
        v = 0.30 + 0.25 * math.sin(a * math.pi)
        t = 0.6 + a * (args.seconds - 1.5)
        controls += ["--control", f"{t:.3f}:head_x={u:.4f}", "--control", f"{t:.3f}:head_y={v:.4f}"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "rvae_visual", "play", "--noise", "0.25", "--seed", "3",
           "--duration", str(args.seconds), "--screenshot", str(out), "--screenshot-tick", "2", "--topology", *controls]
    if args.model:
        cmd += ["--model", args.model]
    r = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or not out.is_file():
        print(f"screenshot failed ({r.returncode}): {r.stderr.strip()}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
