"""The performer's HUD: status text, threshold and noise knobs, the current pattern strip, key help.

It sits in the margin beside the map when the window is wider than tall (nothing covers the
map), else in a dark panel over the map's top-left corner. H hides it for a clean projection.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..controls import NOISE_MAX, vocabulary
from ..pattern import TICKS_PER_BAR, Pattern, Threshold, threshold_array
from .colors import (HUD_ALERT, HUD_DIM, HUD_PANEL, HUD_TEXT, HUD_WARN, KNOB_ARC, KNOB_FACE,
                     instrument_colors)
from .mapview import MapGeometry

if TYPE_CHECKING:
    import pygame

MARGIN_PANEL_MIN = 260  # pixels of margin beside the map needed to put the HUD there
OVERLAY_WIDTH = 340


@dataclass
class HudState:
    """What the HUD shows this frame (plain values, filled in by the app)."""

    threshold: float = 0.5
    thresholds: Threshold = 0.5  # what decides a hit: `threshold`, or one per instrument
    trims: tuple[float, ...] = ()  # each drum's own threshold, from the global one
    noise: float = 0.0
    noise_max: float = NOISE_MAX
    seed: int = 0
    bpm: float = 120.0
    quantize: str = "tick"
    swing: float = 50.0  # percent
    scene: str = ""  # the scene playing / coming, as the performer reads it
    playing: bool = True
    listening: bool = True
    instruments: tuple[str, ...] = ("kick", "snare", "hihat")
    mutes: tuple[bool, ...] = (False, False, False)
    latched: tuple[bool, ...] = (False, False, False)
    bar: int = 0
    tick: int = 0
    head: tuple[float, float] = (0.0, 0.0)
    model_name: str = ""
    kit_name: str = ""
    underflows: int = 0
    underflows_recent: bool = False  # a new one in the last few seconds (the count is rising)
    underflows_minute: int = 0  # in the last 60 s
    underflow_flash: float = 0.0  # 1 just after a new underflow, fading to 0 within UNDERFLOW_FLASH_S
    audio_status: str = ""
    message: str = ""
    message_is_error: bool = False
    training: str = ""
    fps: float = 0.0
    pattern: Pattern | None = None
    help_rows: tuple[tuple[str, str], ...] = field(default_factory=lambda: vocabulary().help_rows())
    extra: list[str] = field(default_factory=list)
    takeover: tuple[tuple[str, float, float], ...] = ()  # (action, physical knob, value now) waiting to pick up


TEXT_CACHE = 96  # rendered HUD lines kept (a frame shows about 20)
WRAP_CACHE = 32  # texts too wide for the panel, with the lines they wrap into
UNDERFLOW_WARN_S = 5.0  # the underflow line is red this long after a new underflow
UNDERFLOW_FLASH_S = 0.6  # the red frame after a new underflow fades over this long


class UnderflowWatch:
    """Turns the engine's underflow total into what the HUD shows: red while the count is
    rising (a new one within UNDERFLOW_WARN_S s), and a flash fading over UNDERFLOW_FLASH_S s."""

    def __init__(self) -> None:
        self.total = 0
        self.seen = -1e9  # when the total last rose, s

    def update(self, total: int, now: float) -> tuple[bool, float]:
        """(rising now, flash strength 0-1) for the engine's `total` at `now` s."""
        if total > self.total:
            self.seen = now
        self.total = total
        since = now - self.seen
        return since < UNDERFLOW_WARN_S, max(0.0, 1.0 - since / UNDERFLOW_FLASH_S)


def mute_text(instruments: tuple[str, ...], mutes: tuple[bool, ...], latched: tuple[bool, ...]) -> str:
    """The muted instruments only, a latched mute marked '*' ('' when none is muted)."""
    return "  ".join(f"{name}{'*' if lat else ''}" for name, m, lat in zip(instruments, mutes, latched) if m)


def underflow_text(total: int, last_minute: int, fps: float) -> str:
    """The HUD's audio health line: underflows in the last minute, in all, and the frame rate."""
    if total == 0:
        return f"no underflows   {fps:4.0f} fps"
    return f"underflows {last_minute}/min  {total} in all   {fps:4.0f} fps"


def knob_angle(value: float) -> float:
    """Knob pointer angle, radians (counter-clockwise from 3 o'clock): 0 -> 225 deg, 1 -> -45 deg."""
    v = 0.0 if value < 0 else 1.0 if value > 1 else value
    return math.radians(225.0 - 270.0 * v)


def strip_image(pattern: Pattern, threshold: Threshold, mutes: tuple[bool, ...]) -> np.ndarray:
    """The pattern as a (96, I, 3) uint8 image in surfarray (x, y) order.

    Hits above threshold in the instrument colour scaled by velocity (at least a third, so soft
    hits stay visible), muted rows dimmed to a quarter; below threshold dark grey by probability."""
    on = pattern.onsets
    n_inst = on.shape[0]
    col = instrument_colors(n_inst).astype(np.float32)  # (I, 3)
    lit = on > threshold_array(threshold)
    bright = np.where(lit, 0.33 + 0.67 * np.clip(pattern.velocities, 0, 1), 0.0)
    if len(mutes) == n_inst:
        bright = bright * np.where(np.asarray(mutes, bool), 0.25, 1.0)[:, None]
    img = bright[..., None] * col[:, None, :]  # (I, 96, 3)
    ghost = np.where(lit, 0.0, np.clip(on, 0, 1) * 60.0)[..., None]
    img = img + ghost
    return np.clip(img, 0, 255).astype(np.uint8).transpose(1, 0, 2)


class Hud:
    """Draws HudState; remembers where its knobs are so mouse presses can reach them."""

    def __init__(self) -> None:
        self._font: pygame.font.Font | None = None
        self._small: pygame.font.Font | None = None
        self._font_px = 0
        # rendered lines, least recently used first: the lines that stay (model, kit, help) stay
        # cached while the ones that change every tick (bar and tick, fps) come and go
        self._cache: OrderedDict[tuple[str, tuple[int, int, int], bool], pygame.Surface] = OrderedDict()
        self._wraps: dict[tuple[str, int, bool], list[str]] = {}
        self.knobs: dict[str, tuple[float, float, float]] = {}  # name -> (cx, cy, radius)
        self.visible = True
        self.show_help = False
        self._panel: pygame.Surface | None = None
        self._strip: pygame.Surface | None = None
        self._strip_key: tuple = ()
        self._strip_pattern: Pattern | None = None
        self._help: tuple[int, tuple[tuple[str, str], ...], pygame.Surface] | None = None

    # -- layout -----------------------------------------------------------------------------------
    @staticmethod
    def panel_rect(geom: MapGeometry) -> tuple[int, int, int, int]:
        """(x, y, w, h): the left margin if wide enough, else an overlay at the top-left."""
        if geom.left >= MARGIN_PANEL_MIN:
            return (0, 0, geom.left, geom.height)
        return (0, 0, min(OVERLAY_WIDTH, geom.width), min(geom.height, 560))

    def knob_at(self, px: float, py: float) -> str | None:
        """Name of the knob under screen position (px, py), if the HUD is shown."""
        if not self.visible:
            return None
        for name, (cx, cy, r) in self.knobs.items():
            if (px - cx) ** 2 + (py - cy) ** 2 <= (r * 1.2) ** 2:
                return name
        return None

    # -- text -------------------------------------------------------------------------------------
    def _fonts(self, px: int) -> None:
        import pygame

        if self._font is None or px != self._font_px:
            if not pygame.font.get_init():
                pygame.font.init()
            self._font = pygame.font.Font(None, px)
            self._small = pygame.font.Font(None, max(12, round(px * 0.8)))
            self._font_px = px
            self._cache.clear()
            self._wraps.clear()

    def _text(self, text: str, color: tuple[int, int, int] = HUD_TEXT, small: bool = False) -> pygame.Surface:
        key = (text, color, small)
        s = self._cache.get(key)
        if s is not None:
            self._cache.move_to_end(key)
        else:
            while len(self._cache) >= TEXT_CACHE:
                self._cache.popitem(last=False)
            font = self._small if small else self._font
            assert font is not None
            s = font.render(text, True, color)
            self._cache[key] = s
        return s

    def _wrapped(self, text: str, width_px: int, small: bool) -> list[str]:
        """`wrap_to_width` with the current font, remembered for the last few texts (a long
        status line is wrapped once, not every frame)."""
        key = (text, width_px, small)
        got = self._wraps.get(key)
        if got is None:
            font = self._small if small else self._font
            assert font is not None
            got = wrap_to_width(text, width_px, lambda t: font.size(t)[0])
            if len(self._wraps) >= WRAP_CACHE:
                self._wraps.clear()
            self._wraps[key] = got
        return list(got)

    # -- drawing ----------------------------------------------------------------------------------
    def draw(self, surface: pygame.Surface, geom: MapGeometry, st: HudState) -> tuple[int, int, int, int] | None:
        """Draw the HUD (and the key help when toggled) onto `surface`; returns the rect
        (x, y, w, h) the status panel covers, None when hidden."""
        import pygame

        self.knobs = {}
        if not self.visible:
            if self.show_help:
                self._draw_help(surface, geom, st.help_rows)
            return None
        x0, y0, w, h = self.panel_rect(geom)
        self._fonts(max(16, min(30, round(geom.height / 40))))
        assert self._font is not None
        lh = self._font.get_linesize()
        overlay = geom.left < MARGIN_PANEL_MIN
        if overlay:
            if self._panel is None or self._panel.get_size() != (w, h):
                self._panel = pygame.Surface((w, h))
                self._panel.fill(HUD_PANEL)
                self._panel.set_alpha(200)
            surface.blit(self._panel, (x0, y0))
        pad = max(8, lh // 2)
        x, y = x0 + pad, y0 + pad
        inner_w = w - 2 * pad

        def line(text: str, color=HUD_TEXT, small: bool = False, max_lines: int = 3) -> None:
            nonlocal y
            font = self._small if small else self._font
            assert font is not None
            whole = self._text(text, color, small)  # cached: most lines fit and are not measured again
            if whole.get_width() <= inner_w:
                surface.blit(whole, (x, y))
                y += lh if not small else round(lh * 0.85)
                return
            parts = self._wrapped(text, inner_w, small)
            if len(parts) > max_lines:
                parts = parts[:max_lines]
                parts[-1] = parts[-1][:-1] + "…" if parts[-1] else "…"
            for part in parts:
                t = self._text(part, color, small)
                surface.blit(t, (x, y), (0, 0, min(t.get_width(), inner_w), t.get_height()))
                y += lh if not small else round(lh * 0.85)

        line(f"model  {st.model_name}")
        line(f"kit    {st.kit_name}")
        state = "playing" if st.playing else "stopped"
        swing = f"  swing {st.swing:.0f}%" if st.swing > 50.0 else ""
        line(f"{st.bpm:.0f} BPM  {state}  q {st.quantize}{swing}", HUD_TEXT if st.playing else HUD_WARN)
        line(f"bar {st.bar + 1}  tick {st.tick:2d}" + (f"  {st.scene}" if st.scene else ""), HUD_TEXT)
        line(f"head {st.head[0]:+.2f} {st.head[1]:+.2f}  {'heard' if st.listening else 'silent'}",
             HUD_TEXT if st.listening else HUD_WARN)
        trims = trim_text(st.instruments, st.trims)
        if trims:
            line(f"own threshold  {trims}", HUD_WARN)
        muted = mute_text(st.instruments, st.mutes, st.latched)
        line(f"mute  {muted or '-'}", HUD_WARN if muted else HUD_DIM)
        uf_color = HUD_ALERT if st.underflows_recent else HUD_DIM
        line(underflow_text(st.underflows, st.underflows_minute, st.fps), uf_color)
        if st.audio_status:
            line(st.audio_status, HUD_DIM, small=True, max_lines=2)
        y += lh // 2

        # knobs: threshold and noise
        r = max(18, min(44, inner_w // 7))
        for i, (name, value, unit_value, label) in enumerate((
            ("threshold", st.threshold, st.threshold, f"threshold {st.threshold:.2f}"),
            ("noise", st.noise, st.noise / st.noise_max if st.noise_max else 0.0,
             f"noise {st.noise:.2f}  seed {st.seed}"),
        )):
            cx = x + r + i * (inner_w // 2)
            cy = y + r
            self._draw_knob(surface, cx, cy, r, unit_value)
            self.knobs[name] = (cx, cy, r)
            for action, knob, _ in st.takeover:  # where the physical knob is, until it picks up
                if action == name:
                    u = knob if name == "threshold" else (knob / st.noise_max if st.noise_max else 0.0)
                    a = knob_angle(u)
                    pygame.draw.circle(surface, HUD_WARN, (cx + math.cos(a) * r * 1.15, cy - math.sin(a) * r * 1.15),
                                       max(3, r // 6), 2)
            t = self._text(label, HUD_TEXT, small=True)
            surface.blit(t, (cx - r, cy + r + 4))
        y += 2 * r + 4 + lh + lh // 2

        # the current pattern, 3 x 96, with the playhead
        if st.pattern is not None:
            n_inst = st.pattern.n_instruments
            sw = max(TICKS_PER_BAR, (inner_w // TICKS_PER_BAR) * TICKS_PER_BAR)
            sh = max(6, lh // 2) * n_inst
            key = (st.thresholds, st.mutes)
            if self._strip is None or key != self._strip_key or st.pattern is not self._strip_pattern:
                img = strip_image(st.pattern, st.thresholds, st.mutes)
                if self._strip is None or self._strip.get_size() != img.shape[:2]:
                    self._strip = pygame.Surface(img.shape[:2], depth=32)
                pygame.surfarray.blit_array(self._strip, img)
                self._strip_key, self._strip_pattern = key, st.pattern
            dest = pygame.Rect(x, y, sw, sh)
            if surface.get_rect().contains(dest):
                pygame.transform.scale(self._strip, dest.size, surface.subsurface(dest))
            px = x + (st.tick + 0.5) * sw / TICKS_PER_BAR
            pygame.draw.line(surface, (255, 255, 255), (px, y - 3), (px, y + sh + 2), 1)
            for beat in range(1, 4):
                bx = x + beat * sw // 4
                pygame.draw.line(surface, HUD_DIM, (bx, y + sh + 1), (bx, y + sh + 4), 1)
            y += sh + lh // 2

        for action, knob, now_value in st.takeover:
            line(f"soft takeover: {action} knob at {knob:.2f}, the value is {now_value:.2f}: "
                 "turn it past there to pick up", HUD_WARN, small=True, max_lines=2)
        if st.training:
            line(st.training, HUD_TEXT, small=True, max_lines=2)
        if st.message:
            line(st.message, HUD_WARN if st.message_is_error else HUD_TEXT, small=True, max_lines=4)
        for extra in st.extra:
            line(extra, HUD_DIM, small=True, max_lines=2)
        line("? keys   H hide", HUD_DIM, small=True)
        if st.underflow_flash > 0:  # a red frame round the panel, fading
            width = max(2, round(lh / 5 * st.underflow_flash))
            pygame.draw.rect(surface, HUD_ALERT, (x0, y0, w, min(h, y - y0 + pad)), width)
        if self.show_help:
            self._draw_help(surface, geom, st.help_rows)
        return (x0, y0, w, min(h, y - y0 + pad))

    def _draw_knob(self, surface: pygame.Surface, cx: float, cy: float, r: int, value: float) -> None:
        import pygame

        pygame.draw.circle(surface, KNOB_FACE, (cx, cy), r)
        a0, a1 = knob_angle(value), knob_angle(0.0)
        rect = pygame.Rect(0, 0, 2 * r, 2 * r)
        rect.center = (round(cx), round(cy))
        if value > 0:
            pygame.draw.arc(surface, KNOB_ARC, rect, a0, a1, max(2, r // 6))
        px = cx + math.cos(a0) * r * 0.8
        py = cy - math.sin(a0) * r * 0.8
        pygame.draw.line(surface, (255, 255, 255), (cx, cy), (px, py), max(2, r // 8))

    def _draw_help(self, surface: pygame.Surface, geom: MapGeometry, help_rows: tuple[tuple[str, str], ...]) -> None:
        import pygame

        self._fonts(max(16, min(30, round(geom.height / 40))))
        assert self._font is not None
        if self._help is None or self._help[:2] != (self._font_px, help_rows):
            lh = self._font.get_linesize()
            rows = [(self._font.render(k, True, KNOB_ARC), self._font.render(v, True, HUD_TEXT))
                    for k, v in help_rows]
            kw = max(a.get_width() for a, _ in rows)
            vw = max(b.get_width() for _, b in rows)
            panel = pygame.Surface((kw + vw + 3 * lh, lh * (len(rows) + 2)))
            panel.fill(HUD_PANEL)
            y = lh
            for a, b in rows:
                panel.blit(a, (lh, y))
                panel.blit(b, (2 * lh + kw, y))
                y += lh
            panel.set_alpha(230)
            self._help = (self._font_px, help_rows, panel)
        panel = self._help[2]
        box = panel.get_rect(center=(geom.width // 2, geom.height // 2))
        surface.blit(panel, box.topleft)

def trim_text(instruments: tuple[str, ...], trims: tuple[float, ...]) -> str:
    """The drums whose own threshold is moved, e.g. "kick -0.10  hihat +0.25" ("" if none)."""
    return "  ".join(f"{n} {t:+.2f}" for n, t in zip(instruments, trims) if t)


def wrap_to_width(text: str, width_px: int, measure: Callable[[str], int]) -> list[str]:
    """Split `text` into lines no wider than `width_px` pixels as `measure` (e.g. a font's
    width of a string) says: at spaces, and inside a word only when the word alone is wider.
    Text that fits is returned as it is (its spacing kept)."""
    if measure(text) <= width_px:
        return [text]
    lines: list[str] = []
    cur = ""
    for word in text.split():
        while measure(word) > width_px and len(word) > 1:  # a long path: cut it where it fits
            k = len(word)
            while k > 1 and measure((cur + " " if cur else "") + word[:k]) > width_px:
                k -= 1
            if k <= 1 and cur:
                lines.append(cur)
                cur = ""
                continue
            lines.append((cur + " " if cur else "") + word[:k])
            cur, word = "", word[k:]
        trial = f"{cur} {word}" if cur else word
        if cur and measure(trial) > width_px:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines or [""]
