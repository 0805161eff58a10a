using Rnnx.Benchmarks.Scaling;
using System.Diagnostics;
using System.Globalization;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// <c>rnnx-bench gemm [--samples N] [--ms T]</c>: fp32 GFLOP/s of one thread at the recurrent model sizes, the unpacked
/// engine against the packed-panel engine (B packed once, as a sequence op does) and <see cref="MatMulKernels.Gemm{T}"/>
/// (which packs per call when it pays), measured interleaved in the same run (medians of N samples of about T ms), with
/// the percentage of a given FMA peak and the load average, so that a shared machine's noise shows.
/// </summary>
public static class GemmScale
{
    /// <summary>The shapes of docs/benchmarks.md's GEMM rows.</summary>
    public static IEnumerable<GemmShape> Shapes =>
    [
        new("16x64*64x256 (U=64 step)", false, false, 16, 256, 64),
        new("16x256*256x1024 (U=256 step)", false, false, 16, 1024, 256),
        new("32x512*512x2048 (U=512 step)", false, false, 32, 2048, 512),
        new("256x256*256x1024 (256 series)", false, false, 256, 1024, 256),
        new("256x512*512x2048 (256 series)", false, false, 256, 2048, 512),
        new("(1600x128)^T*1600x512 (dW, U=128)", true, false, 128, 512, 1600),
        new("(6400x256)^T*6400x1024 (dW, U=256)", true, false, 256, 1024, 6400),
        new("1600x1024*(256x1024)^T (dH, U=256)", false, true, 1600, 256, 1024),
        new("256x256*256x256", false, false, 256, 256, 256),
        new("1x256*256x1024 (one series)", false, false, 1, 1024, 256),
    ];

    /// <summary>Runs the measurement and prints a markdown table.</summary>
    public static int Run(string[] args)
    {
        int samples = 9;
        double ms = 40, peak = 100;
        bool threshold = args.Contains("--threshold");
        args = args.Where(a => a != "--threshold").ToArray();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--samples": samples = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--ms": ms = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--peak": peak = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"gemm: unknown option {args[i]} (use --samples N, --ms T, --peak GFLOPS)"); return 2;
            }
        }
        Console.WriteLine($"load average before: {LoadAverage()}");
        if (threshold)
            return Threshold(samples, ms, peak);
        Console.WriteLine($"| shape | unpacked GF/s | packed GF/s (% of {peak}) | Gemm GF/s | packed / unpacked | best sample: unpacked, packed (% of {peak}) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var s in Shapes)
        {
            var (a, b, c) = s.Operands();
            float[] packed = new float[PackedGemm.PackedLength<float>(s.K, s.N)];
            PackedGemm.Pack<float>(s.TransB, s.K, s.N, b, s.Ldb, packed);
            Action[] variants =
            [
                () => MatMulKernels.GemmUnpacked<float>(s.TransA, s.TransB, s.M, s.N, s.K, a, s.Lda, b, s.Ldb, c, s.N, false),
                () => PackedGemm.Gemm<float>(s.TransA, s.M, s.N, s.K, a, s.Lda, packed, c, s.N, false),
                () => MatMulKernels.Gemm<float>(s.TransA, s.TransB, s.M, s.N, s.K, a, s.Lda, b, s.Ldb, c, s.N, false),
            ];
            var (gf, best) = MeasureWithBest(variants, s.Flops, samples, ms, peak);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {s} | {gf[0]:F1} | {gf[1]:F1} ({100 * gf[1] / peak:F0}%) | {gf[2]:F1} | {gf[1] / gf[0]:F2}x | {best[0]:F1}, {best[1]:F1} ({100 * best[1] / peak:F0}%) |"));
        }
        Console.WriteLine($"load average after: {LoadAverage()}");
        return 0;
    }

    /// <summary>
    /// Where packing an untransposed B per call pays: unpacked engine against pack + packed product for small m
    /// (the rule in <see cref="MatMulKernels.PanelMinRows"/>).
    /// </summary>
    private static int Threshold(int samples, double ms, double peak)
    {
        Console.WriteLine("| m x k x n | unpacked GF/s | pack + packed GF/s | ratio |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var (k, n) in new[] { (64, 256), (256, 1024), (512, 2048) })
        foreach (int m in new[] { 2, 4, 8, 12, 16, 24, 32 })
        {
            var (a, b, c) = new GemmShape("", false, false, m, n, k).Operands();
            float[] packed = new float[PackedGemm.PackedLength<float>(k, n)];
            Action[] variants =
            [
                () => MatMulKernels.GemmUnpacked<float>(false, false, m, n, k, a, k, b, n, c, n, false),
                () =>
                {
                    PackedGemm.Pack<float>(false, k, n, b, n, packed);
                    PackedGemm.Gemm<float>(false, m, n, k, a, k, packed, c, n, false);
                },
            ];
            double flops = 2.0 * m * n * k;
            var gf = Measure(variants, flops, samples, ms, peak);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {m} x {k} x {n} | {gf[0]:F1} | {gf[1]:F1} | {gf[1] / gf[0]:F2}x |"));
        }
        Console.WriteLine($"load average after: {LoadAverage()}");
        return 0;
    }

    /// <summary>GFLOP/s of each variant: medians of interleaved samples.</summary>
    private static double[] Measure(Action[] variants, double flops, int samples, double ms, double peak)
        => MeasureWithBest(variants, flops, samples, ms, peak).Median;

    /// <summary>
    /// GFLOP/s of each variant from interleaved samples: the median, and the best sample (on a shared machine other
    /// jobs only slow a sample down, so the best one is the closest to what a quiet core gives).
    /// </summary>
    private static (double[] Median, double[] Best) MeasureWithBest(Action[] variants, double flops, int samples, double ms, double peak)
    {
        var times = variants.Select(_ => new List<double>()).ToArray();
        int reps = Math.Max(1, (int)(ms * 1e-3 * peak * 0.5e9 / flops));
        foreach (var v in variants) v();
        for (int sample = 0; sample < samples; sample++)
        {
            for (int v = 0; v < variants.Length; v++)
            {
                var sw = Stopwatch.StartNew();
                for (int r = 0; r < reps; r++) variants[v]();
                times[v].Add(sw.Elapsed.TotalSeconds / reps);
            }
        }
        return (times.Select(t => flops / ScalingGrid.Median(t) / 1e9).ToArray(), times.Select(t => flops / t.Min() / 1e9).ToArray());
    }

    /// <summary>The 1-, 5- and 15-minute load averages ("n/a" off Linux).</summary>
    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
