"""The VAE (torch): paper architecture and losses, both training loops, reproducibility, and the
numpy decoder/encoder against torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rvae_visual.drum_map import default_drum_map
from rvae_visual.model.clips import read_clip
from rvae_visual.model.decoder import NumpyVAE
from rvae_visual.model.training import (
    PAPER, Adam, TrainSet, export_weights, paper_plan, recipe_config, rotate_beats, train,
    trainset_from_clips,
)
from rvae_visual.model.vae import (
    BN_EPS, LEAKY_SLOPE, TIMING_SCALE, RhythmVAE, default_loss, kl_divergence, paper_loss,
)
from rvae_visual.pattern import TICKS_PER_BAR


def random_bars(n: int, seed: int = 0, density: float = 0.15) -> np.ndarray:
    """(n, 3, 3, 96) bars: 0/1 onsets, velocities and offsets only where there are hits."""
    rng = np.random.default_rng(seed)
    on = (rng.random((n, 3, TICKS_PER_BAR)) < density).astype(np.float32)
    vel = on * rng.uniform(0.2, 1.0, on.shape).astype(np.float32)
    off = on * rng.uniform(-0.5, 0.49, on.shape).astype(np.float32)
    return np.stack([on, vel, off], axis=1)


def fake_set(n_clips: int, bars_per_clip: int = 2, seed: int = 0) -> TrainSet:
    arrays = random_bars(n_clips * bars_per_clip, seed)
    return TrainSet(arrays, np.repeat(np.arange(n_clips), bars_per_clip),
                    [b for _ in range(n_clips) for b in range(bars_per_clip)],
                    [{"name": f"clip{i}", "file": f"clip{i}.mid", "bpm": 120.0, "bars": bars_per_clip}
                     for i in range(n_clips)])


def as_tensors(a: np.ndarray):
    flat = torch.from_numpy(a.reshape(len(a), 3, -1))
    return flat[:, 0], flat[:, 1], flat[:, 2] * TIMING_SCALE


def test_paper_architecture_shapes_and_activations():
    m = RhythmVAE()  # 3 instruments x 96 ticks, 512 hidden, 2-D latent
    assert m.dim == 288 and 3 * m.dim == 864  # 864 inputs: 3 matrices x 3 instruments x 96 ticks
    for name in ("enc_on", "enc_vel", "enc_ts"):
        lin = getattr(m, name).linear
        assert (lin.in_features, lin.out_features) == (288, 512)
    assert (m.enc_merge.linear.in_features, m.enc_merge.linear.out_features) == (1536, 512)
    assert m.z_mean.out_features == 2 and m.z_logvar.out_features == 2
    assert (m.dec_in.linear.in_features, m.dec_in.linear.out_features) == (2, 512)
    for name in ("out_on", "out_vel", "out_ts"):
        assert getattr(m, name).in_features == 512 and getattr(m, name).out_features == 288
    for bn in (m.enc_on.bn, m.dec_in.bn, m.dec_ts.bn):
        assert bn.eps == BN_EPS == 1e-3 and bn.momentum == pytest.approx(0.01)  # tf momentum 0.99
    assert LEAKY_SLOPE == 0.3  # tf.layers.leakyReLU default
    m.eval()
    with torch.no_grad():
        on, vel, ts = m.decode(torch.randn(7, 2) * 5)
    assert on.shape == vel.shape == ts.shape == (7, 288)
    assert float(on.min()) >= 0 and float(on.max()) <= 1  # sigmoid
    assert float(vel.min()) >= 0 and float(vel.max()) <= 1  # sigmoid
    assert float(ts.min()) >= -1 and float(ts.max()) <= 1 and float(ts.min()) < 0  # tanh


def test_paper_loss_is_the_original_sum_and_default_loss_is_masked():
    torch.manual_seed(1)
    a = random_bars(4, seed=3)
    batch = as_tensors(a)
    logits = torch.randn(4, 288)
    vel = torch.rand(4, 288)
    ts = torch.rand(4, 288) * 2 - 1
    mu, logvar = torch.randn(4, 2), torch.randn(4, 2) * 0.3
    total, parts = paper_loss(batch, mu, logvar, (logits, vel, ts))
    p = torch.sigmoid(logits)
    on_t, vel_t, ts_t = batch
    bce = -(on_t * torch.log(p) + (1 - on_t) * torch.log(1 - p)).sum(1)
    kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)
    want = (bce + 2.5 * ((vel - vel_t) ** 2).sum(1) + 5.0 * ((ts - ts_t) ** 2).sum(1) + kl).mean()
    assert float(total) == pytest.approx(float(want), rel=1e-5)
    assert parts["kl"] == pytest.approx(float(kl.mean()), rel=1e-5)
    assert torch.allclose(kl_divergence(mu, logvar), kl)
    # masked: changing velocity/timing predictions where there is no true hit changes nothing
    d_total, _ = default_loss(batch, mu, logvar, (logits, vel, ts), beta=1.0)
    vel2, ts2 = vel.clone(), ts.clone()
    no_hit = on_t == 0
    vel2[no_hit] = 1.0 - vel2[no_hit]
    ts2[no_hit] = -ts2[no_hit]
    d_total2, _ = default_loss(batch, mu, logvar, (logits, vel2, ts2), beta=1.0)
    assert float(d_total) == pytest.approx(float(d_total2), rel=1e-6)
    p_total2, _ = paper_loss(batch, mu, logvar, (logits, vel2, ts2))
    assert float(p_total2) != pytest.approx(float(total), rel=1e-3)  # the paper loss is not masked
    # beta scales only the KL term
    d0, _ = default_loss(batch, mu, logvar, (logits, vel, ts), beta=0.0)
    assert float(d_total - d0) == pytest.approx(float(kl.mean()), rel=1e-4)


def test_default_loss_options_l1_timing_and_hit_weight():
    torch.manual_seed(2)
    a = random_bars(3, seed=5)
    batch = as_tensors(a)
    on_t, vel_t, ts_t = batch
    logits, vel, ts = torch.randn(3, 288), torch.rand(3, 288), torch.rand(3, 288) * 2 - 1
    mu, logvar = torch.randn(3, 2), torch.randn(3, 2) * 0.3
    total, parts = default_loss(batch, mu, logvar, (logits, vel, ts), 1.0, 0.3, timing_loss="l1",
                                velocity_loss="l1", pos_weight=2.0)
    p = torch.sigmoid(logits)
    bce = -(2.0 * on_t * torch.log(p) + (1 - on_t) * torch.log(1 - p)).sum(1)
    vel_l = 2.5 * ((vel - vel_t).abs() * on_t).sum(1)
    ts_l = 5.0 * ((ts - ts_t).abs() * (on_t + 0.3 * (1 - on_t))).sum(1)
    kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1)
    assert float(total) == pytest.approx(float((bce + vel_l + ts_l + kl).mean()), rel=1e-5)
    assert parts["timing"] == pytest.approx(float(ts_l.mean()), rel=1e-5)
    # huber: quadratic below delta, |error| - delta / 2 above (scaled by 1 / delta)
    d = 0.1
    _, hp = default_loss(batch, mu, logvar, (logits, vel, ts), 1.0, 0.0, timing_loss="huber",
                         huber_delta=d)
    err = (ts - ts_t).abs()
    hub = torch.where(err < d, 0.5 * err**2 / d, err - 0.5 * d)
    assert hp["timing"] == pytest.approx(float((5.0 * (hub * on_t).sum(1)).mean()), rel=1e-5)
    with pytest.raises(ValueError):
        default_loss(batch, mu, logvar, (logits, vel, ts), timing_loss="l3")


def test_paper_plan_duplicates_to_64_clips_and_runs_floor_n_over_64_batches():
    cfg = PAPER
    data = fake_set(12, bars_per_clip=2)
    plan = paper_plan(data, cfg, np.random.default_rng(0))
    assert len(plan.rows) == 128  # 12 clips repeated up to 64 clips of 2 bars
    counts = np.bincount(data.clip_index[plan.rows], minlength=12)
    assert sorted(counts.tolist()) == [10] * 8 + [12] * 4  # clips 0-3 six times, the rest five
    assert len(plan.train_rows) == math.floor(128 * 5 / 6) == 106 and len(plan.test_rows) == 22
    assert plan.batches_per_epoch == 2  # floor(128 / 64)
    big = fake_set(100, bars_per_clip=1)
    plan = paper_plan(big, cfg, np.random.default_rng(0))
    assert len(plan.rows) == 100 and plan.batches_per_epoch == 1  # no duplication above 64 clips
    assert sorted(plan.rows.tolist()) == list(range(100))


def test_paper_recipe_defaults():
    assert (PAPER.hidden, PAPER.lr, PAPER.batch_size, PAPER.epochs) == (512, 1e-3, 64, 150)
    assert recipe_config("paper").epochs == 150 and recipe_config("paper", 3).epochs == 3
    with pytest.raises(ValueError):
        recipe_config("magic")


def test_adam_matches_torch_adam():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(6, 4), torch.nn.Linear(6, 4)
    b.load_state_dict(a.state_dict())
    o1 = Adam(a.parameters(), lr=1e-2, eps=1e-7, weight_decay=0.01)
    o2 = torch.optim.Adam(b.parameters(), lr=1e-2, eps=1e-7, weight_decay=0.01)
    for _ in range(30):
        x = torch.randn(8, 6)
        for m, o in ((a, o1), (b, o2)):
            o.zero_grad()
            (m(x) ** 2).sum().backward()
            o.step()
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_rotate_beats_moves_whole_beats_only():
    a = random_bars(5, seed=2)
    r = rotate_beats(a, np.random.default_rng(0), 1.0)
    for x, y in zip(a, r):
        shifts = [k for k in (24, 48, 72) if np.array_equal(np.roll(x, k, axis=-1), y)]
        assert len(shifts) == 1
    assert rotate_beats(a, np.random.default_rng(0), 0.0) is a


def test_same_seed_same_weights_other_seed_other_weights():
    data = fake_set(6)
    cfg = recipe_config("default", 4, hidden=32)
    w1 = train(data, seed=7, config=cfg).weights
    w2 = train(data, seed=7, config=cfg).weights
    w3 = train(data, seed=8, config=cfg).weights
    assert all(np.array_equal(w1[k], w2[k]) for k in w1)
    assert not all(np.array_equal(w1[k], w3[k]) for k in w1)
    pcfg = recipe_config("paper", 2, hidden=32)
    p1 = train(data, "paper", seed=3, config=pcfg)
    p2 = train(data, "paper", seed=3, config=pcfg)
    assert all(np.array_equal(p1.weights[k], p2.weights[k]) for k in p1.weights)
    assert [h["epoch"] for h in p1.history] == [1, 2] and p1.stop_reason == "completed"


def test_default_recipe_keeps_the_best_epoch_and_stops_when_asked():
    data = fake_set(6)
    cfg = recipe_config("default", 30, hidden=32, warmup_fraction=0.1, patience_fraction=1.0)
    seen = []
    res = train(data, config=cfg, on_epoch=lambda r: seen.append(r.epoch),
                should_stop=lambda: len(seen) >= 12)
    assert res.stop_reason == "interrupted" and res.epochs_run == 12 == len(seen)
    assert 1 <= res.best_epoch <= 12
    vals = [h["val_loss"] for h in res.history]
    assert all(v is not None for v in vals)  # 12 bars: 2 are held out for validation
    assert res.final_val_loss == res.history[res.best_epoch - 1]["val_loss"]
    # without patience to spare, training stops early on its own
    cfg = recipe_config("default", 200, hidden=32, warmup_fraction=0.05, patience_fraction=0.01)
    res = train(data, config=cfg)
    assert res.stop_reason == "early stop" and res.epochs_run < 200
    assert res.epochs_run - res.best_epoch == 5  # patience: at least 5 epochs
    assert len(res.meta["landmarks"]) == 12
    assert {m["clip"] for m in res.meta["landmarks"]} == {f"clip{i}" for i in range(6)}


def test_numpy_decoder_and_encoder_equal_torch(corpus):
    """Trained weights with non-trivial BatchNorm statistics, folded: numpy == torch to 1e-5."""
    clips = [read_clip(p) for p in sorted((corpus / "gmd" / "funk").glob("*.mid"))[:4]]
    data = trainset_from_clips(clips)
    cfg = recipe_config("default", 6, hidden=64)
    res = train(data, config=cfg, seed=1)
    assert res.meta["arch"]["hidden"] == 64
    torch.manual_seed(1)
    model = RhythmVAE(3, TICKS_PER_BAR, 64, timing_instrument_bias=True)
    with torch.no_grad():  # a non-zero per-instrument timing term, to be folded into out_ts
        model.out_ts_inst.weight.normal_(0.0, 0.2)
        model.out_ts_inst.bias.uniform_(-0.3, 0.3)
    # give BatchNorm real statistics and affine terms, then compare
    model.train()
    x = as_tensors(data.arrays)
    for _ in range(5):
        model(*x)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm1d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    model.eval()
    net = NumpyVAE(export_weights(model), 3, TICKS_PER_BAR, LEAKY_SLOPE, TIMING_SCALE)
    z = np.random.default_rng(0).uniform(-3, 3, (50, 2)).astype(np.float32)
    with torch.no_grad():
        on, vel, ts = model.decode(torch.from_numpy(z))
        mu, _ = model.encode(*x)
    raw = net.decode_raw(z)
    assert np.abs(raw[0] - on.numpy()).max() < 1e-5
    assert np.abs(raw[1] - vel.numpy()).max() < 1e-5
    assert np.abs(raw[2] - ts.numpy()).max() < 1e-5
    dec = net.decode(z)
    assert dec.shape == (50, 3, 3, TICKS_PER_BAR)
    assert np.abs(dec[:, 2].reshape(50, -1) - ts.numpy() / 2).max() < 1e-5
    assert dec[:, 2].min() >= -0.5 and dec[:, 2].max() < 0.5
    assert np.abs(net.encode(data.arrays) - mu.numpy()).max() < 1e-5
    # and the trained model's landmarks are its own encoder's means
    net2 = NumpyVAE(res.weights, 3, TICKS_PER_BAR, timing_scale=res.meta["arch"]["timing_scale"])
    means = net2.encode(data.arrays)
    got = np.array([m["z"] for m in res.meta["landmarks"]])
    assert np.abs(got - means).max() < 1e-4
    assert default_drum_map().instruments == tuple(res.meta["representation"]["instruments"])
