#!/usr/bin/env python3
"""profile_shares.py [REPORT...]: a training step's time by kernel family, from `perf report` text.

Record a program that calls TrainOnBatch in a loop (one thread) with the JIT's perf map, skipping its warm-up:
    DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -F 1999 -D 6000 -o step.data -- dotnet PROGRAM
    perf report -i step.data --no-children --sort symbol > step.txt
    python3 Rnnx.Benchmarks/Scaling/profile_shares.py step.txt
Prints the share of samples per family: GEMM micro-kernel tiles, operand packing, the rest of the GEMM drivers, the
fused gate kernels ("cell"), bias sums, the optimizer, the runtime and libc, and everything else. docs/performance.md
("Model size") combines the tiles' share with a step's time and its flop count.
"""
import re, sys

FAMILIES = [
    ("tiles", r"GemmCore::TileBody|::Tile\(|GemvCore::Block"),
    ("pack", r"::Pack|PackTransposed"),
    ("gemm-other", r"GemmCore::|PackedGemmCore::|PackedGemm::|GemvCore::|WeightGradientGemm|TallPanelGemm|LongReductionGemm|PackedGemmSum|SmallGateGemm|GateGemm|MatMulKernels::|Conv1DKernels::"),
    ("cell", r"LstmKernels::|GruKernels::|SimpleRnnKernels::|ActivationKernels|ActivationGradient|BiasActivation|FastMath|Simd(128|256|512)`1|CellTanh|ElementwiseLoop"),
    ("bias-sum", r"ColumnSums|AddRowVector|ReductionKernels"),
    ("optimizer", r"Nadam|Optimizers"),
    ("runtime", r"^\s*[\d.]+%\s+\[.\] (__|_dl|0x)|System\.Private\.CoreLib|\[k\]"),
]


def shares(lines):
    """(per-family percentages, total percentage) of `perf report --sort symbol` lines."""
    total, by = 0.0, {}
    for line in lines:
        m = re.match(r"\s*([\d.]+)%\s+(.*)", line)
        if not m:
            continue
        p = float(m.group(1))
        total += p
        family = next((f for f, rx in FAMILIES if re.search(rx, line)), "other")
        by[family] = by.get(family, 0.0) + p
    return by, total


def main(paths):
    for path in paths or ["-"]:
        lines = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="replace")
        by, total = shares(lines)
        names = [f for f, _ in FAMILIES] + ["other"]
        print(f"{path}: " + "  ".join(f"{f} {by.get(f, 0.0):.1f}%" for f in names) + f"  (of {total:.0f}%)")


if __name__ == "__main__":
    main(sys.argv[1:])
