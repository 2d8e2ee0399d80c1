"""The keyboard: pygame key events looked up in the controls vocabulary's key table."""

from __future__ import annotations

from typing import Any

from .. import controls as ctl
from ..session.conductor import Conductor


def _key(c: Conductor, ev: Any) -> tuple[ctl.Key | None, bool]:
    import pygame

    shift = bool(ev.mod & pygame.KMOD_SHIFT)
    vocab = c.vocabulary
    k = vocab.key(pygame.key.name(ev.key), shift)
    uni = getattr(ev, "unicode", "") or ""
    if k is None and uni:
        k = vocab.key(uni, shift)  # layouts where the typed character names the key best
    return k, shift


def key_down(c: Conductor, ev: Any) -> None:
    """A key pressed: the control its key-table entry names (see the key help)."""
    k, shift = _key(c, ev)
    if k is None:
        return
    control = c.vocabulary[k.control]
    if k.action == ctl.HOLD:
        if control.instrument is not None:
            ctl.hold(c.perf, control, True)
        else:
            c.apply(k.control, 1.0)
    elif k.action == ctl.FLIP:
        value = c.value_of(k.control)
        c.apply(k.control, 0.0 if (value or 0.0) >= ctl.PRESSED else 1.0)
    elif k.action == ctl.STEP:
        value = c.value_of(k.control) or 0.0
        if k.control == "tempo":
            value = round(value)
        c.apply(k.control, round(value + ctl.key_step(k, shift), 4))
    else:
        c.apply(k.control, 1.0)


def key_up(c: Conductor, ev: Any) -> None:
    """A key released: only held keys (mutes, the excursion) care."""
    k, _ = _key(c, ev)
    if k is not None and k.action == ctl.HOLD:
        control = c.vocabulary[k.control]
        if control.instrument is not None:
            ctl.hold(c.perf, control, False)
        else:
            c.apply(k.control, 0.0)
