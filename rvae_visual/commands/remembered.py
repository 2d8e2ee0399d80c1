"""`play --remember`: the remembered settings taken at start where the command line does not
say otherwise, and the saver wired into the window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..session.remember import Remembered, Rememberer, default_state_file, read_remembered, remembered_text


def wanted(args: argparse.Namespace) -> bool:
    """--remember, or installation mode unless --no-remember."""
    return bool((args.remember or args.installation) and not args.no_remember)


def state_path(args: argparse.Namespace) -> Path:
    """Where the remembered settings live."""
    return Path(args.state_file) if args.state_file else default_state_file()


def load(args: argparse.Namespace) -> Remembered:
    """The remembered settings (none unless wanted); a broken file is one line on stderr."""
    if not wanted(args):
        return Remembered()
    rem, why = read_remembered(state_path(args))
    if why:
        print(f"rvae-visual: warning: {why}", file=sys.stderr)
    return rem


def _given(args: argparse.Namespace) -> frozenset[str]:
    return getattr(args, "_given", frozenset())


def model_ref(args: argparse.Namespace, rem: Remembered) -> str | None:
    """The model to load: the command line's, else the remembered one, else the config's/default."""
    if rem.state is not None and rem.state.model and "model" not in _given(args):
        return rem.state.model
    return args.model


def kit_name(args: argparse.Namespace, rem: Remembered, kits: list[str]) -> str | None:
    """The kit to play: the command line's, else the remembered one if it still exists."""
    st = rem.state
    if st is not None and st.kit and "kit" not in _given(args):
        if st.kit in kits or Path(st.kit).is_dir():
            return st.kit
        print(f"rvae-visual: warning: remembered kit {st.kit!r} is gone; playing {args.kit or 'the default kit'}",
              file=sys.stderr)
    return args.kit


def restore(args: argparse.Namespace, rem: Remembered, perf: Any, instruments: tuple[str, ...]) -> None:
    """Remembered head, knobs, mutes, quantize and glide onto `perf`, except what the command
    line gives."""
    from ..session.scene_player import apply_settings

    given = _given(args)
    st = rem.state
    if st is not None:
        apply_settings(perf, st, instruments)
        for dest, setter in (("threshold", perf.set_threshold), ("noise", perf.set_noise),
                             ("bpm", perf.set_tempo), ("swing", perf.set_swing)):
            if dest in given:
                setter(getattr(args, dest))
        if "head" not in given:
            perf.place_head(*st.head)
    if rem.quantize and "quantize" not in given:
        perf.set_quantize(rem.quantize)
    if rem.glide is not None:
        perf.set_glide(rem.glide)


def attach(args: argparse.Namespace, app: Any, rem: Remembered) -> Rememberer | None:
    """Save the settings now and then and on quit (when wanted); remembered scenes go into the
    bank when there is no --set file."""
    if not wanted(args):
        return None
    c = app.conductor
    bank = c.scenes.bank
    if bank.path is None and not bank.slots:
        bank.slots.update(rem.scenes)

    def text() -> str:
        return remembered_text(c.scenes.snapshot(), c.perf.quantize, c.perf.glide_beats,
                               bank.slots if bank.path is None else {})

    saver = Rememberer(state_path(args), text, c.messages)
    app.frame_hooks.append(lambda a: saver.maybe_save(a.clock()))
    app.shutdown_hooks.append(saver.save)
    return saver
