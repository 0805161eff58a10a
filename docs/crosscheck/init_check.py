#!/usr/bin/env python3
"""Checks Rnnx's initial weights (dumped by dump/) against keras-semantics.md 2: glorot_uniform kernels on
[-sqrt(6/(fan_in+fan_out)), +limit), orthogonal recurrent kernels, zero biases. Pools the given dump folders."""
import json, os, sys
import numpy as np
pool = {}
for d in sys.argv[1:]:
    rx = json.load(open(os.path.join(d, "rnnx.json")))
    for i, nm in enumerate(rx["weight_names"]):
        w = np.load(os.path.join(d, f"w0_{i}.npy")).astype(np.float64)
        key = (rx["model"], nm, w.shape)
        pool.setdefault(key, []).append(w)
for (model, nm, shape), ws in pool.items():
    if nm.endswith("bias"):
        print(f"{model:8} {nm:32} {str(shape):9} all zero: {all((w == 0).all() for w in ws)}")
    elif nm.endswith("recurrent_kernel"):
        err = max(np.abs(w.T @ w - np.eye(shape[1])).max() for w in ws)
        print(f"{model:8} {nm:32} {str(shape):9} orthogonal: max|W^T W - I| = {err:.1e} over {len(ws)} draws")
    else:
        fi, fo = shape
        lim = np.sqrt(6 / (fi + fo))
        a = np.concatenate([w.ravel() for w in ws])
        print(f"{model:8} {nm:32} {str(shape):9} glorot limit {lim:.6f}: max|w| {np.abs(a).max():.6f}, "
              f"std {a.std():.4f} (expected {lim / np.sqrt(3):.4f}), mean {a.mean():+.4f}, n={a.size}")
