"""Command-line options for OSC (`play`): --osc-in, --osc-out, --osc-latency. Standard library only."""

from __future__ import annotations

import argparse

from ..argtypes import number_in

DEFAULT_HOST = "127.0.0.1"

osc_latency_ms = number_in(-1000.0, 1000.0, "OSC latency", " ms")


def host_port(text: str, need_host: bool = False) -> tuple[str, int]:
    """`[HOST:]PORT` (HOST may be `[v6 address]`) -> (host, port); ArgumentTypeError otherwise."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        host, port_text = "", text.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if need_host and not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT such as 127.0.0.1:9001, got {text!r}")
    try:
        port = int(port_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected [HOST:]PORT such as 9000 or 0.0.0.0:9000, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 1-65535")
    return (host or DEFAULT_HOST, port)


def _osc_in(text: str) -> tuple[str, int]:
    return host_port(text)


def _osc_out(text: str) -> tuple[str, int]:
    return host_port(text, need_host=True)


_osc_in.__name__ = "OSC_input"
_osc_out.__name__ = "OSC_output"


def add_osc_arguments(p: argparse.ArgumentParser) -> None:
    """--osc-in, --osc-out, --osc-latency (see `rvae-visual osc-schema` for the addresses)."""
    g = p.add_argument_group("OSC", "for VJ tools and other programs; `rvae-visual osc-schema` lists every address")
    g.add_argument("--osc-in", type=_osc_in, metavar="[HOST:]PORT",
                   help="take controls as OSC on this UDP port: /rvae/<control> value, /rvae/head x y, "
                        "/rvae/scene/store n, /rvae/scene/recall n (host default 127.0.0.1; "
                        "0.0.0.0 listens on every interface)")
    g.add_argument("--osc-out", type=_osc_out, metavar="HOST:PORT",
                   help="send state as OSC to this UDP address: /rvae/tick bar tick, /rvae/hit instrument "
                        "velocity (as heard), /rvae/head x y, /rvae/scene n, /rvae/<control> value on change")
    g.add_argument("--osc-latency", type=osc_latency_ms, default=0.0, metavar="MS",
                   help="shift /rvae/tick and /rvae/hit against the audio, signed ms (+ later; default 0)")
