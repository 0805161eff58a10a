using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;
using Rnnx.Threading;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// The products split over an <see cref="OpTeam"/> at the large model sizes (scalebench's U = 256 and 512, T = 50,
/// B = 32 split into 2 shards): GEMM in row blocks (input projection, weight gradient) and column blocks (a shard's
/// recurrent step), the one-series GEMV and the whole one-series LSTM recurrence, on 1 thread (the baseline row: the
/// unsplit kernel) and on a team of 2. On a quiet 2-core machine the ratio is the intra-op speed-up.
/// <code>dotnet run -c Release --project Rnnx.Benchmarks -- --filter '*ParallelKernelBenchmarks*' --job short</code>
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(GflopsConfig))]
public class ParallelKernelBenchmarks
{
    public static IEnumerable<GemmShape> Shapes =>
    [
        new("1600x256*256x1024", false, false, 1600, 1024, 256),      // U=256 layer 2: x*W over B*T rows (row blocks)
        new("16x256*256x1024", false, false, 16, 1024, 256),          // U=256: one shard's step h*R (column blocks)
        new("(1600x256)^T*1600x1024", true, false, 256, 1024, 1600),  // U=256: dR = H^T*dZ (row blocks)
        new("16x512*512x2048", false, false, 16, 2048, 512),          // U=512: one shard's step
        new("1x256*256x1024", false, false, 1, 1024, 256),            // one series U=256: h*R (GEMV, column blocks)
        new("1x512*512x2048", false, false, 1, 2048, 512),            // one series U=512
    ];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = null!;

    private float[] _a = [], _b = [], _c = [];
    private readonly OpTeam _team = new();
    private Thread? _helper;
    private volatile bool _stop;

    [GlobalSetup]
    public void Setup()
    {
        (_a, _b, _c) = Shape.Operands();
        _helper = new Thread(() =>
        {
            while (!_stop) _team.Serve();
        }) { IsBackground = true };
        _helper.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop = true;
        _helper?.Join();
    }

    private void Gemm()
    {
        GemmShape s = Shape;
        MatMulKernels.Gemm<float>(s.TransA, s.TransB, s.M, s.N, s.K, _a, s.Lda, _b, s.Ldb, _c, s.N, false);
    }

    [Benchmark(Baseline = true, Description = "Gemm, 1 thread")]
    public void OneThread() => Gemm();

    [Benchmark(Description = "Gemm, team of 2")]
    public void TeamOfTwo()
    {
        _team.Open(2);
        using (_team.Enter()) Gemm();
    }
}

/// <summary>A one-series LSTM recurrence of T steps at U units (the flops of its h·R products).</summary>
public sealed class OneSeriesCase(int units, int steps) : IFlopCount
{
    public int Units { get; } = units;
    public int Steps { get; } = steps;
    public double Flops => 2.0 * Steps * Units * 4 * Units;
    public override string ToString() => $"U={Units} T={Steps}";
}

/// <summary>
/// One series' LSTM recurrence (per step h·R and the gate math, the latency path of Predict on one series) on 1 thread
/// and split by units over a team of 2 (per step: both threads' gate columns, then a barrier), reading R's rows (the
/// baseline: the products before R was packed for them) or R packed once per call (GemvCore.Pack, what Predict runs).
/// <code>dotnet run -c Release --project Rnnx.Benchmarks -- --filter '*OneSeriesLstmBenchmarks*' --job short</code>
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(GflopsConfig))]
public class OneSeriesLstmBenchmarks
{
    public static IEnumerable<OneSeriesCase> Cases => [new(128, 50), new(256, 50), new(512, 50)];

    [ParamsSource(nameof(Cases))]
    public OneSeriesCase Case { get; set; } = null!;

    private float[] _a = [], _xw = [], _bias = [], _r = [], _h0 = [], _c0 = [], _c = [], _h = [], _packed = [];
    private readonly OpTeam _team = new();
    private Thread? _helper;
    private volatile bool _stop;

    [GlobalSetup]
    public void Setup()
    {
        int u = Case.Units, t = Case.Steps;
        var rng = new System.Random(7);
        float[] Rand(int n, float scale) => Enumerable.Range(0, n).Select(_ => ((float)rng.NextDouble() - 0.5f) * scale).ToArray();
        _xw = Rand(t * 4 * u, 1f);
        _a = new float[_xw.Length];
        _bias = Rand(4 * u, 0.1f);
        _r = Rand(u * 4 * u, 1f / MathF.Sqrt(u));
        _h0 = new float[u];
        _c0 = new float[u];
        _c = new float[t * u];
        _h = new float[t * u];
        _helper = new Thread(() =>
        {
            while (!_stop) _team.Serve();
        }) { IsBackground = true };
        _helper.Start();
        // room for R packed, split over a team of two or not
        long alone = LstmKernels.OneSeriesPackedLength(t, u), split;
        _team.Open(2);
        using (_team.Enter()) split = LstmKernels.OneSeriesPackedLength(t, u);
        _packed = new float[Math.Max(alone, split)];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop = true;
        _helper?.Join();
    }

    private void Recurrence(bool packR)
    {
        _xw.CopyTo(_a, 0);   // the kernel overwrites the projection with the pre-activations
        LstmKernels.OneSeries(Case.Steps, Case.Units, _a, _bias, _r, _h0, _c0, _c, _h, goBackwards: false, packR ? _packed : default);
    }

    [Benchmark(Baseline = true, Description = "OneSeries, 1 thread, R's rows")]
    public void OneThreadRows() => Recurrence(packR: false);

    [Benchmark(Description = "OneSeries, 1 thread, R packed")]
    public void OneThread() => Recurrence(packR: true);

    [Benchmark(Description = "OneSeries, team of 2, R's rows")]
    public void TeamOfTwoRows()
    {
        _team.Open(2);
        using (_team.Enter()) Recurrence(packR: false);
    }

    [Benchmark(Description = "OneSeries, team of 2, R packed")]
    public void TeamOfTwo()
    {
        _team.Open(2);
        using (_team.Enter()) Recurrence(packR: true);
    }
}
