"""`rvae-visual render [--model M] [--at X,Y | --path "X,Y;X,Y;..."] [--bars N] -o OUT.wav [--midi OUT.mid]`."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys

from .common import bpm_value, number_in, positive_int, swing_percent, unit_value

DESCRIPTION = (
    "Render bars of the rhythm under a head position (or a path, one point per bar) through the "
    "same mixer and drum samples the player uses, to a WAV file, and the same hits to a MIDI "
    "file whose loop length is exact. The audio is the loop's steady state: the last bar's "
    "tails ring into the first, and early hits of the first bar sound at the end, so the file "
    "loops seamlessly. The same arguments give the same bytes."
)

SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT"}


def _point(text: str) -> tuple[float, float]:
    parts = text.replace(" ", "").split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        x, y = float(parts[0]), float(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a latent point X,Y (e.g. 0.5,-1), got {text!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise argparse.ArgumentTypeError(f"latent point {text!r} is not finite")
    return x, y


def _path(text: str) -> list[tuple[float, float]]:
    points = [p for p in text.split(";") if p.strip()]
    if not points:
        raise argparse.ArgumentTypeError("expected points X,Y;X,Y;...")
    return [_point(p) for p in points]


_rate = number_in(8000, 192000, "sample rate", " Hz", kind=int)
_channel = number_in(1, 16, "MIDI channel", kind=int)

def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `render`."""
    p.add_argument("--model", metavar="M", help="model file or bundled model name (default: the default model)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--at", type=_point, metavar="X,Y", help="latent point of the head (default 0,0)")
    where.add_argument("--path", type=_path, metavar='"X,Y;X,Y;..."',
                       help="head path, one point per bar (cycled when --bars is larger)")
    p.add_argument("--bars", type=positive_int, metavar="N",
                   help="bars to render (default: 4, or the number of path points)")
    p.add_argument("--bpm", type=bpm_value, default=120.0, metavar="B", help="tempo, 40-300 (default 120)")
    p.add_argument("--threshold", type=unit_value, default=0.5, metavar="T",
                   help="onset probability a cell must exceed to play (default 0.5)")
    p.add_argument("--swing", type=swing_percent, default=50.0, metavar="PERCENT",
                   help="delay of the off-beat 16ths, 50 (straight) to 75 (default 50)")
    p.add_argument("--mute", action="append", default=[], metavar="INSTRUMENT",
                   help="leave an instrument out (repeatable), e.g. --mute hihat")
    p.add_argument("--kit", metavar="K", help="bundled kit name or a folder of samples (default 808)")
    p.add_argument("--sample-rate", type=_rate, default=48000, metavar="HZ", help="WAV sample rate (default 48000)")
    p.add_argument("--bits", choices=sorted(SUBTYPES), default="16", help="WAV sample format (default 16)")
    p.add_argument("--channel", type=_channel, metavar="1-16", help="MIDI channel (default: the model's drum map, normally 10)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav", help="WAV file to write")
    p.add_argument("--midi", metavar="OUT.mid", help="also write the same hits as a MIDI file")


def _reason(e: Exception) -> str:
    """Why a write failed, in a few words ('read-only file system', 'no space left on device')."""
    from ..outfiles import os_reason

    if isinstance(e, OSError):
        return os_reason(e)
    text = str(e).lower()
    for key, words in (("read-only", "read-only file system"), ("no space", "no space left on device"),
                       ("permission", "permission denied")):
        if key in text:
            return words
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def run(args: argparse.Namespace) -> int:
    """Decode, render, write; prints one summary line."""
    from pathlib import Path

    from ..audio.kit import load_kit
    from ..audio.offline import WAV_MAX_BYTES, bar_samples, render_blocks, wav_bytes, write_wav_blocks
    from ..errors import InputError
    from ..outfiles import check_output_file
    from ..model.clips import patterns_to_midi
    from ..model.store import load_model

    out = Path(args.output)
    model = load_model(args.model)
    dm = model.drum_map
    mutes = [False] * dm.n_instruments
    for name in args.mute:
        if name not in dm.instruments:
            raise InputError(f"--mute {name}: model '{model.name}' has instruments {', '.join(dm.instruments)}")
        mutes[dm.instruments.index(name)] = True
    points = args.path if args.path else [args.at or (0.0, 0.0)]
    for pt in points:  # the same rule as play --head
        model.check_point(pt[0], pt[1], "--path point" if args.path else "--at")
    bars = args.bars or (len(points) if args.path else 4)
    subtype = SUBTYPES[args.bits]
    frames = int(round(bars * bar_samples(args.bpm, args.sample_rate)))
    size = wav_bytes(frames, subtype)
    if size > WAV_MAX_BYTES:
        per_bar_bytes = size / bars
        raise InputError(f"--bars {bars}: {frames / args.sample_rate / 3600:.1f} hours of audio, a "
                         f"{size / 2**30:.1f} GiB WAV; a WAV file holds at most 4 GiB: at most "
                         f"{int(WAV_MAX_BYTES // per_bar_bytes)} bars at {args.bpm:g} BPM, "
                         f"{args.sample_rate} Hz, --bits {args.bits}")
    check_output_file(out, "WAV file", need_bytes=size)
    if args.midi:
        check_output_file(args.midi, "MIDI file")
    decoded = [model.decode_pattern(*pt) for pt in points]  # bar k plays decoded[k % len(points)]

    def warn(line: str) -> None:
        print(f"rvae-visual: warning: {line}", file=sys.stderr)

    kit = load_kit(args.kit, dm.instruments, args.sample_rate, warn)
    if len(decoded) > bars:
        decoded = decoded[:bars]
    blocks = render_blocks(decoded, bars, args.bpm, kit, threshold=args.threshold, mutes=mutes, loop=True,
                           swing=args.swing / 100.0)
    try:
        written = write_wav_blocks(out, blocks, args.sample_rate, subtype)
    except (OSError, RuntimeError) as e:  # soundfile: LibsndfileError (a RuntimeError) / OSError
        with contextlib.suppress(OSError):
            out.unlink()  # a cut-off WAV would look whole to a player
        raise InputError(f"{out}: cannot write the WAV file ({_reason(e)}); nothing was written") from None
    counts = [0] * dm.n_instruments
    for k, pat in enumerate(decoded):
        times = len(range(k, bars, len(decoded)))  # bars that play this pattern
        for h in pat.hits(args.threshold):
            if not mutes[h.instrument]:
                counts[h.instrument] += times
    summary = (f"{out}: {bars} bar{'s' if bars != 1 else ''} at {args.bpm:g} BPM, "
               f"{written / args.sample_rate:.3f} s, {args.sample_rate} Hz, kit {kit.name}, "
               f"{sum(counts)} hits ({', '.join(f'{n} {c}' for n, c in zip(dm.instruments, counts))})")
    if args.midi:
        per_bar = [decoded[k % len(decoded)] for k in range(bars)]
        mid = patterns_to_midi(per_bar, args.bpm, dm, threshold=args.threshold, channel=args.channel,
                               mutes=mutes, meter=model.meter, swing=args.swing / 100.0)
        try:
            mid.save(args.midi)
        except OSError as e:
            raise InputError(f"{args.midi}: cannot write the MIDI file ({_reason(e)}); "
                             f"the WAV file {out} was written") from None
        summary += f"; {args.midi}: {bars} bars"
    print(summary)
    return 0
