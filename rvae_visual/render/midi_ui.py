"""MIDI in the window: learn mode's keys and clicks, MIDI's HUD lines, panic on quit, and
controls applied between frames as soon as they arrive."""

from __future__ import annotations

from typing import Any, Callable

from ..midi.player import LearnMode
from ..midi.system import MidiSystem
from .app import App

HUD_LINES = 4


def attach_midi(app: App, midi: MidiSystem) -> LearnMode:
    """Hook a started MidiSystem into the window through its extension points: learn keys and
    clicks (event filter), learn's second step and the status lines (frame hook, HUD), panic
    on quit (shutdown hook), and the conductor's between-frame wake-up (a knob is heard within
    a tick and a block, not a frame later)."""
    import pygame

    learn = LearnMode(midi, app.library.current.instruments)
    lines: list[str] = []

    def on_event(ev: Any) -> bool:
        if ev.type == pygame.KEYDOWN:
            return learn.key(pygame.key.name(ev.key), bool(ev.mod & pygame.KMOD_SHIFT))
        if ev.type == pygame.MOUSEBUTTONDOWN and getattr(ev, "button", 0) == 1 and learn.active:
            knob = app.hud.knob_at(*ev.pos)
            if knob:
                return learn.knob(knob)
            if app.geometry().contains(*ev.pos):
                return learn.map_click()
            return True
        return False

    touches = [0]

    def on_frame(a: App) -> None:
        n = midi.poller.touches if midi.poller is not None else 0
        if n != touches[0]:  # a knob turned, even one soft takeover has not picked up yet
            touches[0] = n
            a.conductor.touch()
        learn.poll()
        lines[:] = learn.status() + midi.status_lines()

    app.event_filters.append(on_event)
    app.frame_hooks.append(on_frame)
    def line(k: int) -> Callable[[], str]:
        return lambda: lines[k] if k < len(lines) else ""

    for k in range(HUD_LINES):
        app.hud_lines.append(line(k))
    if midi.controller is not None:
        app.takeover_source = midi.controller.waiting_takeover
    app.shutdown_hooks.append(midi.close)
    app.conductor.wakers.append(midi.wait_actions)
    return learn
