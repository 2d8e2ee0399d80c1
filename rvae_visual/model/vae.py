"""The VAE (torch; training only) and both recipes' losses.

Architecture (R-VAE / M4L.RhythmVAE, as docs/architecture.md lists it): three inputs of
instruments x 96 ticks (onsets, velocities, microtiming), each Dense + BatchNorm + LeakyReLU,
concatenated, Dense + BatchNorm + LeakyReLU, then a 2-D latent (mean, log-variance). Decoder:
Dense + BatchNorm + LeakyReLU, then three heads Dense + BatchNorm + LeakyReLU -> Dense with
sigmoid (onsets), sigmoid (velocity), tanh (microtiming). Keras/tfjs defaults are kept where
the original relied on them: LeakyReLU slope 0.3, BatchNorm momentum 0.99 (torch 0.01) and
epsilon 1e-3, Glorot-normal kernels (truncated) in hidden layers, Glorot-uniform output heads.

Microtiming goes through the net as offset x 2, i.e. in [-1, 1) like the original's
"timeshift" (a half grid step = 1); `TIMING_SCALE` converts.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..pattern import TICKS_PER_BAR

TIMING_SCALE = 2.0  # network timing unit = offset in ticks x 2
LEAKY_SLOPE = 0.3  # tf.layers.leakyReLU default alpha
BN_EPS = 1e-3  # tf batchNormalization default epsilon
BN_MOMENTUM = 0.01  # = 1 - 0.99 (tf default momentum)
VEL_LOSS_COEF = 2.5
TS_LOSS_COEF = 5.0


def _glorot_normal_(w: torch.Tensor) -> None:
    fan_out, fan_in = w.shape
    std = math.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978  # keras truncated-normal fix
    nn.init.trunc_normal_(w, 0.0, std, -2 * std, 2 * std)


class DenseBN(nn.Module):
    """Linear -> BatchNorm1d -> LeakyReLU(0.3)."""

    def __init__(self, n_in: int, n_out: int, bn_momentum: float = BN_MOMENTUM) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        self.bn = nn.BatchNorm1d(n_out, eps=BN_EPS, momentum=bn_momentum)
        _glorot_normal_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.bn(self.linear(x)), LEAKY_SLOPE)


class RhythmVAE(nn.Module):
    """The R-VAE network: `n_instruments` x `ticks` per matrix, `hidden` units, 2-D latent."""

    def __init__(self, n_instruments: int = 3, ticks: int = TICKS_PER_BAR, hidden: int = 512,
                 latent: int = 2, bn_momentum: float = BN_MOMENTUM,
                 timing_instrument_bias: bool = False) -> None:
        super().__init__()
        self.n_instruments = n_instruments
        self.ticks = ticks
        self.hidden = hidden
        self.latent = latent
        dim = n_instruments * ticks
        self.dim = dim
        self.enc_on = DenseBN(dim, hidden, bn_momentum)
        self.enc_vel = DenseBN(dim, hidden, bn_momentum)
        self.enc_ts = DenseBN(dim, hidden, bn_momentum)
        self.enc_merge = DenseBN(3 * hidden, hidden, bn_momentum)
        self.z_mean = nn.Linear(hidden, latent)
        self.z_logvar = nn.Linear(hidden, latent)
        for lin in (self.z_mean, self.z_logvar):
            _glorot_normal_(lin.weight)
            nn.init.zeros_(lin.bias)
        self.dec_in = DenseBN(latent, hidden, bn_momentum)
        self.dec_on = DenseBN(hidden, hidden, bn_momentum)
        self.dec_vel = DenseBN(hidden, hidden, bn_momentum)
        self.dec_ts = DenseBN(hidden, hidden, bn_momentum)
        self.out_on = nn.Linear(hidden, dim)
        self.out_vel = nn.Linear(hidden, dim)
        self.out_ts = nn.Linear(hidden, dim)
        for lin in (self.out_on, self.out_vel, self.out_ts):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)
        # default recipe: a per-instrument timing term shared by all ticks (a laid-back snare),
        # a reparameterisation of out_ts (folded into it on export), starting at zero
        self.out_ts_inst = nn.Linear(hidden, n_instruments) if timing_instrument_bias else None
        if self.out_ts_inst is not None:
            nn.init.zeros_(self.out_ts_inst.weight)
            nn.init.zeros_(self.out_ts_inst.bias)

    def encode(self, on: torch.Tensor, vel: torch.Tensor, ts: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, dim) x3 (ts in network units) -> latent mean, log-variance (batch, latent)."""
        h = torch.cat([self.enc_on(on), self.enc_vel(vel), self.enc_ts(ts)], dim=1)
        h = self.enc_merge(h)
        return self.z_mean(h), self.z_logvar(h)

    def decode_logits(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Latent (batch, latent) -> onset logits, velocity (0..1), timing (-1..1, network units)."""
        h = self.dec_in(z)
        on = self.out_on(self.dec_on(h))
        vel = torch.sigmoid(self.out_vel(self.dec_vel(h)))
        h_ts = self.dec_ts(h)
        ts = self.out_ts(h_ts)
        if self.out_ts_inst is not None:
            ts = ts + self.out_ts_inst(h_ts).repeat_interleave(self.ticks, dim=1)
        return on, vel, torch.tanh(ts)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Latent -> onset probability, velocity, timing (network units)."""
        on, vel, ts = self.decode_logits(z)
        return torch.sigmoid(on), vel, ts

    def forward(self, on: torch.Tensor, vel: torch.Tensor, ts: torch.Tensor):
        """One pass with the reparameterisation trick: (mean, logvar, (logits, vel, ts))."""
        mu, logvar = self.encode(on, vel, ts)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return mu, logvar, self.decode_logits(z)

    def timing_output(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight (dim, hidden) and bias (dim,) of the timing output layer, the per-instrument
        term folded in."""
        w, b = self.out_ts.weight, self.out_ts.bias
        if self.out_ts_inst is not None:
            w = w + self.out_ts_inst.weight.repeat_interleave(self.ticks, dim=0)
            b = b + self.out_ts_inst.bias.repeat_interleave(self.ticks, dim=0)
        return w, b

    def n_params(self) -> int:
        """Trainable parameters."""
        return sum(p.numel() for p in self.parameters())


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per example, summed over latent dimensions: (batch,)."""
    return -0.5 * torch.sum(1.0 + logvar - mu.square() - logvar.exp(), dim=-1)


def paper_loss(batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor], mu: torch.Tensor,
               logvar: torch.Tensor, out: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
               ) -> tuple[torch.Tensor, dict[str, float]]:
    """The original loss: BCE + 2.5 MSE velocity + 5 MSE timing + KL, each summed over the
    288 outputs (the original's mean x dim), unmasked, averaged over the batch."""
    on_t, vel_t, ts_t = batch
    logits, vel, ts = out
    bce = F.binary_cross_entropy_with_logits(logits, on_t, reduction="none").sum(1)
    vel_l = VEL_LOSS_COEF * (vel - vel_t).square().sum(1)
    ts_l = TS_LOSS_COEF * (ts - ts_t).square().sum(1)
    kl = kl_divergence(mu, logvar)
    total = (bce + vel_l + ts_l + kl).mean()
    return total, {"onset": float(bce.mean().detach()), "velocity": float(vel_l.mean().detach()),
                   "timing": float(ts_l.mean().detach()), "kl": float(kl.mean().detach())}


def _error(pred: torch.Tensor, true: torch.Tensor, kind: str, delta: float) -> torch.Tensor:
    """Elementwise error: "mse" (squared), "l1" (absolute) or "huber" (squared below `delta`,
    linear above; scaled to match l1 for large errors)."""
    if kind == "mse":
        return (pred - true).square()
    if kind == "l1":
        return (pred - true).abs()
    if kind == "huber":
        return F.huber_loss(pred, true, reduction="none", delta=delta) / delta
    raise ValueError(f"unknown error kind {kind!r}")


def default_loss(batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor], mu: torch.Tensor,
                 logvar: torch.Tensor, out: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
                 beta: float = 1.0, off_hit_weight: float = 0.0, timing_loss: str = "mse",
                 velocity_loss: str = "mse", huber_delta: float = 0.1, pos_weight: float = 1.0,
                 vel_coef: float = VEL_LOSS_COEF, ts_coef: float = TS_LOSS_COEF) -> tuple[torch.Tensor, dict[str, float]]:
    """Our loss: BCE summed over outputs (hits weighted by `pos_weight`); velocity and timing
    errors only where the bar really has a hit (elsewhere they are never played); with
    `off_hit_weight` > 0 the timing error where the bar has no hit counts that much (a pull
    towards "on the grid" where the clips do not agree); `timing_loss` / `velocity_loss` pick
    the error ("mse", "l1", "huber"); KL weighted by `beta` (warm-up)."""
    on_t, vel_t, ts_t = batch
    logits, vel, ts = out
    pw = None if pos_weight == 1.0 else torch.tensor(pos_weight, dtype=logits.dtype)
    bce = F.binary_cross_entropy_with_logits(logits, on_t, reduction="none", pos_weight=pw).sum(1)
    ts_mask = on_t if off_hit_weight <= 0 else on_t + off_hit_weight * (1.0 - on_t)
    vel_l = vel_coef * (_error(vel, vel_t, velocity_loss, huber_delta) * on_t).sum(1)
    ts_l = ts_coef * (_error(ts, ts_t, timing_loss, huber_delta) * ts_mask).sum(1)
    kl = kl_divergence(mu, logvar)
    total = (bce + vel_l + ts_l + beta * kl).mean()
    return total, {"onset": float(bce.mean().detach()), "velocity": float(vel_l.mean().detach()),
                   "timing": float(ts_l.mean().detach()), "kl": float(kl.mean().detach())}
