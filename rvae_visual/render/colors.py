"""Colours of the instrument (as in R-VAE: kick red, snare green, hi-hat blue) and the overlay."""

from __future__ import annotations

import numpy as np

# By instrument row; a drum map with more instruments takes the next colours in turn.
INSTRUMENT_COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0),  # kick
    (0, 255, 0),  # snare
    (0, 0, 255),  # hi-hat
    (255, 0, 255),
    (0, 255, 255),
    (255, 128, 0),
)

BACKGROUND = (0, 0, 0)
HEAD = (255, 221, 0)  # the playback head: yellow
HEAD_RIM = (255, 240, 160)
HALO = (255, 221, 0)
LANDMARK = (255, 255, 255)
LANDMARK_SHADOW = (0, 0, 0)
HUD_TEXT = (220, 220, 220)
HUD_DIM = (120, 120, 120)
HUD_WARN = (255, 120, 80)
HUD_ALERT = (255, 40, 40)  # audio trouble now: an underflow in the last seconds
HUD_PANEL = (16, 16, 16)
KNOB_FACE = (50, 50, 50)
KNOB_ARC = (255, 221, 0)


def instrument_colors(n_instruments: int) -> np.ndarray:
    """(n_instruments, 3) uint8 RGB, one colour per Pattern row."""
    k = len(INSTRUMENT_COLORS)
    return np.array([INSTRUMENT_COLORS[i % k] for i in range(n_instruments)], dtype=np.uint8)


def faded(color: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    """`color` scaled towards black: amount 1 = full colour, 0 = black."""
    a = 0.0 if amount < 0 else 1.0 if amount > 1 else amount
    return (int(color[0] * a), int(color[1] * a), int(color[2] * a))
