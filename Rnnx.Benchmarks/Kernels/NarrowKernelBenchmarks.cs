using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// The 4x3 GEMM tile of 16-register machines on the narrow products of a 20-unit LSTM's backward pass (n = 20: h·Rᵀ
/// per step and dX over all steps) against the tiles the engine used before, reproduced as two calls on column blocks
/// of the same operands: [0, 8) (a 1-vector tile) and [8, 20) (a 2-vector tile with an overlapped tail). Same products
/// in the same order, so the same results.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(GflopsConfig))]
public class NarrowGemmBenchmarks
{
    public static IEnumerable<GemmShape> Shapes =>
    [
        new("32x80*80x20", false, false, 32, 20, 80),        // dh = dZ·Rᵀ, one step (Rᵀ packed row-major)
        new("1600x80*80x20", false, false, 1600, 20, 80),    // dX = dZ·Wᵀ over 50 steps x 32
    ];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = null!;

    private float[] _a = [], _b = [], _c = [];

    [GlobalSetup]
    public void Setup() => (_a, _b, _c) = Shape.Operands();

    [Benchmark(Baseline = true, Description = "1-vector + 2-vector tiles (n = 8 + 12)")]
    public void SplitTiles()
    {
        GemmShape s = Shape;
        MatMulKernels.GemmUnpacked<float>(false, false, s.M, 8, s.K, _a, s.K, _b, s.N, _c, s.N, false);
        MatMulKernels.GemmUnpacked<float>(false, false, s.M, s.N - 8, s.K, _a, s.K, _b.AsSpan(8), s.N, _c.AsSpan(8), s.N, false);
    }

    [Benchmark(Description = "4x3 tile (MatMulKernels.Gemm)")]
    public void Gemm()
    {
        GemmShape s = Shape;
        MatMulKernels.Gemm<float>(false, false, s.M, s.N, s.K, _a, s.K, _b, s.N, _c, s.N, false);
    }
}

/// <summary>
/// The fused LSTM (training and inference), GRU and SimpleRNN forward step kernels of 20 units on 32 rows in the (batch, time) layout (rows strided by
/// 50 steps): the 4-unit tail of two rows in one 8-lane vector against the kernels' previous form, a 4-lane vector per
/// row (<see cref="RecurrentKernels.PairTails"/> off). Same results.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class GateKernelBenchmarks
{
    private const int Rows = 32, Units = 20, Steps = 50;

    /// <summary>The kernel.</summary>
    [Params("LSTM forward", "LSTM inference", "GRU forward", "SimpleRNN forward")]
    public string Kernel { get; set; } = "LSTM forward";

    private GateStepOperands _operands = null!;

    [GlobalSetup]
    public void Setup() => _operands = new GateStepOperands(Kernel, Rows, Steps, Units);

    [Benchmark(Baseline = true, Description = "4-unit tails one row at a time")]
    public void Unpaired()
    {
        RecurrentKernels.PairTails = false;
        try { _operands.Run(); }
        finally { RecurrentKernels.PairTails = true; }
    }

    [Benchmark(Description = "4-unit tails of two rows paired")]
    public void Paired() => _operands.Run();
}

/// <summary>
/// <c>rnnx-bench narrow [--samples N] [--ms T]</c>: the rows of <see cref="NarrowGemmBenchmarks"/> and
/// <see cref="GateKernelBenchmarks"/> measured interleaved (baseline, then the changed kernel, N times; medians and best
/// samples of about T ms each), so that a shared machine's load drifts hit both alike. Prints the ratio changed / baseline.
/// </summary>
public static class NarrowKernels
{
    /// <summary>
    /// The interleaved commands' options (--samples N, default 15; --ms T per sample, default 30) and their table's
    /// header; null, after saying why, for an unknown option.
    /// </summary>
    internal static (int Samples, double Ms)? StartInterleaved(string command, string[] args)
    {
        int samples = 15;
        double ms = 30;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--samples": samples = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--ms": ms = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"{command}: unknown option {args[i]} (use --samples N, --ms T)"); return null;
            }
        }
        Console.WriteLine($"load average before: {GemmScale.LoadAverage()}");
        Console.WriteLine("| kernel | baseline µs (median) | changed µs (median) | ratio (medians) | ratio (best samples) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        return (samples, ms);
    }

    public static int Run(string[] args)
    {
        if (StartInterleaved("narrow", args) is not { } options) return 2;
        var (samples, ms) = options;
        foreach (var shape in NarrowGemmBenchmarks.Shapes)
        {
            var g = new NarrowGemmBenchmarks { Shape = shape };
            g.Setup();
            Row($"GEMM {shape}", g.SplitTiles, g.Gemm, samples, ms);
        }
        foreach (string kernel in new[] { "LSTM forward", "LSTM inference", "GRU forward", "SimpleRNN forward" })
        {
            var k = new GateKernelBenchmarks { Kernel = kernel };
            k.Setup();
            Row(kernel + " (32 rows, 20 units)", k.Unpaired, k.Paired, samples, ms);
        }
        Console.WriteLine($"load average after: {GemmScale.LoadAverage()}");
        return 0;
    }

    internal static void Row(string name, Action baseline, Action changed, int samples, double ms)
    {
        baseline();
        changed();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        int calib = 0;
        while (sw.Elapsed.TotalMilliseconds < 5) { baseline(); calib++; }
        int reps = Math.Max(1, (int)(calib * ms / Math.Max(sw.Elapsed.TotalMilliseconds, 1e-3)));
        var times = new[] { new List<double>(), new List<double>() };
        for (int s = 0; s < samples; s++)
        {
            int v = 0;
            foreach (var action in new[] { baseline, changed })
            {
                sw.Restart();
                for (int r = 0; r < reps; r++) action();
                times[v++].Add(sw.Elapsed.TotalSeconds * 1e6 / reps);
            }
        }
        double b = Scaling.ScalingGrid.Median(times[0]), c = Scaling.ScalingGrid.Median(times[1]);
        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"| {name} | {b:F2} | {c:F2} | {c / b:F2} | {times[1].Min() / times[0].Min():F2} |"));
    }
}
