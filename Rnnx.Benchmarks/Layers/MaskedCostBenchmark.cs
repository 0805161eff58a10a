using Rnnx.Benchmarks.Scaling;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Rnnx.Benchmarks.Layers;

/// <summary>
/// The cases of <see cref="MaskedRecurrentBenchmarks"/> measured in CPU time of the measuring thread, interleaved
/// round-robin in one process, so the ratios hold on a shared, loaded machine (wall-clock runs there swing by several
/// times; the thread's CPU time counts only what it ran, though other jobs still share caches and memory bandwidth).
/// Prints the median and minimum of each case and each case's median over the full-length batch's.
/// <code>dotnet run -c Release --project Rnnx.Benchmarks -- masked [--rounds 200] [--cells LSTM,GRU]</code>
/// </summary>
internal static partial class MaskedCostBenchmark
{
    private static readonly string[] Cases = ["all 50", "10..50 masked", "10..50 shuffled", "all 30"];

    public static int Run(string[] args)
    {
        int rounds = 200;
        string[] cells = ["LSTM", "GRU"];
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--cells": cells = Next().Split(','); break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}; usage: masked [--rounds 200] [--cells LSTM,GRU]");
                    return 2;
            }
        }
        if (rounds < 1 || cells.Any(c => c is not ("LSTM" or "GRU")))
        {
            Console.Error.WriteLine("masked: --rounds must be positive and --cells a list of LSTM and GRU");
            return 2;
        }
        var benches = cells.SelectMany(c => Cases.Select(l => new MaskedRecurrentBenchmarks { Cell = c, Lengths = l })).ToArray();
        foreach (var b in benches) b.Setup();
        const int warmUp = 5, perSample = 5;
        var times = benches.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < rounds + warmUp; r++)
            for (int i = 0; i < benches.Length; i++)
            {
                double start = CpuMilliseconds();
                for (int j = 0; j < perSample; j++) benches[i].Step();
                if (r >= warmUp) times[i].Add((CpuMilliseconds() - start) / perSample);
            }
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "unknown";
        Console.WriteLine($"{rounds} interleaved rounds of {perSample} training steps per case; load average at the end: {load}");
        Console.WriteLine($"time: {(OperatingSystem.IsLinux() ? "CPU time of the measuring thread" : "wall clock")}");
        Console.WriteLine("| layer | lengths | steps computed / all 50 | median ms | min ms | median / all 50 |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        for (int i = 0; i < benches.Length; i++)
        {
            double Median(int k) => ScalingGrid.Median(times[k]);
            int full = i - i % Cases.Length;
            double steps = (double)benches[i].StepsComputed / benches[full].StepsComputed;
            Console.WriteLine($"| {benches[i].Cell}(32) | {benches[i].Lengths} | {steps:F2} | {Median(i):F3} | {times[i].Min():F3} | {Median(i) / Median(full):F2} |");
        }
        return 0;
    }

    private static double CpuMilliseconds()
    {
        if (!OperatingSystem.IsLinux()) return Stopwatch.GetTimestamp() * 1000.0 / Stopwatch.Frequency;
        ClockGetTime(ThreadCpuClock, out var t);
        return t.Seconds * 1e3 + t.Nanoseconds / 1e6;
    }

    private const int ThreadCpuClock = 3;   // CLOCK_THREAD_CPUTIME_ID

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);
}
