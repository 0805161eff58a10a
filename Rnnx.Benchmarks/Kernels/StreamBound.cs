using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Rnnx.Benchmarks.Scaling;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// <c>rnnx-bench bandwidth [--threads N] [--samples S]</c>: what one LSTM series' inference can reach at best. Measures
/// the fp32 FMA peak of N cores and the read stream of N threads (each its own buffer, all at once) by working-set
/// size, then gives, for every one-series LSTM point of the medium grid, the time below which no engine on this
/// machine can run it: every step of each layer reads the whole recurrent kernel (16U² bytes as fp32, split over the
/// threads), and the second layer's input projection (8·T·U² flops) runs at no more than the peak.
/// </summary>
public static class StreamBound
{
    /// <summary>Working sets measured, KiB per thread.</summary>
    private static readonly int[] SizesKiB = [16, 64, 256, 512, 768, 1024, 2048, 4096, 8192, 16384];

    /// <summary>Runs the measurement and prints two markdown tables.</summary>
    public static int Run(string[] args)
    {
        int threads = 1, samples = 7;
        if (args.Length % 2 != 0)
        {
            Console.Error.WriteLine($"bandwidth: option {args[^1]} has no value (use --threads N, --samples S)");
            return 2;
        }
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--threads" when int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int t): threads = t; break;
                case "--samples" when int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int n): samples = n; break;
                default: Console.Error.WriteLine($"bandwidth: '{args[i]} {args[i + 1]}' is not an option (use --threads N, --samples S: integers)"); return 2;
            }
        }
        if (threads < 1 || threads > Environment.ProcessorCount || samples < 1)
        {
            Console.Error.WriteLine($"bandwidth: --threads must be 1..{Environment.ProcessorCount} (the cores) and --samples at least 1");
            return 2;
        }
        Console.WriteLine($"load average before: {GemmScale.LoadAverage()}");
        const int iterations = 1 << 24;
        double peak = Median(samples, () => threads * 2.0 * PeakCase.Chains * PeakCase.Lanes * iterations / Concurrent(threads, _ => FmaPeakBenchmarks.Widest(iterations)) / 1e9);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FMA peak, {threads} thread(s): {peak:F1} GFLOP/s ({peak / threads:F1} per core)"));
        Console.WriteLine();
        Console.WriteLine($"| working set per thread | read GB/s, {threads} thread(s) together | per thread |");
        Console.WriteLine("|---:|---:|---:|");
        var bandwidth = new Dictionary<int, double>();
        foreach (int kib in SizesKiB)
        {
            double gb = ReadBandwidth(kib, threads, samples);
            bandwidth[kib] = gb;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {kib} KiB | {gb:F1} | {gb / threads:F1} |"));
        }
        Console.WriteLine();
        Console.WriteLine("| one series | recurrent kernel per thread | streamed per call | stream at | stream ms | projection ms at peak | bound ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var c in ScalingGrid.Grid("medium", "lstm2").Where(c => c.Units >= 64).DistinctBy(c => (c.Units, c.Steps)))
        {
            var b = OneSeries(c.Units, c.Steps, threads, peak, bandwidth);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| lstm2 u{c.Units} t{c.Steps} | {b.KernelBytesPerThread / 1024} KiB | {b.StreamedBytes / 1e6:F1} MB | {bandwidth[b.WorkingSetKiB]:F1} GB/s ({b.WorkingSetKiB} KiB) | {b.StreamMs:F3} | {b.ProjectionMs:F3} | {b.BoundMs:F3} |"));
        }
        Console.WriteLine($"load average after: {GemmScale.LoadAverage()}");
        return 0;
    }

    /// <summary>The lower bound of one series' inference through two LSTM(U) layers (<see cref="OneSeries"/>).</summary>
    /// <param name="KernelBytesPerThread">The part of one recurrent kernel each thread reads at a step.</param>
    /// <param name="WorkingSetKiB">The measured working set whose stream rate applies: the smallest that holds that part.</param>
    /// <param name="StreamedBytes">Bytes of recurrent kernel read per call: 2 layers x T steps x 16U².</param>
    /// <param name="StreamMs">Those bytes at the measured rate.</param>
    /// <param name="ProjectionMs">The second layer's input projection (T x U times U x 4U) at the FMA peak.</param>
    public readonly record struct SeriesBound(long KernelBytesPerThread, int WorkingSetKiB, double StreamedBytes, double StreamMs, double ProjectionMs)
    {
        /// <summary>No faster than this: the stream and the projection, which need the same core one after the other.</summary>
        public double BoundMs => StreamMs + ProjectionMs;
    }

    /// <summary>
    /// The bound for <paramref name="units"/> units and <paramref name="steps"/> steps on <paramref name="threads"/> threads,
    /// from the FMA peak of those threads (GFLOP/s) and their read rate by working set per thread (KiB → GB/s, all together).
    /// Gate math, packing and the head are left out, so that no real call can beat it.
    /// </summary>
    public static SeriesBound OneSeries(int units, int steps, int threads, double peakGflops, IReadOnlyDictionary<int, double> bandwidth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(units, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        if (bandwidth.Count == 0 || peakGflops <= 0)
            throw new ArgumentException("OneSeries needs a positive peak and at least one measured working set");
        long kernelBytes = 16L * units * units;
        long perThread = (kernelBytes + threads - 1) / threads;
        // the smallest measured working set that holds the thread's part: a smaller one would flatter the stream
        var sizes = bandwidth.Keys.Order().ToArray();
        int size = sizes.FirstOrDefault(s => s * 1024L >= perThread, sizes[^1]);
        double streamed = 2.0 * steps * kernelBytes;
        double streamMs = streamed / (bandwidth[size] * 1e9) * 1e3;
        double projectionMs = 8.0 * steps * units * units / (peakGflops * 1e9) * 1e3;
        return new SeriesBound(perThread, size, streamed, streamMs, projectionMs);
    }

    /// <summary>GB/s of <paramref name="threads"/> threads each summing its own <paramref name="kib"/> KiB over and over: median of the samples.</summary>
    private static unsafe double ReadBandwidth(int kib, int threads, int samples)
    {
        long floats = kib * 1024L / sizeof(float);
        var buffers = new nint[threads];
        for (int t = 0; t < threads; t++)
        {
            float* p = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            new Span<float>(p, (int)floats).Fill(1e-9f);
            buffers[t] = (nint)p;
        }
        try
        {
            // about 0.1 s of reading per sample at 100 GB/s
            long reps = Math.Max(4, 10_000_000_000L / (kib * 1024L));
            Concurrent(threads, t => Sum((float*)buffers[t], floats));
            return Median(samples, () => threads * reps * floats * sizeof(float) / Concurrent(threads, t =>
            {
                for (long r = 0; r < reps; r++)
                    Sum((float*)buffers[t], floats);
            }) / 1e9);
        }
        finally
        {
            foreach (nint p in buffers)
                NativeMemory.AlignedFree((void*)p);
        }
    }

    /// <summary>Seconds until every one of <paramref name="threads"/> threads has run <paramref name="work"/> (started together).</summary>
    private static double Concurrent(int threads, Action<int> work)
    {
        using var start = new Barrier(threads + 1);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() => { start.SignalAndWait(); work(t); }) { IsBackground = true }).ToArray();
        foreach (var w in workers) w.Start();
        start.SignalAndWait();
        var sw = Stopwatch.StartNew();
        foreach (var w in workers) w.Join();
        return sw.Elapsed.TotalSeconds;
    }

    private static double Median(int samples, Func<double> sample)
    {
        var values = Enumerable.Range(0, samples).Select(_ => sample()).ToList();
        return ScalingGrid.Median(values);
    }

    /// <summary>Sum of the buffer with four independent accumulators of the widest vector (the loads are the work).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe float Sum(float* p, long n)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (long i = 0; i < n; i += 64)
            {
                a0 += Vector512.LoadAligned(p + i);
                a1 += Vector512.LoadAligned(p + i + 16);
                a2 += Vector512.LoadAligned(p + i + 32);
                a3 += Vector512.LoadAligned(p + i + 48);
            }
            return Vector512.Sum(a0 + a1 + a2 + a3);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
            for (long i = 0; i < n; i += 32)
            {
                c0 += Vector256.LoadAligned(p + i);
                c1 += Vector256.LoadAligned(p + i + 8);
                c2 += Vector256.LoadAligned(p + i + 16);
                c3 += Vector256.LoadAligned(p + i + 24);
            }
            return Vector256.Sum(c0 + c1 + c2 + c3);
        }
        Vector128<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (long i = 0; i < n; i += 16)
        {
            b0 += Vector128.LoadAligned(p + i);
            b1 += Vector128.LoadAligned(p + i + 4);
            b2 += Vector128.LoadAligned(p + i + 8);
            b3 += Vector128.LoadAligned(p + i + 12);
        }
        return Vector128.Sum(b0 + b1 + b2 + b3);
    }
}
