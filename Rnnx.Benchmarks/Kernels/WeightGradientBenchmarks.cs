using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// The LSTM backward pass's weight gradients of one 16-series shard of the scalebench grid's second layer (k = 16 · 50
/// rows, x and the previous states both U wide, dZ 4U wide): <see cref="WeightGradientGemm"/> (dZ packed once per k
/// block for both products, the bias's column sums taken while packing) against the separate calls it replaces
/// (baseline: two <see cref="MatMulKernels.Gemm{T}"/> and <see cref="RecurrentKernels.AddColumnSums{T}"/>). Same results.
/// <code>dotnet run -c Release --project Rnnx.Benchmarks -- --filter '*WeightGradientBenchmarks*' --job short</code>
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class WeightGradientBenchmarks
{
    private const int Rows = 16 * 50;

    /// <summary>LSTM units U.</summary>
    [Params(64, 128)]
    public int Units { get; set; }

    private float[] _x = [], _hPrev = [], _dz = [], _dw = [], _dr = [], _db = [];

    [GlobalSetup]
    public void Setup()
    {
        int g4 = 4 * Units;
        var rng = new System.Random(7);
        float[] Fill(int n) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1); return a; }
        _x = Fill(Rows * Units);
        _hPrev = Fill(Rows * Units);
        _dz = Fill(Rows * g4);
        _dw = new float[Units * g4];
        _dr = new float[Units * g4];
        _db = new float[g4];
    }

    [Benchmark(Baseline = true, Description = "two Gemm + AddColumnSums")]
    public void Separate()
    {
        int g4 = 4 * Units;
        MatMulKernels.Gemm<float>(true, false, Units, g4, Rows, _x, Units, _dz, g4, _dw, g4, true);
        MatMulKernels.Gemm<float>(true, false, Units, g4, Rows, _hPrev, Units, _dz, g4, _dr, g4, true);
        RecurrentKernels.AddColumnSums<float>(_dz, Rows, g4, g4, _db);
    }

    [Benchmark(Description = "WeightGradientGemm (one pass over dZ)")]
    public void Shared()
    {
        int g4 = 4 * Units;
        WeightGradientGemm.Run<float>(Rows, g4, _dz, g4, Units, _x, Units, _dw, Units, _hPrev, Units, _dr, _db);
    }
}
