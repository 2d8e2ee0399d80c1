"""`rvae-visual devices`: audio output devices and MIDI ports, by index and name."""

from __future__ import annotations

import argparse
import json

DESCRIPTION = (
    "List audio output devices (for --audio-device: an index, or part of a name) and MIDI "
    "ports. With no audio device or no PortAudio, says so in one line."
)


COMMON_RATES = (44100, 48000, 88200, 96000)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `devices`."""
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _audio_section() -> tuple[list[dict], str]:
    """(output devices, problem line or ''). Each device: index, name, hostapi, channels,
    samplerate, default."""
    from ..audio.stream import AudioUnavailable, import_sounddevice

    try:
        sd = import_sounddevice()
    except AudioUnavailable as e:
        return [], str(e)
    try:
        default = sd.default.device[1]
        apis = sd.query_hostapis()
        devs = [
            {"index": i, "name": d["name"], "hostapi": apis[d["hostapi"]]["name"],
             "channels": int(d["max_output_channels"]), "samplerate": float(d["default_samplerate"]),
             "rates": _rates(sd, i, d), "latency_low_ms": round(1000 * float(d["default_low_output_latency"]), 1),
             "latency_high_ms": round(1000 * float(d["default_high_output_latency"]), 1),
             "default": i == default}
            for i, d in enumerate(sd.query_devices()) if d["max_output_channels"] > 0
        ]
    except Exception as e:  # PortAudioError
        return [], f"cannot list audio devices: {e}"
    finally:
        try:
            sd._terminate()  # this process may outlive the audio server (docs/architecture.md)
        except Exception:
            pass
    if not devs:
        return [], "no audio output device found (the player will run silent)"
    return devs, ""


def _rates(sd, index: int, info: dict) -> list[int]:
    """The common sample rates (Hz) the output accepts."""
    ok = []
    for rate in COMMON_RATES:
        try:
            sd.check_output_settings(device=index, samplerate=rate, channels=min(2, int(info["max_output_channels"])))
            ok.append(rate)
        except Exception:  # PortAudioError, ValueError
            pass
    return ok


def _midi_section() -> list[str]:
    """MIDI lines for the listing. HOOK for the MIDI part: return the lines to print under
    'MIDI' (inputs and outputs with their indices). Until it is filled, says so."""
    from ..midi.listing import midi_section

    return midi_section()


def run(args: argparse.Namespace) -> int:
    """Print the listing; exit 0."""
    devs, problem = _audio_section()
    midi = _midi_section()
    if args.json:
        print(json.dumps({"audio_outputs": devs, "audio_problem": problem, "midi": midi}))
        return 0
    print("audio outputs (--audio-device INDEX or NAME):")
    if problem:
        print(f"  {problem}")
    for d in devs:
        mark = "  (default)" if d["default"] else ""
        rates = "/".join(f"{r / 1000:g}" for r in d["rates"]) or f"{d['samplerate'] / 1000:g}"
        print(f"  [{d['index']}] {d['name']} ({d['hostapi']}, {d['channels']} out, "
              f"{d['samplerate']:g} Hz; rates {rates} kHz; latency low {d['latency_low_ms']:g} ms, "
              f"high {d['latency_high_ms']:g} ms){mark}")
    print("MIDI:")
    for line in midi:
        print(f"  {line}")
    return 0
