"""Open MIDI inputs and outputs by index, name substring, or as a virtual port named after the app.

The MIDI API follows mido's `MIDO_BACKEND` variable (e.g. `mido.backends.rtmidi/UNIX_JACK`).
With the rtmidi backend (the default) we use python-rtmidi directly, so input is polled with
`get_message()` and no Python callback ever runs in the MIDI system's real-time thread; any
other mido backend is used through mido's own non-blocking `poll()`.

Every failure to open becomes a `MidiPortError` with one line (ALSA raises SystemError, JACK
may raise others: all are caught).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

from ..errors import InputError
from . import APP_PORT_NAME

DEFAULT_BACKEND = "mido.backends.rtmidi"
RTMIDI_MODULE = "mido.backends.rtmidi"


class MidiPortError(InputError):
    """A MIDI port could not be found or opened; the message is one line."""


class PortNotFound(MidiPortError):
    """No port matches the name (it may appear later: hot-plug keeps looking)."""


class PortSpecError(MidiPortError):
    """The port was named wrongly (ambiguous name, index out of range): the user must fix it."""


@dataclass(frozen=True)
class Backend:
    """A mido backend module and, for rtmidi, the API name (e.g. 'UNIX_JACK'; None = default)."""

    module: str = DEFAULT_BACKEND
    api: str | None = None

    @property
    def is_rtmidi(self) -> bool:
        """True when python-rtmidi is used directly."""
        return self.module == RTMIDI_MODULE

    def label(self) -> str:
        """Short description for listings, e.g. 'rtmidi/UNIX_JACK'."""
        mod = self.module.rsplit(".", 1)[-1]
        return f"{mod}/{self.api}" if self.api else mod


def backend_from_env(environ: Mapping[str, str] | None = None) -> Backend:
    """The backend named by MIDO_BACKEND ('module' or 'module/API'), rtmidi by default."""
    env = os.environ if environ is None else environ
    text = (env.get("MIDO_BACKEND") or DEFAULT_BACKEND).strip()
    module, _, api = text.partition("/")
    return Backend(module.strip() or DEFAULT_BACKEND, api.strip() or None)


def _rtmidi_api(backend: Backend) -> int:
    import rtmidi

    if not backend.api:
        return rtmidi.API_UNSPECIFIED
    key = backend.api.upper()
    if not key.startswith("API_"):
        key = "API_" + key
    api = getattr(rtmidi, key, None)
    if api is None:
        known = ", ".join(n[4:] for n in dir(rtmidi) if n.startswith("API_") and n != "API_UNSPECIFIED")
        raise MidiPortError(f"MIDO_BACKEND names MIDI API '{backend.api}', known: {known}")
    return api


def _describe(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _rt_client(kind: str, backend: Backend, client_name: str, queue_size: int = 1024):
    """A python-rtmidi MidiIn/MidiOut object (no port open yet)."""
    import rtmidi

    api = _rtmidi_api(backend)
    if kind == "input":
        return rtmidi.MidiIn(api, client_name, queue_size_limit=queue_size)
    return rtmidi.MidiOut(api, client_name)


def port_names(kind: str, backend: Backend | None = None) -> list[str]:
    """Names of the MIDI ports of `kind` ('input' or 'output'); MidiPortError if the API fails."""
    b = backend or backend_from_env()
    try:
        if b.is_rtmidi:
            client = _rt_client(kind, b, f"{APP_PORT_NAME}-list")
            try:
                return list(client.get_ports())
            finally:
                client.delete()
        import mido

        mb = mido.Backend(b.module, api=b.api, load=True, use_environ=False)
        return list(mb.get_input_names() if kind == "input" else mb.get_output_names())
    except MidiPortError:
        raise
    except Exception as e:  # ALSA raises SystemError; a missing backend ImportError; anything else too
        raise MidiPortError(f"MIDI {kind}s unavailable ({b.label()}): {_describe(e)}") from None


class PortLister:
    """Lists port names of one kind with one persistent client (for hot-plug checks every second)."""

    def __init__(self, kind: str, backend: Backend | None = None) -> None:
        self.kind = kind
        self.backend = backend or backend_from_env()
        self._client = None

    def names(self) -> list[str]:
        """Current port names; MidiPortError if the API fails."""
        if not self.backend.is_rtmidi:
            return port_names(self.kind, self.backend)
        try:
            client = self._client
            if client is None:
                client = self._client = _rt_client(self.kind, self.backend, f"{APP_PORT_NAME}-watch")
            return list(client.get_ports())
        except Exception as e:
            self.close()
            raise MidiPortError(f"MIDI {self.kind}s unavailable ({self.backend.label()}): {_describe(e)}") from None

    def abandon(self) -> None:
        """Forget the listing client without deleting it (its JACK server died)."""
        _keep_forever(self._client)
        self._client = None

    def close(self) -> None:
        """Release the listing client."""
        if self._client is not None:
            try:
                self._client.delete()
            except Exception:
                pass
            self._client = None


def format_candidates(names: Sequence[str], indices: Sequence[int] | None = None) -> str:
    """'[0] name, [2] other' for error messages."""
    idx = range(len(names)) if indices is None else indices
    return ", ".join(f"[{i}] {names[i]}" for i in idx) or "none"


def resolve_port(spec: str, names: Sequence[str], kind: str) -> int | None:
    """Index of the port `spec` names in `names`; None for 'virtual'.

    `spec` is an index, a case-insensitive name substring (an exact name wins) or 'virtual'.
    Raises PortSpecError for a bad index or an ambiguous name (listing candidates as
    `[index] name`), PortNotFound when nothing matches."""
    text = spec.strip()
    if text.lower() == "virtual":
        return None
    if text.isdigit():
        i = int(text)
        if i >= len(names):
            raise PortSpecError(f"MIDI {kind} {i} does not exist (available: {format_candidates(names)})")
        return i
    low = text.lower()
    exact = [i for i, n in enumerate(names) if n.lower() == low]
    if len(exact) == 1:
        return exact[0]
    matches = [i for i, n in enumerate(names) if low in n.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise PortNotFound(f"no MIDI {kind} matches '{text}' (available: {format_candidates(names)})")
    raise PortSpecError(f"MIDI {kind} '{text}' is ambiguous: {format_candidates(names, matches)}")


class _OpenPort:
    """What an open input and an open output share: the spec asked for, the port's name, and
    the raw rtmidi or mido port behind it."""

    def __init__(self, spec: str, name: str, virtual: bool, rt=None, mido_port=None) -> None:
        self.spec = spec
        self.name = name
        self.virtual = virtual
        self._rt = rt
        self._mido = mido_port
        self.abandoned = False

    def abandon(self) -> None:
        """Its MIDI system died under it (a JACK server restart): close() will leave the raw
        port alone for good, since deleting a client of a dead JACK server can crash libjack."""
        self.abandoned = True

    def close(self) -> None:
        """Close the port (idempotent)."""
        rt, self._rt = self._rt, None
        port, self._mido = self._mido, None
        if self.abandoned:
            _keep_forever(rt, port)
        else:
            _close_quietly(rt, port)

    @property
    def closed(self) -> bool:
        """True after close()."""
        return self._rt is None and self._mido is None


class MidiInput(_OpenPort):
    """An open MIDI input, polled with `get_message()` from our own thread."""

    def __init__(self, spec: str, name: str, virtual: bool, rt=None, mido_port=None) -> None:
        super().__init__(spec, name, virtual, rt, mido_port)
        self._t = 0.0
        self._get = rt.get_message if rt is not None else None

    def get_message(self) -> tuple[list[int], float] | None:
        """The next pending message as (bytes, port time in seconds), or None.

        Port time only has meaning in differences (rtmidi's delta times summed; with other
        backends the monotonic time of the poll)."""
        if self._get is not None:
            m = self._get()
            if m is None:
                return None
            self._t += m[1]
            return m[0], self._t
        if self._mido is None:
            return None
        msg = self._mido.poll()
        if msg is None:
            return None
        return msg.bytes(), time.monotonic()

    def close(self) -> None:
        """Close the port (idempotent)."""
        self._get = None
        super().close()


def _keep_forever(*objs: object) -> None:
    """Never destroy `objs`, not even at interpreter exit (a reference no one ever drops)."""
    import ctypes

    for o in objs:
        if o is not None:
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(o))


def _close_quietly(rt, mido_port) -> None:
    """Close a raw rtmidi port and/or a mido port; a port that already vanished is fine."""
    if rt is not None:
        try:
            rt.close_port()
            rt.delete()
        except Exception:
            pass
    if mido_port is not None:
        try:
            mido_port.close()
        except Exception:
            pass


class MidiOutput(_OpenPort):
    """An open MIDI output; `send(bytes)` is safe to call from one thread at a time."""

    def __init__(self, spec: str, name: str, virtual: bool, rt=None, mido_port=None) -> None:
        super().__init__(spec, name, virtual, rt, mido_port)
        self.errors = 0

    def send(self, msg: Sequence[int]) -> None:
        """Send one message (status and data bytes); errors are counted, never raised."""
        try:
            if self._rt is not None:
                self._rt.send_message(msg)
            elif self._mido is not None:
                import mido

                self._mido.send(mido.Message.from_bytes(list(msg)))
        except Exception:
            self.errors += 1

def _open(kind: str, spec: str, backend: Backend | None, client_name: str, port_name: str,
          queue_size: int):
    b = backend or backend_from_env()
    names = port_names(kind, b)
    index = resolve_port(spec, names, kind)
    virtual = index is None
    target = port_name if index is None else names[index]
    try:
        if b.is_rtmidi:
            rt = _rt_client(kind, b, client_name, queue_size)
            try:
                if virtual:
                    rt.open_virtual_port(port_name)
                else:
                    rt.open_port(index, port_name)
                if kind == "input":
                    rt.ignore_types(sysex=True, timing=False, active_sense=True)
            except BaseException:
                rt.delete()
                raise
            cls = MidiInput if kind == "input" else MidiOutput
            return cls(spec, target, virtual, rt=rt)
        import mido

        mb = mido.Backend(b.module, api=b.api, load=True, use_environ=False)
        opener = mb.open_input if kind == "input" else mb.open_output
        port = opener(port_name, virtual=True) if virtual else opener(target)
        cls = MidiInput if kind == "input" else MidiOutput
        return cls(spec, target, virtual, mido_port=port)
    except Exception as e:  # SystemError from ALSA, RtMidiError, OSError, ...
        what = "a virtual port" if virtual else f"'{target}'"
        raise MidiPortError(f"cannot open MIDI {kind} {what} ({b.label()}): {_describe(e)}") from None


def open_input(spec: str, backend: Backend | None = None, *, client_name: str = f"{APP_PORT_NAME}-in",
               port_name: str = APP_PORT_NAME, queue_size: int = 16384) -> MidiInput:
    """Open a MIDI input by index, name substring or 'virtual'; MidiPortError with one line."""
    return _open("input", spec, backend, client_name, port_name, queue_size)


def open_output(spec: str, backend: Backend | None = None, *, client_name: str = f"{APP_PORT_NAME}-out",
                port_name: str = APP_PORT_NAME) -> MidiOutput:
    """Open a MIDI output by index, name substring or 'virtual'; MidiPortError with one line."""
    return _open("output", spec, backend, client_name, port_name, 1024)
