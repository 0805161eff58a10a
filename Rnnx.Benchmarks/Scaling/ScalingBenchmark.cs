using System.Globalization;
using System.Reflection;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace Rnnx.Benchmarks.Scaling;

/// <summary>
/// Rnnx's side of scalebench (../shared/scalebench): the same grid, models (Keras parameter counts), data and timing
/// protocol as its libtorch program, written as the same JSON so that its <c>compare.py torch.json rnnx.json</c> prints
/// the ratios.
/// <code>dotnet run -c Release --project Rnnx.Benchmarks -- scaling [--quick | --grid quick|medium|full] [--only lstm2|gru2|wavenet] [--threads N] [--repeat N] [--json FILE] [--params | --memory]</code>
/// Per configuration, through the public API: the median time of <c>TrainOnBatch</c> (forward, MSE, backward, Nadam
/// update) on a (B, T, F) batch, of <c>Predict(float[], 1, T, F)</c> on one series and of <c>Predict</c> on 256 series
/// in one call into a caller's buffer, with the managed bytes allocated per call. With <c>--repeat N</c> the whole grid
/// is measured N times over (pass after pass, so that a slow spell of a shared machine hits one pass, not one
/// configuration's every sample) and each figure is the median of its N per-pass medians.
/// </summary>
public static class ScalingBenchmark
{
    /// <summary>The command-line usage.</summary>
    public const string Usage = "usage: scaling [--quick | --grid quick|medium|full] [--only lstm2|gru2|wavenet] [--threads N] [--repeat N] [--json FILE] [--params | --memory]";

    /// <summary>Runs the command; returns the process exit code (2: bad arguments).</summary>
    public static int Run(string[] args)
    {
        int threads = 2, repeat = 1;
        string? json = null, only = null;
        string grid = Environment.GetEnvironmentVariable("SCALING_GRID") is { Length: > 0 } env ? env : "full";
        bool paramsOnly = false, memory = false, gridGiven = Environment.GetEnvironmentVariable("SCALING_GRID") is { Length: > 0 };
        for (int i = 0; i < args.Length; i++)
        {
            string? Next() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--threads":
                    if (!int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out threads) || threads < 1)
                        return Fail("--threads needs a whole number of at least 1");
                    break;
                case "--repeat":
                    if (!int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out repeat) || repeat < 1)
                        return Fail("--repeat needs a whole number of at least 1");
                    break;
                case "--json": json = Next() ?? ""; if (json.Length == 0) return Fail("--json needs a file name"); break;
                case "--quick": grid = "quick"; gridGiven = true; break;
                case "--grid": grid = Next() ?? ""; gridGiven = true; break;
                case "--only": only = Next(); break;
                case "--params": paramsOnly = true; break;
                case "--memory": memory = true; break;
                default: return Fail($"unknown argument {args[i]}");
            }
        }
        if (grid is not ("quick" or "medium" or "full")) return Fail($"unknown grid '{grid}': one of quick, medium, full");
        if (only is not (null or "lstm2" or "gru2" or "wavenet")) return Fail($"unknown model family '{only}': one of lstm2, gru2, wavenet");
        var configs = ScalingGrid.Grid(grid, only);
        if (memory)
        {
            // without a grid: the two points issue 14 names; GRU has no stated minimum
            var points = gridGiven ? configs : TrainingMemory.IssuePoints.Where(c => only is null || c.Model == only).ToList();
            foreach (var c in points.Where(c => c.Model != "gru2")) Console.WriteLine(TrainingMemory.Line(TrainingMemory.Measure(c)));
            return 0;
        }
        if (paramsOnly)
        {
            foreach (var c in configs) Console.WriteLine($"{c.Name,-24} {CountParams(c)}");
            return 0;
        }
        if (json is not null)
        {
            json = Path.GetFullPath(json);
            string? dir = Path.GetDirectoryName(json);
            if (dir is not null && !Directory.Exists(dir)) return Fail($"--json: the folder {dir} does not exist");
        }
        var report = NewReport(threads);
        Console.WriteLine($"{report.Engine} | {report.Machine} | threads {threads} | grid {grid}" + (repeat > 1 ? $" | {repeat} passes" : ""));
        var passes = configs.Select(_ => new List<ScalingResult>()).ToList();
        for (int pass = 0; pass < repeat; pass++)
        {
            if (repeat > 1) Console.WriteLine($"-- pass {pass + 1} of {repeat}");
            for (int i = 0; i < configs.Count; i++)
            {
                var r = RunConfig(configs[i], threads, TimingProtocol.Standard);
                passes[i].Add(r);
                Console.WriteLine(ScalingGrid.Line(r));
                // rewritten after each configuration (medians of the passes so far): a stopped run keeps what it measured
                if (json is not null)
                {
                    report.Results.Clear();
                    report.Results.AddRange(passes.Where(p => p.Count > 0).Select(ScalingGrid.MedianOf));
                    ScalingGrid.WriteAtomically(json, ScalingGrid.ToJson(report));
                }
            }
        }
        if (repeat > 1)
        {
            Console.WriteLine($"-- medians of {repeat} passes");
            foreach (var p in passes) Console.WriteLine(ScalingGrid.Line(ScalingGrid.MedianOf(p)));
        }
        return 0;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"{message}\n{Usage}");
        return 2;
    }

    /// <summary>An empty report for this engine and machine.</summary>
    public static ScalingReport NewReport(int threads)
    {
        string version = typeof(Sequential).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
        return new ScalingReport($"Rnnx {version}", ScalingGrid.Machine(), threads, DateTime.UtcNow.ToString("u", CultureInfo.InvariantCulture), []);
    }

    /// <summary>The Keras model of a configuration (seed 42), not yet built.</summary>
    /// <exception cref="ArgumentException">An unknown model family.</exception>
    public static Sequential BuildModel(ScalingConfig c)
    {
        Layer[] layers = c.Model switch
        {
            "lstm2" =>
            [
                new LSTM(c.Units, returnSequences: true, inputShape: [null, c.Features]),
                new LSTM(c.Units, returnSequences: true),
                new TimeDistributed(new Dense(ScalingGrid.Outputs)),
            ],
            "gru2" =>
            [
                new GRU(c.Units, returnSequences: true, inputShape: [null, c.Features]),
                new GRU(c.Units, returnSequences: true),
                new TimeDistributed(new Dense(ScalingGrid.Outputs)),
            ],
            "wavenet" => WaveNet(c),
            _ => throw new ArgumentException($"unknown model family '{c.Model}'", nameof(c)),
        };
        return new Sequential(layers, c.Model, seed: 42);
    }

    private static Layer[] WaveNet(ScalingConfig c)
    {
        var layers = new List<Layer> { new InputLayer([null, c.Features]) };
        foreach (int rate in ScalingGrid.Dilations)
            layers.Add(new Conv1D(filters: c.Units, kernelSize: 2, padding: "causal", activation: Activation.Relu, dilationRate: rate));
        layers.Add(new Conv1D(filters: ScalingGrid.Outputs, kernelSize: 1));
        return [.. layers];
    }

    /// <summary>The trainable parameter count of a configuration's model.</summary>
    public static long CountParams(ScalingConfig c)
    {
        var model = BuildModel(c);
        model.Build();
        return model.TrainableWeights.Sum(p => (long)p.Size);
    }

    /// <summary>Measures one configuration on <paramref name="threads"/> threads with <paramref name="protocol"/>.</summary>
    public static ScalingResult RunConfig(ScalingConfig c, int threads, TimingProtocol protocol)
    {
        var model = BuildModel(c);
        model.Threads = threads;
        model.Build();
        model.Compile(new Nadam(), Loss.MeanSquaredError);
        long parameters = model.TrainableWeights.Sum(p => (long)p.Size);

        var x = Tensor.FromArray(ScalingGrid.Uniform(c.Batch * c.Steps * c.Features, 1), [c.Batch, c.Steps, c.Features]);
        var y = Tensor.FromArray(ScalingGrid.Uniform(c.Batch * c.Steps * ScalingGrid.Outputs, 2), [c.Batch, c.Steps, ScalingGrid.Outputs]);
        double loss = double.NaN;
        var step = ScalingGrid.Measure(() => loss = model.TrainOnBatch(x, y), protocol);

        float[] one = ScalingGrid.Uniform(c.Steps * c.Features, 3);
        var p1 = ScalingGrid.Measure(() => model.Predict(one, 1, c.Steps, c.Features), protocol);

        int n = ScalingGrid.PredictBatch;
        var x256 = Tensor.FromArray(ScalingGrid.Uniform(n * c.Steps * c.Features, 4), [n, c.Steps, c.Features]);
        var out256 = new float[n * c.Steps * ScalingGrid.Outputs];
        var p256 = ScalingGrid.Measure(() => model.Predict(x256, out256, n), protocol);

        if (!double.IsFinite(loss)) throw new InvalidOperationException($"{c.Name}: loss {loss}");
        return new ScalingResult(c.Name, c.Model, c.Units, c.Steps, c.Batch, c.Features, parameters,
            step.MedianMs, p1.MedianMs, p256.MedianMs, step.Runs, p1.Runs, p256.Runs,
            step.AllocKb, p1.AllocKb, p256.AllocKb, loss);
    }
}
