using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// One 2-vector column panel of a WaveNet layer's forward product (causal Conv1D(U, kernel 2), batch 32, cin = cout = U,
/// dilation 4), as <see cref="Conv1DKernels.Forward{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, int, int, int, in Conv1DGeometry, bool)"/>
/// runs it: the batch x interior rows (one row block within L2) against the kernel's packed panel.
/// </summary>
public sealed class WaveNetPanelCase(int units, int rows) : IFlopCount
{
    public int Units { get; } = units;
    public int Rows { get; } = rows;

    /// <summary>Input rows per series: the output rows plus the dilation (the taps reach 4 rows back).</summary>
    public int Length => Rows + 4;

    public double Flops => 2.0 * Rows * 2 * Units * 16;

    public override string ToString() => $"U={Units} rows={Rows}";

    public static IEnumerable<WaveNetPanelCase> All()
    {
        yield return new(64, 512);    // one row block at U = 64 (256 KiB of A and C rows)
        yield return new(128, 256);   // one row block at U = 128
    }
}

[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(GflopsConfig))]
public unsafe class ConvPanelBenchmarks
{
    public static IEnumerable<WaveNetPanelCase> Cases => WaveNetPanelCase.All();

    [ParamsSource(nameof(Cases))]
    public WaveNetPanelCase Case { get; set; } = null!;

    private float[] _x = [], _panel = [], _y = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new System.Random(1);
        float[] R(int n) => PinnedRandom.Floats(rng, n);
        int u = Case.Units;
        _x = R(Case.Length * u);
        _panel = R(2 * u * 16);
        _y = R(Case.Rows * 16);
    }

    /// <summary>The panel's plan (the pinned arrays do not move).</summary>
    private GemmPlan<float> Plan()
    {
        int u = Case.Units;
        fixed (float* x = _x)
        fixed (float* b = _panel)
        fixed (float* y = _y)
            return new GemmPlan<float>
            {
                M = Case.Rows, N = 16, RowsPerGroup = Case.Rows,
                A = x, ARow = u, AGroup = 0,
                C = y, CRow = 16, CGroup = 0,
                B = b, K = new KLoop(2, 4 * (nint)u, (nint)u * 16, u, 1, 16),
                Accumulate = false,
            };
    }

    [Benchmark(Baseline = true, Description = "Register-blocked engine, 4-row tiles")]
    public void RegisterBlocked() => GemmCore.Run(Plan());

    [Benchmark(Description = "TallPanelGemm, 6-row tiles")]
    public void SixRowTiles() => TallPanelGemm.Run(Plan());
}
