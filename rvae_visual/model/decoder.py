"""The VAE in plain numpy (BatchNorm folded into the weights): what playing and rendering use.

Weights are a dict of float32 arrays `<layer>.W` (inputs, outputs) and `<layer>.b` (outputs)
for the layers of `vae.RhythmVAE` in eval mode, each hidden layer followed by LeakyReLU. No torch
here: the play path imports this module only.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

ENCODER_LAYERS = ("enc_on", "enc_vel", "enc_ts", "enc_merge", "z_mean", "z_logvar")
DECODER_LAYERS = ("dec_in", "dec_on", "dec_vel", "dec_ts", "out_on", "out_vel", "out_ts")
LAYERS = ENCODER_LAYERS + DECODER_LAYERS
OFFSET_MAX = np.float32(0.5) - np.float32(2.0 ** -20)  # offsets of a timing_scale 2 model: [-0.5, 0.5)


def offset_range(timing_scale: float) -> tuple[np.float32, np.float32]:
    """Offsets (ticks) a decoder with `timing_scale` gives: [-1/scale, 1/scale), as float32."""
    lim = np.float32(1.0 / float(timing_scale))
    return -lim, lim - lim * np.float32(2.0 ** -20)


def layer_shapes(dim: int, hidden: int, latent: int = 2) -> dict[str, tuple[int, int]]:
    """(inputs, outputs) of every layer for matrices of `dim` = instruments x ticks values."""
    return {
        "enc_on": (dim, hidden), "enc_vel": (dim, hidden), "enc_ts": (dim, hidden),
        "enc_merge": (3 * hidden, hidden),
        "z_mean": (hidden, latent), "z_logvar": (hidden, latent),
        "dec_in": (latent, hidden),
        "dec_on": (hidden, hidden), "dec_vel": (hidden, hidden), "dec_ts": (hidden, hidden),
        "out_on": (hidden, dim), "out_vel": (hidden, dim), "out_ts": (hidden, dim),
    }


def fold_batchnorm(weight: np.ndarray, bias: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                   mean: np.ndarray, var: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Linear (torch layout: weight (out, in)) then BatchNorm in eval mode, as one linear layer.

    Returns W (in, out) and b (out,) in float64."""
    s = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    w = weight.astype(np.float64).T * s[None, :]
    b = (bias.astype(np.float64) - mean) * s + beta
    return w, b


def _leaky(x: np.ndarray, slope: float) -> np.ndarray:
    return np.maximum(x, x * np.float32(slope))


def _sigmoid_(x: np.ndarray) -> np.ndarray:
    """Logistic sigmoid in place, as 0.5 tanh(x/2) + 0.5 (no overflow, faster than exp)."""
    x *= np.float32(0.5)
    np.tanh(x, out=x)
    x *= np.float32(0.5)
    x += np.float32(0.5)
    return x


class NumpyVAE:
    """Encoder and decoder of a trained model, numpy float32.

    `decode` gives (N, 3, instruments, ticks): onset probability, velocity 0..1, offset in
    ticks within +-1/timing_scale (`offset_range`). `encode` gives latent means (N, latent)."""

    def __init__(self, weights: Mapping[str, np.ndarray], n_instruments: int, ticks: int,
                 leaky_slope: float = 0.3, timing_scale: float = 2.0) -> None:
        w = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
        self.n_instruments = n_instruments
        self.ticks = ticks
        self.dim = n_instruments * ticks
        self.hidden = w["dec_in.W"].shape[1]
        self.latent = w["dec_in.W"].shape[0]
        self.slope = float(leaky_slope)
        self.timing_scale = float(timing_scale)
        self.offset_lo, self.offset_hi = offset_range(self.timing_scale)
        self.w = w
        h = self.hidden
        # the three heads' first layers as one matmul, their output layers as one batched matmul
        self._heads_w = np.ascontiguousarray(
            np.concatenate([w["dec_on.W"], w["dec_vel.W"], w["dec_ts.W"]], axis=1))
        self._heads_b = np.concatenate([w["dec_on.b"], w["dec_vel.b"], w["dec_ts.b"]])
        self._out_w = np.ascontiguousarray(np.stack([w["out_on.W"], w["out_vel.W"], w["out_ts.W"]]))
        self._out_b = np.stack([w["out_on.b"], w["out_vel.b"], w["out_ts.b"]])[:, None, :]
        self._enc_in_w = [w["enc_on.W"], w["enc_vel.W"], w["enc_ts.W"]]
        self._enc_in_b = [w["enc_on.b"], w["enc_vel.b"], w["enc_ts.b"]]
        assert self._heads_w.shape == (h, 3 * h)

    def decode_raw(self, z: np.ndarray) -> np.ndarray:
        """Latent points (N, latent) -> (3, N, dim): onset probability, velocity, timing in
        network units (offset x timing_scale)."""
        z = np.asarray(z, dtype=np.float32).reshape(-1, self.latent)
        n = z.shape[0]
        h = _leaky(z @ self.w["dec_in.W"] + self.w["dec_in.b"], self.slope)
        heads = _leaky(h @ self._heads_w + self._heads_b, self.slope)
        heads = heads.reshape(n, 3, self.hidden).transpose(1, 0, 2)
        out = np.matmul(heads, self._out_w)  # (3, N, dim)
        out += self._out_b
        _sigmoid_(out[0])
        _sigmoid_(out[1])
        np.tanh(out[2], out=out[2])
        return out

    def decode_split(self, z: np.ndarray) -> np.ndarray:
        """Latent points (N, latent) -> (3, N, instruments, ticks) float32: onsets, velocities,
        offsets (ticks), each a contiguous block (what the grid keeps)."""
        out = self.decode_raw(z)
        out[2] *= np.float32(1.0 / self.timing_scale)
        np.clip(out[2], self.offset_lo, self.offset_hi, out=out[2])
        return out.reshape(3, out.shape[1], self.n_instruments, self.ticks)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Latent points (N, latent) -> (N, 3, instruments, ticks) float32: onsets, velocities,
        offsets (ticks)."""
        return np.ascontiguousarray(self.decode_split(z).transpose(1, 0, 2, 3))

    def encode_raw(self, on: np.ndarray, vel: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, dim) matrices (timing in network units) -> latent mean, log-variance."""
        parts = [
            _leaky(np.asarray(x, np.float32) @ wi + bi, self.slope)
            for x, wi, bi in zip((on, vel, ts), self._enc_in_w, self._enc_in_b)
        ]
        h = _leaky(np.concatenate(parts, axis=1) @ self.w["enc_merge.W"] + self.w["enc_merge.b"],
                   self.slope)
        return h @ self.w["z_mean.W"] + self.w["z_mean.b"], h @ self.w["z_logvar.W"] + self.w["z_logvar.b"]

    def encode(self, arrays: np.ndarray) -> np.ndarray:
        """Bars (N, 3, instruments, ticks) as Pattern.to_array() stacks -> latent means (N, latent)."""
        a = np.asarray(arrays, np.float32).reshape(-1, 3, self.dim)
        mu, _ = self.encode_raw(a[:, 0], a[:, 1], a[:, 2] * np.float32(self.timing_scale))
        return mu
