#!/usr/bin/env python3
"""Run-to-run spread with an initialisation and shuffle stream independent of Rnnx: the same models, data and Keras
semantics as torch_check.py (whose model, loss and Nadam code this reuses), but initial weights drawn by torch
(glorot_uniform kernels, orthogonal recurrent kernels, zero biases) and per-epoch shuffles from torch.randperm,
for several torch seeds, in float32 like Keras.

usage: python3 torch_seeds.py MODEL DUMPDIR SEEDS... (DUMPDIR supplies the data and the weight shapes)"""
import json, os, sys
import numpy as np
import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_check as tc

name, d, seeds = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3:]]
rx = json.load(open(os.path.join(d, "rnnx.json")))
data = [np.load(os.path.join(d, f)) for f in ("x_train.npy", "y_train.npy", "x_valid.npy", "y_valid.npy")]
shapes = [np.load(os.path.join(d, f"w0_{i}.npy")).shape for i in range(rx["n_weights"])]
n, epochs = data[0].shape[0], rx["epochs"]
for seed in seeds:
    g = torch.Generator().manual_seed(seed)
    w0 = []
    for nm, sh in zip(rx["weight_names"], shapes):
        if nm.endswith("bias"):
            w = np.zeros(sh)
        elif nm.endswith("recurrent_kernel"):
            a = torch.randn(sh, generator=g, dtype=torch.float64)
            q, r = torch.linalg.qr(a)
            w = (q * torch.sign(torch.diagonal(r))).numpy()
        else:
            lim = np.sqrt(6 / (sh[0] + sh[1]))
            w = ((torch.rand(sh, generator=g, dtype=torch.float64) * 2 - 1) * lim).numpy()
        w0.append(w.astype(np.float32))
    perms = np.stack([torch.randperm(n, generator=g).numpy() for _ in range(epochs)])
    res = tc.train(name, data, w0, perms, torch.float32, epochs)
    extra = f" last_time_step_mse {res['last_time_step_mse']:.6g}" if "last_time_step_mse" in res else ""
    print(f"{name} torch seed {seed}: val MSE {res['val_mse']:.6g}{extra}", flush=True)
