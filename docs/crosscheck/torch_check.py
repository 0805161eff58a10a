#!/usr/bin/env python3
"""Independent replay of an Rnnx chapter-model training run in PyTorch, with Keras semantics.

Reads what dump/ (the C# dumper) wrote for one model and seed: the data, the initial weights (Keras order), the
per-epoch shuffle permutations that Sequential.Fit used (verified there by a bit-identical TrainOnBatch replay),
Rnnx's per-batch and per-epoch losses and its final weights. Then trains the same model from the same weights on
the same batches with:
  - Flatten + Dense, SimpleRNN h_t = tanh(x_t W + b + h_{t-1} U) with h_0 = 0 and full BPTT, Dense on the last
    state or on every time step (TimeDistributed)  (keras-semantics.md 3, 4)
  - mean squared error averaged over all elements of the batch; the last partial batch averaged over its own size (9.1)
  - History loss = batch-size-weighted mean of the pre-update batch losses; val_loss = weighted mean over batches
    of 32 after the epoch (9.2, 11); last_time_step_mse per sample, averaged over samples (9.3)
  - Keras 3 Nadam written out by hand from keras-semantics.md 10.1 (lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-7),
    constants cast to the working dtype first
in float64 (reference) and float32, and prints them next to Rnnx's numbers.

usage: python3 torch_check.py OUTDIR [--dtype float64|float32|both] [--perturb EPS] [--json FILE]
  --perturb EPS  multiplies every initial weight by (1 + EPS * r), r uniform in [-1, 1] (fixed numpy seed), to
                 measure how far rounding-sized differences alone move the result (the chaos yardstick).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

BATCH = 32


# ------------------------------------------------------------------ Keras 3 Nadam (keras-semantics.md 10.1)
class Nadam:
    def __init__(self, params, dtype, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
        c = lambda v: torch.tensor(v, dtype=dtype)
        self.c = c
        self.lr, self.b1, self.b2, self.eps = c(lr), c(beta1), c(beta2), c(eps)
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.P = c(1.0)          # the shared momentum-schedule product
        self.iterations = 0

    @torch.no_grad()
    def step(self, params, grads):
        c = self.c
        t, tn = c(float(self.iterations + 1)), c(float(self.iterations + 2))
        decay = c(0.96)
        # once per step, before any variable: P <- P * beta1 * (1 - 0.5 * 0.96^t)
        self.P = self.P * self.b1 * (1.0 - 0.5 * torch.pow(decay, t))
        u_t = self.b1 * (1.0 - 0.5 * torch.pow(decay, t))
        u_t1 = self.b1 * (1.0 - 0.5 * torch.pow(decay, tn))
        P_t = self.P
        P_t1 = P_t * u_t1
        b2_pow = torch.pow(self.b2, t)
        one_m_b1, one_m_b2 = 1.0 - self.b1, 1.0 - self.b2
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m.add_((g - m) * one_m_b1)
            v.add_((g * g - v) * one_m_b2)
            m_hat = u_t1 * m / (1.0 - P_t1) + (1.0 - u_t) * g / (1.0 - P_t)
            v_hat = v / (1.0 - b2_pow)
            p.sub_(m_hat * self.lr / (torch.sqrt(v_hat) + self.eps))
        self.iterations += 1


def nadam_selftest():
    """The goldens quoted in keras-semantics.md 10.1 / 10.4."""
    th = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float32)
    opt = Nadam([th], torch.float32, lr=0.5)
    opt.step([th], [torch.tensor([1.0, 6.0, 7.0, 2.0], dtype=torch.float32)])
    assert np.allclose(th.numpy(), [0.4686, 1.4686, 2.4686, 3.4686], atol=1e-4), th
    th = torch.tensor([1.0], dtype=torch.float64)
    opt = Nadam([th], torch.float64)
    traj = []
    for _ in range(5):
        opt.step([th], [th.clone()])
        traj.append(th.item())
    assert np.allclose(traj, [0.998937212, 0.998163979, 0.997453142, 0.996752039, 0.996042474], atol=5e-10), traj
    th = torch.ones(10, dtype=torch.float64)
    opt = Nadam([th], torch.float64, lr=0.5, beta1=0.5, beta2=0.67, eps=1e-5)
    first = []
    for k in range(5):
        g = torch.full((10,), 0.01, dtype=torch.float64) if k == 0 else torch.arange(1, 11, dtype=torch.float64) / 10
        opt.step([th], [g])
        first.append(th[0].item())
    assert np.allclose(first, [0.4281, -0.1738, -0.7115, -1.2335, -1.7492], atol=1e-4), first


# ------------------------------------------------------------------ models (keras-semantics.md 3, 4)
def simple_rnn(x, W, U, b, return_sequences):
    B, T, _ = x.shape
    h = torch.zeros(B, U.shape[0], dtype=x.dtype)
    outs = []
    for t in range(T):
        h = torch.tanh((x[:, t, :] @ W + b) + h @ U)
        outs.append(h)
    return torch.stack(outs, 1) if return_sequences else h


def forward(name, w, x):
    if name == "linear":                       # Flatten (row-major, t*F + f) -> Dense(1)
        return x.reshape(x.shape[0], -1) @ w[0] + w[1]
    if name == "deep_rnn":                     # SimpleRNN(20, rs) -> SimpleRNN(20) -> Dense(1)
        h = simple_rnn(x, w[0], w[1], w[2], True)
        h = simple_rnn(h, w[3], w[4], w[5], False)
        return h @ w[6] + w[7]
    if name == "s2s_rnn":                      # SimpleRNN(20, rs) x2 -> TimeDistributed(Dense(10))
        h = simple_rnn(x, w[0], w[1], w[2], True)
        h = simple_rnn(h, w[3], w[4], w[5], True)
        return h @ w[6] + w[7]                 # Dense on the last axis = TimeDistributed(Dense)
    raise ValueError(name)


def mse(y, p):        # mean over the last axis, then over all positions == plain mean over all elements
    return ((p - y) ** 2).mean(-1).mean()


def last_step_values(y, p):   # per-sample mse(Y[:, -1], Y_pred[:, -1])
    return ((p[:, -1] - y[:, -1]) ** 2).mean(-1)


@torch.no_grad()
def evaluate(name, w, x, y, seq):
    n = x.shape[0]
    tot, ls_sum, preds = 0.0, 0.0, []
    for s in range(0, n, BATCH):
        xb, yb = x[s:s + BATCH], y[s:s + BATCH]
        p = forward(name, w, xb)
        tot += mse(yb, p).item() * xb.shape[0]
        if seq:
            ls_sum += last_step_values(yb, p).sum().item()
        preds.append(p)
    r = {"loss": tot / n}
    if seq:
        r["last_time_step_mse"] = ls_sum / n
    return r, torch.cat(preds)


def train(name, data, w0, perms, dtype, epochs):
    seq = name == "s2s_rnn"
    xt, yt, xv, yv = (torch.from_numpy(a.astype(np.float64)).to(dtype) for a in data)
    w = [torch.from_numpy(a.astype(np.float64)).to(dtype).requires_grad_(True) for a in w0]
    opt = Nadam(w, dtype)
    n = xt.shape[0]
    steps = (n + BATCH - 1) // BATCH
    hist = {k: [] for k in (["loss", "last_time_step_mse", "val_loss", "val_last_time_step_mse"] if seq else ["loss", "val_loss"])}
    batch_loss = np.zeros((epochs, steps))
    for e in range(epochs):
        idx = torch.from_numpy(perms[e].astype(np.int64))
        tot, ls_sum = 0.0, 0.0
        for b in range(steps):
            bi = idx[b * BATCH:(b + 1) * BATCH]               # the last batch is the partial remainder
            xb, yb = xt[bi], yt[bi]
            p = forward(name, w, xb)
            loss = mse(yb, p)                                  # batch mean, the partial batch over its own size
            grads = torch.autograd.grad(loss, w)
            opt.step(w, grads)
            batch_loss[e, b] = loss.item()
            tot += loss.item() * len(bi)
            if seq:
                ls_sum += last_step_values(yb, p.detach()).sum().item()
        hist["loss"].append(tot / n)
        if seq:
            hist["last_time_step_mse"].append(ls_sum / n)
        v, _ = evaluate(name, w, xv, yv, seq)
        hist["val_loss"].append(v["loss"])
        if seq:
            hist["val_last_time_step_mse"].append(v["last_time_step_mse"])
    _, pred = evaluate(name, w, xv, yv, seq)
    pred = pred.double()
    yvd = yv.double()
    res = {"history": hist, "batch_loss": batch_loss,
           "val_mse": ((pred - yvd) ** 2).mean().item(),
           "weights": [t.detach().double().numpy() for t in w]}
    if seq:
        res["last_time_step_mse"] = ((pred[:, -1] - yvd[:, -1]) ** 2).mean().item()
    return res


def rel(a, b):
    return abs(a - b) / abs(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--dtype", default="both", choices=["float64", "float32", "both"])
    ap.add_argument("--perturb", type=float, default=0.0)
    ap.add_argument("--json")
    a = ap.parse_args()
    nadam_selftest()

    d = a.outdir
    rx = json.load(open(os.path.join(d, "rnnx.json")))
    name, epochs = rx["model"], rx["epochs"]
    data = [np.load(os.path.join(d, f)) for f in ("x_train.npy", "y_train.npy", "x_valid.npy", "y_valid.npy")]
    w0 = [np.load(os.path.join(d, f"w0_{i}.npy")) for i in range(rx["n_weights"])]
    wF = [np.load(os.path.join(d, f"wF_{i}.npy")) for i in range(rx["n_weights"])]
    perms = np.load(os.path.join(d, "perms.npy"))
    rx_batch = np.load(os.path.join(d, "batch_loss.npy"))
    n = data[0].shape[0]
    assert perms.shape == (epochs, n) and all(np.array_equal(np.sort(p), np.arange(n)) for p in perms)
    if a.perturb:
        r = np.random.RandomState(12345)
        w0 = [(w.astype(np.float64) * (1 + a.perturb * r.uniform(-1, 1, w.shape))) for w in w0]

    print(f"== {name}, seed {rx['seed']}: {epochs} epochs x {rx['steps_per_epoch']} steps, weights {rx['weight_names']}"
          + (f", initial weights perturbed by {a.perturb:g} relative" if a.perturb else ""))
    print(f"   Rnnx dump checks: shuffle RNG state after Fit == replayed {rx['check_rng_state_same']}, "
          f"TrainOnBatch replay on recorded permutations bit-identical to Fit: weights {rx['check_replay_weights_bit_identical']}, "
          f"epoch losses {rx['check_replay_epoch_loss_identical']}")
    dtypes = {"float64": [torch.float64], "float32": [torch.float32], "both": [torch.float64, torch.float32]}[a.dtype]
    out = {"model": name, "seed": rx["seed"], "perturb": a.perturb, "rnnx": {"history": rx["history"], "val_mse": rx["val_mse"],
           "last_time_step_mse": rx.get("last_time_step_mse")}}
    h_r = rx["history"]
    for dt in dtypes:
        tag = str(dt).replace("torch.", "torch_")
        res = train(name, data, w0, perms, dt, epochs)
        h_t = res["history"]
        b_rel = np.abs(res["batch_loss"] - rx_batch) / np.abs(rx_batch)
        print(f"\n-- {tag} vs Rnnx (float32)")
        print(f"   per-batch train loss, max relative difference: step 1 {b_rel[0, 0]:.2e}, first 10 steps {b_rel[0, :10].max():.2e}, "
              f"epoch 1 {b_rel[0].max():.2e}, per epoch: " + " ".join(f"{x:.1e}" for x in b_rel.max(1)))
        keys = list(h_t.keys())
        head = f"   {'ep':>3}" + "".join(f"  {('rnnx ' + k):>30} {('torch ' + k):>30} {'rel':>8}" for k in keys)
        print(head)
        for e in range(epochs):
            print(f"   {e + 1:>3}" + "".join(f"  {h_r[k][e]:>30.10g} {h_t[k][e]:>30.10g} {rel(h_t[k][e], h_r[k][e]):>8.1e}" for k in keys))
        print(f"   final val MSE: rnnx {rx['val_mse']:.10g}  {tag} {res['val_mse']:.10g}  relative difference {rel(res['val_mse'], rx['val_mse']):.2e}")
        if "last_time_step_mse" in res:
            print(f"   final last_time_step_mse: rnnx {rx['last_time_step_mse']:.10g}  {tag} {res['last_time_step_mse']:.10g}  "
                  f"relative difference {rel(res['last_time_step_mse'], rx['last_time_step_mse']):.2e}")
        wd = max(np.abs(wt - wr).max() / np.abs(wr).max() for wt, wr in zip(res["weights"], wF))
        print(f"   final weights: max |torch - rnnx| / max|rnnx| over tensors {wd:.2e}")
        out[tag] = {"history": h_t, "val_mse": res["val_mse"], "last_time_step_mse": res.get("last_time_step_mse"),
                    "batch_rel_max_per_epoch": b_rel.max(1).tolist(), "batch_rel_step1": b_rel[0, 0], "final_weight_rel": wd}
    if a.json:
        json.dump(out, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
