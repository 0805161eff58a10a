using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rnnx.Benchmarks.Scaling;

// The grid, the data, the timing protocol and the JSON report of ../shared/scalebench/common/Harness.cs (the libtorch
// program's side), restated here because the repository cannot link a file outside itself: the same configurations,
// seeds, protocol and snake_case JSON, so that scalebench's compare.py reads both reports.

/// <summary>One point of the grid. Units = LSTM/GRU units or WaveNet filters; Steps = series length T.</summary>
public sealed record ScalingConfig(string Model, int Units, int Steps, int Batch, int Features)
{
    /// <summary>The configuration's name in the JSON, e.g. "lstm2 u64 t50 b32" or "lstm2 u128 t50 b32 f32".</summary>
    public string Name => $"{Model} u{Units} t{Steps} b{Batch}" + (Features != 1 ? $" f{Features}" : "");
}

/// <summary>One configuration's measurements (the JSON's result object).</summary>
public sealed record ScalingResult(string Name, string Model, int Units, int Steps, int Batch, int Features, long Parameters,
    double StepMs, double Predict1Ms, double Predict256Ms, int StepRuns, int Predict1Runs, int Predict256Runs,
    double? StepAllocKb = null, double? Predict1AllocKb = null, double? Predict256AllocKb = null, double? FinalLoss = null);

/// <summary>The whole report (the JSON's top-level object).</summary>
public sealed record ScalingReport(string Engine, string Machine, int Threads, string Started, List<ScalingResult> Results);

/// <summary>The timing protocol: warm-up calls, then at least <see cref="MinRuns"/> calls and <see cref="MinSeconds"/>.</summary>
public sealed record TimingProtocol(int Warmup = 3, int MinRuns = 10, double MinSeconds = 2)
{
    /// <summary>scalebench's protocol: 3 warm-ups, at least 10 calls and at least 2 s, median.</summary>
    public static TimingProtocol Standard { get; } = new();
}

/// <summary>The grids, the data and the timing of scalebench.</summary>
public static class ScalingGrid
{
    /// <summary>Outputs of the head: TimeDistributed(Dense(10)) / Conv1D(10, 1).</summary>
    public const int Outputs = 10;

    /// <summary>Series in the batch-inference call.</summary>
    public const int PredictBatch = 256;

    /// <summary>The WaveNet's dilation rates.</summary>
    public static readonly int[] Dilations = [1, 2, 4, 8, 1, 2, 4, 8];

    /// <summary>The grid named <paramref name="grid"/> ("quick", "medium" or "full"), optionally one model family.</summary>
    /// <exception cref="ArgumentException">An unknown grid name.</exception>
    public static List<ScalingConfig> Grid(string grid, string? only)
    {
        var g = new List<ScalingConfig>();
        switch (grid)
        {
            case "quick":
                g.Add(new("lstm2", 20, 50, 32, 1));
                g.Add(new("gru2", 64, 50, 32, 1));
                g.Add(new("wavenet", 20, 50, 32, 1));
                break;
            case "medium":
                foreach (int u in new[] { 20, 64, 128, 256, 512 }) g.Add(new("lstm2", u, 50, 32, 1));
                g.Add(new("lstm2", 256, 200, 32, 1));
                g.Add(new("lstm2", 128, 50, 128, 1));
                g.Add(new("lstm2", 128, 50, 32, 32));
                foreach (int u in new[] { 64, 256 }) g.Add(new("gru2", u, 50, 32, 1));
                foreach (int c in new[] { 20, 64, 128 }) g.Add(new("wavenet", c, 50, 32, 1));
                g.Add(new("wavenet", 64, 1000, 32, 1));
                break;
            case "full":
                foreach (int u in new[] { 20, 64, 128, 256, 512 })
                    foreach (int t in new[] { 50, 200 })
                        foreach (int b in new[] { 32, 128 })
                            g.Add(new("lstm2", u, t, b, 1));
                g.Add(new("lstm2", 128, 50, 32, 32));
                foreach (int u in new[] { 64, 256 }) g.Add(new("gru2", u, 50, 32, 1));
                foreach (int c in new[] { 20, 64, 128 })
                    foreach (int t in new[] { 50, 1000 })
                        g.Add(new("wavenet", c, t, 32, 1));
                break;
            default:
                throw new ArgumentException($"unknown grid '{grid}'; one of quick, medium, full", nameof(grid));
        }
        return only is null ? g : g.Where(c => c.Model == only).ToList();
    }

    /// <summary>Uniform(-1, 1) float32 values from System.Random(seed): the same data as the libtorch program's.</summary>
    public static float[] Uniform(int count, int seed)
    {
        var rng = new System.Random(seed);
        var a = new float[count];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    /// <summary>
    /// Warm-up calls, then timed calls until at least the protocol's count and seconds (whichever is longer).
    /// Returns the median in ms, the number of timed calls and the managed bytes allocated per timed call (in KB).
    /// </summary>
    public static (double MedianMs, int Runs, double AllocKb) Measure(Action action, TimingProtocol protocol)
    {
        long w0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < protocol.Warmup; i++) action();
        double warmSeconds = Stopwatch.GetElapsedTime(w0).TotalSeconds / Math.Max(1, protocol.Warmup);
        // sized from the warm-up so that the harness's own list rarely grows inside the measured window; when it does,
        // its growth is subtracted (the allocation reported is the measured call's)
        int expected = (int)Math.Min(1 << 20, Math.Max(protocol.MinRuns, 2 * protocol.MinSeconds / Math.Max(warmSeconds, 1e-7)));
        var times = new List<double>(expected + 16);
        long harnessBytes = 0;
        long alloc0 = GC.GetTotalAllocatedBytes(true);
        var total = Stopwatch.StartNew();
        while (times.Count < protocol.MinRuns || total.Elapsed.TotalSeconds < protocol.MinSeconds)
        {
            long t0 = Stopwatch.GetTimestamp();
            action();
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            int capacity = times.Capacity;
            times.Add(ms);
            if (times.Capacity != capacity) harnessBytes += 24 + 8L * times.Capacity;
        }
        double allocKb = Math.Max(0, GC.GetTotalAllocatedBytes(true) - alloc0 - harnessBytes) / 1024.0 / times.Count;
        return (Median(times), times.Count, allocKb);
    }

    /// <summary>
    /// One configuration's figure over several passes: the median of each time and allocation (the per-pass runs
    /// summed, the last pass's loss). One pass is returned as it is.
    /// </summary>
    /// <exception cref="ArgumentException">No passes, or passes of different configurations.</exception>
    public static ScalingResult MedianOf(IReadOnlyList<ScalingResult> passes)
    {
        if (passes.Count == 0) throw new ArgumentException("no passes to take the median of", nameof(passes));
        var first = passes[0];
        if (passes.Any(p => p.Name != first.Name))
            throw new ArgumentException($"passes of different configurations: {string.Join(", ", passes.Select(p => p.Name).Distinct())}", nameof(passes));
        if (passes.Count == 1) return first;
        double? MedianOrNull(Func<ScalingResult, double?> f) => passes.All(p => f(p) is not null) ? Median(passes.Select(p => f(p)!.Value)) : null;
        return first with
        {
            StepMs = Median(passes.Select(p => p.StepMs)),
            Predict1Ms = Median(passes.Select(p => p.Predict1Ms)),
            Predict256Ms = Median(passes.Select(p => p.Predict256Ms)),
            StepRuns = passes.Sum(p => p.StepRuns),
            Predict1Runs = passes.Sum(p => p.Predict1Runs),
            Predict256Runs = passes.Sum(p => p.Predict256Runs),
            StepAllocKb = MedianOrNull(p => p.StepAllocKb),
            Predict1AllocKb = MedianOrNull(p => p.Predict1AllocKb),
            Predict256AllocKb = MedianOrNull(p => p.Predict256AllocKb),
            FinalLoss = passes[^1].FinalLoss,
        };
    }

    /// <summary>The median of <paramref name="values"/> (the mean of the two middle ones for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        if (v.Length == 0) throw new ArgumentException("no values to take the median of", nameof(values));
        int n = v.Length;
        return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    }

    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="text"/> through a temporary file in the same folder and a
    /// rename, so that a reader (or a run stopped mid-write) sees the old report or the new one, never a partial one.
    /// </summary>
    public static void WriteAtomically(string path, string text)
    {
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            File.WriteAllText(temp, text);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>CPU model, logical cores, OS and runtime.</summary>
    public static string Machine()
    {
        string cpu = "?";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"{cpu}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}";
    }

    /// <summary>One result as one console line.</summary>
    public static string Line(ScalingResult r) =>
        $"{r.Name,-24} params {r.Parameters,9}  step {r.StepMs,10:F3} ms ({r.StepRuns})  " +
        $"predict1 {r.Predict1Ms,9:F3} ms ({r.Predict1Runs})  predict256 {r.Predict256Ms,10:F3} ms ({r.Predict256Runs})" +
        (r.StepAllocKb is double a ? $"  alloc/step {a:F1} KB, /predict1 {r.Predict1AllocKb:F1} KB, /predict256 {r.Predict256AllocKb:F1} KB" : "");

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
    };

    /// <summary>The report as scalebench's JSON.</summary>
    public static string ToJson(ScalingReport report) => JsonSerializer.Serialize(report, JsonOptions) + Environment.NewLine;
}
