using System.Diagnostics;
using System.Globalization;
using CsCheck;
using Rnnx.Models;
using Rnnx.Saving;

namespace Rnnx.Tests.Saving.Fuzzing;

/// <summary>
/// Structure-aware fuzzing of every load entry point. CsCheck generates each case (a base file and one to three
/// <see cref="Mutations"/>) from a fixed PCG seed, so a run is reproducible; the mutated file keeps a valid CRC so each
/// defect reaches the parser. For every file and call: only <see cref="ModelFormatException"/>, under
/// <see cref="MaxCallTime"/> and <see cref="MaxCallAllocation"/>, and a failed <c>LoadWeights</c> or
/// <c>RestoreCheckpoint</c> leaves the target's weights and optimizer unchanged. A successful load is followed by
/// <c>Predict</c>, a successful restore by a resumed <c>Fit</c>.
/// </summary>
/// <remarks>
/// CI runs <see cref="DefaultFiles"/> files or <see cref="DefaultSeconds"/> seconds, whichever ends first. A longer
/// local run: <c>RNNX_FUZZ_FILES=200000 RNNX_FUZZ_SECONDS=1800 RNNX_FUZZ_SEED=7 dotnet test Rnnx.Tests -c Release
/// --filter FullyQualifiedName~ModelFileFuzzTests</c>.
/// </remarks>
[TestFixture]
public sealed class ModelFileFuzzTests
{
    private const int DefaultFiles = 3000;
    private const int DefaultSeconds = 40;
    private const ulong DefaultSeed = 20261205;
    private static readonly TimeSpan MaxCallTime = TimeSpan.FromSeconds(2);
    private const long MaxCallAllocation = 256L << 20;

    private static readonly Gen<(int Base, Mutation[] Steps)> Cases =
        Gen.Select(Gen.Int[0, 1000], Gen.Select(Gen.Int[0, 10_000], Gen.Int, Gen.Int, Gen.Int, (k, a, b, c) => new Mutation(k, a, b, c)).Array[1, 3]);

    private string _dir = "";

    [OneTimeSetUp]
    public void Setup() => _dir = TestModels.TempDir();

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private sealed class Stats
    {
        public int Files, Calls, Loaded, Refused, ReachedParser;
        public TimeSpan WorstTime;
        public string WorstTimeCase = "";
        public long WorstAllocation;
        public string WorstAllocationCase = "";
        public readonly List<string> Failures = [];
        public readonly Dictionary<string, TimeSpan> TimeByCall = [];
    }

    [Test]
    public void MutatedFilesAreRefusedCleanlyInBoundedTimeAndMemory()
    {
        int maxFiles = Env("RNNX_FUZZ_FILES", DefaultFiles);
        int seconds = Env("RNNX_FUZZ_SECONDS", DefaultSeconds);
        ulong seed = (ulong)Env("RNNX_FUZZ_SEED", (int)DefaultSeed);
        var bases = FuzzBase.All(_dir);
        var parsed = bases.Select(b => FuzzFile.From(b.Bytes)).ToList();
        var pcg = new PCG(1, seed);
        var stats = new Stats();
        var targets = new Targets();
        var clock = Stopwatch.StartNew();
        string path = Path.Combine(_dir, "fuzz.rnnx");
        while (stats.Files < maxFiles && clock.Elapsed.TotalSeconds < seconds && stats.Failures.Count < 10)
        {
            var (baseIndex, steps) = Cases.Generate(pcg, null!, out _);
            var fb = bases[baseIndex % bases.Count];
            var file = parsed[baseIndex % bases.Count].Clone();
            foreach (var step in steps) Mutations.Apply(file, step);
            byte[] bytes = file.Assemble();
            File.WriteAllBytes(path, bytes);
            string name = $"file {stats.Files} (seed {seed}): {fb.Name} + {string.Join(" + ", steps)}";
            RunAll(fb, bytes, path, name, stats, targets);
            stats.Files++;
        }
        string byCall = string.Join(", ", stats.TimeByCall.Select(p => FormattableString.Invariant($"{p.Key} {p.Value.TotalSeconds:F1} s")));
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fuzz: {stats.Files} files, {stats.Calls} calls in {clock.Elapsed.TotalSeconds:F1} s; {stats.Loaded} loads succeeded, {stats.Refused} refused; " +
            $"{stats.ReachedParser} files passed the checksum; worst call {stats.WorstTime.TotalMilliseconds:F1} ms ({stats.WorstTimeCase}); " +
            $"worst allocation {stats.WorstAllocation / 1024.0 / 1024.0:F1} MB ({stats.WorstAllocationCase}); time by call: {byCall}"));
        Assert.That(stats.Failures, Is.Empty, string.Join("\n", stats.Failures));
        Assert.That(stats.Files, Is.GreaterThanOrEqualTo(Math.Min(maxFiles, 200)), "the fuzzer ran too few files to mean anything");
        Assert.That(stats.ReachedParser, Is.GreaterThan(stats.Files / 2), "most mutations must get past the checksum");
    }

    private static void RunAll(FuzzBase fb, byte[] bytes, string path, string name, Stats stats, Targets targets)
    {
        bool checksumPassed = true;
        Call(stats, $"{name}: Inspect", () => ModelIO.Inspect(path), e => checksumPassed = !e.Problem.Contains("checksum", StringComparison.Ordinal));
        if (checksumPassed) stats.ReachedParser++;
        Call(stats, $"{name}: LoadCheckpoint + Predict", () => PredictOnce(ModelIO.LoadCheckpoint(path).Model));
        Call(stats, $"{name}: Load(compile: false) + Predict", () => PredictOnce(ModelIO.LoadFromBytes(bytes, "fuzz.rnnx", compile: false)));

        var (weightsTarget, before) = targets.Get(fb, compiled: false);
        if (Call(stats, $"{name}: LoadWeights", () => ModelIO.LoadWeightsFromBytes(weightsTarget, bytes, "fuzz.rnnx"))) targets.Spent(fb, compiled: false);
        else Unchanged(stats, $"{name}: LoadWeights", weightsTarget, before, 0);

        (var restoreTarget, before) = targets.Get(fb, compiled: true);
        int epoch = 0;
        if (Call(stats, $"{name}: RestoreCheckpoint", () => epoch = ModelIO.RestoreCheckpointFromBytes(restoreTarget, bytes, "fuzz.rnnx")))
        {
            targets.Spent(fb, compiled: true);
            Call(stats, $"{name}: resumed Fit", () => ResumeFit(restoreTarget, fb, epoch));
        }
        else Unchanged(stats, $"{name}: RestoreCheckpoint", restoreTarget, before, 0);
    }

    /// <summary>Built targets per base, reused while loads into them fail (which must leave them unchanged) and replaced after a load succeeded.</summary>
    private sealed class Targets
    {
        private readonly Dictionary<(FuzzBase, bool), (Sequential Model, double[][] Snapshot)> _ready = [];

        public (Sequential Model, double[][] Snapshot) Get(FuzzBase fb, bool compiled)
        {
            if (!_ready.TryGetValue((fb, compiled), out var t))
            {
                var m = fb.NewTarget(compiled);
                _ready[(fb, compiled)] = t = (m, TestModels.Snapshot(m));
            }
            return t;
        }

        public void Spent(FuzzBase fb, bool compiled) => _ready.Remove((fb, compiled));
    }

    /// <summary>One epoch after a restore. A learning rate or state that makes the loss diverge is training's documented outcome, not a loading defect.</summary>
    private static void ResumeFit(Sequential model, FuzzBase fb, int epoch)
    {
        epoch = Math.Min(epoch, 1000);
        try
        {
            model.Fit(fb.X, fb.Y, epochs: epoch + 1, batchSize: 4, verbose: 0, initialEpoch: epoch);
        }
        catch (TrainingDivergedException)
        {
        }
    }

    /// <summary>Runs one call; true when it succeeded. Records a failure for any exception but <see cref="ModelFormatException"/> and for exceeding the bounds.</summary>
    private static bool Call(Stats stats, string what, Action action, Action<ModelFormatException>? refused = null)
    {
        stats.Calls++;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        bool ok = false;
        try
        {
            action();
            ok = true;
            stats.Loaded++;
        }
        catch (ModelFormatException e)
        {
            stats.Refused++;
            refused?.Invoke(e);
            if (string.IsNullOrWhiteSpace(e.Problem)) stats.Failures.Add($"{what}: a ModelFormatException without a message");
        }
        catch (Exception e)
        {
            stats.Failures.Add($"{what}: {e.GetType().Name}: {e.Message}");
        }
        var elapsed = clock.Elapsed;
        long delta = GC.GetAllocatedBytesForCurrentThread() - allocated;
        string kind = what[(what.LastIndexOf(": ", StringComparison.Ordinal) + 2)..];
        stats.TimeByCall[kind] = (stats.TimeByCall.TryGetValue(kind, out var sum) ? sum : TimeSpan.Zero) + elapsed;
        if (elapsed > stats.WorstTime) (stats.WorstTime, stats.WorstTimeCase) = (elapsed, what);
        if (delta > stats.WorstAllocation) (stats.WorstAllocation, stats.WorstAllocationCase) = (delta, what);
        if (elapsed > MaxCallTime) stats.Failures.Add($"{what}: took {elapsed.TotalMilliseconds:F0} ms");
        if (delta > MaxCallAllocation) stats.Failures.Add($"{what}: allocated {delta / 1024 / 1024} MB");
        return ok;
    }

    private static void Unchanged(Stats stats, string what, Sequential target, double[][] before, long iterations)
    {
        var after = TestModels.Snapshot(target);
        bool same = after.Length == before.Length && after.Zip(before).All(p => p.First.Select(BitConverter.DoubleToInt64Bits).SequenceEqual(p.Second.Select(BitConverter.DoubleToInt64Bits)));
        if (!same) stats.Failures.Add($"{what}: a failed load changed the weights");
        if ((target.Optimizer?.Iterations ?? 0) != iterations) stats.Failures.Add($"{what}: a failed load changed the optimizer");
    }

    /// <summary>Predicts a small batch when the model's input is small; an input that does not fit the model (too short for a convolution) is the caller's problem, not the file's.</summary>
    private static void PredictOnce(Sequential model)
    {
        var shape = model.InputShape!.Select(d => d ?? 6).ToArray();
        if (shape.Aggregate(1L, (a, b) => a * b) > 10_000) return;
        try
        {
            model.Predict(TestModels.Input(shape, 2, model.DType));
        }
        catch (ShapeMismatchException)
        {
        }
    }

    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : fallback;
}
