"""`rvae-visual inspect MODEL [--png FILE] [--json]`: what a model file holds; its map as a picture."""

from __future__ import annotations

import argparse
import json
import math
import os
from typing import TYPE_CHECKING

from ..errors import InputError
from ..outfiles import check_output_file, os_reason

if TYPE_CHECKING:
    from ..model.store import PlayModel

DESCRIPTION = (
    "Print what a model file (or bundled model) holds: recipe, seed, training clips and bars, "
    "losses, date, versions. With --png, also draw the map (hits per instrument on the 30 x 30 "
    "grid, training clips as labelled landmarks) and the loss curve to a PNG file."
)

SIZE = (1600, 900)
BG = (14, 14, 18)
FG = (225, 225, 230)
DIM = (120, 120, 130)
GRID_LINE = (45, 45, 55)
INST_COLOURS = [(255, 60, 50), (60, 235, 90), (70, 140, 255), (240, 200, 60), (220, 90, 255)]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `inspect`."""
    p.add_argument("model", metavar="MODEL", help="model file, or a bundled model's name")
    p.add_argument("--png", metavar="FILE", help="write a picture of the map and the loss curve")
    p.add_argument("--json", action="store_true", help="print the model's metadata as one JSON object")
    p.add_argument("--threshold", type=float, default=0.5, metavar="T",
                   help="onset threshold for the picture (default 0.5)")


def summary_lines(model: "PlayModel") -> list[str]:
    """Human-readable description of a PlayModel's metadata."""
    m = model.meta
    hist = m.get("history", [])
    best = m.get("best_epoch") or len(hist)
    kept = hist[best - 1] if 0 < best <= len(hist) else {}
    clips = m.get("clips", [])
    arch = m.get("arch", {})
    lines = [
        f"model:     {model.name}" + (f" ({model.path})" if model.path else ""),
        f"recipe:    {m.get('recipe')} (seed {m.get('seed')}), {arch.get('hidden')} hidden units, "
        f"{arch.get('latent')}-D latent, weights {m.get('weights_dtype')}",
        f"trained:   {m.get('created')} with rvae-visual {m.get('package_version')}, "
        f"{m.get('train_seconds')} s",
        f"epochs:    {m.get('epochs_run', len(hist))} ({m.get('stop_reason')}; kept epoch {best})",
        f"loss:      {kept.get('loss')}   validation loss: {kept.get('val_loss')}",
        f"drum map:  {model.drum_map.name}: " + ", ".join(
            f"{n} ({o})" for n, o in zip(model.drum_map.instruments, model.drum_map.out_notes)),
        f"format:    version {m.get('format_version')}, {m.get('representation', {}).get('ticks')} "
        f"ticks a bar at {m.get('representation', {}).get('ppqn')} ppqn",
        f"meter:     {model.meter.name} ({model.meter.beats_per_bar} beats of "
        f"{model.meter.ticks_per_beat} ticks a bar), clips read {model.reading}; map window "
        f"z1 {model.window[0]:g}..{model.window[1]:g}, z2 {model.window[2]:g}..{model.window[3]:g}",
        f"clips:     {len(clips)} clips, {m.get('bars')} bars"
        + (f" from {m['trained_on']}" if m.get("trained_on") else ""),
    ]
    for c in clips:
        lines.append(f"  {c.get('name')}  ({c.get('bars')} bars, {c.get('bpm')} BPM)")
    return lines


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    span = max(hi - lo, 1e-9)
    step = 10 ** math.floor(math.log10(span / n))
    for m in (1, 2, 5, 10):
        if span / (step * m) <= n:
            step *= m
            break
    start = math.ceil(lo / step) * step
    return [start + k * step for k in range(int((hi - start) / step) + 1)]


def short_labels(names: list[str], width: int = 24) -> list[str]:
    """Clip names without the words all of them share (e.g. "gmd", "beat"), cut to `width`
    characters from the end, where names differ most (style, tempo, bar)."""
    split = [n.split("_") for n in names]
    common = set(split[0]).intersection(*map(set, split[1:])) if len(split) > 1 else set()
    out = []
    for parts, name in zip(split, names):
        s = "_".join(p for p in parts if p not in common) or name
        out.append(s if len(s) <= width else ".." + s[-(width - 2):])
    return out


def draw_png(model: "PlayModel", path: str, threshold: float = 0.5) -> None:
    """Draw the map with landmarks and the loss curve into a PNG file (pygame surfaces)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import numpy as np
    import pygame

    from ..render.picture import save_png

    from ..model.grid import latent_to_cell

    pygame.font.init()
    font = pygame.font.Font(None, 22)
    small = pygame.font.Font(None, 18)
    big = pygame.font.Font(None, 34)
    surf = pygame.Surface(SIZE)
    surf.fill(BG)

    def text(s: str, pos, f=font, colour=FG, anchor="topleft") -> pygame.Rect:
        img = f.render(s, True, colour)
        r = img.get_rect(**{anchor: pos})
        surf.blit(img, r)
        return r

    meta = model.meta
    dm = model.drum_map
    n_inst = dm.n_instruments
    text(f"{model.name}: {meta.get('recipe')} recipe, {len(meta.get('clips', []))} clips, "
         f"{meta.get('bars')} bars, trained {meta.get('created', '')[:10]}", (40, 18), big)

    # the map: every grid point drawn as a tiny piano roll of its bar (one row per instrument,
    # one pixel per 4 ticks), so the rhythms themselves and where they change can be seen
    grid = model.grid()
    n = grid.n
    roll_w = 24
    cell = roll_w + 3
    x0, y0 = 70, 70
    side = cell * n
    row_h = max(2, (cell - 3) // n_inst)
    ticks = grid.onsets.shape[-1]
    per_px = ticks // roll_w
    slots = grid.onsets[..., : per_px * roll_w].reshape(n, n, n_inst, roll_w, per_px).max(axis=-1)
    lit = slots > threshold
    img = np.zeros((n * cell, n * cell, 3), np.uint8)  # [y, x, rgb]
    img[...] = (28, 28, 34)
    for i in range(n_inst):
        c = np.array(INST_COLOURS[i % len(INST_COLOURS)], np.float64)
        # brightness follows the onset probability above the threshold; faint below it
        level = np.where(lit[:, :, i], 0.35 + 0.65 * slots[:, :, i], 0.18 * slots[:, :, i])
        pix = (level[..., None] * c).astype(np.uint8)  # (n, n, roll_w, 3)
        for r in range(row_h - 1):
            y = i * row_h + r + 1
            for col in range(n):
                img[y: n * cell: cell, col * cell + 1: col * cell + 1 + roll_w] = pix[:, col]
    surf.blit(pygame.surfarray.make_surface(img.transpose(1, 0, 2)), (x0, y0))
    pygame.draw.rect(surf, DIM, (x0 - 1, y0 - 1, side + 2, side + 2), 1)
    ext = grid.extent
    for v in range(-int(ext), int(ext) + 1):
        _, colf = latent_to_cell(v, 0.0, n, ext)
        rowf, _ = latent_to_cell(0.0, v, n, ext)
        x = x0 + (colf + 0.5) * cell
        y = y0 + (rowf + 0.5) * cell
        pygame.draw.line(surf, DIM, (x, y0 + side), (x, y0 + side + 6))
        text(f"{v:g}", (x, y0 + side + 8), small, DIM, "midtop")
        pygame.draw.line(surf, DIM, (x0 - 6, y), (x0, y))
        text(f"{v:g}", (x0 - 9, y), small, DIM, "midright")
    text("z1", (x0 + side / 2, y0 + side + 26), font, DIM, "midtop")
    text("z2", (x0 - 40, y0 + side / 2), font, DIM, "midright")

    # landmarks: a dot per training bar (on the border, dimmer, when it lies off the map),
    # the clip's short name once, at its first bar
    labelled: set[str] = set()
    placed: list[pygame.Rect] = []
    short_names = short_labels([lab.rsplit(":", 1)[0] for lab, _, _ in model.landmarks])
    area = pygame.Rect(x0, y0, side, side)
    for (label, z1, z2), short in zip(model.landmarks, short_names):
        rowf, colf = latent_to_cell(z1, z2, n, ext)
        x = x0 + (colf + 0.5) * cell
        y = y0 + (rowf + 0.5) * cell
        inside = area.collidepoint(x, y)
        x = min(max(x, x0), x0 + side)
        y = min(max(y, y0), y0 + side)
        pygame.draw.circle(surf, (0, 0, 0), (x, y), 6)
        pygame.draw.circle(surf, (255, 255, 255) if inside else (150, 150, 150), (x, y), 6, 2)
        clip = label.rsplit(":", 1)[0]
        if clip in labelled:
            continue
        labelled.add(clip)
        img = small.render(short, True, (255, 255, 255))
        r = img.get_rect(midleft=(x + 9, y))
        if r.right > area.right:
            r = img.get_rect(midright=(x - 9, y))
        r.clamp_ip(area)
        for _ in range(6):  # nudge labels down until they no longer overlap
            if r.collidelist(placed) < 0:
                break
            r.move_ip(0, r.height)
            r.clamp_ip(area)
        bg = pygame.Surface(r.inflate(4, 2).size, pygame.SRCALPHA)
        bg.fill((0, 0, 0, 170))
        surf.blit(bg, r.inflate(4, 2))
        surf.blit(img, r)
        placed.append(r)

    # legend
    lx = x0 + side + 40
    for i, name in enumerate(dm.instruments):
        c = INST_COLOURS[i % len(INST_COLOURS)]
        surf.fill(c, (lx + i * 150, y0, 16, 16))
        text(name, (lx + i * 150 + 22, y0), font)
    text(f"grid {n} x {n} over [-{ext:g}, {ext:g}]^2, screen-up = +z2: each point drawn as its bar",
         (lx, y0 + 26), small, DIM)
    text(f"(a row per instrument, 4 ticks a pixel; bright = onset above {threshold:g}); "
         "circles = training bars", (lx, y0 + 44), small, DIM)

    # loss curve
    hist = meta.get("history", [])
    gx, gy, gh = lx + 50, y0 + 100, 350
    gw = SIZE[0] - gx - 30
    pygame.draw.rect(surf, DIM, (gx, gy, gw, gh), 1)
    text("loss per epoch (log scale)", (gx, gy - 26), font)
    series = [("loss", (240, 240, 240)), ("val_loss", (255, 170, 40))]
    vals = [h[k] for h in hist for k, _ in series if h.get(k) is not None and h[k] > 0]
    if vals:
        lo, hi = math.log10(min(vals)), math.log10(max(vals))
        if hi - lo < 0.1:
            lo, hi = lo - 0.05, hi + 0.05
        n_ep = max(len(hist), 2)

        def pt(e: int, v: float) -> tuple[float, float]:
            return (gx + (e - 1) / (n_ep - 1) * gw,
                    gy + gh - (math.log10(v) - lo) / (hi - lo) * gh)

        for t in _nice_ticks(lo, hi, 5):
            y = gy + gh - (t - lo) / (hi - lo) * gh
            pygame.draw.line(surf, GRID_LINE, (gx + 1, y), (gx + gw - 1, y))
            text(f"{10 ** t:.3g}", (gx - 6, y), small, DIM, "midright")
        for t in _nice_ticks(1, n_ep, 6):
            x = gx + (t - 1) / (n_ep - 1) * gw
            text(f"{int(t)}", (x, gy + gh + 6), small, DIM, "midtop")
        text("epoch", (gx + gw / 2, gy + gh + 24), small, DIM, "midtop")
        for k, colour in series:
            pts = [pt(h["epoch"], h[k]) for h in hist if h.get(k) is not None and h[k] > 0]
            if len(pts) >= 2:
                pygame.draw.lines(surf, colour, False, pts, 2)
        best = meta.get("best_epoch")
        if best and 1 <= best <= len(hist):
            x = gx + (best - 1) / (n_ep - 1) * gw
            pygame.draw.line(surf, (120, 200, 255), (x, gy), (x, gy + gh))
            text(f"kept: epoch {best}", (x + 4, gy + 4), small, (120, 200, 255))
        for j, (k, colour) in enumerate(series):
            surf.fill(colour, (gx + gw - 230 + j * 120, gy - 16, 14, 4))
            text("training" if k == "loss" else "validation", (gx + gw - 210 + j * 120, gy - 22),
                 small, colour)

    # facts
    ty = gy + gh + 60
    for line in summary_lines(model)[1:8]:
        text(line, (lx, ty), small, FG)
        ty += 20
    save_png(surf, path)


def run(args: argparse.Namespace) -> int:
    """Print the summary (or JSON); draw the PNG when asked."""
    from ..model.store import load_model

    model = load_model(args.model)
    if args.png:
        if not args.png.lower().endswith(".png"):
            raise InputError(f"{args.png}: the picture file name must end in .png")
        check_output_file(args.png, "picture")
        try:
            draw_png(model, args.png, args.threshold)
        except OSError as e:
            raise InputError(f"{args.png}: cannot write the picture ({os_reason(e)})") from None
    if args.json:
        from ..model.evaluate import map_metrics

        meta = dict(model.meta)
        meta["name"] = model.name
        meta["path"] = model.path
        meta["window"] = list(model.window)
        meta["meter"] = model.meter.to_dict()
        meta["map"] = map_metrics(model.grid(), args.threshold, model.drum_map.instruments)
        print(json.dumps(meta))
    else:
        print("\n".join(summary_lines(model)))
        if args.png:
            print(f"picture:   {args.png}")
    return 0
