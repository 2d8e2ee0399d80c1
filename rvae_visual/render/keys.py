"""The keyboard: what each key does to the performance, the window and the app."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import App

THRESHOLD_STEP = 0.05
NOISE_STEP = 0.05
FINE = 0.2  # Shift makes the threshold and noise keys 5x finer
# Q / W / E mute kick / snare / hi-hat (SDL2 key codes of letters are their ASCII codes).
MUTE_KEYS = {ord("q"): 0, ord("w"): 1, ord("e"): 2}


def key_up(app: App, ev: Any) -> None:
    """A key released: only the held mutes care."""
    idx = MUTE_KEYS.get(ev.key)
    if idx is not None:
        app.perf.hold_mute(idx, False)


def key_down(app: App, ev: Any) -> None:
    """A key pressed (see hud.KEY_HELP for the list shown to the performer)."""
    import pygame

    k = ev.key
    shift = bool(ev.mod & pygame.KMOD_SHIFT)
    p = app.perf
    uni = getattr(ev, "unicode", "")
    if k == pygame.K_ESCAPE:
        app.running = False
    elif k in MUTE_KEYS:
        if shift:
            p.toggle_latch(MUTE_KEYS[k])
        else:
            p.hold_mute(MUTE_KEYS[k], True)
    elif uni == "?" or k in (pygame.K_QUESTION, pygame.K_F1) or (k == pygame.K_SLASH and shift):
        app.hud.show_help = not app.hud.show_help
    elif k == pygame.K_f:
        app.toggle_fullscreen()
    elif k == pygame.K_SPACE:
        p.toggle_playing()
    elif k in (pygame.K_RETURN, pygame.K_KP_ENTER):
        p.toggle_listening()
    elif k == pygame.K_r:
        p.toggle_mute_all()
    elif k == pygame.K_c:
        p.clear_trail()
    elif k == pygame.K_h:
        app.hud.visible = not app.hud.visible
    elif k == pygame.K_l:
        app.show_landmarks = not app.show_landmarks
    elif k in (pygame.K_UP, pygame.K_DOWN):
        step = THRESHOLD_STEP * (FINE if shift else 1.0) * (1 if k == pygame.K_UP else -1)
        p.set_threshold(round(p.threshold + step, 4))
    elif k in (pygame.K_RIGHT, pygame.K_LEFT):
        step = NOISE_STEP * (FINE if shift else 1.0) * (1 if k == pygame.K_RIGHT else -1)
        p.set_noise(round(p.noise + step, 4))
    elif k == pygame.K_n:
        p.reseed(int.from_bytes(os.urandom(2), "little"))
        app.say(f"noise seed {p.seed}")
    elif uni in ("+", "=") or k in (pygame.K_PLUS, pygame.K_EQUALS, pygame.K_KP_PLUS):
        p.set_tempo(round(p.bpm) + (5 if shift and uni != "+" else 1))
    elif uni in ("-", "_") or k in (pygame.K_MINUS, pygame.K_KP_MINUS):
        p.set_tempo(round(p.bpm) - (5 if shift else 1))
    elif k == pygame.K_m:
        app.step_model(-1 if shift else 1)
    elif k == pygame.K_k:
        app.step_kit(-1 if shift else 1)
