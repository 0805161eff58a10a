using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// The reset-before GRU backward pass's weight gradients of one 16-series shard (k = 16 · 50 rows, dZ 3U wide): the
/// kernel's over all of dZ, the recurrent kernel's [R_z|R_r] part over dZ's first 2U columns (previous states) and its
/// R_h part over the last U (r ⊙ h), and the bias's column sums. <see cref="WeightGradientGemm"/> with three products
/// over column ranges (dZ packed once per k block) against the separate calls it replaces (baseline: three
/// <see cref="MatMulKernels.Gemm{T}"/> and <see cref="RecurrentKernels.AddColumnSums{T}"/>). Same results.
/// <code>dotnet run -c Release --project Rnnx.Benchmarks -- --filter '*GruWeightGradientBenchmarks*' --job short</code>
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class GruWeightGradientBenchmarks
{
    private const int Rows = 16 * 50;

    /// <summary>GRU units U (the layer's input is U wide too).</summary>
    [Params(64, 256)]
    public int Units { get; set; }

    private float[] _x = [], _hPrev = [], _rh = [], _dz = [], _dw = [], _dr = [], _db = [];

    [GlobalSetup]
    public void Setup()
    {
        int g3 = 3 * Units;
        var rng = new System.Random(7);
        float[] Fill(int n) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1); return a; }
        _x = Fill(Rows * Units);
        _hPrev = Fill(Rows * Units);
        _rh = Fill(Rows * Units);
        _dz = Fill(Rows * g3);
        _dw = new float[Units * g3];
        _dr = new float[Units * g3];
        _db = new float[g3];
    }

    [Benchmark(Baseline = true, Description = "three Gemm + AddColumnSums")]
    public void Separate()
    {
        int u = Units, g3 = 3 * u;
        MatMulKernels.Gemm<float>(true, false, u, g3, Rows, _x, u, _dz, g3, _dw, g3, true);
        MatMulKernels.Gemm<float>(true, false, u, 2 * u, Rows, _hPrev, u, _dz, g3, _dr, g3, true);
        MatMulKernels.Gemm<float>(true, false, u, u, Rows, _rh, u, _dz.AsSpan(2 * u), g3, _dr.AsSpan(2 * u), g3, true);
        RecurrentKernels.AddColumnSums<float>(_dz, Rows, g3, g3, _db);
    }

    [Benchmark(Description = "WeightGradientGemm (column ranges, one pass over dZ)")]
    public void Shared()
    {
        int u = Units, g3 = 3 * u;
        WeightGradientGemm.Run<float>(Rows, g3, _dz, g3,
            new WeightProduct<float>(u, _x, u, _dw, g3, 0, g3),
            new WeightProduct<float>(u, _hPrev, u, _dr, g3, 0, 2 * u),
            new WeightProduct<float>(u, _rh, u, _dr.AsSpan(2 * u), g3, 2 * u, g3), _db);
    }
}
