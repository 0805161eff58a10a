using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// An LSTM inference step chunk's x_t·W + h·R (<see cref="PackedGemmSum"/>: tile by tile, each C tile stored by the first
/// product and added to by the second while it is in L1) against the baseline row, the two packed products one pass
/// after the other. Same results. Shapes: the row chunk of 256 series at U = 128 (12 rows) with F = U (the second
/// layer) and F = 32, and at U = 64 (24 rows, F = U).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class PackedGemmSumBenchmarks
{
    /// <summary>rows x 4U, k1 (F) + k2 (U).</summary>
    [Params("12x512 k128+128", "12x512 k32+128", "24x256 k64+64")]
    public string Shape { get; set; } = "12x512 k128+128";

    private int _m, _n, _k1, _k2;
    private float[] _a1 = [], _a2 = [], _p1 = [], _p2 = [], _c = [];

    [GlobalSetup]
    public void Setup()
    {
        (_m, _n, _k1, _k2) = Shape switch
        {
            "12x512 k128+128" => (12, 512, 128, 128),
            "12x512 k32+128" => (12, 512, 32, 128),
            _ => (24, 256, 64, 64),
        };
        var rng = new System.Random(7);
        float[] R(int count) => Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        _a1 = R(_m * _k1);
        _a2 = R(_m * _k2);
        _p1 = new float[PackedGemm.PackedLength<float>(_k1, _n)];
        PackedGemm.Pack<float>(false, _k1, _n, R(_k1 * _n), _n, _p1);
        _p2 = new float[PackedGemm.PackedLength<float>(_k2, _n)];
        PackedGemm.Pack<float>(false, _k2, _n, R(_k2 * _n), _n, _p2);
        _c = new float[_m * _n];
    }

    /// <summary>The two products, one whole pass over C each.</summary>
    [Benchmark(Baseline = true, Description = "x·W, then h·R added")]
    public void TwoPasses()
    {
        PackedGemm.Gemm<float>(false, _m, _n, _k1, _a1, _k1, _p1, _c, _n, false);
        PackedGemm.Gemm<float>(false, _m, _n, _k2, _a2, _k2, _p2, _c, _n, true);
    }

    /// <summary>Tile by tile.</summary>
    [Benchmark(Description = "x·W + h·R tile by tile")]
    public void TileByTile() => PackedGemmSum.Gemm<float>(_m, _n, _k1, _a1, _k1, _p1, _k2, _a2, _k2, _p2, _c, _n);
}
