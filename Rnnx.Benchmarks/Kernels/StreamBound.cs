using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Rnnx.Benchmarks.Scaling;
using Rnnx.Simd;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// <c>rnnx-bench bandwidth [--threads N] [--samples S]</c>: what one LSTM series' inference can reach at best. Measures
/// the fp32 FMA peak of N cores and the read stream of N threads (each its own buffer, all at once) by working-set
/// size, then gives, for every one-series LSTM point of the medium grid, the time below which no engine that reads
/// fp32 weights can run it (<see cref="OneSeries"/>).
/// </summary>
public static class StreamBound
{
    /// <summary>Working sets measured, KiB per thread.</summary>
    private static readonly int[] SizesKiB = [16, 32, 64, 128, 256, 512, 768, 1024, 2048, 4096, 8192, 16384];

    private const string Usage = "use --threads N (1 to the logical processors), --samples S (1 to 1000)";

    /// <summary>Where the read loops' sums go, so that no loop is dropped as dead code.</summary>
    private static float s_sink;

    /// <summary>Runs the measurement and prints two markdown tables.</summary>
    public static int Run(string[] args)
    {
        int threads = 1, samples = 7;
        var seen = new HashSet<string>();
        for (int i = 0; i < args.Length; i += 2)
        {
            string option = args[i];
            if (option is not ("--threads" or "--samples"))
                return Refuse($"'{option}' is not an option");
            if (!seen.Add(option))
                return Refuse($"{option} is given twice");
            if (i + 1 == args.Length)
                return Refuse($"{option} has no value");
            if (!int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int value))
                return Refuse($"{option} needs a whole number, not '{args[i + 1]}'");
            if (option == "--threads") threads = value;
            else samples = value;
        }
        if (threads < 1 || threads > Environment.ProcessorCount)
            return Refuse($"--threads {threads} is outside 1..{Environment.ProcessorCount}");
        if (samples < 1 || samples > 1000)
            return Refuse($"--samples {samples} is outside 1..1000");

        Console.WriteLine($"load average before: {GemmScale.LoadAverage()}");
        const int iterations = 1 << 24;
        Concurrent(threads, _ => FmaPeakBenchmarks.Widest(1 << 16));
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
        Console.WriteLine("| one series | recurrent kernel per thread | streamed per call | stream at | stream ms | all products at peak ms | bound ms | stream + projection ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var c in ScalingGrid.Grid("medium", "lstm2").Where(c => c.Units >= 64).DistinctBy(c => (c.Units, c.Steps)))
        {
            var b = OneSeries(c.Units, c.Steps, threads, peak, bandwidth);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| lstm2 u{c.Units} t{c.Steps} | {b.KernelBytesPerThread / 1024} KiB | {b.StreamedBytes / 1e6:F1} MB | {bandwidth[b.WorkingSetKiB]:F1} GB/s ({b.WorkingSetKiB} KiB) | {b.StreamMs:F3} | {b.ComputeMs:F3} | {b.BoundMs:F3} | {b.SequentialMs:F3} |"));
        }
        Console.WriteLine($"load average after: {GemmScale.LoadAverage()}");
        return 0;
    }

    private static int Refuse(string what)
    {
        Console.Error.WriteLine($"bandwidth: {what} ({Usage})");
        return 2;
    }

    /// <summary>The lower bound of one series' inference through two LSTM(U) layers (<see cref="OneSeries"/>).</summary>
    /// <param name="KernelBytesPerThread">The part of one recurrent kernel each thread reads at a step.</param>
    /// <param name="WorkingSetKiB">The measured working set whose stream rate applies (<see cref="OneSeries"/>).</param>
    /// <param name="StreamedBytes">Bytes of recurrent kernel read per call: 2 layers x T steps x 16U².</param>
    /// <param name="StreamMs">Those bytes at that rate.</param>
    /// <param name="ComputeMs">Every product of the call at the FMA peak: the recurrent ones (16·T·U² flops) and the second layer's input projection.</param>
    /// <param name="ProjectionMs">The second layer's input projection alone (T x U times U x 4U, 8·T·U² flops) at the peak.</param>
    public readonly record struct SeriesBound(long KernelBytesPerThread, int WorkingSetKiB, double StreamedBytes, double StreamMs, double ComputeMs, double ProjectionMs)
    {
        /// <summary>No engine can be faster: it must stream the kernels and compute the products, and could at best overlap the two.</summary>
        public double BoundMs => Math.Max(StreamMs, ComputeMs);

        /// <summary>
        /// The bound of an engine that computes the second layer's input projection as one product between the two
        /// recurrences (as Rnnx and libtorch do): the core is then busy with the projection while no kernel streams.
        /// </summary>
        public double SequentialMs => StreamMs + ProjectionMs;
    }

    /// <summary>
    /// The bound for <paramref name="units"/> units and <paramref name="steps"/> steps on <paramref name="threads"/>
    /// threads, from the FMA peak of those threads together (GFLOP/s) and their read rate by working set per thread
    /// (KiB → GB/s, all threads together). Each step of each layer reads that layer's whole recurrent kernel; a thread's
    /// part is read at the fastest rate measured for any working set from the largest one not above the part upwards
    /// (a part between two measured sizes may stream as fast as the smaller); gate math, packing, the first layer's
    /// input product and the head are left out.
    /// </summary>
    public static SeriesBound OneSeries(int units, int steps, int threads, double peakGflops, IReadOnlyDictionary<int, double> bandwidth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(units, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        if (bandwidth.Count == 0 || peakGflops <= 0 || bandwidth.Values.Any(gb => gb <= 0))
            throw new ArgumentException("OneSeries needs a positive peak and at least one positive measured rate");
        long kernelBytes = 16L * units * units;
        long perThread = (kernelBytes + threads - 1) / threads;
        // a part between two measured sizes may stream as fast as the smaller one: the fastest rate from the largest
        // measured size not above the part (the smallest measured one if all are above) upwards
        int floor = bandwidth.Keys.Where(k => k * 1024L <= perThread).DefaultIfEmpty(bandwidth.Keys.Min()).Max();
        var (size, rate) = bandwidth.Where(kv => kv.Key >= floor).MaxBy(kv => kv.Value);
        double streamed = 2.0 * steps * kernelBytes;
        double streamMs = streamed / (rate * 1e9) * 1e3;
        double projectionMs = 8.0 * steps * units * units / (peakGflops * 1e9) * 1e3;
        double computeMs = 3 * projectionMs;
        return new SeriesBound(perThread, size, streamed, streamMs, computeMs, projectionMs);
    }

    /// <summary>GB/s of <paramref name="threads"/> threads each summing its own <paramref name="kib"/> KiB over and over: median of the samples.</summary>
    private static unsafe double ReadBandwidth(int kib, int threads, int samples)
    {
        long floats = kib * 1024L / sizeof(float);
        var buffers = new nint[threads];
        try
        {
            for (int t = 0; t < threads; t++)
            {
                float* p = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
                buffers[t] = (nint)p;
                new Span<float>(p, (int)floats).Fill(1e-9f);
            }
            // about 10 GB read per thread and sample: 0.1 s at 100 GB/s
            long reps = Math.Max(4, 10_000_000_000L / (kib * 1024L));
            Concurrent(threads, t => s_sink += Sum((float*)buffers[t], floats));
            return Median(samples, () => threads * reps * floats * sizeof(float) / Concurrent(threads, t =>
            {
                float total = 0;
                for (long r = 0; r < reps; r++)
                    total += Sum((float*)buffers[t], floats);
                s_sink += total;
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

    private static double Median(int samples, Func<double> sample) => ScalingGrid.Median(Enumerable.Range(0, samples).Select(_ => sample()).ToList());

    /// <summary>Sum of <paramref name="n"/> floats (a multiple of 128) at the widest accelerated width: the loads are the work.</summary>
    private static unsafe float Sum(float* p, long n) => Vector512.IsHardwareAccelerated ? Sum<Simd512<float>>(p, n)
        : Vector256.IsHardwareAccelerated ? Sum<Simd256<float>>(p, n)
        : Sum<Simd128<float>>(p, n);

    /// <summary>
    /// Sum of <paramref name="n"/> floats (a multiple of 8 vectors) with eight independent accumulators, enough to keep
    /// the adds' latency off the loads' path at every width.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static unsafe float Sum<TV>(float* p, long n) where TV : struct, ISimdVector<TV, float>
    {
        int w = TV.Count;
        ref float r = ref *p;
        TV a0 = TV.Zero, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (nint i = 0; i < n; i += 8 * w)
        {
            a0 += TV.Load(ref r, i); a1 += TV.Load(ref r, i + w);
            a2 += TV.Load(ref r, i + 2 * w); a3 += TV.Load(ref r, i + 3 * w);
            a4 += TV.Load(ref r, i + 4 * w); a5 += TV.Load(ref r, i + 5 * w);
            a6 += TV.Load(ref r, i + 6 * w); a7 += TV.Load(ref r, i + 7 * w);
        }
        TV sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
        float total = 0;
        for (int i = 0; i < w; i++) total += Unsafe.Add(ref Unsafe.As<TV, float>(ref sum), i);
        return total;
    }
}
