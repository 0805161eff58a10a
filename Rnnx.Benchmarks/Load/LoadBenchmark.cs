using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Rnnx.Cli;
using Rnnx.Models;

namespace Rnnx.Benchmarks.Load;

/// <summary>
/// Serving under load: N callers on one shared model each send one-series requests back to back for a fixed time
/// (closed loop), through Rnnx's <c>Predict(float[], shape)</c> and through ONNX Runtime's <c>Run</c> on the model Rnnx
/// exports. Reports requests/s, p50/p99 latency, bytes allocated per request and requests per CPU-second of the
/// process, and checks every answer: Rnnx's bit for bit against the same request predicted alone, ONNX Runtime's within
/// 1e-5 of it. Requests per CPU-second do not depend on how much of the machine other jobs take: when N callers get as
/// many per CPU-second as one, they wait for nothing and scale with the cores they are given.
/// <c>--control</c> adds a row with a model per caller (nothing shared): the scaling the machine itself allows.
/// <code>dotnet run -c Release --project Rnnx.Benchmarks -- load [--model lstm_rnn] [--callers 1,8] [--seconds 5] [--control]</code>
/// </summary>
internal static class LoadBenchmark
{
    private const int Pool = 256;

    public static int Run(string[] args)
    {
        string modelName = "lstm_rnn";
        int[] callers = [1, 8];
        double seconds = 5;
        bool control = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--model": modelName = Next(); break;
                case "--callers": callers = Next().Split(',').Select(int.Parse).ToArray(); break;
                case "--seconds": seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--control": control = true; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}; usage: load [--model NAME] [--callers 1,8] [--seconds 5] [--control]");
                    return 2;
            }
        }
        var spec = ChapterModels.All.SingleOrDefault(m => m.Name == modelName);
        if (spec is null)
        {
            Console.Error.WriteLine($"unknown model '{modelName}'; one of {string.Join(", ", ChapterModels.Names)}");
            return 2;
        }

        var (_, valid) = ChapterRunner.LoadData(spec.Task);
        int steps = valid.XShape[1], features = valid.XShape[2], rowLen = steps * features;
        var series = Enumerable.Range(0, Pool).Select(i => valid.X.AsSpan(i * rowLen, rowLen).ToArray()).ToArray();
        var model = spec.Create(42);
        model.Build();
        var alone = series.Select(s => model.Predict(s, 1, steps, features)).ToArray();

        string onnxPath = Path.Combine(Path.GetTempPath(), $"rnnx-load-{Environment.ProcessId}.onnx");
        model.ExportOnnx(onnxPath);
        try
        {
            Console.WriteLine($"model {modelName}: one {steps}-step series per request; {Environment.ProcessorCount} cores; {seconds:F0} s per row, closed loop");
            Console.WriteLine("| engine | callers | requests/s | p50 µs | p99 µs | bytes/request | requests/CPU-s | wrong answers |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
            var rows = new List<(string Engine, int Callers, double Rps, double PerCpuSecond)>();
            using var ortOne = Session(onnxPath, intraOpThreads: 1);
            foreach (int n in callers)
            {
                rows.Add(Measure("Rnnx Predict, one shared model", n, seconds, series, alone, exact: true,
                    (_, s) => model.Predict(s, 1, steps, features)));
                rows.Add(Measure("ONNX Runtime Run, one shared session (1 intra-op thread)", n, seconds, series, alone, exact: false,
                    (_, s) => RunOrt(ortOne, s, steps, features)));
                if (control)
                {
                    // Control: a model per caller shares nothing, so its scaling is what the machine allows.
                    var own = Enumerable.Range(0, n).Select(_ => spec.Create(42)).ToArray();
                    rows.Add(Measure("Rnnx Predict, a model per caller (control)", n, seconds, series, alone, exact: true,
                        (c, s) => own[c].Predict(s, 1, steps, features)));
                }
            }
            foreach (var engine in rows.Select(r => r.Engine).Distinct())
            {
                var mine = rows.Where(r => r.Engine == engine).ToList();
                if (mine.Count > 1)
                    Console.WriteLine($"{engine}: {mine[^1].Callers} callers = {mine[^1].Rps / mine[0].Rps:F2}x the throughput of {mine[0].Callers}, " +
                        $"{mine[^1].PerCpuSecond / mine[0].PerCpuSecond:F2}x the requests per CPU-second");
            }
            foreach (int n in callers)
            {
                double r = rows.Single(x => x.Engine.StartsWith("Rnnx Predict, one shared", StringComparison.Ordinal) && x.Callers == n).Rps;
                double o = rows.Single(x => x.Engine.StartsWith("ONNX", StringComparison.Ordinal) && x.Callers == n).Rps;
                Console.WriteLine($"{n} callers: Rnnx / ONNX Runtime throughput = {r / o:F2}x");
            }
        }
        finally
        {
            File.Delete(onnxPath);
        }
        return 0;
    }

    private static InferenceSession Session(string path, int intraOpThreads)
    {
        using var options = new SessionOptions { IntraOpNumThreads = intraOpThreads, InterOpNumThreads = 1 };
        return new InferenceSession(path, options);
    }

    private static readonly string[] InputNames = ["input"], OutputNames = ["output"];
    private static readonly RunOptions SharedRunOptions = new();

    private static float[] RunOrt(InferenceSession session, float[] s, int steps, int features)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(s, [1, steps, features]);
        using var outputs = session.Run(SharedRunOptions, InputNames, [input], OutputNames);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static (string, int, double, double) Measure(string engine, int callers, double seconds, float[][] series, float[][] alone,
        bool exact, Func<int, float[], float[]> predict)
    {
        // warm-up: every caller's thread, JIT, pools and sessions
        RunCallers(callers, 0.5, series, alone, exact, predict, out _, out _, out _, out _, out _, out _);
        RunCallers(callers, seconds, series, alone, exact, predict, out var latencies, out long requests, out long wrong, out double elapsed, out long bytes, out double cpu);
        Array.Sort(latencies);
        double Pct(double p) => latencies.Length == 0 ? double.NaN : latencies[(int)Math.Min(latencies.Length - 1, p * latencies.Length)] * 1e6 / Stopwatch.Frequency;
        double rps = requests / elapsed, perCpu = requests / cpu;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {engine} | {callers} | {rps:F0} | {Pct(0.50):F0} | {Pct(0.99):F0} | {(double)bytes / Math.Max(1, requests):F0} | {perCpu:F0} | {wrong} |"));
        return (engine, callers, rps, perCpu);
    }

    private static void RunCallers(int callers, double seconds, float[][] series, float[][] alone, bool exact,
        Func<int, float[], float[]> predict, out long[] latencies, out long requests, out long wrong, out double elapsed, out long bytes, out double cpu)
    {
        var perCaller = new long[callers][];
        var counts = new int[callers];
        var errors = new long[callers];
        var threads = new Thread[callers];
        long end = long.MaxValue;
        for (int c = 0; c < callers; c++)
        {
            perCaller[c] = new long[1 << 20];
            int id = c;
            threads[c] = new Thread(() =>
            {
                var lat = perCaller[id];
                int k = 0, i = id * 31;
                long now;
                while ((now = Stopwatch.GetTimestamp()) < end && k < lat.Length)
                {
                    i = (i + 1) % series.Length;
                    var y = predict(id, series[i]);
                    lat[k++] = Stopwatch.GetTimestamp() - now;
                    if (!Same(y, alone[i], exact)) errors[id]++;
                }
                counts[id] = k;
            }) { IsBackground = true };
        }
        // Latency buffers and threads exist before the count starts: what is counted is the requests' own allocation.
        long bytesBefore = GC.GetTotalAllocatedBytes(precise: true);
        var cpuBefore = Environment.CpuUsage.TotalTime;
        long start = Stopwatch.GetTimestamp();
        end = start + (long)(seconds * Stopwatch.Frequency);
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        elapsed = (double)(Stopwatch.GetTimestamp() - start) / Stopwatch.Frequency;
        bytes = GC.GetTotalAllocatedBytes(precise: true) - bytesBefore;
        cpu = (Environment.CpuUsage.TotalTime - cpuBefore).TotalSeconds;
        latencies = perCaller.SelectMany((l, c) => l.Take(counts[c])).ToArray();
        requests = counts.Sum();
        wrong = errors.Sum();
    }

    private static bool Same(float[] a, float[] b, bool exact)
    {
        if (a.Length != b.Length) return false;
        if (exact) return a.AsSpan().SequenceEqual(b);
        for (int i = 0; i < a.Length; i++)
            if (!(Math.Abs(a[i] - b[i]) <= 1e-5f)) return false;
        return true;
    }
}
