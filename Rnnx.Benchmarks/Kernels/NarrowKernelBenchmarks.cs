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

    private float[] _a = [], _a0 = [], _bias = [], _cPrev = [], _c = [], _tc = [], _h = [], _m = [], _mh = [];
    private int _lda, _ldh;

    [GlobalSetup]
    public void Setup()
    {
        int gates = Kernel.StartsWith("GRU") ? 3 : Kernel.StartsWith("LSTM") ? 4 : 1;
        _lda = Steps * gates * Units;
        _ldh = Steps * Units;
        var rng = new System.Random(42);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        _a0 = R(Rows * _lda);
        _a = _a0.ToArray();
        _bias = R(gates * Units);
        _cPrev = R(Rows * _ldh);
        _c = new float[Rows * _ldh];
        _tc = R(Rows * _ldh);
        _h = new float[Rows * _ldh];
        _m = R(Rows * gates * Units);
        _mh = new float[Rows * _ldh];
    }

    [Benchmark(Baseline = true, Description = "4-unit tails one row at a time")]
    public void Unpaired()
    {
        RecurrentKernels.PairTails = false;
        try { Run(0, Rows); }
        finally { RecurrentKernels.PairTails = true; }
    }

    [Benchmark(Description = "4-unit tails of two rows paired")]
    public void Paired() => Run(0, Rows);

    private void Run(int r0, int rows)
    {
        int u = Units, lda = _lda, ldh = _ldh;
        var a = _a.AsSpan(r0 * lda);
        switch (Kernel)
        {
            case "LSTM forward":
                // the gate activations overwrite a: restore the pre-activations (a copy of the rows' gate blocks)
                for (int r = r0; r < r0 + rows; r++) _a0.AsSpan(r * lda, 4 * u).CopyTo(_a.AsSpan(r * lda));
                LstmKernels.ForwardStep<float>(rows, u, a, lda, _bias, _cPrev.AsSpan(r0 * ldh), ldh, _c.AsSpan(r0 * ldh), _tc.AsSpan(r0 * ldh), _h.AsSpan(r0 * ldh), ldh);
                break;
            case "LSTM inference":
                LstmKernels.InferenceStep(rows, u, _a0.AsSpan(r0 * lda), lda, _bias, _cPrev.AsSpan(r0 * ldh), ldh, _c.AsSpan(r0 * ldh), _h.AsSpan(r0 * ldh), ldh);
                break;
            case "GRU forward":
                for (int r = r0; r < r0 + rows; r++) _a0.AsSpan(r * lda, 3 * u).CopyTo(_a.AsSpan(r * lda));
                GruKernels.ForwardStepResetAfter<float>(rows, u, a, lda, _m.AsSpan(r0 * 3 * u), _bias, _cPrev.AsSpan(r0 * ldh), ldh,
                    _mh.AsSpan(r0 * ldh), _h.AsSpan(r0 * ldh), ldh);
                break;
            default:
                SimpleRnnKernels.ForwardStep<float>(CellActivation.Tanh, rows, u, _a0.AsSpan(r0 * lda), lda, _h.AsSpan(r0 * ldh), ldh);
                break;
        }
    }
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
