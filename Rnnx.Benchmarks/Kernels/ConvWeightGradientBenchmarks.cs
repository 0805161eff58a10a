using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// One reduction block of a WaveNet layer's weight gradient (causal Conv1D(U, kernel 2), batch 32, cin = cout = U): dw rows
/// (tap, channel) over (batch item, output row), as <see cref="Conv1DKernels.BackwardWeight{T}"/> cuts it (whole items
/// while the block's data stays within L2).
/// </summary>
public sealed class WaveNetWeightCase(int units, int length, int dilation, int items) : IFlopCount
{
    public int Units { get; } = units;
    public int Length { get; } = length;
    public int Dilation { get; } = dilation;
    public int Items { get; } = items;

    /// <summary>Interior output rows of a causal kernel-2 layer: the first d rows read padding at tap 0.</summary>
    public int Rows => Length - Dilation;

    public double Flops => 2.0 * Items * Rows * 2 * Units * Units;

    public override string ToString() => $"U={Units} T={Length} d={Dilation} items={Items}";

    public static IEnumerable<WaveNetWeightCase> All()
    {
        yield return new(64, 50, 2, 25);    // 384 KiB / (64 B input line + 256 B dY row) / 48 rows
        yield return new(128, 50, 2, 14);   // 384 KiB / (64 + 512) / 48
        yield return new(64, 1000, 2, 1);   // one item (k blocks of 256 rows)
    }
}

[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(GflopsConfig))]
public unsafe class ConvWeightGradientBenchmarks
{
    public static IEnumerable<WaveNetWeightCase> Cases => WaveNetWeightCase.All();

    [ParamsSource(nameof(Cases))]
    public WaveNetWeightCase Case { get; set; } = null!;

    private float[] _x = [], _dy = [], _dw = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new System.Random(1);
        float[] R(int n) => PinnedRandom.Floats(rng, n);
        int u = Case.Units;
        _x = R(Case.Items * Case.Length * u);
        _dy = R(Case.Items * Case.Length * u);
        _dw = R(2 * u * u);
    }

    /// <summary>Channels [c0, c0 + nc) of the block's plan (the pinned arrays do not move).</summary>
    private GemmPlan<float> Plan(int c0, int nc)
    {
        int u = Case.Units, d = Case.Dilation, l = Case.Length;
        fixed (float* x = _x)
        fixed (float* dy = _dy)
        fixed (float* dw = _dw)
            return new GemmPlan<float>
            {
                M = 2 * nc, N = u, RowsPerGroup = nc,
                A = x + c0, ARow = 1, AGroup = (nint)d * u,
                C = dw + (nint)c0 * u, CRow = u, CGroup = (nint)u * u,
                B = dy + (nint)d * u,
                K = new KLoop(Case.Items, (nint)l * u, (nint)l * u, Case.Rows, u, u),
                Accumulate = true,
            };
    }

    // Both accumulate into dw; its values drift but the work per call is identical.
    [Benchmark(Baseline = true, Description = "Register-blocked engine, 16-channel blocks")]
    public void RegisterBlocked()
    {
        for (int c0 = 0; c0 < Case.Units; c0 += 16)
            GemmCore.Run(Plan(c0, 16));
    }

    [Benchmark(Description = "LongReductionGemm")]
    public void Chunked() => LongReductionGemm.Run(Plan(0, Case.Units));
}
