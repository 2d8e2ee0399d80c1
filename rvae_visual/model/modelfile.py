"""Model files: one .npz archive, read with `np.load(allow_pickle=False)` - nothing in it runs.

It holds the folded encoder and decoder weights (`<layer>.W`, `<layer>.b`, float32 or float16),
the decoder's float32 output at 16 latent points (checked on load), and `meta`: UTF-8 JSON bytes (a uint8
array) with the kind, the format version, the
representation (ticks, ppqn, instruments, drum map), the architecture, the recipe and seed, the
loss history, the package version, the creation date, and every training bar's clip name and
latent mean (the landmarks). A corrupt file, a file of another kind or one from a newer format
version is refused with one InputError line naming the file.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import InputError
from .decoder import DECODER_LAYERS, LAYERS, NumpyVAE, layer_shapes

KIND = "rvae-visual-model"
FORMAT_VERSION = 1
MAX_MODEL_BYTES = 64 * 1024 * 1024
META_KEY = "meta"
# decoder output at a few latent points, recorded at save time from the float32 weights and
# checked on load: catches damaged weights and float16 rounding beyond FLOAT16_TOLERANCE
CHECK_Z_KEY = "check.z"
CHECK_OUT_KEY = "check.out"
FLOAT16_TOLERANCE = 1e-3
FLOAT32_TOLERANCE = 1e-5


def _check_points() -> np.ndarray:
    g = np.linspace(-3.0, 3.0, 4, dtype=np.float32)
    return np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)


def _net(weights: Mapping[str, np.ndarray], meta: Mapping) -> NumpyVAE:
    rep, arch = meta["representation"], meta["arch"]
    return NumpyVAE(weights, len(rep["instruments"]), int(rep["ticks"]),
                    float(arch.get("leaky_slope", 0.3)), float(arch.get("timing_scale", 2.0)))


def save_model_file(path: str | os.PathLike, weights: Mapping[str, np.ndarray], meta: Mapping,
                    dtype: str = "float32") -> None:
    """Write weights and meta to `path` (an .npz); `dtype` "float16" halves the size, keeping
    in float32 whichever decoder layers it takes to stay within FLOAT16_TOLERANCE of the
    float32 decoder output (listed in meta "float32_layers"; usually none).

    The file is written beside the target and renamed over it, so a crash never leaves half a
    model under the final name."""
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be float32 or float16, not {dtype}")
    m = dict(meta)
    m["kind"] = KIND
    m["format_version"] = FORMAT_VERSION
    m["weights_dtype"] = dtype
    z = _check_points()
    want = _net({k: np.asarray(v, np.float32) for k, v in weights.items()}, m).decode(z)
    arrays = {k: np.asarray(v, dtype=dtype) for k, v in weights.items()}
    if dtype == "float16":
        kept = _float32_layers_needed(weights, arrays, m, z, want)
        m["float32_layers"] = kept
        for layer in kept:
            for part in "Wb":
                arrays[f"{layer}.{part}"] = np.asarray(weights[f"{layer}.{part}"], np.float32)
    arrays[CHECK_Z_KEY] = z
    arrays[CHECK_OUT_KEY] = want
    arrays[META_KEY] = np.frombuffer(json.dumps(m, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    p = Path(path)
    tmp = p.with_name(p.name + ".part")
    try:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()


def _float32_layers_needed(weights: Mapping[str, np.ndarray], arrays: dict[str, np.ndarray],
                           meta: Mapping, z: np.ndarray, want: np.ndarray) -> list[str]:
    """Decoder layers to keep in float32 so that the output stays within FLOAT16_TOLERANCE of
    the float32 model (greedy: each round keeps the layer that helps most). Usually none."""
    trial = dict(arrays)
    kept: list[str] = []

    def err() -> float:
        return float(np.abs(_net(trial, meta).decode(z) - want).max())

    current = err()
    candidates = list(DECODER_LAYERS)
    while current > FLOAT16_TOLERANCE and candidates:
        best, best_err = None, current
        for layer in candidates:
            saved = {p: trial[f"{layer}.{p}"] for p in "Wb"}
            for p in "Wb":
                trial[f"{layer}.{p}"] = np.asarray(weights[f"{layer}.{p}"], np.float32)
            e = err()
            for p in "Wb":
                trial[f"{layer}.{p}"] = saved[p]
            if best is None or e < best_err:
                best, best_err = layer, e
        for p in "Wb":
            trial[f"{best}.{p}"] = np.asarray(weights[f"{best}.{p}"], np.float32)
        assert best is not None
        kept.append(best)
        candidates.remove(best)
        current = best_err
    return kept


def _arch(meta: dict, where: str) -> tuple[int, int, int]:
    try:
        rep = meta["representation"]
        n_inst = len(rep["instruments"])
        ticks = int(rep["ticks"])
        arch = meta["arch"]
        return n_inst * ticks, int(arch["hidden"]), int(arch["latent"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{where}: corrupt model file (metadata lacks the representation "
                         "or architecture)") from None


MAX_ARRAY_BYTES = 64 * 2**20  # far above any layer of ours; a header claiming more is refused unread


def _check_array_sizes(data: bytes, where: str) -> None:
    """Refuse an archive whose .npy headers claim arrays bigger than the bytes stored for them
    (or than MAX_ARRAY_BYTES), before numpy allocates anything for them."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                    body = info.file_size - f.tell()
                count = 1
                for n in shape:
                    count *= int(n)
                claimed = count * dtype.itemsize
                if claimed > min(body, MAX_ARRAY_BYTES):
                    raise InputError(f"{where}: corrupt model file (entry '{info.filename[:-4]}' claims "
                                     f"{claimed / 1e6:.6g} MB of data; {max(body, 0) / 1e6:.3g} MB are stored)")
    except InputError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, zlib.error) as e:
        raise InputError(f"{where}: corrupt model file ({type(e).__name__}: {e})") from None


def read_model_file(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a model file: (float32 weights, meta). InputError (one line) when it cannot be used."""
    p = Path(path)
    where = str(p)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{where}: no such model file") from None
    except OSError as e:
        raise InputError(f"{where}: cannot read ({e.strerror or e})") from None
    if p.is_dir():
        raise InputError(f"{where}: is a folder, not a model file")
    if size > MAX_MODEL_BYTES:
        raise InputError(f"{where}: {size / 1e6:.0f} MB is too big for an rvae-visual model file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"{where}: cannot read ({e.strerror or e})") from None
    if not data.startswith(b"PK\x03\x04"):
        what = "a MIDI file" if data.startswith(b"MThd") else "not an .npz archive"
        raise InputError(f"{where}: not an rvae-visual model file ({what})")
    _check_array_sizes(data, where)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            names = set(npz.files)
            if META_KEY not in names:
                raise InputError(f"{where}: not an rvae-visual model file (an .npz archive without "
                                 "rvae-visual metadata)")
            raw_meta = npz[META_KEY]
            arrays = {k: npz[k] for k in names if k != META_KEY}
    except InputError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, zlib.error) as e:
        raise InputError(f"{where}: corrupt model file ({type(e).__name__}: {e})") from None
    if raw_meta.dtype != np.uint8 or raw_meta.ndim != 1:
        raise InputError(f"{where}: not an rvae-visual model file (its 'meta' entry is not ours)")
    try:
        meta = json.loads(raw_meta.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{where}: corrupt model file (metadata is not valid JSON: {e})") from None
    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        raise InputError(f"{where}: not an rvae-visual model file (kind "
                         f"{meta.get('kind') if isinstance(meta, dict) else None!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise InputError(f"{where}: corrupt model file (format version {version!r})")
    if version > FORMAT_VERSION:
        raise InputError(f"{where}: model format version {version} is newer than this rvae-visual "
                         f"reads (up to {FORMAT_VERSION}); upgrade rvae-visual to load it")
    dim, hidden, latent = _arch(meta, where)
    weights: dict[str, np.ndarray] = {}
    for layer, (n_in, n_out) in layer_shapes(dim, hidden, latent).items():
        for part, shape in (("W", (n_in, n_out)), ("b", (n_out,))):
            key = f"{layer}.{part}"
            a = arrays.get(key)
            if a is None:
                raise InputError(f"{where}: corrupt model file (weights '{key}' are missing)")
            if a.shape != shape or a.dtype.kind != "f":
                raise InputError(f"{where}: corrupt model file (weights '{key}' are {a.dtype} "
                                 f"{a.shape}, expected {shape})")
            a = a.astype(np.float32)
            if not np.all(np.isfinite(a)):
                raise InputError(f"{where}: corrupt model file (weights '{key}' are not finite)")
            weights[key] = a
    assert set(weights) == {f"{n}.{p}" for n in LAYERS for p in "Wb"}
    z, want = arrays.get(CHECK_Z_KEY), arrays.get(CHECK_OUT_KEY)
    if z is None or want is None:
        raise InputError(f"{where}: corrupt model file (its check values are missing)")
    try:
        got = _net(weights, meta).decode(np.asarray(z, np.float32))
        err = float(np.abs(got - want).max())
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{where}: corrupt model file ({type(e).__name__}: {e})") from None
    tol = FLOAT16_TOLERANCE if meta.get("weights_dtype") == "float16" else FLOAT32_TOLERANCE
    if not err <= tol * 1.01:
        raise InputError(f"{where}: corrupt model file (decoder output differs by {err:.2g} "
                         "from the values recorded when it was saved)")
    return weights, meta

