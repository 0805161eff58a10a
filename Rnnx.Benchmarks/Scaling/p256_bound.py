#!/usr/bin/env python3
"""256-series LSTM inference against the hardware, per scalebench point.

usage: p256_bound.py torch.json rnnx.json [peak_per_core=100] [gemm_rate=90]

Forward FLOPs of one Predict on 256 series (B = 256): per LSTM layer and step 2·B·(F_in + U)·4U (x_t·W and h·R;
F_in = F for the first layer, U for the second), plus the Dense(10) head on every step, 2·B·T·U·10. Prints each
engine's GFLOP/s, the ratio, the GFLOP/s the 1.5x target needs for the whole call, and what that leaves for the
work that is not multiply-adds (gate math, transposes, copies) if the products ran at `gemm_rate` GFLOP/s per core
(the packed engine's best measured rate at these shapes is 86-94). "beyond the core": the target needs more than
`gemm_rate` even with no gate math at all."""
import json, sys

torch, rnnx = (json.load(open(p)) for p in sys.argv[1:3])
peak = float(sys.argv[3]) if len(sys.argv) > 3 else 100.0
gemm = float(sys.argv[4]) if len(sys.argv) > 4 else 90.0
threads = torch["threads"]
assert rnnx["threads"] == threads, "reports of different thread counts"
P, G = peak * threads, gemm * threads


def p256_gflop(x, b=256, outputs=10):
    t, u, f = x["steps"], x["units"], x["features"]
    layers = sum(2 * b * (f_in + u) * 4 * u * t for f_in in (f, u))
    return (layers + 2 * b * t * u * outputs) / 1e9


rb = {x["name"]: x for x in rnnx["results"]}
print(f"{threads} thread(s): peak {P:.0f} GFLOP/s, products assumed at {G:.0f}; LSTM Predict on 256 series, target 1.5x")
print(f"{'config':24} {'GFLOP':>6} {'torch ms':>9} {'rnnx ms':>8} {'ratio':>6} {'torch GF/s':>10} {'rnnx GF/s':>9}"
      f" {'1.5x needs':>10} {'% peak':>6} {'ms left':>7} {'rnnx ms at 1.5x':>15}  verdict")
for x in torch["results"]:
    y = rb.get(x["name"])
    if x["model"] != "lstm2" or not y:
        continue
    gf = p256_gflop(x)
    tms, rms = x["predict256_ms"], y["predict256_ms"]
    need_ms = tms / 1.5
    need = gf / (need_ms / 1e3)
    left = need_ms - gf / G * 1e3  # time left for the non-product work with the products at G
    rate = gf / (rms / 1e3)
    verdict = "met" if tms / rms >= 1.5 else ("beyond the core" if need > G else f"reachable if the rest fits {left:.1f} ms")
    print(f"{x['name']:24} {gf:6.2f} {tms:9.1f} {rms:8.1f} {tms / rms:5.2f}x {gf / (tms / 1e3):10.1f} {rate:9.1f}"
          f" {need:10.1f} {100 * need / P:5.0f}% {left:7.1f} {need_ms:15.1f}  {verdict}")
